// The Dataset base (bad-sample record), spec parsing, open_dataset's dispatch,
// subsets, the decoded-image cache and the stratified split.
#include "datasets/dataset.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <mutex>
#include <set>

#include "core/error.h"
#include "core/rng.h"
#include "datasets/internal/readers.h"

namespace tinynas::datasets {

// ---------------------------------------------------------------- Dataset base

struct Dataset::BadRecord {
  bool skip_bad = false;
  mutable std::mutex mutex;
  std::set<std::string> seen;
  std::vector<std::string> first;
};

Dataset::Dataset(bool skip_bad) : bad_(std::make_shared<BadRecord>()) { bad_->skip_bad = skip_bad; }

Dataset::Dataset(const Dataset& viewed, int) : bad_(viewed.bad_) {}

bool Dataset::skip_bad() const { return bad_->skip_bad; }

void Dataset::record_bad(const std::string& message) const {
  std::lock_guard<std::mutex> lock(bad_->mutex);
  // Deduplicated so that an image that fails every epoch is counted once.
  if (bad_->seen.insert(message).second && bad_->first.size() < 5) bad_->first.push_back(message);
}

BadSamples Dataset::bad_samples() const {
  std::lock_guard<std::mutex> lock(bad_->mutex);
  return {static_cast<int64_t>(bad_->seen.size()), bad_->first};
}

// ---------------------------------------------------------------- spec parsing

const std::vector<std::string>& dataset_kinds() {
  static const std::vector<std::string> kinds = {"generated",   "imagefolder", "tar",       "cifar10-bin",
                                                 "mlperf-vww",  "mlperf-ic",   "mlperf-kws"};
  return kinds;
}

namespace {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

template <typename T>
bool parse_number(const std::string& text, T* value) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return ec == std::errc() && ptr == end;
}

void parse_generated(DatasetSpec* spec) {
  const std::string where = "data set '" + spec->text + "'";
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t comma = spec->path.find(',', start);
    parts.push_back(spec->path.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  const std::string& size = parts[0];
  const size_t x = size.find('x');
  if (x == std::string::npos || !parse_number(size.substr(0, x), &spec->classes) ||
      !parse_number(size.substr(x + 1), &spec->per_class))
    throw Error(at(where, "expected generated:CLASSESxIMAGES (images per class) like generated:10x2000, got '" +
                              size + "'"));
  if (spec->classes < 2) throw Error(at(where, "a generated data set needs at least 2 classes"));
  if (spec->per_class < 1) throw Error(at(where, "a generated data set needs at least 1 image per class"));
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& opt = parts[i];
    const size_t eq = opt.find('=');
    const std::string key = opt.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : opt.substr(eq + 1);
    if (key == "res") {
      if (!parse_number(value, &spec->resolution) || spec->resolution < 8 || spec->resolution > 1024)
        throw Error(at(where, "res: expected a side of 8..1024 pixels, got '" + value + "'"));
    } else if (key == "seed") {
      if (!parse_number(value, &spec->seed)) throw Error(at(where, "seed: expected an unsigned integer, got '" + value + "'"));
    } else {
      throw Error(at(where, "unknown option '" + opt + "'; generated takes res=R and seed=S"));
    }
  }
}

}  // namespace

DatasetSpec parse_dataset_spec(const std::string& text) {
  DatasetSpec spec;
  spec.text = text;
  const size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0)
    throw Error("data set '" + text + "': expected KIND:PATH; kinds: " + join(dataset_kinds(), ", "));
  spec.kind = text.substr(0, colon);
  spec.path = text.substr(colon + 1);
  const auto& kinds = dataset_kinds();
  if (std::find(kinds.begin(), kinds.end(), spec.kind) == kinds.end())
    throw Error("data set '" + text + "': unknown kind '" + spec.kind + "'; known kinds: " + join(kinds, ", "));
  if (spec.path.empty()) throw Error("data set '" + text + "': the path after '" + spec.kind + ":' is empty");
  if (spec.kind == "generated") parse_generated(&spec);
  return spec;
}

