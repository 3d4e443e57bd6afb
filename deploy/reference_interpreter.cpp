// Host reference interpreter for the quantised graph: the definition of the
// right answer that the C runtime and generated firmware are checked against.
// Written from the semantics in tn_runtime.h (TFLite's int8 reference
// kernels) rather than by calling the runtime, so a bug in one is not
// silently shared by the other. Plain loops; speed is not a goal.
#include <algorithm>
#include <limits>
#include <string>

#include "core/error.h"
#include "deploy/quantize.h"

namespace tinynas::deploy {
namespace {

// gemmlowp's SaturatingRoundingDoublingHighMul: the high 32 bits of 2*a*b,
// rounded to nearest (ties away from zero).
int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  // INT32_MIN * INT32_MIN is the one product whose doubled high half (2^31)
  // does not fit.
  if (a == std::numeric_limits<int32_t>::min() && b == std::numeric_limits<int32_t>::min())
    return std::numeric_limits<int32_t>::max();
  const int64_t ab = int64_t{a} * int64_t{b};
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  // C++ division truncates toward zero, which (with the nudge) is the
  // specified rounding; an arithmetic shift would round toward -inf.
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

// gemmlowp's RoundingDivideByPOT: x / 2^exponent, ties away from zero.
int32_t rounding_divide_by_pot(int32_t x, int32_t exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// TFLite's MultiplyByQuantizedMultiplier: shift > 0 shifts left before the
// high multiply, shift <= 0 divides after it.
int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0;
  const int32_t right = shift > 0 ? 0 : -shift;
  // Through uint32 so that a left shift wraps (as the C runtime does) instead
  // of being undefined behaviour on overflow.
  const auto shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right);
}

// The kernels accumulate in int32. Accumulating in int64 and narrowing (modulo
// 2^32 since C++20) gives the same wrap-around as the hardware would without
// making an overflow undefined behaviour here.
inline int8_t requantize(int64_t acc64, const QuantOp& q, int32_t oc) {
  const auto acc = static_cast<int32_t>(acc64);
  int32_t y = multiply_by_quantized_multiplier(acc, q.multiplier[oc], q.shift[oc]);
  y += q.output_offset;
  return static_cast<int8_t>(std::clamp(y, q.act_min, q.act_max));
}

// conv2d (OHWI), depthwise ([c][k][k]) and pointwise ([out][in]). Taps in the
// padding are skipped: a padded input equals the zero point, so its term
// (x + input_offset) * w is zero.
void conv(const Op& op, const QuantOp& q, const TensorShape& is, const TensorShape& os,
          const std::vector<int8_t>& in, std::vector<int8_t>& out) {
  const int32_t k = op.kernel;
  for (int32_t oy = 0; oy < os.h; ++oy) {
    for (int32_t ox = 0; ox < os.w; ++ox) {
      for (int32_t oc = 0; oc < os.c; ++oc) {
        int64_t acc = q.bias[oc];
        for (int32_t ky = 0; ky < k; ++ky) {
          const int32_t iy = oy * op.stride - op.padding + ky;
          if (iy < 0 || iy >= is.h) continue;
          for (int32_t kx = 0; kx < k; ++kx) {
            const int32_t ix = ox * op.stride - op.padding + kx;
            if (ix < 0 || ix >= is.w) continue;
            const int8_t* x = &in[(int64_t{iy} * is.w + ix) * is.c];
            if (op.kind == OpKind::kDepthwiseConv2d) {
              acc += (x[oc] + q.input_offset) * int32_t{q.weights[(int64_t{oc} * k + ky) * k + kx]};
            } else {
              // OHWI with k == 1 is exactly pointwise's [out][in].
              const int8_t* w = &q.weights[((int64_t{oc} * k + ky) * k + kx) * is.c];
              for (int32_t ic = 0; ic < is.c; ++ic)
                acc += (x[ic] + q.input_offset) * int32_t{w[ic]};
            }
          }
        }
        out[(int64_t{oy} * os.w + ox) * os.c + oc] = requantize(acc, q, oc);
      }
    }
  }
}

void fully_connected(const QuantOp& q, int32_t in_c, int32_t out_c, const std::vector<int8_t>& in,
                     std::vector<int8_t>& out) {
  for (int32_t o = 0; o < out_c; ++o) {
    int64_t acc = q.bias[o];
    for (int32_t c = 0; c < in_c; ++c)
      acc += (in[c] + q.input_offset) * int32_t{q.weights[int64_t{o} * in_c + c]};
    out[o] = requantize(acc, q, o);
  }
}

// TFLite's int8 ADD: each input rescaled to the common scale with
// left_shift headroom, summed exactly, then rescaled to the output.
void add(const QuantOp& q, const std::vector<int8_t>& a, const std::vector<int8_t>& b,
         std::vector<int8_t>& out) {
  for (size_t i = 0; i < out.size(); ++i) {
    const int32_t x1 = (a[i] + q.input1_offset) * (int32_t{1} << q.left_shift);
    const int32_t x2 = (b[i] + q.input2_offset) * (int32_t{1} << q.left_shift);
    const int32_t s1 = multiply_by_quantized_multiplier(x1, q.input1_multiplier, q.input1_shift);
    const int32_t s2 = multiply_by_quantized_multiplier(x2, q.input2_multiplier, q.input2_shift);
    const int32_t y =
        multiply_by_quantized_multiplier(s1 + s2, q.output_multiplier, q.output_shift) +
        q.output_offset;
    out[i] = static_cast<int8_t>(std::clamp(y, q.act_min, q.act_max));
  }
}

// Input and output share scale and zero point, so the mean of the raw int8
// values is the answer, rounded half away from zero.
void avgpool(const QuantOp& q, const TensorShape& is, const std::vector<int8_t>& in,
             std::vector<int8_t>& out) {
  const int32_t count = is.h * is.w;
  for (int32_t c = 0; c < is.c; ++c) {
    int32_t sum = 0;
    for (int32_t p = 0; p < count; ++p) sum += in[int64_t{p} * is.c + c];
    const int32_t mean = sum >= 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    out[c] = static_cast<int8_t>(std::clamp(mean, q.act_min, q.act_max));
  }
}

// Prepare-time checks, so the loops above can index without bounds checks.
void check_op(const OpGraph& g, const QuantOp& q, size_t i) {
  const Op& op = g.ops[i];
  const auto fail = [&](const std::string& what) {
    throw Error("run_reference: op " + std::to_string(i) + " (" + op_kind_name(op.kind) +
                "): " + what);
  };
  if (op.kind == OpKind::kAdd || op.kind == OpKind::kAvgPool) {
    if (op.kind == OpKind::kAdd && (q.left_shift < 0 || q.left_shift > 30))
      fail("left_shift out of range");
    return;
  }
  const auto out_c = static_cast<size_t>(g.tensors[op.output].shape.c);
  if (q.weights.size() != static_cast<size_t>(op.weights)) fail("weight count does not match");
  if (q.bias.size() != out_c || q.multiplier.size() != out_c || q.shift.size() != out_c)
    fail("bias/multiplier/shift count does not match the output channels");
  for (const int32_t s : q.shift)
    if (s < -31 || s > 30) fail("shift out of range");
}

// The network layer by layer: op i of g with the parameters *ops[i].
std::vector<int8_t> run_layers(const OpGraph& g, const std::vector<const QuantOp*>& ops,
                               const std::vector<int8_t>& input,
                               std::vector<std::vector<int8_t>>* tensors) {
  const int64_t in_elems = g.tensors[g.input].shape.elements();
  if (static_cast<int64_t>(input.size()) != in_elems)
    throw Error("run_reference: input has " + std::to_string(input.size()) +
                " values, the network takes " + std::to_string(in_elems));
  for (size_t i = 0; i < g.ops.size(); ++i) check_op(g, *ops[i], i);

  std::vector<std::vector<int8_t>> t(g.tensors.size());
  t[g.input] = input;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const QuantOp& q = *ops[i];
    const TensorShape& is = g.tensors[op.input].shape;
    const TensorShape& os = g.tensors[op.output].shape;
    std::vector<int8_t>& y = t[op.output];
    y.assign(static_cast<size_t>(os.elements()), 0);
    switch (op.kind) {
      case OpKind::kConv2d:
      case OpKind::kDepthwiseConv2d:
      case OpKind::kPointwiseConv2d:
        conv(op, q, is, os, t[op.input], y);
        break;
      case OpKind::kFullyConnected:
        fully_connected(q, is.c, os.c, t[op.input], y);
        break;
      case OpKind::kAdd:
        add(q, t[op.input], t[op.input2], y);
        break;
      case OpKind::kAvgPool:
        avgpool(q, is, t[op.input], y);
        break;
    }
  }
  std::vector<int8_t> logits = t[g.output];
  if (tensors) *tensors = std::move(t);
  return logits;
}

}  // namespace

std::vector<int8_t> run_reference(const QuantizedModel& model, const std::vector<int8_t>& input,
                                  std::vector<std::vector<int8_t>>* tensors) {
  const OpGraph& g = model.graph;
  if (model.ops.size() != g.ops.size() || model.tensors.size() != g.tensors.size())
    throw Error("run_reference: quantised model does not match its graph");
  std::vector<const QuantOp*> ops;
  if (!g.patch.enabled()) {
    for (const QuantOp& q : model.ops) ops.push_back(&q);
    return run_layers(g, ops, input, tensors);
  }
  // Patches change the order of the work, never a value: the answer is the
  // network run layer by layer, with each layer's parameters from the op
  // that owns them.
  const OpGraph layers = lower(layer_by_layer(model.arch));
  if (layers.ops.size() + static_cast<size_t>(g.patch_ops) !=
      g.ops.size() + static_cast<size_t>(patch_stage_layers(g)))
    throw Error("run_reference: the patched graph does not match its architecture");
  for (size_t j = 0; j < layers.ops.size(); ++j)
    ops.push_back(&model.ops[static_cast<size_t>(owner_op_index(g, static_cast<int32_t>(j)))]);
  return run_layers(layers, ops, input, tensors);
}

}  // namespace tinynas::deploy
