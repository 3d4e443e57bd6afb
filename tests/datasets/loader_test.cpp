// The loader: identical batches whatever the number of workers, exact resume
// at (epoch, batch), per-epoch shuffles, clean cancellation, elastic
// resolution.
#include "datasets/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "tests/datasets/test_data.h"

namespace tinynas::datasets {
namespace {

using test::error_of;

std::shared_ptr<const Dataset> small() { return open_dataset("generated:4x10,res=16"); }

LoaderOptions options(int32_t workers) {
  LoaderOptions o;
  o.batch_size = 6;
  o.workers = workers;
  o.seed = 11;
  o.transform.height = o.transform.width = 12;
  return o;
}

std::vector<Batch> epoch(DataLoader& loader, int64_t e, int64_t first = 0) {
  loader.start_epoch(e, first);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

void expect_same(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].epoch, b[i].epoch);
    EXPECT_EQ(a[i].index, b[i].index);
    EXPECT_EQ(a[i].indices, b[i].indices) << i;
    EXPECT_EQ(a[i].labels, b[i].labels) << i;
    EXPECT_EQ(a[i].images, b[i].images) << i;  // bit for bit
  }
}

TEST(Loader, BatchesAreTheSameWhateverTheWorkers) {
  const auto ds = small();
  DataLoader none(ds, options(0)), one(ds, options(1)), three(ds, options(3));
  for (int64_t e = 0; e < 2; ++e) {
    const auto a = epoch(one, e);
    ASSERT_EQ(a.size(), 7u);  // 40 / 6, the last one of 4
    EXPECT_EQ(a.back().size, 4);
    expect_same(a, epoch(three, e));
    expect_same(a, epoch(none, e));
  }
}

// Data-parallel shards: together, in shard order, exactly the global batch
// (images bit for bit, the last smaller batch split as evenly as it goes).
TEST(Loader, ShardsTogetherAreTheGlobalBatch) {
  const auto ds = small();
  for (const int32_t n : {2, 3}) {
    LoaderOptions o = options(1);
    o.resolutions = {12, 16};
    DataLoader whole(ds, o);
    std::vector<std::vector<Batch>> parts;
    for (int32_t k = 0; k < n; ++k) {
      LoaderOptions so = o;
      so.shard = k;
      so.num_shards = n;
      DataLoader shard(ds, so);
      parts.push_back(epoch(shard, 1));
    }
    const auto all = epoch(whole, 1);
    for (size_t b = 0; b < all.size(); ++b) {
      Batch joined;
      for (int32_t k = 0; k < n; ++k) {
        const Batch& p = parts[static_cast<size_t>(k)].at(b);
        EXPECT_EQ(p.height, all[b].height);
        EXPECT_LE(std::abs(p.size - all[b].size / n), 1);
        joined.indices.insert(joined.indices.end(), p.indices.begin(), p.indices.end());
        joined.labels.insert(joined.labels.end(), p.labels.begin(), p.labels.end());
        joined.images.insert(joined.images.end(), p.images.begin(), p.images.end());
      }
      EXPECT_EQ(joined.indices, all[b].indices) << n << " shards, batch " << b;
      EXPECT_EQ(joined.labels, all[b].labels);
      EXPECT_EQ(joined.images, all[b].images);
    }
  }
  LoaderOptions bad = options(1);
  bad.shard = 2;
  bad.num_shards = 2;
  EXPECT_NE(error_of([&] { DataLoader l(ds, bad); }).find("shard 2 of 2"), std::string::npos);
}

