// The `imagefolder` kind: DIR/<class>/<image>.jpg|png, classes the sorted
// folder names (torchvision's ImageFolder layout). Opening lists the files and
// reads one header for the native size; images are decoded on get().
#include <algorithm>
#include <filesystem>
#include <system_error>

#include "core/error.h"
#include "core/io.h"
#include "datasets/internal/codec.h"
#include "datasets/internal/encoded_images.h"
#include "datasets/internal/readers.h"

namespace tinynas::datasets::internal {

namespace {

namespace fs = std::filesystem;

bool hidden(const std::string& name) { return !name.empty() && name[0] == '.'; }

class ImageFolderDataset final : public EncodedImageDataset {
 public:
  ImageFolderDataset(const DatasetSpec& spec, const DatasetOptions& options)
      : EncodedImageDataset(spec, options.skip_bad) {
    const fs::path root(spec.path);
    std::error_code ec;
    if (!fs::is_directory(root, ec)) throw Error(spec.path + ": not a folder (imagefolder needs DIR/<class>/<image>)");

    std::vector<fs::path> class_dirs;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
      const std::string name = entry.path().filename().string();
      if (hidden(name)) continue;  // .DS_Store, .git and the like
      if (entry.is_directory()) {
        class_dirs.push_back(entry.path());
      } else {
        throw Error(entry.path().string() + ": a file at the top of an imagefolder; expected only <class>/ folders");
      }
    }
    if (ec) throw Error(spec.path + ": cannot list: " + ec.message());
    if (class_dirs.empty()) throw Error(spec.path + ": no class folders (expected DIR/<class>/<image>.jpg|png)");
    std::sort(class_dirs.begin(), class_dirs.end());

    for (size_t c = 0; c < class_dirs.size(); ++c) {
      names_.push_back(class_dirs[c].filename().string());
      std::vector<std::string> files;
      for (const auto& entry : fs::directory_iterator(class_dirs[c], ec)) {
        const std::string name = entry.path().filename().string();
        if (hidden(name)) continue;
        if (entry.is_directory())
          throw Error(entry.path().string() + ": a folder inside class '" + names_.back() +
                      "'; expected <class>/<image>.jpg|png");
        if (!is_image_name(name))
          throw Error(entry.path().string() + ": not an image file name (expected .jpg, .jpeg or .png)");
        files.push_back(entry.path().string());
      }
      if (ec) throw Error(class_dirs[c].string() + ": cannot list: " + ec.message());
      if (files.empty()) throw Error(class_dirs[c].string() + ": class '" + names_.back() + "' has no images");
      std::sort(files.begin(), files.end());
      for (auto& f : files) {
        paths_.push_back(std::move(f));
        labels_.push_back(static_cast<int32_t>(c));
      }
    }
    probe_native_size(options.skip_bad);
  }

  std::string description() const override { return "imagefolder " + spec_.path + ": " + summary(); }

 private:
  EncodedBytes bytes_of(int64_t i) const override {
    EncodedBytes b;
    const std::string bytes = read_file(paths_[static_cast<size_t>(i)]);
    b.owned.assign(bytes.begin(), bytes.end());
    b.data = b.owned.data();
    b.size = b.owned.size();
    return b;
  }
  std::string where(int64_t i) const override { return paths_[static_cast<size_t>(i)]; }

  std::vector<std::string> paths_;  // one per item
};

}  // namespace

std::shared_ptr<const Dataset> open_image_folder(const DatasetSpec& spec, const DatasetOptions& options) {
  return maybe_cache(std::make_shared<ImageFolderDataset>(spec, options), options.cache_bytes);
}

}  // namespace tinynas::datasets::internal
