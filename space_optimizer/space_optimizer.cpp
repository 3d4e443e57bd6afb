#include "space_optimizer/space_optimizer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "core/error.h"
#include "core/progress.h"
#include "core/size.h"
#include "core/svg_plot.h"
#include "evaluator/cost_model.h"

namespace tinynas {
namespace {

std::string config_label(const SpaceConfigResult& c) {
  // %g keeps 0.35 and 0.75 apart from 0.3 and 0.7 (and prints 0.5, not 0.50).
  char buf[64];
  std::snprintf(buf, sizeof buf, "w%g-r%d", c.width, c.resolution);
  return buf;
}

// The subnet with the least width, resolution, depth, kernel and expand: the
// least flash and SRAM anything in the space can need.
ArchSpec smallest_corner(const SearchSpace& space) {
  const auto wi = std::min_element(space.widths.begin(), space.widths.end()) - space.widths.begin();
  const auto ri = std::min_element(space.resolutions.begin(), space.resolutions.end()) -
                  space.resolutions.begin();
  return smallest_arch(space, static_cast<int32_t>(wi), static_cast<int32_t>(ri));
}

// Indices of configs ordered best first: the chosen one (which --min-fit may
// have taken from further down), then fitting ones by mean FLOPs, then the
// rest by fit fraction. Putting the chosen one first keeps it in the table and
// the plot, which show only the first few.
std::vector<int32_t> ranking(const SpaceOptimizerResult& r) {
  std::vector<int32_t> idx(r.configs.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) {
    if ((a == r.chosen) != (b == r.chosen)) return a == r.chosen;
    const auto& x = r.configs[a];
    const auto& y = r.configs[b];
    if ((x.fitting > 0) != (y.fitting > 0)) return x.fitting > 0;
    if (x.mean_mflops != y.mean_mflops) return x.mean_mflops > y.mean_mflops;
    return x.fit_fraction > y.fit_fraction;
  });
  return idx;
}

std::string format_ms(double ms) {
  char b[48];
  std::snprintf(b, sizeof b, "%.3g ms", ms);
  return b;
}

// Says what the cheapest corner of the space needs, so the user knows how far
// the budget is from anything.
[[noreturn]] void throw_nothing_fits(const SearchSpace& space, const McuTarget& mcu,
                                     const Budget& budget, const SpaceOptimizerOptions& opt) {
  const ArchSpec smallest = smallest_corner(space);
  const CostReport c = estimate_cost(smallest, mcu, budget);
  // With a latency bound, the fastest subnet's latency (smallest width and
  // resolution, minimum everything) says how far away the bound is.
  std::string latency;
  if (budget.latency_ms > 0) {
    char l[96];
    std::snprintf(l, sizeof l, ", and its latency is %.3g ms (the fastest in the space)", c.latency_ms);
    latency = l;
  }
  char buf[640];
  std::snprintf(buf, sizeof buf,
                "no subnet of search space '%s' fits the budget on %s (flash %s, SRAM %s%s)%s: "
                "the smallest network (width %.2g, resolution %d, minimum depth, kernel and "
                "expand) needs %s of flash and %s of SRAM%s",
                space.name.c_str(), mcu.name.c_str(), format_size(budget.flash_bytes).c_str(),
                format_size(budget.sram_bytes).c_str(),
                budget.latency_ms > 0 ? (", latency " + format_ms(budget.latency_ms)).c_str() : "",
                opt.min_fit_fraction > 0 ? " often enough for --min-fit" : "",
                smallest.width_mult, smallest.resolution, format_size(c.flash_bytes).c_str(),
                format_size(c.peak_sram_bytes).c_str(), latency.c_str());
  throw Error(buf);
}

// Mean and median of c.fitting_mflops (sorted), and the counts: the one
// place these are computed, for a whole run and for merged shards alike.
void summarise(SpaceConfigResult& c) {
  c.fitting = static_cast<int64_t>(c.fitting_mflops.size());
  c.fit_fraction = static_cast<double>(c.fitting) / static_cast<double>(c.samples);
  c.mean_mflops = 0;
  c.median_mflops = 0;
  if (c.fitting > 0) {
    c.mean_mflops = std::accumulate(c.fitting_mflops.begin(), c.fitting_mflops.end(), 0.0) /
                    static_cast<double>(c.fitting);
    const size_t n = c.fitting_mflops.size();
    c.median_mflops = n % 2 == 1 ? c.fitting_mflops[n / 2]
                                 : 0.5 * (c.fitting_mflops[n / 2 - 1] + c.fitting_mflops[n / 2]);
  }
}

// Whether `arch` fits the budget, with patches when allowed and needed: 0
// (does not fit), 1 (fits layer by layer), 2 (fits only patched). `macs`:
// the network's layer-by-layer MACs.
int fit_kind(const ArchSpec& arch, const McuTarget& mcu, const Budget& budget,
             const SpaceOptimizerOptions& opt, int64_t& macs) {
  const CostReport c = estimate_cost(arch, mcu, budget);
  macs = c.macs;
  if (c.fits) return 1;
  // Patching only adds flash and MACs: worth trying for the SRAM alone.
  if (!opt.allow_patches || !c.fits_flash || !c.fits_latency) return 0;
  const PatchChoice p = choose_patch(arch, mcu, budget, opt.patch_max_overhead);
  return p.patch.enabled() && p.cost.fits ? 2 : 0;
}

void check_inputs(const SearchSpace& space, const McuTarget& mcu, const Budget& budget,
                  const SpaceOptimizerOptions& opt) {
  if (opt.samples < 1) throw Error("--samples must be at least 1");
  if (opt.allow_patches && !(opt.patch_max_overhead >= 0))
    throw Error("--patch-max-overhead must be >= 0");
  // When even the smallest network does not fit, nothing will: say so at once.
  int64_t macs = 0;
  if (fit_kind(smallest_corner(space), mcu, budget, opt, macs) == 0)
    throw_nothing_fits(space, mcu, budget, opt);
}

// Samples and costs the configurations `indices` (widths outer, resolutions
// inner), in parallel over configurations and chunks of samples; one result
// per index, statistics filled in.
std::vector<SpaceConfigResult> evaluate_configs(const SearchSpace& space, const McuTarget& mcu,
                                                const Budget& budget, const SpaceOptimizerOptions& opt,
                                                const std::vector<int64_t>& indices) {
  const int32_t nr = static_cast<int32_t>(space.resolutions.size());
  const int64_t n = static_cast<int64_t>(indices.size());
  const int64_t m = opt.samples;
  // MFLOPs of each sample, NaN when it does not fit; filled in parallel.
  std::vector<double> mflops(static_cast<size_t>(n * m));
  std::vector<uint8_t> patched(static_cast<size_t>(n * m), 0);
  constexpr int64_t kChunk = 250;
  const int64_t chunks_per_config = (m + kChunk - 1) / kChunk;
  ProgressBar bar("space " + mcu.name, n * m, opt.progress);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n * chunks_per_config),
                    [&](const tbb::blocked_range<int64_t>& range) {
                      ArchSpec arch;
                      for (int64_t task = range.begin(); task != range.end(); ++task) {
                        const int64_t slot = task / chunks_per_config;
                        const int64_t config = indices[static_cast<size_t>(slot)];
                        const int64_t begin = (task % chunks_per_config) * kChunk;
                        const int64_t end = std::min(m, begin + kChunk);
                        const auto wi = static_cast<int32_t>(config / nr);
                        const auto ri = static_cast<int32_t>(config % nr);
                        for (int64_t s = begin; s < end; ++s) {
                          Rng rng(derive_seed(opt.seed, static_cast<uint64_t>(config),
                                              static_cast<uint64_t>(s)));
                          sample_arch(space, wi, ri, rng, arch);
                          int64_t macs = 0;
                          const int kind = fit_kind(arch, mcu, budget, opt, macs);
                          mflops[static_cast<size_t>(slot * m + s)] =
                              kind > 0 ? static_cast<double>(macs) / 1e6 : std::nan("");
                          patched[static_cast<size_t>(slot * m + s)] = kind == 2 ? 1 : 0;
                        }
                        bar.tick(end - begin);
                      }
                    });
  bar.finish();

  std::vector<SpaceConfigResult> configs(static_cast<size_t>(n));
  for (int64_t slot = 0; slot < n; ++slot) {
    const int64_t config = indices[static_cast<size_t>(slot)];
    SpaceConfigResult& c = configs[static_cast<size_t>(slot)];
    c.width = space.widths[static_cast<size_t>(config / nr)];
    c.resolution = space.resolutions[static_cast<size_t>(config % nr)];
    c.samples = m;
    for (int64_t s = 0; s < m; ++s) {
      const double v = mflops[static_cast<size_t>(slot * m + s)];
      if (!std::isnan(v)) c.fitting_mflops.push_back(v);
      c.patched += patched[static_cast<size_t>(slot * m + s)];
    }
    std::sort(c.fitting_mflops.begin(), c.fitting_mflops.end());
    summarise(c);
  }
  return configs;
}