TEST(Loader, LayoutLabelsAndOrder) {
  const auto ds = small();
  DataLoader loader(ds, options(2));
  const auto e0 = epoch(loader, 0), e1 = epoch(loader, 1);
  std::vector<int64_t> order0, order1;
  for (const auto& b : e0) {
    EXPECT_EQ(b.channels, 3);
    EXPECT_EQ(b.height, 12);
    EXPECT_EQ(b.images.size(), static_cast<size_t>(b.size) * 3 * 12 * 12);
    for (int64_t k = 0; k < b.size; ++k) EXPECT_EQ(b.labels[static_cast<size_t>(k)], ds->label(b.indices[static_cast<size_t>(k)]));
    order0.insert(order0.end(), b.indices.begin(), b.indices.end());
  }
  for (const auto& b : e1) order1.insert(order1.end(), b.indices.begin(), b.indices.end());
  EXPECT_EQ(order0, epoch_order(40, 11, 0, true));
  EXPECT_NE(order0, order1);  // reshuffled every epoch
  std::vector<int64_t> sorted = order0;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 40; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
  EXPECT_EQ(epoch_order(5, 1, 0, false), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  // The first sample of batch 0 is the transform of its item with its own stream.
  const int64_t item = e0[0].indices[0];
  std::vector<float> want(3 * 12 * 12);
  Rng rng(derive_seed(11, 0, static_cast<uint64_t>(item)));
  apply_transform(ds->get(item).image, options(0).transform, rng, want.data());
  EXPECT_EQ(std::vector<float>(e0[0].images.begin(), e0[0].images.begin() + 3 * 12 * 12), want);
}

TEST(Loader, ResumeGivesTheRestOfTheEpoch) {
  const auto ds = small();
  DataLoader full(ds, options(2));
  const auto whole = epoch(full, 3);
  DataLoader resumed(ds, options(3));
  const auto rest = epoch(resumed, 3, 4);
  expect_same(std::vector<Batch>(whole.begin() + 4, whole.end()), rest);
  EXPECT_TRUE(epoch(resumed, 3, resumed.batches_per_epoch()).empty());
  EXPECT_EQ(error_of([&] { resumed.start_epoch(3, 8); }), "data loader: batch 8 not in 0..7 (batches per epoch)");
}

TEST(Loader, CancelMidEpochAndDropLast) {
  const auto ds = small();
  {
    DataLoader loader(ds, options(3));
    loader.start_epoch(0);
    ASSERT_TRUE(loader.next().has_value());
  }  // destroyed with batches in flight
  DataLoader loader(ds, options(3));
  loader.start_epoch(5);
  ASSERT_TRUE(loader.next().has_value());
  // Restarting mid-epoch abandons what was in flight; the new epoch is whole.
  DataLoader reference(ds, options(1));
  expect_same(epoch(loader, 0), epoch(reference, 0));
  loader.start_epoch(1);
  loader.next();
  loader.stop();
  EXPECT_FALSE(loader.next().has_value());
  EXPECT_EQ(error_of([&] { loader.start_epoch(0); }), "data loader: start_epoch after stop()");

  LoaderOptions o = options(2);
  o.drop_last = true;
  DataLoader dropping(ds, o);
  EXPECT_EQ(dropping.batches_per_epoch(), 6);
  for (const auto& b : epoch(dropping, 0)) EXPECT_EQ(b.size, 6);
  EXPECT_FALSE(DataLoader(ds, options(2)).next().has_value());  // before start_epoch
}

TEST(Loader, ElasticResolutionPerBatch) {
  const auto ds = small();
  LoaderOptions o = options(2);
  o.resolutions = {8, 12, 20};
  DataLoader a(ds, o);
  o.workers = 1;
  DataLoader b(ds, o);
  const auto ea = epoch(a, 0);
  expect_same(ea, epoch(b, 0));
  std::set<int32_t> seen;
  for (const auto& batch : ea) {
    EXPECT_EQ(batch.height, batch.width);
    EXPECT_EQ(batch.images.size(), static_cast<size_t>(batch.size) * 3 * batch.height * batch.width);
    seen.insert(batch.height);
  }
  EXPECT_GE(seen.size(), 2u);
  for (const int32_t r : seen) EXPECT_TRUE(r == 8 || r == 12 || r == 20);
}

TEST(Loader, BadOptions) {
  const auto ds = small();
  LoaderOptions o;
  o.batch_size = 0;
  EXPECT_EQ(error_of([&] { DataLoader(ds, o); }), "data loader: batch size 0 < 1");
  o = {};
  o.workers = -1;
  EXPECT_EQ(error_of([&] { DataLoader(ds, o); }), "data loader: workers -1 not in 0..256");
  o = {};
  o.resolutions = {32, 0};
  EXPECT_EQ(error_of([&] { DataLoader(ds, o); }), "data loader: resolution 0 not in 1..4096");
  o = {};
  o.transform.scale_max = 1.5;
  EXPECT_EQ(error_of([&] { DataLoader(ds, o); }),
            "transform: crop scale must satisfy 0 < min <= max <= 1, got 0.080000..1.500000");
}

}  // namespace
}  // namespace tinynas::datasets