// ---------------------------------------------------------------- views

namespace {

class Subset final : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> parent, std::vector<int64_t> indices, std::string name)
      : Dataset(*parent, 0), parent_(std::move(parent)), indices_(std::move(indices)), name_(std::move(name)) {}

  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  const std::vector<std::string>& class_names() const override { return parent_->class_names(); }
  int32_t height() const override { return parent_->height(); }
  int32_t width() const override { return parent_->width(); }
  int32_t channels() const override { return parent_->channels(); }
  PixelType pixel_type() const override { return parent_->pixel_type(); }
  int32_t label(int64_t i) const override { return parent_->label(at(i)); }
  Sample get(int64_t i) const override { return parent_->get(at(i)); }
  std::string item_name(int64_t i) const override { return parent_->item_name(at(i)); }
  std::string description() const override {
    return name_ + " (" + std::to_string(indices_.size()) + " items of " + parent_->description() + ")";
  }

 private:
  int64_t at(int64_t i) const {
    if (i < 0 || i >= size())
      throw Error(name_ + ": item " + std::to_string(i) + " out of range 0.." + std::to_string(size() - 1));
    return indices_[static_cast<size_t>(i)];
  }
  std::shared_ptr<const Dataset> parent_;
  std::vector<int64_t> indices_;
  std::string name_;
};

// Decoded images, kept after the first get(). Each slot is filled by the one
// thread that wins it (0 -> 1); its readers see it only after the release
// store of 2. A thread that finds a slot being filled decodes for itself
// rather than wait (the loader never asks for one index twice at once, so
// this is rare and keeps get() lock-free).
class CachedDataset final : public Dataset {
 public:
  CachedDataset(std::shared_ptr<const Dataset> base, uint64_t cap_bytes)
      : Dataset(*base, 0),
        base_(std::move(base)),
        slots_(new Slot[static_cast<size_t>(base_->size())]),
        cap_bytes_(cap_bytes) {}

  int64_t size() const override { return base_->size(); }
  const std::vector<std::string>& class_names() const override { return base_->class_names(); }
  int32_t height() const override { return base_->height(); }
  int32_t width() const override { return base_->width(); }
  int32_t channels() const override { return base_->channels(); }
  PixelType pixel_type() const override { return base_->pixel_type(); }
  int32_t label(int64_t i) const override { return base_->label(i); }
  std::string item_name(int64_t i) const override { return base_->item_name(i); }
  std::string description() const override { return base_->description() + ", decoded images cached"; }

  Sample get(int64_t i) const override {
    if (i < 0 || i >= size()) return base_->get(i);  // the base says what is wrong
    Slot& slot = slots_[static_cast<size_t>(i)];
    if (slot.state.load(std::memory_order_acquire) == kReady) return {slot.image, base_->label(i)};
    uint8_t expected = kEmpty;
    if (!slot.state.compare_exchange_strong(expected, kFilling, std::memory_order_acq_rel))
      return base_->get(i);
    Sample sample;
    try {
      sample = base_->get(i);
    } catch (...) {
      slot.state.store(kEmpty, std::memory_order_release);
      throw;
    }
    // Varying image sizes can make the estimate low: stop caching at the cap.
    const uint64_t bytes = sample.image.data.size();
    if (used_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes > cap_bytes_) {
      used_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
      slot.state.store(kEmpty, std::memory_order_release);
      return sample;
    }
    slot.image = sample.image;
    slot.state.store(kReady, std::memory_order_release);
    return sample;
  }

 private:
  static constexpr uint8_t kEmpty = 0, kFilling = 1, kReady = 2;
  struct Slot {
    std::atomic<uint8_t> state{kEmpty};
    Image image;
  };
  std::shared_ptr<const Dataset> base_;
  std::unique_ptr<Slot[]> slots_;
  uint64_t cap_bytes_;
  mutable std::atomic<uint64_t> used_bytes_{0};
};

}  // namespace

