#include "core/op_graph.h"

#include <algorithm>
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
  patch = PatchSpec{};
  patch_ops = 0;
  assembled = -1;
  layer_by_layer_macs = 0;
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

int64_t deployed_weight_bytes(const Op& op) {
  if (op.kind != OpKind::kConv2d || op.biases <= 0) return op.weights;
  return op.biases * round_up4(op.weights / op.biases);
}

int64_t op_scratch_bytes(OpKind kind, const TensorShape& in, const TensorShape& out,
                         int32_t kernel, int32_t padding) {
  switch (kind) {
    case OpKind::kConv2d: return int64_t{3} * round_up4(int64_t{kernel} * kernel * in.c) * 2;
    case OpKind::kPointwiseConv2d: return int64_t{2} * in.c * 2;
    case OpKind::kDepthwiseConv2d:
      return int64_t{in.h + 2 * padding} * (in.w + 2 * padding) + int64_t{2} * out.w * 4;
    case OpKind::kAdd:
    case OpKind::kAvgPool:
    case OpKind::kFullyConnected: return 0;
  }
  return 0;
}

int64_t op_scratch_bytes(const Op& op, const TensorShape& in, const TensorShape& out) {
  if (op.kind != OpKind::kDepthwiseConv2d)
    return op_scratch_bytes(op.kind, in, out, op.kernel, op.padding);
  return int64_t{in.h + op.pad_top + op.pad_bottom} * (in.w + op.pad_left + op.pad_right) +
         int64_t{2} * out.w * 4;
}

int32_t patch_stage_layers(const OpGraph& g) {
  if (g.patch_ops == 0 || g.patch.n <= 0) return 0;
  return g.patch_ops / (g.patch.n * g.patch.n);
}

int32_t layer_op_index(const OpGraph& g, int32_t op) {
  const int32_t layers = patch_stage_layers(g);
  if (layers == 0) return op;
  return op < g.patch_ops ? op % layers : op - g.patch_ops + layers;
}

int32_t owner_op_index(const OpGraph& g, int32_t layer) {
  const int32_t layers = patch_stage_layers(g);
  if (layers == 0 || layer < layers) return layer;
  return layer - layers + g.patch_ops;
}

namespace {

inline int32_t conv_out(int32_t in, int32_t stride) { return (in - 1) / stride + 1; }

struct Builder {
  OpGraph& g;

  int32_t add_tensor(TensorShape s) {
    Tensor& t = g.tensors.emplace_back();
    t.shape = s;
    t.bytes = s.elements();
    t.region = {0, 0, s.h, s.w};
    return static_cast<int32_t>(g.tensors.size() - 1);
  }

