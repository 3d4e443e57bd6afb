// trainer: trains the weight-shared supernet as MCUNet (App. D) and OFA do,
// evaluates subnets, fine-tunes extracted ones.
//
//   phase 1 ("largest", largest_epochs): the largest subnet alone;
//   then sort_channels() and fresh (empty) momentum buffers;
//   phase 2 ("elastic", elastic_epochs): every step the sandwich rule, the
//   largest, the smallest and `subnets_per_step` random subnets forward and
//   backward on the same batch, gradients summed, one SGD step; with
//   `distill` the largest's soft predictions (detached) are the targets of the
//   others (in-place distillation, BigNAS/OFA).
//
// SGD with momentum (optionally Nesterov), weight decay except on BN and
// biases (unless bn_weight_decay), cross entropy with label smoothing, one
// cosine learning-rate schedule over all steps after a linear warm-up. Every
// batch draws its resolution from `resolutions` (the data loader does it), and
// all subnets of a step use it.
//
// Determinism: the data loader is deterministic for any number of workers, the
// random subnets of step s come from derive_seed(seed, s), and a checkpoint
// holds everything else (weights, BN statistics, momentum buffers, the step,
// epoch and batch position, the phase, torch's CPU generator), so a run that
// is killed and resumed ends with exactly the weights of an uninterrupted run
// (with a fixed number of torch threads; the tests use one).
//
// Output folder: checkpoint.pt (the latest, written atomically every
// checkpoint_every steps, at the end of every epoch and when stopped; the
// final one at the end), train_log.jsonl (one line per finished epoch,
// rewritten from the checkpoint's history so it always matches it) and
// summary.json at the end.
//
// Cost: a phase-2 step is (2 + subnets_per_step) forward+backward passes.
// This header does not include LibTorch.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/arch.h"
#include "core/search_space.h"
#include "supernet/supernet.h"

namespace torch::nn {
class SequentialImpl;
}
namespace tinynas::datasets {
class Dataset;
}

