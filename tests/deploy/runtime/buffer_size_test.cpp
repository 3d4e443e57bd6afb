// The kernels' *_get_buffer_size must equal the memory planner's
// op_scratch_bytes byte for byte: the planner sizes the one shared scratch
// buffer from the core's formulas, and the kernels may use less, never more.
#include <gtest/gtest.h>

#include <string>

#include "core/arch_io.h"
#include "core/op_graph.h"
#include "tn_runtime.h"

namespace {

using tinynas::OpKind;
using tinynas::TensorShape;

int32_t conv_out(int32_t in, int32_t k, int32_t s) { return (in + 2 * (k / 2) - k) / s + 1; }

tn_dims dims(const TensorShape& s) { return tn_dims{s.h, s.w, s.c}; }

// The runtime's figure for one op, as generated code would call it.
int64_t runtime_scratch(OpKind kind, const TensorShape& in, const TensorShape& out, int32_t kernel,
                        int32_t stride, int32_t padding) {
  switch (kind) {
    case OpKind::kConv2d: {
      tn_conv_params p{};
      p.in = dims(in);
      p.out = dims(out);
      p.kernel = kernel;
      p.stride = stride;
      p.padding = padding;
      return tn_conv2d_s8_get_buffer_size(&p);
    }
    case OpKind::kDepthwiseConv2d: {
      tn_depthwise_params p{};
      p.in = dims(in);
      p.out = dims(out);
      p.kernel = kernel;
      p.stride = stride;
      p.padding = padding;
      return tn_depthwise_s8_get_buffer_size(&p);
    }
    case OpKind::kPointwiseConv2d: {
      tn_pointwise_params p{};
      p.in = dims(in);
      p.out = dims(out);
      return tn_pointwise_s8_get_buffer_size(&p);
    }
    case OpKind::kAdd:
    case OpKind::kAvgPool:
    case OpKind::kFullyConnected:
      return 0;  // these kernels take no scratch
  }
  return -1;
}

TEST(RuntimeBufferSize, SweepShapesMatchPlanner) {
  int checked = 0;
  for (int32_t k : {1, 3, 5, 7}) {
    for (int32_t s : {1, 2}) {
      for (int32_t c : {1, 3, 5, 7, 13, 24, 32, 48, 64, 72, 96, 144}) {
        for (int32_t hw : {1, 2, 3, 5, 7, 9, 15, 48, 112}) {
          const TensorShape in{hw, hw + 1, c};
          const TensorShape dw_out{conv_out(in.h, k, s), conv_out(in.w, k, s), c};
          EXPECT_EQ(runtime_scratch(OpKind::kDepthwiseConv2d, in, dw_out, k, s, k / 2),
                    tinynas::op_scratch_bytes(OpKind::kDepthwiseConv2d, in, dw_out, k, k / 2))
              << "depthwise k" << k << " s" << s << " " << hw << "x" << hw + 1 << "x" << c;
          const TensorShape conv_out_shape{dw_out.h, dw_out.w, 16};
          EXPECT_EQ(runtime_scratch(OpKind::kConv2d, in, conv_out_shape, k, s, k / 2),
                    tinynas::op_scratch_bytes(OpKind::kConv2d, in, conv_out_shape, k, k / 2))
              << "conv2d k" << k << " s" << s << " in.c " << c;
          const TensorShape pw_out{in.h, in.w, 2 * c + 1};
          EXPECT_EQ(runtime_scratch(OpKind::kPointwiseConv2d, in, pw_out, 1, 1, 0),
                    tinynas::op_scratch_bytes(OpKind::kPointwiseConv2d, in, pw_out, 1, 0))
              << "pointwise in.c " << c;
          checked += 3;
        }
      }
    }
  }
  EXPECT_EQ(checked, 4 * 2 * 12 * 9 * 3);
}

// Every op of the published MCUNet networks, lowered by the core.
TEST(RuntimeBufferSize, ZooNetworksMatchPlanner) {
  for (const char* net : {"mcunet-in0", "mcunet-in1", "mcunet-in2", "mcunet-in3", "mcunet-in4",
                          "mcunet-vww0", "mcunet-vww1", "mcunet-vww2"}) {
    const std::string path = std::string(TINYNAS_SOURCE_DIR) + "/configs/zoo/" + net + ".json";
    const tinynas::OpGraph g = tinynas::lower(tinynas::load_arch(path));
    ASSERT_FALSE(g.ops.empty()) << net;
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const tinynas::Op& op = g.ops[i];
      const TensorShape& in = g.tensors[op.input].shape;
      const TensorShape& out = g.tensors[op.output].shape;
      EXPECT_EQ(runtime_scratch(op.kind, in, out, op.kernel, op.stride, op.padding),
                op.scratch_bytes)
          << net << " op " << i << " (" << tinynas::op_kind_name(op.kind) << ")";
    }
  }
}

}  // namespace
