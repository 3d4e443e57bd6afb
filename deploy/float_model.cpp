// The float network: seeded random weights with BatchNorm folded in, and a
// plain NHWC forward pass over the same OpGraph the int8 runtime executes, so
// calibration observes exactly the tensors that get quantised.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "core/error.h"
#include "core/rng.h"
#include "deploy/quantize.h"

namespace tinynas::deploy {
namespace {

// Normal samples by Box-Muller on the project's Rng rather than
// std::normal_distribution, whose output differs between standard libraries:
// a seed must give the same model on every host.
class Normal {
 public:
  explicit Normal(uint64_t seed) : rng_(seed) {}

  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    // 1 - uniform01() lies in (0, 1], so the logarithm is finite.
    const double u1 = 1.0 - rng_.uniform01();
    const double u2 = rng_.uniform01();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

  double uniform(double lo, double hi) { return lo + (hi - lo) * rng_.uniform01(); }

 private:
  Rng rng_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// Input channels seen by one output channel's weights.
int64_t fan_in(const Op& op, const TensorShape& in) {
  switch (op.kind) {
    case OpKind::kConv2d:
      return int64_t{op.kernel} * op.kernel * in.c;
    case OpKind::kDepthwiseConv2d:
      return int64_t{op.kernel} * op.kernel;
    case OpKind::kPointwiseConv2d:
    case OpKind::kFullyConnected:
      return in.c;
    case OpKind::kAdd:
    case OpKind::kAvgPool:
      return 0;
  }
  return 0;
}

inline float activate(float v, Activation a) {
  switch (a) {
    case Activation::kNone:
      return v;
    case Activation::kRelu:
      return std::max(v, 0.0f);
    case Activation::kRelu6:
      return std::clamp(v, 0.0f, 6.0f);
  }
  return v;
}

// Convolution in all three flavours. Out-of-image taps are skipped, which is
// zero padding for a float input (and matches the int8 kernels, where a
// padded tap contributes (zero_point + input_offset) * w = 0).
void conv_forward(const Op& op, const TensorShape& is, const TensorShape& os,
                  const FloatOpWeights& w, const std::vector<float>& in, std::vector<float>& out) {
  const int32_t k = op.kernel;
  for (int32_t oy = 0; oy < os.h; ++oy) {
    for (int32_t ox = 0; ox < os.w; ++ox) {
      float* o = &out[(int64_t{oy} * os.w + ox) * os.c];
      for (int32_t oc = 0; oc < os.c; ++oc) {
        double acc = w.bias[oc];
        for (int32_t ky = 0; ky < k; ++ky) {
          const int32_t iy = oy * op.stride - op.padding + ky;
          if (iy < 0 || iy >= is.h) continue;
          for (int32_t kx = 0; kx < k; ++kx) {
            const int32_t ix = ox * op.stride - op.padding + kx;
            if (ix < 0 || ix >= is.w) continue;
            const float* x = &in[(int64_t{iy} * is.w + ix) * is.c];
            switch (op.kind) {
              case OpKind::kDepthwiseConv2d:
                acc += double{x[oc]} * w.weights[(int64_t{oc} * k + ky) * k + kx];
                break;
              case OpKind::kConv2d: {
                const float* wp = &w.weights[((int64_t{oc} * k + ky) * k + kx) * is.c];
                for (int32_t ic = 0; ic < is.c; ++ic) acc += double{x[ic]} * wp[ic];
                break;
              }
              default: {  // pointwise: k == 1, stride 1
                const float* wp = &w.weights[int64_t{oc} * is.c];
                for (int32_t ic = 0; ic < is.c; ++ic) acc += double{x[ic]} * wp[ic];
                break;
              }
            }
          }
        }
        o[oc] = activate(static_cast<float>(acc), op.activation);
      }
    }
  }
}

}  // namespace

void fold_batch_norm(const BatchNorm& bn, FloatOpWeights& w) {
  const size_t out_c = bn.gamma.size();
  if (out_c == 0 || bn.beta.size() != out_c || bn.running_mean.size() != out_c ||
      bn.running_var.size() != out_c || w.weights.size() % out_c != 0)
    throw Error("fold_batch_norm: BatchNorm has " + std::to_string(out_c) +
                " channels, which do not match its statistics or the " +
                std::to_string(w.weights.size()) + " weights");
  // y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta is affine per output
  // channel, so it becomes a weight scale and a bias (the conv has none).
  const size_t per_channel = w.weights.size() / out_c;
  w.bias.resize(out_c);
  for (size_t oc = 0; oc < out_c; ++oc) {
    const double scale = bn.gamma[oc] / std::sqrt(double{bn.running_var[oc]} + bn.eps);
    for (size_t j = 0; j < per_channel; ++j) {
      float& v = w.weights[oc * per_channel + j];
      v = static_cast<float>(v * scale);
    }
    w.bias[oc] = static_cast<float>(bn.beta[oc] - bn.running_mean[oc] * scale);
  }
}

FloatModel random_float_model(const ArchSpec& arch, uint64_t seed) {
  validate(arch);  // lower() assumes a valid spec; bad input gets validate's message
  FloatModel m;
  m.arch = arch;
  m.graph = lower(arch);
  m.ops.resize(m.graph.ops.size());
  for (size_t i = 0; i < m.graph.ops.size(); ++i) {
    const Op& op = m.graph.ops[i];
    if (op.kind == OpKind::kAdd || op.kind == OpKind::kAvgPool) continue;
    // One stream per op, so an op's weights do not depend on the ops before it.
    Normal rng(derive_seed(seed, i));
    const TensorShape& in = m.graph.tensors[op.input].shape;
    const int32_t out_c = m.graph.tensors[op.output].shape.c;
    const int64_t fan = fan_in(op, in);
    FloatOpWeights& w = m.ops[i];
    w.weights.resize(static_cast<size_t>(op.weights));
    w.bias.resize(static_cast<size_t>(out_c));
    if (op.kind == OpKind::kFullyConnected) {
      // The classifier has no BatchNorm: LeCun-normal weights and a small bias.
      const double std_w = std::sqrt(1.0 / static_cast<double>(fan));
      for (auto& v : w.weights) v = static_cast<float>(std_w * rng.next());
      for (auto& b : w.bias) b = static_cast<float>(rng.uniform(-0.05, 0.05));
      continue;
    }
    // He-normal suits the ReLU family: it keeps activations from vanishing or
    // exploding through the depth of the network.
    const double std_w = std::sqrt(2.0 / static_cast<double>(fan));
    for (auto& v : w.weights) v = static_cast<float>(std_w * rng.next());
    // Random BatchNorm statistics of a trained-looking network, folded so
    // that the float and int8 graphs have the same ops.
    BatchNorm bn;
    for (auto* v : {&bn.gamma, &bn.beta, &bn.running_mean, &bn.running_var}) v->resize(out_c);
    for (int32_t oc = 0; oc < out_c; ++oc) {
      bn.gamma[oc] = static_cast<float>(rng.uniform(0.5, 1.5));
      bn.beta[oc] = static_cast<float>(rng.uniform(-0.2, 0.2));
      bn.running_mean[oc] = static_cast<float>(rng.uniform(-0.1, 0.1));
      bn.running_var[oc] = static_cast<float>(rng.uniform(0.5, 1.5));
    }
    fold_batch_norm(bn, w);
  }
  return m;
}

std::vector<float> float_forward(const FloatModel& model, const std::vector<float>& input,
                                 std::vector<std::vector<float>>* activations) {
  const OpGraph& g = model.graph;
  if (model.ops.size() != g.ops.size())
    throw Error("float_forward: model has " + std::to_string(model.ops.size()) +
                " weight sets for " + std::to_string(g.ops.size()) + " ops");
  const int64_t in_elems = g.tensors[g.input].shape.elements();
  if (static_cast<int64_t>(input.size()) != in_elems)
    throw Error("float_forward: input has " + std::to_string(input.size()) +
                " values, the network takes " + std::to_string(in_elems));

  std::vector<std::vector<float>> t(g.tensors.size());
  t[g.input] = input;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const TensorShape& is = g.tensors[op.input].shape;
    const TensorShape& os = g.tensors[op.output].shape;
    const std::vector<float>& x = t[op.input];
    std::vector<float>& y = t[op.output];
    y.assign(static_cast<size_t>(os.elements()), 0.0f);
    switch (op.kind) {
      case OpKind::kConv2d:
      case OpKind::kDepthwiseConv2d:
      case OpKind::kPointwiseConv2d:
        conv_forward(op, is, os, model.ops[i], x, y);
        break;
      case OpKind::kAdd: {
        const std::vector<float>& x2 = t[op.input2];
        for (size_t j = 0; j < y.size(); ++j) y[j] = activate(x[j] + x2[j], op.activation);
        break;
      }
      case OpKind::kAvgPool: {
        const int64_t pixels = int64_t{is.h} * is.w;
        for (int32_t c = 0; c < is.c; ++c) {
          double sum = 0.0;
          for (int64_t p = 0; p < pixels; ++p) sum += x[p * is.c + c];
          y[c] = static_cast<float>(sum / static_cast<double>(pixels));
        }
        break;
      }
      case OpKind::kFullyConnected: {
        const FloatOpWeights& w = model.ops[i];
        for (int32_t o = 0; o < os.c; ++o) {
          double acc = w.bias[o];
          for (int32_t c = 0; c < is.c; ++c) acc += double{x[c]} * w.weights[int64_t{o} * is.c + c];
          y[o] = activate(static_cast<float>(acc), op.activation);
        }
        break;
      }
    }
  }
  std::vector<float> logits = t[g.output];
  if (activations) *activations = std::move(t);
  return logits;
}

}  // namespace tinynas::deploy
