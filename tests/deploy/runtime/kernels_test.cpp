// Optimised runtime kernels against the reference, bit for bit, over every
// choice of the MCUNet search space (kernel 3/5/7, stride 1/2, expand 3/4/6 of
// widths 8/16/24) and odd shapes, with random weights, inputs, offsets,
// multipliers and shifts. This executable links the runtime built with
// TN_EMULATE_DSP (the Arm SIMD path); runtime_portable_tests runs the same
// file against the portable path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "runtime_test_util.h"
#include "tn_runtime.h"

namespace {

using tn_test::dims_str;
using tn_test::Quant;
using tn_test::Rng;
using tn_test::same_bytes;

constexpr uint8_t kCanary = 0xA5;
constexpr size_t kCanaryBytes = 16;

// A buffer with canary bytes after its n usable bytes, to catch writes past
// the end (scratch and outputs are sized exactly as the planner would).
template <typename T>
struct Guarded {
  std::vector<uint8_t> bytes;
  size_t n;
  explicit Guarded(size_t count) : bytes(count * sizeof(T) + kCanaryBytes, kCanary), n(count) {}
  T* data() { return reinterpret_cast<T*>(bytes.data()); }
  bool intact() const {
    for (size_t i = n * sizeof(T); i < bytes.size(); ++i) {
      if (bytes[i] != kCanary) return false;
    }
    return true;
  }
};

// Output size of a window; 0 when the padded input is shorter than the kernel.
int32_t conv_out(int32_t in, int32_t k, int32_t s, int32_t p) {
  const int32_t span = in + 2 * p - k;
  return span < 0 ? 0 : span / s + 1;
}

// The sweeps' own figures, worked out apart from conv_out: with padding k/2
// and an odd k ("same" padding) a window fits at every stride-th position,
// ceil(in / s); in general, by walking the window over the padded input.
int64_t same_out(int32_t in, int32_t s) { return (in + s - 1) / s; }
int64_t window_positions(int32_t in, int32_t k, int32_t s, int32_t p) {
  int64_t n = 0;
  for (int32_t start = -p; start + k <= in + p; start += s) ++n;
  return n;
}

// What a sweep compared: outputs checked against the reference, and how many
// of those the reference left strictly inside (act_min, act_max), so that a
// sweep whose outputs mostly clamp (and so match trivially) fails. Quant's
// shifts leave 35-50% of each sweep's outputs inside; the sweeps ask for 25%.
struct Tally {
  int64_t compared = 0;
  int64_t inside = 0;
  void add(const std::vector<int8_t>& want, const tn_requant& q) {
    compared += static_cast<int64_t>(want.size());
    for (int8_t v : want) inside += v > q.act_min && v < q.act_max;
  }
};

std::string expected_path() {
#ifdef TN_TEST_EXPECT_PATH
  return TN_TEST_EXPECT_PATH;
#else
  return "dsp-emulated";
#endif
}

// Channel counts of the MCUNet space: widths 8/16/24 times expand 3/4/6 (the
// inverted-residual middle: 24..144), then odd counts.
std::vector<int32_t> space_channels() {
  std::vector<int32_t> c;
  for (int32_t w : {8, 16, 24}) {
    for (int32_t e : {3, 4, 6}) {
      if (std::find(c.begin(), c.end(), w * e) == c.end()) c.push_back(w * e);
    }
  }
  for (int32_t odd : {1, 3, 5, 7, 13}) c.push_back(odd);
  return c;
}

// Heights and widths: 1 and 2 (all padding), odd sizes that leave a single
// last column for the pair loops, 15 (several pairs per row).
constexpr int32_t kOddSizes[] = {1, 2, 3, 5, 7, 9, 15};

// ---------------------------------------------------------------- depthwise

void depthwise_case(uint64_t seed, int32_t h, int32_t w, int32_t c, int32_t k, int32_t s,
                    int32_t pad, bool relu6, Tally* tally = nullptr) {
  Rng rng(seed);
  tn_depthwise_params p{};
  p.in = {h, w, c};
  p.out = {conv_out(h, k, s, pad), conv_out(w, k, s, pad), c};
  p.kernel = k;
  p.stride = s;
  p.padding = pad;
  const std::string what = "depthwise k" + std::to_string(k) + " s" + std::to_string(s) + " p" +
                           std::to_string(pad) + " " + dims_str(p.in) + " -> " + dims_str(p.out) +
                           " seed " + std::to_string(seed);
  // An empty output has nothing to compare (EmptyOutputIsRefused covers it).
  ASSERT_TRUE(p.out.h > 0 && p.out.w > 0) << what << ": no output; choose a larger input";
  const std::vector<int8_t> weights = rng.bytes(static_cast<size_t>(c) * k * k);
  p.weights = weights.data();
  Quant quant(rng, c, int64_t{k} * k, relu6);
  p.q = quant.q;
  const std::vector<int8_t> input = rng.bytes(static_cast<size_t>(h) * w * c);
  const size_t n = static_cast<size_t>(p.out.h) * p.out.w * c;

  std::vector<int8_t> want(n);
  ASSERT_EQ(tn_depthwise_ref_s8(&p, input.data(), want.data()), TN_OK) << what;
  if (tally != nullptr) tally->add(want, p.q);

  Guarded<int8_t> scratch(static_cast<size_t>(tn_depthwise_s8_get_buffer_size(&p)));
  Guarded<int8_t> got(n);
  ASSERT_EQ(tn_depthwise_s8(&p, input.data(), got.data(), scratch.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what, want.data(), got.data(), n));
  EXPECT_TRUE(got.intact()) << what << ": wrote past the output";
  EXPECT_TRUE(scratch.intact()) << what << ": wrote past the scratch";
  // Again with a scratch of exactly the planned size, so that a sanitizer build
  // catches any read past it.
  std::vector<int8_t> exact(static_cast<size_t>(tn_depthwise_s8_get_buffer_size(&p)));
  ASSERT_EQ(tn_depthwise_s8(&p, input.data(), got.data(), exact.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what + " (exact scratch)", want.data(), got.data(), n));

  // In place: the reference ran on a copy; the output is the buffer's head.
  Guarded<int8_t> buffer(input.size());
  std::memcpy(buffer.data(), input.data(), input.size());
  if (int64_t{p.out.h} * p.out.w > int64_t{h} * w) {  // cannot run in place
    EXPECT_EQ(tn_depthwise_inplace_s8(&p, buffer.data(), scratch.data()), TN_ERROR_ARGUMENT)
        << what;
    return;
  }
  ASSERT_EQ(tn_depthwise_inplace_s8(&p, buffer.data(), scratch.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what + " in place", want.data(), buffer.data(), n));
  EXPECT_TRUE(buffer.intact()) << what << " in place: wrote past the buffer";
  EXPECT_TRUE(scratch.intact()) << what << " in place: wrote past the scratch";
}

TEST(RuntimeKernels, CompiledPath) { EXPECT_EQ(tn_kernel_path(), expected_path()); }

TEST(RuntimeDepthwise, SearchSpaceSweepMatchesReference) {
  Rng seeds(1);
  Tally tally;
  int64_t expected = 0;
  int cases = 0;
  for (int32_t k : {3, 5, 7}) {
    for (int32_t s : {1, 2}) {
      for (int32_t c : space_channels()) {
        for (int32_t h : kOddSizes) {
          for (int32_t w : kOddSizes) {
            depthwise_case(seeds.next(), h, w, c, k, s, k / 2, cases % 2 == 1, &tally);
            expected += same_out(h, s) * same_out(w, s) * c;
            ++cases;
          }
        }
      }
    }
  }
  EXPECT_EQ(tally.compared, expected);
  EXPECT_GT(tally.inside, tally.compared / 4);
}

TEST(RuntimeDepthwise, MCUNetLayerShapes) {
  // Feature maps as the networks have them (resolutions 96..176 after the
  // stem), at the channel counts of each stage.
  Rng seeds(2);
  depthwise_case(seeds.next(), 48, 48, 24, 3, 1, 1, true);
  depthwise_case(seeds.next(), 48, 48, 48, 7, 2, 3, true);
  depthwise_case(seeds.next(), 24, 24, 96, 5, 1, 2, true);
  depthwise_case(seeds.next(), 24, 24, 72, 3, 2, 1, false);
  depthwise_case(seeds.next(), 12, 12, 144, 7, 1, 3, true);
  depthwise_case(seeds.next(), 11, 11, 144, 5, 2, 2, false);
  depthwise_case(seeds.next(), 6, 6, 240, 3, 1, 1, true);
}

TEST(RuntimeDepthwise, GenericKernelsAndPadding) {
  // Outside the specialised k/stride set, and padding other than k/2. Where
  // the padding cannot cover the kernel (pad 0), the inputs grow by k - 1 so
  // that every case has an output to compare: 1x1 becomes exactly one window.
  Rng seeds(3);
  Tally tally;
  int64_t expected = 0;
  for (int32_t k : {1, 2, 3, 4, 5, 7, 9}) {
    for (int32_t s : {1, 2, 3}) {
      for (int32_t pad : {0, k / 2, k - 1}) {
        const int32_t grow = std::max(0, k - 1 - 2 * pad);
        for (auto [h, w] : {std::pair{1, 1}, std::pair{4, 6}, std::pair{9, 9}, std::pair{13, 5}}) {
          h += grow;
          w += grow;
          depthwise_case(seeds.next(), h, w, 5, k, s, pad, pad % 2 == 0, &tally);
          const int64_t outputs =
              window_positions(h, k, s, pad) * window_positions(w, k, s, pad) * 5;
          EXPECT_GT(outputs, 0) << "k" << k << " s" << s << " p" << pad << " " << h << "x" << w;
          expected += outputs;
        }
      }
    }
  }
  EXPECT_EQ(tally.compared, expected);
  EXPECT_GT(tally.inside, tally.compared / 4);
}

TEST(RuntimeKernels, EmptyOutputIsRefused) {
  // A padded input shorter than the kernel has no output: the checks refuse
  // both an empty output and the smallest non-empty one.
  Rng rng(14);
  Quant quant(rng, 5, 9, false);
  const std::vector<int8_t> weights(5 * 9 * 5, 1), in(5, 1);
  std::vector<int8_t> out(64), scratch8(4096);
  std::vector<int16_t> scratch16(4096);
  for (const tn_dims out_dims : {tn_dims{1, 1, 5}, tn_dims{0, 0, 5}, tn_dims{1, 0, 5}}) {
    const std::string what = "1x1x5, k3 p0 -> " + dims_str(out_dims);
    tn_depthwise_params dw{};
    dw.in = {1, 1, 5};
    dw.out = out_dims;
    dw.kernel = 3;
    dw.stride = 1;
    dw.padding = 0;
    dw.weights = weights.data();
    dw.q = quant.q;
    EXPECT_EQ(tn_depthwise_check(&dw, 0), TN_ERROR_ARGUMENT) << what;
    EXPECT_EQ(tn_depthwise_ref_s8(&dw, in.data(), out.data()), TN_ERROR_ARGUMENT) << what;
    EXPECT_EQ(tn_depthwise_s8(&dw, in.data(), out.data(), scratch8.data()), TN_ERROR_ARGUMENT)
        << what;
    std::vector<int8_t> buffer = in;
    EXPECT_EQ(tn_depthwise_inplace_s8(&dw, buffer.data(), scratch8.data()), TN_ERROR_ARGUMENT)
        << what;

    tn_conv_params cv{};
    cv.in = {1, 1, 5};
    cv.out = out_dims;
    cv.kernel = 3;
    cv.stride = 1;
    cv.padding = 0;
    cv.weights = weights.data();
    cv.q = quant.q;
    EXPECT_EQ(tn_conv2d_ref_s8(&cv, in.data(), out.data()), TN_ERROR_ARGUMENT) << what;
    EXPECT_EQ(tn_conv2d_s8(&cv, in.data(), out.data(), scratch16.data()), TN_ERROR_ARGUMENT)
        << what;
  }
}

// ---------------------------------------------------------------- pointwise

void pointwise_case(uint64_t seed, int32_t h, int32_t w, int32_t cin, int32_t cout, bool relu6,
                    Tally* tally = nullptr) {
  Rng rng(seed);
  tn_pointwise_params p{};
  p.in = {h, w, cin};
  p.out = {h, w, cout};
  const std::vector<int8_t> weights = rng.bytes(static_cast<size_t>(cout) * cin);
  p.weights = weights.data();
  Quant quant(rng, cout, cin, relu6);
  p.q = quant.q;
  const std::vector<int8_t> input = rng.bytes(static_cast<size_t>(h) * w * cin);
  const size_t n = static_cast<size_t>(h) * w * cout;
  const std::string what = "pointwise " + dims_str(p.in) + " -> " + dims_str(p.out) + " seed " +
                           std::to_string(seed);

  std::vector<int8_t> want(n);
  ASSERT_EQ(tn_pointwise_ref_s8(&p, input.data(), want.data()), TN_OK) << what;
  if (tally != nullptr) tally->add(want, p.q);
  const int32_t scratch_bytes = tn_pointwise_s8_get_buffer_size(&p);
  ASSERT_EQ(scratch_bytes % 2, 0);
  Guarded<int16_t> scratch(static_cast<size_t>(scratch_bytes / 2));
  Guarded<int8_t> got(n);
  const std::vector<int8_t> paired = tn_test::paired(weights, cout);
  p.weights = paired.data();
  ASSERT_EQ(tn_pointwise_s8(&p, input.data(), got.data(), scratch.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what, want.data(), got.data(), n));
  EXPECT_TRUE(got.intact()) << what << ": wrote past the output";
  EXPECT_TRUE(scratch.intact()) << what << ": wrote past the scratch";
  std::vector<int16_t> exact(static_cast<size_t>(scratch_bytes / 2));
  ASSERT_EQ(tn_pointwise_s8(&p, input.data(), got.data(), exact.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what + " (exact scratch)", want.data(), got.data(), n));
}

TEST(RuntimePointwise, SearchSpaceSweepMatchesReference) {
  // Expand (w -> w*e) and project (w*e -> w') convolutions of the space, then
  // odd channel counts on both sides.
  std::vector<std::pair<int32_t, int32_t>> channels;
  for (int32_t w : {8, 16, 24}) {
    for (int32_t e : {3, 4, 6}) {
      channels.push_back({w, w * e});
      for (int32_t w2 : {8, 16, 24}) channels.push_back({w * e, w2});
    }
  }
  for (int32_t cin : {1, 3, 5, 7, 13}) {
    for (int32_t cout : {1, 3, 5, 7, 13}) channels.push_back({cin, cout});
  }
  const std::vector<std::pair<int32_t, int32_t>> sizes = {{1, 1}, {1, 2}, {3, 3}, {5, 7}, {9, 9},
                                                          {15, 15}};
  Rng seeds(4);
  Tally tally;
  int64_t expected = 0;
  int cases = 0;
  for (const auto& [cin, cout] : channels) {
    for (const auto& [h, w] : sizes) {
      pointwise_case(seeds.next(), h, w, cin, cout, cases % 2 == 1, &tally);
      expected += int64_t{h} * w * cout;
      ++cases;
    }
  }
  EXPECT_EQ(tally.compared, expected);
  EXPECT_GT(tally.inside, tally.compared / 4);
}

TEST(RuntimePointwise, MCUNetLayerShapes) {
  Rng seeds(5);
  pointwise_case(seeds.next(), 24, 24, 16, 96, true);   // expand
  pointwise_case(seeds.next(), 24, 24, 96, 24, false);  // project
  pointwise_case(seeds.next(), 6, 6, 160, 960, true);   // late stage
  pointwise_case(seeds.next(), 7, 5, 320, 1, false);
}

// ---------------------------------------------------------------- conv2d

void conv_case(uint64_t seed, int32_t h, int32_t w, int32_t cin, int32_t cout, int32_t k, int32_t s,
               int32_t pad, bool relu6, Tally* tally = nullptr) {
  Rng rng(seed);
  tn_conv_params p{};
  p.in = {h, w, cin};
  p.out = {conv_out(h, k, s, pad), conv_out(w, k, s, pad), cout};
  p.kernel = k;
  p.stride = s;
  p.padding = pad;
  const std::string what = "conv2d k" + std::to_string(k) + " s" + std::to_string(s) + " p" +
                           std::to_string(pad) + " " + dims_str(p.in) + " -> " + dims_str(p.out) +
                           " seed " + std::to_string(seed);
  ASSERT_TRUE(p.out.h > 0 && p.out.w > 0) << what << ": no output; choose a larger input";
  const std::vector<int8_t> weights = rng.bytes(static_cast<size_t>(cout) * k * k * cin);
  p.weights = weights.data();
  Quant quant(rng, cout, int64_t{k} * k * cin, relu6);
  p.q = quant.q;
  const std::vector<int8_t> input = rng.bytes(static_cast<size_t>(h) * w * cin);
  const size_t n = static_cast<size_t>(p.out.h) * p.out.w * cout;

  std::vector<int8_t> want(n);
  ASSERT_EQ(tn_conv2d_ref_s8(&p, input.data(), want.data()), TN_OK) << what;
  if (tally != nullptr) tally->add(want, p.q);
  const int32_t scratch_bytes = tn_conv2d_s8_get_buffer_size(&p);
  ASSERT_EQ(scratch_bytes % 2, 0);
  Guarded<int16_t> scratch(static_cast<size_t>(scratch_bytes / 2));
  Guarded<int8_t> got(n);
  const std::vector<int8_t> paired = tn_test::conv_weights(weights, cout);
  p.weights = paired.data();
  ASSERT_EQ(tn_conv2d_s8(&p, input.data(), got.data(), scratch.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what, want.data(), got.data(), n));
  EXPECT_TRUE(got.intact()) << what << ": wrote past the output";
  EXPECT_TRUE(scratch.intact()) << what << ": wrote past the scratch";
  std::vector<int16_t> exact(static_cast<size_t>(scratch_bytes / 2));
  ASSERT_EQ(tn_conv2d_s8(&p, input.data(), got.data(), exact.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what + " (exact scratch)", want.data(), got.data(), n));
}

TEST(RuntimeConv2d, SweepMatchesReference) {
  const std::vector<std::pair<int32_t, int32_t>> sizes = {{1, 1}, {2, 3}, {5, 5}, {9, 7}};
  Rng seeds(6);
  Tally tally;
  int64_t expected = 0;
  int cases = 0;
  for (int32_t k : {1, 3, 5, 7}) {
    for (int32_t s : {1, 2}) {
      for (int32_t cin : {1, 3, 4, 5, 8}) {
        for (int32_t cout : {1, 3, 8, 16, 17}) {
          for (const auto& [h, w] : sizes) {
            conv_case(seeds.next(), h, w, cin, cout, k, s, k / 2, cases % 2 == 1, &tally);
            expected += same_out(h, s) * same_out(w, s) * cout;
            ++cases;
          }
        }
      }
    }
  }
  EXPECT_EQ(tally.compared, expected);
  EXPECT_GT(tally.inside, tally.compared / 4);
}

TEST(RuntimeConv2d, FirstLayerShapes) {
  Rng seeds(7);
  conv_case(seeds.next(), 64, 64, 3, 16, 3, 2, 1, true);  // MCUNet stem at a small resolution
  conv_case(seeds.next(), 33, 31, 3, 8, 3, 2, 1, true);   // odd resolution, odd pixel count
  conv_case(seeds.next(), 16, 16, 3, 24, 3, 1, 1, false);
  conv_case(seeds.next(), 9, 9, 3, 5, 3, 2, 0, false);    // no padding
}

// ---------------------------------------------------------------- fully connected

void fc_case(uint64_t seed, int32_t in_c, int32_t out_c, bool relu6) {
  Rng rng(seed);
  tn_fc_params p{};
  p.in_c = in_c;
  p.out_c = out_c;
  const std::vector<int8_t> weights = rng.bytes(static_cast<size_t>(out_c) * in_c);
  p.weights = weights.data();
  Quant quant(rng, out_c, in_c, relu6);
  p.q = quant.q;
  const std::vector<int8_t> input = rng.bytes(static_cast<size_t>(in_c));
  const std::string what = "fully connected " + std::to_string(in_c) + " -> " +
                           std::to_string(out_c) + " seed " + std::to_string(seed);
  std::vector<int8_t> want(out_c);
  Guarded<int8_t> got(out_c);
  ASSERT_EQ(tn_fully_connected_ref_s8(&p, input.data(), want.data()), TN_OK) << what;
  ASSERT_EQ(tn_fully_connected_s8(&p, input.data(), got.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what, want.data(), got.data(), out_c));
  EXPECT_TRUE(got.intact()) << what << ": wrote past the output";
}

TEST(RuntimeFullyConnected, SweepMatchesReference) {
  Rng seeds(8);
  int cases = 0;
  for (int32_t in_c : {1, 2, 3, 4, 5, 7, 8, 13, 16, 64, 160, 320, 1280}) {
    for (int32_t out_c : {1, 2, 3, 10, 17}) {
      fc_case(seeds.next(), in_c, out_c, cases % 2 == 1);
      ++cases;
    }
  }
}

// Every requantisation corner: an FC with one input and zero weights makes
// acc = bias, so full-range int32 accumulators, any multiplier (INT32_MIN
// included, for the saturating product) and every shift in [-31, 30] reach
// the inlined requantisation of the optimised kernels.
TEST(RuntimeFullyConnected, RequantisationCornersMatchReference) {
  Rng rng(9);
  // Both sides of the short path's |acc| < 2^30 guard, and the extremes.
  const int32_t kSpecial[] = {INT32_MIN,      INT32_MIN + 1,  -(1 << 30) - 1, -(1 << 30),
                              -(1 << 30) + 1, -3,             -2,             -1,
                              0,              1,              2,              3,
                              (1 << 30) - 1,  1 << 30,        (1 << 30) + 1,  INT32_MAX - 1,
                              INT32_MAX};
  constexpr int64_t kLast = sizeof(kSpecial) / sizeof(kSpecial[0]) - 1;
  const int32_t n = 20000;
  std::vector<int32_t> bias(n), multiplier(n), shift(n);
  for (int32_t i = 0; i < n; ++i) {
    const int kinds = static_cast<int>(rng.uniform(0, 3));
    bias[i] = kinds == 0 ? kSpecial[rng.uniform(0, kLast)] : rng.i32();
    multiplier[i] = rng.uniform(0, 7) == 0 ? kSpecial[rng.uniform(0, kLast)] : rng.i32();
    shift[i] = static_cast<int32_t>(rng.uniform(-31, 30));
  }
  // The saturating case itself: INT32_MIN * INT32_MIN with no shift.
  bias[0] = INT32_MIN;
  multiplier[0] = INT32_MIN;
  shift[0] = 0;
  // Exact ties for the rounding divide at every right shift up to 28, both
  // signs: the high multiply by 0.5 gives +-3 * 2^(e-1), i.e. +-1.5 after the
  // shift, which must round away from zero to +-2.
  for (int32_t e = 1; e <= 28; ++e) {
    bias[2 * e - 1] = 3 << e;
    bias[2 * e] = -(3 << e);
    multiplier[2 * e - 1] = multiplier[2 * e] = 1 << 30;
    shift[2 * e - 1] = shift[2 * e] = -e;
  }
  std::vector<int8_t> weights(n, 0);
  const int8_t input = 77;
  tn_fc_params p{};
  p.in_c = 1;
  p.out_c = n;
  p.weights = weights.data();
  p.q.input_offset = 5;
  p.q.output_offset = 0;  // the mean of a saturated INT32_MAX plus an offset would overflow
  p.q.act_min = -128;
  p.q.act_max = 127;
  p.q.bias = bias.data();
  p.q.multiplier = multiplier.data();
  p.q.shift = shift.data();
  std::vector<int8_t> want(n), got(n);
  ASSERT_EQ(tn_fully_connected_ref_s8(&p, &input, want.data()), TN_OK);
  ASSERT_EQ(tn_fully_connected_s8(&p, &input, got.data()), TN_OK);
  EXPECT_TRUE(same_bytes("requantisation corners", want.data(), got.data(), n));
  for (int32_t e = 1; e <= 28; ++e) {
    EXPECT_EQ(want[2 * e - 1], 2) << "tie at shift " << -e;
    EXPECT_EQ(want[2 * e], -2) << "tie at shift " << -e;
  }
  EXPECT_EQ(want[0], 127);  // INT32_MIN * INT32_MIN saturates to INT32_MAX, then clamps
}

// ---------------------------------------------------------------- add

tn_add_params random_add_params(Rng& rng, int32_t size, bool relu6) {
  tn_add_params p{};
  p.size = size;
  p.input1_offset = static_cast<int32_t>(rng.uniform(-127, 128));
  p.input2_offset = static_cast<int32_t>(rng.uniform(-127, 128));
  p.output_offset = static_cast<int32_t>(rng.uniform(-128, 127));
  p.left_shift = 20;  // TFLite's int8 ADD
  p.input1_multiplier = static_cast<int32_t>(rng.uniform(int64_t{1} << 30, (int64_t{1} << 31) - 1));
  p.input2_multiplier = static_cast<int32_t>(rng.uniform(int64_t{1} << 30, (int64_t{1} << 31) - 1));
  p.output_multiplier = static_cast<int32_t>(rng.uniform(int64_t{1} << 30, (int64_t{1} << 31) - 1));
  p.input1_shift = static_cast<int32_t>(rng.uniform(-3, 0));
  p.input2_shift = static_cast<int32_t>(rng.uniform(-3, 0));
  p.output_shift = static_cast<int32_t>(rng.uniform(-22, -17));
  p.act_min = relu6 ? std::max(-128, p.output_offset) : -128;
  p.act_max = relu6 ? std::min(127, p.act_min + 60) : 127;
  return p;
}

TEST(RuntimeAdd, SweepMatchesReference) {
  Rng rng(10);
  int cases = 0;
  for (int32_t size : {0, 1, 2, 3, 4, 5, 7, 8, 13, 64, 1000, 4099}) {
    for (int rep = 0; rep < 4; ++rep, ++cases) {
      const tn_add_params p = random_add_params(rng, size, cases % 2 == 1);
      const std::vector<int8_t> a = rng.bytes(size), b = rng.bytes(size);
      const std::string what = "add size " + std::to_string(size) + " case " + std::to_string(cases);
      std::vector<int8_t> want(size);
      Guarded<int8_t> got(size);
      ASSERT_EQ(tn_add_ref_s8(&p, a.data(), b.data(), want.data()), TN_OK) << what;
      ASSERT_EQ(tn_add_s8(&p, a.data(), b.data(), got.data()), TN_OK) << what;
      EXPECT_TRUE(same_bytes(what, want.data(), got.data(), size));
      EXPECT_TRUE(got.intact()) << what << ": wrote past the output";
      // The residual add writes over whichever operand dies at it.
      std::vector<int8_t> over1 = a, over2 = b;
      ASSERT_EQ(tn_add_s8(&p, over1.data(), b.data(), over1.data()), TN_OK) << what;
      EXPECT_TRUE(same_bytes(what + " output == input1", want.data(), over1.data(), size));
      ASSERT_EQ(tn_add_s8(&p, a.data(), over2.data(), over2.data()), TN_OK) << what;
      EXPECT_TRUE(same_bytes(what + " output == input2", want.data(), over2.data(), size));
    }
  }
}

// ---------------------------------------------------------------- avgpool

void avgpool_case(const std::string& what, const tn_avgpool_params& p,
                  const std::vector<int8_t>& input) {
  std::vector<int8_t> want(p.in.c);
  Guarded<int8_t> got(p.in.c);
  ASSERT_EQ(tn_avgpool_ref_s8(&p, input.data(), want.data()), TN_OK) << what;
  ASSERT_EQ(tn_avgpool_s8(&p, input.data(), got.data()), TN_OK) << what;
  EXPECT_TRUE(same_bytes(what, want.data(), got.data(), p.in.c));
  EXPECT_TRUE(got.intact()) << what << ": wrote past the output";
}

TEST(RuntimeAvgPool, SweepMatchesReference) {
  Rng rng(11);
  int cases = 0;
  // 16x16 = 256 and 17x17 = 289 pixels straddle the DSP path's flush point.
  for (const auto& [h, w] : {std::pair{1, 1}, std::pair{2, 3}, std::pair{3, 3}, std::pair{5, 7},
                             std::pair{7, 7}, std::pair{16, 16}, std::pair{17, 17},
                             std::pair{20, 30}}) {
    for (int32_t c : {1, 3, 4, 5, 7, 8, 13, 96, 160}) {
      tn_avgpool_params p{};
      p.in = {h, w, c};
      p.act_min = cases % 2 ? -20 : -128;
      p.act_max = cases % 2 ? 90 : 127;
      ++cases;
      avgpool_case("avgpool " + dims_str(p.in), p, rng.bytes(static_cast<size_t>(h) * w * c));
    }
  }
}

TEST(RuntimeAvgPool, ExtremeSumsMatchReference) {
  // All -128 or all 127 over more pixels than one int16 lane flush holds.
  for (const int8_t v : {int8_t{-128}, int8_t{127}, int8_t{-1}}) {
    for (const auto& [h, w] : {std::pair{16, 16}, std::pair{23, 23}, std::pair{1, 600}}) {
      tn_avgpool_params p{};
      p.in = {h, w, 8};
      p.act_min = -128;
      p.act_max = 127;
      avgpool_case("avgpool constant " + std::to_string(v) + " " + dims_str(p.in), p,
                   std::vector<int8_t>(static_cast<size_t>(h) * w * 8, v));
    }
  }
}

// ---------------------------------------------------------------- argument checks

TEST(RuntimeKernels, MissingScratchAndBadArguments) {
  Rng rng(12);
  Quant quant(rng, 8, 9, false);
  std::vector<int8_t> weights(8 * 9 * 8), in(9 * 9 * 8), out(9 * 9 * 8);
  std::vector<int16_t> scratch16(4096);
  std::vector<int8_t> scratch8(4096);

  tn_depthwise_params dw{};
  dw.in = {9, 9, 8};
  dw.out = {9, 9, 8};
  dw.kernel = 3;
  dw.stride = 1;
  dw.padding = 1;
  dw.weights = weights.data();
  dw.q = quant.q;
  EXPECT_EQ(tn_depthwise_s8(&dw, in.data(), out.data(), nullptr), TN_ERROR_SCRATCH);
  EXPECT_EQ(tn_depthwise_inplace_s8(&dw, in.data(), nullptr), TN_ERROR_SCRATCH);
  EXPECT_EQ(tn_depthwise_s8(&dw, in.data(), out.data(), scratch8.data()), TN_OK);
  tn_depthwise_params bad = dw;
  bad.out = {10, 9, 8};  // reads past the padded input
  EXPECT_EQ(tn_depthwise_check(&bad, 0), TN_ERROR_ARGUMENT);
  EXPECT_EQ(tn_depthwise_ref_s8(&bad, in.data(), out.data()), TN_ERROR_ARGUMENT);
  EXPECT_EQ(tn_depthwise_s8(&bad, in.data(), out.data(), scratch8.data()), TN_ERROR_ARGUMENT);
  bad = dw;
  bad.padding = 2;
  bad.out = {11, 11, 8};  // fine apart, larger than its input in place
  EXPECT_EQ(tn_depthwise_check(&bad, 0), TN_OK);
  EXPECT_EQ(tn_depthwise_inplace_s8(&bad, in.data(), scratch8.data()), TN_ERROR_ARGUMENT);
  bad = dw;
  bad.q.input_offset = 129;  // not an int8 zero point
  EXPECT_EQ(tn_depthwise_s8(&bad, in.data(), out.data(), scratch8.data()), TN_ERROR_ARGUMENT);
  bad = dw;
  bad.out.c = 7;
  EXPECT_EQ(tn_depthwise_check(&bad, 0), TN_ERROR_ARGUMENT);
  bad = dw;
  bad.q.act_min = 5;
  bad.q.act_max = 4;
  EXPECT_EQ(tn_depthwise_check(&bad, 0), TN_ERROR_ARGUMENT);

  tn_pointwise_params pw{};
  pw.in = {3, 3, 8};
  pw.out = {3, 3, 8};
  pw.weights = weights.data();
  pw.q = quant.q;
  EXPECT_EQ(tn_pointwise_s8(&pw, in.data(), out.data(), nullptr), TN_ERROR_SCRATCH);
  EXPECT_EQ(tn_pointwise_s8(&pw, in.data(), out.data(), scratch16.data()), TN_OK);
  pw.out.w = 4;
  EXPECT_EQ(tn_pointwise_s8(&pw, in.data(), out.data(), scratch16.data()), TN_ERROR_ARGUMENT);

  tn_conv_params cv{};
  cv.in = {9, 9, 1};
  cv.out = {5, 5, 8};
  cv.kernel = 3;
  cv.stride = 2;
  cv.padding = 1;
  cv.weights = weights.data();
  cv.q = quant.q;
  EXPECT_EQ(tn_conv2d_s8(&cv, in.data(), out.data(), nullptr), TN_ERROR_SCRATCH);
  EXPECT_EQ(tn_conv2d_s8(&cv, in.data(), out.data(), scratch16.data()), TN_OK);
  cv.stride = 0;
  EXPECT_EQ(tn_conv2d_s8(&cv, in.data(), out.data(), scratch16.data()), TN_ERROR_ARGUMENT);
  EXPECT_EQ(tn_conv2d_ref_s8(&cv, in.data(), out.data()), TN_ERROR_ARGUMENT);

  tn_fc_params fc{};
  fc.in_c = 8;
  fc.out_c = 8;
  fc.weights = weights.data();
  fc.q = quant.q;
  EXPECT_EQ(tn_fully_connected_s8(&fc, in.data(), out.data()), TN_OK);
  fc.q.multiplier = nullptr;
  EXPECT_EQ(tn_fully_connected_s8(&fc, in.data(), out.data()), TN_ERROR_ARGUMENT);
  EXPECT_EQ(tn_fully_connected_s8(nullptr, in.data(), out.data()), TN_ERROR_ARGUMENT);

  tn_add_params add = random_add_params(rng, 16, false);
  EXPECT_EQ(tn_add_s8(&add, in.data(), in.data(), out.data()), TN_OK);
  add.left_shift = 23;
  EXPECT_EQ(tn_add_s8(&add, in.data(), in.data(), out.data()), TN_ERROR_ARGUMENT);

  tn_avgpool_params ap{};
  ap.in = {3, 3, 8};
  ap.act_min = -128;
  ap.act_max = 127;
  EXPECT_EQ(tn_avgpool_s8(&ap, in.data(), out.data()), TN_OK);
  ap.in.c = 0;
  EXPECT_EQ(tn_avgpool_s8(&ap, in.data(), out.data()), TN_ERROR_ARGUMENT);
}

TEST(RuntimeKernels, NullBiasMeansZero) {
  Rng rng(13);
  Quant quant(rng, 6, 5, false);
  const std::vector<int32_t> zeros(6, 0);
  const std::vector<int8_t> weights = rng.bytes(6 * 5), input = rng.bytes(4 * 4 * 5);
  tn_pointwise_params p{};
  p.in = {4, 4, 5};
  p.out = {4, 4, 6};
  p.weights = weights.data();
  p.q = quant.q;
  p.q.bias = zeros.data();
  std::vector<int8_t> want(4 * 4 * 6), got(4 * 4 * 6), ref_null(4 * 4 * 6);
  std::vector<int16_t> scratch(tn_pointwise_s8_get_buffer_size(&p) / 2);
  ASSERT_EQ(tn_pointwise_ref_s8(&p, input.data(), want.data()), TN_OK);
  p.q.bias = nullptr;
  ASSERT_EQ(tn_pointwise_ref_s8(&p, input.data(), ref_null.data()), TN_OK);
  const std::vector<int8_t> paired = tn_test::paired(weights, 6);
  p.weights = paired.data();
  ASSERT_EQ(tn_pointwise_s8(&p, input.data(), got.data(), scratch.data()), TN_OK);
  EXPECT_TRUE(same_bytes("pointwise, NULL bias (reference)", want.data(), ref_null.data(), want.size()));
  EXPECT_TRUE(same_bytes("pointwise, NULL bias", want.data(), got.data(), want.size()));
}

}  // namespace