// The whole result around its configurations: the header fields and the
// choice (the fitting config of largest mean MFLOPs that fits often enough).
SpaceOptimizerResult assemble(const SearchSpace& space, const McuTarget& mcu, const Budget& budget,
                              const SpaceOptimizerOptions& opt, std::vector<SpaceConfigResult> configs) {
  SpaceOptimizerResult r;
  r.space = space.name;
  r.mcu = mcu.name;
  r.budget = budget;
  r.seed = opt.seed;
  r.samples = opt.samples;
  r.allow_patches = opt.allow_patches;
  r.patch_max_overhead = opt.allow_patches ? opt.patch_max_overhead : 0;
  r.configs = std::move(configs);
  for (int32_t i = 0; i < static_cast<int32_t>(r.configs.size()); ++i) {
    const auto& c = r.configs[i];
    if (c.fitting == 0 || c.fit_fraction < opt.min_fit_fraction) continue;
    if (r.chosen < 0 || c.mean_mflops > r.configs[r.chosen].mean_mflops) r.chosen = i;
  }
  if (r.chosen < 0) throw_nothing_fits(space, mcu, budget, opt);
  return r;
}

int64_t num_configs(const SearchSpace& space) {
  return static_cast<int64_t>(space.widths.size()) * static_cast<int64_t>(space.resolutions.size());
}

