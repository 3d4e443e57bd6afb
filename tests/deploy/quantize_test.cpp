// Float model, BatchNorm folding and int8 quantisation: TFLite's multiplier
// encoding on known values, the float forward pass against independent
// per-op formulas, and the int8 network (run by the reference interpreter)
// against the float one.
#include "deploy/quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/op_graph.h"
#include "core/rng.h"
#include "tests/test_util.h"

namespace tinynas::deploy {
namespace {

// Images with structure (a per-image colour, a gradient and noise) rather
// than white noise alone, so different images give different logits.
std::vector<float> random_image(const ArchSpec& arch, Rng& rng) {
  const int32_t r = arch.resolution, c = arch.in_channels;
  std::vector<float> img(static_cast<size_t>(r) * r * c);
  std::vector<double> base(c), gx(c), gy(c);
  for (int32_t k = 0; k < c; ++k) {
    base[k] = 2.0 * rng.uniform01() - 1.0;
    gx[k] = 2.0 * rng.uniform01() - 1.0;
    gy[k] = 2.0 * rng.uniform01() - 1.0;
  }
  for (int32_t y = 0; y < r; ++y)
    for (int32_t x = 0; x < r; ++x)
      for (int32_t k = 0; k < c; ++k) {
        const double v = base[k] + gx[k] * (x - r / 2) / r + gy[k] * (y - r / 2) / r +
                         0.5 * (2.0 * rng.uniform01() - 1.0);
        img[(static_cast<size_t>(y) * r + x) * c + k] = static_cast<float>(v);
      }
  return img;
}

std::vector<std::vector<float>> random_images(const ArchSpec& arch, int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::vector<float>> out;
  for (int i = 0; i < n; ++i) out.push_back(random_image(arch, rng));
  return out;
}

std::vector<float> dequantize(const std::vector<int8_t>& q, const TensorQuant& t) {
  std::vector<float> out(q.size());
  for (size_t i = 0; i < q.size(); ++i) out[i] = t.scale * (q[i] - t.zero_point);
  return out;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double{a[i]} * b[i];
    aa += double{a[i]} * a[i];
    bb += double{b[i]} * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

size_t argmax(const std::vector<float>& v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// ---- quantize_multiplier --------------------------------------------------

struct Mq {
  int32_t multiplier, shift;
};
Mq qm(double real) {
  Mq m{};
  quantize_multiplier(real, &m.multiplier, &m.shift);
  return m;
}

TEST(QuantizeMultiplier, KnownValues) {
  // real = fraction * 2^shift, fraction in [0.5, 1) stored as Q31.
  EXPECT_EQ(qm(0.5).multiplier, 1 << 30);
  EXPECT_EQ(qm(0.5).shift, 0);
  EXPECT_EQ(qm(0.25).multiplier, 1 << 30);
  EXPECT_EQ(qm(0.25).shift, -1);
  EXPECT_EQ(qm(1.5).multiplier, 1610612736);  // 0.75 * 2^31
  EXPECT_EQ(qm(1.5).shift, 1);
  EXPECT_EQ(qm(1.0).multiplier, 1 << 30);
  EXPECT_EQ(qm(1.0).shift, 1);
  EXPECT_EQ(qm(0.75).multiplier, 1610612736);
  EXPECT_EQ(qm(0.75).shift, 0);
  EXPECT_EQ(qm(0.0).multiplier, 0);
  EXPECT_EQ(qm(0.0).shift, 0);
  // 0.8 * 2^31 = 1717986918.4 rounds down; 1.6 / 2^20 = 0.8 * 2^-19.
  EXPECT_EQ(qm(1.6 / (1 << 20)).multiplier, 1717986918);
  EXPECT_EQ(qm(1.6 / (1 << 20)).shift, -19);
}

TEST(QuantizeMultiplier, RoundingUpToOneCarriesIntoTheShift) {
  // Just below 1: the fraction rounds to 2^31, which Q31 cannot hold.
  const Mq m = qm(1.0 - std::ldexp(1.0, -40));
  EXPECT_EQ(m.multiplier, 1 << 30);
  EXPECT_EQ(m.shift, 1);
  // Just below 0.5 likewise lands on 0.5 exactly.
  const Mq h = qm(0.5 - std::ldexp(1.0, -40));
  EXPECT_EQ(h.multiplier, 1 << 30);
  EXPECT_EQ(h.shift, 0);
  // Just above 1 stays in [2^30, 2^31).
  const Mq a = qm(1.0 + std::ldexp(1.0, -20));
  EXPECT_EQ(a.multiplier, (1 << 30) + (1 << 10));
  EXPECT_EQ(a.shift, 1);
}

TEST(QuantizeMultiplier, ExtremesAndRoundTrip) {
  EXPECT_EQ(qm(std::ldexp(1.0, -40)).multiplier, 0);  // below 2^-31: flushed
  EXPECT_EQ(qm(std::ldexp(1.0, -40)).shift, 0);
  EXPECT_EQ(qm(std::ldexp(1.0, 40)).shift, 30);  // saturated left shift
  EXPECT_EQ(qm(std::ldexp(1.0, 40)).multiplier, 2147483647);
  Rng rng(7);
  for (int i = 0; i < 1000; ++i) {
    const double real =
        std::ldexp(0.5 + 0.5 * rng.uniform01(), static_cast<int>(rng.uniform(40)) - 30);
    const Mq m = qm(real);
    ASSERT_GE(m.multiplier, 1 << 30);
    const double back = std::ldexp(m.multiplier / 2147483648.0, m.shift);
    ASSERT_NEAR(back / real, 1.0, 1e-9) << real;
  }
}

// ---- float model: BatchNorm folding and every op against independent formulas

// Raw conv weights indexed (oc, ky, kx, ic) for the test's own loops; ic is 0
// for depthwise.
struct RawConv {
  int32_t out_c = 0, k = 1, in_c = 1;
  std::vector<double> w;
  double& at(int32_t oc, int32_t ky, int32_t kx, int32_t ic) {
    return w[((static_cast<size_t>(oc) * k + ky) * k + kx) * in_c + ic];
  }
};

double act(double v, Activation a) {
  if (a == Activation::kRelu6) return std::min(std::max(v, 0.0), 6.0);
  if (a == Activation::kRelu) return std::max(v, 0.0);
  return v;
}

TEST(FloatModel, FoldedForwardMatchesConvThenBatchNorm) {
  const ArchSpec arch = test_nets::tiny_arch();
  FloatModel m = random_float_model(arch, 1);
  const OpGraph& g = m.graph;
  Rng rng(99);
  // Unfolded parameters per conv op, written into the model through the
  // runtime layouts and fold_batch_norm.
  std::vector<RawConv> raw(g.ops.size());
  std::vector<BatchNorm> bns(g.ops.size());
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    if (op.kind != OpKind::kConv2d && op.kind != OpKind::kDepthwiseConv2d &&
        op.kind != OpKind::kPointwiseConv2d)
      continue;
    RawConv& r = raw[i];
    r.out_c = g.tensors[op.output].shape.c;
    r.k = op.kernel;
    r.in_c = op.kind == OpKind::kDepthwiseConv2d ? 1 : g.tensors[op.input].shape.c;
    r.w.resize(static_cast<size_t>(r.out_c) * r.k * r.k * r.in_c);
    for (auto& v : r.w) v = (rng.uniform01() - 0.5) * 0.8;
    BatchNorm& bn = bns[i];
    for (int32_t oc = 0; oc < r.out_c; ++oc) {
      bn.gamma.push_back(static_cast<float>(0.5 + rng.uniform01()));
      bn.beta.push_back(static_cast<float>(rng.uniform01() - 0.5));
      bn.running_mean.push_back(static_cast<float>(rng.uniform01() - 0.5));
      bn.running_var.push_back(static_cast<float>(0.5 + rng.uniform01()));
    }
    FloatOpWeights& fw = m.ops[i];
    fw.weights.assign(static_cast<size_t>(op.weights), 0.0f);
    for (int32_t oc = 0; oc < r.out_c; ++oc)
      for (int32_t ky = 0; ky < r.k; ++ky)
        for (int32_t kx = 0; kx < r.k; ++kx)
          for (int32_t ic = 0; ic < r.in_c; ++ic) {
            // OHWI, [c][k][k] and [out][in] are all this index for their shapes.
            const size_t idx = ((static_cast<size_t>(oc) * r.k + ky) * r.k + kx) * r.in_c + ic;
            fw.weights[idx] = static_cast<float>(r.at(oc, ky, kx, ic));
          }
    fold_batch_norm(bn, fw);
  }

  const auto image = random_images(arch, 1, 5)[0];
  std::vector<std::vector<float>> acts;
  const std::vector<float> logits = float_forward(m, image, &acts);
  ASSERT_EQ(acts.size(), g.tensors.size());
  EXPECT_EQ(logits, acts[g.output]);
  EXPECT_EQ(acts[g.input], image);

  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const TensorShape is = g.tensors[op.input].shape, os = g.tensors[op.output].shape;
    const std::vector<float>& x = acts[op.input];
    const std::vector<float>& y = acts[op.output];
    ASSERT_EQ(static_cast<int64_t>(y.size()), os.elements()) << "op " << i;
    auto xin = [&](int32_t yy, int32_t xx, int32_t c) -> double {
      // Explicit zero padding of kernel/2 on every side.
      if (yy < 0 || yy >= is.h || xx < 0 || xx >= is.w) return 0.0;
      return x[(static_cast<size_t>(yy) * is.w + xx) * is.c + c];
    };
    for (int32_t oy = 0; oy < os.h; ++oy)
      for (int32_t ox = 0; ox < os.w; ++ox)
        for (int32_t oc = 0; oc < os.c; ++oc) {
          double expect = 0.0;
          switch (op.kind) {
            case OpKind::kConv2d:
            case OpKind::kDepthwiseConv2d:
            case OpKind::kPointwiseConv2d: {
              RawConv& r = raw[i];
              const int32_t p = r.k / 2;
              double z = 0.0;
              for (int32_t ky = 0; ky < r.k; ++ky)
                for (int32_t kx = 0; kx < r.k; ++kx) {
                  const int32_t iy = oy * op.stride + ky - p, ix = ox * op.stride + kx - p;
                  if (op.kind == OpKind::kDepthwiseConv2d)
                    z += xin(iy, ix, oc) * r.at(oc, ky, kx, 0);
                  else
                    for (int32_t ic = 0; ic < r.in_c; ++ic)
                      z += xin(iy, ix, ic) * r.at(oc, ky, kx, ic);
                }
              const BatchNorm& bn = bns[i];
              const double bnv = bn.gamma[oc] * (z - bn.running_mean[oc]) /
                                     std::sqrt(double{bn.running_var[oc]} + 1e-5) +
                                 bn.beta[oc];
              expect = act(bnv, op.activation);
              break;
            }
            case OpKind::kAdd:
              expect = x[(static_cast<size_t>(oy) * os.w + ox) * os.c + oc] +
                       acts[op.input2][(static_cast<size_t>(oy) * os.w + ox) * os.c + oc];
              break;
            case OpKind::kAvgPool: {
              for (int32_t yy = 0; yy < is.h; ++yy)
                for (int32_t xx = 0; xx < is.w; ++xx) expect += xin(yy, xx, oc);
              expect /= is.h * is.w;
              break;
            }
            case OpKind::kFullyConnected: {
              expect = m.ops[i].bias[oc];
              for (int32_t c = 0; c < is.c; ++c)
                expect += x[c] * double{m.ops[i].weights[static_cast<size_t>(oc) * is.c + c]};
              break;
            }
          }
          const float got = y[(static_cast<size_t>(oy) * os.w + ox) * os.c + oc];
          ASSERT_NEAR(got, expect, 1e-4 * (1.0 + std::fabs(expect)))
              << "op " << i << " (" << op_kind_name(op.kind) << ") at " << oy << "," << ox << ","
              << oc;
        }
  }
}

TEST(FloatModel, FoldBatchNormOnAHandCase) {
  // Two output channels of two weights each; values chosen so that the
  // folded numbers are exact.
  FloatOpWeights w;
  w.weights = {1.0f, -2.0f, 0.5f, 4.0f};
  BatchNorm bn;
  bn.gamma = {1.0f, 1.5f};
  bn.beta = {0.25f, -1.0f};
  bn.running_mean = {1.0f, -2.0f};
  bn.running_var = {4.0f, 0.25f};
  bn.eps = 0.0f;
  fold_batch_norm(bn, w);
  // channel 0: scale 1 / sqrt(4) = 0.5; channel 1: scale 1.5 / sqrt(0.25) = 3.
  EXPECT_FLOAT_EQ(w.weights[0], 0.5f);
  EXPECT_FLOAT_EQ(w.weights[1], -1.0f);
  EXPECT_FLOAT_EQ(w.bias[0], 0.25f - 1.0f * 0.5f);
  EXPECT_FLOAT_EQ(w.weights[2], 1.5f);
  EXPECT_FLOAT_EQ(w.weights[3], 12.0f);
  EXPECT_FLOAT_EQ(w.bias[1], -1.0f + 2.0f * 3.0f);

  FloatOpWeights v;
  v.weights = {1.0f, 3.0f};
  BatchNorm b2;
  b2.gamma = {3.0f};
  b2.beta = {0.5f};
  b2.running_mean = {2.0f};
  b2.running_var = {4.0f};
  b2.eps = 0.0f;
  fold_batch_norm(b2, v);  // scale 1.5
  EXPECT_FLOAT_EQ(v.weights[0], 1.5f);
  EXPECT_FLOAT_EQ(v.weights[1], 4.5f);
  EXPECT_FLOAT_EQ(v.bias[0], 0.5f - 3.0f);

  BatchNorm bad = b2;
  bad.beta.clear();
  EXPECT_NE(test_nets::error_of([&] { fold_batch_norm(bad, v); }), "");
}

TEST(FloatModel, RandomWeightsAreDeterministicAndShaped) {
  const ArchSpec arch = test_nets::tiny_arch();
  const FloatModel a = random_float_model(arch, 42), b = random_float_model(arch, 42),
                   c = random_float_model(arch, 43);
  ASSERT_EQ(a.ops.size(), a.graph.ops.size());
  bool differs = false;
  for (size_t i = 0; i < a.ops.size(); ++i) {
    const Op& op = a.graph.ops[i];
    EXPECT_EQ(a.ops[i].weights, b.ops[i].weights);
    EXPECT_EQ(a.ops[i].bias, b.ops[i].bias);
    differs |= a.ops[i].weights != c.ops[i].weights;
    const bool weighted = op.kind != OpKind::kAdd && op.kind != OpKind::kAvgPool;
    EXPECT_EQ(static_cast<int64_t>(a.ops[i].weights.size()), weighted ? op.weights : 0);
    EXPECT_EQ(static_cast<int64_t>(a.ops[i].bias.size()), weighted ? op.biases : 0);
    for (float v : a.ops[i].weights) ASSERT_TRUE(std::isfinite(v));
  }
  EXPECT_TRUE(differs);
  // The 3x3x3 first conv: He std sqrt(2/27) = 0.27, times a BN scale in
  // roughly [0.4, 2.1]; the sample std of 216 weights lands well inside.
  const auto& w0 = a.ops[0].weights;
  double ss = 0;
  for (float v : w0) ss += double{v} * v;
  const double sd = std::sqrt(ss / w0.size());
  EXPECT_GT(sd, 0.15);
  EXPECT_LT(sd, 0.5);
}

// ---- quantisation ----------------------------------------------------------

struct Agreement {
  double min_cosine = 1.0, mean_cosine = 0.0, centred_cosine = 0.0;
  int argmax_agree = 0, n = 0;
};

// Float logits against the dequantised int8 logits of the reference
// interpreter. The centred cosine removes the mean logit over the images,
// which a random network makes large, so it measures the input-dependent part.
Agreement measure(const FloatModel& fm, const QuantizedModel& qm,
                  const std::vector<std::vector<float>>& images) {
  Agreement a;
  std::vector<std::vector<float>> fl, ql;
  for (const auto& img : images) {
    fl.push_back(float_forward(fm, img));
    ql.push_back(
        dequantize(run_reference(qm, quantize_input(qm, img)), qm.tensors[qm.graph.output]));
    const double c = cosine(fl.back(), ql.back());
    a.min_cosine = std::min(a.min_cosine, c);
    a.mean_cosine += c / images.size();
    a.argmax_agree += argmax(fl.back()) == argmax(ql.back());
    ++a.n;
  }
  const size_t k = fl[0].size();
  std::vector<float> mean(k, 0.0f), fc, qc;
  for (const auto& l : fl)
    for (size_t j = 0; j < k; ++j) mean[j] += l[j] / fl.size();
  for (size_t i = 0; i < fl.size(); ++i)
    for (size_t j = 0; j < k; ++j) {
      fc.push_back(fl[i][j] - mean[j]);
      qc.push_back(ql[i][j] - mean[j]);
    }
  a.centred_cosine = cosine(fc, qc);
  return a;
}

TEST(Quantize, Int8LogitsTrackTheFloatNetwork) {
  const ArchSpec arch = test_nets::tiny_arch();
  const FloatModel fm = random_float_model(arch, 2024);
  const QuantizedModel qm = quantize(fm, random_images(arch, 8, 11));
  const Agreement a = measure(fm, qm, random_images(arch, 64, 12));
  std::printf(
      "tiny_arch int8 vs float over %d images: cosine min %.4f mean %.4f, "
      "centred %.4f, argmax %d/%d\n",
      a.n, a.min_cosine, a.mean_cosine, a.centred_cosine, a.argmax_agree, a.n);
  // Measured: cosine min 0.9968, centred 0.9961, argmax 63/64.
  EXPECT_GT(a.min_cosine, 0.98);
  EXPECT_GT(a.centred_cosine, 0.95);
  EXPECT_GE(a.argmax_agree, 58);
}

// Layer by layer, on images inside the calibrated ranges (calibrated on the
// very images evaluated), so clipping of out-of-range activations does not
// mask a systematic error: every tensor stays within a few int8 steps of the
// float network. Feature mix and plain ReLU cover the rest of the lowering.
TEST(Quantize, EveryTensorTracksTheFloatNetworkInRange) {
  ArchSpec arch = test_nets::tiny_arch();
  arch.feature_mix_channels = 32;
  arch.activation = Activation::kRelu;
  const FloatModel fm = random_float_model(arch, 10);
  const auto images = random_images(arch, 16, 210);
  const QuantizedModel qm = quantize(fm, images);
  std::vector<double> err(qm.tensors.size()), sig(qm.tensors.size());
  for (const auto& img : images) {
    std::vector<std::vector<float>> fa;
    std::vector<std::vector<int8_t>> qa;
    float_forward(fm, img, &fa);
    run_reference(qm, quantize_input(qm, img), &qa);
    ASSERT_EQ(qa.size(), fa.size());
    for (size_t t = 0; t < fa.size(); ++t) {
      const auto d = dequantize(qa[t], qm.tensors[t]);
      for (size_t j = 0; j < d.size(); ++j) {
        err[t] += (d[j] - fa[t][j]) * (d[j] - fa[t][j]);
        sig[t] += double{fa[t][j]} * fa[t][j];
      }
    }
  }
  double worst = 0;
  for (size_t t = 0; t < err.size(); ++t) {
    const double rel = std::sqrt(err[t] / sig[t]);
    worst = std::max(worst, rel);
    EXPECT_LT(rel, 0.08) << "tensor " << t;
  }
  std::printf("feature-mix ReLU net, in-range images: worst per-tensor relative RMS error %.4f\n",
              worst);
}

TEST(Quantize, TensorAndWeightParameters) {
  const ArchSpec arch = test_nets::tiny_arch();
  const FloatModel fm = random_float_model(arch, 3);
  const auto calib = random_images(arch, 4, 21);
  const QuantizedModel qm = quantize(fm, calib);
  const OpGraph& g = qm.graph;
  ASSERT_EQ(qm.tensors.size(), g.tensors.size());
  ASSERT_EQ(qm.ops.size(), g.ops.size());

  // The input's range is the calibration images' min/max (with 0).
  float lo = 0, hi = 0;
  for (const auto& img : calib)
    for (float v : img) lo = std::min(lo, v), hi = std::max(hi, v);
  const TensorQuant& in = qm.tensors[g.input];
  EXPECT_NEAR(in.scale, (hi - lo) / 255.0f, 1e-6);
  EXPECT_EQ(in.zero_point, static_cast<int32_t>(std::lround(-128.0 - double{lo} / in.scale)));
  // The calibration extremes land on the ends of the int8 range, and zero is
  // exactly representable.
  const auto qi = quantize_input(qm, calib[0]);
  ASSERT_EQ(qi.size(), calib[0].size());
  for (size_t j = 0; j < qi.size(); ++j)
    ASSERT_NEAR(in.scale * (qi[j] - in.zero_point), calib[0][j], 0.5001 * in.scale);
  std::vector<float> probe = calib[0];
  probe[0] = lo;
  probe[1] = hi;
  probe[2] = 0.0f;
  const auto qp = quantize_input(qm, probe);
  EXPECT_LE(qp[0], -127);
  EXPECT_GE(qp[1], 126);
  EXPECT_EQ(qp[2], in.zero_point);
  EXPECT_NE(test_nets::error_of([&] { quantize_input(qm, {1.0f}); }), "");

  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const QuantOp& o = qm.ops[i];
    const TensorQuant &ti = qm.tensors[op.input], &to = qm.tensors[op.output];
    EXPECT_GE(to.zero_point, -128);
    EXPECT_LE(to.zero_point, 127);
    if (op.kind == OpKind::kAvgPool) {
      EXPECT_EQ(to.scale, ti.scale);
      EXPECT_EQ(to.zero_point, ti.zero_point);
      continue;
    }
    if (op.kind == OpKind::kAdd) {
      const TensorQuant& t2 = qm.tensors[op.input2];
      EXPECT_EQ(o.left_shift, 20);
      EXPECT_EQ(o.input1_offset, -ti.zero_point);
      EXPECT_EQ(o.input2_offset, -t2.zero_point);
      EXPECT_EQ(o.output_offset, to.zero_point);
      EXPECT_LE(o.input1_shift, 0);
      EXPECT_LE(o.input2_shift, 0);
      EXPECT_LE(o.output_shift, 0);
      const double twice = 2.0 * std::max(ti.scale, t2.scale);
      EXPECT_NEAR(std::ldexp(o.input1_multiplier / 2147483648.0, o.input1_shift), ti.scale / twice,
                  1e-9);
      EXPECT_NEAR(std::ldexp(o.input2_multiplier / 2147483648.0, o.input2_shift), t2.scale / twice,
                  1e-9);
      EXPECT_NEAR(std::ldexp(o.output_multiplier / 2147483648.0, o.output_shift) /
                      (twice / (1048576.0 * to.scale)),
                  1.0, 1e-8);
      continue;
    }
    const FloatOpWeights& fw = fm.ops[i];
    const int32_t out_c = g.tensors[op.output].shape.c;
    ASSERT_EQ(o.weights.size(), fw.weights.size());
    ASSERT_EQ(static_cast<int32_t>(o.bias.size()), out_c);
    EXPECT_EQ(o.input_offset, -ti.zero_point);
    EXPECT_EQ(o.output_offset, to.zero_point);
    const size_t per = fw.weights.size() / out_c;
    for (int32_t oc = 0; oc < out_c; ++oc) {
      float max_abs = 0;
      int max_q = 0;
      for (size_t j = 0; j < per; ++j) {
        const size_t idx = oc * per + j;
        max_abs = std::max(max_abs, std::fabs(fw.weights[idx]));
        max_q = std::max(max_q, std::abs(int{o.weights[idx]}));
        // Each weight within half a step of its float value.
        ASSERT_NEAR(o.weights[idx] * o.weight_scale[oc], fw.weights[idx],
                    0.5001 * o.weight_scale[oc]);
      }
      EXPECT_FLOAT_EQ(o.weight_scale[oc], max_abs / 127.0f);
      EXPECT_EQ(max_q, 127);  // the largest weight uses the full symmetric range
      const double acc_scale = double{ti.scale} * o.weight_scale[oc];
      EXPECT_EQ(o.bias[oc], static_cast<int32_t>(std::lround(fw.bias[oc] / acc_scale)));
      const double real = acc_scale / to.scale;
      EXPECT_NEAR(std::ldexp(o.multiplier[oc] / 2147483648.0, o.shift[oc]) / real, 1.0, 1e-8);
    }
    if (op.activation == Activation::kNone) {
      EXPECT_EQ(o.act_min, -128);
      EXPECT_EQ(o.act_max, 127);
    }
  }
}

TEST(Quantize, NearZeroWeightsKeepTheBiasInRange) {
  // A dead channel (weights ~0, bias not): max|w|/127 would put its bias far
  // beyond int32, so the weight scale widens instead.
  const ArchSpec arch = test_nets::tiny_arch();
  FloatModel fm = random_float_model(arch, 4);
  const int op = 2;  // block 0's projection, 8 -> 8, no activation
  ASSERT_EQ(fm.graph.ops[op].kind, OpKind::kPointwiseConv2d);
  const int32_t in_c = fm.graph.tensors[fm.graph.ops[op].input].shape.c;
  for (int32_t c = 0; c < in_c; ++c) fm.ops[op].weights[c] *= 1e-9f;
  fm.ops[op].bias[0] = 0.5f;
  const auto images = random_images(arch, 4, 61);
  const QuantizedModel qm = quantize(fm, images);
  const QuantOp& q = qm.ops[op];
  EXPECT_LE(std::abs(int64_t{q.bias[0]}), int64_t{1} << 30);
  EXPECT_GT(q.bias[0], 0);
  // The channel still reads 0.5 within an output step or two.
  const int32_t out = fm.graph.ops[op].output;
  const TensorQuant& t = qm.tensors[out];
  std::vector<std::vector<int8_t>> ts;
  run_reference(qm, quantize_input(qm, images[0]), &ts);
  const int32_t out_c = fm.graph.tensors[out].shape.c;
  for (size_t p = 0; p < ts[out].size(); p += out_c)
    ASSERT_NEAR(t.scale * (ts[out][p] - t.zero_point), 0.5f, 2.0f * t.scale);
}

TEST(Quantize, Relu6ClampsRespected) {
  const ArchSpec arch = test_nets::tiny_arch();
  FloatModel fm = random_float_model(arch, 8);
  // A large first conv drives many pre-activations past 6, so the clamp is
  // exercised (a He-initialised one rarely gets there).
  for (auto& v : fm.ops[0].weights) v *= 8.0f;
  for (auto& v : fm.ops[0].bias) v *= 8.0f;
  const QuantizedModel qm = quantize(fm, random_images(arch, 4, 31));
  const OpGraph& g = qm.graph;
  int relu6_ops = 0;
  bool saw_six = false;
  for (const auto& img : random_images(arch, 8, 32)) {
    std::vector<std::vector<int8_t>> ts;
    run_reference(qm, quantize_input(qm, img), &ts);
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const Op& op = g.ops[i];
      if (op.activation != Activation::kRelu6) continue;
      ++relu6_ops;
      const QuantOp& o = qm.ops[i];
      const TensorQuant& t = qm.tensors[op.output];
      EXPECT_EQ(o.act_min, std::max(-128, t.zero_point));
      EXPECT_EQ(
          o.act_max,
          std::min<int32_t>(127, t.zero_point + static_cast<int32_t>(std::lround(6.0 / t.scale))));
      for (int8_t v : ts[op.output]) {
        ASSERT_GE(v, o.act_min);
        ASSERT_LE(v, o.act_max);
        const float real = t.scale * (v - t.zero_point);
        ASSERT_GE(real, 0.0f);
        ASSERT_LE(real, 6.0f + t.scale / 2);
        saw_six |= i == 0 && real > 5.9f;
      }
    }
  }
  EXPECT_GT(relu6_ops, 0);
  EXPECT_TRUE(saw_six);
}

