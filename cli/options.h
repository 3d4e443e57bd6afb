// Options several commands share: the budget flags.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "core/mcu.h"

namespace tinynas::cli {

struct BudgetFlags {
  std::string flash, sram;
  double latency_ms = 0;
};

void add_budget_flags(CLI::App& sub, BudgetFlags& flags);
// The MCU's default budget with the given flags replacing parts of it; sizes
// that do not parse throw tinynas::Error naming the flag.
Budget resolve_budget(const McuTarget& mcu, const BudgetFlags& flags);

}  // namespace tinynas::cli
