// Sharded space optimisation: the partition of the configurations, shard
// files that round-trip exactly, and a merge equal to one process's result,
// whatever the number of shards; merges of incomplete or mismatched shards
// refused with the shard and the input named.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "space_optimizer/space_optimizer.h"

namespace tinynas {
namespace {

class SpaceShardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    space_ = load_search_space("mcunet");
    mcu_ = load_mcu("f412");
    budget_ = budget_for(mcu_, 1024 * 1024, 256 * 1024);
    opt_.samples = 30;
    opt_.seed = 5;
    opt_.progress = false;
  }

  std::vector<SpaceShardResult> shards(int32_t count, const SpaceOptimizerOptions& opt) const {
    std::vector<SpaceShardResult> out;
    for (int32_t i = 0; i < count; ++i) out.push_back(optimize_space_shard(space_, mcu_, budget_, opt, {i, count}));
    return out;
  }

  // The message of the Error f throws ("" when it does not throw).
  template <typename F>
  static std::string error_of(F&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  SearchSpace space_;
  McuTarget mcu_;
  Budget budget_;
  SpaceOptimizerOptions opt_;
};

TEST_F(SpaceShardTest, ShardsPartitionTheConfigsRoundRobin) {
  for (int32_t count : {1, 2, 3, 4, 7, 108, 200}) {
    SCOPED_TRACE("count " + std::to_string(count));
    std::set<int64_t> seen;
    size_t total = 0;
    for (int32_t i = 0; i < count; ++i) {
      const auto idx = shard_config_indices(108, {i, count});
      for (int64_t c : idx) EXPECT_EQ(c % count, i);
      EXPECT_TRUE(std::is_sorted(idx.begin(), idx.end()));
      seen.insert(idx.begin(), idx.end());
      total += idx.size();
    }
    EXPECT_EQ(total, 108u);
    EXPECT_EQ(seen.size(), 108u);
  }
  EXPECT_NE(error_of([] { shard_config_indices(108, {4, 4}); }), "");
  EXPECT_NE(error_of([] { shard_config_indices(108, {-1, 4}); }), "");
  EXPECT_NE(error_of([] { shard_config_indices(108, {0, 0}); }), "");
}

TEST_F(SpaceShardTest, MergedShardsEqualOneProcessWhateverTheCount) {
  SpaceOptimizerOptions opt = opt_;
  opt.min_fit_fraction = 0.2;
  const SpaceOptimizerResult whole = optimize_space(space_, mcu_, budget_, opt);
  const std::string expected = space_result_to_json(whole).dump(2);
  for (int32_t count : {1, 3, 4, 200}) {
    SCOPED_TRACE("count " + std::to_string(count));
    std::vector<SpaceShardResult> parts = shards(count, opt);
    // Through the files, in reverse order: the merge does not depend on either.
    std::vector<SpaceShardResult> read;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it)
      read.push_back(space_shard_from_json(nlohmann::json::parse(space_shard_to_json(*it).dump()), "shard"));
    const SpaceOptimizerResult merged = merge_space_shards(space_, mcu_, budget_, opt, read, count);
    EXPECT_EQ(merged.chosen, whole.chosen);
    EXPECT_EQ(space_result_to_json(merged).dump(2), expected);
    EXPECT_EQ(space_cdf_svg(merged), space_cdf_svg(whole));
    EXPECT_EQ(format_space_table(merged, 0), format_space_table(whole, 0));
  }
}

TEST_F(SpaceShardTest, ShardFileRoundTripsExactly) {
  const SpaceShardResult s = optimize_space_shard(space_, mcu_, budget_, opt_, {1, 4});
  const SpaceShardResult back = space_shard_from_json(nlohmann::json::parse(space_shard_to_json(s).dump()), "f");
  EXPECT_EQ(space_shard_to_json(back), space_shard_to_json(s));
  ASSERT_EQ(back.configs.size(), s.configs.size());
  for (size_t k = 0; k < s.configs.size(); ++k) {
    EXPECT_EQ(back.configs[k].fitting_mflops, s.configs[k].fitting_mflops);
    EXPECT_EQ(back.configs[k].mean_mflops, s.configs[k].mean_mflops);
  }
  EXPECT_EQ(space_shard_file_name({1, 4}), "shard-1-of-4.json");
}

TEST_F(SpaceShardTest, MergeNamesTheMissingShards) {
  std::vector<SpaceShardResult> parts = shards(4, opt_);
  parts.erase(parts.begin() + 3);
  parts.erase(parts.begin() + 1);
  const std::string e = error_of([&] { merge_space_shards(space_, mcu_, budget_, opt_, parts, 4); });
  EXPECT_NE(e.find("missing shards 1, 3 of 4"), std::string::npos) << e;

  std::vector<SpaceShardResult> one_missing = shards(4, opt_);
  one_missing.erase(one_missing.begin() + 2);
  const std::string e1 = error_of([&] { merge_space_shards(space_, mcu_, budget_, opt_, one_missing, 4); });
  EXPECT_NE(e1.find("missing shard 2 of 4"), std::string::npos) << e1;

  std::vector<SpaceShardResult> twice = shards(2, opt_);
  twice.push_back(twice[0]);
  const std::string e2 = error_of([&] { merge_space_shards(space_, mcu_, budget_, opt_, twice, 2); });
  EXPECT_NE(e2.find("shard 0 of 2 is given twice"), std::string::npos) << e2;

  const std::string e3 = error_of([&] { merge_space_shards(space_, mcu_, budget_, opt_, shards(2, opt_), 3); });
  EXPECT_NE(e3.find("not one of 3 shards"), std::string::npos) << e3;
}

