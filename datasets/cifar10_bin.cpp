// The `cifar10-bin` kind: the CIFAR-10 "binary version" batch files, each a
// sequence of 3,073-byte records (label byte, then 1,024 red, 1,024 green and
// 1,024 blue bytes, rows top to bottom). A folder means its training batches
// data_batch_1..5.bin; name test_batch.bin (or a pattern) for others. Loaded
// whole at open and stored HWC (147 MiB for the training set).
#include <filesystem>

#include "core/error.h"
#include "core/io.h"
#include "datasets/internal/readers.h"

namespace tinynas::datasets::internal {

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

namespace {

constexpr int32_t kSide = 32, kPlane = kSide * kSide, kRecord = 1 + 3 * kPlane;

class Cifar10BinDataset final : public Dataset {
 public:
  Cifar10BinDataset(const DatasetSpec& spec, const DatasetOptions& options)
      : Dataset(options.skip_bad), spec_(spec) {
    std::error_code ec;
    if (std::filesystem::is_directory(spec.path, ec)) {
      for (int b = 1; b <= 5; ++b) {
        const auto f = std::filesystem::path(spec.path) / ("data_batch_" + std::to_string(b) + ".bin");
        if (std::filesystem::exists(f, ec)) files_.push_back(f.string());
      }
      if (files_.empty())
        throw Error(spec.path + ": no data_batch_1..5.bin here (for the test set name test_batch.bin)");
    } else {
      files_ = expand_shards(spec.path);
    }
    for (size_t f = 0; f < files_.size(); ++f) {
      const std::string& file = files_[f];
      const std::string bytes = read_file(file);
      if (bytes.empty() || bytes.size() % kRecord != 0)
        throw Error(file + ": " + std::to_string(bytes.size()) + " bytes is not a whole number of 3,073-byte " +
                    "CIFAR-10 records (label byte + 32x32x3)");
      const size_t records = bytes.size() / kRecord;
      const size_t base = labels_.size();
      pixels_.resize((base + records) * 3 * kPlane);
      for (size_t r = 0; r < records; ++r) {
        const auto* rec = reinterpret_cast<const uint8_t*>(bytes.data()) + r * kRecord;
        if (rec[0] > 9)
          throw Error(file + ": record " + std::to_string(r) + " (byte " + std::to_string(r * kRecord) +
                      "): label " + std::to_string(rec[0]) + " is out of range 0..9");
        labels_.push_back(rec[0]);
        // CHW planes -> HWC, the layout every other kind returns.
        uint8_t* out = pixels_.data() + (base + r) * 3 * kPlane;
        for (int32_t p = 0; p < kPlane; ++p)
          for (int32_t c = 0; c < 3; ++c) out[p * 3 + c] = rec[1 + c * kPlane + p];
        origin_.push_back({static_cast<int32_t>(f), static_cast<int32_t>(r)});
      }
    }
  }

  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  const std::vector<std::string>& class_names() const override { return cifar10_class_names(); }
  int32_t height() const override { return kSide; }
  int32_t width() const override { return kSide; }
  int32_t channels() const override { return 3; }
  int32_t label(int64_t i) const override { return labels_[check(i)]; }
  Sample get(int64_t i) const override {
    const size_t k = check(i);
    Sample s;
    s.label = labels_[k];
    s.image.height = s.image.width = kSide;
    s.image.channels = 3;
    const uint8_t* p = pixels_.data() + k * 3 * kPlane;
    s.image.data.assign(p, p + 3 * kPlane);
    return s;
  }
  std::string item_name(int64_t i) const override {
    const auto& o = origin_[check(i)];
    return files_[static_cast<size_t>(o.file)] + ": record " + std::to_string(o.record);
  }
  std::string description() const override {
    return "cifar10-bin " + spec_.path + ": " + std::to_string(labels_.size()) + " images in " +
           std::to_string(files_.size()) + " file(s), 10 classes, 32x32x3, in memory";
  }

 private:
  struct Origin {
    int32_t file;
    int32_t record;
  };
  size_t check(int64_t i) const {
    if (i < 0 || i >= size())
      throw Error(spec_.path + ": item " + std::to_string(i) + " out of range 0.." + std::to_string(size() - 1));
    return static_cast<size_t>(i);
  }
  DatasetSpec spec_;
  std::vector<std::string> files_;
  std::vector<uint8_t> pixels_;
  std::vector<int32_t> labels_;
  std::vector<Origin> origin_;
};

}  // namespace

std::shared_ptr<const Dataset> open_cifar10_bin(const DatasetSpec& spec, const DatasetOptions& options) {
  return std::make_shared<Cifar10BinDataset>(spec, options);
}

}  // namespace tinynas::datasets::internal
