// Every file-backed kind, on data the test writes: imagefolder, tar (one
// shard, brace and wildcard patterns, gzip, re-read from the shard),
// cifar10-bin and the three MLPerf Tiny kinds (folder and tar).
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "datasets/dataset.h"
#include "tests/datasets/test_data.h"

namespace tinynas::datasets {
namespace {

using test::error_of;
using test::TempDir;

// Mean absolute difference of two same-sized images (JPEG is lossy).
double mean_abs_diff(const Image& a, const Image& b) {
  EXPECT_EQ(a.data.size(), b.data.size());
  double sum = 0;
  for (size_t i = 0; i < std::min(a.data.size(), b.data.size()); ++i) sum += std::abs(a.data[i] - b.data[i]);
  return sum / static_cast<double>(a.data.size());
}

// Three classes, written out of order, two images each: PNG for "cat" (exact),
// JPEG for the others.
struct Folder {
  std::vector<std::string> classes = {"ant", "bee", "cat"};
  std::map<std::string, Image> images;  // "<class>/<file>" -> pixels
  std::vector<test::TarMember> members() const {
    std::vector<test::TarMember> out;
    for (const auto& [name, image] : images)
      out.push_back({name, name.ends_with(".png") ? test::encode_png(image) : test::encode_jpeg(image)});
    return out;
  }
};

Folder make_folder() {
  Folder f;
  uint64_t seed = 1;
  for (const auto& c : {"cat", "ant", "bee"})
    for (int i = 0; i < 2; ++i) {
      const std::string ext = std::string(c) == "cat" ? ".png" : ".jpg";
      f.images[std::string(c) + "/" + std::to_string(i) + ext] = test::test_image(12 + i, 16, seed++);
    }
  return f;
}

void expect_matches_folder(const Dataset& ds, const Folder& f) {
  ASSERT_EQ(ds.size(), 6);
  EXPECT_EQ(ds.class_names(), f.classes);
  EXPECT_EQ(ds.channels(), 3);
  EXPECT_EQ(class_counts(ds), (std::vector<int64_t>{2, 2, 2}));
  for (int64_t i = 0; i < ds.size(); ++i) {
    const Sample s = ds.get(i);
    const std::string name = ds.item_name(i);
    // The last two components; a tar member's class follows "<shard>: ".
    const std::string key = name.substr(name.find_last_of("/ ", name.rfind('/') - 1) + 1);
    ASSERT_TRUE(f.images.count(key)) << name;
    const Image& want = f.images.at(key);
    EXPECT_EQ(s.label, ds.label(i));
    EXPECT_EQ(f.classes[static_cast<size_t>(s.label)], key.substr(0, key.find('/')));
    EXPECT_EQ(s.image.height, want.height);
    EXPECT_EQ(s.image.width, want.width);
    if (key.ends_with(".png")) EXPECT_EQ(test::raw(s.image), test::raw(want)) << name;
    else EXPECT_LT(mean_abs_diff(s.image, want), 2.0) << name;
  }
}

TEST(ImageFolder, ReadsJpegAndPngWithSortedClasses) {
  TempDir dir;
  const Folder f = make_folder();
  for (const auto& m : f.members()) test::write_bytes(dir / ("root/" + m.name), m.data);
  test::write_bytes(dir / "root/.DS_Store", "junk");  // hidden files are passed over
  const auto ds = open_dataset("imagefolder:" + dir / "root");
  expect_matches_folder(*ds, f);
  EXPECT_EQ(ds->item_name(0), dir / "root/ant/0.jpg");
  EXPECT_EQ(ds->height(), 12);  // the first image's
  EXPECT_NE(ds->description().find("cached"), std::string::npos);
  // Without the cache, the same pixels.
  DatasetOptions no_cache;
  no_cache.cache_bytes = 0;
  const auto raw = open_dataset("imagefolder:" + dir / "root", no_cache);
  EXPECT_EQ(raw->description().find("cached"), std::string::npos);
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(test::raw(raw->get(i).image), test::raw(ds->get(i).image));
}

TEST(ImageFolder, GreyAndAlphaPngBecomeRgb) {
  TempDir dir;
  Image grey;
  grey.height = 2, grey.width = 3, grey.channels = 1;
  grey.data = {0, 50, 100, 150, 200, 250};
  Image rgba;
  rgba.height = 1, rgba.width = 2, rgba.channels = 4;
  rgba.data = {200, 100, 50, 255, 200, 100, 50, 0};  // opaque, then transparent
  test::write_bytes(dir / "r/a/grey.png", test::encode_png(grey, PNG_FORMAT_GRAY));
  test::write_bytes(dir / "r/b/rgba.png", test::encode_png(rgba, PNG_FORMAT_RGBA));
  const auto ds = open_dataset("imagefolder:" + dir / "r");
  const Image g = ds->get(0).image;
  ASSERT_EQ(g.channels, 3);
  for (size_t p = 0; p < 6; ++p)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(g.data[p * 3 + c], grey.data[p]);
  const Image a = ds->get(1).image;
  EXPECT_EQ(test::raw(a), std::string({char(200), char(100), char(50), 0, 0, 0}));  // on black
}

TEST(Tar, OneShardWithDotSlashAndFolders) {
  TempDir dir;
  const Folder f = make_folder();
  std::vector<test::TarMember> members = {{"./", "", true}};
  for (const auto& c : f.classes) members.push_back({"./" + c + "/", "", true});
  for (auto& m : f.members()) members.push_back({"./" + m.name, m.data});
  test::write_tar(dir / "all.tar", members);
  const auto ds = open_dataset("tar:" + dir / "all.tar");
  expect_matches_folder(*ds, f);
  EXPECT_EQ(ds->item_name(0), dir / "all.tar" + ": ant/0.jpg");
  EXPECT_NE(ds->description().find("members in memory"), std::string::npos);
}

TEST(Tar, BraceAndWildcardShardsAndGzip) {
  TempDir dir;
  const Folder f = make_folder();
  const auto all = f.members();
  // Shard k holds members k and k + 3; shard 001 is gzip-compressed.
  for (int k = 0; k < 3; ++k)
    test::write_tar(dir / ("s/train-00" + std::to_string(k) + ".tar"), {all[k], all[k + 3]}, k == 1);
  for (const std::string pattern : {"s/train-{000..002}.tar", "s/*.tar", "s/train-00[0-2].tar"}) {
    const auto ds = open_dataset("tar:" + dir / pattern);
    expect_matches_folder(*ds, f);
    EXPECT_NE(ds->description().find("in 3 shard(s)"), std::string::npos) << pattern;
  }
}

TEST(Tar, ReReadFromTheShardWhenOverTheMemoryLimit) {
  TempDir dir;
  const Folder f = make_folder();
  auto members = f.members();
  // A member name over 100 characters needs a pax header before its own:
  // re-reading from the recorded position must start at that header.
  const std::string long_name = "bee/" + std::string(120, 'x') + ".jpg";
  members.push_back({long_name, members[2].data});
  test::write_tar(dir / "big.tar", members);
  DatasetOptions opts;
  opts.encoded_memory_bytes = 0;
  opts.cache_bytes = 0;
  const auto ds = open_dataset("tar:" + dir / "big.tar", opts);
  EXPECT_NE(ds->description().find("re-read from the shards"), std::string::npos);
  ASSERT_EQ(ds->size(), 7);
  const auto mem = open_dataset("tar:" + dir / "big.tar");
  for (int64_t i = 0; i < ds->size(); ++i) {
    EXPECT_EQ(ds->item_name(i), mem->item_name(i));
    EXPECT_EQ(test::raw(ds->get(i).image), test::raw(mem->get(i).image)) << ds->item_name(i);
  }
  // Compressed shards cannot be re-read at random.
  test::write_tar(dir / "big.tar.gz", members, true);
  EXPECT_EQ(error_of([&] { open_dataset("tar:" + dir / "big.tar.gz", opts); }),
            dir / "big.tar.gz" + ": compressed shards larger than encoded_memory_bytes (0 bytes) cannot be read "
                                 "at random; decompress them or raise the limit");
}

// Writes CIFAR-10 binary records: label, then R, G and B planes.
std::string cifar_records(const std::vector<std::pair<int, Image>>& records) {
  std::string out;
  for (const auto& [label, image] : records) {
    out.push_back(static_cast<char>(label));
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 1024; ++p) out.push_back(static_cast<char>(image.data[static_cast<size_t>(p) * 3 + c]));
  }
  return out;
}

TEST(Cifar10Bin, FolderAndFileAndHwcOrder) {
  TempDir dir;
  std::vector<std::pair<int, Image>> b1 = {{3, test::test_image(32, 32, 1)}, {9, test::test_image(32, 32, 2)}};
  std::vector<std::pair<int, Image>> b2 = {{0, test::test_image(32, 32, 3)}};
  test::write_bytes(dir / "c/data_batch_1.bin", cifar_records(b1));
  test::write_bytes(dir / "c/data_batch_2.bin", cifar_records(b2));
  test::write_bytes(dir / "c/test_batch.bin", cifar_records(b2));
  const auto train = open_dataset("cifar10-bin:" + dir / "c");
  ASSERT_EQ(train->size(), 3);
  EXPECT_EQ(train->num_classes(), 10);
  EXPECT_EQ(train->class_names()[3], "cat");
  EXPECT_EQ(train->get(0).label, 3);
  EXPECT_EQ(train->get(1).label, 9);
  EXPECT_EQ(train->get(2).label, 0);
  EXPECT_EQ(test::raw(train->get(1).image), test::raw(b1[1].second));
  EXPECT_EQ(test::raw(train->get(2).image), test::raw(b2[0].second));
  EXPECT_EQ(train->item_name(2), dir / "c/data_batch_2.bin" + ": record 0");
  const auto test_set = open_dataset("cifar10-bin:" + dir / "c/test_batch.bin");
  EXPECT_EQ(test_set->size(), 1);
}

// An MLPerf Tiny folder: <name>.bin files and y_labels.csv.
struct Mlperf {
  std::string kind;
  size_t bytes;
  int classes;
};

std::vector<test::TarMember> mlperf_members(const Mlperf& m, const std::string& folder, bool header) {
  std::vector<test::TarMember> out;
  std::string csv = header ? "file,num_classes,label\r\n" : "";
  for (int i = 0; i < 4; ++i) {
    std::string data(m.bytes, '\0');
    for (size_t k = 0; k < m.bytes; ++k) data[k] = static_cast<char>((k * 7 + static_cast<size_t>(i) * 31) % 256);
    const std::string name = "in_" + std::to_string(i) + ".bin";
    out.push_back({folder + name, data});
    csv += name + "," + std::to_string(m.classes) + "," + std::to_string((i * 5) % m.classes) + "\n";
  }
  out.push_back({folder + "y_labels.csv", csv});
  return out;
}

TEST(Mlperf, FolderAndTarOfEveryKind) {
  TempDir dir;
  for (const Mlperf& m : {Mlperf{"mlperf-vww", 96 * 96 * 3, 2}, Mlperf{"mlperf-ic", 32 * 32 * 3, 10},
                          Mlperf{"mlperf-kws", 490, 12}}) {
    const auto members = mlperf_members(m, "in01/", m.kind == "mlperf-ic");
    for (const auto& member : members) test::write_bytes(dir / (m.kind + "/" + member.name), member.data);
    test::write_tar(dir / (m.kind + ".tar"), members);
    for (const std::string& path : {dir / (m.kind + "/in01"), dir / (m.kind + ".tar")}) {
      const auto ds = open_dataset(m.kind + ":" + path);
      ASSERT_EQ(ds->size(), 4) << path;
      EXPECT_EQ(ds->num_classes(), m.classes);
      EXPECT_EQ(static_cast<size_t>(ds->height() * ds->width() * ds->channels()), m.bytes);
      for (int64_t i = 0; i < 4; ++i) {
        const Sample s = ds->get(i);
        EXPECT_EQ(s.label, (i * 5) % m.classes);
        EXPECT_EQ(test::raw(s.image), members[static_cast<size_t>(i)].data);
      }
      if (path.ends_with(".tar")) EXPECT_EQ(ds->item_name(1), path + ": in01/in_1.bin");
      else EXPECT_EQ(ds->item_name(1), path + "/in_1.bin");
    }
  }
}

TEST(Mlperf, KwsIsAnInt8OneChannelImage) {
  TempDir dir;
  const auto members = mlperf_members({"mlperf-kws", 490, 12}, "", false);
  for (const auto& m : members) test::write_bytes(dir / ("k/" + m.name), m.data);
  const auto ds = open_dataset("mlperf-kws:" + dir / "k");
  EXPECT_EQ(ds->height(), 49);
  EXPECT_EQ(ds->width(), 10);
  EXPECT_EQ(ds->channels(), 1);
  EXPECT_EQ(ds->pixel_type(), PixelType::kInt8);
  EXPECT_EQ(ds->class_names()[7], "stop");
  const Image img = ds->get(0).image;
  EXPECT_EQ(img.type, PixelType::kInt8);
  // Element 37 holds byte (37 * 7) % 256 = 259 % 256 = 3; element 20 holds 140 = -116 as int8.
  EXPECT_EQ(img.value(37), 3.0f);
  EXPECT_EQ(img.value(20), -116.0f);
  EXPECT_EQ(img.at(2, 0, 0), img.value(20));
}

}  // namespace
}  // namespace tinynas::datasets
