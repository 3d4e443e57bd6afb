// The held-out validation split: stratified per class, disjoint, complete,
// and fixed by (labels, fraction, seed).
#include <gtest/gtest.h>

#include <algorithm>

#include "datasets/dataset.h"
#include "tests/datasets/test_data.h"

namespace tinynas::datasets {
namespace {

using test::error_of;

// Classes of 100, 50, 7, 2 and 1 items, interleaved as the generated set is.
std::shared_ptr<const Dataset> unbalanced() {
  const auto base = open_dataset("generated:5x100,res=8");
  const int64_t want[5] = {100, 50, 7, 2, 1};
  int64_t have[5] = {};
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < base->size(); ++i) {
    const int32_t c = base->label(i);
    if (have[c] < want[c]) ++have[c], keep.push_back(i);
  }
  return make_subset(base, keep, "unbalanced");
}

std::vector<int64_t> counts_of(const Dataset& ds, const std::vector<int64_t>& items) {
  std::vector<int64_t> counts(static_cast<size_t>(ds.num_classes()), 0);
  for (const int64_t i : items) ++counts[static_cast<size_t>(ds.label(i))];
  return counts;
}

TEST(Split, StratifiedPerClass) {
  const auto ds = unbalanced();
  ASSERT_EQ(class_counts(*ds), (std::vector<int64_t>{100, 50, 7, 2, 1}));
  const SplitIndices s = split_indices(*ds, 0.1, 42);
  // round(0.1 n), at least one and at most n - 1 where a class has two or more.
  EXPECT_EQ(counts_of(*ds, s.val), (std::vector<int64_t>{10, 5, 1, 1, 0}));
  EXPECT_EQ(counts_of(*ds, s.train), (std::vector<int64_t>{90, 45, 6, 1, 1}));
  // Disjoint, complete, ascending.
  std::vector<int64_t> all = s.train;
  all.insert(all.end(), s.val.begin(), s.val.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < ds->size(); ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
  EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
  EXPECT_TRUE(std::is_sorted(s.val.begin(), s.val.end()));
}

TEST(Split, DeterministicPerSeed) {
  const auto ds = unbalanced();
  const SplitIndices a = split_indices(*ds, 0.2, 7), b = split_indices(*ds, 0.2, 7), c = split_indices(*ds, 0.2, 8);
  EXPECT_EQ(a.val, b.val);
  EXPECT_EQ(a.train, b.train);
  EXPECT_NE(a.val, c.val);
  EXPECT_EQ(counts_of(*ds, a.val), counts_of(*ds, c.val));  // another seed, the same strata
  // Not simply the first items of each class.
  std::vector<int64_t> first_per_class;
  std::vector<int64_t> want = counts_of(*ds, a.val);
  for (int64_t i = 0; i < ds->size(); ++i)
    if (want[static_cast<size_t>(ds->label(i))]-- > 0) first_per_class.push_back(i);
  EXPECT_NE(a.val, first_per_class);
}

TEST(Split, SubsetsViewTheParent) {
  const auto ds = open_dataset("generated:3x10,res=8");
  const TrainValSplit s = split_train_val(ds, 0.3, 1);
  EXPECT_EQ(s.train->size(), 21);
  EXPECT_EQ(s.val->size(), 9);
  EXPECT_EQ(class_counts(*s.val), (std::vector<int64_t>{3, 3, 3}));
  const SplitIndices idx = split_indices(*ds, 0.3, 1);
  for (int64_t i = 0; i < s.val->size(); ++i) {
    EXPECT_EQ(s.val->label(i), ds->label(idx.val[static_cast<size_t>(i)]));
    EXPECT_EQ(test::raw(s.val->get(i).image), test::raw(ds->get(idx.val[static_cast<size_t>(i)]).image));
  }
  EXPECT_EQ(s.train->class_names(), ds->class_names());
  const SplitIndices none = split_indices(*ds, 0.0, 1);
  EXPECT_TRUE(none.val.empty());
  EXPECT_EQ(none.train.size(), 30u);
}

TEST(Split, BadFractionAndIndices) {
  const auto ds = open_dataset("generated:2x2,res=8");
  EXPECT_EQ(error_of([&] { split_indices(*ds, 1.0, 0); }), "validation fraction 1.000000 is not in [0, 1)");
  EXPECT_EQ(error_of([&] { split_indices(*ds, -0.1, 0); }), "validation fraction -0.100000 is not in [0, 1)");
  EXPECT_EQ(error_of([&] { make_subset(ds, {0, 4}, "mine"); }),
            "mine: index 4 is out of range for " + ds->description());
}

}  // namespace
}  // namespace tinynas::datasets
