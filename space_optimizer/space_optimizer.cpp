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

}  // namespace

SpaceOptimizerResult optimize_space(const SearchSpace& space, const McuTarget& mcu,
                                    const Budget& budget, const SpaceOptimizerOptions& opt) {
  if (opt.samples < 1) throw Error("--samples must be at least 1");
  const auto t0 = std::chrono::steady_clock::now();
  const int32_t nw = static_cast<int32_t>(space.widths.size());
  const int32_t nr = static_cast<int32_t>(space.resolutions.size());
  const int64_t num_configs = int64_t{nw} * nr;
  const int64_t m = opt.samples;
  // When even the smallest network does not fit, nothing will: say so at once.
  if (!estimate_cost(smallest_corner(space), mcu, budget).fits)
    throw_nothing_fits(space, mcu, budget, opt);

  // MFLOPs of each sample, NaN when it does not fit; filled in parallel.
  std::vector<double> mflops(static_cast<size_t>(num_configs * m));
  const Budget& fit_budget = budget;
  constexpr int64_t kChunk = 250;
  const int64_t chunks_per_config = (m + kChunk - 1) / kChunk;
  ProgressBar bar("space " + mcu.name, num_configs * m, opt.progress);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, num_configs * chunks_per_config),
                    [&](const tbb::blocked_range<int64_t>& range) {
                      ArchSpec arch;
                      for (int64_t task = range.begin(); task != range.end(); ++task) {
                        const int64_t config = task / chunks_per_config;
                        const int64_t begin = (task % chunks_per_config) * kChunk;
                        const int64_t end = std::min(m, begin + kChunk);
                        const auto wi = static_cast<int32_t>(config / nr);
                        const auto ri = static_cast<int32_t>(config % nr);
                        for (int64_t s = begin; s < end; ++s) {
                          Rng rng(derive_seed(opt.seed, static_cast<uint64_t>(config),
                                              static_cast<uint64_t>(s)));
                          sample_arch(space, wi, ri, rng, arch);
                          const CostReport c = estimate_cost(arch, mcu, fit_budget);
                          mflops[static_cast<size_t>(config * m + s)] =
                              c.fits ? static_cast<double>(c.macs) / 1e6 : std::nan("");
                        }
                        bar.tick(end - begin);
                      }
                    });
  bar.finish();

  SpaceOptimizerResult r;
  r.space = space.name;
  r.mcu = mcu.name;
  r.budget = budget;
  r.seed = opt.seed;
  r.samples = m;
  r.configs.resize(static_cast<size_t>(num_configs));
  for (int64_t config = 0; config < num_configs; ++config) {
    SpaceConfigResult& c = r.configs[static_cast<size_t>(config)];
    c.width = space.widths[static_cast<size_t>(config / nr)];
    c.resolution = space.resolutions[static_cast<size_t>(config % nr)];
    c.samples = m;
    for (int64_t s = 0; s < m; ++s) {
      const double v = mflops[static_cast<size_t>(config * m + s)];
      if (!std::isnan(v)) c.fitting_mflops.push_back(v);
    }
    std::sort(c.fitting_mflops.begin(), c.fitting_mflops.end());
    c.fitting = static_cast<int64_t>(c.fitting_mflops.size());
    c.fit_fraction = static_cast<double>(c.fitting) / static_cast<double>(m);
    if (c.fitting > 0) {
      c.mean_mflops = std::accumulate(c.fitting_mflops.begin(), c.fitting_mflops.end(), 0.0) /
                      static_cast<double>(c.fitting);
      const size_t n = c.fitting_mflops.size();
      c.median_mflops = n % 2 == 1 ? c.fitting_mflops[n / 2]
                                   : 0.5 * (c.fitting_mflops[n / 2 - 1] + c.fitting_mflops[n / 2]);
    }
  }
  for (int32_t i = 0; i < static_cast<int32_t>(r.configs.size()); ++i) {
    const auto& c = r.configs[i];
    if (c.fitting == 0 || c.fit_fraction < opt.min_fit_fraction) continue;
    if (r.chosen < 0 || c.mean_mflops > r.configs[r.chosen].mean_mflops) r.chosen = i;
  }
  if (r.chosen < 0) throw_nothing_fits(space, mcu, budget, opt);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
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
  }
  const auto& best = r.configs[static_cast<size_t>(r.chosen)];
  return {{"space", r.space},
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
  std::snprintf(line, sizeof line, "%-12s %6s %9s %12s %14s\n", "config", "fit %", "fitting",
                "mean MFLOPs", "median MFLOPs");
  out += line;
  int shown = 0;
  for (int32_t idx : ranking(r)) {
    if (rows > 0 && shown++ >= rows) break;
    const auto& c = r.configs[idx];
    std::snprintf(line, sizeof line, "%-12s %6.1f %9lld %12.2f %14.2f%s\n", config_label(c).c_str(),
                  c.fit_fraction * 100, static_cast<long long>(c.fitting), c.mean_mflops,
                  c.median_mflops, idx == r.chosen ? "  <- chosen" : "");
    out += line;
  }
  return out;
}

}  // namespace tinynas
