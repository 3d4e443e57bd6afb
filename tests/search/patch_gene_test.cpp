// Patch-based inference as genes of the search (core/search_space.h, `patch:`
// of a space): layout, decoding to settings the network can run, encode /
// canonical round trips, mutation and crossover across patched and unpatched
// settings, a seeded search under a tight SRAM limit (checkpoint resume
// included), and spaces without the setting exactly as before.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/search_space.h"
#include "evaluator/cost_model.h"
#include "search/evolution.h"
#include "tests/search/synthetic.h"
#include "tests/test_util.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;
using test_nets::error_of;

constexpr int64_t kFlash = 1024 * 1024;
constexpr int64_t kTightSram = 128 * 1024;

uint64_t fnv(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

SearchSpace with_patches(SearchSpace s) {
  s.patch.grids = {0, 2, 3, 4};
  s.patch.max_split_block = 6;
  validate(s);
  return s;
}

class PatchGeneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    plain_ = new SearchSpace(load_search_space("mcunet"));
    patched_ = new SearchSpace(with_patches(*plain_));
    mcu_ = new McuTarget(load_mcu("f412"));
  }
  static void TearDownTestSuite() {
    delete plain_;
    delete patched_;
    delete mcu_;
  }
  static SearchOptions small(uint64_t seed = 1) { return test::small_search(seed); }
  static bool is_patched(const SearchSpace& s, const Genome& g) { return decode(s, g).patch.enabled(); }

  static SearchSpace* plain_;
  static SearchSpace* patched_;
  static McuTarget* mcu_;
};

SearchSpace* PatchGeneTest::plain_ = nullptr;
SearchSpace* PatchGeneTest::patched_ = nullptr;
McuTarget* PatchGeneTest::mcu_ = nullptr;

