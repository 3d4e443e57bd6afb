#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <utility>

#include "core/arch_io.h"
#include "core/op_graph.h"
#include "tests/test_util.h"

namespace tinynas {
namespace {

using test_nets::tiny_arch;

TEST(LowerTest, OpsAndShapesOfAHandCheckedNetwork) {
  const OpGraph g = lower(tiny_arch());
  const std::vector<OpKind> kinds = {
      OpKind::kConv2d,          OpKind::kDepthwiseConv2d, OpKind::kPointwiseConv2d,
      OpKind::kAdd,             OpKind::kPointwiseConv2d, OpKind::kDepthwiseConv2d,
      OpKind::kPointwiseConv2d, OpKind::kPointwiseConv2d, OpKind::kDepthwiseConv2d,
      OpKind::kPointwiseConv2d, OpKind::kAdd,             OpKind::kAvgPool,
      OpKind::kFullyConnected};
  ASSERT_EQ(g.ops.size(), kinds.size());
  for (size_t i = 0; i < kinds.size(); ++i) EXPECT_EQ(g.ops[i].kind, kinds[i]) << "op " << i;

  auto out_shape = [&](size_t i) { return g.tensors[g.ops[i].output].shape; };
  EXPECT_EQ(g.tensors[g.input].shape, (TensorShape{32, 32, 3}));
  EXPECT_EQ(out_shape(0), (TensorShape{16, 16, 8}));
  EXPECT_EQ(out_shape(1), (TensorShape{16, 16, 8}));
  EXPECT_EQ(out_shape(3), (TensorShape{16, 16, 8}));
  EXPECT_EQ(out_shape(4), (TensorShape{16, 16, 24}));
  EXPECT_EQ(out_shape(5), (TensorShape{8, 8, 24}));  // stride 2
  EXPECT_EQ(out_shape(6), (TensorShape{8, 8, 16}));
  EXPECT_EQ(out_shape(7), (TensorShape{8, 8, 64}));
  EXPECT_EQ(out_shape(11), (TensorShape{1, 1, 16}));
  EXPECT_EQ(out_shape(12), (TensorShape{1, 1, 10}));
  EXPECT_EQ(g.output, g.ops.back().output);

  // Padding is kernel / 2; the projection has no activation.
  EXPECT_EQ(g.ops[5].kernel, 5);
  EXPECT_EQ(g.ops[5].padding, 2);
  EXPECT_EQ(g.ops[5].stride, 2);
  EXPECT_EQ(g.ops[6].activation, Activation::kNone);
  EXPECT_EQ(g.ops[4].activation, Activation::kRelu6);
  // The residual add reads the projection and the block input.
  EXPECT_EQ(g.ops[3].input, g.ops[2].output);
  EXPECT_EQ(g.ops[3].input2, g.ops[0].output);
  EXPECT_EQ(g.ops[10].input2, g.ops[6].output);
  EXPECT_EQ(g.ops[9].block, 2);
}

TEST(LowerTest, MacsAndParamsByHand) {
  const OpGraph g = lower(tiny_arch());
  const std::vector<int64_t> macs = {16 * 16 * 8 * 27, 16 * 16 * 8 * 9, 16 * 16 * 8 * 8, 0,
                                     16 * 16 * 8 * 24, 8 * 8 * 24 * 25, 8 * 8 * 24 * 16,
                                     8 * 8 * 16 * 64,  8 * 8 * 64 * 9,  8 * 8 * 64 * 16, 0, 0,
                                     16 * 10};
  for (size_t i = 0; i < macs.size(); ++i) EXPECT_EQ(g.ops[i].macs, macs[i]) << "op " << i;
  EXPECT_EQ(g.total_macs(), 370336);
  // weights 216+72+64+192+600+384+1024+576+1024+160, conv channels 232, fc bias 10
  EXPECT_EQ(g.total_params(), 4312 + 2 * 232 + 10);
  EXPECT_EQ(g.deployed_params(), 4312 + 232 + 10);
}

TEST(LowerTest, LifetimesAndScratch) {
  const OpGraph g = lower(tiny_arch());
  // The block input of a residual block lives until its add.
  EXPECT_EQ(g.tensors[g.ops[0].output].last_use, 3);
  EXPECT_EQ(g.tensors[g.ops[6].output].last_use, 10);
  EXPECT_EQ(g.tensors[g.input].producer, -1);
  EXPECT_EQ(g.tensors[g.input].last_use, 0);
  // Scratch: im2col of three patches as int16, each padded to 28; one padded
  // channel + two rows of int32 accumulators for depthwise; two int16 columns
  // for pointwise.
  EXPECT_EQ(g.ops[0].scratch_bytes, 3 * 28 * 2);
  EXPECT_EQ(g.ops[1].scratch_bytes, 18 * 18 + 2 * 16 * 4);
  EXPECT_EQ(g.ops[5].scratch_bytes, 20 * 20 + 2 * 8 * 4);
  EXPECT_EQ(g.ops[4].scratch_bytes, 2 * 8 * 2);
  EXPECT_EQ(g.ops[3].scratch_bytes, 0);
  EXPECT_EQ(g.ops[12].scratch_bytes, 0);
}

TEST(LowerTest, OddResolutionsRoundUpLikeSamePadding) {
  ArchSpec a = tiny_arch();
  a.resolution = 33;
  const OpGraph g = lower(a);
  EXPECT_EQ(g.tensors[g.ops[0].output].shape, (TensorShape{17, 17, 8}));
  EXPECT_EQ(g.tensors[g.ops[5].output].shape, (TensorShape{9, 9, 24}));
}

TEST(LowerTest, FeatureMixLayerAddsAPointwiseConv) {
  ArchSpec a = tiny_arch();
  a.feature_mix_channels = 32;
  const OpGraph g = lower(a);
  ASSERT_EQ(g.ops.size(), 14u);
  EXPECT_EQ(g.ops[11].kind, OpKind::kPointwiseConv2d);
  EXPECT_EQ(g.tensors[g.ops[11].output].shape, (TensorShape{8, 8, 32}));
  EXPECT_EQ(g.ops[13].macs, 32 * 10);
}

TEST(LowerTest, ReusesTheGraphsCapacity) {
  OpGraph g;
  lower(load_arch(test_nets::zoo_path("mcunet-in2")), g);
  const size_t n = g.ops.size();
  lower(tiny_arch(), g);
  EXPECT_EQ(g.ops.size(), 13u);
  EXPECT_GE(g.ops.capacity(), n);
  EXPECT_NE(dump_graph(g).find("depthwise"), std::string::npos);
}

}  // namespace
}  // namespace tinynas