std::string shard_name(SpaceShard shard) {
  return "shard " + std::to_string(shard.index) + " of " + std::to_string(shard.count);
}

template <typename T>
std::string show(const T& v) {
  return nlohmann::json(v).dump();
}

// The first input in which `got` differs from `want`, as "seed is 7,
// expected 1", or "" when they agree. Names are those of the CLI options.
std::string first_difference(const SpaceShardInputs& got, const SpaceShardInputs& want) {
  auto differs = [](const std::string& name, const std::string& g, const std::string& w) {
    return name + " is " + g + ", expected " + w;
  };
  if (got.space != want.space) return differs("space", show(got.space), show(want.space));
  if (got.widths != want.widths) return differs("space widths", show(got.widths), show(want.widths));
  if (got.resolutions != want.resolutions)
    return differs("space resolutions", show(got.resolutions), show(want.resolutions));
  if (got.classes != want.classes) return differs("classes", show(got.classes), show(want.classes));
  if (got.mcu != want.mcu) return differs("mcu", show(got.mcu), show(want.mcu));
  if (got.budget.flash_bytes != want.budget.flash_bytes)
    return differs("flash", format_size(got.budget.flash_bytes), format_size(want.budget.flash_bytes));
  if (got.budget.sram_bytes != want.budget.sram_bytes)
    return differs("sram", format_size(got.budget.sram_bytes), format_size(want.budget.sram_bytes));
  if (got.budget.latency_ms != want.budget.latency_ms)
    return differs("latency-ms", show(got.budget.latency_ms), show(want.budget.latency_ms));
  if (got.samples != want.samples) return differs("samples", show(got.samples), show(want.samples));
  if (got.seed != want.seed) return differs("seed", show(got.seed), show(want.seed));
  if (got.allow_patches != want.allow_patches)
    return differs("patches", show(got.allow_patches), show(want.allow_patches));
  if (got.patch_max_overhead != want.patch_max_overhead)
    return differs("patch-max-overhead", show(got.patch_max_overhead), show(want.patch_max_overhead));
  return "";
}

}  // namespace

