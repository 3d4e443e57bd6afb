// The reference interpreter on single-op graphs whose answers are worked out
// by hand (the rounding rules included), plus randomised cross-checks of its
// requantisation against the runtime's fixed-point helpers, which are a
// separate implementation of the same gemmlowp definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/rng.h"
#include "deploy/quantize.h"
#include "tests/test_util.h"
#include "tn_runtime.h"

namespace tinynas::deploy {
namespace {

// A whole-map tensor of `shape` (no patches).
Tensor whole_tensor(TensorShape shape, int32_t producer, int32_t last_use) {
  Tensor t;
  t.shape = shape;
  t.bytes = shape.elements();
  t.producer = producer;
  t.last_use = last_use;
  t.region = {0, 0, shape.h, shape.w};
  return t;
}

// A graph of one op from an input of shape `in` to an output of shape `out`
// (plus a second input of shape `in` for kAdd).
QuantizedModel single_op(OpKind kind, TensorShape in, TensorShape out, int32_t kernel = 1,
                         int32_t stride = 1) {
  QuantizedModel m;
  OpGraph& g = m.graph;
  g.tensors.push_back(whole_tensor(in, -1, 0));
  Op op;
  op.kind = kind;
  op.input = 0;
  op.kernel = kernel;
  op.stride = stride;
  op.padding = kernel / 2;
  if (kind == OpKind::kAdd) {
    g.tensors.push_back(whole_tensor(in, -1, 0));
    op.input2 = 1;
  }
  g.tensors.push_back(whole_tensor(out, 0, 0));
  op.output = static_cast<int32_t>(g.tensors.size() - 1);
  if (kind == OpKind::kDepthwiseConv2d) op.weights = int64_t{out.c} * kernel * kernel;
  if (kind == OpKind::kConv2d) op.weights = int64_t{out.c} * kernel * kernel * in.c;
  if (kind == OpKind::kPointwiseConv2d || kind == OpKind::kFullyConnected)
    op.weights = int64_t{out.c} * in.c;
  g.ops.push_back(op);
  g.input = 0;
  g.output = op.output;
  m.tensors.resize(g.tensors.size());
  m.ops.resize(1);
  return m;
}

// Q31 multiplier and shift for a real multiplier that is exactly 2^p.
void set_requant(QuantOp& q, int32_t out_c, int32_t multiplier, int32_t shift) {
  q.bias.assign(out_c, 0);
  q.multiplier.assign(out_c, multiplier);
  q.shift.assign(out_c, shift);
}

constexpr int32_t kHalf = 1 << 30;  // 0.5 in Q31

TEST(ReferenceInterpreter, PointwiseHandChecked) {
  // 1x1x2 input, five output channels, each exercising one rounding or clamp.
  QuantizedModel m = single_op(OpKind::kPointwiseConv2d, {1, 1, 2}, {1, 1, 5});
  QuantOp& q = m.ops[0];
  q.weights = {1, 2, -3, 4, 127, 127, 0, 0, 0, 0};
  q.bias = {100, -50, 1000, -156, -1000};
  q.multiplier = {kHalf, kHalf, kHalf, kHalf, kHalf};
  q.shift = {0, -2, 1, -2, 0};
  q.input_offset = 5;  // input zero point -5
  q.output_offset = 3;
  q.act_min = -100;
  q.act_max = 100;
  // x + offset = {15, -15}.
  // oc0: 100 + 15 - 30 = 85; * 0.5 = 42.5, the doubling high multiply
  //      rounds the tie up -> 43; + 3 = 46.
  // oc1: -50 - 45 - 60 = -155; high multiply by 0.5: -77.5 rounds up (toward
  //      +inf, gemmlowp's nudge) -> -77; divide by 4: -19.25 -> -19; + 3 = -16.
  // oc2: 1000 + 0, shift +1 then * 0.5 = 1000; + 3 = 1003 -> act_max 100.
  // oc3: -156 * 0.5 = -78 exactly; / 4 = -19.5, the divide rounds the tie
  //      away from zero -> -20; + 3 = -17.
  // oc4: -1000 * 0.5 = -500 + 3 -> act_min -100.
  const std::vector<int8_t> y = run_reference(m, {10, -20});
  EXPECT_EQ(y, (std::vector<int8_t>{46, -16, 100, -17, -100}));
}

TEST(ReferenceInterpreter, ConvSkipsPaddingTapsAndReadsOhwi) {
  // 3x3 conv on a 1x1x2 input: only the centre tap lies inside the image.
  QuantizedModel m = single_op(OpKind::kConv2d, {1, 1, 2}, {1, 1, 1}, 3, 1);
  QuantOp& q = m.ops[0];
  q.weights.assign(18, 100);           // padded taps would add 100 * (zp + offset) if read
  q.weights[(1 * 3 + 1) * 2 + 0] = 2;  // OHWI: [oc][ky][kx][ic]
  q.weights[(1 * 3 + 1) * 2 + 1] = -1;
  set_requant(q, 1, kHalf, 1);  // exactly 1.0
  q.input_offset = 1;
  // (3 + 1) * 2 + (5 + 1) * -1 = 2.
  EXPECT_EQ(run_reference(m, {3, 5}), std::vector<int8_t>{2});

  // 3x3 conv, stride 1, on 2x2x1 with a non-zero input zero point: every
  // output sees all four pixels, and the padding contributes nothing.
  QuantizedModel p = single_op(OpKind::kConv2d, {2, 2, 1}, {2, 2, 1}, 3, 1);
  p.ops[0].weights.assign(9, 1);
  set_requant(p.ops[0], 1, kHalf, 1);
  p.ops[0].input_offset = 10;  // zero point -10
  EXPECT_EQ(run_reference(p, {-9, -8, -7, -6}), (std::vector<int8_t>{10, 10, 10, 10}));
  // All inputs at the zero point: a zero output.
  EXPECT_EQ(run_reference(p, {-10, -10, -10, -10}), (std::vector<int8_t>{0, 0, 0, 0}));
}

TEST(ReferenceInterpreter, DepthwiseStrideTwoChannelMajorWeights) {
  // 3x3x2 input; channel 0 holds 3y+x, channel 1 its negation. Stride 2,
  // padding 1 -> 2x2x2, windows centred on (0,0), (0,2), (2,0), (2,2).
  QuantizedModel m = single_op(OpKind::kDepthwiseConv2d, {3, 3, 2}, {2, 2, 2}, 3, 2);
  QuantOp& q = m.ops[0];
  q.weights.assign(18, 0);
  for (int j = 0; j < 9; ++j) q.weights[j] = 1;  // [c=0][ky][kx]: box sum
  q.weights[9 + 0 * 3 + 1] = 1;                  // [c=1][ky=0][kx=1]: the pixel above
  set_requant(q, 2, kHalf, 1);
  std::vector<int8_t> in(18);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 3; ++x) {
      in[(y * 3 + x) * 2] = static_cast<int8_t>(3 * y + x);
      in[(y * 3 + x) * 2 + 1] = static_cast<int8_t>(-(3 * y + x));
    }
  // ch0 box sums: 0+1+3+4, 1+2+4+5, 3+4+6+7, 4+5+7+8; ch1: row -1 is padding
  // for the top outputs, pixels (1,0) and (1,2) for the bottom ones.
  EXPECT_EQ(run_reference(m, in), (std::vector<int8_t>{8, 0, 12, 0, 20, -3, 24, -5}));
}

TEST(ReferenceInterpreter, FullyConnectedHandChecked) {
  QuantizedModel m = single_op(OpKind::kFullyConnected, {1, 1, 3}, {1, 1, 2});
  QuantOp& q = m.ops[0];
  q.weights = {1, -1, 2, 3, 0, -2};
  q.bias = {7, -7};
  q.multiplier = {kHalf, kHalf};
  q.shift = {1, 0};
  q.input_offset = -2;  // zero point 2
  q.output_offset = -1;
  // x + offset = {2, -4, 0}: oc0 7 + 2 + 4 = 13 -> 12; oc1 -7 + 6 = -1 -> * 0.5
  // = -0.5, rounds up to 0 -> -1.
  EXPECT_EQ(run_reference(m, {4, -2, 2}), (std::vector<int8_t>{12, -1}));
}

// The add's two operands as one graph input: 1x1x(2n) split by two exact
// copy pointwise ops (multiplier 1.0, the identity selection), then the add.
// The interpreter takes one input tensor, and the copies are exact, so the
// add sees exactly the operands given.
QuantizedModel add_graph(int32_t n, const QuantOp& add_params) {
  QuantizedModel m;
  OpGraph& g = m.graph;
  const auto tensor = [&](TensorShape s) {
    g.tensors.push_back(whole_tensor(s, -1, 0));
    return static_cast<int32_t>(g.tensors.size() - 1);
  };
  g.input = tensor({1, 1, 2 * n});
  for (int32_t half = 0; half < 2; ++half) {
    Op op;
    op.kind = OpKind::kPointwiseConv2d;
    op.input = g.input;
    op.output = tensor({1, 1, n});
    op.weights = int64_t{n} * 2 * n;
    g.ops.push_back(op);
    QuantOp q;
    q.weights.assign(static_cast<size_t>(op.weights), 0);
    for (int32_t j = 0; j < n; ++j) q.weights[static_cast<size_t>(j) * 2 * n + half * n + j] = 1;
    set_requant(q, n, kHalf, 1);
    m.ops.push_back(q);
  }
  Op add;
  add.kind = OpKind::kAdd;
  add.input = 1;
  add.input2 = 2;
  add.output = tensor({1, 1, n});
  g.ops.push_back(add);
  m.ops.push_back(add_params);
  g.output = add.output;
  m.tensors.resize(g.tensors.size());
  return m;
}

std::vector<int8_t> run_add(const QuantOp& q, const std::vector<int8_t>& a,
                            const std::vector<int8_t>& b) {
  std::vector<int8_t> in = a;
  in.insert(in.end(), b.begin(), b.end());
  return run_reference(add_graph(static_cast<int32_t>(a.size()), q), in);
}

TEST(ReferenceInterpreter, AddHandChecked) {
  // s1 = 0.1 (zp 0), s2 = 0.2 (zp 2), s_out = 0.25 (zp 1), TFLite's recipe.
  QuantOp q;
  q.left_shift = 20;
  quantize_multiplier(0.1 / 0.4, &q.input1_multiplier, &q.input1_shift);
  quantize_multiplier(0.2 / 0.4, &q.input2_multiplier, &q.input2_shift);
  quantize_multiplier(0.4 / (1048576.0 * 0.25), &q.output_multiplier, &q.output_shift);
  EXPECT_EQ(q.input1_multiplier, kHalf);
  EXPECT_EQ(q.input1_shift, -1);
  EXPECT_EQ(q.input2_multiplier, kHalf);
  EXPECT_EQ(q.input2_shift, 0);
  EXPECT_EQ(q.output_multiplier, 1717986918);
  EXPECT_EQ(q.output_shift, -19);
  q.input1_offset = 0;
  q.input2_offset = -2;
  q.output_offset = 1;
  q.act_min = -128;
  q.act_max = 127;
  // Per element (a, b): real = 0.1 a + 0.2 (b - 2); output round(real / 0.25) + 1.
  //  (10, -6):     1.0 - 1.6 = -0.6 -> -2.4 -> -2 + 1 = -1. In integers:
  //                10<<20 * 0.25 = 2621440, -8<<20 * 0.5 = -4194304; the sum
  //                -1572864 * 0.8000000003 * 2^-19 = -2.4000000008 -> -2.
  //  (127, 127):   12.7 + 25 = 37.7 -> 150.8 -> 152 -> clamp 127.
  //  (-128, -128): -12.8 - 26 = -38.8 -> -155.2 -> clamp -128.
  //  (0, 2):       0 -> the output zero point, 1.
  //  (5, 2):       0.5 -> 2.0 -> 3.
  //  (-5, 2):      -0.5 -> -2.0 -> -1.
  const std::vector<int8_t> y = run_add(q, {10, 127, -128, 0, 5, -5}, {-6, 127, -128, 2, 2, 2});
  EXPECT_EQ(y, (std::vector<int8_t>{-1, 127, -128, 1, 3, -1}));

  // A clamp range narrower than int8 (as a fused ReLU would set) applies last.
  q.act_min = 1;
  q.act_max = 2;
  EXPECT_EQ(run_add(q, {10, 5, 0}, {-6, 2, 2}), (std::vector<int8_t>{1, 2, 1}));
}

TEST(ReferenceInterpreter, AvgPoolRoundsHalfAwayFromZero) {
  // 2x2 pixels, four channels; per channel sums -6, 6, -5, -7 over 4 pixels.
  QuantizedModel m = single_op(OpKind::kAvgPool, {2, 2, 4}, {1, 1, 4});
  m.ops[0].act_min = -128;
  m.ops[0].act_max = 127;
  const std::vector<int8_t> in = {
      -1, 1, -1, -2,  // pixel (0,0)
      -2, 2, -1, -2,  // pixel (0,1)
      -2, 2, -1, -2,  // pixel (1,0)
      -1, 1, -2, -1,  // pixel (1,1)
  };
  // -1.5 -> -2 (away from zero, not toward +inf); 1.5 -> 2; -1.25 -> -1;
  // -1.75 -> -2.
  EXPECT_EQ(run_reference(m, in), (std::vector<int8_t>{-2, 2, -1, -2}));

  // Extremes: no overflow of the sum, and the clamp range applies.
  QuantizedModel big = single_op(OpKind::kAvgPool, {3, 3, 2}, {1, 1, 2});
  big.ops[0].act_min = -100;
  big.ops[0].act_max = 127;
  std::vector<int8_t> in2(18);
  for (int p = 0; p < 9; ++p) {
    in2[p * 2] = -128;
    in2[p * 2 + 1] = 127;
  }
  EXPECT_EQ(run_reference(big, in2), (std::vector<int8_t>{-100, 127}));
}

TEST(ReferenceInterpreter, RejectsBadInputAndParameters) {
  QuantizedModel m = single_op(OpKind::kPointwiseConv2d, {1, 1, 2}, {1, 1, 1});
  m.ops[0].weights = {1, 1};
  set_requant(m.ops[0], 1, kHalf, 1);
  EXPECT_NE(test_nets::error_of([&] { run_reference(m, {1, 2, 3}); }), "");
  m.ops[0].weights.pop_back();
  EXPECT_NE(test_nets::error_of([&] {
              run_reference(m, {1, 2});
            }).find("weight"),
            std::string::npos);
}

// The interpreter's requantisation against one built on the runtime's
// fixed-point helpers (tn_fixedpoint.c): random accumulators, multipliers and
// shifts (both signs), through a 1x1 pointwise and an add.
TEST(ReferenceInterpreter, RequantisationMatchesRuntimeHelpersBitExact) {
  Rng rng(1234);
  const auto rand_in = [&](int32_t lo, int32_t hi) {
    return lo + static_cast<int32_t>(rng.uniform(static_cast<uint32_t>(hi - lo + 1)));
  };
  for (int trial = 0; trial < 200; ++trial) {
    const int32_t in_c = rand_in(1, 40), out_c = rand_in(1, 16);
    QuantizedModel m = single_op(OpKind::kPointwiseConv2d, {1, 1, in_c}, {1, 1, out_c});
    QuantOp& q = m.ops[0];
    q.weights.resize(static_cast<size_t>(in_c) * out_c);
    for (auto& w : q.weights) w = static_cast<int8_t>(rand_in(-127, 127));
    q.input_offset = rand_in(-127, 128);
    q.output_offset = rand_in(-128, 127);
    q.act_min = rand_in(-128, 0);
    q.act_max = rand_in(0, 127);
    for (int32_t oc = 0; oc < out_c; ++oc) {
      q.bias.push_back(rand_in(-(1 << 20), 1 << 20));
      q.multiplier.push_back(rand_in(1 << 30, std::numeric_limits<int32_t>::max()));
      q.shift.push_back(rand_in(-20, 4));
    }
    std::vector<int8_t> x(static_cast<size_t>(in_c));
    for (auto& v : x) v = static_cast<int8_t>(rand_in(-128, 127));
    const std::vector<int8_t> got = run_reference(m, x);
    for (int32_t oc = 0; oc < out_c; ++oc) {
      int32_t acc = q.bias[oc];
      for (int32_t c = 0; c < in_c; ++c)
        acc += (x[c] + q.input_offset) * q.weights[static_cast<size_t>(oc) * in_c + c];
      int32_t y =
          tn_multiply_by_quantized_multiplier(acc, q.multiplier[oc], q.shift[oc]) + q.output_offset;
      y = std::clamp(y, q.act_min, q.act_max);
      ASSERT_EQ(got[oc], y) << "trial " << trial << " oc " << oc << " acc " << acc;
    }
  }
  for (int trial = 0; trial < 200; ++trial) {
    QuantOp q;
    q.left_shift = 20;
    // Scales as quantize() would see them: s1, s2, s_out within 2^+-6 of each other.
    const double s1 = std::ldexp(0.5 + rng.uniform01(), rand_in(-6, 0));
    const double s2 = std::ldexp(0.5 + rng.uniform01(), rand_in(-6, 0));
    const double so = std::ldexp(0.5 + rng.uniform01(), rand_in(-6, 0));
    const double twice = 2 * std::max(s1, s2);
    quantize_multiplier(s1 / twice, &q.input1_multiplier, &q.input1_shift);
    quantize_multiplier(s2 / twice, &q.input2_multiplier, &q.input2_shift);
    quantize_multiplier(twice / (1048576.0 * so), &q.output_multiplier, &q.output_shift);
    q.input1_offset = rand_in(-127, 128);
    q.input2_offset = rand_in(-127, 128);
    q.output_offset = rand_in(-128, 127);
    q.act_min = -128;
    q.act_max = 127;
    const int32_t n = 32;
    std::vector<int8_t> a(n), b(n);
    for (auto& v : a) v = static_cast<int8_t>(rand_in(-128, 127));
    for (auto& v : b) v = static_cast<int8_t>(rand_in(-128, 127));
    const std::vector<int8_t> got = run_add(q, a, b);
    for (int32_t i = 0; i < n; ++i) {
      const int32_t x1 = (a[i] + q.input1_offset) * (1 << q.left_shift);
      const int32_t x2 = (b[i] + q.input2_offset) * (1 << q.left_shift);
      const int32_t sum =
          tn_multiply_by_quantized_multiplier(x1, q.input1_multiplier, q.input1_shift) +
          tn_multiply_by_quantized_multiplier(x2, q.input2_multiplier, q.input2_shift);
      int32_t y = tn_multiply_by_quantized_multiplier(sum, q.output_multiplier, q.output_shift) +
                  q.output_offset;
      y = std::clamp(y, q.act_min, q.act_max);
      ASSERT_EQ(got[i], y) << "trial " << trial << " element " << i;
    }
  }
}

}  // namespace
}  // namespace tinynas::deploy