// ---- Patch-based inference --------------------------------------------------

namespace tinynas {
namespace {

using test_nets::tiny_arch;

ArchSpec patched(ArchSpec a, int32_t n, int32_t split_block) {
  a.patch = {n, split_block};
  return a;
}

// What a kernel does with an op's window and padding, in exact integers: the
// test computes block B's output once layer by layer and once patch by patch,
// each op reading only its window of its input tensor (anything the window
// lacks would be read as a wrong value or flagged out of range), and the two
// must agree on every element. Weights depend only on the layer, so a later
// patch's op runs its patch-0 op's.
struct IntTensor {
  Window region;
  int32_t c = 0;
  std::vector<int64_t> v;  // region.h x region.w x c
  int64_t& at(int32_t y, int32_t x, int32_t ch) {  // full-map coordinates
    EXPECT_TRUE(y >= region.y0 && y < region.y0 + region.h && x >= region.x0 &&
                x < region.x0 + region.w)
        << "read outside the tensor's region at " << y << "," << x;
    y = std::clamp(y - region.y0, 0, region.h - 1);
    x = std::clamp(x - region.x0, 0, region.w - 1);
    return v[(static_cast<size_t>(y) * region.w + x) * c + ch];
  }
};

int64_t weight(int32_t layer, int64_t index) {
  return static_cast<int64_t>((layer * 7919 + index * 104729) % 5) - 2;  // -2..2
}

// Runs ops [0, end) of g on a deterministic image; returns the tensors.
std::vector<IntTensor> run_int(const OpGraph& g, int32_t end) {
  std::vector<IntTensor> t(g.tensors.size());
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    t[i].region = g.tensors[i].region;
    t[i].c = g.tensors[i].shape.c;
    t[i].v.assign(static_cast<size_t>(g.tensors[i].shape.elements()), 0);
  }
  IntTensor& image = t[g.input];
  for (size_t i = 0; i < image.v.size(); ++i) image.v[i] = static_cast<int64_t>((i * 37 + 11) % 23) - 11;
  for (int32_t i = 0; i < end; ++i) {
    const Op& op = g.ops[i];
    // Patch 0's ops are ops 0.. of the layers, as layer by layer.
    const int32_t layer = op.first_patch_op >= 0 ? op.first_patch_op : i;
    IntTensor& in = t[op.input];
    IntTensor& out = t[op.output];
    const Window& tile = op.out_tile;
    for (int32_t oy = tile.y0; oy < tile.y0 + tile.h; ++oy) {
      for (int32_t ox = tile.x0; ox < tile.x0 + tile.w; ++ox) {
        for (int32_t oc = 0; oc < out.c; ++oc) {
          int64_t acc = 0;
          if (op.kind == OpKind::kAdd) {
            acc = in.at(oy, ox, oc) + t[op.input2].at(oy, ox, oc);
          } else {
            for (int32_t ky = 0; ky < op.kernel; ++ky) {
              for (int32_t kx = 0; kx < op.kernel; ++kx) {
                // Window-local coordinates, as a kernel given the window sees them.
                const int32_t ly = (oy - tile.y0) * op.stride - op.pad_top + ky;
                const int32_t lx = (ox - tile.x0) * op.stride - op.pad_left + kx;
                if (ly < 0 || lx < 0) continue;  // zero padding
                if (ly >= op.in_window.h || lx >= op.in_window.w) continue;
                const int32_t y = op.in_window.y0 + ly, x = op.in_window.x0 + lx;
                if (op.kind == OpKind::kDepthwiseConv2d) {
                  acc += in.at(y, x, oc) * weight(layer, (oc * op.kernel + ky) * op.kernel + kx);
                } else {
                  for (int32_t ic = 0; ic < in.c; ++ic)
                    acc += in.at(y, x, ic) *
                           weight(layer, ((oc * op.kernel + ky) * op.kernel + kx) * in.c + ic);
                }
              }
            }
            if (op.activation != Activation::kNone) acc = std::clamp<int64_t>(acc, 0, 600);
            else acc = std::clamp<int64_t>(acc, -600, 600);
          }
          out.at(oy, ox, oc) = acc;
        }
      }
    }
  }
  return t;
}

// Checks that a patched lowering computes block B's output exactly as the
// layer-by-layer one does.
void expect_same_split_output(const ArchSpec& arch) {
  ArchSpec plain = arch;
  plain.patch = PatchSpec{};
  const OpGraph pg = lower(plain);
  const OpGraph g = lower(arch);
  const int32_t layers = g.patch_ops / (arch.patch.n * arch.patch.n);
  // The layer-by-layer op writing block B's output is the last of the patch's layers.
  const std::vector<IntTensor> ref = run_int(pg, layers);
  const std::vector<IntTensor> got = run_int(g, g.patch_ops);
  const std::vector<int64_t>& want = ref[pg.ops[layers - 1].output].v;
  const std::vector<int64_t>& have = got[g.assembled].v;
  ASSERT_EQ(want.size(), have.size());
  size_t nonzero = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    nonzero += want[i] != 0;
    ASSERT_EQ(want[i], have[i]) << "element " << i << " of block " << arch.patch.split_block
                                << "'s output";
  }
  EXPECT_GT(nonzero, want.size() / 4);  // the comparison is not of zeros
}

