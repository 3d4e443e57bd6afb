// supernet: the weight-shared elastic supernet (OFA / MCUNet TinyNAS) in
// LibTorch, for a SearchSpace restricted to one width.
//
// One set of weights holds every subnet of the space:
//   - kernel: a k x k depthwise kernel is the centre k x k crop of the stage's
//     largest (7 x 7) depthwise weights;
//   - expand: a block with expand e uses the first mid = make_divisible(in * e,
//     channel_divisor) channels (exactly what core's decode() gives): the
//     expansion conv's first output rows, the depthwise conv's first channels,
//     the BNs' first entries and the projection's first input columns;
//   - depth: a stage of depth d runs its first d blocks.
// BatchNorm parameters and running statistics are shared per layer (the
// leading entries for a narrower layer), as in OFA/MCUNet; recalibrate_bn()
// recomputes the running statistics of one subnet on a few batches.
//
// This header does not include LibTorch (it compiles slowly); the functions
// that take or return tensors and modules need <torch/torch.h> at the call
// site. LibTorch errors are rethrown as tinynas::Error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/op_graph.h"
#include "core/search_space.h"

namespace at {
class Tensor;
}
namespace torch::nn {
class Module;
class SequentialImpl;
}  // namespace torch::nn
namespace torch::optim {
class Optimizer;
}
namespace tinynas::datasets {
struct Batch;
}

namespace tinynas::supernet {

class ProcessGroup;  // supernet/distributed.h

struct SupernetOptions {
  uint64_t seed = 0;    // weight initialisation (He normal, fan-out, as OFA)
  int32_t threads = 0;  // torch intra-op threads; 0: all hardware threads
};

// BN-folded float weights of one op of lower(arch), in the runtime layouts
// (conv2d OHWI, depthwise [c][k][k], pointwise and fully connected [out][in]);
// both empty for add and avgpool. The same structure as deploy::FloatOpWeights.
struct OpWeights {
  std::vector<float> weights;
  std::vector<float> bias;
};

// One layer of an extracted module, described the way lower() describes ops.
struct LayerShape {
  OpKind kind = OpKind::kConv2d;
  int32_t kernel = 1;
  int32_t stride = 1;
  int32_t in_channels = 0;
  int32_t out_channels = 0;
};

class SupernetImpl;

class Supernet {
 public:
  // `space` must have exactly one width (see restrict_space); it may keep
  // several resolutions (the network is fully convolutional). Throws
  // tinynas::Error for an invalid space or one with more than one width.
  explicit Supernet(const SearchSpace& space, SupernetOptions options = {});
  ~Supernet();
  Supernet(Supernet&&) noexcept;
  Supernet& operator=(Supernet&&) noexcept;

  const SearchSpace& space() const;
  // The largest subnet (at the space's first resolution); active after construction.
  ArchSpec largest() const;
  ArchSpec smallest() const;

  // Throws tinynas::Error (saying why) when `arch` is not in the space.
  void set_active(const ArchSpec& arch);
  const ArchSpec& active() const;

  // Every parameter and buffer (for optimisers, .to(device), save/load).
  // Parameter names: first_conv_w, first_conv_bn_*, s<S>b<J>_{expand,dw,proj}_w,
  // s<S>b<J>_{expand,dw,proj}_bn_{w,b,mean,var}, feature_mix_*, classifier_{w,b}
  // (stage 0 is the fixed first block).
  torch::nn::Module& module();
  void train(bool on = true);
  void eval() { train(false); }

  // Data-parallel training: in training mode every BN normalises with the
  // statistics of the global batch, summed over the ranks of `group`
  // (synchronised batch norm), so N ranks with a shard each compute what one
  // process computes on the whole batch. nullptr (the default): the local
  // batch, through at::batch_norm. The group must outlive the setting.
  void set_sync_group(ProcessGroup* group);

  // Forward of the active subnet on an NCHW float batch; logits [N, classes].
  at::Tensor forward(const at::Tensor& images);

  // Resets the running statistics of the active subnet's BNs and recomputes
  // them as the plain average over `batches` (PyTorch's momentum=None), in
  // train mode without gradient; restores the previous train/eval mode.
  void recalibrate_bn(const std::vector<at::Tensor>& batches);
  void recalibrate_bn(const std::vector<datasets::Batch>& batches);

  // A standalone MobileNetV2-style module with its own copies of the
  // subnet's weights and BN parameters/buffers; its eval-mode output equals
  // the supernet's for `arch`. Wrap it as torch::nn::Sequential(ptr).
  std::shared_ptr<torch::nn::SequentialImpl> extract(const ArchSpec& arch) const;

  // Reorders every block's mid channels by the L1 norm of their expansion
  // weights, largest first (OFA/MCUNet, after training the largest subnet).
  // The largest subnet computes the same function afterwards. Optimiser state
  // (momentum buffers) is not permuted: make a new optimiser.
  void sort_channels();

  // BN-folded weights per op of lower(arch), on the CPU.
  std::vector<OpWeights> float_weights(const ArchSpec& arch) const;

  // One sandwich-rule step: the largest, the smallest and `random_subnets`
  // random subnets each run forward/backward on the batch (cross entropy with
  // `label_smoothing`); gradients accumulate and the optimiser steps once.
  // Returns the mean loss. Leaves the largest subnet active.
  double train_step(const at::Tensor& images, const at::Tensor& labels,
                    torch::optim::Optimizer& optimizer, int32_t random_subnets, uint64_t seed,
                    double label_smoothing = 0.1);

 private:
  std::shared_ptr<SupernetImpl> impl_;
};

// Describes an extracted module's layers in the order lower() emits ops
// (conv2d, [pointwise], depthwise, pointwise, [add], ..., avgpool,
// fully_connected), read from the modules' weights and options.
std::vector<LayerShape> layer_shapes(const torch::nn::SequentialImpl& extracted);

// BN-folded float weights per op of lower(arch) of a module extract(arch)
// made (after fine-tuning it, say); Supernet::float_weights is this on a
// fresh extract.
std::vector<OpWeights> extracted_float_weights(const torch::nn::SequentialImpl& extracted, const ArchSpec& arch);

// An inference-only copy of a module extract() made, with every BN folded
// into its conv (weight x gamma / sqrt(var + eps), bias beta - mean x that):
// in eval mode the same outputs within float rounding, one pass per layer
// fewer. For scoring many subnets (evaluator/accuracy.h); not trainable.
std::shared_ptr<torch::nn::SequentialImpl> fold_for_inference(const torch::nn::SequentialImpl& extracted);

// Sets torch's intra-op threads (0: all hardware threads).
void set_threads(int32_t threads);

}  // namespace tinynas::supernet
