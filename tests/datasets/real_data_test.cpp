// The real files of ../shared/data (CIFAR-10 as a JPEG tar, the MLPerf Tiny
// inputs): skipped with a message where that folder is absent. Set
// TINYNAS_DATA_DIR to use another copy.
#include <gtest/gtest.h>

#include <set>

#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "tests/datasets/test_data.h"

namespace tinynas::datasets {
namespace {

// Skips the test, saying which folder is missing and how to point at another.
std::string missing(const std::string& path) {
  const std::string where = test::data_dir().empty() ? std::string(TINYNAS_SOURCE_DIR) + "/../shared/data" : path;
  return "real data not found: " + where + " (set TINYNAS_DATA_DIR to the folder holding cifar10/ and mlperf-tiny/)";
}

#define REQUIRE_FILE(path) \
  if (test::data_dir().empty() || !std::filesystem::exists(path)) GTEST_SKIP() << missing(path)

TEST(RealData, Cifar10TrainTar) {
  const std::string path = test::data_dir() + "/cifar10/train.tar";
  REQUIRE_FILE(path);
  const auto ds = open_dataset("tar:" + path);
  ASSERT_EQ(ds->size(), 50000);
  EXPECT_EQ(ds->class_names(), (std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog",
                                                         "frog", "horse", "ship", "truck"}));
  EXPECT_EQ(class_counts(*ds), std::vector<int64_t>(10, 5000));
  EXPECT_EQ(ds->height(), 32);
  EXPECT_EQ(ds->width(), 32);
  // 100 images across all classes decode to 32x32 RGB with their folder's label.
  std::set<int32_t> labels;
  for (int64_t i = 0; i < 50000; i += 500) {
    const Sample s = ds->get(i);
    ASSERT_EQ(s.image.height, 32);
    ASSERT_EQ(s.image.width, 32);
    ASSERT_EQ(s.image.channels, 3);
    const std::string name = ds->item_name(i);
    const std::string member = name.substr(name.rfind(": ") + 2);
    EXPECT_EQ(member.substr(0, member.find('/')), ds->class_names()[static_cast<size_t>(s.label)]) << name;
    labels.insert(s.label);
  }
  EXPECT_EQ(labels.size(), 10u);
}

TEST(RealData, VisualWakeWords) {
  const std::string path = test::data_dir() + "/mlperf-tiny/vww01.tar";
  REQUIRE_FILE(path);
  const auto ds = open_dataset("mlperf-vww:" + path);
  ASSERT_EQ(ds->size(), 1000);
  EXPECT_EQ(class_counts(*ds), (std::vector<int64_t>{500, 500}));
  for (int64_t i = 0; i < 10; ++i) {
    const Sample s = ds->get(i);
    ASSERT_EQ(s.image.data.size(), 96u * 96 * 3);
    EXPECT_NE(std::set<uint8_t>(s.image.data.begin(), s.image.data.end()).size(), 1u);  // not blank
  }
  // Ten inputs through the eval transform at a searched resolution.
  LoaderOptions o;
  o.batch_size = 10;
  o.shuffle = false;
  o.transform.train = false;
  o.transform.height = o.transform.width = 80;
  DataLoader loader(make_subset(ds, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "first ten"), o);
  loader.start_epoch(0);
  const auto batch = loader.next();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->images.size(), 10u * 3 * 80 * 80);
  for (const float v : batch->images) ASSERT_TRUE(v >= -1.01f && v <= 1.0f);
}

TEST(RealData, ImageClassificationAndKeywords) {
  const std::string ic = test::data_dir() + "/mlperf-tiny/ic01.tar";
  const std::string kws = test::data_dir() + "/mlperf-tiny/kws01.tar";
  REQUIRE_FILE(kws);
  const auto a = open_dataset("mlperf-ic:" + ic);
  EXPECT_EQ(a->size(), 200);
  EXPECT_EQ(a->num_classes(), 10);
  const auto k = open_dataset("mlperf-kws:" + kws);
  EXPECT_EQ(k->size(), 1000);
  EXPECT_EQ(k->num_classes(), 12);
  EXPECT_EQ(k->pixel_type(), PixelType::kInt8);
  // The file names carry the keyword: tst_000000_Stop_7.bin is label 7, "stop".
  const std::string first = k->item_name(0);
  EXPECT_NE(first.find("_Stop_7.bin"), std::string::npos) << first;
  EXPECT_EQ(k->class_names()[static_cast<size_t>(k->label(0))], "stop");
}

}  // namespace
}  // namespace tinynas::datasets