SpaceOptimizerResult optimize_space(const SearchSpace& space, const McuTarget& mcu,
                                    const Budget& budget, const SpaceOptimizerOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  check_inputs(space, mcu, budget, opt);
  std::vector<int64_t> all(static_cast<size_t>(num_configs(space)));
  std::iota(all.begin(), all.end(), int64_t{0});
  SpaceOptimizerResult r = assemble(space, mcu, budget, opt, evaluate_configs(space, mcu, budget, opt, all));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::vector<int64_t> shard_config_indices(int64_t num_configs, SpaceShard shard) {
  if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count)
    throw Error("shard " + std::to_string(shard.index) + " of " + std::to_string(shard.count) +
                ": expected 0 <= index < count");
  std::vector<int64_t> indices;
  for (int64_t i = shard.index; i < num_configs; i += shard.count) indices.push_back(i);
  return indices;
}

SpaceShardInputs space_shard_inputs(const SearchSpace& space, const McuTarget& mcu, const Budget& budget,
                                    const SpaceOptimizerOptions& opt) {
  SpaceShardInputs in;
  in.space = space.name;
  in.widths = space.widths;
  in.resolutions = space.resolutions;
  in.classes = space.num_classes;
  in.mcu = mcu.name;
  in.budget = budget;
  in.samples = opt.samples;
  in.seed = opt.seed;
  in.allow_patches = opt.allow_patches;
  in.patch_max_overhead = opt.allow_patches ? opt.patch_max_overhead : 0;
  return in;
}

SpaceShardResult optimize_space_shard(const SearchSpace& space, const McuTarget& mcu, const Budget& budget,
                                      const SpaceOptimizerOptions& opt, SpaceShard shard) {
  SpaceShardResult r;
  r.config_indices = shard_config_indices(num_configs(space), shard);
  check_inputs(space, mcu, budget, opt);
  r.inputs = space_shard_inputs(space, mcu, budget, opt);
  r.shard = shard;
  r.configs = evaluate_configs(space, mcu, budget, opt, r.config_indices);
  return r;
}

