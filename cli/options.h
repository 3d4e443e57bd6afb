// Options several commands share: the budget flags, subnets named by role.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "core/arch.h"
#include "core/mcu.h"
#include "core/search_space.h"

namespace tinynas::cli {

struct BudgetFlags {
  std::string flash, sram;
  double latency_ms = 0;
};

void add_budget_flags(CLI::App& sub, BudgetFlags& flags);
// The MCU's default budget with the given flags replacing parts of it; sizes
// that do not parse throw tinynas::Error naming the flag.
Budget resolve_budget(const McuTarget& mcu, const BudgetFlags& flags);

// `--arch largest|smallest|median` of a (checkpoint's) space.
bool is_subnet_name(const std::string& arch);
// The named subnet at `resolution` (0: the largest resolution for largest,
// else the smallest); median is the subnet of median MACs among 101 subnets
// sampled with `seed`. Throws tinynas::Error naming `where` (the checkpoint)
// when the resolution is not one of the space's.
ArchSpec named_subnet(const SearchSpace& space, const std::string& name, int32_t resolution, uint64_t seed,
                      const std::string& where);

// --patch NxN:B|auto|none and --patch-max-overhead (cost, deploy).
struct PatchFlags {
  std::string patch;          // empty: the architecture's own setting
  double max_overhead = 15.0;  // % extra MACs --patch auto may spend
};
void add_patch_flags(CLI::App& sub, PatchFlags& flags);
// Sets arch.patch as the flags say (auto: choose_patch for mcu and budget);
// throws tinynas::Error naming the flag on a value it cannot use.
void apply_patch_flags(const PatchFlags& flags, const McuTarget& mcu, const Budget& budget, ArchSpec& arch);

}  // namespace tinynas::cli
