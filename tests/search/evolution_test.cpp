#include "search/evolution.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "core/size.h"
#include "evaluator/cost_model.h"
#include "tests/search/synthetic.h"
#include "tests/test_util.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;
using test::CountingEvaluator;
using test::synthetic_accuracy;
using test_nets::error_of;

constexpr int64_t kFlash = 1024 * 1024;  // 1M
constexpr int64_t kSram = 256 * 1024;    // 256K

class SearchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    full_ = new SearchSpace(load_search_space("mcunet"));
    // What the space optimiser picks for f412 at 1M/256K.
    space_ = new SearchSpace(restrict_space(*full_, 0.5, 176));
    mcu_ = new McuTarget(load_mcu("f412"));
  }
  static void TearDownTestSuite() {
    delete full_;
    delete space_;
    delete mcu_;
  }

  static SearchOptions small(uint64_t seed = 1) { return test::small_search(seed); }

  static Budget budget(int64_t flash = kFlash, int64_t sram = kSram, double latency = 0) {
    return budget_for(*mcu_, flash, sram, latency);
  }

  static SearchResult run(const SearchOptions& o, const Budget& b, AccuracyEvaluator& e,
                          const SearchSpace* space = nullptr) {
    return run_search(space ? *space : *space_, *mcu_, b, e, o);
  }

  static fs::path temp_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    fs::path dir = fs::temp_directory_path() /
                   (std::string("tinynas_search_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
  }

  // Everything but `resumed` (wall time is not in the result).
  static void expect_identical(const SearchResult& a, const SearchResult& b) {
    EXPECT_EQ(history_jsonl(a), history_jsonl(b));
    EXPECT_EQ(generations_to_json(a).dump(), generations_to_json(b).dump());
    EXPECT_EQ(a.population, b.population);
    EXPECT_EQ(a.best, b.best);
    EXPECT_EQ(a.evaluations, b.evaluations);
    EXPECT_EQ(a.redraws, b.redraws);
    EXPECT_EQ(a.cache_hits, b.cache_hits);
    EXPECT_EQ(a.completed, b.completed);
    EXPECT_EQ(best_to_json(a).dump(), best_to_json(b).dump());
  }

  static SearchSpace* full_;
  static SearchSpace* space_;
  static McuTarget* mcu_;
};

SearchSpace* SearchTest::full_ = nullptr;
SearchSpace* SearchTest::space_ = nullptr;
McuTarget* SearchTest::mcu_ = nullptr;

TEST_F(SearchTest, DefaultsAreMcunetAppendixE) {
  const SearchOptions o;
  EXPECT_EQ(o.strategy, SearchStrategy::kEvolution);
  EXPECT_EQ(o.population, 100);
  EXPECT_EQ(o.parents, 20);
  EXPECT_EQ(o.mutation_count, 50);
  EXPECT_EQ(o.crossover_count, 50);
  EXPECT_EQ(o.generations, 30);
  EXPECT_DOUBLE_EQ(o.mutation_prob, 0.1);
  EXPECT_EQ(parse_strategy("random"), SearchStrategy::kRandom);
  EXPECT_NE(error_of([] { parse_strategy("annealing"); }).find("evolution or random"),
            std::string::npos);
}

