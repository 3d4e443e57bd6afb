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
// Patch-based inference (allow_patches, `tinynas space --patches`, or a space
// with a `patch:` setting in the CLI): a sampled subnet that breaks only the
// SRAM limit is costed again with the patch setting choose_patch() picks
// (lowest peak SRAM within patch_max_overhead % more MACs); it fits when that
// setting brings it within the whole budget. Its FLOPs are counted as the
// network's (layer-by-layer) MACs, the capacity the accuracy follows; the
// overlap's extra MACs are the price paid in latency. Per config, `patched`
// counts the fitting subnets that needed a patch. Cost: up to ~3 x (blocks
// of the first stages) more cost-model calls for each such subnet.
//
// Parallel over configurations and samples with TBB. Each sample draws from its
// own seed stream (derive_seed(seed, config, sample)), so results do not depend
// on the number of threads. Cost: configs x samples cost-model evaluations
// (108 x 1000 ~ 0.1 M, well under a second per core).
//
// Sharding (for cluster job arrays): shard i of n computes the configurations
// whose index (widths outer, resolutions inner) is i modulo n, and
// merge_space_shards() puts n such shards back together into exactly the
// result one process computes: every sample keeps its seed stream, and the
// statistics and the choice are computed from the merged configurations by
// the same code. A shard records what it was computed from (space, MCU,
// budget, samples, seed), so that shards of different runs are never merged.
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
  bool allow_patches = false;
  double patch_max_overhead = 15.0;  // % of the layer-by-layer MACs
};

struct SpaceConfigResult {
  double width = 0;
  int32_t resolution = 0;
  int64_t samples = 0;
  int64_t fitting = 0;
  int64_t patched = 0;       // of the fitting subnets, those that fit only patched
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
  bool allow_patches = false;
  double patch_max_overhead = 0;
  std::vector<SpaceConfigResult> configs;  // widths outer, resolutions inner
  int32_t chosen = -1;                     // index into configs
  double seconds = 0;
};

// Which part of the configurations one process computes: shard `index` of
// `count` (0 <= index < count) takes the configurations i with i % count ==
// index, so that every shard gets widths and resolutions of all sizes.
struct SpaceShard {
  int32_t index = 0;
  int32_t count = 1;
};

// What a shard was computed from; shards are merged only when these agree.
struct SpaceShardInputs {
  std::string space;
  std::vector<double> widths;
  std::vector<int32_t> resolutions;
  int32_t classes = 0;
  std::string mcu;
  Budget budget;
  int64_t samples = 0;
  uint64_t seed = 0;
  bool allow_patches = false;
  double patch_max_overhead = 0;  // 0 when patches are not allowed
};

struct SpaceShardResult {
  SpaceShardInputs inputs;
  SpaceShard shard;
  std::vector<int64_t> config_indices;     // ascending, into the whole space's configs
  std::vector<SpaceConfigResult> configs;  // one per index, statistics filled in
};

// Throws tinynas::Error when no sampled subnet of any configuration fits,
// saying what the space's smallest network needs.
SpaceOptimizerResult optimize_space(const SearchSpace& space, const McuTarget& mcu,
                                    const Budget& budget, const SpaceOptimizerOptions& options);

// The configuration indices of `shard` among num_configs; throws
// tinynas::Error for a shard outside 0 <= index < count.
std::vector<int64_t> shard_config_indices(int64_t num_configs, SpaceShard shard);
// The inputs optimize_space_shard records for these arguments.
SpaceShardInputs space_shard_inputs(const SearchSpace& space, const McuTarget& mcu, const Budget& budget,
                                    const SpaceOptimizerOptions& options);
// One shard of optimize_space(); the same checks (a space whose smallest
// network does not fit throws here already). A shard may hold no
// configurations (more shards than configurations).
SpaceShardResult optimize_space_shard(const SearchSpace& space, const McuTarget& mcu, const Budget& budget,
                                      const SpaceOptimizerOptions& options, SpaceShard shard);
// optimize_space() from its shards, in any order: throws tinynas::Error
// naming the missing shards ("missing shards 1, 3 of 4"), a shard given
// twice, or the first input in which a shard differs from these arguments
// ("shard 2 of 4: seed is 7, expected 1"). The result equals optimize_space()'s
// (seconds aside).
SpaceOptimizerResult merge_space_shards(const SearchSpace& space, const McuTarget& mcu, const Budget& budget,
                                        const SpaceOptimizerOptions& options,
                                        const std::vector<SpaceShardResult>& shards, int32_t count);
// "shard-2-of-4.json"
std::string space_shard_file_name(SpaceShard shard);
// A shard's file: its inputs and, per configuration, the sorted MFLOPs of
// the fitting samples (doubles round-trip exactly through the JSON).
nlohmann::json space_shard_to_json(const SpaceShardResult& shard);
// Throws tinynas::Error("where: ...") on a document that is not a shard file.
SpaceShardResult space_shard_from_json(const nlohmann::json& json, const std::string& where);

// space.json: every config (width, resolution, samples, fit_fraction, mean and
// median MFLOPs, and with patches allowed `patched`), chosen: {width,
// resolution}, and patches: {allowed, max_mac_overhead} (null overhead when
// not allowed).
nlohmann::json space_result_to_json(const SpaceOptimizerResult& result);
// SVG plot of the FLOPs CDFs of the `top` configurations: the chosen one, then
// the others by mean FLOPs.
std::string space_cdf_svg(const SpaceOptimizerResult& result, int top = 6);
// Text table of the configurations, the chosen one first, then by mean FLOPs
// (at most `rows`, 0 = all).
std::string format_space_table(const SpaceOptimizerResult& result, int rows = 15);

}  // namespace tinynas
