#include <gtest/gtest.h>

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
  // Scratch: im2col of two patches as int16; one padded channel + two rows of
  // int32 accumulators for depthwise; two int16 columns for pointwise.
  EXPECT_EQ(g.ops[0].scratch_bytes, 2 * 9 * 3 * 2);
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
