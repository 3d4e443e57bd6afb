// Accuracy of a candidate subnet, as the search ranks it (MCUNet, OFA): the
// trained supernet with that subnet active (inherited weights), its BN
// statistics recomputed on a few training batches (MCUNet: 20 batches of
// 64), then top-1 on the validation split held out of training (never the
// test set).
//
// The images are decoded once per search, not once per candidate: the BN
// batches (a seeded draw of the training split, training transform) and the
// validation images (the first `val_images` of a seeded order of the
// validation split, centre crop) are decoded per trained resolution when
// first needed and kept as float batches. A candidate then costs
// bn_batches x bn_batch_size + val_images forward passes of the subnet and
// nothing else. Results are a pure function of (checkpoint, options, arch):
// the same on every call and every thread count of the data loader.
//
// The header does not include LibTorch (the target links it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/search_space.h"

namespace tinynas::datasets {
class Dataset;
}

namespace tinynas {

struct SubnetAccuracyOptions {
  int32_t bn_batches = 20;      // BN recalibration batches (MCUNet: 20 x 64)
  int64_t bn_batch_size = 64;
  int64_t val_images = 5000;    // 0: the whole validation split
  int64_t batch_size = 250;     // forward batches over the validation images
  int32_t workers = 2;          // decoding threads (first use only)
  uint64_t seed = 0;            // which BN batches and validation images
  std::string device = "cpu";
  int32_t threads = 0;          // torch intra-op threads (0: all cores)
};

// The validation images a candidate is scored on: the first `images` of a
// seeded order of `val`, in index order (all of it when `images` is 0 or not
// smaller). SubnetAccuracy and its benchmark's peer both draw them here.
std::shared_ptr<const datasets::Dataset> validation_subset(std::shared_ptr<const datasets::Dataset> val,
                                                           int64_t images, uint64_t seed);

class SubnetAccuracy {
 public:
  // Opens a `tinynas train` checkpoint with the data split its run made.
  // Throws tinynas::Error for an unreadable checkpoint, a missing data set, or
  // an empty validation split.
  SubnetAccuracy(const std::string& checkpoint, const SubnetAccuracyOptions& options);
  ~SubnetAccuracy();
  SubnetAccuracy(const SubnetAccuracy&) = delete;
  SubnetAccuracy& operator=(const SubnetAccuracy&) = delete;

  // Validation top-1 (0..1) of each architecture, in order. Each must be a
  // subnet of the checkpoint's space (at its width and one of its
  // resolutions); throws tinynas::Error naming the first one that is not.
  std::vector<double> top1(const std::vector<ArchSpec>& archs);

  const SearchSpace& space() const;         // the trained space (one width)
  int64_t val_images() const;               // validation images per candidate
  int64_t bn_images() const;                // BN recalibration images per candidate
  const std::string& dataset() const;       // the training data set

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tinynas
