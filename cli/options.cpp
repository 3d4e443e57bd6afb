#include "cli/options.h"

#include <cmath>

#include <algorithm>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/op_graph.h"
#include "core/rng.h"
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
  // CLI11's NonNegativeNumber lets "nan" and "inf" through (NaN < 0 is false).
  if (!std::isfinite(flags.latency_ms)) throw Error("--latency-ms: must be a finite number >= 0");
  return budget_for(mcu, flash, sram, flags.latency_ms);
}

bool is_subnet_name(const std::string& arch) {
  return arch == "largest" || arch == "smallest" || arch == "median";
}

ArchSpec named_subnet(const SearchSpace& space, const std::string& name, int32_t resolution, uint64_t seed,
                      const std::string& where) {
  int32_t ri = name == "largest" ? static_cast<int32_t>(space.resolutions.size()) - 1 : 0;
  if (resolution > 0) {
    ri = resolution_index(space, resolution);
    if (ri < 0) {
      std::string list;
      for (int32_t r : space.resolutions) list += (list.empty() ? "" : ", ") + std::to_string(r);
      throw Error("--resolution " + std::to_string(resolution) + " is not one of " + where + "'s resolutions (" +
                  list + ")");
    }
  }
  if (name == "median") {
    // 101 random subnets at this resolution, sorted by MACs; the middle one.
    // The same subnet for the same space and seed.
    Rng rng(derive_seed(seed, 0x6d656469616eull));
    std::vector<std::pair<int64_t, ArchSpec>> drawn;
    for (int i = 0; i < 101; ++i) {
      ArchSpec a;
      sample_arch(space, 0, ri, rng, a);
      drawn.emplace_back(lower(a).total_macs(), std::move(a));
    }
    std::stable_sort(drawn.begin(), drawn.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    return drawn[50].second;
  }
  if (name == "largest") return largest_arch(space, 0, ri);
  if (name == "smallest") return smallest_arch(space, 0, ri);
  throw Error("--arch " + name + ": not largest, smallest or median");
}

}  // namespace tinynas::cli
