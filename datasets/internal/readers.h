// The readers behind open_dataset(), one per kind, and the pieces they share.
// Internal to datasets/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace tinynas::datasets::internal {

std::shared_ptr<const Dataset> open_generated(const DatasetSpec& spec, const DatasetOptions& options);
std::shared_ptr<const Dataset> open_image_folder(const DatasetSpec& spec, const DatasetOptions& options);
std::shared_ptr<const Dataset> open_tar(const DatasetSpec& spec, const DatasetOptions& options);
std::shared_ptr<const Dataset> open_cifar10_bin(const DatasetSpec& spec, const DatasetOptions& options);
std::shared_ptr<const Dataset> open_mlperf(const DatasetSpec& spec, const DatasetOptions& options);

// Wraps `base` in a cache of decoded images when its estimated decoded size
// (size x native height x width x channels) is at most cache_bytes.
std::shared_ptr<const Dataset> maybe_cache(std::shared_ptr<const Dataset> base, uint64_t cache_bytes);

// The files a shard pattern names: `{000..003}` numeric ranges (zero-padded
// to the wider bound when a bound has a leading zero) and `{a,b}` lists are
// expanded first, then `*`, `?` and `[...]` are globbed. In expansion order
// (each glob's matches sorted), without duplicates. Throws tinynas::Error when
// a plain path does not exist or a wildcard matches nothing.
std::vector<std::string> expand_shards(const std::string& pattern);
// Only the brace expansion (exposed for tests).
std::vector<std::string> expand_braces(const std::string& pattern);

// The CIFAR-10 class names in label order.
const std::vector<std::string>& cifar10_class_names();

}  // namespace tinynas::datasets::internal