TEST(LowerPatchTest, WindowsAndHaloByHand) {
  // tiny_arch: 32x32 image -> conv k3 s2 -> 16x16 [b0 dw k3, pw, add]
  // [b1 expand, dw k5 s2 -> 8x8, proj]; 2x2 patches through b1: 4x4 tiles.
  const OpGraph g = lower(patched(tiny_arch(), 2, 1));
  constexpr int32_t kLayers = 7;  // conv; b0 dw, pw, add; b1 expand, dw, proj
  ASSERT_EQ(g.patch_ops, 4 * kLayers);
  ASSERT_EQ(g.ops.size(), 4u * kLayers + 6);  // then b2 (4 ops), avgpool, fc
  EXPECT_EQ(g.patch, (PatchSpec{2, 1}));
  for (int32_t i = 0; i < g.patch_ops; ++i) {
    EXPECT_EQ(g.ops[i].patch, i / kLayers) << "op " << i;
    EXPECT_EQ(g.ops[i].first_patch_op, i < kLayers ? -1 : i % kLayers) << "op " << i;
  }
  EXPECT_EQ(g.ops[g.patch_ops].patch, -1);
  EXPECT_EQ(g.ops[g.patch_ops].block, 2);

  auto expect_op = [&](int32_t i, Window in, Window out, std::array<int32_t, 4> pad) {
    const Op& op = g.ops[i];
    EXPECT_EQ(op.in_window, in) << "op " << i;
    EXPECT_EQ(op.out_tile, out) << "op " << i;
    EXPECT_EQ((std::array<int32_t, 4>{op.pad_top, op.pad_left, op.pad_bottom, op.pad_right}), pad)
        << "op " << i;
  };
  // Patch 0 (top left), tile rows/cols [0, 4) of b1's 8x8 output.
  // b1 dw k5 s2 p2: out [0,4) <- in [-2, 8] -> [0, 8], 2 rows of padding on top.
  // b1 expand, b0's add and pw: [0, 9); b0 dw k3 s1: [0, 9) <- [-1, 9] -> [0, 9].
  // conv k3 s2: out [0, 10) <- in [-1, 19] -> [0, 19].
  expect_op(0, {0, 0, 20, 20}, {0, 0, 10, 10}, {1, 1, 0, 0});
  expect_op(1, {0, 0, 10, 10}, {0, 0, 9, 9}, {1, 1, 0, 0});
  expect_op(2, {0, 0, 9, 9}, {0, 0, 9, 9}, {0, 0, 0, 0});
  expect_op(3, {0, 0, 9, 9}, {0, 0, 9, 9}, {0, 0, 0, 0});
  expect_op(4, {0, 0, 9, 9}, {0, 0, 9, 9}, {0, 0, 0, 0});
  expect_op(5, {0, 0, 9, 9}, {0, 0, 4, 4}, {2, 2, 0, 0});
  expect_op(6, {0, 0, 4, 4}, {0, 0, 4, 4}, {0, 0, 0, 0});
  // Patch 1 (top right): columns [4, 8) <- dw [6, 16] -> [6, 15] (one column
  // of padding on the right) <- b0 dw [5, 16] -> [5, 15] <- conv [9, 31].
  expect_op(7, {0, 9, 20, 23}, {0, 5, 10, 11}, {1, 0, 0, 0});
  expect_op(8, {0, 5, 10, 11}, {0, 6, 9, 10}, {1, 0, 0, 1});
  expect_op(12, {0, 6, 9, 10}, {0, 4, 4, 4}, {2, 0, 0, 1});
  // Patch 3 (bottom right).
  expect_op(21, {9, 9, 23, 23}, {5, 5, 11, 11}, {0, 0, 0, 0});
  expect_op(22, {5, 5, 11, 11}, {6, 6, 10, 10}, {0, 0, 1, 1});
  expect_op(26, {6, 6, 10, 10}, {4, 4, 4, 4}, {0, 0, 1, 1});

  // The add reads the projection's tile and the block input's larger window,
  // which the first conv wrote.
  EXPECT_EQ(g.ops[24].input2, g.ops[21].output);
  EXPECT_EQ(g.tensors[g.ops[21].output].region, (Window{5, 5, 11, 11}));
  EXPECT_EQ(g.tensors[g.ops[21].output].patch, 3);
  // Every patch reads the image; the last patch's conv is its last reader.
  EXPECT_EQ(g.ops[21].input, g.input);
  EXPECT_EQ(g.tensors[g.input].last_use, 21);
  // One assembled 8x8x16 map, written by every patch's projection, read by b2.
  for (int32_t p = 0; p < 4; ++p) EXPECT_EQ(g.ops[p * kLayers + 6].output, g.assembled);
  EXPECT_EQ(g.tensors[g.assembled].shape, (TensorShape{8, 8, 16}));
  EXPECT_EQ(g.tensors[g.assembled].patch, -1);
  EXPECT_EQ(g.tensors[g.assembled].producer, 6);
  EXPECT_EQ(g.ops[g.patch_ops].input, g.assembled);
  // Per-patch tensors are the window's size: the patch-0 conv's is 10x10x8.
  EXPECT_EQ(g.tensors[g.ops[0].output].bytes, 10 * 10 * 8);
  // Every op's padding reproduces its tile from its window.
  for (int32_t i = 0; i < g.patch_ops; ++i) {
    const Op& op = g.ops[i];
    EXPECT_EQ((op.in_window.h + op.pad_top + op.pad_bottom - op.kernel) / op.stride + 1, op.out_tile.h);
    EXPECT_EQ((op.in_window.w + op.pad_left + op.pad_right - op.kernel) / op.stride + 1, op.out_tile.w);
  }
}