TEST_F(PatchGeneTest, YamlSettingAddsTwoGenesAndBadSettingsAreRefused) {
  const fs::path dir = fs::temp_directory_path() / ("tinynas_patch_gene_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ifstream in(plain_->source);
  std::stringstream text;
  text << in.rdbuf();
  {
    std::ofstream out(dir / "p.yaml");
    out << text.str() << "\npatch: {patches: [0, 2, 3, 4], max_split_block: 6}\n";
  }
  const SearchSpace s = load_search_space((dir / "p.yaml").string());
  EXPECT_EQ(s.patch.grids, (std::vector<int32_t>{0, 2, 3, 4}));
  EXPECT_EQ(s.patch.max_split_block, 6);
  EXPECT_FALSE(plain_->patch.enabled());
  ASSERT_EQ(genome_length(s), genome_length(*plain_) + 2);
  EXPECT_EQ(patch_gene_offset(s), genome_length(*plain_));
  EXPECT_EQ(gene_cardinality(s, patch_gene_offset(s)), 4);
  EXPECT_EQ(gene_cardinality(s, patch_gene_offset(s) + 1), 7);
  EXPECT_THROW(patch_gene_offset(*plain_), Error);
  {
    std::ofstream out(dir / "bad.yaml");
    out << text.str() << "\npatch: {patches: [2, 3], max_split_block: 6}\n";
  }
  EXPECT_NE(error_of([&] { load_search_space((dir / "bad.yaml").string()); }).find("must hold 0"),
            std::string::npos);
  SearchSpace bad = *plain_;
  bad.patch = {{0, 1}, 3};
  EXPECT_NE(error_of([&] { validate(bad); }).find("0 or 2.."), std::string::npos);
  bad.patch = {{0, 2, 2}, 3};
  EXPECT_NE(error_of([&] { validate(bad); }).find("twice"), std::string::npos);
  bad.patch = {{0, 2}, -1};
  EXPECT_NE(error_of([&] { validate(bad); }).find("max_split_block"), std::string::npos);
  fs::remove_all(dir);
}

TEST_F(PatchGeneTest, DecodeGivesOnlySettingsTheNetworkCanRun) {
  Rng rng(11);
  const size_t p = patch_gene_offset(*patched_);
  int patched = 0, unpatched = 0, exact = 0, repaired = 0;
  for (int i = 0; i < 3000; ++i) {
    const Genome g = sample(*patched_, rng);
    const ArchSpec a = decode(*patched_, g);
    ASSERT_EQ(patch_problem(a), "") << i;
    ASSERT_NO_THROW(validate(a));
    const int32_t n = patched_->patch.grids[static_cast<size_t>(g.genes[p])];
    if (n == 0) {
      EXPECT_FALSE(a.patch.enabled());
    } else if (a.patch.enabled()) {
      EXPECT_EQ(a.patch.n, n);
      EXPECT_LE(a.patch.split_block, patched_->patch.max_split_block);
      // The gene's own block when the network can run it.
      ArchSpec asked = a;
      asked.patch = {n, g.genes[p + 1]};
      if (patch_problem(asked).empty()) {
        EXPECT_EQ(a.patch.split_block, g.genes[p + 1]);
        ++exact;
      } else {
        ++repaired;
      }
    }
    (a.patch.enabled() ? patched : unpatched)++;
    // The same genome always decodes to the same setting.
    EXPECT_EQ(decode(*patched_, g).patch, a.patch);
  }
  EXPECT_GT(patched, 1000);
  EXPECT_GT(unpatched, 700);
  EXPECT_GT(exact, 100);
  EXPECT_GT(repaired, 10);
}

TEST_F(PatchGeneTest, EncodeAndCanonicalRoundTrip) {
  Rng rng(12);
  const size_t p = patch_gene_offset(*patched_);
  for (int i = 0; i < 500; ++i) {
    const Genome g = sample(*patched_, rng);
    const Genome c = canonical_genome(*patched_, g);
    const ArchSpec a = decode(*patched_, g);
    EXPECT_EQ(decode(*patched_, c), a);
    EXPECT_EQ(canonical_genome(*patched_, c), c);
    EXPECT_EQ(encode(*patched_, a), c);
    if (!a.patch.enabled()) {
      EXPECT_EQ(patched_->patch.grids[static_cast<size_t>(c.genes[p])], 0);
      EXPECT_EQ(c.genes[p + 1], 0);
    }
    // Another split gene under "no patching" is the same architecture.
    Genome off = g;
    off.genes[p] = 0;  // grids[0] == 0
    Genome off2 = off;
    off2.genes[p + 1] = (off.genes[p + 1] + 3) % 7;
    EXPECT_EQ(canonical_genome(*patched_, off), canonical_genome(*patched_, off2));
  }
  // A patched architecture outside the setting is refused, saying why.
  ArchSpec a = decode(*patched_, canonical_genome(*patched_, sample(*patched_, rng)));
  a.patch = {5, 1};
  EXPECT_NE(error_of([&] { encode(*patched_, a); }).find("not one of the space's"), std::string::npos);
  a.patch = {2, 1};
  EXPECT_NE(error_of([&] { encode(*plain_, a); }).find("no patch setting"), std::string::npos);
}

TEST_F(PatchGeneTest, MutationAndCrossoverReachPatchedAndUnpatched) {
  Rng rng(13);
  const size_t p = patch_gene_offset(*patched_);
  Genome base = sample(*patched_, rng);
  base.genes[p] = 0;  // unpatched
  Genome on = base;
  on.genes[p] = 2;    // 3x3
  on.genes[p + 1] = 1;
  ASSERT_FALSE(is_patched(*patched_, base));
  ASSERT_TRUE(is_patched(*patched_, on));
  int to_patched = 0, to_unpatched = 0, cross_on = 0, cross_off = 0;
  for (int i = 0; i < 400; ++i) {
    to_patched += is_patched(*patched_, mutate(*patched_, base, 0.2, rng));
    to_unpatched += !is_patched(*patched_, mutate(*patched_, on, 0.2, rng));
    const bool c = is_patched(*patched_, crossover(*patched_, base, on, rng));
    (c ? cross_on : cross_off)++;
  }
  EXPECT_GT(to_patched, 10);
  EXPECT_GT(to_unpatched, 10);
  EXPECT_GT(cross_on, 50);
  EXPECT_GT(cross_off, 50);
}

// Appending the genes leaves every earlier draw as it was.
TEST_F(PatchGeneTest, SamplingDrawsTheSameNetworkGenesFirst) {
  Rng a(21), b(21);
  const Genome plain = sample(*plain_, a);
  const Genome patched = sample(*patched_, b);
  EXPECT_TRUE(std::equal(plain.genes.begin(), plain.genes.end(), patched.genes.begin()));
}

// Fixed expectations computed with the code before the patch genes existed
// (main at 53e69f4): a seeded search, a screened search, and sampling,
// mutation and crossover of the mcunet space without a patch setting.
// The F412 as it was then (tests/data): its kernels' flash and latency fit
// have changed since; the expectations pin the search, not configs/mcus.
// Re-pinned once since: when the firmware began storing conv2d's rows padded
// to a multiple of 4 (deployed_weight_bytes: +1 byte per stem channel), every
// candidate's flash moved by its stem width (the best, 283, stayed).
TEST_F(PatchGeneTest, SpacesWithoutTheSettingAreExactlyAsBefore) {
  const SearchSpace space = restrict_space(*plain_, 0.5, 176);
  SearchOptions o = small(1);
  FunctionEvaluator ev(test::synthetic_accuracy);
  const McuTarget mcu = load_mcu(std::string(TINYNAS_SOURCE_DIR) + "/tests/data/f412-2026-12-05.yaml");
  const Budget budget = budget_for(mcu, kFlash, 256 * 1024);
  const SearchResult r = run_search(space, mcu, budget, ev, o);
  EXPECT_EQ(fnv(history_jsonl(r)), 0xf393fad8fa468d12ull);
  EXPECT_EQ(r.best, 283);
  o.predictor_screen = 3;
  o.predictor_min_history = 40;
  EXPECT_EQ(fnv(history_jsonl(run_search(space, mcu, budget, ev, o))), 0x958a4bc3f0871c93ull);
  std::string g;
  Rng rng(5);
  for (int i = 0; i < 200; ++i) {
    const Genome a = sample(*plain_, rng);
    const Genome b = mutate(*plain_, a, 0.3, rng);
    const Genome c = crossover(*plain_, a, b, rng);
    for (int v : c.genes) g += std::to_string(v) + ",";
  }
  EXPECT_EQ(fnv(g), 0x95b7f9fb972e3ef1ull);
}

TEST_F(PatchGeneTest, SearchUnderTightSramUsesPatchesAndResumesExactly) {
  const SearchSpace space = restrict_space(*patched_, 0.4, 144);
  const Budget budget = budget_for(*mcu_, kFlash, kTightSram);
  SearchOptions o = small(3);
  o.predictor_screen = 2;
  o.predictor_min_history = 40;
  FunctionEvaluator ev(test::synthetic_accuracy);
  const SearchResult r = run_search(space, *mcu_, budget, ev, o);
  int patched = 0;
  for (const EvaluatedCandidate& c : r.history) {
    EXPECT_EQ(patch_problem(c.arch), "");
    EXPECT_TRUE(c.cost.fits);
    EXPECT_LE(c.cost.peak_sram_bytes, budget.sram_bytes);
    EXPECT_EQ(c.cost.patch, c.arch.patch);
    EXPECT_EQ(decode(space, c.genome), c.arch);
    const nlohmann::json j = candidate_to_json(c);
    if (c.arch.patch.enabled()) {
      ++patched;
      EXPECT_EQ(j.at("arch").at("patch").at("patches").get<int32_t>(), c.arch.patch.n);
    }
  }
  EXPECT_GT(patched, 0);

  // Stopped after 3 generations and resumed: the same result.
  const fs::path dir = fs::temp_directory_path() / ("tinynas_patch_resume_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  SearchOptions stop = o;
  stop.checkpoint_path = (dir / "checkpoint.json").string();
  stop.on_generation = [](const SearchResult&, const GenerationStats& s) { return s.generation < 3; };
  FunctionEvaluator ev2(test::synthetic_accuracy);
  EXPECT_FALSE(run_search(space, *mcu_, budget, ev2, stop).completed);
  SearchOptions resume = o;
  resume.checkpoint_path = stop.checkpoint_path;
  const SearchResult back = run_search(space, *mcu_, budget, ev2, resume);
  EXPECT_TRUE(back.resumed);
  EXPECT_EQ(history_jsonl(back), history_jsonl(r));
  EXPECT_EQ(back.best, r.best);
  EXPECT_EQ(back.population, r.population);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tinynas
