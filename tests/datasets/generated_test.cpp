// The procedural data set: shape, determinism per seed, class balance, and
// that it is neither trivial nor noise.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "datasets/dataset.h"
#include "datasets/transforms.h"
#include "tests/datasets/test_data.h"

namespace tinynas::datasets {
namespace {

TEST(Generated, SizeLabelsAndNames) {
  const auto ds = open_dataset("generated:5x7,res=24");
  EXPECT_EQ(ds->size(), 35);
  EXPECT_EQ(ds->num_classes(), 5);
  EXPECT_EQ(ds->height(), 24);
  EXPECT_EQ(ds->width(), 24);
  EXPECT_EQ(ds->channels(), 3);
  EXPECT_EQ(class_counts(*ds), (std::vector<int64_t>(5, 7)));
  EXPECT_EQ(std::set<std::string>(ds->class_names().begin(), ds->class_names().end()).size(), 5u);
  for (int64_t i = 0; i < ds->size(); ++i) {
    const Sample s = ds->get(i);
    EXPECT_EQ(s.label, ds->label(i));
    EXPECT_EQ(s.label, i % 5);
    EXPECT_EQ(s.image.height, 24);
    EXPECT_EQ(s.image.data.size(), 24u * 24 * 3);
  }
  EXPECT_NE(ds->description().find("cached"), std::string::npos);
}

TEST(Generated, DeterministicPerSeed) {
  DatasetOptions no_cache;
  no_cache.cache_bytes = 0;
  const auto a = open_dataset("generated:4x3", no_cache);
  const auto b = open_dataset("generated:4x3");  // cached: the same bytes
  const auto c = open_dataset("generated:4x3,seed=1");
  for (int64_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ(test::raw(a->get(i).image), test::raw(b->get(i).image)) << i;
    EXPECT_EQ(test::raw(b->get(i).image), test::raw(b->get(i).image)) << i;  // from the cache
    EXPECT_NE(test::raw(a->get(i).image), test::raw(c->get(i).image)) << i;
  }
  // Class looks do not depend on the seed: a test set is the same spec with another seed.
  EXPECT_EQ(a->class_names(), c->class_names());
  // Images of one class differ from each other.
  EXPECT_NE(test::raw(a->get(0).image), test::raw(a->get(4).image));
}

// Nearest class mean on 8x8 thumbnails: far above chance (the classes are
// learnable) and far from perfect (a CNN has to learn more than mean colour).
TEST(Generated, LearnableButNotTrivial) {
  const int32_t classes = 10, per_class = 60, side = 8;
  const auto train = open_dataset("generated:10x60");
  const auto test = open_dataset("generated:10x30,seed=99");
  TransformOptions t;
  t.train = false;
  t.height = t.width = side;
  const size_t dim = 3 * side * side;
  std::vector<double> means(classes * dim, 0.0);
  std::vector<float> x(dim);
  Rng rng(0);
  for (int64_t i = 0; i < train->size(); ++i) {
    const Sample s = train->get(i);
    apply_transform(s.image, t, rng, x.data());
    for (size_t d = 0; d < dim; ++d) means[s.label * dim + d] += x[d] / per_class;
  }
  int correct = 0;
  for (int64_t i = 0; i < test->size(); ++i) {
    const Sample s = test->get(i);
    apply_transform(s.image, t, rng, x.data());
    int best = 0;
    double best_d = 1e300;
    for (int c = 0; c < classes; ++c) {
      double d = 0;
      for (size_t k = 0; k < dim; ++k) d += (x[k] - means[c * dim + k]) * (x[k] - means[c * dim + k]);
      if (d < best_d) best_d = d, best = c;
    }
    correct += best == s.label;
  }
  const double accuracy = static_cast<double>(correct) / test->size();
  RecordProperty("nearest_mean_accuracy", std::to_string(accuracy));
  EXPECT_GT(accuracy, 0.15);  // chance is 0.10; measured 0.20
  EXPECT_LT(accuracy, 0.90);
}

}  // namespace
}  // namespace tinynas::datasets