TEST(LowerPatchTest, MacsIncludeTheOverlapExactly) {
  const OpGraph plain = lower(tiny_arch());
  const OpGraph g = lower(patched(tiny_arch(), 2, 1));
  // Output pixels per layer summed over the 4 patches: conv tiles 10 and 11
  // rows/cols -> 21^2 = 441 (256 layer by layer); b0 and b1's expand: 9 and
  // 10 -> 361 (256); b1's dw and proj: 4 x 16 = 64 (64).
  const int64_t extra = (441 - 256) * 8 * 27 + (361 - 256) * 8 * 9 + (361 - 256) * 8 * 8 +
                        (361 - 256) * 24 * 8;
  EXPECT_EQ(extra, 74400);
  EXPECT_EQ(g.layer_by_layer_macs, 370336);
  EXPECT_EQ(plain.layer_by_layer_macs, plain.total_macs());
  EXPECT_EQ(g.total_macs(), 370336 + extra);
  // Patch ops' MACs are their tile's: patch 3's conv, 11x11 pixels.
  EXPECT_EQ(g.ops[21].macs, 11 * 11 * 8 * 27);
  // Weights are owned by patch 0's ops only; parameters do not change.
  EXPECT_EQ(g.total_params(), plain.total_params());
  EXPECT_EQ(g.deployed_params(), plain.deployed_params());
  for (int32_t i = 7; i < g.patch_ops; ++i) {
    EXPECT_EQ(g.ops[i].weights, 0) << "op " << i;
    EXPECT_EQ(g.ops[i].biases, 0) << "op " << i;
  }
  EXPECT_EQ(g.ops[0].weights, 216);
  // A border patch's depthwise scratch counts its own padding: patch 0's b1
  // dw reads 9x9 with 2 rows/cols of padding on one side.
  EXPECT_EQ(g.ops[5].scratch_bytes, 11 * 11 + 2 * 4 * 4);
}

