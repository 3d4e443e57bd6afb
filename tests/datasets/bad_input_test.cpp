// Bad input of every kind: each error names the file (and the tar member), and
// skip_bad skips and counts corrupt images instead of failing.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/io.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "tests/datasets/test_data.h"

namespace tinynas::datasets {
namespace {

using test::error_of;
using test::TempDir;

std::string good_jpeg(uint64_t seed = 1) { return test::encode_jpeg(test::test_image(16, 16, seed)); }
std::string truncated_jpeg() {
  const std::string j = good_jpeg();
  return j.substr(0, j.size() / 2);
}
bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST(BadImageFolder, LayoutErrors) {
  TempDir dir;
  EXPECT_EQ(error_of([&] { open_dataset("imagefolder:" + dir / "none"); }),
            dir / "none" + ": not a folder (imagefolder needs DIR/<class>/<image>)");
  std::filesystem::create_directories(dir / "empty");
  EXPECT_EQ(error_of([&] { open_dataset("imagefolder:" + dir / "empty"); }),
            dir / "empty" + ": no class folders (expected DIR/<class>/<image>.jpg|png)");

  test::write_bytes(dir / "top/a/0.jpg", good_jpeg());
  test::write_bytes(dir / "top/readme.txt", "hello");
  EXPECT_EQ(error_of([&] { open_dataset("imagefolder:" + dir / "top"); }),
            dir / "top/readme.txt" + ": a file at the top of an imagefolder; expected only <class>/ folders");

  test::write_bytes(dir / "txt/a/0.jpg", good_jpeg());
  test::write_bytes(dir / "txt/a/notes.txt", "hello");
  EXPECT_EQ(error_of([&] { open_dataset("imagefolder:" + dir / "txt"); }),
            dir / "txt/a/notes.txt" + ": not an image file name (expected .jpg, .jpeg or .png)");

  test::write_bytes(dir / "hole/a/0.jpg", good_jpeg());
  std::filesystem::create_directories(dir / "hole/b");
  EXPECT_EQ(error_of([&] { open_dataset("imagefolder:" + dir / "hole"); }),
            dir / "hole/b" + ": class 'b' has no images");
}

TEST(BadImageFolder, CorruptAndMissingImagesNameTheFile) {
  TempDir dir;
  test::write_bytes(dir / "r/a/0.jpg", good_jpeg());
  test::write_bytes(dir / "r/a/1.jpg", truncated_jpeg());
  test::write_bytes(dir / "r/a/2.jpg", "this is text");
  test::write_bytes(dir / "r/a/3.jpg", std::string("\xFF\xD8\xFF\x01garbage garbage garbage", 27));
  test::write_bytes(dir / "r/b/4.png", test::encode_png(test::test_image(8, 8, 2)).substr(0, 60));
  test::write_bytes(dir / "r/b/5.jpg", good_jpeg());
  const auto ds = open_dataset("imagefolder:" + dir / "r");
  EXPECT_EQ(error_of([&] { ds->get(1); }), dir / "r/a/1.jpg" + ": corrupt JPEG: Premature end of JPEG file");
  EXPECT_EQ(error_of([&] { ds->get(2); }), dir / "r/a/2.jpg" + ": not a JPEG or PNG image (unrecognised signature)");
  EXPECT_TRUE(starts_with(error_of([&] { ds->get(3); }), dir / "r/a/3.jpg" + ": corrupt JPEG: "))
      << error_of([&] { ds->get(3); });
  EXPECT_TRUE(starts_with(error_of([&] { ds->get(4); }), dir / "r/b/4.png" + ": corrupt PNG: "))
      << error_of([&] { ds->get(4); });
  std::filesystem::remove(dir / "r/b/5.jpg");
  EXPECT_EQ(error_of([&] { ds->get(5); }), dir / "r/b/5.jpg" + ": cannot read: No such file or directory");
  EXPECT_EQ(ds->get(0).label, 0);  // the good one still reads
}

TEST(BadTar, LayoutErrorsNameShardAndMember) {
  TempDir dir;
  const std::string j = good_jpeg();
  EXPECT_EQ(error_of([&] { open_dataset("tar:" + dir / "none.tar"); }), dir / "none.tar" + ": no such file");
  test::write_bytes(dir / "text.tar", std::string(2000, 'x'));
  EXPECT_TRUE(starts_with(error_of([&] { open_dataset("tar:" + dir / "text.tar"); }),
                          dir / "text.tar" + ": cannot open as a tar: "))
      << error_of([&] { open_dataset("tar:" + dir / "text.tar"); });

  struct Case {
    std::vector<test::TarMember> members;
    std::string message;  // after "<shard>: "
  };
  const std::vector<Case> cases = {
      {{{"a/0.jpg", j}, {"readme.txt", "x"}}, "readme.txt: member is not in the <class>/<image>.jpg|png layout"},
      {{{"a/0.jpg", j}, {"a/b/1.jpg", j}}, "a/b/1.jpg: member is not in the <class>/<image>.jpg|png layout"},
      {{{"a/b/", "", true}}, "a/b/: a nested folder; expected members <class>/<image>.jpg|png"},
      {{{"a/0.jpg", j}, {"a/labels.csv", "x"}}, "a/labels.csv: not an image file name (expected .jpg, .jpeg or .png)"},
      {{{"a/", "", true}, {"b/", "", true}, {"a/0.jpg", j}}, "class 'b' has no images (its folder b/ is empty)"},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    const std::string tar = dir / ("case" + std::to_string(k) + ".tar");
    test::write_tar(tar, cases[k].members);
    EXPECT_EQ(error_of([&] { open_dataset("tar:" + tar); }), tar + ": " + cases[k].message) << k;
  }
  test::write_tar(dir / "empty.tar", {{"a/", "", true}});
  EXPECT_EQ(error_of([&] { open_dataset("tar:" + dir / "empty.tar"); }),
            dir / "empty.tar" + ": no images (expected members <class>/<image>.jpg|png)");
}

TEST(BadTar, CorruptMemberAndTruncatedShard) {
  TempDir dir;
  const std::string tar = dir / "t.tar";
  test::write_tar(tar, {{"a/0.jpg", good_jpeg(1)}, {"a/1.jpg", truncated_jpeg()}, {"b/2.jpg", good_jpeg(2)}});
  for (const uint64_t limit : {uint64_t{1} << 30, uint64_t{0}}) {  // in memory, and re-read from the shard
    DatasetOptions opts;
    opts.encoded_memory_bytes = limit;
    const auto ds = open_dataset("tar:" + tar, opts);
    EXPECT_EQ(error_of([&] { ds->get(1); }), tar + ": a/1.jpg: corrupt JPEG: Premature end of JPEG file");
  }
  // Cut inside the last member's data.
  std::string bytes = read_file(tar);
  const size_t cut = bytes.find("b/2.jpg") + 512 + 100;  // its header, then 100 bytes of its data
  test::write_bytes(dir / "cut.tar", bytes.substr(0, cut));
  const std::string message = error_of([&] { open_dataset("tar:" + dir / "cut.tar"); });
  EXPECT_TRUE(starts_with(message, dir / "cut.tar" + ": b/2.jpg: cannot read: ")) << message;
}

// CIFAR-10 records of one label each.
std::string cifar(const std::vector<int>& labels) {
  std::string out;
  for (const int l : labels) {
    out.push_back(static_cast<char>(l));
    out.append(3072, '\x40');
  }
  return out;
}

TEST(BadCifar10Bin, SizeAndLabel) {
  TempDir dir;
  test::write_bytes(dir / "short.bin", cifar({1}) + "x");
  EXPECT_EQ(error_of([&] { open_dataset("cifar10-bin:" + dir / "short.bin"); }),
            dir / "short.bin" + ": 3074 bytes is not a whole number of 3,073-byte CIFAR-10 records (label byte + "
                                "32x32x3)");
  test::write_bytes(dir / "label.bin", cifar({1, 10}));
  EXPECT_EQ(error_of([&] { open_dataset("cifar10-bin:" + dir / "label.bin"); }),
            dir / "label.bin" + ": record 1 (byte 3073): label 10 is out of range 0..9");
  std::filesystem::create_directories(dir / "nothing");
  EXPECT_EQ(error_of([&] { open_dataset("cifar10-bin:" + dir / "nothing"); }),
            dir / "nothing" + ": no data_batch_1..5.bin here (for the test set name test_batch.bin)");
}

TEST(BadMlperf, CsvErrorsNameFileAndLine) {
  TempDir dir;
  const std::string vww(96 * 96 * 3, '\x10');
  std::filesystem::create_directories(dir / "nocsv");
  EXPECT_EQ(error_of([&] { open_dataset("mlperf-vww:" + dir / "nocsv"); }),
            dir / "nocsv/y_labels.csv" + ": cannot read: No such file or directory");
  test::write_tar(dir / "nocsv.tar", {{"v/a.bin", vww}});
  EXPECT_EQ(error_of([&] { open_dataset("mlperf-vww:" + dir / "nocsv.tar"); }),
            dir / "nocsv.tar" + ": no y_labels.csv member in this tar");

  struct Case {
    std::string csv;
    std::string message;  // after "<csv>"; {dir} stands for the case's folder
  };
  const std::vector<Case> cases = {
      {"a.bin,2,1\na.bin,2\n", ":2: expected 'file,num_classes,label', got 'a.bin,2'"},
      {"a.bin,two,1\n", ":1: expected 'file,num_classes,label', got 'a.bin,two,1'"},
      {"a.bin,3,1\n", ":1: num_classes 3 does not match mlperf-vww's 2 classes"},
      {"\na.bin,2,2\n", ":2: label 2 is out of range 0..1"},
      {"a.bin,2,-1\n", ":1: label -1 is out of range 0..1"},
      {"b.bin,2,1\n", ":1: {dir}/b.bin: cannot read: No such file or directory"},
      {"short.bin,2,1\n", ":1: {dir}/short.bin: 10 bytes, expected 27648 (96x96x3 uint8)"},
      {"\n\n", ": no inputs listed (expected rows file,num_classes,label)"},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    const std::string folder = dir / ("c" + std::to_string(k));
    test::write_bytes(folder + "/a.bin", vww);
    test::write_bytes(folder + "/short.bin", std::string(10, 'x'));
    test::write_bytes(folder + "/y_labels.csv", cases[k].csv);
    std::string want = folder + "/y_labels.csv" + cases[k].message;
    if (const size_t p = want.find("{dir}"); p != std::string::npos) want.replace(p, 5, folder);
    EXPECT_EQ(error_of([&] { open_dataset("mlperf-vww:" + folder); }), want) << k;
  }
  // In a tar, the csv and the inputs are named as members.
  test::write_tar(dir / "m.tar", {{"v/y_labels.csv", "a.bin,2,1\nz.bin,2,0\n"}, {"v/a.bin", vww}});
  EXPECT_EQ(error_of([&] { open_dataset("mlperf-vww:" + dir / "m.tar"); }),
            dir / "m.tar" + ": v/y_labels.csv:2: " + dir / "m.tar" + ": v/z.bin: no such member in the tar");
}

TEST(BadMlperf, SkipBadDropsMissingAndWrongSizedInputs) {
  TempDir dir;
  const std::string ic(32 * 32 * 3, '\x20');
  test::write_bytes(dir / "ic/a.bin", ic);
  test::write_bytes(dir / "ic/b.bin", ic.substr(1));
  test::write_bytes(dir / "ic/d.bin", ic);
  test::write_bytes(dir / "ic/y_labels.csv", "a.bin,10,1\nb.bin,10,2\nc.bin,10,3\nd.bin,10,4\n");
  DatasetOptions opts;
  opts.skip_bad = true;
  const auto ds = open_dataset("mlperf-ic:" + dir / "ic", opts);
  ASSERT_EQ(ds->size(), 2);
  EXPECT_EQ(ds->label(0), 1);
  EXPECT_EQ(ds->label(1), 4);
  const BadSamples bad = ds->bad_samples();
  EXPECT_EQ(bad.count, 2);
  ASSERT_EQ(bad.first.size(), 2u);
  EXPECT_EQ(bad.first[0], dir / "ic/y_labels.csv" + ":2: " + dir / "ic/b.bin" + ": 3071 bytes, expected 3072 (32x32x3 uint8)");
  EXPECT_EQ(bad.first[1], dir / "ic/y_labels.csv" + ":3: " + dir / "ic/c.bin" + ": cannot read: No such file or directory");
  // A label out of range is not a corrupt image: it still fails.
  test::write_bytes(dir / "ic/y_labels.csv", "a.bin,10,10\n");
  EXPECT_EQ(error_of([&] { open_dataset("mlperf-ic:" + dir / "ic", opts); }),
            dir / "ic/y_labels.csv" + ":1: label 10 is out of range 0..9");
}

// 12 images, 2 corrupt: with skip_bad the loader drops them from their batches
// and the data set counts each once, however many epochs and workers.
TEST(SkipBad, LoaderSkipsAndCountsCorruptImages) {
  TempDir dir;
  for (int i = 0; i < 10; ++i)
    test::write_bytes(dir / ("r/" + std::string(i % 2 ? "b" : "a") + "/" + std::to_string(i) + ".jpg"), good_jpeg(i));
  test::write_bytes(dir / "r/a/bad1.jpg", truncated_jpeg());
  test::write_bytes(dir / "r/b/bad2.jpg", "not an image");
  DatasetOptions opts;
  opts.skip_bad = true;
  const auto ds = open_dataset("imagefolder:" + dir / "r", opts);
  ASSERT_EQ(ds->size(), 12);
  LoaderOptions lo;
  lo.batch_size = 5;
  lo.workers = 2;
  lo.transform.height = lo.transform.width = 8;
  std::vector<int64_t> sizes_first_epoch;
  for (int epoch = 0; epoch < 2; ++epoch) {
    DataLoader loader(ds, lo);
    loader.start_epoch(epoch);
    int64_t seen = 0;
    while (auto b = loader.next()) {
      seen += b->size;
      EXPECT_EQ(b->images.size(), static_cast<size_t>(b->size) * 3 * 8 * 8);
      if (epoch == 0) sizes_first_epoch.push_back(b->size);
    }
    EXPECT_EQ(seen, 10);
  }
  const BadSamples bad = ds->bad_samples();
  EXPECT_EQ(bad.count, 2);
  std::vector<std::string> first = bad.first;
  std::sort(first.begin(), first.end());
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0], dir / "r/a/bad1.jpg" + ": corrupt JPEG: Premature end of JPEG file");
  EXPECT_EQ(first[1], dir / "r/b/bad2.jpg" + ": not a JPEG or PNG image (unrecognised signature)");
  // The same batches with one worker.
  lo.workers = 1;
  DataLoader one(ds, lo);
  one.start_epoch(0);
  std::vector<int64_t> sizes;
  while (auto b = one.next()) sizes.push_back(b->size);
  EXPECT_EQ(sizes, sizes_first_epoch);
  EXPECT_EQ(ds->bad_samples().count, 2);
}

TEST(SkipBad, WithoutItTheLoaderRethrowsNamingTheFile) {
  TempDir dir;
  for (int i = 0; i < 4; ++i) test::write_bytes(dir / ("r/a/" + std::to_string(i) + ".jpg"), good_jpeg(i));
  test::write_bytes(dir / "r/a/9.jpg", truncated_jpeg());
  const auto ds = open_dataset("imagefolder:" + dir / "r");
  LoaderOptions lo;
  lo.batch_size = 2;
  lo.shuffle = false;
  lo.transform.height = lo.transform.width = 8;
  DataLoader loader(ds, lo);
  loader.start_epoch(0);
  EXPECT_TRUE(loader.next().has_value());
  EXPECT_TRUE(loader.next().has_value());
  EXPECT_EQ(error_of([&] { loader.next(); }), dir / "r/a/9.jpg" + ": corrupt JPEG: Premature end of JPEG file");
  EXPECT_FALSE(loader.next().has_value());  // that was the last batch
}

}  // namespace
}  // namespace tinynas::datasets
