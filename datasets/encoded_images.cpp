#include "datasets/internal/encoded_images.h"

#include "core/error.h"
#include "datasets/internal/codec.h"

namespace tinynas::datasets::internal {

void EncodedImageDataset::check_index(int64_t i) const {
  if (i < 0 || i >= size())
    throw Error(spec_.path + ": item " + std::to_string(i) + " out of range 0.." + std::to_string(size() - 1));
}

int32_t EncodedImageDataset::label(int64_t i) const {
  check_index(i);
  return labels_[static_cast<size_t>(i)];
}

Sample EncodedImageDataset::get(int64_t i) const {
  check_index(i);
  const EncodedBytes b = bytes_of(i);
  return {decode_image(b.data, b.size, where(i)), labels_[static_cast<size_t>(i)]};
}

std::string EncodedImageDataset::item_name(int64_t i) const {
  check_index(i);
  return where(i);
}

void EncodedImageDataset::probe_native_size(bool skip_bad) {
  for (int64_t i = 0; i < size(); ++i) {
    try {
      const EncodedBytes b = bytes_of(i);
      probe_image(b.data, b.size, where(i), &height_, &width_);
      return;
    } catch (const Error&) {
      if (!skip_bad || i + 1 == size()) throw;
    }
  }
}

std::string EncodedImageDataset::summary() const {
  return std::to_string(size()) + " images, " + std::to_string(names_.size()) + " classes, first " +
         std::to_string(height_) + "x" + std::to_string(width_) + "x3";
}

}  // namespace tinynas::datasets::internal
