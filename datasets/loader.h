// The training/evaluation data loader: worker threads decode and transform
// whole batches into a bounded prefetch window; the trainer takes them in
// order and wraps each with torch::from_blob (float NCHW images, int64 labels).
//
// Determinism: an epoch's order is a shuffle seeded by (seed, epoch), and
// sample i's augmentation draws from its own stream derive_seed(seed, epoch,
// i) (i = index in the data set given to the loader), so every batch's content
// is the same whatever the number of workers, and resuming at (epoch, batch)
// gives exactly the batches an uninterrupted run would have.
//
// Threads and memory: `workers` threads (0: batches are made on the caller's
// thread in next()); at most `prefetch` batches are made or waiting ahead of
// the consumer. A batch of 128 at 48x48x3 is 3.5 MiB. Destroying the loader,
// stop() or start_epoch() mid-epoch cancels the batches in flight (workers
// check between samples) and joins or re-targets the threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/transforms.h"

namespace tinynas::datasets {

struct LoaderOptions {
  int64_t batch_size = 64;
  int32_t workers = 2;
  int32_t prefetch = 4;  // batches made or waiting ahead of the consumer (>= 1)
  bool shuffle = true;
  bool drop_last = false;  // drop the last, smaller batch of an epoch
  uint64_t seed = 0;
  TransformOptions transform;
  // When not empty, every batch's (square) output size is drawn from this list
  // by a stream seeded by (seed, epoch, batch): elastic resolution as OFA
  // trains it. Empty: transform.height x transform.width for every batch.
  std::vector<int32_t> resolutions;
  // Data-parallel training: batch b holds this process's share of the global
  // batch b, positions [begin + shard * len / num_shards, begin + (shard + 1)
  // * len / num_shards) of it, with the transform each sample gets in the
  // whole batch (its random stream depends on (seed, epoch, index) only), so
  // the shards of all processes together are exactly the global batch.
  int32_t shard = 0;
  int32_t num_shards = 1;
};

struct Batch {
  int64_t epoch = 0;
  int64_t index = 0;  // batch index within the epoch
  int64_t size = 0;   // samples; smaller than batch_size for the last batch, or
                      // when a skip_bad data set dropped corrupt images
  int32_t channels = 0;
  int32_t height = 0;
  int32_t width = 0;
  std::vector<float> images;     // size x channels x height x width, contiguous
  std::vector<int64_t> labels;   // size
  std::vector<int64_t> indices;  // size; the items' indices in the data set
};

class DataLoader {
 public:
  // Throws tinynas::Error for bad options (batch size, workers, sizes).
  DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options);
  ~DataLoader();  // cancels what is in flight and joins the workers
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t batches_per_epoch() const;
  const LoaderOptions& options() const;

  // Begins (or resumes) `epoch` at batch `first_batch` (0 .. batches_per_epoch),
  // abandoning whatever the previous epoch still had in flight.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the current epoch, in order; nullopt after its last one
  // (or before start_epoch). An error making a batch (a corrupt image without
  // skip_bad) is rethrown here, for that batch, on the caller's thread.
  std::optional<Batch> next();
  // Cancels and joins the workers; next() returns nullopt afterwards.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Image i of a batch in NHWC order (height x width x channels), the layout
// deploy's int8 models take.
std::vector<float> image_nhwc(const Batch& batch, int64_t i);

// The order in which `epoch` visits items 0..size-1: identity without shuffle,
// else a Fisher-Yates shuffle seeded by (seed, epoch).
std::vector<int64_t> epoch_order(int64_t size, uint64_t seed, int64_t epoch, bool shuffle);

}  // namespace tinynas::datasets
