// The `mlperf-vww`, `mlperf-ic` and `mlperf-kws` kinds: the MLPerf Tiny
// evaluation inputs as the EEMBC energy runner ships them, a folder (or a tar
// of it) of raw .bin tensors and y_labels.csv rows `file,num_classes,label`.
// VWW: 96x96x3 uint8 HWC (label 1 = person); IC: 32x32x3 uint8 HWC (CIFAR-10
// classes); KWS: 49 frames x 10 MFCC int8, returned as a 49x10x1 int8 image.
// Small (VWW, the largest, is 26 MiB), so everything is loaded at open.
#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/io.h"
#include "datasets/internal/readers.h"
#include "datasets/internal/tar_reader.h"

namespace tinynas::datasets::internal {

namespace {

struct Layout {
  int32_t height, width, channels;
  PixelType type;
  std::vector<std::string> classes;
  std::string describe;  // for size errors
};

Layout layout_of(const std::string& kind) {
  if (kind == "mlperf-vww") return {96, 96, 3, PixelType::kUint8, {"no_person", "person"}, "96x96x3 uint8"};
  if (kind == "mlperf-ic") return {32, 32, 3, PixelType::kUint8, cifar10_class_names(), "32x32x3 uint8"};
  return {49, 10, 1, PixelType::kInt8,
          {"down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown"},
          "49x10 int8 MFCC"};
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

bool parse_int(const std::string& s, int64_t* v) {
  if (s.empty()) return false;
  size_t used = 0;
  try {
    *v = std::stoll(s, &used);
  } catch (...) {
    return false;
  }
  return used == s.size();
}

// Where the csv and the .bin files come from: a folder, or the members of a tar.
class Source {
 public:
  explicit Source(const std::string& path) : path_(path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      csv_where_ = (std::filesystem::path(path) / "y_labels.csv").string();
      csv_ = read_file(csv_where_);
      return;
    }
    if (!std::filesystem::exists(path, ec)) throw Error(path + ": no such file or folder");
    from_tar_ = true;
    TarReader reader(path);
    TarEntry entry;
    std::string csv_member;
    while (reader.next(&entry)) {
      if (entry.type != TarEntry::Type::kFile) continue;
      std::vector<uint8_t> bytes;
      reader.read(&bytes);
      const size_t slash = entry.name.rfind('/');
      const std::string base = slash == std::string::npos ? entry.name : entry.name.substr(slash + 1);
      if (base == "y_labels.csv") {
        if (!csv_member.empty())
          throw Error(path + ": two y_labels.csv members (" + csv_member + ", " + entry.name + "); expected one");
        csv_member = entry.name;
        csv_.assign(bytes.begin(), bytes.end());
        prefix_ = entry.name.substr(0, slash == std::string::npos ? 0 : slash + 1);
      } else {
        members_[entry.name] = std::move(bytes);
      }
    }
    if (csv_member.empty()) throw Error(path + ": no y_labels.csv member in this tar");
    csv_where_ = path + ": " + csv_member;
  }

  const std::string& csv() const { return csv_; }
  const std::string& csv_where() const { return csv_where_; }

  // The bytes of `file` (relative to the csv); throws naming it.
  std::vector<uint8_t> read(const std::string& file, std::string* where) const {
    if (!from_tar_) {
      *where = (std::filesystem::path(path_) / file).string();
      const std::string bytes = read_file(*where);
      return {bytes.begin(), bytes.end()};
    }
    *where = path_ + ": " + prefix_ + file;
    const auto it = members_.find(prefix_ + file);
    if (it == members_.end()) throw Error(*where + ": no such member in the tar");
    return it->second;
  }

 private:
  std::string path_;
  bool from_tar_ = false;
  std::string csv_;
  std::string csv_where_;
  std::string prefix_;  // the csv member's folder inside the tar
  std::map<std::string, std::vector<uint8_t>> members_;
};

class MlperfDataset final : public Dataset {
 public:
  MlperfDataset(const DatasetSpec& spec, const DatasetOptions& options)
      : Dataset(options.skip_bad), spec_(spec), layout_(layout_of(spec.kind)) {
    const Source source(spec.path);
    const size_t item_bytes = static_cast<size_t>(layout_.height) * layout_.width * layout_.channels;
    const int64_t num_classes = static_cast<int64_t>(layout_.classes.size());
    const std::string& text = source.csv();
    size_t pos = 0;
    for (int line_no = 1; pos < text.size(); ++line_no) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      const std::string line = trim(text.substr(pos, end - pos));
      pos = end + 1;
      if (line.empty()) continue;
      const std::string where = source.csv_where() + ":" + std::to_string(line_no);
      std::vector<std::string> fields;
      size_t start = 0;
      for (;;) {
        const size_t comma = line.find(',', start);
        fields.push_back(trim(line.substr(start, comma - start)));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      int64_t n = 0, label = 0;
      if (fields.size() == 3 && fields[0] == "file" && items_.empty() && !parse_int(fields[1], &n)) continue;
      if (fields.size() != 3 || fields[0].empty() || !parse_int(fields[1], &n) || !parse_int(fields[2], &label))
        throw Error(where + ": expected 'file,num_classes,label', got '" + line + "'");
      if (n != num_classes)
        throw Error(where + ": num_classes " + std::to_string(n) + " does not match " + spec.kind + "'s " +
                    std::to_string(num_classes) + " classes");
      if (label < 0 || label >= num_classes)
        throw Error(where + ": label " + std::to_string(label) + " is out of range 0.." +
                    std::to_string(num_classes - 1));
      std::string item_where;
      std::vector<uint8_t> bytes;
      try {
        bytes = source.read(fields[0], &item_where);
        if (bytes.size() != item_bytes)
          throw Error(item_where + ": " + std::to_string(bytes.size()) + " bytes, expected " +
                      std::to_string(item_bytes) + " (" + layout_.describe + ")");
      } catch (const Error& e) {
        const std::string message = where + ": " + e.what();
        if (!options.skip_bad) throw Error(message);
        record_bad(message);
        continue;
      }
      data_.insert(data_.end(), bytes.begin(), bytes.end());
      labels_.push_back(static_cast<int32_t>(label));
      items_.push_back(item_where);
    }
    if (items_.empty()) throw Error(source.csv_where() + ": no inputs listed (expected rows file,num_classes,label)");
  }

