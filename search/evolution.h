// Architecture search under an MCU budget (MCUNet App. E): evolution, or a
// random-search baseline, over the Genome of a SearchSpace at one width, with
// every candidate checked against flash, SRAM and (when given) latency by the
// exact cost model before any accuracy is spent on it.
//
// Evolution, per generation g >= 1 (generation 0 is the initial population):
// - parents: the `parents` best of the population (accuracy, then the earlier
//   evaluated);
// - `mutation_count` children: a random parent, each gene resampled with
//   probability `mutation_prob`; `crossover_count` children: two random
//   parents, each gene from either;
// - a child that does not fit the budget is redrawn (same parents, new
//   draw); redraws are counted per generation. After `max_draws` draws for
//   one slot the search gives up with a tinynas::Error naming the budget and
//   what the smallest subnet needs;
// - optionally (predictor_screen = k > 1) k times as many fitting children
//   are drawn and only the best by a ridge-regression predictor fitted on
//   everything measured so far (search/predictor.h) reach the evaluator;
// - the children's accuracies are measured as one batch; the population
//   becomes parents + children.
// The population keeps each member's raw genome (inactive slots beyond a
// stage's depth included, so evolution may switch them back on); accuracy is
// cached by the canonical genome (inactive slots zeroed), i.e. by the decoded
// architecture, so a candidate seen twice costs nothing.
//
// The board in the loop (hil_every = N > 0): after generations 0, N, 2N, ...
// the best `hil_top` members of the population not measured before are
// handed to `on_board`, which builds and runs them (the pipeline: deploy on
// QEMU or a board with per-op profiling). A candidate whose measurement
// breaks the budget is marked dropped: it leaves the population, can no
// longer be the best or on a Pareto front, and is not measured again. The
// latency coefficients the board's answer refits replace the MCU's for every
// later draw and are recorded (SearchResult::refits) so that a resumed search
// recomputes each candidate's cost with the model it was drawn under; every
// measured candidate the refitted model says breaks the budget is dropped too
// (drop_reason "latency refit"), so that no parent is outside the budget.
//
// Random search (strategy kRandom) draws fitting subnets uniformly over the
// genome and measures exactly `evaluations` distinct architectures, in batches
// of `population`, then `mutation_count + crossover_count`. Its default budget,
// population + generations x (mutation_count + crossover_count), is the most
// evolution can spend with the same options; evolution spends fewer when a
// child repeats an architecture it has measured. To compare at equal cost,
// set `evaluations` to the evolutionary result's `evaluations`.
//
// Reproducible and resumable: generation g draws from its own stream
// derive_seed(seed, g), so no RNG state is carried between generations. After
// every generation a JSON checkpoint (history, population, counters) is
// written atomically; a rerun with the same options continues from it and
// ends with exactly the result of an uninterrupted run (the evaluator must be
// deterministic for that). Costs are recomputed from the genomes on resume.
//
// Cost: one decode + cost-model evaluation (~10 us) per draw; bookkeeping is
// linear in the history, the checkpoint serialises only new entries. MCUNet's
// 30 generations of 100 (~3,600 draws) take ~0.05 s of one core besides the
// accuracy evaluator, checkpoints included; predictor screening at 3x ~0.16 s
// (bench/bench_search.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/arch.h"
#include "core/mcu.h"
#include "core/search_space.h"
#include "evaluator/cost_model.h"

namespace tinynas {

// Accuracy of architectures: the supernet (inherited weights + BN
// recalibration) in the pipeline, a synthetic function in tests. One call per
// generation with every architecture not measured before; returns one score
// per architecture, in order, higher is better (any scale, finite).
class AccuracyEvaluator {
 public:
  virtual ~AccuracyEvaluator() = default;
  virtual std::vector<double> evaluate(const std::vector<ArchSpec>& archs) = 0;
};

// Adapts a function of one architecture (tests, benchmarks).
class FunctionEvaluator : public AccuracyEvaluator {
 public:
  explicit FunctionEvaluator(std::function<double(const ArchSpec&)> accuracy)
      : accuracy_(std::move(accuracy)) {}
  std::vector<double> evaluate(const std::vector<ArchSpec>& archs) override;

