// The part the image-file kinds (imagefolder, tar) share: a list of encoded
// JPEG/PNG images with labels, decoded on get(), the native size read from
// the first readable image. A kind lists its items (class names, one label
// per item) and says how to read and name item i. Internal to datasets/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace tinynas::datasets::internal {

class EncodedImageDataset : public Dataset {
 public:
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  const std::vector<std::string>& class_names() const override { return names_; }
  int32_t height() const override { return height_; }
  int32_t width() const override { return width_; }
  int32_t channels() const override { return 3; }
  int32_t label(int64_t i) const override;
  Sample get(int64_t i) const override;
  std::string item_name(int64_t i) const override;

 protected:
  // One item's encoded bytes: pointing into memory the data set keeps, or
  // owned (read for this call).
  struct EncodedBytes {
    std::vector<uint8_t> owned;
    const uint8_t* data = nullptr;
    size_t size = 0;
  };

  EncodedImageDataset(const DatasetSpec& spec, bool skip_bad) : Dataset(skip_bad), spec_(spec) {}

  // Item i (in range) as bytes, and as errors name it.
  virtual EncodedBytes bytes_of(int64_t i) const = 0;
  virtual std::string where(int64_t i) const = 0;

  // Once names_ and labels_ are filled: the native size from the first image
  // that decodes; with skip_bad a corrupt image is passed over here (and
  // counted when the loader meets it). Throws when none can be read.
  void probe_native_size(bool skip_bad);
  // "N images, K classes, first HxWx3".
  std::string summary() const;

  DatasetSpec spec_;
  std::vector<std::string> names_;
  std::vector<int32_t> labels_;  // one per item
  int32_t height_ = 0, width_ = 0;

 private:
  void check_index(int64_t i) const;
};

}  // namespace tinynas::datasets::internal
