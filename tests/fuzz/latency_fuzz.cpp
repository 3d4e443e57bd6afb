// libFuzzer target: the latency limit, `--latency-ms 300` (and `latency_ms:`
// in a --config file). tinynas has no parser of its own for it: cli/options.cpp
// (add_budget_flags) has CLI11 convert the text to a double and check
// CLI::NonNegativeNumber, and resolve_budget puts it into the Budget the cost
// model compares against.
//
// Bytes -> `--latency-ms=TEXT` and `--latency-ms TEXT` through the real
// add_budget_flags and resolve_budget. Property: an accepted limit is a finite
// number >= 0 (a NaN limit makes every network "DOES NOT FIT"). Cost per
// input: two small CLI11 parses.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/options.h"
#include "core/error.h"
#include "core/mcu.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// The budget's other parts come from here; only latency matters.
tinynas::McuTarget some_mcu() {
  tinynas::McuTarget m;
  m.name = "fuzz";
  m.budget_flash_bytes = 1 << 20;
  m.budget_sram_bytes = 256 << 10;
  return m;
}

// `args` in CLI11's order (last argument first).
void parse_budget(std::vector<std::string> args) {
  CLI::App app{"latency fuzz"};
  tinynas::cli::BudgetFlags flags;
  tinynas::cli::add_budget_flags(app, flags);
  try {
    app.parse(args);
    const tinynas::Budget budget = tinynas::cli::resolve_budget(some_mcu(), flags);
    tinynas::fuzz::check(std::isfinite(budget.latency_ms) && budget.latency_ms >= 0,
                         "an accepted --latency-ms is a finite number >= 0");
  } catch (const CLI::ParseError&) {
    // Refused by CLI11 (not a number, negative): usage error, exit 2.
  } catch (const tinynas::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = tinynas::fuzz::as_text(data, size);
  parse_budget({"--latency-ms=" + text});
  parse_budget({text, "--latency-ms"});
  return 0;
}
