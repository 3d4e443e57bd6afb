// The `imagefolder` kind: DIR/<class>/<image>.jpg|png, classes the sorted
// folder names (torchvision's ImageFolder layout). Opening lists the files and
// reads one header for the native size; images are decoded on get().
#include <algorithm>
#include <filesystem>
#include <system_error>

#include "core/error.h"
#include "core/io.h"
#include "datasets/internal/codec.h"
#include "datasets/internal/readers.h"

namespace tinynas::datasets::internal {

namespace {

namespace fs = std::filesystem;

bool hidden(const std::string& name) { return !name.empty() && name[0] == '.'; }

class ImageFolderDataset final : public Dataset {
 public:
  ImageFolderDataset(const DatasetSpec& spec, const DatasetOptions& options)
      : Dataset(options.skip_bad), spec_(spec) {
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
      for (auto& f : files) items_.push_back({std::move(f), static_cast<int32_t>(c)});
    }

    // The native size is the first readable image's; with skip_bad a corrupt
    // first image is passed over here and counted when the loader meets it.
    for (size_t i = 0; i < items_.size(); ++i) {
      try {
        const std::string bytes = read_file(items_[i].path);
        probe_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), items_[i].path, &height_, &width_);
        break;
      } catch (const Error&) {
        if (!options.skip_bad || i + 1 == items_.size()) throw;
      }
    }
  }

  int64_t size() const override { return static_cast<int64_t>(items_.size()); }
  const std::vector<std::string>& class_names() const override { return names_; }
  int32_t height() const override { return height_; }
  int32_t width() const override { return width_; }
  int32_t channels() const override { return 3; }
  int32_t label(int64_t i) const override { return item(i).label; }
  Sample get(int64_t i) const override {
    const Item& it = item(i);
    const std::string bytes = read_file(it.path);
    return {decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), it.path), it.label};
  }
  std::string item_name(int64_t i) const override { return item(i).path; }
  std::string description() const override {
    return "imagefolder " + spec_.path + ": " + std::to_string(items_.size()) + " images, " +
           std::to_string(names_.size()) + " classes, first " + std::to_string(height_) + "x" +
           std::to_string(width_) + "x3";
  }

 private:
  struct Item {
    std::string path;
    int32_t label;
  };
  const Item& item(int64_t i) const {
    if (i < 0 || i >= size())
      throw Error(spec_.path + ": item " + std::to_string(i) + " out of range 0.." + std::to_string(size() - 1));
    return items_[static_cast<size_t>(i)];
  }
  DatasetSpec spec_;
  std::vector<std::string> names_;
  std::vector<Item> items_;
  int32_t height_ = 0, width_ = 0;
};

}  // namespace

std::shared_ptr<const Dataset> open_image_folder(const DatasetSpec& spec, const DatasetOptions& options) {
  return maybe_cache(std::make_shared<ImageFolderDataset>(spec, options), options.cache_bytes);
}

}  // namespace tinynas::datasets::internal
