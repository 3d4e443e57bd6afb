// The `tar` kind: one or more tar shards of <class>/<image>.jpg|png members
// (webdataset-style sharding of an imagefolder), read with libarchive.
//
// Opening reads every shard once, front to back: it checks the layout, and
// when the shards together are at most encoded_memory_bytes it keeps every
// member's bytes in one buffer (CIFAR-10's train.tar: 74 MiB of tar, 44 MiB of
// JPEG). Larger shards must be uncompressed; then only each member's header
// position is kept and get() re-reads the member from there (a pread() and a
// libarchive header parse, no tar parsing of our own).
#include <filesystem>
#include <map>

#include "core/error.h"
#include "datasets/internal/codec.h"
#include "datasets/internal/encoded_images.h"
#include "datasets/internal/readers.h"
#include "datasets/internal/tar_reader.h"

namespace tinynas::datasets::internal {

namespace {

std::vector<std::string> split_path(const std::string& name) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t slash = name.find('/', start);
    parts.push_back(name.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() > 1 && parts.back().empty()) parts.pop_back();  // "cat/" of a directory
  return parts;
}

class TarDataset final : public EncodedImageDataset {
 public:
  TarDataset(const DatasetSpec& spec, const DatasetOptions& options) : EncodedImageDataset(spec, options.skip_bad) {
    shards_ = expand_shards(spec.path);
    uint64_t total = 0;
    for (const auto& s : shards_) {
      std::error_code ec;
      const auto bytes = std::filesystem::file_size(s, ec);
      if (ec) throw Error(s + ": cannot read: " + ec.message());
      total += bytes;
    }
    in_memory_ = total <= options.encoded_memory_bytes;
    if (in_memory_) blob_.reserve(total);

    std::map<std::string, int64_t> class_sizes;          // class -> images
    std::map<std::string, std::string> class_first_seen;  // class -> shard, for the empty-class message
    std::vector<std::string> item_class;
    for (size_t s = 0; s < shards_.size(); ++s) {
      TarReader reader(shards_[s]);
      TarEntry entry;
      bool checked_compression = in_memory_;
      while (reader.next(&entry)) {
        const std::string where = shards_[s] + ": " + entry.name;
        const auto parts = split_path(entry.name);
        if (entry.type == TarEntry::Type::kDirectory) {
          if (parts.size() != 1)
            throw Error(where + ": a nested folder; expected members <class>/<image>.jpg|png");
          class_sizes.try_emplace(parts[0], 0);
          class_first_seen.try_emplace(parts[0], shards_[s]);
          continue;
        }
        const std::string& base = parts.back();
        if (!base.empty() && base[0] == '.') continue;  // ._0001.jpg from macOS tar and the like
        if (entry.type != TarEntry::Type::kFile)
          throw Error(where + ": not a regular file (links and devices are not images)");
        if (parts.size() != 2 || parts[0].empty() || parts[1].empty())
          throw Error(where + ": member is not in the <class>/<image>.jpg|png layout");
        if (!is_image_name(parts[1]))
          throw Error(where + ": not an image file name (expected .jpg, .jpeg or .png)");
        if (!checked_compression) {
          // Known only after the first header has been read.
          if (reader.compressed())
            throw Error(shards_[s] + ": compressed shards larger than encoded_memory_bytes (" +
                        std::to_string(options.encoded_memory_bytes) +
                        " bytes) cannot be read at random; decompress them or raise the limit");
          checked_compression = true;
        }
        ++class_sizes[parts[0]];
        class_first_seen.try_emplace(parts[0], shards_[s]);
        Item item;
        item.shard = static_cast<int32_t>(s);
        item.member = entry.name;
        if (in_memory_) {
          item.offset = static_cast<int64_t>(blob_.size());
          reader.read(&blob_);
          item.size = static_cast<int64_t>(blob_.size()) - item.offset;
        } else {
          item.offset = entry.header_position;
          item.size = entry.size;
        }
        items_.push_back(std::move(item));
        item_class.push_back(parts[0]);
      }
    }
    if (items_.empty()) throw Error(spec.path + ": no images (expected members <class>/<image>.jpg|png)");
    std::map<std::string, int32_t> label_of;
    for (const auto& [name, count] : class_sizes) {
      if (count == 0)
        throw Error(class_first_seen[name] + ": class '" + name + "' has no images (its folder " + name +
                    "/ is empty)");
      label_of[name] = static_cast<int32_t>(names_.size());
      names_.push_back(name);
    }
    for (size_t i = 0; i < items_.size(); ++i) labels_.push_back(label_of[item_class[i]]);
    probe_native_size(options.skip_bad);
  }

  std::string description() const override {
    return "tar " + spec_.path + ": " + std::to_string(size()) + " images in " +
           std::to_string(shards_.size()) + " shard(s), " + std::to_string(names_.size()) + " classes, first " +
           std::to_string(height_) + "x" + std::to_string(width_) + "x3, members " +
           (in_memory_ ? "in memory" : "re-read from the shards");
  }

 private:
  struct Item {
    int32_t shard = 0;
    int64_t offset = 0;  // into blob_, or the member's header position in its shard
    int64_t size = 0;
    std::string member;
  };

  EncodedBytes bytes_of(int64_t i) const override {
    const Item& it = items_[static_cast<size_t>(i)];
    EncodedBytes b;
    if (in_memory_) {
      b.data = blob_.data() + it.offset;
      b.size = static_cast<size_t>(it.size);
    } else {
      b.owned = read_member_at(shards_[static_cast<size_t>(it.shard)], it.offset, it.member);
      b.data = b.owned.data();
      b.size = b.owned.size();
    }
    return b;
  }
  std::string where(int64_t i) const override {
    const Item& it = items_[static_cast<size_t>(i)];
    return shards_[static_cast<size_t>(it.shard)] + ": " + it.member;
  }

  std::vector<std::string> shards_;
  std::vector<Item> items_;
  std::vector<uint8_t> blob_;
  bool in_memory_ = true;
};

}  // namespace

std::shared_ptr<const Dataset> open_tar(const DatasetSpec& spec, const DatasetOptions& options) {
  return maybe_cache(std::make_shared<TarDataset>(spec, options), options.cache_bytes);
}

}  // namespace tinynas::datasets::internal