TEST(Quantize, DeterministicForASeed) {
  const ArchSpec arch = test_nets::tiny_arch();
  const auto calib = random_images(arch, 3, 41);
  const QuantizedModel a = quantize(random_float_model(arch, 5), calib);
  const QuantizedModel b = quantize(random_float_model(arch, 5), calib);
  for (size_t t = 0; t < a.tensors.size(); ++t) {
    EXPECT_EQ(a.tensors[t].scale, b.tensors[t].scale);
    EXPECT_EQ(a.tensors[t].zero_point, b.tensors[t].zero_point);
  }
  for (size_t i = 0; i < a.ops.size(); ++i) {
    EXPECT_EQ(a.ops[i].weights, b.ops[i].weights);
    EXPECT_EQ(a.ops[i].bias, b.ops[i].bias);
    EXPECT_EQ(a.ops[i].multiplier, b.ops[i].multiplier);
    EXPECT_EQ(a.ops[i].shift, b.ops[i].shift);
  }
  const auto img = random_images(arch, 1, 42)[0];
  EXPECT_EQ(run_reference(a, quantize_input(a, img)), run_reference(b, quantize_input(b, img)));
}

TEST(Quantize, PercentileRangeIsNoWiderThanMinMax) {
  const ArchSpec arch = test_nets::tiny_arch();
  const FloatModel fm = random_float_model(arch, 6);
  const auto calib = random_images(arch, 4, 51);
  const QuantizedModel mm = quantize(fm, calib);
  QuantizeOptions opt;
  opt.calibration = Calibration::kPercentile;
  opt.percentile = 99.9;
  const QuantizedModel pc = quantize(fm, calib, opt);
  int narrower = 0;
  for (size_t t = 0; t < mm.tensors.size(); ++t) {
    // scale is the range / 255; lo = -(zp + 128) * scale up to rounding.
    EXPECT_LE(pc.tensors[t].scale, mm.tensors[t].scale * (1 + 1e-6)) << "tensor " << t;
    const double lo_mm = -(mm.tensors[t].zero_point + 128) * double{mm.tensors[t].scale};
    const double lo_pc = -(pc.tensors[t].zero_point + 128) * double{pc.tensors[t].scale};
    EXPECT_GE(lo_pc, lo_mm - mm.tensors[t].scale) << "tensor " << t;
    narrower += pc.tensors[t].scale < mm.tensors[t].scale * 0.999;
  }
  EXPECT_GT(narrower, static_cast<int>(mm.tensors.size()) / 2);
  // 100 % keeps every value, which is the min/max range (up to the bin edge).
  opt.percentile = 100.0;
  const QuantizedModel all = quantize(fm, calib, opt);
  for (size_t t = 0; t < mm.tensors.size(); ++t)
    EXPECT_NEAR(all.tensors[t].scale, mm.tensors[t].scale, mm.tensors[t].scale * 1e-6);
  // And it still runs, close to the float network.
  const Agreement a = measure(fm, pc, random_images(arch, 16, 52));
  EXPECT_GT(a.min_cosine, 0.9);
}