 private:
  std::function<double(const ArchSpec&)> accuracy_;
};

enum class SearchStrategy : uint8_t { kEvolution, kRandom };
const char* strategy_name(SearchStrategy s);
// "evolution" or "random"; anything else throws tinynas::Error.
SearchStrategy parse_strategy(const std::string& name);

struct SearchResult;
struct GenerationStats;

// What the board said about candidates measured during the search (the
// board in the loop every `hil_every` generations, see SearchOptions).
struct BoardFeedback {
  // One entry per id asked about: its measurement (any JSON; kept in the
  // history as the candidate's "board").
  std::vector<std::pair<int64_t, nlohmann::json>> measured;
  // Ids whose measurement broke the budget (or failed): they leave the
  // population, are never the best and are not measured again.
  std::vector<int64_t> dropped;
  // Latency coefficients refitted on the board's measurements so far; every
  // later draw is checked with them. Absent: keep the current ones.
  std::optional<std::array<OpLatencyCoeffs, kNumOpKinds>> latency;
};

// The latency model in effect from `first_generation` on.
struct LatencyRefit {
  int32_t first_generation = 0;
  std::array<OpLatencyCoeffs, kNumOpKinds> coeffs{};
};

struct SearchOptions {
  SearchStrategy strategy = SearchStrategy::kEvolution;
  int32_t population = 100;     // initial population
  int32_t parents = 20;         // top candidates kept as parents
  int32_t mutation_count = 50;  // children by mutation per generation
  int32_t crossover_count = 50; // children by crossover per generation
  int32_t generations = 30;     // after the initial population
  double mutation_prob = 0.1;   // per gene
  uint64_t seed = 0;
  int64_t max_draws = 10000;    // per candidate slot before giving up
  // The width searched; 0: the space's only width (an error if it has several).
  double width = 0;
  // Resolutions searched (each one of the space's); empty: all of the space's.
  std::vector<int32_t> resolutions;
  // Random search: distinct architectures to measure; 0: population +
  // generations x (mutation_count + crossover_count).
  int64_t evaluations = 0;
  // Predictor screening (evolution only): 1 is off; k > 1 draws k x the
  // children and keeps the best predicted, once `predictor_min_history`
  // architectures are measured. `predictor_ridge` is the L2 penalty.
  int32_t predictor_screen = 1;
  int32_t predictor_min_history = 50;
  double predictor_ridge = 1.0;
  // The board in the loop: after every generation g with g % hil_every == 0
  // (0: never), `on_board` gets the ids of the best `hil_top` architectures of
  // the population not measured on the board before (best first) and answers
  // with their measurements, the ones to drop and, optionally, a refitted
  // latency model for the generations after g. Part of the checkpoint, so a
  // resumed search repeats nothing and ends as an uninterrupted one.
  int32_t hil_every = 0;
  int32_t hil_top = 3;
  std::function<BoardFeedback(const SearchResult&, int32_t generation, const std::vector<int64_t>& ids)>
      on_board;
  // Written after every generation ("" for none); when it exists at the start
  // the search resumes from it, refusing one written with other options.
  std::string checkpoint_path;
  // Called after every generation (after the checkpoint); returning false
  // stops the search there (result.completed = false), as a kill would.
  std::function<bool(const SearchResult&, const GenerationStats&)> on_generation;
};

// One measured architecture.
struct EvaluatedCandidate {
  int64_t id = 0;          // index in the history (evaluation order)
  int32_t generation = 0;  // the generation that measured it
  Genome genome;           // canonical genome in the caller's space
  ArchSpec arch;
  CostReport cost;
  double accuracy = 0;
  bool screened = false;   // chosen by the predictor among more children
  double predicted_accuracy = std::numeric_limits<double>::quiet_NaN();  // when screened
  nlohmann::json board;    // the board's measurement (null: not measured during the search)
  // No longer a candidate: "board" (its measurement broke the budget) or
  // "latency refit" (the refitted latency model says it breaks the budget).
  bool dropped = false;
  std::string drop_reason;
};

struct GenerationStats {
  int32_t generation = 0;
  int64_t candidates = 0;    // fitting candidates drawn (before screening)
  int64_t redraws = 0;       // draws rejected by the budget
  int64_t evaluations = 0;   // architectures measured (new to the cache)
  int64_t cache_hits = 0;    // candidates already measured
  int64_t screened_out = 0;  // candidates the predictor dropped
  double best_accuracy = 0;  // best measured so far
  int64_t best_id = -1;
  double mean_accuracy = 0;  // of the population after this generation
  // Rank correlation of predicted and measured accuracy on this generation's
  // newly measured, screened candidates (not in the predictor's fit); NaN
  // when the predictor did not run or fewer than two were measured.
  double predictor_kendall = std::numeric_limits<double>::quiet_NaN();
  double predictor_spearman = std::numeric_limits<double>::quiet_NaN();
  int64_t board_measured = 0;  // candidates measured on the board after this generation
  int64_t board_dropped = 0;   // of them, dropped
  int64_t refit_dropped = 0;   // measured candidates the refitted latency model rules out
};

struct SearchResult {
  SearchStrategy strategy = SearchStrategy::kEvolution;
  std::string space;
  std::string mcu;
  Budget budget;
  double width = 0;
  std::vector<int32_t> resolutions;
  uint64_t seed = 0;
  std::vector<EvaluatedCandidate> history;  // every measured architecture
  std::vector<int64_t> population;          // ids of the final population, best first
  std::vector<GenerationStats> generations;
  // Latency models refitted on the board (hil_every), in order; the MCU's
  // own coefficients hold before the first.
  std::vector<LatencyRefit> refits;
  int64_t best = -1;        // id of the most accurate not dropped (the earliest on ties)
  int64_t evaluations = 0;  // == history.size()
  int64_t redraws = 0;
  int64_t cache_hits = 0;
  bool completed = false;   // false when on_generation stopped it
  bool resumed = false;     // continued from a checkpoint
};

// Runs the search. Throws tinynas::Error for bad options, a budget nothing
// fits, a checkpoint of another search, or an evaluator answer of the wrong
// size or with a non-finite value.
SearchResult run_search(const SearchSpace& space, const McuTarget& mcu, const Budget& budget,
                        AccuracyEvaluator& evaluator, const SearchOptions& options);

// The genome with the kernel and expand genes of slots beyond each stage's
// depth set to 0 and, in a space with patch genes, those genes set to the
// setting they decode to (grid index of 0 and split 0 when unpatched): equal
// for two genomes exactly when they decode to the same architecture, patch
// setting included (given choice lists without repeats).
Genome canonical_genome(const SearchSpace& space, const Genome& genome);

// Pareto fronts. Ids of the candidates no other candidate beats on both
// accuracy (>=) and cost (<=, one of the two strictly), by ascending cost;
// of exactly equal points the earliest. O(n log n).
enum class CostAxis : uint8_t { kMacs, kPeakSram };
std::vector<int64_t> pareto_front(const std::vector<EvaluatedCandidate>& history, CostAxis axis);

// Output files. history.jsonl: one candidate_to_json() line per measured
// architecture (id, generation, genome, arch, cost, accuracy, screened,
// predicted_accuracy). best.json: the winner and the search's summary.
// pareto.json: both fronts. The SVG: every candidate, the front, the winner
// and, against peak SRAM, the SRAM budget as a vertical line.
nlohmann::json candidate_to_json(const EvaluatedCandidate& c);
std::string history_jsonl(const SearchResult& result);
nlohmann::json best_to_json(const SearchResult& result);
nlohmann::json pareto_to_json(const SearchResult& result);
nlohmann::json generations_to_json(const SearchResult& result);
std::string pareto_svg(const SearchResult& result, CostAxis axis);
// The refits as {"first_generation", "coefficients": {kind: [per_mac,
// per_output, per_input, per_op, per_channel]}} and back (errors name `where`).
nlohmann::json latency_refits_to_json(const std::vector<LatencyRefit>& refits);
std::vector<LatencyRefit> latency_refits_from_json(const nlohmann::json& j, const std::string& where);
// One row per generation: draws, redraws, evaluations, cache hits, best.
std::string format_generations(const SearchResult& result);

}  // namespace tinynas
