// OpGraph: the network as the int8 runtime executes it, produced by the ONE
// lowering, lower(ArchSpec). The cost model, the memory planner, the supernet's
// subnet extraction, the quantiser and the code generator all read this graph,
// so the network that is searched is the network that is shipped.
//
// Ops run in the order of `ops`. Activations are int8, NHWC, one byte per
// element; weights int8 (per output channel scales), biases int32. Field names
// follow the kernels' parameters (CMSIS-NN's cmsis_nn_conv_params and dims).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/arch.h"

namespace tinynas {

enum class OpKind : uint8_t {
  kConv2d,           // full k x k convolution (the first layer), im2col scratch
  kDepthwiseConv2d,  // k x k depthwise, channel multiplier 1; may run in place
  kPointwiseConv2d,  // 1 x 1 convolution
  kAdd,              // elementwise add of two tensors of one shape (residual)
  kAvgPool,          // global average pool to 1 x 1
  kFullyConnected,   // classifier
};
inline constexpr int kNumOpKinds = 6;

const char* op_kind_name(OpKind kind);

struct TensorShape {
  int32_t h = 0, w = 0, c = 0;
  int64_t elements() const { return int64_t{h} * w * c; }
  bool operator==(const TensorShape&) const = default;
};

struct Tensor {
  TensorShape shape;
  int64_t bytes = 0;       // int8: one byte per element
  int32_t producer = -1;   // op index; -1 for the graph input
  int32_t last_use = -1;   // last op index that reads it; the graph output: its producer
};

struct Op {
  OpKind kind = OpKind::kConv2d;
  int32_t input = -1;       // tensor index
  int32_t input2 = -1;      // second operand of kAdd, else -1
  int32_t output = -1;      // tensor index
  int32_t kernel = 1;       // square kernel (1 for pointwise/add/fc)
  int32_t stride = 1;
  int32_t padding = 0;      // symmetric zero padding (kernel / 2)
  Activation activation = Activation::kNone;
  int32_t block = -1;       // index of the inverted-residual block it belongs to
  int64_t macs = 0;
  int64_t weights = 0;      // int8 weight elements
  int64_t biases = 0;       // int32 biases (= output channels for conv/fc)
  int64_t scratch_bytes = 0;  // the shared scratch buffer this op needs
};

struct OpGraph {
  std::vector<Tensor> tensors;
  std::vector<Op> ops;
  int32_t input = -1;   // tensor index of the network input
  int32_t output = -1;  // tensor index of the logits

  void clear();
  int64_t total_macs() const;
  // Parameters as the published model zoos count them (PyTorch's count of the
  // float network): conv weights + 2 BatchNorm parameters per conv output
  // channel + classifier weights and bias.
  int64_t total_params() const;
  // Parameters of the deployed int8 network: weights + one int32 bias per
  // output channel (BN folded).
  int64_t deployed_params() const;
};

// Scratch bytes the runtime kernels need for one op (their _get_buffer_size):
// - conv2d: im2col of two output pixels' patches as int16 (2 * k*k*Cin * 2 B);
// - pointwise: one column pair of the input widened to int16 (2 * Cin * 2 B);
// - depthwise: one padded input channel, as the in-place kernel copies each
//   channel out before overwriting it ((H+2p) * (W+2p) B), plus the output
//   channel's int32 accumulators for two rows (2 * Wout * 4 B);
// - add, avgpool, fully connected: none.
int64_t op_scratch_bytes(OpKind kind, const TensorShape& in, const TensorShape& out,
                         int32_t kernel, int32_t padding);

// The one lowering. Appends into `graph` after clearing it (so a caller can
// reuse its capacity in hot loops). The ArchSpec must be valid.
void lower(const ArchSpec& arch, OpGraph& graph);
OpGraph lower(const ArchSpec& arch);

// One line per op: index, kind, shapes, kernel/stride, MACs, weights.
std::string dump_graph(const OpGraph& graph);

}  // namespace tinynas
