// Post-training int8 quantisation of a FloatModel, TFLite's scheme: per-tensor
// asymmetric activations from calibration ranges, per-output-channel
// symmetric weights, int32 biases in the accumulator's scale, and Q31
// multipliers with power-of-two shifts for requantisation.
#include "deploy/quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace tinynas::deploy {
namespace {

// Histogram resolution for percentile calibration: a bin is max/4096 wide,
// far below one int8 step (range/255), so binning costs no precision that
// matters while keeping memory independent of the calibration set's size.
constexpr int kHistogramBins = 4096;

// Largest |bias| stored, leaving the int32 accumulator headroom for the sum of
// products.
constexpr double kMaxBias = 1073741824.0;  // 2^30

struct Range {
  double lo = 0.0, hi = 0.0;  // lo <= 0 <= hi: zero must be exactly representable
};

// Per side (positive values, magnitudes of negative values) histogram of one
// tensor, scaled by that side's min/max extent.
struct SideHistograms {
  std::vector<int64_t> pos, neg;
  int64_t pos_count = 0, neg_count = 0;
};

// Smallest upper bin edge that keeps `percentile` % of the side's values at or
// below it; never beyond the observed extreme, so a percentile range is never
// wider than the min/max one.
double percentile_edge(const std::vector<int64_t>& hist, int64_t count, double extent,
                       double percentile) {
  if (count == 0 || extent <= 0.0) return 0.0;
  const auto need = static_cast<int64_t>(
      std::ceil(std::clamp(percentile, 0.0, 100.0) / 100.0 * static_cast<double>(count)));
  int64_t seen = 0;
  for (int b = 0; b < kHistogramBins; ++b) {
    seen += hist[b];
    if (seen >= need && seen > 0) return std::min(extent, extent * (b + 1) / kHistogramBins);
  }
  return extent;
}

void add_to_histogram(const std::vector<float>& values, const Range& extent, SideHistograms& h) {
  for (const float v : values) {
    if (v > 0.0f) {
      const auto b = static_cast<int>(v / extent.hi * kHistogramBins);
      ++h.pos[std::min(b, kHistogramBins - 1)];
      ++h.pos_count;
    } else if (v < 0.0f) {
      const auto b = static_cast<int>(-v / -extent.lo * kHistogramBins);
      ++h.neg[std::min(b, kHistogramBins - 1)];
      ++h.neg_count;
    }
  }
}

TensorQuant tensor_quant(const Range& r) {
  TensorQuant q;
  double scale = (r.hi - r.lo) / 255.0;
  // A tensor that is zero on every calibration input: any scale represents it,
  // and a positive one keeps the multipliers that divide by it finite.
  if (!(scale > 0.0) || !std::isfinite(scale)) scale = 1.0 / 255.0;
  q.scale = static_cast<float>(scale);
  // Derived from the stored float scale, the value every later step sees.
  const double zp = std::round(-128.0 - r.lo / static_cast<double>(q.scale));
  q.zero_point = static_cast<int32_t>(std::clamp(zp, -128.0, 127.0));
  return q;
}

// Clamp bounds in the output's quantised domain; ReLU6's upper bound is 6.0
// mapped through the output quantisation.
void activation_range(Activation a, const TensorQuant& out, int32_t* act_min, int32_t* act_max) {
  *act_min = -128;
  *act_max = 127;
  switch (a) {
    case Activation::kNone:
      break;
    case Activation::kRelu:
      *act_min = std::max(-128, out.zero_point);
      break;
    case Activation::kRelu6: {
      *act_min = std::max(-128, out.zero_point);
      const double six = std::round(6.0 / static_cast<double>(out.scale));
      *act_max = static_cast<int32_t>(std::min(127.0, out.zero_point + six));
      break;
    }
  }
}

int32_t saturate_int32(double v) {
  return static_cast<int32_t>(std::clamp(v, double{std::numeric_limits<int32_t>::min()},
                                         double{std::numeric_limits<int32_t>::max()}));
}

// Conv, depthwise, pointwise and fully connected share one recipe: the
// weights are output-channel major in every runtime layout.
void quantize_weighted_op(const Op& op, const FloatOpWeights& fw, const TensorQuant& in,
                          const TensorQuant& out, int32_t out_c, QuantOp& q) {
  const auto per_channel = static_cast<int64_t>(fw.weights.size()) / out_c;
  q.weights.resize(fw.weights.size());
  q.bias.resize(out_c);
  q.multiplier.resize(out_c);
  q.shift.resize(out_c);
  q.weight_scale.resize(out_c);
  for (int32_t oc = 0; oc < out_c; ++oc) {
    const float* w = &fw.weights[static_cast<size_t>(oc * per_channel)];
    float max_abs = 0.0f;
    for (int64_t j = 0; j < per_channel; ++j) max_abs = std::max(max_abs, std::fabs(w[j]));
    // Symmetric to +-127 (not -128), so negating a weight never overflows and
    // the weight zero point is 0, which the kernels assume.
    float sw = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
    // A channel whose weights are nearly zero but whose bias is not would
    // need a bias beyond int32 (and overflow the int32 accumulator); widen its
    // weight scale just enough to keep the bias within 2^30.
    const double bias_floor =
        std::fabs(static_cast<double>(fw.bias[oc])) / (static_cast<double>(in.scale) * kMaxBias);
    if (sw < bias_floor) sw = static_cast<float>(bias_floor * (1.0 + 1e-6));
    q.weight_scale[oc] = sw;
    int8_t* qw = &q.weights[static_cast<size_t>(oc * per_channel)];
    for (int64_t j = 0; j < per_channel; ++j) {
      const double v = std::round(static_cast<double>(w[j]) / sw);
      qw[j] = static_cast<int8_t>(std::clamp(v, -127.0, 127.0));
    }
    // The accumulator's scale is s_in * s_w, so the bias is stored in it.
    const double acc_scale = static_cast<double>(in.scale) * sw;
    q.bias[oc] = saturate_int32(std::round(static_cast<double>(fw.bias[oc]) / acc_scale));
    quantize_multiplier(acc_scale / static_cast<double>(out.scale), &q.multiplier[oc],
                        &q.shift[oc]);
  }
  q.input_offset = -in.zero_point;
  q.output_offset = out.zero_point;
  activation_range(op.activation, out, &q.act_min, &q.act_max);
}

// TFLite's int8 ADD: both inputs move to a common scale 2*max(s1, s2) with
// 2^left_shift of headroom, so their sum is exact before one final rescale.
void quantize_add(const Op& op, const TensorQuant& in1, const TensorQuant& in2,
                  const TensorQuant& out, int32_t op_index, QuantOp& q) {
  q.left_shift = 20;
  const double s1 = in1.scale, s2 = in2.scale, so = out.scale;
  const double twice_max = 2.0 * std::max(s1, s2);
  quantize_multiplier(s1 / twice_max, &q.input1_multiplier, &q.input1_shift);
  quantize_multiplier(s2 / twice_max, &q.input2_multiplier, &q.input2_shift);
  quantize_multiplier(twice_max / (static_cast<double>(1 << q.left_shift) * so),
                      &q.output_multiplier, &q.output_shift);
  // The runtime's add (like TFLite's) only divides; a left shift here means a
  // degenerate calibration (an output range 2^20 times narrower than an input).
  if (q.input1_shift > 0 || q.input2_shift > 0 || q.output_shift > 0)
    throw Error("quantize: op " + std::to_string(op_index) +
                " (add): output scale too small for its inputs; calibration range is degenerate");
  q.input1_offset = -in1.zero_point;
  q.input2_offset = -in2.zero_point;
  q.output_offset = out.zero_point;
  activation_range(op.activation, out, &q.act_min, &q.act_max);
}

}  // namespace

