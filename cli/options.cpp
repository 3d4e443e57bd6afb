#include "cli/options.h"

#include "core/error.h"
#include "core/size.h"

namespace tinynas::cli {

void add_budget_flags(CLI::App& sub, BudgetFlags& flags) {
  sub.add_option("--flash", flags.flash, "Flash budget, e.g. 1M, 896K, 2MB (default: the MCU's)");
  sub.add_option("--sram", flags.sram, "SRAM budget, e.g. 256K, 320KB (default: the MCU's)");
  sub.add_option("--latency-ms", flags.latency_ms, "Latency limit in ms (default: none)")
      ->check(CLI::NonNegativeNumber);
}

Budget resolve_budget(const McuTarget& mcu, const BudgetFlags& flags) {
  const int64_t flash = flags.flash.empty() ? 0 : parse_size(flags.flash, "--flash");
  const int64_t sram = flags.sram.empty() ? 0 : parse_size(flags.sram, "--sram");
  if (!flags.flash.empty() && flash <= 0) throw Error("--flash: must be more than 0 bytes");
  if (!flags.sram.empty() && sram <= 0) throw Error("--sram: must be more than 0 bytes");
  return budget_for(mcu, flash, sram, flags.latency_ms);
}

}  // namespace tinynas::cli
