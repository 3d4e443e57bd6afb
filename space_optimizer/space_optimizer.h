// Search-space optimisation (MCUNet Sec. 3.1): before training anything, pick
// the width multiplier and input resolution whose subnets make the best use of
// the MCU's budget.
//
// For every (width, resolution) of the space: sample m subnets (seeded), cost
// each with the exact cost model, keep those that fit flash and SRAM (and the
// latency limit, when the budget has one), and build
// the FLOPs (MACs) CDF of the fitting ones. The chosen configuration is the one
// whose fitting subnets have the largest mean FLOPs: a space that can hold
// bigger networks under the budget tends to hold more accurate ones.
//
// Parallel over configurations and samples with TBB. Each sample draws from its
// own seed stream (derive_seed(seed, config, sample)), so results do not depend
// on the number of threads. Cost: configs x samples cost-model evaluations
// (108 x 1000 ~ 0.1 M, well under a second per core).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/mcu.h"
#include "core/search_space.h"

namespace tinynas {

struct SpaceOptimizerOptions {
  int64_t samples = 1000;  // per configuration
  uint64_t seed = 0;
  double min_fit_fraction = 0.0;  // configs fitting less often are not chosen
  bool progress = true;
};

struct SpaceConfigResult {
  double width = 0;
  int32_t resolution = 0;
  int64_t samples = 0;
  int64_t fitting = 0;
  double fit_fraction = 0;
  double mean_mflops = 0;    // over fitting subnets; 0 when none fit
  double median_mflops = 0;
  std::vector<double> fitting_mflops;  // sorted ascending (the CDF)
};

struct SpaceOptimizerResult {
  std::string space;
  std::string mcu;
  Budget budget;
  uint64_t seed = 0;
  int64_t samples = 0;
  std::vector<SpaceConfigResult> configs;  // widths outer, resolutions inner
  int32_t chosen = -1;                     // index into configs
  double seconds = 0;
};

// Throws tinynas::Error when no sampled subnet of any configuration fits,
// saying what the space's smallest network needs.
SpaceOptimizerResult optimize_space(const SearchSpace& space, const McuTarget& mcu,
                                    const Budget& budget, const SpaceOptimizerOptions& options);

// space.json: every config (width, resolution, samples, fit_fraction, mean and
// median MFLOPs) and chosen: {width, resolution}.
nlohmann::json space_result_to_json(const SpaceOptimizerResult& result);
// SVG plot of the FLOPs CDFs of the `top` configurations: the chosen one, then
// the others by mean FLOPs.
std::string space_cdf_svg(const SpaceOptimizerResult& result, int top = 6);
// Text table of the configurations, the chosen one first, then by mean FLOPs
// (at most `rows`, 0 = all).
std::string format_space_table(const SpaceOptimizerResult& result, int rows = 15);

}  // namespace tinynas