// A fixed input quantisation (the data sets' pixel convention) replaces the
// calibrated one, and the first op's requantisation follows it.
TEST(Quantize, FixedInputQuantisation) {
  const ArchSpec arch = test_nets::tiny_arch();
  const FloatModel fm = random_float_model(arch, 8);
  const auto calib = random_images(arch, 3, 61);
  QuantizeOptions opt;
  opt.input = kPixelInputQuant;
  const QuantizedModel q = quantize(fm, calib, opt);
  const TensorQuant& in = q.tensors[static_cast<size_t>(q.graph.input)];
  EXPECT_EQ(in.scale, 1.0f / 127.5f);
  EXPECT_EQ(in.zero_point, 0);
  EXPECT_EQ(q.ops[0].input_offset, 0);
  // Pixel v maps to q = v - 128 exactly.
  std::vector<float> image(calib[0].size());
  for (size_t i = 0; i < image.size(); ++i) image[i] = (static_cast<float>(i % 256) - 128.0f) / 127.5f;
  const std::vector<int8_t> qin = quantize_input(q, image);
  for (size_t i = 0; i < image.size(); ++i) ASSERT_EQ(qin[i], static_cast<int>(i % 256) - 128) << i;
  // The int8 network still tracks the float one.
  EXPECT_GT(measure(fm, q, random_images(arch, 8, 62)).min_cosine, 0.9);
  opt.input = TensorQuant{0.0f, 0};
  EXPECT_NE(test_nets::error_of([&] { quantize(fm, calib, opt); }).find("fixed input quantisation"), std::string::npos);
}

TEST(Quantize, EmptyCalibrationSetThrows) {
  const ArchSpec arch = test_nets::tiny_arch();
  const FloatModel fm = random_float_model(arch, 1);
  const std::string msg = test_nets::error_of([&] { quantize(fm, {}); });
  EXPECT_NE(msg.find("calibration set is empty"), std::string::npos) << msg;
  // A wrongly sized image is bad input too.
  EXPECT_NE(test_nets::error_of([&] { quantize(fm, {std::vector<float>(5)}); }), "");
}

}  // namespace
}  // namespace tinynas::deploy