TEST(LowerPatchTest, PatchByPatchComputesTheSameMapAsLayerByLayer) {
  expect_same_split_output(patched(tiny_arch(), 2, 1));
  expect_same_split_output(patched(tiny_arch(), 2, 0));
  // 30 -> 15 -> 8: b1's stride-2 dw pads the 15-pixel map at the bottom too.
  ArchSpec odd = tiny_arch();
  odd.resolution = 30;
  expect_same_split_output(patched(odd, 2, 1));
  expect_same_split_output(patched(odd, 3, 0));
  ArchSpec a = load_arch(test_nets::zoo_path("mcunet-vww1"));
  for (const auto& [n, block] : {std::pair{2, 3}, std::pair{4, 1}, std::pair{4, 2}}) {
    SCOPED_TRACE(std::to_string(n) + "x" + std::to_string(n) + ":" + std::to_string(block));
    a.patch = {n, block};
    ASSERT_EQ(patch_problem(a), "");
    expect_same_split_output(a);
  }
}

TEST(LowerPatchTest, UnpatchedLoweringIsUnchanged) {
  // Whole-map ops read all of their input and write all of their output, with
  // the symmetric padding on every side; tensors hold whole maps.
  const OpGraph g = lower(tiny_arch());
  EXPECT_EQ(g.patch_ops, 0);
  EXPECT_EQ(g.assembled, -1);
  for (const Op& op : g.ops) {
    EXPECT_EQ(op.patch, -1);
    EXPECT_EQ(op.first_patch_op, -1);
    const TensorShape& in = g.tensors[op.input].shape;
    const TensorShape& out = g.tensors[op.output].shape;
    EXPECT_EQ(op.in_window, (Window{0, 0, in.h, in.w}));
    EXPECT_EQ(op.out_tile, (Window{0, 0, out.h, out.w}));
    EXPECT_EQ(op.pad_top, op.padding);
    EXPECT_EQ(op.pad_right, op.padding);
  }
  for (const Tensor& t : g.tensors) EXPECT_EQ(t.patch, -1);
  EXPECT_EQ(dump_graph(g).find("patch"), std::string::npos);
}

