// bench_space: wall time of `tinynas space` (optimize_space) for one MCU
// budget, against the 10 s target and against the ~2 CPU-hours (7,200 s) the
// MCUNet paper reports for the same job (108 width/resolution configs x 1000
// sampled subnets, each costed).
//
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

#include "bench/bench_common.h"
#include "core/error.h"
#include "core/mcu.h"
#include "core/search_space.h"
#include "core/size.h"
#include "space_optimizer/space_optimizer.h"

namespace tinynas::bench {
namespace {

constexpr double kTargetSeconds = 10;
constexpr double kMcunetSeconds = 2 * 3600;  // "~2 CPU-hours" (MCUNet, Sec. 3.1)

int run(int argc, char** argv) {
  std::string mcu_name = "f412", space_name = "mcunet", flash = "1M", sram = "256K";
  int64_t samples = 1000;
  uint64_t seed = 0;
  std::vector<int> threads = {2, 1};
  int rows = 10;
  int reps = 3;
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
  CLI11_PARSE(app, argc, argv);

  const SearchSpace space = load_search_space(space_name);
  const McuTarget mcu = load_mcu(mcu_name);
  const Budget budget =
      budget_for(mcu, parse_size(flash, "--flash"), parse_size(sram, "--sram"));
  SpaceOptimizerOptions opt;
  opt.samples = samples;
  opt.seed = seed;
  opt.progress = false;
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