  int64_t size() const override { return static_cast<int64_t>(items_.size()); }
  const std::vector<std::string>& class_names() const override { return layout_.classes; }
  int32_t height() const override { return layout_.height; }
  int32_t width() const override { return layout_.width; }
  int32_t channels() const override { return layout_.channels; }
  PixelType pixel_type() const override { return layout_.type; }
  int32_t label(int64_t i) const override { return labels_[check(i)]; }
  Sample get(int64_t i) const override {
    const size_t k = check(i);
    const size_t n = static_cast<size_t>(layout_.height) * layout_.width * layout_.channels;
    Sample s;
    s.label = labels_[k];
    s.image.height = layout_.height;
    s.image.width = layout_.width;
    s.image.channels = layout_.channels;
    s.image.type = layout_.type;
    s.image.data.assign(data_.begin() + static_cast<std::ptrdiff_t>(k * n),
                        data_.begin() + static_cast<std::ptrdiff_t>((k + 1) * n));
    return s;
  }
  std::string item_name(int64_t i) const override { return items_[check(i)]; }
  std::string description() const override {
    return spec_.kind + " " + spec_.path + ": " + std::to_string(items_.size()) + " inputs, " +
           std::to_string(layout_.classes.size()) + " classes, " + layout_.describe + ", in memory";
  }

 private:
  size_t check(int64_t i) const {
    if (i < 0 || i >= size())
      throw Error(spec_.path + ": item " + std::to_string(i) + " out of range 0.." + std::to_string(size() - 1));
    return static_cast<size_t>(i);
  }
  DatasetSpec spec_;
  Layout layout_;
  std::vector<uint8_t> data_;
  std::vector<int32_t> labels_;
  std::vector<std::string> items_;
};

}  // namespace

std::shared_ptr<const Dataset> open_mlperf(const DatasetSpec& spec, const DatasetOptions& options) {
  return std::make_shared<MlperfDataset>(spec, options);
}

}  // namespace tinynas::datasets::internal
