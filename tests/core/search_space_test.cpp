#include "core/search_space.h"

#include <set>

#include <gtest/gtest.h>

#include "core/arch_io.h"
#include "core/error.h"
#include "tests/test_util.h"

namespace tinynas {
namespace {

class SearchSpaceTest : public ::testing::Test {
 protected:
  SearchSpace space = load_search_space("mcunet");
};

TEST_F(SearchSpaceTest, TheMcunetSpace) {
  EXPECT_EQ(space.widths.size(), 9u);
  EXPECT_EQ(space.resolutions.size(), 12u);
  EXPECT_EQ(space.resolutions.front(), 48);
  EXPECT_EQ(space.resolutions.back(), 224);
  ASSERT_EQ(space.stages.size(), 6u);
  const int32_t widths[] = {24, 40, 80, 96, 192, 320};
  const int32_t strides[] = {2, 2, 2, 1, 2, 1};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(space.stages[i].base_channels, widths[i]);
    EXPECT_EQ(space.stages[i].stride, strides[i]);
    EXPECT_EQ(space.stages[i].kernels, (std::vector<int32_t>{3, 5, 7}));
    EXPECT_EQ(space.stages[i].expands, (std::vector<int32_t>{3, 4, 6}));
  }
  EXPECT_EQ(space.stages[0].depths, (std::vector<int32_t>{2, 3, 4}));
  EXPECT_EQ(space.stages[5].depths, (std::vector<int32_t>{1}));
  // [w, r] + 5 stages x (1 + 4 slots x 2) + last stage (1 + 1 x 2)
  EXPECT_EQ(genome_length(space), 2u + 5 * 9 + 3);
}

TEST_F(SearchSpaceTest, LargestAtHalfWidthHasTheZooChannels) {
  const ArchSpec a = largest_arch(space, width_index(space, 0.5), resolution_index(space, 160));
  EXPECT_NO_THROW(validate(a));
  EXPECT_EQ(a.first_conv.out_channels, 16);
  EXPECT_EQ(a.stages[0].blocks[0].out_channels, 8);
  EXPECT_EQ(a.stages[0].blocks[0].expand, 1);
  const int32_t out[] = {16, 24, 40, 48, 96, 160};  // as in mcunet-in2
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(a.stages[i + 1].blocks[0].out_channels, out[i]);
  EXPECT_EQ(a.stages[1].blocks.size(), 4u);
  EXPECT_EQ(a.stages[1].blocks[0].mid_channels, 48);  // 8 x 6
  EXPECT_FALSE(a.stages[1].blocks[0].residual);
  EXPECT_TRUE(a.stages[1].blocks[1].residual);
  EXPECT_EQ(a.stages[1].blocks[1].mid_channels, 96);  // 16 x 6
  const ArchSpec s = smallest_arch(space, 0, 0);
  EXPECT_EQ(s.resolution, 48);
  EXPECT_EQ(s.stages[1].blocks.size(), 2u);
  EXPECT_EQ(s.stages[1].blocks[0].kernel, 3);
}

TEST_F(SearchSpaceTest, SampledSubnetsAreValidAndInTheSpace) {
  Rng rng(42);
  std::set<std::vector<int32_t>> seen;
  for (int i = 0; i < 500; ++i) {
    const Genome g = sample(space, rng);
    const ArchSpec a = decode(space, g);
    ASSERT_NO_THROW(validate(a));
    ASSERT_TRUE(contains(space, a));
    // encode(decode(g)) agrees with g on every active gene.
    ASSERT_EQ(decode(space, encode(space, a)), a);
    seen.insert(g.genes);
  }
  EXPECT_GT(seen.size(), 490u);
}

TEST_F(SearchSpaceTest, SeedsAreReproducible) {
  Rng a(123), b(123), c(124);
  const Genome ga = sample(space, a), gb = sample(space, b), gc = sample(space, c);
  EXPECT_EQ(ga, gb);
  EXPECT_NE(ga, gc);
  ArchSpec x, y;
  Rng r1(derive_seed(5, 3, 9)), r2(derive_seed(5, 3, 9));
  sample_arch(space, 2, 4, r1, x);
  sample_arch(space, 2, 4, r2, y);
  EXPECT_EQ(x, y);
  EXPECT_EQ(x.resolution, space.resolutions[4]);
  EXPECT_DOUBLE_EQ(x.width_mult, space.widths[2]);
}

TEST_F(SearchSpaceTest, MutationAndCrossoverStayInTheSpace) {
  Rng rng(1);
  const Genome a = sample(space, rng), b = sample(space, rng);
  EXPECT_EQ(mutate(space, a, 0.0, rng), a);
  int changed = 0;
  for (int i = 0; i < 50; ++i) {
    const Genome m = mutate(space, a, 0.3, rng);
    EXPECT_NO_THROW(decode(space, m));
    changed += m != a;
    const Genome c = crossover(space, a, b, rng);
    for (size_t j = 0; j < c.genes.size(); ++j)
      EXPECT_TRUE(c.genes[j] == a.genes[j] || c.genes[j] == b.genes[j]);
  }
  EXPECT_GT(changed, 40);
}

TEST_F(SearchSpaceTest, ZooNetworksAreOutsideAndSayWhy) {
  const ArchSpec in2 = load_arch(test_nets::zoo_path("mcunet-in2"));
  std::string why;
  EXPECT_FALSE(contains(space, in2, &why));
  EXPECT_NE(why.find("not in search space 'mcunet'"), std::string::npos) << why;
  // Expand 5 and a depth-1 first stage are outside {3,4,6} / {2,3,4}.
  EXPECT_TRUE(why.find("expand") != std::string::npos || why.find("depth") != std::string::npos)
      << why;

  ArchSpec a = largest_arch(space, 3, 7);
  a.resolution = 100;
  EXPECT_FALSE(contains(space, a, &why));
  EXPECT_NE(why.find("resolution 100"), std::string::npos) << why;
  a = largest_arch(space, 3, 7);
  a.stages[2].blocks[1].mid_channels += 8;  // inconsistent with the width
  EXPECT_FALSE(contains(space, a, &why));
}

TEST_F(SearchSpaceTest, RestrictAndBadGenomes) {
  const SearchSpace r = restrict_space(space, 0.5, 96);
  EXPECT_EQ(r.widths, (std::vector<double>{0.5}));
  EXPECT_EQ(r.resolutions, (std::vector<int32_t>{96}));
  EXPECT_THROW(restrict_space(space, 0.55, 96), Error);
  EXPECT_THROW(restrict_space(space, 0.5, 100), Error);
  Genome g;
  g.genes.assign(genome_length(space), 0);
  g.genes[0] = 99;
  EXPECT_THROW(decode(space, g), Error);
  g.genes.pop_back();
  EXPECT_THROW(decode(space, g), Error);
}

TEST_F(SearchSpaceTest, UnknownSpaceListsKnownOnes) {
  try {
    load_search_space("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mcunet"), std::string::npos);
  }
}

}  // namespace
}  // namespace tinynas
