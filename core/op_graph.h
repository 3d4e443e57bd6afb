// OpGraph: the network as the int8 runtime executes it, produced by the ONE
// lowering, lower(ArchSpec). The cost model, the memory planner, the supernet's
// subnet extraction, the quantiser and the code generator all read this graph,
// so the network that is searched is the network that is shipped.
//
// Ops run in the order of `ops`. Activations are int8, NHWC, one byte per
// element; weights int8 (per output channel scales), biases int32. Field names
// follow the kernels' parameters (CMSIS-NN's cmsis_nn_conv_params and dims).
//
// Patch-based inference (ArchSpec::patch, n x n patches through block B):
// ops [0, patch_ops) are the patch stage: for each patch in row-major order,
// the first conv and the ops of blocks 0..B restricted to that patch; then the
// rest of the network as without patching. A patch op reads `in_window` of its
// layer's full input map (its input tensor holds `region` of that map: the
// window itself, or the whole image for the first conv, or for a residual add
// the block input's larger window, of which it reads `out_tile`) and writes
// `out_tile` of its layer's full output map, with the zero padding per side
// that the image border needs (none inside the image: the halo is real data,
// computed backwards from the tile through each layer's kernel, stride and
// padding). Each patch has its own tensors, except the assembled output of
// block B: one whole-map tensor that every patch's last op writes its tile
// into, live from the first patch's write to its last reader. A layer's later
// patches reuse the weights and code of its patch-0 op (first_patch_op), so
// weights are counted once.
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

// A rectangle of a full feature map: rows y0..y0+h-1, columns x0..x0+w-1.
struct Window {
  int32_t y0 = 0, x0 = 0, h = 0, w = 0;
  int64_t pixels() const { return int64_t{h} * w; }
  bool operator==(const Window&) const = default;
};

struct Tensor {
  TensorShape shape;
  int64_t bytes = 0;       // int8: one byte per element
  int32_t producer = -1;   // op index; -1 for the graph input; the assembled
                           // patch output: the first patch's op writing it
  int32_t last_use = -1;   // last op index that reads it; the graph output: its producer
  int32_t patch = -1;      // the patch whose working set it belongs to; -1: a whole map
  Window region;           // the part of the full map it holds (shape.h x shape.w)
};

struct Op {
  OpKind kind = OpKind::kConv2d;
  int32_t input = -1;       // tensor index
  int32_t input2 = -1;      // second operand of kAdd, else -1
  int32_t output = -1;      // tensor index
  int32_t kernel = 1;       // square kernel (1 for pointwise/add/fc)
  int32_t stride = 1;
  int32_t padding = 0;      // symmetric zero padding (kernel / 2) of the layer
  // Zero padding per side of this op's input window: `padding` on every side
  // for a whole-map op; for a patch op only at the image border.
  // (in_window.h + pad_top + pad_bottom - kernel) / stride + 1 == out_tile.h
  // (rounding down), and likewise for the columns.
  int32_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  Activation activation = Activation::kNone;
  int32_t block = -1;       // index of the inverted-residual block it belongs to
  int32_t patch = -1;       // patch index (row-major, py * n + px); -1: runs on whole maps
  int32_t first_patch_op = -1;  // a later patch's op: the same layer's op of patch 0,
                                // whose weights and code it reuses; else -1
  Window in_window;         // the part of the input's full map it reads (all of it unpatched)
  Window out_tile;          // the part of the output's full map it writes
  int64_t macs = 0;         // MACs of this op (a patch op: of its tile, overlap included)
  int64_t weights = 0;      // int8 weight elements it owns (0 when first_patch_op >= 0)
  int64_t biases = 0;       // int32 biases it owns (= output channels for conv/fc)
  int64_t scratch_bytes = 0;  // the shared scratch buffer this op needs
};

struct OpGraph {
  std::vector<Tensor> tensors;
  std::vector<Op> ops;
  int32_t input = -1;   // tensor index of the network input
  int32_t output = -1;  // tensor index of the logits
  PatchSpec patch;      // as lowered; n == 0: no patch stage
  int32_t patch_ops = 0;  // ops [0, patch_ops) are the patch stage
  int32_t assembled = -1;  // tensor index of block B's assembled output map, or -1
  // MACs of the same network run layer by layer (== total_macs() unpatched):
  // total_macs() - layer_by_layer_macs is the overlap the patches recompute.
  int64_t layer_by_layer_macs = 0;

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

// v rounded up to a multiple of 4: the firmware word-aligns its weight arrays
// and conv2d's rows (the runtime's tn_conv2d_depth).
constexpr int64_t round_up4(int64_t v) { return (v + 3) & ~int64_t{3}; }

// The int8 weight bytes the firmware stores for an op: its weights, except
// that conv2d pads each output channel's row of k*k*Cin to a multiple of 4
// with zeros (the runtime's tn_conv2d_depth: 27 -> 28 for a 3x3x3 stem).
int64_t deployed_weight_bytes(const Op& op);

// Scratch bytes the runtime kernels need for one op (their _get_buffer_size):
// - conv2d: three output pixels' patches as int16 columns, each patch padded
//   to a multiple of 4 (3 * round4(k*k*Cin) * 2 B);
// - pointwise: one column pair of the input widened to int16 (2 * Cin * 2 B);
// - depthwise: one padded input channel, as the in-place kernel copies each
//   channel out before overwriting it ((H+2p) * (W+2p) B), plus the output
//   channel's int32 accumulators for two rows (2 * Wout * 4 B);
// - add, avgpool, fully connected: none.
int64_t op_scratch_bytes(OpKind kind, const TensorShape& in, const TensorShape& out,
                         int32_t kernel, int32_t padding);
// The same for an op whose padding differs per side (a patch at the border);
// `in` is the window it reads.
int64_t op_scratch_bytes(const Op& op, const TensorShape& in, const TensorShape& out);

// Between a patched graph and the same network lowered without patches
// (ArchSpec::patch cleared), whose first patch_stage_layers() ops are the
// patch stage's layers in the same order and whose later ops are the patched
// graph's ops from patch_ops on (identity maps for an unpatched graph):
// - patch_stage_layers: ops per patch (0 unpatched);
// - layer_op_index: the unpatched op computing the layer that `op` computes
//   (a part of);
// - owner_op_index: the op of this graph that owns unpatched op `layer`'s
//   parameters (in the patch stage, patch 0's).
int32_t patch_stage_layers(const OpGraph& graph);
int32_t layer_op_index(const OpGraph& graph, int32_t op);
int32_t owner_op_index(const OpGraph& graph, int32_t layer);

// The one lowering. Appends into `graph` after clearing it (so a caller can
// reuse its capacity in hot loops). The ArchSpec must be valid.
void lower(const ArchSpec& arch, OpGraph& graph);
OpGraph lower(const ArchSpec& arch);

// One line per op: index, kind, shapes, kernel/stride, MACs, weights; a patch
// op adds its patch, input window, output tile and padding per side.
std::string dump_graph(const OpGraph& graph);

}  // namespace tinynas