TEST_F(SearchTest, FullDefaultSearchEveryCandidateFitsAndEvaluatorSeesEachOnce) {
  CountingEvaluator e;
  const Budget b = budget();
  const SearchResult r = run(SearchOptions{}, b, e);
  EXPECT_TRUE(r.completed);
  ASSERT_EQ(r.generations.size(), 31u);
  EXPECT_EQ(r.generations[0].candidates, 100);
  for (size_t g = 1; g < r.generations.size(); ++g) EXPECT_EQ(r.generations[g].candidates, 100);
  EXPECT_EQ(r.population.size(), 120u);  // 20 parents + 100 children
  EXPECT_LE(r.evaluations, 100 + 30 * 100);
  // The evaluator saw every measured architecture exactly once, one call per generation at most.
  EXPECT_EQ(static_cast<int64_t>(e.seen.size()), r.evaluations);
  EXPECT_LE(e.calls, 31);
  EXPECT_EQ(r.evaluations + r.cache_hits, 100 + 30 * 100);
  EXPECT_GT(r.cache_hits, 0);  // mutation at 0.1 often repeats a parent
  std::set<std::vector<int32_t>> genomes;
  for (const auto& c : r.history) {
    // The recorded cost is the cost model's, and it fits.
    const CostReport cost = estimate_cost(c.arch, *mcu_, b);
    EXPECT_TRUE(cost.fits) << c.id;
    EXPECT_LE(c.cost.flash_bytes, kFlash);
    EXPECT_LE(c.cost.peak_sram_bytes, kSram);
    EXPECT_EQ(cost.peak_sram_bytes, c.cost.peak_sram_bytes);
    EXPECT_EQ(c.arch, decode(*space_, c.genome));
    EXPECT_EQ(c.genome, canonical_genome(*space_, c.genome));
    EXPECT_TRUE(genomes.insert(c.genome.genes).second) << "measured twice: " << c.id;
    EXPECT_DOUBLE_EQ(c.accuracy, synthetic_accuracy(c.arch));
  }
  // The best is the most accurate of the history and leads the population.
  for (const auto& c : r.history) EXPECT_LE(c.accuracy, r.history[r.best].accuracy);
  EXPECT_EQ(r.population.front(), r.best);
  // Evolution improves on its initial population.
  EXPECT_GT(r.generations.back().best_accuracy, r.generations[0].best_accuracy);
  EXPECT_GT(r.generations.back().mean_accuracy, r.generations[0].mean_accuracy);
}

TEST_F(SearchTest, LatencyBudgetHoldsForEveryCandidate) {
  CountingEvaluator free_run;
  const SearchResult unconstrained = run(small(), budget(), free_run);
  // A limit below what the unconstrained winner needs.
  const double limit = 0.8 * unconstrained.history[unconstrained.best].cost.latency_ms;
  CountingEvaluator e;
  const SearchResult r = run(small(), budget(kFlash, kSram, limit), e);
  EXPECT_GT(r.redraws, unconstrained.redraws);
  for (const auto& c : r.history) EXPECT_LE(c.cost.latency_ms, limit) << c.id;
}

TEST_F(SearchTest, RedrawsAreCountedPerGeneration) {
  CountingEvaluator e;
  const SearchOptions o = small(3);
  const Budget b = budget(700 * 1024, kSram);  // tight: most random subnets do not fit
  const SearchResult r = run(o, b, e);
  int64_t sum = 0;
  for (const auto& g : r.generations) sum += g.redraws;
  EXPECT_EQ(sum, r.redraws);
  EXPECT_GT(r.generations[0].redraws, 0);
  // Replay generation 0: sample from derive_seed(seed, 0) until each member fits.
  Rng rng(derive_seed(o.seed, 0));
  int64_t rejected = 0;
  for (int32_t i = 0; i < o.population;) {
    if (estimate_cost(decode(*space_, sample(*space_, rng)), *mcu_, b).fits) ++i;
    else ++rejected;
  }
  EXPECT_EQ(r.generations[0].redraws, rejected);
  // A budget everything fits never redraws.
  CountingEvaluator e2;
  EXPECT_EQ(run(o, budget(16 * kFlash, 16 * kSram), e2).redraws, 0);
}