SpaceOptimizerResult merge_space_shards(const SearchSpace& space, const McuTarget& mcu, const Budget& budget,
                                        const SpaceOptimizerOptions& opt,
                                        const std::vector<SpaceShardResult>& shards, int32_t count) {
  if (count < 1) throw Error("the number of shards must be at least 1");
  const auto t0 = std::chrono::steady_clock::now();
  const SpaceShardInputs want = space_shard_inputs(space, mcu, budget, opt);
  const int64_t n = num_configs(space);
  std::vector<const SpaceShardResult*> by_index(static_cast<size_t>(count), nullptr);
  for (const SpaceShardResult& s : shards) {
    if (s.shard.count != count || s.shard.index < 0 || s.shard.index >= count)
      throw Error(shard_name(s.shard) + ": not one of " + std::to_string(count) + " shards");
    if (by_index[static_cast<size_t>(s.shard.index)] != nullptr)
      throw Error(shard_name(s.shard) + " is given twice");
    by_index[static_cast<size_t>(s.shard.index)] = &s;
    if (const std::string diff = first_difference(s.inputs, want); !diff.empty())
      throw Error(shard_name(s.shard) + " was computed from other inputs: " + diff);
  }
  std::string missing;
  int32_t num_missing = 0;
  for (int32_t i = 0; i < count; ++i) {
    if (by_index[static_cast<size_t>(i)] != nullptr) continue;
    missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    ++num_missing;
  }
  if (num_missing > 0)
    throw Error(std::string(num_missing == 1 ? "missing shard " : "missing shards ") + missing + " of " +
                std::to_string(count));

  std::vector<SpaceConfigResult> configs(static_cast<size_t>(n));
  const int32_t nr = static_cast<int32_t>(space.resolutions.size());
  for (const SpaceShardResult* s : by_index) {
    const std::vector<int64_t> expected = shard_config_indices(n, s->shard);
    if (s->config_indices != expected || s->configs.size() != expected.size())
      throw Error(shard_name(s->shard) + " does not hold the configurations of " + shard_name(s->shard));
    for (size_t k = 0; k < expected.size(); ++k) {
      const int64_t config = expected[k];
      SpaceConfigResult c = s->configs[k];
      if (c.width != space.widths[static_cast<size_t>(config / nr)] ||
          c.resolution != space.resolutions[static_cast<size_t>(config % nr)] || c.samples != opt.samples)
        throw Error(shard_name(s->shard) + ": configuration " + std::to_string(config) +
                    " is not the space's (width, resolution) or has other samples");
      if (c.patched < 0 || c.patched > static_cast<int64_t>(c.fitting_mflops.size()))
        throw Error(shard_name(s->shard) + ": configuration " + std::to_string(config) +
                    " has more patched than fitting subnets");
      summarise(c);
      configs[static_cast<size_t>(config)] = std::move(c);
    }
  }
  SpaceOptimizerResult r = assemble(space, mcu, budget, opt, std::move(configs));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string space_shard_file_name(SpaceShard shard) {
  return "shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".json";
}

nlohmann::json space_shard_to_json(const SpaceShardResult& s) {
  nlohmann::json configs = nlohmann::json::array();
  for (size_t k = 0; k < s.configs.size(); ++k) {
    const SpaceConfigResult& c = s.configs[k];
    configs.push_back({{"index", s.config_indices[k]},
                       {"width", c.width},
                       {"resolution", c.resolution},
                       {"samples", c.samples},
                       {"fitting_mflops", c.fitting_mflops}});
    if (s.inputs.allow_patches) configs.back()["patched"] = c.patched;
  }
  const SpaceShardInputs& in = s.inputs;
  nlohmann::json out = {{"kind", "tinynas space shard"},
          {"shard", {{"index", s.shard.index}, {"count", s.shard.count}}},
          {"inputs",
           {{"space", in.space},
            {"widths", in.widths},
            {"resolutions", in.resolutions},
            {"classes", in.classes},
            {"mcu", in.mcu},
            {"budget",
             {{"flash_bytes", in.budget.flash_bytes},
              {"sram_bytes", in.budget.sram_bytes},
              {"latency_ms", in.budget.latency_ms}}},
            {"samples", in.samples},
            {"seed", in.seed}}},
          {"configs", std::move(configs)}};
  // Only with patches: shard files without them are as they always were.
  if (in.allow_patches) {
    out["inputs"]["allow_patches"] = true;
    out["inputs"]["patch_max_overhead"] = in.patch_max_overhead;
  }
  return out;
}

SpaceShardResult space_shard_from_json(const nlohmann::json& j, const std::string& where) {
  try {
    if (!j.is_object() || j.value("kind", std::string()) != "tinynas space shard")
      throw Error(where + ": not a tinynas space shard file (no \"kind\": \"tinynas space shard\")");
    SpaceShardResult s;
    s.shard.index = j.at("shard").at("index").get<int32_t>();
    s.shard.count = j.at("shard").at("count").get<int32_t>();
    const nlohmann::json& in = j.at("inputs");
    s.inputs.space = in.at("space").get<std::string>();
    s.inputs.widths = in.at("widths").get<std::vector<double>>();
    s.inputs.resolutions = in.at("resolutions").get<std::vector<int32_t>>();
    s.inputs.classes = in.at("classes").get<int32_t>();
    s.inputs.mcu = in.at("mcu").get<std::string>();
    s.inputs.budget.flash_bytes = in.at("budget").at("flash_bytes").get<int64_t>();
    s.inputs.budget.sram_bytes = in.at("budget").at("sram_bytes").get<int64_t>();
    s.inputs.budget.latency_ms = in.at("budget").at("latency_ms").get<double>();
    s.inputs.samples = in.at("samples").get<int64_t>();
    s.inputs.seed = in.at("seed").get<uint64_t>();
    // Shards written before patches were a dimension: none allowed.
    s.inputs.allow_patches = in.value("allow_patches", false);
    s.inputs.patch_max_overhead = in.value("patch_max_overhead", 0.0);
    for (const nlohmann::json& cj : j.at("configs")) {
      SpaceConfigResult c;
      s.config_indices.push_back(cj.at("index").get<int64_t>());
      c.width = cj.at("width").get<double>();
      c.resolution = cj.at("resolution").get<int32_t>();
      c.samples = cj.at("samples").get<int64_t>();
      c.fitting_mflops = cj.at("fitting_mflops").get<std::vector<double>>();
      c.patched = cj.value("patched", int64_t{0});
      if (c.samples < 1 || static_cast<int64_t>(c.fitting_mflops.size()) > c.samples ||
          c.patched < 0 || c.patched > static_cast<int64_t>(c.fitting_mflops.size()) ||
          !std::is_sorted(c.fitting_mflops.begin(), c.fitting_mflops.end()))
        throw Error(where + ": configuration " + std::to_string(s.config_indices.back()) +
                    ": fitting_mflops must be sorted and at most samples long");
      summarise(c);
      s.configs.push_back(std::move(c));
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": not a tinynas space shard file: " + e.what());
  }
}

nlohmann::json space_result_to_json(const SpaceOptimizerResult& r) {
  nlohmann::json configs = nlohmann::json::array();
  for (const auto& c : r.configs) {
    configs.push_back({{"width", c.width},
                       {"resolution", c.resolution},
                       {"samples", c.samples},
                       {"fitting", c.fitting},
                       {"fit_fraction", c.fit_fraction},
                       {"mean_mflops", c.mean_mflops},
                       {"median_mflops", c.median_mflops}});
    if (r.allow_patches) configs.back()["patched"] = c.patched;
  }
  const auto& best = r.configs[static_cast<size_t>(r.chosen)];
  nlohmann::json out = {{"space", r.space},
          {"mcu", r.mcu},
          {"budget", {{"flash_bytes", r.budget.flash_bytes}, {"sram_bytes", r.budget.sram_bytes}}},
          {"seed", r.seed},
          {"samples", r.samples},
          {"chosen",
           {{"width", best.width},
            {"resolution", best.resolution},
            {"mean_mflops", best.mean_mflops},
            {"fit_fraction", best.fit_fraction}}},
          {"configs", std::move(configs)}};
  // Only with patches, so that space.json without them is as it always was.
  if (r.allow_patches) {
    out["patches"] = {{"allowed", true}, {"max_mac_overhead", r.patch_max_overhead}};
    out["chosen"]["patched"] = best.patched;
  }
  return out;
}

std::string space_cdf_svg(const SpaceOptimizerResult& r, int top) {
  std::vector<PlotSeries> series;
  const auto order = ranking(r);
  for (int32_t idx : order) {
    if (static_cast<int>(series.size()) >= top) break;
    const auto& c = r.configs[idx];
    if (c.fitting == 0) break;
    PlotSeries s;
    char label[128];
    std::snprintf(label, sizeof label, "%s: mean %.1fM, %.1f%% fit%s", config_label(c).c_str(),
                  c.mean_mflops, c.fit_fraction * 100, idx == r.chosen ? " (chosen)" : "");
    s.label = label;
    s.step = true;
    const size_t n = c.fitting_mflops.size();
    for (size_t i = 0; i < n; ++i) {
      s.x.push_back(c.fitting_mflops[i]);
      s.y.push_back(static_cast<double>(i + 1) / static_cast<double>(n));
    }
    series.push_back(std::move(s));
  }
  PlotSpec spec;
  spec.title = "FLOPs CDF of subnets that fit " + r.mcu + " (flash " +
               format_size(r.budget.flash_bytes) + ", SRAM " + format_size(r.budget.sram_bytes) + ")";
  spec.x_label = "MFLOPs (MACs) of fitting subnets";
  spec.y_label = "cumulative fraction";
  spec.y_min = 0;
  spec.y_max = 1;
  return render_svg_plot(spec, series);
}

std::string format_space_table(const SpaceOptimizerResult& r, int rows) {
  std::string out;
  char line[160];
  std::snprintf(line, sizeof line, "%-12s %6s %9s %12s %14s%s\n", "config", "fit %", "fitting",
                "mean MFLOPs", "median MFLOPs", r.allow_patches ? "  patched" : "");
  out += line;
  int shown = 0;
  for (int32_t idx : ranking(r)) {
    if (rows > 0 && shown++ >= rows) break;
    const auto& c = r.configs[idx];
    char patched[32] = "";
    if (r.allow_patches)
      std::snprintf(patched, sizeof patched, " %8lld", static_cast<long long>(c.patched));
    std::snprintf(line, sizeof line, "%-12s %6.1f %9lld %12.2f %14.2f%s%s\n", config_label(c).c_str(),
                  c.fit_fraction * 100, static_cast<long long>(c.fitting), c.mean_mflops,
                  c.median_mflops, patched, idx == r.chosen ? "  <- chosen" : "");
    out += line;
  }
  return out;
}

}  // namespace tinynas