void quantize_multiplier(double real, int32_t* multiplier, int32_t* shift) {
  if (real == 0.0) {
    *multiplier = 0;
    *shift = 0;
    return;
  }
  int exponent = 0;
  const double fraction =
      std::frexp(real, &exponent);  // real = fraction * 2^exponent, |fraction| in [0.5, 1)
  auto q = static_cast<int64_t>(std::round(fraction * static_cast<double>(int64_t{1} << 31)));
  // Rounding can carry the fraction up to exactly 1.0, which Q31 cannot hold.
  if (q == (int64_t{1} << 31)) {
    q /= 2;
    ++exponent;
  }
  // Below 2^-31 the product rounds to zero for every int32 input anyway.
  if (exponent < -31) {
    q = 0;
    exponent = 0;
  }
  // The single-rounding kernels support left shifts of at most 30; saturate.
  if (exponent > 30) {
    q = std::numeric_limits<int32_t>::max();
    exponent = 30;
  }
  *multiplier = static_cast<int32_t>(q);
  *shift = exponent;
}

QuantizedModel quantize(const FloatModel& model,
                        const std::vector<std::vector<float>>& calibration_inputs,
                        const QuantizeOptions& options) {
  if (calibration_inputs.empty())
    throw Error(
        "quantize: the calibration set is empty; activation ranges need at least one input");
  const OpGraph& g = model.graph;
  if (model.ops.size() != g.ops.size())
    throw Error("quantize: model has " + std::to_string(model.ops.size()) + " weight sets for " +
                std::to_string(g.ops.size()) + " ops");
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const bool weighted = op.kind != OpKind::kAdd && op.kind != OpKind::kAvgPool;
    const auto out_c = weighted ? static_cast<size_t>(g.tensors[op.output].shape.c) : 0;
    if (model.ops[i].weights.size() != static_cast<size_t>(weighted ? op.weights : 0) ||
        model.ops[i].bias.size() != out_c)
      throw Error("quantize: op " + std::to_string(i) + " (" + op_kind_name(op.kind) +
                  "): weights or biases do not match the graph");
  }

  // Pass 1: min/max of every tensor (the input included) over the whole set.
  std::vector<Range> ranges(g.tensors.size());
  std::vector<std::vector<float>> acts;
  for (const auto& image : calibration_inputs) {
    float_forward(model, image, &acts);
    for (size_t t = 0; t < acts.size(); ++t) {
      for (const float v : acts[t]) {
        ranges[t].lo = std::min(ranges[t].lo, double{v});
        ranges[t].hi = std::max(ranges[t].hi, double{v});
      }
    }
  }

  // Pass 2 (percentile): histograms against the pass-1 extremes, then each
  // side shrinks to the edge that keeps the requested share of its values.
  if (options.calibration == Calibration::kPercentile) {
    std::vector<SideHistograms> hist(g.tensors.size());
    for (auto& h : hist) {
      h.pos.assign(kHistogramBins, 0);
      h.neg.assign(kHistogramBins, 0);
    }
    for (const auto& image : calibration_inputs) {
      float_forward(model, image, &acts);
      for (size_t t = 0; t < acts.size(); ++t) add_to_histogram(acts[t], ranges[t], hist[t]);
    }
    for (size_t t = 0; t < ranges.size(); ++t) {
      ranges[t].hi =
          percentile_edge(hist[t].pos, hist[t].pos_count, ranges[t].hi, options.percentile);
      ranges[t].lo =
          -percentile_edge(hist[t].neg, hist[t].neg_count, -ranges[t].lo, options.percentile);
    }
  }

  QuantizedModel q;
  q.arch = model.arch;
  q.graph = g;
  q.tensors.resize(g.tensors.size());
  for (size_t t = 0; t < ranges.size(); ++t) q.tensors[t] = tensor_quant(ranges[t]);
  if (options.input) {
    if (!(options.input->scale > 0) || options.input->zero_point < -128 || options.input->zero_point > 127)
      throw Error("quantize: the fixed input quantisation needs scale > 0 and a zero point in -128..127");
    q.tensors[static_cast<size_t>(g.input)] = *options.input;
  }
  q.ops.resize(g.ops.size());
  // In graph order, so a tensor's quantisation is final (the avgpool override)
  // before any later op reads it.
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    QuantOp& qo = q.ops[i];
    switch (op.kind) {
      case OpKind::kConv2d:
      case OpKind::kDepthwiseConv2d:
      case OpKind::kPointwiseConv2d:
      case OpKind::kFullyConnected:
        quantize_weighted_op(op, model.ops[i], q.tensors[op.input], q.tensors[op.output],
                             g.tensors[op.output].shape.c, qo);
        break;
      case OpKind::kAdd:
        quantize_add(op, q.tensors[op.input], q.tensors[op.input2], q.tensors[op.output],
                     static_cast<int32_t>(i), qo);
        break;
      case OpKind::kAvgPool:
        // The int8 average pool has no requantisation step: its output shares
        // the input's scale and zero point (TFLite requires it).
        q.tensors[op.output] = q.tensors[op.input];
        qo.input_offset = -q.tensors[op.input].zero_point;
        qo.output_offset = q.tensors[op.output].zero_point;
        qo.act_min = -128;
        qo.act_max = 127;
        break;
    }
  }
  return q;
}