TEST_F(SpaceShardTest, MergeNamesTheInputAShardDiffersIn) {
  struct Case {
    const char* name;
    std::function<void(SpaceOptimizerOptions&, Budget&, SearchSpace&)> change;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"seed", [](auto& o, auto&, auto&) { o.seed = 6; }, "seed is 6, expected 5"},
      {"samples", [](auto& o, auto&, auto&) { o.samples = 31; }, "samples is 31, expected 30"},
      {"sram", [](auto&, auto& b, auto&) { b.sram_bytes = 192 * 1024; }, "sram is 192.0 KiB, expected 256.0 KiB"},
      {"flash", [](auto&, auto& b, auto&) { b.flash_bytes = 2 * 1024 * 1024; }, "flash is 2.00 MiB, expected 1.00 MiB"},
      {"classes", [](auto&, auto&, auto& s) { s.num_classes = 10; }, "classes is 10, expected 1000"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SpaceOptimizerOptions opt = opt_;
    Budget budget = budget_;
    SearchSpace space = space_;
    c.change(opt, budget, space);
    std::vector<SpaceShardResult> parts = shards(3, opt_);
    parts[2] = optimize_space_shard(space, mcu_, budget, opt, {2, 3});
    const std::string e = error_of([&] { merge_space_shards(space_, mcu_, budget_, opt_, parts, 3); });
    EXPECT_NE(e.find("shard 2 of 3 was computed from other inputs"), std::string::npos) << e;
    EXPECT_NE(e.find(c.expected), std::string::npos) << e;
  }
  // Another MCU of the same budget.
  std::vector<SpaceShardResult> parts = shards(2, opt_);
  parts[0].inputs.mcu = "h743";
  const std::string e = error_of([&] { merge_space_shards(space_, mcu_, budget_, opt_, parts, 2); });
  EXPECT_NE(e.find("mcu is \"h743\", expected \"f412\""), std::string::npos) << e;
}

TEST_F(SpaceShardTest, RejectsFilesThatAreNotShards) {
  EXPECT_NE(error_of([] { space_shard_from_json(nlohmann::json::parse("{\"space\": 1}"), "x.json"); })
                .find("x.json: not a tinynas space shard file"),
            std::string::npos);
  nlohmann::json j = space_shard_to_json(optimize_space_shard(space_, mcu_, budget_, opt_, {0, 2}));
  j["configs"][0].erase("fitting_mflops");
  EXPECT_NE(error_of([&] { space_shard_from_json(j, "y.json"); }).find("y.json: not a tinynas space shard file"),
            std::string::npos);
  j = space_shard_to_json(optimize_space_shard(space_, mcu_, budget_, opt_, {0, 2}));
  j["configs"][0]["fitting_mflops"] = {3.0, 1.0};
  EXPECT_NE(error_of([&] { space_shard_from_json(j, "z.json"); }).find("must be sorted"), std::string::npos);
}

}  // namespace
}  // namespace tinynas

namespace tinynas {
namespace {

// Patches allowed (a tight SRAM limit, where they matter): the merge is still
// exactly one process's result, the shard files carry the setting and the
// per-config patched counts, and shards computed without patches are refused.
TEST_F(SpaceShardTest, MergeIsExactWithPatchesAllowed) {
  const Budget tight = budget_for(mcu_, 1024 * 1024, 128 * 1024);
  SpaceOptimizerOptions opt = opt_;
  opt.samples = 12;
  opt.allow_patches = true;
  const SpaceOptimizerResult whole = optimize_space(space_, mcu_, tight, opt);
  int64_t patched = 0;
  for (const auto& c : whole.configs) patched += c.patched;
  EXPECT_GT(patched, 0);
  for (int32_t count : {3, 7}) {
    SCOPED_TRACE("count " + std::to_string(count));
    std::vector<SpaceShardResult> read;
    for (int32_t i = 0; i < count; ++i) {
      const nlohmann::json j = space_shard_to_json(optimize_space_shard(space_, mcu_, tight, opt, {i, count}));
      EXPECT_TRUE(j.at("inputs").at("allow_patches").get<bool>());
      read.push_back(space_shard_from_json(nlohmann::json::parse(j.dump()), "shard"));
    }
    const SpaceOptimizerResult merged = merge_space_shards(space_, mcu_, tight, opt, read, count);
    EXPECT_EQ(space_result_to_json(merged).dump(2), space_result_to_json(whole).dump(2));
    EXPECT_EQ(format_space_table(merged, 0), format_space_table(whole, 0));
    for (size_t k = 0; k < whole.configs.size(); ++k) EXPECT_EQ(merged.configs[k].patched, whole.configs[k].patched);
  }
  SpaceOptimizerOptions off = opt;
  off.allow_patches = false;
  std::vector<SpaceShardResult> parts;
  for (int32_t i = 0; i < 2; ++i) parts.push_back(optimize_space_shard(space_, mcu_, tight, i == 0 ? opt : off, {i, 2}));
  const std::string e = error_of([&] { merge_space_shards(space_, mcu_, tight, opt, parts, 2); });
  EXPECT_NE(e.find("shard 1 of 2 was computed from other inputs: patches is false, expected true"),
            std::string::npos)
      << e;
  // A shard file without the patch keys (written before they existed) reads as none allowed.
  const nlohmann::json plain = space_shard_to_json(optimize_space_shard(space_, mcu_, budget_, opt_, {0, 4}));
  EXPECT_FALSE(plain.at("inputs").contains("allow_patches"));
  EXPECT_FALSE(space_shard_from_json(plain, "old").inputs.allow_patches);
}

}  // namespace
}  // namespace tinynas
