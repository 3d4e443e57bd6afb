// The KIND:PATH spec parser and shard pattern expansion.
#include "datasets/dataset.h"

#include <gtest/gtest.h>

#include "datasets/internal/readers.h"
#include "tests/datasets/test_data.h"

namespace tinynas::datasets {
namespace {

using test::error_of;
using test::TempDir;

TEST(DatasetSpec, ParsesEveryKind) {
  for (const std::string& kind : dataset_kinds()) {
    const std::string path = kind == "generated" ? "3x4" : "some/where";
    const DatasetSpec spec = parse_dataset_spec(kind + ":" + path);
    EXPECT_EQ(spec.kind, kind);
    EXPECT_EQ(spec.path, path);
  }
  // Only the first colon separates: paths may hold colons.
  EXPECT_EQ(parse_dataset_spec("tar:/data/a:b/x.tar").path, "/data/a:b/x.tar");
}

TEST(DatasetSpec, GeneratedSizeResolutionAndSeed) {
  DatasetSpec s = parse_dataset_spec("generated:10x2000");
  EXPECT_EQ(s.classes, 10);
  EXPECT_EQ(s.per_class, 2000);
  EXPECT_EQ(s.resolution, 32);
  EXPECT_EQ(s.seed, 0u);
  s = parse_dataset_spec("generated:4x5,res=48,seed=7");
  EXPECT_EQ(s.classes, 4);
  EXPECT_EQ(s.per_class, 5);
  EXPECT_EQ(s.resolution, 48);
  EXPECT_EQ(s.seed, 7u);
}

TEST(DatasetSpec, ErrorsSayWhatIsWrong) {
  EXPECT_EQ(error_of([] { parse_dataset_spec("cifar10"); }),
            "data set 'cifar10': expected KIND:PATH; kinds: generated, imagefolder, tar, cifar10-bin, "
            "mlperf-vww, mlperf-ic, mlperf-kws");
  EXPECT_EQ(error_of([] { parse_dataset_spec("zip:a.zip"); }),
            "data set 'zip:a.zip': unknown kind 'zip'; known kinds: generated, imagefolder, tar, cifar10-bin, "
            "mlperf-vww, mlperf-ic, mlperf-kws");
  EXPECT_EQ(error_of([] { parse_dataset_spec("tar:"); }), "data set 'tar:': the path after 'tar:' is empty");
  EXPECT_EQ(error_of([] { parse_dataset_spec("generated:10"); }),
            "data set 'generated:10': expected generated:CLASSESxIMAGES (images per class) like "
            "generated:10x2000, got '10'");
  EXPECT_EQ(error_of([] { parse_dataset_spec("generated:1x10"); }),
            "data set 'generated:1x10': a generated data set needs at least 2 classes");
  EXPECT_EQ(error_of([] { parse_dataset_spec("generated:2x10,res=4"); }),
            "data set 'generated:2x10,res=4': res: expected a side of 8..1024 pixels, got '4'");
  EXPECT_EQ(error_of([] { parse_dataset_spec("generated:2x10,size=4"); }),
            "data set 'generated:2x10,size=4': unknown option 'size=4'; generated takes res=R and seed=S");
  EXPECT_EQ(error_of([] { open_dataset("generated:361x1"); }),
            "data set 'generated:361x1': at most 360 generated classes (5 shapes x 4 angles x 6 hues x 3 stripe "
            "counts), got 361");
}

TEST(ShardPattern, ExpandsRangesAndLists) {
  using internal::expand_braces;
  EXPECT_EQ(expand_braces("train-{000..003}.tar"),
            (std::vector<std::string>{"train-000.tar", "train-001.tar", "train-002.tar", "train-003.tar"}));
  EXPECT_EQ(expand_braces("s{8..11}.tar"), (std::vector<std::string>{"s8.tar", "s9.tar", "s10.tar", "s11.tar"}));
  EXPECT_EQ(expand_braces("{a,b}/x{0..1}"), (std::vector<std::string>{"a/x0", "a/x1", "b/x0", "b/x1"}));
  EXPECT_EQ(expand_braces("plain{x}.tar"), (std::vector<std::string>{"plain{x}.tar"}));
  EXPECT_EQ(error_of([] { expand_braces("s{3..1}.tar"); }), "shard pattern 's{3..1}.tar': range {3..1} runs backwards");
}

TEST(ShardPattern, GlobsAndChecksFiles) {
  TempDir dir;
  for (const char* name : {"b.tar", "a.tar", "c.txt"}) test::write_bytes(dir / name, "x");
  EXPECT_EQ(internal::expand_shards(dir / "*.tar"), (std::vector<std::string>{dir / "a.tar", dir / "b.tar"}));
  EXPECT_EQ(internal::expand_shards(dir / "{b,a}.tar"), (std::vector<std::string>{dir / "b.tar", dir / "a.tar"}));
  EXPECT_EQ(error_of([&] { internal::expand_shards(dir / "{a,z}.tar"); }),
            dir / "z.tar" + ": no such file (from shard pattern '" + dir / "{a,z}.tar" + "')");
  EXPECT_EQ(error_of([&] { internal::expand_shards(dir / "*.zip"); }),
            "shard pattern '" + dir / "*.zip" + "' matches no files");
}

}  // namespace
}  // namespace tinynas::datasets
