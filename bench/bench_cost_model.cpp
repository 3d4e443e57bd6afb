// bench_cost_model: single-thread throughput of the exact cost model (lower +
// greedy plan + cost), the inner loop of the space optimiser and of the
// search's constraint check.
//
// N subnets of a search space are sampled first, over all widths and
// resolutions round-robin, each from the same seed stream the space optimiser
// uses (derive_seed(seed, config, sample)), so sampling is not timed. Then each
// variant runs over all N (best of --reps passes):
// - the shipped path, estimate_cost(arch) (target: >= 100,000 archs/s/core),
//   and the same with sample_arch in the loop (what optimize_space runs);
// - peers: the naive planner (no reuse), greedy without the in-place rules,
//   and the full plan_memory() with a MemoryPlan filled (what deploy runs);
// - a breakdown: sampling alone, lowering alone.
// Afterwards the arenas of the peers are checked against the shipped one (the
// full plan must agree to the byte; no reuse can never be smaller).
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/bench_common.h"
#include "core/error.h"
#include "core/memory_planner.h"
#include "core/op_graph.h"
#include "core/rng.h"
#include "core/search_space.h"
#include "evaluator/cost_model.h"

namespace tinynas::bench {
namespace {

constexpr double kTargetArchsPerSecond = 100000;

struct Timing {
  double seconds = std::numeric_limits<double>::infinity();  // wall, best pass
  double cpu_share = 0;  // CPU time / wall time of that pass
};

struct Row {
  std::string name;
  Timing timing;
  bool targeted = false;
};

// Runs `pass` (one pass over all archs) `reps` times; the fastest pass.
template <typename Pass>
Timing best_of(int reps, Pass&& pass) {
  Timing best;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_seconds(), c0 = cpu_seconds();
    pass();
    const double wall = now_seconds() - t0, cpu = cpu_seconds() - c0;
    if (wall < best.seconds) best = {wall, cpu / wall};
  }
  return best;
}

int run(int argc, char** argv) {
  int64_t n = 200000;
  int reps = 3;
  uint64_t seed = 0;
  std::string space_name = "mcunet", mcu_name = "f412";
  CLI::App app("Throughput of the exact cost model (archs/s, one thread) against its peers");
  app.add_option("-n,--archs", n, "Subnets to cost")->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  app.add_option("--reps", reps, "Passes per variant (the best is reported)")->check(CLI::Range(1, 100));
  app.add_option("--seed", seed, "Sampling seed");
  app.add_option("--space", space_name, "Search space (configs/spaces) or YAML path");
  app.add_option("--mcu", mcu_name, "MCU (configs/mcus) or YAML path; its default budget is used");
  CLI11_PARSE(app, argc, argv);

  const SearchSpace space = load_search_space(space_name);
  const McuTarget mcu = load_mcu(mcu_name);
  const Budget budget = budget_for(mcu);
  const auto nw = static_cast<int32_t>(space.widths.size());
  const auto nr = static_cast<int32_t>(space.resolutions.size());
  const int64_t num_configs = int64_t{nw} * nr;
  const auto un = static_cast<size_t>(n);

  // Arch i: config i mod C, sample i / C of that config's stream.
  auto sample_into = [&](int64_t i, ArchSpec& arch) {
    const int64_t config = i % num_configs;
    Rng rng(derive_seed(seed, static_cast<uint64_t>(config), static_cast<uint64_t>(i / num_configs)));
    sample_arch(space, static_cast<int32_t>(config / nr), static_cast<int32_t>(config % nr), rng,
                arch);
  };
  const double t_sample0 = now_seconds();
  std::vector<ArchSpec> archs(un);
  for (int64_t i = 0; i < n; ++i) sample_into(i, archs[static_cast<size_t>(i)]);
  const double t_sample = now_seconds() - t_sample0;

  std::printf("bench_cost_model: %" PRId64 " subnets of space '%s' (%d widths x %d resolutions, "
              "round-robin), seed %" PRIu64 ", costed on %s; 1 thread, best of %d passes; "
              "%u hardware threads; load average %s\n",
              n, space.name.c_str(), nw, nr, seed, mcu.name.c_str(), reps,
              std::thread::hardware_concurrency(), load_average().c_str());
  std::printf("pre-sampling (untimed for the rows below): %.3f s\n\n", t_sample);

  std::vector<int64_t> arena_greedy(un), arena_naive(un), arena_no_in_place(un), arena_full(un);
  int64_t fitting = 0;
  uint64_t sink = 0;  // keeps every pass observable
  std::vector<Row> rows;
  OpGraph graph;

  rows.push_back({"breakdown: sample_arch only", best_of(reps, [&] {
                    ArchSpec arch;
                    for (int64_t i = 0; i < n; ++i) {
                      sample_into(i, arch);
                      sink += static_cast<uint64_t>(arch.stages.size());
                    }
                  })});
  rows.push_back({"breakdown: lower only", best_of(reps, [&] {
                    for (size_t i = 0; i < un; ++i) {
                      lower(archs[i], graph);
                      sink += graph.ops.size();
                    }
                  })});
  rows.push_back({"exact: lower + greedy plan + cost", best_of(reps, [&] {
                    fitting = 0;
                    for (size_t i = 0; i < un; ++i) {
                      const CostReport c = estimate_cost(archs[i], mcu, budget);
                      arena_greedy[i] = c.arena_bytes;
                      fitting += c.fits;
                    }
                  }),
                  true});
  rows.push_back({"exact incl. sample_arch (space optimiser loop)", best_of(reps, [&] {
                    ArchSpec arch;
                    for (int64_t i = 0; i < n; ++i) {
                      sample_into(i, arch);
                      sink += static_cast<uint64_t>(estimate_cost(arch, mcu, budget).arena_bytes);
                    }
                  }),
                  true});
  MemoryPlanner naive(PlannerStrategy::kNaive);
  rows.push_back({"peer: naive planner (no reuse) + cost", best_of(reps, [&] {
                    for (size_t i = 0; i < un; ++i) {
                      lower(archs[i], graph);
                      const int64_t arena = plan_arena_bytes(graph, naive);
                      sink += static_cast<uint64_t>(estimate_cost(graph, arena, mcu, budget).macs);
                      arena_naive[i] = arena;
                    }
                  })});
  MemoryPlanner no_in_place(PlannerStrategy::kGreedyBySize, false);
  rows.push_back({"peer: greedy without in-place + cost", best_of(reps, [&] {
                    for (size_t i = 0; i < un; ++i) {
                      lower(archs[i], graph);
                      const int64_t arena = plan_arena_bytes(graph, no_in_place);
                      sink += static_cast<uint64_t>(estimate_cost(graph, arena, mcu, budget).macs);
                      arena_no_in_place[i] = arena;
                    }
                  })});
  MemoryPlanner greedy;
  MemoryPlan plan;
  rows.push_back({"peer: full plan_memory (MemoryPlan, deploy) + cost", best_of(reps, [&] {
                    for (size_t i = 0; i < un; ++i) {
                      lower(archs[i], graph);
                      plan_memory(graph, greedy, plan);
                      sink += static_cast<uint64_t>(
                          estimate_cost(graph, plan.arena_bytes, mcu, budget).macs);
                      arena_full[i] = plan.arena_bytes;
                    }
                  })});

  Table table;
  table.add_column("variant", true);
  table.add_column("archs/s");
  table.add_column("us/arch");
  table.add_column("time vs exact");
  table.add_column("cpu/wall");
  table.add_column("target", true);
  table.add_column("result", true);
  const double exact_seconds = rows[2].timing.seconds;
  bool all_pass = true;
  for (const Row& r : rows) {
    const double seconds = r.timing.seconds;
    const double rate = static_cast<double>(n) / seconds;
    const bool pass = rate >= kTargetArchsPerSecond;
    if (r.targeted) all_pass = all_pass && pass;
    table.add_row({r.name, strf("%.0f", rate), strf("%.2f", seconds * 1e6 / static_cast<double>(n)),
                   strf("%.2fx", seconds / exact_seconds), strf("%.2f", r.timing.cpu_share),
                   r.targeted ? strf(">= %.0f", kTargetArchsPerSecond) : "-",
                   r.targeted ? (pass ? "PASS" : "FAIL") : "-"});
  }
  table.print();

  // The peers must agree with the shipped planner where they should.
  int64_t full_mismatch = 0, naive_smaller = 0, no_in_place_smaller = 0;
  double sum_greedy = 0, sum_naive = 0, sum_no_in_place = 0;
  for (size_t i = 0; i < un; ++i) {
    full_mismatch += arena_full[i] != arena_greedy[i];
    naive_smaller += arena_naive[i] < arena_greedy[i];
    no_in_place_smaller += arena_no_in_place[i] < arena_greedy[i];
    sum_greedy += static_cast<double>(arena_greedy[i]);
    sum_naive += static_cast<double>(arena_naive[i]);
    sum_no_in_place += static_cast<double>(arena_no_in_place[i]);
  }
  const double dn = static_cast<double>(n);
  std::printf("\nmean arena over the %" PRId64 " subnets (1 kB = 1024 B): greedy+in-place %.1f kB, "
              "greedy without in-place %.1f kB (%.2fx), naive %.1f kB (%.2fx)\n",
              n, sum_greedy / dn / 1024, sum_no_in_place / dn / 1024, sum_no_in_place / sum_greedy,
              sum_naive / dn / 1024, sum_naive / sum_greedy);
  std::printf("full plan_memory arena == estimate_cost arena: %s (%" PRId64 " mismatches); "
              "naive below greedy: %" PRId64 "; no-in-place below in-place: %" PRId64 "\n",
              full_mismatch == 0 ? "yes" : "NO", full_mismatch, naive_smaller, no_in_place_smaller);
  std::printf("subnets fitting %s's budget: %.1f%%; checksum %" PRIu64 "\n", mcu.name.c_str(),
              100.0 * static_cast<double>(fitting) / dn, sink);
  return all_pass && full_mismatch == 0 ? 0 : 1;
}

}  // namespace
}  // namespace tinynas::bench

int main(int argc, char** argv) { return tinynas::bench::run_main(tinynas::bench::run, argc, argv); }