std::vector<int8_t> quantize_input(const QuantizedModel& model, const std::vector<float>& image) {
  const int64_t n = model.graph.tensors[model.graph.input].shape.elements();
  if (static_cast<int64_t>(image.size()) != n)
    throw Error("quantize_input: image has " + std::to_string(image.size()) +
                " values, the network takes " + std::to_string(n));
  const TensorQuant& q = model.tensors[model.graph.input];
  std::vector<int8_t> out(image.size());
  for (size_t i = 0; i < image.size(); ++i) {
    const double v = std::round(static_cast<double>(image[i]) / q.scale) + q.zero_point;
    out[i] = static_cast<int8_t>(std::clamp(v, -128.0, 127.0));
  }
  return out;
}

QuantizedModel with_patches(const QuantizedModel& model, const PatchSpec& patch) {
  if (model.graph.patch.enabled())
    throw Error("with_patches: the model already runs in patches");
  QuantizedModel out;
  out.arch = model.arch;
  out.arch.patch = patch;
  if (const std::string problem = patch_problem(out.arch); !problem.empty())
    throw Error("patch " + patch_setting(patch) + ": " + problem);
  out.graph = lower(out.arch);
  const OpGraph& g = out.graph;
  const OpGraph& layers = model.graph;
  if (g.ops.size() + static_cast<size_t>(patch_stage_layers(g)) !=
      layers.ops.size() + static_cast<size_t>(g.patch_ops))
    throw Error("with_patches: the model's graph is not lower() of its architecture");
  out.ops.resize(g.ops.size());
  out.tensors.assign(g.tensors.size(), TensorQuant{});
  out.tensors[static_cast<size_t>(g.input)] = model.tensors[static_cast<size_t>(layers.input)];
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const auto layer = static_cast<size_t>(layer_op_index(g, static_cast<int32_t>(i)));
    const Op& lop = layers.ops[layer];
    if (lop.kind != op.kind || lop.kernel != op.kernel || lop.stride != op.stride)
      throw Error("with_patches: op " + std::to_string(i) + " does not match its layer");
    QuantOp& q = out.ops[i];
    q = model.ops[layer];
    if (op.first_patch_op >= 0) {
      // The arrays are the patch-0 op's.
      q.weights.clear();
      q.bias.clear();
      q.multiplier.clear();
      q.shift.clear();
      q.weight_scale.clear();
    }
    out.tensors[static_cast<size_t>(op.output)] = model.tensors[static_cast<size_t>(lop.output)];
  }
  return out;
}

}  // namespace tinynas::deploy