// The maps between a patched graph and the network lowered without patches,
// which deploy uses to give each patch op its layer's parameters.
TEST(LowerPatchTest, LayerAndOwnerOpIndices) {
  ArchSpec arch = tiny_arch();
  const OpGraph layers = lower(arch);
  arch.patch = {2, 1};
  const OpGraph g = lower(arch);
  const int32_t per_patch = patch_stage_layers(g);
  EXPECT_EQ(per_patch * 4, g.patch_ops);
  EXPECT_EQ(patch_stage_layers(layers), 0);
  for (int32_t i = 0; i < static_cast<int32_t>(g.ops.size()); ++i) {
    const int32_t l = layer_op_index(g, i);
    ASSERT_GE(l, 0);
    ASSERT_LT(l, static_cast<int32_t>(layers.ops.size()));
    const Op& op = g.ops[static_cast<size_t>(i)];
    const Op& lop = layers.ops[static_cast<size_t>(l)];
    EXPECT_EQ(op.kind, lop.kind) << i;
    EXPECT_EQ(op.kernel, lop.kernel) << i;
    EXPECT_EQ(op.stride, lop.stride) << i;
    EXPECT_EQ(g.tensors[static_cast<size_t>(op.output)].shape.c,
              layers.tensors[static_cast<size_t>(lop.output)].shape.c)
        << i;
    // The owner of a layer's parameters is the op itself or its patch-0 op.
    const int32_t owner = owner_op_index(g, l);
    EXPECT_EQ(owner, op.first_patch_op >= 0 ? op.first_patch_op : i) << i;
  }
  for (int32_t l = 0; l < static_cast<int32_t>(layers.ops.size()); ++l) {
    EXPECT_EQ(layer_op_index(layers, l), l);
    EXPECT_EQ(owner_op_index(layers, l), l);
  }
}

TEST(LowerPatchTest, DumpShowsWindows) {
  const std::string dump = dump_graph(lower(patched(tiny_arch(), 2, 1)));
  EXPECT_NE(dump.find("patch 3 in[9,9 23x23] out[5,5 11x11] pad t0 l0 b0 r0"), std::string::npos) << dump;
  EXPECT_NE(dump.find("patch 0 in[0,0 9x9] out[0,0 4x4] pad t2 l2 b0 r0"), std::string::npos) << dump;
}

}  // namespace
}  // namespace tinynas
