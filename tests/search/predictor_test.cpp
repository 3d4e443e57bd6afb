#include "search/predictor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "search/evolution.h"
#include "tests/test_util.h"

namespace tinynas {
namespace {

using test_nets::error_of;

SearchSpace mcunet_at(double width, int32_t resolution) {
  return restrict_space(load_search_space("mcunet"), width, resolution);
}

TEST(RankCorrelation, KnownSmallExamples) {
  const std::vector<double> a = {1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(kendall_tau(a, a), 1.0);
  EXPECT_DOUBLE_EQ(spearman_rho(a, a), 1.0);
  EXPECT_DOUBLE_EQ(kendall_tau(a, {50, 40, 30, 20, 10}), -1.0);
  EXPECT_DOUBLE_EQ(spearman_rho(a, {50, 40, 30, 20, 10}), -1.0);
  // 6 concordant, 4 discordant pairs; sum of squared rank differences 16.
  EXPECT_DOUBLE_EQ(kendall_tau(a, {3, 4, 1, 2, 5}), 0.2);
  EXPECT_DOUBLE_EQ(spearman_rho(a, {3, 4, 1, 2, 5}), 0.2);
  // Monotone transforms do not matter.
  EXPECT_DOUBLE_EQ(spearman_rho(a, {1, 4, 9, 16, 1000}), 1.0);
  // Ties (tau-b, mean ranks): as scipy.stats.kendalltau / spearmanr give.
  EXPECT_NEAR(kendall_tau({1, 2, 2, 3}, {1, 2, 3, 3}), 0.8, 1e-15);
  EXPECT_NEAR(spearman_rho({1, 2, 2, 3}, {1, 2, 3, 3}), 3.75 / 4.5, 1e-15);
  // Undefined: too short, or a constant sample.
  EXPECT_TRUE(std::isnan(kendall_tau({1}, {2})));
  EXPECT_TRUE(std::isnan(spearman_rho({}, {})));
  EXPECT_TRUE(std::isnan(kendall_tau({1, 2, 3}, {7, 7, 7})));
  EXPECT_TRUE(std::isnan(spearman_rho({1, 2, 3}, {7, 7, 7})));
  EXPECT_NE(error_of([] { kendall_tau({1, 2}, {1}); }).find("different lengths"), std::string::npos);
}

TEST(AccuracyPredictor, OneHotOfActiveGenesOnly) {
  const SearchSpace s = mcunet_at(0.5, 176);
  const AccuracyPredictor p(s);
  // Width and resolution have one choice (no columns); 5 stages of depth
  // {2,3,4} with 4 slots of kernel {3,5,7} and expand {3,4,6}; the last
  // stage has depth {1} (no depth column) and one slot.
  EXPECT_EQ(p.num_features(), 5 * (3 + 4 * 6) + 6);
  Rng rng(3);
  for (int i = 0; i < 100; ++i) {
    const Genome g = sample(s, rng);
    const std::vector<double> f = p.features(g);
    ASSERT_EQ(static_cast<int32_t>(f.size()), p.num_features());
    const ArchSpec a = decode(s, g);
    int32_t active_blocks = 0;
    for (size_t st = 1; st < a.stages.size(); ++st) active_blocks += static_cast<int32_t>(a.stages[st].blocks.size());
    double ones = 0;
    for (double v : f) {
      EXPECT_TRUE(v == 0.0 || v == 1.0);
      ones += v;
    }
    EXPECT_EQ(ones, 5 + 2 * active_blocks);  // depths + kernel and expand per active block
    EXPECT_EQ(f, p.features(canonical_genome(s, g)));
  }
}

TEST(AccuracyPredictor, RecoversALinearTargetOnHeldOutPairs) {
  const SearchSpace s = mcunet_at(0.5, 176);
  AccuracyPredictor p(s, 1.0);
  // A random linear function of the one-hot features plus a little noise.
  Rng wrng(17);
  std::vector<double> w(static_cast<size_t>(p.num_features()));
  for (double& x : w) x = 0.02 * wrng.uniform01();
  auto target = [&](const Genome& g, Rng& noise) {
    const std::vector<double> f = p.features(g);
    double y = 0.5;
    for (size_t i = 0; i < f.size(); ++i) y += w[i] * f[i];
    return y + 0.002 * (noise.uniform01() - 0.5);
  };
  Rng rng(1), noise(2);
  std::vector<Genome> train, test;
  std::vector<double> y_train, y_test;
  for (int i = 0; i < 300; ++i) {
    train.push_back(sample(s, rng));
    y_train.push_back(target(train.back(), noise));
  }
  for (int i = 0; i < 300; ++i) {
    test.push_back(sample(s, rng));
    y_test.push_back(target(test.back(), noise));
  }
  EXPECT_FALSE(p.fitted());
  EXPECT_NE(error_of([&] { p.predict(test[0]); }).find("before fit"), std::string::npos);
  p.fit(train, y_train);
  ASSERT_TRUE(p.fitted());
  const std::vector<double> pred = p.predict(test);
  EXPECT_GT(kendall_tau(pred, y_test), 0.8);
  EXPECT_GT(spearman_rho(pred, y_test), 0.95);
  double err = 0;
  for (size_t i = 0; i < pred.size(); ++i) err = std::max(err, std::fabs(pred[i] - y_test[i]));
  EXPECT_LT(err, 0.02);
  EXPECT_NE(error_of([&] { p.fit(train, {1.0}); }).find("300 genomes but 1 accuracies"),
            std::string::npos);
}

TEST(AccuracyPredictor, ResolutionAndWidthGenesGetColumns) {
  const SearchSpace full = load_search_space("mcunet");
  const AccuracyPredictor p(full);
  EXPECT_EQ(p.num_features(),
            static_cast<int32_t>(full.widths.size() + full.resolutions.size()) + 5 * (3 + 4 * 6) + 6);
  Rng rng(1);
  Genome g = sample(full, rng);
  g.genes[1] = 2;
  const auto f = p.features(g);
  EXPECT_EQ(f[full.widths.size() + 2], 1.0);
}

}  // namespace
}  // namespace tinynas