  // Adds an op reading `in` (and `in2`) and producing a new tensor of `out`.
  // Built in place: the search lowers millions of networks.
  int32_t add_op(const Op& spec, TensorShape out) {
    const auto index = static_cast<int32_t>(g.ops.size());
    const int32_t output = add_tensor(out);
    Op& op = g.ops.emplace_back(spec);
    op.output = output;
    Tensor& o = g.tensors[output];
    o.producer = index;
    o.last_use = index;
    Tensor& i = g.tensors[op.input];
    i.last_use = index;
    if (op.input2 >= 0) g.tensors[op.input2].last_use = index;
    op.scratch_bytes = op_scratch_bytes(op.kind, i.shape, out, op.kernel, op.padding);
    op.pad_top = op.pad_left = op.pad_bottom = op.pad_right = op.padding;
    op.in_window = i.region;
    op.out_tile = o.region;
    return output;
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


// ---- The patch stage -------------------------------------------------------
//
// The first conv and blocks 0..B form a chain of layers over "local" tensors:
// 0 is the image, layer i writes local tensor i + 1. The geometry is separable,
// so it is computed per dimension: for the r-th row of patches, the rows each
// layer writes and reads; columns are the same function of the patch column.

struct PatchLayer {
  OpKind kind = OpKind::kConv2d;
  int32_t kernel = 1, stride = 1, out_c = 0;
  Activation act = Activation::kNone;
  int32_t block = -1;
  int32_t in = 0, in2 = -1;      // local tensors read
  int32_t in_size = 0, out_size = 0;  // sides of the full input and output maps
};

struct Span {
  int32_t lo = 0, len = 0;  // [lo, lo + len)
};

Span unite(Span a, Span b) {
  if (a.len == 0) return b;
  if (b.len == 0) return a;
  const int32_t lo = std::min(a.lo, b.lo);
  return {lo, std::max(a.lo + a.len, b.lo + b.len) - lo};
}

// One dimension of one layer for one row (or column) of patches.
struct SpanGeometry {
  Span out;         // what the layer writes (= what its readers need)
  Span in;          // what it reads of its input map
  int32_t pad_lo = 0, pad_hi = 0;  // zero padding beyond the map's border
};

std::vector<PatchLayer> patch_layers(const ArchSpec& arch, std::vector<int32_t>& channels) {
  std::vector<PatchLayer> layers;
  channels.assign(1, arch.in_channels);
  const Activation act = arch.activation;
  int32_t size = arch.resolution;
  auto add = [&](OpKind kind, int32_t k, int32_t s, int32_t out_c, Activation a, int32_t block,
                 int32_t in, int32_t in2) {
    PatchLayer l;
    l.kind = kind;
    l.kernel = k;
    l.stride = s;
    l.out_c = out_c;
    l.act = a;
    l.block = block;
    l.in = in;
    l.in2 = in2;
    l.in_size = size;
    l.out_size = conv_out(size, s);
    size = l.out_size;
    layers.push_back(l);
    channels.push_back(out_c);
    return static_cast<int32_t>(layers.size());  // the local tensor it writes
  };
  int32_t x = add(OpKind::kConv2d, arch.first_conv.kernel, arch.first_conv.stride,
                  arch.first_conv.out_channels, act, -1, 0, -1);
  int32_t block_index = 0;
  for (const auto& stage : arch.stages) {
    for (const auto& blk : stage.blocks) {
      if (block_index > arch.patch.split_block) return layers;
      const int32_t block_in = x;
      const int32_t mid = blk.mid_channels;
      if (blk.expand != 1) x = add(OpKind::kPointwiseConv2d, 1, 1, mid, act, block_index, x, -1);
      x = add(OpKind::kDepthwiseConv2d, blk.kernel, blk.stride, mid, act, block_index, x, -1);
      x = add(OpKind::kPointwiseConv2d, 1, 1, blk.out_channels, Activation::kNone, block_index, x, -1);
      if (blk.residual)
        x = add(OpKind::kAdd, 1, 1, blk.out_channels, Activation::kNone, block_index, x, block_in);
      ++block_index;
    }
  }
  return layers;
}

// Backwards from the tile [tile.lo, tile.lo + tile.len) of the last layer's
// output: each layer writes what its readers need, and reads, for output rows
// [a, b), the input rows [a*s - p, (b-1)*s - p + k - 1] clipped to the map; the
// clipped rows are its zero padding.
std::vector<SpanGeometry> patch_spans(const std::vector<PatchLayer>& layers, Span tile) {
  const size_t n = layers.size();
  std::vector<Span> need(n + 1);
  std::vector<SpanGeometry> geo(n);
  need[n] = tile;
  for (size_t i = n; i-- > 0;) {
    const PatchLayer& l = layers[i];
    SpanGeometry& sg = geo[i];
    sg.out = need[i + 1];
    if (l.kind == OpKind::kAdd) {
      sg.in = sg.out;
      need[l.in] = unite(need[l.in], sg.out);
      need[l.in2] = unite(need[l.in2], sg.out);
      continue;
    }
    const int32_t p = l.kernel / 2;
    const int32_t first = sg.out.lo * l.stride - p;
    const int32_t last = (sg.out.lo + sg.out.len - 1) * l.stride - p + l.kernel - 1;
    const int32_t lo = std::max(first, 0), hi = std::min(last, l.in_size - 1);
    sg.in = {lo, hi - lo + 1};
    sg.pad_lo = lo - first;
    sg.pad_hi = last - hi;
    need[l.in] = unite(need[l.in], sg.in);
  }
  return geo;
}

// Emits the patch stage into g (whose input tensor exists) and returns the
// assembled output tensor of the split block.
int32_t lower_patch_stage(const ArchSpec& arch, Builder& b) {
  OpGraph& g = b.g;
  const int32_t n = arch.patch.n;
  std::vector<int32_t> channels;
  const std::vector<PatchLayer> layers = patch_layers(arch, channels);
  const auto num_layers = static_cast<int32_t>(layers.size());
  const int32_t out_size = layers.back().out_size;
  const int32_t tile = out_size / n;
  std::vector<std::vector<SpanGeometry>> geo;  // per row (= column) of patches
  for (int32_t r = 0; r < n; ++r) geo.push_back(patch_spans(layers, {r * tile, tile}));

  const int32_t assembled = b.add_tensor({out_size, out_size, channels.back()});
  std::vector<int32_t> local(channels.size(), -1);  // local -> graph tensor
  local[0] = g.input;
  int64_t layer_by_layer = 0;
  for (int32_t py = 0; py < n; ++py) {
    for (int32_t px = 0; px < n; ++px) {
      const int32_t patch = py * n + px;
      for (int32_t i = 0; i < num_layers; ++i) {
        const PatchLayer& l = layers[i];
        const SpanGeometry& rows = geo[py][i];
        const SpanGeometry& cols = geo[px][i];
        const auto index = static_cast<int32_t>(g.ops.size());
        Op op;
        op.kind = l.kind;
        op.input = local[l.in];
        op.input2 = l.in2 >= 0 ? local[l.in2] : -1;
        op.kernel = l.kernel;
        op.stride = l.stride;
        op.padding = l.kind == OpKind::kAdd ? 0 : l.kernel / 2;
        op.pad_top = rows.pad_lo;
        op.pad_bottom = rows.pad_hi;
        op.pad_left = cols.pad_lo;
        op.pad_right = cols.pad_hi;
        op.activation = l.act;
        op.block = l.block;
        op.patch = patch;
        op.first_patch_op = patch == 0 ? -1 : i;  // patch 0's ops are ops 0..num_layers-1
        op.in_window = {rows.in.lo, cols.in.lo, rows.in.len, cols.in.len};
        op.out_tile = {rows.out.lo, cols.out.lo, rows.out.len, cols.out.len};
        const int32_t in_c = channels[l.in];
        const TensorShape in_shape{op.in_window.h, op.in_window.w, in_c};
        const TensorShape out_shape{op.out_tile.h, op.out_tile.w, channels[i + 1]};
        int64_t per_pixel = 0;  // MACs per output pixel
        int64_t weights = 0;
        if (l.kind == OpKind::kDepthwiseConv2d) {
          per_pixel = int64_t{l.out_c} * l.kernel * l.kernel;
          weights = per_pixel;
        } else if (l.kind != OpKind::kAdd) {
          per_pixel = int64_t{l.out_c} * l.kernel * l.kernel * in_c;
          weights = per_pixel;
        }
        op.macs = op.out_tile.pixels() * per_pixel;
        if (patch == 0) {
          op.weights = weights;
          op.biases = l.kind == OpKind::kAdd ? 0 : l.out_c;
          layer_by_layer += int64_t{l.out_size} * l.out_size * per_pixel;
        }
        op.scratch_bytes = op_scratch_bytes(op, in_shape, out_shape);

        if (i == num_layers - 1) {
          op.output = assembled;
          if (g.tensors[assembled].producer < 0) g.tensors[assembled].producer = index;
        } else {
          op.output = b.add_tensor(out_shape);
          Tensor& t = g.tensors[op.output];
          t.patch = patch;
          t.region = op.out_tile;
          t.producer = index;
        }
        local[i + 1] = op.output;
        g.tensors[op.output].last_use = index;
        g.tensors[op.input].last_use = index;
        if (op.input2 >= 0) g.tensors[op.input2].last_use = index;
        g.ops.push_back(op);
      }
    }
  }
  g.patch = arch.patch;
  g.patch_ops = static_cast<int32_t>(g.ops.size());
  g.assembled = assembled;
  g.layer_by_layer_macs = layer_by_layer;
  return assembled;
}

}  // namespace

void lower(const ArchSpec& arch, OpGraph& g) {
  g.clear();
  Builder b{g};
  g.input = b.add_tensor({arch.resolution, arch.resolution, arch.in_channels});
  const Activation act = arch.activation;
  // Blocks before first_block ran in the patch stage, if any.
  int32_t first_block = 0;
  int32_t x = -1;
  if (arch.patch.enabled()) {
    x = lower_patch_stage(arch, b);
    first_block = arch.patch.split_block + 1;
  } else {
    x = b.conv(OpKind::kConv2d, g.input, arch.first_conv.out_channels, arch.first_conv.kernel,
               arch.first_conv.stride, act, -1);
  }
  int32_t block_index = 0;
  for (const auto& stage : arch.stages) {
    for (const auto& blk : stage.blocks) {
      if (block_index < first_block) {
        ++block_index;
        continue;
      }
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
  for (size_t i = static_cast<size_t>(g.patch_ops); i < g.ops.size(); ++i)
    g.layer_by_layer_macs += g.ops[i].macs;
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
    TensorShape in = g.tensors[op.input].shape;
    TensorShape o = g.tensors[op.output].shape;
    if (op.patch >= 0) {  // the window it reads and the tile it writes
      in = {op.in_window.h, op.in_window.w, in.c};
      o = {op.out_tile.h, op.out_tile.w, o.c};
    }
    std::snprintf(line, sizeof line,
                  "%3zu %-15s %4dx%-4dx%-4d -> %4dx%-4dx%-4d k%d s%d %-5s macs=%lld w=%lld\n", i,
                  op_kind_name(op.kind), in.h, in.w, in.c, o.h, o.w, o.c, op.kernel, op.stride,
                  activation_name(op.activation), static_cast<long long>(op.macs),
                  static_cast<long long>(op.weights));
    out += line;
    if (op.patch >= 0) {
      out.pop_back();  // the patch's figures go on the same line
      const Window& w = op.in_window;
      const Window& t = op.out_tile;
      std::snprintf(line, sizeof line,
                    " patch %d in[%d,%d %dx%d] out[%d,%d %dx%d] pad t%d l%d b%d r%d\n", op.patch,
                    w.y0, w.x0, w.h, w.w, t.y0, t.x0, t.h, t.w, op.pad_top, op.pad_left,
                    op.pad_bottom, op.pad_right);
      out += line;
    }
  }
  return out;
}

}  // namespace tinynas
