// bench_space: wall time of `tinynas space` (optimize_space) for one MCU
// budget, against the 10 s target and against the ~2 CPU-hours (7,200 s) the
// MCUNet paper reports for the same job (108 width/resolution configs x 1000
// sampled subnets, each costed).
//
// --compare-patches (the figure, run with --sram 128K): patch-based
// inference as a dimension, in one run at the same budget and seed:
// - the space optimiser without and with patches allowed (choose_patch within
//   15% extra MACs): the chosen config, its mean FLOPs, fit fraction and how
//   many of its fitting subnets need a patch;
// - an evolutionary search (MCUNet's defaults: 30 generations of 100, seed
//   0) at each chosen config, with the accuracy proxy bench_search uses, on
//   the mcunet space without and with the patch genes (patches 0/2/3/4, split
//   blocks 0..6): the best found, its MACs, peak SRAM and patch setting;
//   a third row ("genes only") searches with the patch genes at the config
//   chosen without patches.
// The job runs --reps times per thread count (default 2, then 1; the fastest
// run is reported), each under a tbb::global_control limit. Results must not depend on the thread count (every
// sample has its own seed stream), so the runs' chosen configs are compared.
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <sstream>
#include <vector>

#include <CLI/CLI.hpp>
#include <tbb/global_control.h>

#include "bench/accuracy_proxy.h"
#include "bench/bench_common.h"
#include "core/error.h"
#include "core/mcu.h"
#include "core/search_space.h"
#include "core/rng.h"
#include "core/size.h"
#include "evaluator/cost_model.h"
#include "search/evolution.h"
#include "space_optimizer/space_optimizer.h"

namespace tinynas::bench {
namespace {

constexpr double kTargetSeconds = 10;
constexpr double kMcunetSeconds = 2 * 3600;  // "~2 CPU-hours" (MCUNet, Sec. 3.1)

int compare_patches(const SearchSpace& space, const McuTarget& mcu, const Budget& budget,
                    const SpaceOptimizerOptions& base) {
  std::printf("bench_space --compare-patches: '%s' on %s, budget flash %s / SRAM %s, %" PRId64
              " samples per config, seed %" PRIu64 "; load average %s\n\n",
              space.name.c_str(), mcu.name.c_str(), format_size(budget.flash_bytes).c_str(),
              format_size(budget.sram_bytes).c_str(), base.samples, base.seed, load_average().c_str());
  SearchSpace patched_space = space;
  patched_space.patch.grids = {0, 2, 3, 4};
  patched_space.patch.max_split_block = 6;
  validate(patched_space);

  Table table;
  table.add_column("patches", true);
  table.add_column("space opt s");
  table.add_column("chosen", true);
  table.add_column("mean MFLOPs");
  table.add_column("fit %");
  table.add_column("patched/fitting");
  table.add_column("search s");
  table.add_column("best proxy");
  table.add_column("best MMACs");
  table.add_column("layer-by-layer MMACs");
  table.add_column("peak SRAM", true);
  table.add_column("patch", true);
  table.add_column("patched in history");
  // Rows: without patches; with them (the optimiser's own choice); and the
  // patch genes searched at the config chosen without patches.
  SpaceOptimizerResult plain;
  for (const int row : {0, 1, 2}) {
    const bool allow = row > 0;
    SpaceOptimizerOptions opt = base;
    opt.allow_patches = allow;
    double t0 = now_seconds();
    const SpaceOptimizerResult r = row == 2 ? plain : optimize_space(space, mcu, budget, opt);
    const double space_s = row == 2 ? 0 : now_seconds() - t0;
    if (row == 0) plain = r;
    const SpaceConfigResult& c = r.configs[static_cast<size_t>(r.chosen)];
    const SearchSpace searched = restrict_space(allow ? patched_space : space, c.width, c.resolution);
    SearchOptions so;  // MCUNet's defaults: 30 generations of 100
    so.seed = base.seed;
    FunctionEvaluator ev(trivial_accuracy);
    t0 = now_seconds();
    const SearchResult sr = run_search(searched, mcu, budget, ev, so);
    const double search_s = now_seconds() - t0;
    const EvaluatedCandidate& best = sr.history[static_cast<size_t>(sr.best)];
    int64_t patched = 0;
    for (const auto& e : sr.history) patched += e.arch.patch.enabled() ? 1 : 0;
    const std::string patch = best.arch.patch.enabled()
                                  ? strf("%s (+%.1f%% MACs)", patch_setting(best.arch.patch).c_str(),
                                         best.cost.patch_mac_overhead)
                                  : "none";
    table.add_row({row == 0 ? "none" : row == 1 ? "allowed" : "genes only", strf("%.2f", space_s),
                   strf("w%g-r%d", c.width, c.resolution), strf("%.2f", c.mean_mflops),
                   strf("%.1f", c.fit_fraction * 100),
                   strf("%" PRId64 "/%" PRId64, c.patched, c.fitting), strf("%.2f", search_s),
                   strf("%.4f", best.accuracy), strf("%.2f", static_cast<double>(best.cost.macs) / 1e6),
                   strf("%.2f", static_cast<double>(best.cost.layer_by_layer_macs) / 1e6),
                   format_size(best.cost.peak_sram_bytes), patch,
                   strf("%" PRId64 "/%" PRId64, patched, static_cast<int64_t>(sr.history.size()))});
  }
  table.print();
  return 0;
}

int run(int argc, char** argv) {
  std::string mcu_name = "f412", space_name = "mcunet", flash = "1M", sram = "256K";
  int64_t samples = 1000;
  uint64_t seed = 0;
  std::vector<int> threads = {2, 1};
  int rows = 10;
  int reps = 3;
  bool compare = false;
  CLI::App app("Wall time of the space optimiser against the 10 s target and MCUNet's ~2 CPU-hours");
  app.add_option("--mcu", mcu_name, "MCU (configs/mcus) or YAML path");
  app.add_option("--flash", flash, "Flash budget (size, e.g. 1M)");
  app.add_option("--sram", sram, "SRAM budget (size, e.g. 256K)");
  app.add_option("--space", space_name, "Search space (configs/spaces) or YAML path");
  app.add_option("--samples", samples, "Subnets per config")->check(CLI::Range(int64_t{1}, int64_t{10000000}));
  app.add_option("--seed", seed, "Sampling seed");
  app.add_option("--threads", threads, "Thread counts to run, in order")
      ->delimiter(',')
      ->check(CLI::Range(1, 1024));
  app.add_option("--reps", reps, "Runs per thread count (the fastest is reported)")
      ->check(CLI::Range(1, 100));
  app.add_option("--rows", rows, "Configs to list from the last run (0: all)");
  app.add_flag("--compare-patches", compare,
               "Instead of timing: the space optimiser and a search without and with patch-based "
               "inference at this budget (the issue's figure: --sram 128K)");
  CLI11_PARSE(app, argc, argv);

  const SearchSpace space = load_search_space(space_name);
  const McuTarget mcu = load_mcu(mcu_name);
  const Budget budget =
      budget_for(mcu, parse_size(flash, "--flash"), parse_size(sram, "--sram"));
  SpaceOptimizerOptions opt;
  opt.samples = samples;
  opt.seed = seed;
  opt.progress = false;
  if (compare) return compare_patches(space, mcu, budget, opt);
  const int64_t num_configs = static_cast<int64_t>(space.widths.size() * space.resolutions.size());
  const int64_t evals = num_configs * samples;
  std::printf("bench_space: optimize_space('%s') on %s, budget flash %s / SRAM %s, %" PRId64
              " configs x %" PRId64 " samples = %" PRId64 " cost-model evaluations, seed %" PRIu64
              ", best of %d runs per thread count; load average %s\n\n",
              space.name.c_str(), mcu.name.c_str(), format_size(budget.flash_bytes).c_str(),
              format_size(budget.sram_bytes).c_str(), num_configs, samples, evals, seed, reps,
              load_average().c_str());

  struct Run {
    int threads;
    double wall;
    double cpu;
  };
  std::vector<Run> runs;
  std::vector<SpaceOptimizerResult> results;
  for (const int t : threads) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(t));
    SpaceOptimizerResult r;
    Run run{t, std::numeric_limits<double>::infinity(), 0};
    for (int rep = 0; rep < reps; ++rep) {
      const double t0 = now_seconds(), c0 = cpu_seconds();
      r = optimize_space(space, mcu, budget, opt);
      const double wall = now_seconds() - t0;
      if (wall < run.wall) run = {t, wall, cpu_seconds() - c0};
    }
    runs.push_back(run);
    results.push_back(std::move(r));
  }
  double one_thread = 0;
  for (const Run& run : runs)
    if (run.threads == 1) one_thread = run.wall;

