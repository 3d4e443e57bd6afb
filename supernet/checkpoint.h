// checkpoint: the supernet trainer's resumable state in one file.
//
// A LibTorch archive (torch::serialize, a zip) holding
//   format   "tinynas-supernet-checkpoint", version  kCheckpointVersion
//   meta     JSON text: the resolved training config, the search space the
//            supernet was built from (restricted to its width and
//            resolutions, with the data set's classes), the class names, the
//            training data set (paths absolute), the position (step, epoch,
//            next batch, phase, whether channels are sorted, the epoch's
//            running loss/images/seconds) and the per-epoch history;
//   model/<name>     every parameter and buffer of Supernet::module();
//   momentum/<name>  the SGD momentum buffers that exist;
//   rng/torch_cpu    torch's default CPU generator state.
// So `tinynas eval` rebuilds the supernet from the checkpoint alone, and a
// resumed run continues exactly where the checkpoint was written.
//
// save_checkpoint writes to a temporary file beside the target and renames it
// (atomic on POSIX): a kill leaves the previous checkpoint or the new one.
// This header includes ATen's Tensor (not all of LibTorch).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/search_space.h"

namespace tinynas::supernet {

inline constexpr const char* kCheckpointFormat = "tinynas-supernet-checkpoint";
inline constexpr int64_t kCheckpointVersion = 1;

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

struct TrainPosition {
  int64_t step = 0;   // optimiser steps done
  int64_t epoch = 0;  // the epoch in progress (== epochs when finished)
  int64_t batch = 0;  // index of the next batch of that epoch
  bool channels_sorted = false;
  bool finished = false;
  double epoch_loss_sum = 0;  // sum over the epoch's steps of loss x images
  int64_t epoch_images = 0;
  double epoch_seconds = 0;  // training time of the epoch so far (without evaluation)
};

struct Checkpoint {
  int64_t version = kCheckpointVersion;
  nlohmann::json config;  // supernet::to_json(TrainConfig)
  SearchSpace space;
  std::vector<std::string> class_names;
  std::string dataset;  // the training data set, paths made absolute
  TrainPosition position;
  nlohmann::json history = nlohmann::json::array();  // one record per finished epoch
  NamedTensors model;
  NamedTensors momentum;
  at::Tensor torch_rng;  // may be undefined
};

// Throws tinynas::Error naming the path when it cannot be written.
void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);
// Throws tinynas::Error("PATH: not a tinynas supernet checkpoint (...)") for
// a missing, truncated or foreign file, and for a newer format version.
Checkpoint load_checkpoint(const std::string& path);

// The search space as JSON in the layout of configs/spaces/*.yaml (so it
// reads back with load_search_space too), and back.
nlohmann::json space_to_json(const SearchSpace& space);
SearchSpace space_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace tinynas::supernet
