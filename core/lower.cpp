#include "core/op_graph.h"

#include <cstdio>

namespace tinynas {

const char* op_kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::kConv2d: return "conv2d";
    case OpKind::kDepthwiseConv2d: return "depthwise";
    case OpKind::kPointwiseConv2d: return "pointwise";
    case OpKind::kAdd: return "add";
    case OpKind::kAvgPool: return "avgpool";
    case OpKind::kFullyConnected: return "fully_connected";
  }
  return "?";
}

void OpGraph::clear() {
  tensors.clear();
  ops.clear();
  input = output = -1;
}

int64_t OpGraph::total_macs() const {
  int64_t m = 0;
  for (const auto& op : ops) m += op.macs;
  return m;
}

int64_t OpGraph::total_params() const {
  int64_t p = 0;
  for (const auto& op : ops) {
    // Convs carry a BatchNorm (scale and shift); the classifier a plain bias.
    p += op.weights + (op.kind == OpKind::kFullyConnected ? op.biases : 2 * op.biases);
  }
  return p;
}

int64_t OpGraph::deployed_params() const {
  int64_t p = 0;
  for (const auto& op : ops) p += op.weights + op.biases;
  return p;
}

int64_t op_scratch_bytes(OpKind kind, const TensorShape& in, const TensorShape& out,
                         int32_t kernel, int32_t padding) {
  switch (kind) {
    case OpKind::kConv2d: return int64_t{2} * kernel * kernel * in.c * 2;
    case OpKind::kPointwiseConv2d: return int64_t{2} * in.c * 2;
    case OpKind::kDepthwiseConv2d:
      return int64_t{in.h + 2 * padding} * (in.w + 2 * padding) + int64_t{2} * out.w * 4;
    case OpKind::kAdd:
    case OpKind::kAvgPool:
    case OpKind::kFullyConnected: return 0;
  }
  return 0;
}

namespace {

inline int32_t conv_out(int32_t in, int32_t stride) { return (in - 1) / stride + 1; }

struct Builder {
  OpGraph& g;

  int32_t add_tensor(TensorShape s) {
    Tensor t;
    t.shape = s;
    t.bytes = s.elements();
    g.tensors.push_back(t);
    return static_cast<int32_t>(g.tensors.size() - 1);
  }

  // Adds an op reading `in` (and `in2`) and producing a new tensor of `out`.
  int32_t add_op(Op op, TensorShape out) {
    const auto index = static_cast<int32_t>(g.ops.size());
    op.output = add_tensor(out);
    g.tensors[op.output].producer = index;
    g.tensors[op.output].last_use = index;
    g.tensors[op.input].last_use = index;
    if (op.input2 >= 0) g.tensors[op.input2].last_use = index;
    const TensorShape& in_shape = g.tensors[op.input].shape;
    op.scratch_bytes = op_scratch_bytes(op.kind, in_shape, out, op.kernel, op.padding);
    g.ops.push_back(op);
    return op.output;
  }

  int32_t conv(OpKind kind, int32_t in, int32_t out_c, int32_t k, int32_t s, Activation act,
               int32_t block) {
    const TensorShape is = g.tensors[in].shape;
    TensorShape os{conv_out(is.h, s), conv_out(is.w, s), out_c};
    Op op;
    op.kind = kind;
    op.input = in;
    op.kernel = k;
    op.stride = s;
    op.padding = k / 2;
    op.activation = act;
    op.block = block;
    const int64_t out_pixels = int64_t{os.h} * os.w;
    if (kind == OpKind::kDepthwiseConv2d) {
      os.c = is.c;
      op.macs = out_pixels * os.c * k * k;
      op.weights = int64_t{os.c} * k * k;
    } else {
      op.macs = out_pixels * out_c * k * k * is.c;
      op.weights = int64_t{out_c} * k * k * is.c;
    }
    op.biases = os.c;
    return add_op(op, os);
  }
};

}  // namespace

void lower(const ArchSpec& arch, OpGraph& g) {
  g.clear();
  Builder b{g};
  g.input = b.add_tensor({arch.resolution, arch.resolution, arch.in_channels});
  const Activation act = arch.activation;
  int32_t x = b.conv(OpKind::kConv2d, g.input, arch.first_conv.out_channels,
                     arch.first_conv.kernel, arch.first_conv.stride, act, -1);
  int32_t block_index = 0;
  for (const auto& stage : arch.stages) {
    for (const auto& blk : stage.blocks) {
      const int32_t block_in = x;
      if (blk.expand != 1)
        x = b.conv(OpKind::kPointwiseConv2d, x, blk.mid_channels, 1, 1, act, block_index);
      x = b.conv(OpKind::kDepthwiseConv2d, x, 0, blk.kernel, blk.stride, act, block_index);
      x = b.conv(OpKind::kPointwiseConv2d, x, blk.out_channels, 1, 1, Activation::kNone,
                 block_index);
      if (blk.residual) {
        Op add;
        add.kind = OpKind::kAdd;
        add.input = x;        // the projection's output, which dies here
        add.input2 = block_in;
        add.block = block_index;
        x = b.add_op(add, g.tensors[x].shape);
      }
      ++block_index;
    }
  }
  if (arch.feature_mix_channels > 0)
    x = b.conv(OpKind::kPointwiseConv2d, x, arch.feature_mix_channels, 1, 1, act, -1);
  {
    Op pool;
    pool.kind = OpKind::kAvgPool;
    pool.input = x;
    const int32_t c = g.tensors[x].shape.c;
    x = b.add_op(pool, {1, 1, c});
  }
  {
    Op fc;
    fc.kind = OpKind::kFullyConnected;
    fc.input = x;
    const int32_t in_c = g.tensors[x].shape.c;
    fc.macs = int64_t{in_c} * arch.num_classes;
    fc.weights = fc.macs;
    fc.biases = arch.num_classes;
    x = b.add_op(fc, {1, 1, arch.num_classes});
  }
  g.output = x;
}

OpGraph lower(const ArchSpec& arch) {
  OpGraph g;
  lower(arch, g);
  return g;
}

std::string dump_graph(const OpGraph& g) {
  std::string out;
  char line[256];
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const TensorShape& in = g.tensors[op.input].shape;
    const TensorShape& o = g.tensors[op.output].shape;
    std::snprintf(line, sizeof line,
                  "%3zu %-15s %4dx%-4dx%-4d -> %4dx%-4dx%-4d k%d s%d %-5s macs=%lld w=%lld\n", i,
                  op_kind_name(op.kind), in.h, in.w, in.c, o.h, o.w, o.c, op.kernel, op.stride,
                  activation_name(op.activation), static_cast<long long>(op.macs),
                  static_cast<long long>(op.weights));
    out += line;
  }
  return out;
}

}  // namespace tinynas