  Table table;
  table.add_column("threads");
  table.add_column("wall s");
  table.add_column("evals/s");
  table.add_column("evals/s/thread");
  table.add_column("vs 1 thread");
  table.add_column("cpu/(wall x threads)");
  table.add_column("target", true);
  table.add_column("result", true);
  table.add_column("vs MCUNet 7200 s");
  table.add_column("chosen", true);
  bool all_pass = true;
  for (size_t i = 0; i < runs.size(); ++i) {
    const Run& run = runs[i];
    const auto& best = results[i].configs[static_cast<size_t>(results[i].chosen)];
    const bool pass = run.wall <= kTargetSeconds;
    all_pass = all_pass && pass;
    table.add_row({std::to_string(run.threads), strf("%.3f", run.wall),
                   strf("%.0f", static_cast<double>(evals) / run.wall),
                   strf("%.0f", static_cast<double>(evals) / run.wall / run.threads),
                   one_thread > 0 ? strf("%.2fx", one_thread / run.wall) : "-",
                   strf("%.2f", run.cpu / (run.wall * run.threads)),
                   strf("<= %.0f s", kTargetSeconds), pass ? "PASS" : "FAIL",
                   strf("%.0fx", kMcunetSeconds / run.wall),
                   strf("w%.1f-r%d (%.1f MFLOPs, %.0f%% fit)", best.width, best.resolution,
                        best.mean_mflops, best.fit_fraction * 100)});
  }
  table.print();

  bool same = true;
  for (const auto& r : results) {
    same = same && r.chosen == results.front().chosen;
    for (size_t c = 0; c < r.configs.size(); ++c)
      same = same && r.configs[c].fitting_mflops == results.front().configs[c].fitting_mflops;
  }
  std::printf("\nresults identical across thread counts: %s\n", same ? "yes" : "NO");
  const auto& last = results.back();
  const auto& best = last.configs[static_cast<size_t>(last.chosen)];
  std::printf("chosen config: width %.1f, resolution %d (mean %.2f MFLOPs, median %.2f, %" PRId64
              "/%" PRId64 " subnets fit)\n\n",
              best.width, best.resolution, best.mean_mflops, best.median_mflops, best.fitting,
              best.samples);
  std::fputs(format_space_table(last, rows).c_str(), stdout);
  return all_pass && same ? 0 : 1;
}

}  // namespace
}  // namespace tinynas::bench

int main(int argc, char** argv) { return tinynas::bench::run_main(tinynas::bench::run, argc, argv); }