namespace internal {

std::shared_ptr<const Dataset> maybe_cache(std::shared_ptr<const Dataset> base, uint64_t cache_bytes) {
  const double estimate = static_cast<double>(base->size()) * base->height() * base->width() * base->channels();
  if (cache_bytes == 0 || estimate > static_cast<double>(cache_bytes)) return base;
  return std::make_shared<CachedDataset>(std::move(base), cache_bytes);
}

}  // namespace internal

std::shared_ptr<const Dataset> make_subset(std::shared_ptr<const Dataset> parent, std::vector<int64_t> indices,
                                           std::string name) {
  for (const int64_t i : indices)
    if (i < 0 || i >= parent->size())
      throw Error(name + ": index " + std::to_string(i) + " is out of range for " + parent->description());
  return std::make_shared<Subset>(std::move(parent), std::move(indices), std::move(name));
}

// ---------------------------------------------------------------- opening

std::shared_ptr<const Dataset> open_dataset(const DatasetSpec& spec, const DatasetOptions& options) {
  if (spec.kind == "generated") return internal::open_generated(spec, options);
  if (spec.kind == "imagefolder") return internal::open_image_folder(spec, options);
  if (spec.kind == "tar") return internal::open_tar(spec, options);
  if (spec.kind == "cifar10-bin") return internal::open_cifar10_bin(spec, options);
  if (spec.kind == "mlperf-vww" || spec.kind == "mlperf-ic" || spec.kind == "mlperf-kws")
    return internal::open_mlperf(spec, options);
  throw Error("data set '" + spec.text + "': unknown kind '" + spec.kind + "'; known kinds: " +
              join(dataset_kinds(), ", "));
}

std::shared_ptr<const Dataset> open_dataset(const std::string& spec, const DatasetOptions& options) {
  return open_dataset(parse_dataset_spec(spec), options);
}

// ---------------------------------------------------------------- split

std::vector<int64_t> class_counts(const Dataset& dataset) {
  std::vector<int64_t> counts(static_cast<size_t>(dataset.num_classes()), 0);
  for (int64_t i = 0; i < dataset.size(); ++i) ++counts[static_cast<size_t>(dataset.label(i))];
  return counts;
}

SplitIndices split_indices(const Dataset& dataset, double val_fraction, uint64_t seed) {
  if (!(val_fraction >= 0.0 && val_fraction < 1.0))
    throw Error("validation fraction " + std::to_string(val_fraction) + " is not in [0, 1)");
  std::vector<std::vector<int64_t>> per_class(static_cast<size_t>(dataset.num_classes()));
  for (int64_t i = 0; i < dataset.size(); ++i) per_class[static_cast<size_t>(dataset.label(i))].push_back(i);

  // A stream of its own: the split must not move when the loader's or the
  // sampler's use of the same seed changes.
  constexpr uint64_t kSplitStream = 0x53504C4954ull;  // "SPLIT"
  SplitIndices split;
  for (size_t c = 0; c < per_class.size(); ++c) {
    std::vector<int64_t>& items = per_class[c];
    const int64_t n = static_cast<int64_t>(items.size());
    int64_t take = std::llround(val_fraction * static_cast<double>(n));
    if (val_fraction > 0 && n >= 2) take = std::clamp<int64_t>(take, 1, n - 1);
    take = std::min(take, n);
    Rng rng(derive_seed(seed, kSplitStream, c));
    for (int64_t i = n - 1; i > 0; --i)
      std::swap(items[static_cast<size_t>(i)], items[rng.uniform(static_cast<uint32_t>(i + 1))]);
    split.val.insert(split.val.end(), items.begin(), items.begin() + take);
    split.train.insert(split.train.end(), items.begin() + take, items.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.val.begin(), split.val.end());
  return split;
}

TrainValSplit split_train_val(std::shared_ptr<const Dataset> dataset, double val_fraction, uint64_t seed) {
  SplitIndices split = split_indices(*dataset, val_fraction, seed);
  TrainValSplit out;
  out.train = make_subset(dataset, std::move(split.train), "train split");
  out.val = make_subset(dataset, std::move(split.val), "validation split");
  return out;
}

}  // namespace tinynas::datasets