TEST_F(SearchTest, NothingFitsNamesTheBudgetAndTheSmallestSubnet) {
  CountingEvaluator e;
  const std::string msg = error_of([&] { run(small(), budget(kFlash, 16 * 1024), e); });
  EXPECT_NE(msg.find("flash " + format_size(kFlash) + " / SRAM " + format_size(16 * 1024) + " on f412"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("smallest subnet"), std::string::npos) << msg;
  EXPECT_NE(msg.find("width 0.5"), std::string::npos) << msg;
  EXPECT_EQ(e.calls, 0);
}

TEST_F(SearchTest, GivesUpAfterMaxDraws) {
  // The smallest subnet fits but a random one rarely does.
  const CostReport smallest = estimate_cost(smallest_arch(*space_, 0, 0), *mcu_, budget());
  CountingEvaluator e;
  SearchOptions o = small();
  o.max_draws = 3;
  const std::string msg =
      error_of([&] { run(o, budget(kFlash, smallest.peak_sram_bytes + 1024), e); });
  EXPECT_NE(msg.find("gave up after 3 draws (initial population in generation 0)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("smallest subnet"), std::string::npos) << msg;
}

TEST_F(SearchTest, CanonicalGenomeIgnoresInactiveSlots) {
  Rng rng(5);
  int checked = 0;
  for (int i = 0; i < 200; ++i) {
    const Genome g = sample(*space_, rng);
    Genome h = g;
    // Change every gene of an inactive slot (beyond the stage's depth).
    size_t off = 2;
    for (const auto& st : space_->stages) {
      const int32_t slots = *std::max_element(st.depths.begin(), st.depths.end());
      const int32_t depth = st.depths[g.genes[off]];
      for (int32_t j = depth; j < slots; ++j) {
        h.genes[off + 1 + 2 * j] = (h.genes[off + 1 + 2 * j] + 1) % static_cast<int32_t>(st.kernels.size());
        ++checked;
      }
      off += 1 + 2 * slots;
    }
    EXPECT_EQ(decode(*space_, g), decode(*space_, h));
    EXPECT_EQ(canonical_genome(*space_, g), canonical_genome(*space_, h));
    EXPECT_EQ(canonical_genome(*space_, g), encode(*space_, decode(*space_, g)));
  }
  EXPECT_GT(checked, 0);
}

TEST_F(SearchTest, SameSeedSameResultOtherSeedOther) {
  CountingEvaluator a, b, c;
  const SearchResult ra = run(small(11), budget(), a);
  const SearchResult rb = run(small(11), budget(), b);
  const SearchResult rc = run(small(12), budget(), c);
  expect_identical(ra, rb);
  EXPECT_NE(history_jsonl(ra), history_jsonl(rc));
}

TEST_F(SearchTest, ResumeAfterStopIsIdentical) {
  const fs::path dir = temp_dir();
  for (const SearchStrategy strategy : {SearchStrategy::kEvolution, SearchStrategy::kRandom}) {
    for (const int32_t screen : {1, 3}) {
      if (strategy == SearchStrategy::kRandom && screen > 1) continue;
      SCOPED_TRACE(std::string(strategy_name(strategy)) + " screen " + std::to_string(screen));
      SearchOptions o = small(21);
      o.strategy = strategy;
      o.predictor_screen = screen;
      CountingEvaluator whole_e;
      const SearchResult whole = run(o, budget(), whole_e);
      ASSERT_TRUE(whole.completed);

      o.checkpoint_path = (dir / (std::string(strategy_name(strategy)) + std::to_string(screen) +
                                  ".json")).string();
      const int32_t stop_after = 3;
      o.on_generation = [&](const SearchResult&, const GenerationStats& s) {
        return s.generation < stop_after;
      };
      CountingEvaluator first_e;
      const SearchResult first = run(o, budget(), first_e);
      EXPECT_FALSE(first.completed);
      EXPECT_EQ(first.generations.size(), static_cast<size_t>(stop_after + 1));
      ASSERT_TRUE(fs::exists(o.checkpoint_path));

      o.on_generation = nullptr;
      CountingEvaluator rest_e;
      const SearchResult resumed = run(o, budget(), rest_e);
      EXPECT_TRUE(resumed.resumed);
      expect_identical(whole, resumed);
      // Nothing measured before the stop is measured again.
      EXPECT_EQ(static_cast<int64_t>(first_e.seen.size() + rest_e.seen.size()), whole.evaluations);

      // A finished checkpoint gives the result without the evaluator.
      CountingEvaluator again_e;
      expect_identical(whole, run(o, budget(), again_e));
      EXPECT_EQ(again_e.calls, 0);
    }
  }
  fs::remove_all(dir);
}

TEST_F(SearchTest, ResumeRefusesAnotherSearchsCheckpoint) {
  const fs::path dir = temp_dir();
  SearchOptions o = small();
  o.generations = 1;
  o.checkpoint_path = (dir / "checkpoint.json").string();
  CountingEvaluator e;
  run(o, budget(), e);
  o.mutation_prob = 0.2;
  std::string msg = error_of([&] { run(o, budget(), e); });
  EXPECT_NE(msg.find("checkpoint.json: written by another search (mutation_prob 0.1, this one 0.2)"),
            std::string::npos)
      << msg;
  o.mutation_prob = 0.1;
  msg = error_of([&] { run(o, budget(900 * 1024, kSram), e); });
  EXPECT_NE(msg.find("budget"), std::string::npos) << msg;
  write_file_atomic(o.checkpoint_path, "{\"format\": \"something else\"}");
  msg = error_of([&] { run(o, budget(), e); });
  EXPECT_NE(msg.find("not a search checkpoint"), std::string::npos) << msg;
  write_file_atomic(o.checkpoint_path, "{ truncated");
  msg = error_of([&] { run(o, budget(), e); });
  EXPECT_NE(msg.find("not a search checkpoint"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST_F(SearchTest, EvolutionBeatsRandomSearchWithEqualEvaluations) {
  double evo_sum = 0, random_sum = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    CountingEvaluator ee, re;
    const SearchResult evo = run(small(seed), budget(), ee);
    SearchOptions o = small(seed);
    o.strategy = SearchStrategy::kRandom;
    o.evaluations = evo.evaluations;  // equal cost
    const SearchResult rnd = run(o, budget(), re);
    EXPECT_EQ(rnd.evaluations, evo.evaluations);
    EXPECT_EQ(static_cast<int64_t>(re.seen.size()), evo.evaluations);
    const double a = evo.history[evo.best].accuracy, b = rnd.history[rnd.best].accuracy;
    EXPECT_GT(a, b) << "seed " << seed;
    evo_sum += a;
    random_sum += b;
  }
  EXPECT_GT(evo_sum, random_sum);
}

TEST_F(SearchTest, RandomSearchSpendsExactlyItsBudget) {
  SearchOptions o = small();
  o.strategy = SearchStrategy::kRandom;
  CountingEvaluator e;
  const SearchResult r = run(o, budget(), e);
  EXPECT_EQ(r.evaluations, o.population + o.generations * (o.mutation_count + o.crossover_count));
  EXPECT_EQ(static_cast<int64_t>(e.seen.size()), r.evaluations);
  EXPECT_EQ(r.generations[0].evaluations, o.population);
  o.evaluations = 55;
  CountingEvaluator e2;
  const SearchResult r2 = run(o, budget(), e2);
  EXPECT_EQ(r2.evaluations, 55);
  EXPECT_EQ(r2.generations.size(), 2u);  // 40, then 15
  for (const auto& c : r2.history) EXPECT_TRUE(c.cost.fits);
}

TEST_F(SearchTest, WidthFixedAndResolutionsRestricted) {
  SearchOptions o = small();
  o.width = 0.5;
  o.resolutions = {176, 144};
  CountingEvaluator e;
  const SearchResult r = run(o, budget(), e, full_);
  EXPECT_EQ(r.resolutions, (std::vector<int32_t>{144, 176}));
  std::set<int32_t> seen;
  for (const auto& c : r.history) {
    EXPECT_DOUBLE_EQ(c.arch.width_mult, 0.5);
    EXPECT_EQ(c.genome.genes[0], width_index(*full_, 0.5));
    EXPECT_EQ(c.genome.genes[1], resolution_index(*full_, c.arch.resolution));
    EXPECT_EQ(c.arch, decode(*full_, c.genome));
    seen.insert(c.arch.resolution);
  }
  EXPECT_EQ(seen, (std::set<int32_t>{144, 176}));

  o.width = 0;
  EXPECT_NE(error_of([&] { run(o, budget(), e, full_); }).find("choose the one to search"),
            std::string::npos);
  o.width = 0.55;
  EXPECT_NE(error_of([&] { run(o, budget(), e, full_); }).find("width 0.55"), std::string::npos);
  o.width = 0.5;
  o.resolutions = {100};
  EXPECT_NE(error_of([&] { run(o, budget(), e, full_); }).find("resolution 100"), std::string::npos);
}

TEST_F(SearchTest, PredictorScreensChildren) {
  SearchOptions o = small(4);
  o.predictor_screen = 4;
  o.predictor_min_history = 40;
  CountingEvaluator e;
  const SearchResult r = run(o, budget(), e);
  const int64_t children = o.mutation_count + o.crossover_count;
  for (size_t g = 1; g < r.generations.size(); ++g) {
    const auto& s = r.generations[g];
    EXPECT_EQ(s.candidates, 4 * children);
    EXPECT_EQ(s.screened_out, 3 * children);
    EXPECT_LE(s.evaluations, children);
  }
  // The synthetic accuracy is nearly additive in the genes: the predictor ranks well.
  int measured = 0;
  for (size_t g = 2; g < r.generations.size(); ++g) {
    if (!std::isfinite(r.generations[g].predictor_kendall)) continue;
    EXPECT_GT(r.generations[g].predictor_kendall, 0.3) << g;
    EXPECT_GT(r.generations[g].predictor_spearman, 0.4) << g;
    ++measured;
  }
  EXPECT_GT(measured, 3);
  for (const auto& c : r.history) EXPECT_EQ(c.screened, c.generation > 0);
}

TEST_F(SearchTest, ParetoFrontOnHandmadeHistory) {
  // (cost, accuracy): 0:(10,0.5) 1:(20,0.4) 2:(20,0.7) 3:(30,0.7) 4:(40,0.9) 5:(5,0.1) 6:(20,0.7)
  const std::vector<std::pair<int64_t, double>> points = {{10, 0.5}, {20, 0.4}, {20, 0.7}, {30, 0.7},
                                                          {40, 0.9}, {5, 0.1},  {20, 0.7}};
  std::vector<EvaluatedCandidate> h;
  for (const auto& [cost, acc] : points) {
    EvaluatedCandidate c;
    c.id = static_cast<int64_t>(h.size());
    c.cost.macs = cost;
    c.cost.peak_sram_bytes = 100 - cost;  // reversed: only the most accurate is on that front
    c.accuracy = acc;
    h.push_back(c);
  }
  EXPECT_EQ(pareto_front(h, CostAxis::kMacs), (std::vector<int64_t>{5, 0, 2, 4}));
  EXPECT_EQ(pareto_front(h, CostAxis::kPeakSram), (std::vector<int64_t>{4}));
  EXPECT_TRUE(pareto_front({}, CostAxis::kMacs).empty());
}

TEST_F(SearchTest, ParetoFrontOfARunIsNotDominated) {
  CountingEvaluator e;
  const SearchResult r = run(small(), budget(), e);
  for (const CostAxis axis : {CostAxis::kMacs, CostAxis::kPeakSram}) {
    const auto front = pareto_front(r.history, axis);
    ASSERT_FALSE(front.empty());
    EXPECT_EQ(front.back(), r.best);
    for (int64_t id : front) {
      const auto& f = r.history[id];
      const double fc = axis == CostAxis::kMacs ? f.cost.macs : f.cost.peak_sram_bytes;
      for (const auto& c : r.history) {
        const double cc = axis == CostAxis::kMacs ? c.cost.macs : c.cost.peak_sram_bytes;
        EXPECT_FALSE(cc <= fc && c.accuracy >= f.accuracy && (cc < fc || c.accuracy > f.accuracy))
            << id << " dominated by " << c.id;
      }
    }
  }
}

TEST_F(SearchTest, WritesHistoryBestParetoAndPlots) {
  SearchOptions o = small();
  o.predictor_screen = 2;
  CountingEvaluator e;
  const SearchResult r = run(o, budget(), e);
  std::istringstream lines(history_jsonl(r));
  std::string line;
  int64_t n = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("id").get<int64_t>(), n);
    EXPECT_TRUE(j.at("cost").at("fits").get<bool>());
    EXPECT_TRUE(j.at("arch").contains("stages"));
    EXPECT_EQ(j.at("predicted_accuracy").is_null(), !j.at("screened").get<bool>());
    ++n;
  }
  EXPECT_EQ(n, r.evaluations);
  const auto best = best_to_json(r);
  EXPECT_EQ(best.at("id").get<int64_t>(), r.best);
  EXPECT_EQ(best.at("search").at("evaluations").get<int64_t>(), r.evaluations);
  const auto pareto = pareto_to_json(r);
  EXPECT_EQ(pareto.at("accuracy_vs_macs").size(), pareto_front(r.history, CostAxis::kMacs).size());
  EXPECT_EQ(generations_to_json(r).size(), r.generations.size());
  const std::string macs = pareto_svg(r, CostAxis::kMacs);
  const std::string sram = pareto_svg(r, CostAxis::kPeakSram);
  for (const std::string* svg : {&macs, &sram}) {
    EXPECT_EQ(svg->rfind("<?xml", 0), 0u);
    EXPECT_NE(svg->find("winner #" + std::to_string(r.best)), std::string::npos);
    EXPECT_NE(svg->find("Pareto front"), std::string::npos);
    EXPECT_NE(svg->find("evaluated (" + std::to_string(r.evaluations) + ")"), std::string::npos);
  }
  EXPECT_NE(sram.find("SRAM budget " + format_size(kSram)), std::string::npos);
  EXPECT_EQ(macs.find("SRAM budget"), std::string::npos);
  const std::string table = format_generations(r);
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), static_cast<long>(r.generations.size() + 1));
}

// A board slower than the MCU's latency model: it measures every network at
// kSlow x the model's prediction, drops what then breaks the latency budget,
// and answers with the coefficients that say so (the model's, times kSlow).
// The pipeline's real board (deploy on QEMU, refit by fit_latency) is
// tested end to end in tests/cli/search_cli_test.cpp.
class SlowBoard {
 public:
  static constexpr double kSlow = 1.5;
  SlowBoard(const McuTarget& mcu, const Budget& budget) : mcu_(mcu), budget_(budget) {
    slow_ = mcu.latency;
    for (OpLatencyCoeffs& c : slow_) {
      c.per_mac *= kSlow;
      c.per_output *= kSlow;
      c.per_input *= kSlow;
      c.per_op *= kSlow;
      c.per_channel *= kSlow;
    }
  }
  BoardFeedback operator()(const SearchResult& r, int32_t generation, const std::vector<int64_t>& ids) {
    steps.push_back(generation);
    BoardFeedback fb;
    for (int64_t id : ids) {
      asked.push_back(id);
      const double ms = kSlow * estimate_cost(r.history[static_cast<size_t>(id)].arch, mcu_, budget_).latency_ms;
      fb.measured.emplace_back(id, nlohmann::json{{"latency_ms", ms}});
      if (ms > budget_.latency_ms) fb.dropped.push_back(id);
    }
    fb.latency = slow_;
    return fb;
  }
  McuTarget slow_mcu() const {
    McuTarget m = mcu_;
    m.latency = slow_;
    return m;
  }
  std::vector<int32_t> steps;
  std::vector<int64_t> asked;

 private:
  McuTarget mcu_;
  Budget budget_;
  std::array<OpLatencyCoeffs, kNumOpKinds> slow_;
};

TEST_F(SearchTest, BoardInTheLoopDropsWhatBreaksTheBudgetAndRefitsLatency) {
  CountingEvaluator free_run;
  const SearchResult unconstrained = run(small(), budget(), free_run);
  const Budget b = budget(kFlash, kSram, 0.9 * unconstrained.history[unconstrained.best].cost.latency_ms);
  SlowBoard board(*mcu_, b);
  SearchOptions o = small(5);
  o.hil_every = 3;
  o.hil_top = 4;
  o.on_board = std::ref(board);
  CountingEvaluator e;
  const SearchResult r = run(o, b, e);
  ASSERT_TRUE(r.completed);

  // After generations 0, 3 and 6 of 8, at most hil_top each, nobody twice.
  EXPECT_EQ(board.steps, (std::vector<int32_t>{0, 3, 6}));
  std::set<int64_t> asked(board.asked.begin(), board.asked.end());
  EXPECT_EQ(asked.size(), board.asked.size());
  EXPECT_LE(board.asked.size(), 12u);
  // The model said they fit; the slow board drops some of the first top-k,
  // and its refit the rest of the population that is too slow on it.
  int64_t dropped = 0, refit_dropped = 0;
  for (const auto& c : r.history) {
    EXPECT_EQ(!c.board.is_null(), asked.count(c.id) == 1) << c.id;
    if (!c.dropped) continue;
    EXPECT_NE(r.best, c.id);
    EXPECT_EQ(std::count(r.population.begin(), r.population.end(), c.id), 0);
    if (c.drop_reason == "latency refit") {  // measured by the supernet only, too slow on the board's model
      EXPECT_TRUE(c.board.is_null());
      EXPECT_GT(estimate_cost(c.arch, board.slow_mcu(), b).latency_ms, b.latency_ms);
      ++refit_dropped;
      continue;
    }
    ASSERT_EQ(c.drop_reason, "board");
    ++dropped;
    EXPECT_GT(c.board.at("latency_ms").get<double>(), b.latency_ms);
    for (CostAxis axis : {CostAxis::kMacs, CostAxis::kPeakSram}) {
      const std::vector<int64_t> front = pareto_front(r.history, axis);
      EXPECT_EQ(std::count(front.begin(), front.end(), c.id), 0);
    }
  }
  EXPECT_GT(dropped, 0);
  EXPECT_GT(refit_dropped, 0);
  int64_t stats_dropped = 0, stats_refit_dropped = 0;
  for (const auto& g : r.generations) {
    stats_dropped += g.board_dropped;
    stats_refit_dropped += g.refit_dropped;
  }
  EXPECT_EQ(stats_dropped, dropped);
  EXPECT_EQ(stats_refit_dropped, refit_dropped);
  // Every member of the final population fits on the board's model.
  for (int64_t id : r.population)
    EXPECT_LE(estimate_cost(r.history[static_cast<size_t>(id)].arch, board.slow_mcu(), b).latency_ms, b.latency_ms);

  // From generation 1 on every draw is checked with the refitted model: its
  // recorded latency is the slow board's, within the budget, so nothing
  // measured after the refit is dropped.
  ASSERT_EQ(r.refits.size(), 3u);
  EXPECT_EQ(r.refits[0].first_generation, 1);
  const McuTarget slow = board.slow_mcu();
  for (const auto& c : r.history) {
    if (c.generation == 0) continue;
    EXPECT_NEAR(c.cost.latency_ms, estimate_cost(c.arch, slow, b).latency_ms, 1e-9) << c.id;
    EXPECT_LE(c.cost.latency_ms, b.latency_ms) << c.id;
    if (c.generation >= 1 && !c.board.is_null()) EXPECT_FALSE(c.dropped) << c.id;
  }
  // The outputs carry the measurements and the refits.
  EXPECT_EQ(best_to_json(r).at("search").at("latency_refits").size(), 3u);
  EXPECT_NE(history_jsonl(r).find("\"board\":{\"latency_ms\""), std::string::npos);

  // Stopped after generation 4 and resumed: the same result, and the board
  // is not asked again about what it measured before the stop.
  const fs::path dir = temp_dir();
  o.checkpoint_path = (dir / "checkpoint.json").string();
  o.on_generation = [](const SearchResult&, const GenerationStats& s) { return s.generation < 4; };
  SlowBoard first_board(*mcu_, b);
  o.on_board = std::ref(first_board);
  CountingEvaluator first_e;
  EXPECT_FALSE(run(o, b, first_e).completed);
  o.on_generation = nullptr;
  SlowBoard rest_board(*mcu_, b);
  o.on_board = std::ref(rest_board);
  CountingEvaluator rest_e;
  const SearchResult resumed = run(o, b, rest_e);
  EXPECT_TRUE(resumed.resumed);
  expect_identical(r, resumed);
  EXPECT_EQ(latency_refits_to_json(resumed.refits), latency_refits_to_json(r.refits));
  EXPECT_EQ(first_board.steps, (std::vector<int32_t>{0, 3}));
  EXPECT_EQ(rest_board.steps, (std::vector<int32_t>{6}));
  EXPECT_EQ(first_board.asked.size() + rest_board.asked.size(), board.asked.size());
  fs::remove_all(dir);
}

TEST_F(SearchTest, BadOptionsAndBadEvaluatorsAreRefused) {
  CountingEvaluator e;
  auto msg = [&](auto change) {
    SearchOptions o = small();
    change(o);
    return error_of([&] { run(o, budget(), e); });
  };
  EXPECT_NE(msg([](SearchOptions& o) { o.parents = 50; }).find("parents must be between 1 and population (40)"),
            std::string::npos);
  EXPECT_NE(msg([](SearchOptions& o) { o.mutation_prob = 1.5; }).find("mutation_prob"), std::string::npos);
  EXPECT_NE(msg([](SearchOptions& o) { o.mutation_count = o.crossover_count = 0; }).find("at least 1"),
            std::string::npos);
  EXPECT_NE(msg([](SearchOptions& o) { o.predictor_screen = 0; }).find("predictor_screen"), std::string::npos);
  EXPECT_NE(msg([](SearchOptions& o) { o.hil_every = 2; }).find("hil_every needs a board"), std::string::npos);
  EXPECT_NE(msg([](SearchOptions& o) { o.hil_top = 0; }).find("hil_top"), std::string::npos);
  EXPECT_EQ(e.calls, 0);

  FunctionEvaluator nan_eval([](const ArchSpec&) { return std::nan(""); });
  EXPECT_NE(error_of([&] { run(small(), budget(), nan_eval); }).find("non-finite"), std::string::npos);
  struct Short : AccuracyEvaluator {
    std::vector<double> evaluate(const std::vector<ArchSpec>&) override { return {0.5}; }
  } short_eval;
  EXPECT_NE(error_of([&] { run(small(), budget(), short_eval); }).find("returned 1 values for 40"),
            std::string::npos);
}

}  // namespace
}  // namespace tinynas