namespace tinynas::supernet {


// Everything that decides a training run. Field names are the YAML keys and
// (with '-' for '_') the `tinynas train` flags.
struct TrainConfig {
  std::string space = "mcunet";  // a name from configs/spaces or a YAML path
  double width = 0;              // must be one of the space's widths (0: the space's only one)
  std::vector<int32_t> resolutions;  // each must be in the space (empty: all of the space's)
  std::string dataset;               // KIND:PATH (datasets/README.md)
  bool skip_bad = false;             // skip corrupt images (counted, warned about each epoch) instead of failing
  int64_t max_train_images = 0;      // > 0: a seeded random subset of the data set (tests, quick runs)
  double val_fraction = 0.1;         // held out of the training set, stratified
  uint64_t split_seed = 0;           // the split's seed (fixed: every run validates on the same images)
  int64_t batch_size = 64;
  int32_t workers = 2;  // data loader threads
  double lr = 0.1;      // peak learning rate (after warm-up)
  double momentum = 0.9;
  bool nesterov = false;
  double warmup_epochs = 1;
  double weight_decay = 4e-5;
  bool bn_weight_decay = false;  // also decay BN gamma/beta and biases
  double label_smoothing = 0.1;
  int32_t largest_epochs = 1;
  int32_t elastic_epochs = 2;
  int32_t subnets_per_step = 2;  // random subnets per elastic step, besides the largest and smallest
  bool distill = false;          // in-place distillation from the largest subnet
  double scale_min = 0.08;       // random resized crop: smallest area fraction
  uint64_t seed = 0;             // weights, data order and augmentation, random subnets
  int64_t checkpoint_every = 0;  // steps between checkpoints (0: only at epoch ends)
  int32_t eval_random = 2;       // random subnets validated per epoch (fixed by the seed)
  int32_t bn_batches = 8;        // training batches for BN recalibration before validating
  int64_t eval_batch_size = 0;   // 0: 2 x batch_size
  std::string device = "cpu";    // cpu | cuda
  int32_t threads = 0;           // torch intra-op threads (0: all hardware threads)
};

nlohmann::json to_json(const TrainConfig& config);
// Reads what to_json writes; throws tinynas::Error naming `where` and the key.
TrainConfig train_config_from_json(const nlohmann::json& j, const std::string& where);
// Keys whose change alters the trained weights (resuming with a different
// value is refused); the others (workers, threads, device, checkpoint_every)
// may differ between a run and its resumption.
bool affects_results(const std::string& key);

// The space the supernet trains: the config's space restricted to its width
// and resolutions, with `num_classes` classes. Throws tinynas::Error naming
// a width or resolution that is not in the space, and the allowed ones.
SearchSpace training_space(const TrainConfig& config, int32_t num_classes);

// The largest subnet at the space's largest resolution, the smallest at its
// smallest: the two the sandwich rule trains and the log reports.
ArchSpec largest_subnet(const SearchSpace& space);
ArchSpec smallest_subnet(const SearchSpace& space);

std::string checkpoint_path(const std::string& out_dir);  // DIR/checkpoint.pt

struct TrainHooks {
  // Checked after every step; when it becomes true the step is finished, a
  // checkpoint is written and train() returns with `interrupted` (SIGINT/SIGTERM).
  const std::atomic<bool>* stop = nullptr;
  // Called after every optimiser step with the number of steps done (tests
  // throw from it to simulate a crash: nothing is saved then).
  std::function<void(int64_t steps_done)> after_step;
  bool progress = true;  // a progress bar per epoch (stderr)
};

struct TrainResult {
  bool finished = false;     // all epochs done (also when resumed from a finished run)
  bool interrupted = false;  // stopped by hooks.stop; checkpoint written
  int64_t steps = 0;         // steps done in total
  int64_t total_steps = 0;
  int64_t steps_this_run = 0;
  double images_per_second = 0;  // training throughput of this process
  nlohmann::json summary;        // what summary.json holds (when finished)
};

// Trains a supernet into `out_dir`. With `resume`, the run continues from
// out_dir/checkpoint.pt with the checkpoint's configuration; only the fields
// for which affects_results() is false are taken from `config`. Without it,
// an out_dir that already holds a run (checkpoint.pt, train_log.jsonl or
// summary.json) is refused unless `force` (its files are then replaced).
// Throws tinynas::Error for bad input before anything is written or removed.
TrainResult train(const TrainConfig& config, const std::string& out_dir, bool resume, bool force = false,
                  const TrainHooks& hooks = {});

// ---- evaluation ----------------------------------------------------------

struct EvalOptions {
  int32_t bn_batches = 8;    // batches of bn_data for BN recalibration (0: keep the stored statistics)
  int64_t bn_batch_size = 64;
  int64_t batch_size = 128;  // evaluation batches
  int32_t workers = 2;
  uint64_t seed = 0;         // which BN batches (a seeded order of bn_data, train transform)
  double scale_min = 0.08;   // the BN batches' random resized crop
};

// The batches BN recalibration takes from `data` for a subnet at
// `resolution`: the first options.bn_batches batches of at least 2 images
// (BN needs two) of a seeded order (options.seed), training transform
// (options.scale_min). Throws tinynas::Error when there is none.
std::vector<datasets::Batch> bn_recalibration_batches(std::shared_ptr<const datasets::Dataset> data,
                                                      int32_t resolution, const EvalOptions& options);

struct EvalResult {
  int64_t correct = 0;
  int64_t count = 0;
  int64_t bn_images = 0;
  double top1() const { return count > 0 ? static_cast<double>(correct) / static_cast<double>(count) : 0; }
};

// Top-1 of `arch` on `data` (centre crop at arch.resolution) after
// recalibrating its BN statistics on bn_batches batches of `bn_data`. Changes
// the supernet's running statistics of that subnet's BN entries (the trainer
// saves and restores them). Leaves `arch` active and the net in eval mode.
EvalResult evaluate_subnet(Supernet& net, const ArchSpec& arch, std::shared_ptr<const datasets::Dataset> data,
                           std::shared_ptr<const datasets::Dataset> bn_data, const EvalOptions& options);

struct CheckpointEvalOptions {
  std::string bn_dataset;  // empty: the training images recorded in the checkpoint
  bool skip_bad = false;   // skip corrupt images of the evaluated data set (counted in a warning)
  EvalOptions eval;
  std::string device = "cpu";
  int32_t threads = 0;
};

struct CheckpointEval {
  EvalResult result;
  SearchSpace space;
  std::string bn_dataset;  // the spec used for BN recalibration
};

// `tinynas eval`: rebuilds the supernet from the checkpoint alone, checks that
// `arch` is in its space (at its width) and that `dataset` has its classes,
// and evaluates. Throws tinynas::Error saying what is wrong.
CheckpointEval evaluate_checkpoint(const std::string& checkpoint, const ArchSpec& arch,
                                   const std::string& arch_name, const std::string& dataset,
                                   const CheckpointEvalOptions& options);
// ---- exporting a subnet for deployment -------------------------------------

struct ExportOptions {
  EvalOptions bn;                  // BN recalibration (bn_batches, bn_batch_size, workers, seed)
  std::string bn_dataset;          // empty: the training images recorded in the checkpoint
  int32_t calibration_images = 64; // for the int8 activation ranges
  int32_t threads = 0;
};

struct ExportedSubnet {
  // BN-folded float weights per op of lower(arch) (deploy's FloatOpWeights),
  // after BN recalibration of the subnet.
  std::vector<OpWeights> weights;
  // A seeded draw of the BN data set (the checkpoint's training split by
  // default) with the evaluation transform at arch.resolution, NHWC floats:
  // the representative images int8 calibration takes.
  std::vector<std::vector<float>> calibration_images;
  std::vector<std::string> class_names;  // the checkpoint's training set's
  std::string bn_dataset;  // the one used for BN recalibration and calibration images
  int64_t bn_images = 0;
};

// `tinynas deploy --checkpoint`: the subnet `arch` of a checkpoint as the
// float network deploy quantises. Throws tinynas::Error when `arch` is not a
// subnet of the checkpoint's space (naming arch_name and why) or the data
// cannot be read.
ExportedSubnet export_subnet(const std::string& checkpoint, const ArchSpec& arch, const std::string& arch_name,
                             const ExportOptions& options);

// ---- a trained supernet for search and fine-tuning --------------------------

// A checkpoint's supernet with the data as its training run split it: the
// training split (BN recalibration, fine-tuning, calibration images) and the
// held-out validation split (search accuracy; never the test set).
struct OpenedSupernet {
  std::unique_ptr<Supernet> net;
  SearchSpace space;       // at the trained width and resolutions
  TrainConfig config;
  std::string dataset;     // the training data set, paths absolute
  std::vector<std::string> class_names;
  std::shared_ptr<const datasets::Dataset> train, val;
};
// Throws tinynas::Error for a checkpoint that cannot be read or whose data
// set cannot be opened (naming both).
OpenedSupernet open_supernet(const std::string& checkpoint, const std::string& device = "cpu", int32_t threads = 0);

// Top-1 of an extract()ed (or fine-tuned) module on `data` (centre crop at
// `resolution`, batches of options.batch_size; no BN recalibration).
EvalResult evaluate_module(torch::nn::SequentialImpl& model, std::shared_ptr<const datasets::Dataset> data,
                           int32_t resolution, const EvalOptions& options);
// A seeded draw of `count` images of `data` with the evaluation transform at
// `resolution`, NHWC floats: what int8 calibration takes.
std::vector<std::vector<float>> calibration_images(std::shared_ptr<const datasets::Dataset> data,
                                                   int32_t resolution, int32_t count, uint64_t seed,
                                                   int32_t workers = 2);

// The space stored in a checkpoint (for resolving `--arch largest|smallest`)
// and its training configuration (to_json(TrainConfig)).
SearchSpace checkpoint_space(const std::string& checkpoint);
nlohmann::json checkpoint_config(const std::string& checkpoint);

// ---- fine-tuning an extracted subnet ---------------------------------------

struct FinetuneOptions {
  int32_t epochs = 1;
  int32_t resolution = 0;  // 0: the data set's native height
  int64_t batch_size = 64;
  double lr = 0.01;  // cosine to 0 over all steps, no warm-up
  double momentum = 0.9;
  double weight_decay = 4e-5;
  double label_smoothing = 0.1;
  double scale_min = 0.08;
  int32_t workers = 2;
  uint64_t seed = 0;
};

// Fine-tunes an extract()ed module in place (train mode, SGD, no decay on BN
// and biases); returns the mean training loss of each epoch. Leaves the
// module in eval mode.
std::vector<double> finetune(torch::nn::SequentialImpl& model, std::shared_ptr<const datasets::Dataset> data,
                             const FinetuneOptions& options);

// Whether this LibTorch build can use CUDA (Debian's is CPU-only).
bool cuda_available();
// Throws tinynas::Error for a device other than cpu/cuda, or cuda without CUDA.
void check_device(const std::string& device);

}  // namespace tinynas::supernet
