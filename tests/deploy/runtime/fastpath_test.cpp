// The fast requantisation (tn_rqf, tn_internal.h) and the kernels' fast paths.
//
// The optimised kernels switch, once per call, to a short requantisation
// (SMMLAR of the doubled accumulator, two shifts, SSAT/USAT) when every
// channel's parameters allow it (multiplier >= 0, shift in [-22, -1],
// |bias| < 2^28). kernels_test's random parameters include left shifts, so
// with many channels nearly every call takes the general path there; this
// file draws parameters the way calibrated layers have them, plus every
// boundary of the conditions, so the fast paths (and, on the emulated DSP
// build, the same algorithm the Arm asm runs) are what gets compared with the
// reference. The identity itself is checked first, directly, over the whole
// domain it claims, ties included.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "runtime_test_util.h"
#include "tn_runtime.h"

extern "C" {
#include "../../../deploy/runtime/src/tn_internal.h"
}

namespace {

using tn_test::Rng;
using tn_test::same_bytes;

int32_t clamp(int32_t v, int32_t lo, int32_t hi) { return std::min(std::max(v, lo), hi); }

// What the reference computes for one accumulator.
int8_t reference_out(int32_t acc, int32_t m, int32_t shift, int32_t out_off, int32_t lo, int32_t hi) {
  return static_cast<int8_t>(clamp(tn_multiply_by_quantized_multiplier(acc, m, shift) + out_off, lo, hi));
}

// ---------------------------------------------------------------- the identity

// tn_rqf_pre/out on the doubled accumulator equal the reference for every
// |acc| < 2^29, multiplier >= 0 and shift in [-22, -1], in both clamp modes:
// random accumulators at every shift, exact ties of the rounding divide (both
// signs), ties of the doubling high multiply (odd accumulators times 2^30),
// and the extremes of each range.
TEST(RuntimeFastRequant, MatchesReferenceOverItsDomain) {
  Rng rng(101);
  const int32_t kMultipliers[] = {0, 1, 2, 3, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, INT32_MAX - 1, INT32_MAX};
  const int32_t kAccMax = (1 << 29) - 1;
  int64_t checked = 0;
  for (int mode = 0; mode < 4; ++mode) {
    tn_requant q{};
    std::vector<int32_t> bias(1, 0), mult(1, 1 << 30), shift(1, -1);
    q.bias = bias.data();
    q.multiplier = mult.data();
    q.shift = shift.data();
    q.input_offset = 0;
    q.output_offset = mode == 0 ? 0 : mode == 1 ? -128 : mode == 2 ? 127 : 5;
    q.act_min = mode < 3 ? -128 : -3;
    q.act_max = mode < 3 ? 127 : 40;
    tn_rqf f{};
    ASSERT_EQ(tn_rqf_init(&f, &q, 1, 0), 1);
    for (int32_t s = -22; s <= -1; ++s) {
      const int32_t r = -s, rm = ~s, c = tn_rqf_c(f.k2, rm);
      auto check = [&](int32_t acc, int32_t m) {
        const int8_t want = reference_out(acc, m, s, q.output_offset, q.act_min, q.act_max);
        const int8_t got = tn_rqf_out(&f, tn_rqf_pre(2 * acc, m, c, rm), f.full);
        ++checked;
        return want == got;
      };
      for (int i = 0; i < 20000; ++i) {
        const int32_t m = i % 8 == 0 ? kMultipliers[rng.uniform(0, 8)]
                                     : static_cast<int32_t>(rng.uniform(0, INT32_MAX));
        // Mostly accumulators whose result lands near the int8 range.
        const int64_t span = std::min<int64_t>(kAccMax, int64_t{300} << r);
        const int32_t acc = static_cast<int32_t>(i % 3 == 0 ? rng.uniform(-kAccMax, kAccMax)
                                                            : rng.uniform(-span, span));
        ASSERT_TRUE(check(acc, m)) << "acc " << acc << " m " << m << " shift " << s << " mode " << mode;
      }
      // Ties of the rounding divide: with m = 2^30 the high multiply halves
      // acc, so acc = (2j + 1) * 2^r gives x = (2j + 1) * 2^(r-1).
      for (int64_t j = -300; j <= 300; ++j) {
        const int64_t acc = (2 * j + 1) * (int64_t{1} << r);
        if (acc < -kAccMax || acc > kAccMax) continue;
        ASSERT_TRUE(check(static_cast<int32_t>(acc), 1 << 30)) << "tie acc " << acc << " shift " << s;
        ASSERT_TRUE(check(static_cast<int32_t>(acc) + 1, 1 << 30));
        ASSERT_TRUE(check(static_cast<int32_t>(acc) - 1, 1 << 30));
      }
      // Ties of the doubling high multiply: odd acc times 2^30, and the ends.
      for (int32_t acc : {-kAccMax, -kAccMax + 1, -3, -1, 0, 1, 3, kAccMax - 1, kAccMax}) {
        for (int32_t m : kMultipliers) ASSERT_TRUE(check(acc, m)) << acc << " " << m << " " << s;
      }
    }
  }
  EXPECT_GT(checked, 1000000);
}

TEST(RuntimeFastRequant, InitAcceptsExactlyItsDomain) {
  std::vector<int32_t> bias(1, 0), mult(1, 1 << 30), shift(1, -5);
  tn_requant q{};
  q.bias = bias.data();
  q.multiplier = mult.data();
  q.shift = shift.data();
  q.act_min = -128;
  q.act_max = 127;
  tn_rqf f{};
  auto ok = [&] { return tn_rqf_init(&f, &q, 1, 1000); };
  EXPECT_TRUE(ok());
  for (int32_t s : {-22, -1}) {
    shift[0] = s;
    EXPECT_TRUE(ok()) << s;
  }
  for (int32_t s : {-23, 0, 1, -31, 30}) {
    shift[0] = s;
    EXPECT_FALSE(ok()) << s;
  }
  shift[0] = -5;
  for (int32_t b : {(1 << 28) - 1, -(1 << 28) + 1}) {
    bias[0] = b;
    EXPECT_TRUE(ok()) << b;
  }
  for (int32_t b : {1 << 28, -(1 << 28), INT32_MAX, INT32_MIN}) {
    bias[0] = b;
    EXPECT_FALSE(ok()) << b;
  }
  bias[0] = 0;
  mult[0] = -1;
  EXPECT_FALSE(ok());
  mult[0] = INT32_MIN;
  EXPECT_FALSE(ok());
  mult[0] = 0;
  EXPECT_TRUE(ok());
  EXPECT_FALSE(tn_rqf_init(&f, &q, 1, int64_t{1} << 28));
  q.bias = nullptr;
  EXPECT_FALSE(ok());
  q.bias = bias.data();
  q.output_offset = 128;
  EXPECT_FALSE(ok());
}

// ---------------------------------------------------------------- kernels

// Parameters inside the fast path's domain, as calibrated layers have them,
// with every channel's extremes mixed in: shift -1 and -22, biases at
// +-(2^28 - 1), multipliers 0 and INT32_MAX.
struct FastQuant {
  std::vector<int32_t> bias, multiplier, shift;
  tn_requant q{};

