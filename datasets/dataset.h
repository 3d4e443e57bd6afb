// Data sets: where the supernet's training images, the search's validation
// images and deploy's calibration inputs come from. One spec string names a
// data set (`KIND:PATH`), open_dataset() reads its index, and Dataset::get(i)
// returns image i decoded (HWC, 8-bit) with its label. Augmentation and
// batching are in transforms.h and loader.h; nothing here depends on LibTorch.
//
// Kinds (the spec syntax, with examples, is in datasets/README.md):
//   generated:10x2000[,res=R][,seed=S]  procedural images of 10 classes, 2,000 each
//   imagefolder:DIR                      DIR/<class>/<image>.jpg|png
//   tar:FILE|PATTERN                     tar shards of <class>/<image>.jpg|png
//                                        (train-{000..003}.tar, shards/*.tar)
//   cifar10-bin:DIR|FILE|PATTERN         CIFAR-10 binary batches (label byte + 3072 CHW)
//   mlperf-vww|mlperf-ic|mlperf-kws:DIR|TAR  MLPerf Tiny inputs: raw .bin + y_labels.csv
//
// Ownership and cost: opening reads the index (file names and labels; for tar
// shards every member's bytes once, kept in memory up to
// DatasetOptions::encoded_memory_bytes). CIFAR binaries and MLPerf inputs are
// raw pixels and are loaded whole at open. Image files are decoded on get();
// when the whole data set decoded fits DatasetOptions::cache_bytes (default
// 512 MiB; CIFAR-10's 50,000 images are 147 MiB) each image is decoded once
// and kept, so only the first epoch pays for decoding. get() is thread-safe.
//
// Errors are tinynas::Error and name the file, and for tar shards the member:
// "train.tar: cat/0001.jpg: corrupt JPEG: Premature end of JPEG file".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tinynas::datasets {

// How a stored element reads as a number. Images are uint8 (0..255); the KWS
// MFCC features are int8 (-128..127) kept bit for bit.
enum class PixelType : uint8_t { kUint8, kInt8 };

// One decoded image (or feature map), height x width x channels, row-major HWC.
struct Image {
  int32_t height = 0;
  int32_t width = 0;
  int32_t channels = 0;
  PixelType type = PixelType::kUint8;
  std::vector<uint8_t> data;  // height * width * channels elements

  // Element i as a number: 0..255 for uint8, -128..127 for int8.
  float value(size_t i) const {
    return type == PixelType::kInt8 ? static_cast<float>(static_cast<int8_t>(data[i]))
                                    : static_cast<float>(data[i]);
  }
  float at(int32_t y, int32_t x, int32_t c) const {
    return value((static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) *
                     static_cast<size_t>(channels) +
                 static_cast<size_t>(c));
  }
};

struct Sample {
  Image image;
  int32_t label = 0;
};

struct DatasetOptions {
  // Decoded images are cached in memory when the whole data set's decoded size
  // (estimated from its native size) is at most this; 0 turns the cache off.
  uint64_t cache_bytes = 512ull << 20;
  // tar: members' bytes are read into memory at open when the shards' total
  // size is at most this; larger (uncompressed) shards are re-read per image.
  uint64_t encoded_memory_bytes = 1ull << 30;
  // Corrupt or missing images are skipped and counted (bad_samples()) instead
  // of failing: files listed in an MLPerf y_labels.csv that are missing or
  // have the wrong size are dropped at open, images that fail to decode are
  // dropped from their batch by the loader. Layout errors (wrong tar layout,
  // empty class, label out of range, an unreadable csv) still fail.
  bool skip_bad = false;
};

// A parsed `KIND:PATH` spec. For `generated`, PATH is `CLASSESxIMAGES` (images
// per class) with optional `,res=R` (square side, default 32) and `,seed=S`
// (default 0; the class look is fixed, the seed draws the images, so a test
// set is the same spec with another seed).
struct DatasetSpec {
  std::string text;  // as given
  std::string kind;
  std::string path;
  int32_t classes = 0;
  int64_t per_class = 0;
  int32_t resolution = 32;
  uint64_t seed = 0;
};

// The known kinds, in the order error messages list them.
const std::vector<std::string>& dataset_kinds();
// Throws tinynas::Error for a malformed spec or an unknown kind (listing the
// known ones). Does not touch the file system.
DatasetSpec parse_dataset_spec(const std::string& text);

// Distinct corrupt images seen so far (deduplicated by message) and the first
// few messages, for one warning at the end of an epoch or a run.
struct BadSamples {
  int64_t count = 0;
  std::vector<std::string> first;  // at most 5 messages
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  Dataset(const Dataset&) = delete;
  Dataset& operator=(const Dataset&) = delete;

  virtual int64_t size() const = 0;
  virtual const std::vector<std::string>& class_names() const = 0;
  int32_t num_classes() const { return static_cast<int32_t>(class_names().size()); }
  // Native size: every image's for the fixed-size kinds; the first image's for
  // image files, whose sizes may vary (transforms resize anyway).
  virtual int32_t height() const = 0;
  virtual int32_t width() const = 0;
  virtual int32_t channels() const = 0;
  virtual PixelType pixel_type() const { return PixelType::kUint8; }
  // Label of item i without decoding it (splits and class counts use it).
  virtual int32_t label(int64_t i) const = 0;
  // Item i decoded. Thread-safe. Throws tinynas::Error naming the item.
  virtual Sample get(int64_t i) const = 0;
  // Where item i comes from, as errors name it ("train.tar: cat/0001.jpg").
  virtual std::string item_name(int64_t i) const = 0;
  // One line: kind, path, size, classes, native size, whether it is cached.
  virtual std::string description() const = 0;

  bool skip_bad() const;
  // Records a corrupt item (thread-safe); subsets share their parent's record.
  void record_bad(const std::string& message) const;
  BadSamples bad_samples() const;

 protected:
  struct BadRecord;
  explicit Dataset(bool skip_bad);
  // A view (subset, cache) shares the bad-sample record of what it views.
  explicit Dataset(const Dataset& viewed, int);

 private:
  std::shared_ptr<BadRecord> bad_;
};

// Opens a data set; throws tinynas::Error naming the path on any problem with
// the layout (see datasets/README.md for what each kind checks at open).
std::shared_ptr<const Dataset> open_dataset(const DatasetSpec& spec, const DatasetOptions& options = {});
std::shared_ptr<const Dataset> open_dataset(const std::string& spec, const DatasetOptions& options = {});

// Items `indices` of `parent`, in that order (indices are checked).
std::shared_ptr<const Dataset> make_subset(std::shared_ptr<const Dataset> parent,
                                           std::vector<int64_t> indices, std::string name);

// Items per class, indexed by label.
std::vector<int64_t> class_counts(const Dataset& dataset);

// A validation set held out of the training set, stratified: in every class,
// round(val_fraction x its count) items (at least 1 and at most count - 1 when
// the class has 2 or more and val_fraction > 0) chosen by a per-class
// shuffle seeded by derive_seed(seed, class). Both lists are ascending, and
// depend only on the labels, the fraction and the seed.
struct SplitIndices {
  std::vector<int64_t> train;
  std::vector<int64_t> val;
};
SplitIndices split_indices(const Dataset& dataset, double val_fraction, uint64_t seed);

struct TrainValSplit {
  std::shared_ptr<const Dataset> train;
  std::shared_ptr<const Dataset> val;
};
// val_fraction in [0, 1); throws tinynas::Error otherwise.
TrainValSplit split_train_val(std::shared_ptr<const Dataset> dataset, double val_fraction, uint64_t seed);

}  // namespace tinynas::datasets