  FastQuant(Rng& rng, int32_t channels, int64_t depth, bool relu6) {
    bias.resize(channels);
    multiplier.resize(channels);
    shift.resize(channels);
    int32_t centre = 0;
    for (int64_t mag = depth * 128 * 128 * 74 * 74; mag > 64 * 64; mag /= 4) --centre;
    for (int32_t c = 0; c < channels; ++c) {
      const int kind = static_cast<int>(rng.uniform(0, 15));
      bias[c] = static_cast<int32_t>(rng.uniform(-(1 << 16), 1 << 16));
      multiplier[c] = static_cast<int32_t>(rng.uniform(int64_t{1} << 30, (int64_t{1} << 31) - 1));
      shift[c] = clamp(centre + static_cast<int32_t>(rng.uniform(-2, 2)), -22, -1);
      if (kind == 0) bias[c] = (1 << 28) - 1;
      if (kind == 1) bias[c] = -(1 << 28) + 1;
      if (kind == 2) shift[c] = -1;
      if (kind == 3) shift[c] = -22;
      if (kind == 4) multiplier[c] = 0;
      if (kind == 5) multiplier[c] = INT32_MAX;
      if (kind == 6) multiplier[c] = 1 << 30;
    }
    q.input_offset = static_cast<int32_t>(rng.uniform(0, 3) == 0 ? 128 : rng.uniform(-127, 128));
    q.output_offset = static_cast<int32_t>(rng.uniform(0, 3) == 0 ? -128 : rng.uniform(-128, 127));
    if (relu6) {
      q.act_min = q.output_offset;
      q.act_max = static_cast<int32_t>(std::min<int64_t>(127, q.act_min + rng.uniform(0, 120)));
    } else {
      q.act_min = -128;
      q.act_max = 127;
    }
    q.bias = bias.data();
    q.multiplier = multiplier.data();
    q.shift = shift.data();
  }
};

int32_t conv_out(int32_t in, int32_t k, int32_t s, int32_t p) { return (in + 2 * p - k) / s + 1; }

void pointwise_fast_case(uint64_t seed, int32_t h, int32_t w, int32_t cin, int32_t cout, bool relu6) {
  Rng rng(seed);
  tn_pointwise_params p{};
  p.in = {h, w, cin};
  p.out = {h, w, cout};
  const std::vector<int8_t> weights = rng.bytes(static_cast<size_t>(cout) * cin);
  p.weights = weights.data();
  FastQuant quant(rng, cout, cin, relu6);
  p.q = quant.q;
  const std::vector<int8_t> input = rng.bytes(static_cast<size_t>(h) * w * cin);
  const size_t n = static_cast<size_t>(h) * w * cout;
  const std::string what = "pointwise (fast params) " + tn_test::dims_str(p.in) + " -> " +
                           tn_test::dims_str(p.out) + " seed " + std::to_string(seed);
  std::vector<int8_t> want(n), got(n + 16, 0x5A);
  ASSERT_EQ(tn_pointwise_ref_s8(&p, input.data(), want.data()), TN_OK) << what;
  std::vector<int16_t> scratch(static_cast<size_t>(tn_pointwise_s8_get_buffer_size(&p) / 2));
  const std::vector<int8_t> paired = tn_test::paired(weights, cout);
  p.weights = paired.data();
  ASSERT_EQ(tn_pointwise_s8(&p, input.data(), got.data(), scratch.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what, want.data(), got.data(), n));
  for (size_t i = n; i < got.size(); ++i) ASSERT_EQ(got[i], 0x5A) << what << ": wrote past the output";
}

TEST(RuntimeFastPath, PointwiseMatchesReference) {
  // Every depth % 4 and group count the GEMM variants distinguish (1, 2, 3,
  // 4 groups and longer runs; the 3-tail), odd and even channel and pixel
  // counts.
  Rng seeds(102);
  int cases = 0;
  for (int32_t cin : {1, 2, 3, 4, 5, 7, 8, 11, 12, 15, 16, 19, 24, 27, 31, 40, 48, 96, 163}) {
    for (int32_t cout : {1, 2, 3, 8, 17, 48}) {
      for (const auto& [h, w] : {std::pair{1, 1}, std::pair{1, 2}, std::pair{3, 3}, std::pair{2, 5}}) {
        pointwise_fast_case(seeds.next(), h, w, cin, cout, cases % 3 == 2);
        ++cases;
      }
    }
  }
  pointwise_fast_case(seeds.next(), 20, 20, 16, 96, false);
  pointwise_fast_case(seeds.next(), 5, 5, 160, 480, true);
}

void depthwise_fast_case(uint64_t seed, int32_t h, int32_t w, int32_t c, int32_t k, int32_t s, bool relu6) {
  Rng rng(seed);
  tn_depthwise_params p{};
  const int32_t pad = k / 2;
  p.in = {h, w, c};
  p.out = {conv_out(h, k, s, pad), conv_out(w, k, s, pad), c};
  p.kernel = k;
  p.stride = s;
  p.padding = pad;
  const std::vector<int8_t> weights = rng.bytes(static_cast<size_t>(c) * k * k);
  p.weights = weights.data();
  FastQuant quant(rng, c, int64_t{k} * k, relu6);
  p.q = quant.q;
  const std::vector<int8_t> input = rng.bytes(static_cast<size_t>(h) * w * c);
  const size_t n = static_cast<size_t>(p.out.h) * p.out.w * c;
  const std::string what = "depthwise (fast params) k" + std::to_string(k) + " s" + std::to_string(s) + " " +
                           tn_test::dims_str(p.in) + " seed " + std::to_string(seed);
  std::vector<int8_t> want(n);
  ASSERT_EQ(tn_depthwise_ref_s8(&p, input.data(), want.data()), TN_OK) << what;
  const size_t scratch_bytes = static_cast<size_t>(tn_depthwise_s8_get_buffer_size(&p));
  std::vector<int8_t> scratch(scratch_bytes + 16, 0x33), got(n);
  ASSERT_EQ(tn_depthwise_s8(&p, input.data(), got.data(), scratch.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what, want.data(), got.data(), n));
  for (size_t i = scratch_bytes; i < scratch.size(); ++i) ASSERT_EQ(scratch[i], 0x33) << what << ": scratch overrun";
  std::vector<int8_t> buffer = input;
  ASSERT_EQ(tn_depthwise_inplace_s8(&p, buffer.data(), scratch.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what + " in place", want.data(), buffer.data(), n));
}

TEST(RuntimeFastPath, DepthwiseMatchesReference) {
  Rng seeds(103);
  int cases = 0;
  for (int32_t k : {3, 5, 7}) {
    for (int32_t s : {1, 2}) {
      for (int32_t c : {1, 3, 8, 13}) {
        for (int32_t h : {1, 2, 3, 4, 5, 7, 10}) {
          for (int32_t w : {1, 2, 3, 5, 6, 9}) {
            depthwise_fast_case(seeds.next(), h, w, c, k, s, cases % 3 == 2);
            ++cases;
          }
        }
      }
    }
  }
  depthwise_fast_case(seeds.next(), 20, 20, 48, 3, 1, false);
  depthwise_fast_case(seeds.next(), 40, 40, 16, 3, 2, false);
  depthwise_fast_case(seeds.next(), 10, 10, 24, 7, 2, true);
}

void conv_fast_case(uint64_t seed, int32_t h, int32_t w, int32_t cin, int32_t cout, int32_t k, int32_t s,
                    bool relu6) {
  Rng rng(seed);
  tn_conv_params p{};
  const int32_t pad = k / 2;
  p.in = {h, w, cin};
  p.out = {conv_out(h, k, s, pad), conv_out(w, k, s, pad), cout};
  p.kernel = k;
  p.stride = s;
  p.padding = pad;
  const std::vector<int8_t> weights = rng.bytes(static_cast<size_t>(cout) * k * k * cin);
  p.weights = weights.data();
  FastQuant quant(rng, cout, int64_t{k} * k * cin, relu6);
  p.q = quant.q;
  const std::vector<int8_t> input = rng.bytes(static_cast<size_t>(h) * w * cin);
  const size_t n = static_cast<size_t>(p.out.h) * p.out.w * cout;
  const std::string what = "conv2d (fast params) k" + std::to_string(k) + " s" + std::to_string(s) + " " +
                           tn_test::dims_str(p.in) + " -> " + std::to_string(cout) + " seed " +
                           std::to_string(seed);
  std::vector<int8_t> want(n), got(n);
  ASSERT_EQ(tn_conv2d_ref_s8(&p, input.data(), want.data()), TN_OK) << what;
  std::vector<int16_t> scratch(static_cast<size_t>(tn_conv2d_s8_get_buffer_size(&p) / 2));
  const std::vector<int8_t> paired = tn_test::conv_weights(weights, cout);
  p.weights = paired.data();
  ASSERT_EQ(tn_conv2d_s8(&p, input.data(), got.data(), scratch.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what, want.data(), got.data(), n));
}

TEST(RuntimeFastPath, Conv2dMatchesReference) {
  Rng seeds(104);
  int cases = 0;
  for (int32_t k : {1, 3, 5}) {
    for (int32_t s : {1, 2}) {
      for (int32_t cin : {1, 3, 4, 5}) {
        for (int32_t cout : {1, 2, 5, 16}) {
          for (const auto& [h, w] : {std::pair{1, 1}, std::pair{2, 3}, std::pair{5, 5}, std::pair{9, 8}}) {
            conv_fast_case(seeds.next(), h, w, cin, cout, k, s, cases % 3 == 2);
            ++cases;
          }
        }
      }
    }
  }
  conv_fast_case(seeds.next(), 40, 40, 3, 16, 3, 2, false);
  conv_fast_case(seeds.next(), 17, 13, 3, 8, 3, 1, true);
  conv_fast_case(seeds.next(), 9, 9, 8, 8, 5, 1, false);  // depth 200: past the stack patch
  conv_fast_case(seeds.next(), 9, 7, 7, 6, 3, 2, true);   // depth 63: the largest patch
}

TEST(RuntimeFastPath, AddMatchesReference) {
  // Left shifts on both sides of the SIMD widening's bound (>= 10), every
  // input shift kind (0 with multiplier 2^30 as TFLite makes the larger
  // scale's, other shifts to -31), the output shift's range ends.
  Rng rng(105);
  int cases = 0;
  for (int32_t ls : {0, 5, 9, 10, 11, 19, 20, 21, 22}) {
    for (int rep = 0; rep < 24; ++rep, ++cases) {
      tn_add_params p{};
      p.size = static_cast<int32_t>(rng.uniform(0, 3) == 0 ? rng.uniform(0, 9) : rng.uniform(10, 700));
      p.input1_offset = static_cast<int32_t>(rng.uniform(-127, 128));
      p.input2_offset = static_cast<int32_t>(rng.uniform(-127, 128));
      p.output_offset = static_cast<int32_t>(rng.uniform(-128, 127));
      p.left_shift = ls;
      auto mult = [&] {
        const int kind = static_cast<int>(rng.uniform(0, 5));
        return kind == 0 ? (1 << 30) : kind == 1 ? INT32_MAX : kind == 2 ? 0
                                     : static_cast<int32_t>(rng.uniform(int64_t{1} << 30, INT32_MAX));
      };
      auto in_shift = [&] {
        const int kind = static_cast<int>(rng.uniform(0, 4));
        return kind == 0 ? 0 : kind == 1 ? -1 : kind == 2 ? -31 : static_cast<int32_t>(rng.uniform(-5, 0));
      };
      p.input1_multiplier = mult();
      p.input2_multiplier = mult();
      p.output_multiplier = mult();
      p.input1_shift = in_shift();
      p.input2_shift = in_shift();
      const int okind = static_cast<int>(rng.uniform(0, 3));
      p.output_shift = okind == 0 ? -1 : okind == 1 ? -22 : static_cast<int32_t>(rng.uniform(-22, -1));
      if (rep % 5 == 4) p.output_shift = static_cast<int32_t>(rng.uniform(-31, 2));  // general path
      const bool relu6 = rep % 3 == 2;
      p.act_min = relu6 ? std::max(-128, p.output_offset) : -128;
      p.act_max = relu6 ? static_cast<int32_t>(std::min<int64_t>(127, p.act_min + rng.uniform(0, 100))) : 127;
      const std::vector<int8_t> a = rng.bytes(p.size), b = rng.bytes(p.size);
      const std::string what = "add (fast params) case " + std::to_string(cases) + " ls " + std::to_string(ls);
      std::vector<int8_t> want(p.size), got(p.size);
      ASSERT_EQ(tn_add_ref_s8(&p, a.data(), b.data(), want.data()), TN_OK) << what;
      ASSERT_EQ(tn_add_s8(&p, a.data(), b.data(), got.data()), TN_OK) << what;
      EXPECT_TRUE(same_bytes(what, want.data(), got.data(), p.size));
      std::vector<int8_t> over = a;
      ASSERT_EQ(tn_add_s8(&p, over.data(), b.data(), over.data()), TN_OK) << what;
      EXPECT_TRUE(same_bytes(what + " in place", want.data(), over.data(), p.size));
    }
  }
}

}  // namespace
