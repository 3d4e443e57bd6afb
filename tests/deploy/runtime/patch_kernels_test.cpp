// The kernels' patch parameters (tn_runtime.h): a tile computed the way the
// generated code runs a patch -- a conv tile placed by out_y0/out_x0 over the
// whole image, a depthwise over its input window with padding only on the
// sides at the image's border, pointwise and add addressing a window of a
// larger map and writing into a tile of one through row strides -- must be
// exactly those pixels of the whole layer, for the reference kernels and the
// dispatching ones (the DSP path here, the portable one in
// runtime_portable_tests), and must write nothing outside the tile.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "runtime_test_util.h"
#include "tn_runtime.h"

namespace {

using tn_test::Quant;
using tn_test::Rng;
using tn_test::same_bytes;

int32_t full_out(int32_t in, int32_t k, int32_t s) { return (in + 2 * (k / 2) - k) / s + 1; }

// One dimension of a tile as the lowering computes it (core/lower.cpp): the
// input rows [lo, lo + len) that output rows [o0, o0 + n) read, and the zero
// padding beyond the map's border on each side.
struct Span {
  int32_t lo = 0, len = 0, pad_lo = 0, pad_hi = 0;
};

Span input_span(int32_t o0, int32_t n, int32_t k, int32_t s, int32_t in) {
  const int32_t p = k / 2;
  const int32_t first = o0 * s - p, last = (o0 + n - 1) * s - p + k - 1;
  Span sp;
  sp.lo = std::max(first, 0);
  const int32_t hi = std::min(last, in - 1);
  sp.len = hi - sp.lo + 1;
  sp.pad_lo = sp.lo - first;
  sp.pad_hi = last - hi;
  return sp;
}

// Rows [y0, y0 + h) and columns [x0, x0 + w) of an NHWC map of width `width`.
std::vector<int8_t> crop(const std::vector<int8_t>& map, int32_t width, int32_t c, int32_t y0,
                         int32_t x0, int32_t h, int32_t w) {
  std::vector<int8_t> out;
  for (int32_t y = 0; y < h; ++y) {
    const int8_t* row = map.data() + ((int64_t{y0 + y} * width) + x0) * c;
    out.insert(out.end(), row, row + int64_t{w} * c);
  }
  return out;
}

// Output tiles to try on an out x out map: the corners, an interior one, the
// whole map and a single pixel, with odd and even sizes.
std::vector<std::array<int32_t, 4>> tiles(int32_t out) {
  std::vector<std::array<int32_t, 4>> t = {{0, 0, out, out}, {0, 0, 1, 1}};
  const int32_t half = out / 2;
  if (half >= 1) {
    t.push_back({0, 0, half, half});
    t.push_back({half, half, out - half, out - half});
    t.push_back({0, half, half, out - half});
    t.push_back({half, 0, out - half, half});
  }
  if (out >= 5) t.push_back({1, 2, out - 3, out - 2});
  return t;
}

void depthwise_tiles(uint64_t seed, int32_t h, int32_t c, int32_t k, int32_t s, bool relu6) {
  Rng rng(seed);
  const std::vector<int8_t> weights = rng.bytes(static_cast<size_t>(c) * k * k);
  Quant quant(rng, c, int64_t{k} * k, relu6);
  const std::vector<int8_t> input = rng.bytes(static_cast<size_t>(h) * h * c);
  tn_depthwise_params whole{};
  const int32_t out = full_out(h, k, s);
  whole.in = {h, h, c};
  whole.out = {out, out, c};
  whole.kernel = k;
  whole.stride = s;
  whole.padding = k / 2;
  whole.weights = weights.data();
  whole.q = quant.q;
  std::vector<int8_t> want_all(static_cast<size_t>(out) * out * c);
  ASSERT_EQ(tn_depthwise_ref_s8(&whole, input.data(), want_all.data()), TN_OK);
  for (const auto& [ty, tx, th, tw] : tiles(out)) {
    const Span rows = input_span(ty, th, k, s, h), cols = input_span(tx, tw, k, s, h);
    tn_depthwise_params p = whole;
    p.in = {rows.len, cols.len, c};
    p.out = {th, tw, c};
    p.padding = 0;
    p.pad_top = rows.pad_lo;
    p.pad_bottom = rows.pad_hi;
    p.pad_left = cols.pad_lo;
    p.pad_right = cols.pad_hi;
    const std::string what = "depthwise k" + std::to_string(k) + " s" + std::to_string(s) + " " +
                             std::to_string(h) + "x" + std::to_string(h) + "x" + std::to_string(c) +
                             " tile " + std::to_string(ty) + "," + std::to_string(tx) + " " +
                             std::to_string(th) + "x" + std::to_string(tw);
    // The patch's input tensor holds exactly its window.
    std::vector<int8_t> window = crop(input, h, c, rows.lo, cols.lo, rows.len, cols.len);
    const std::vector<int8_t> want = crop(want_all, out, c, ty, tx, th, tw);
    std::vector<int8_t> got(want.size());
    ASSERT_EQ(tn_depthwise_ref_s8(&p, window.data(), got.data()), TN_OK) << what;
    EXPECT_TRUE(same_bytes(what + " (reference)", want.data(), got.data(), want.size()));
    const int32_t scratch_bytes = tn_depthwise_s8_get_buffer_size(&p);
    EXPECT_EQ(scratch_bytes, (rows.len + rows.pad_lo + rows.pad_hi) *
                                     (cols.len + cols.pad_lo + cols.pad_hi) + 2 * tw * 4)
        << what;
    // Exactly the planned size (plus the word the accumulator row's alignment
    // may take), so a sanitizer build catches any read past it.
    std::vector<int8_t> scratch(static_cast<size_t>(scratch_bytes) + 4);
    std::fill(got.begin(), got.end(), 0);
    ASSERT_EQ(tn_depthwise_s8(&p, window.data(), got.data(), scratch.data()), TN_OK) << what;
    EXPECT_TRUE(same_bytes(what, want.data(), got.data(), want.size()));
    if (int64_t{th} * tw <= int64_t{rows.len} * cols.len) {
      ASSERT_EQ(tn_depthwise_inplace_s8(&p, window.data(), scratch.data()), TN_OK) << what;
      EXPECT_TRUE(same_bytes(what + " in place", want.data(), window.data(), want.size()));
    }
  }
}

TEST(RuntimePatch, DepthwiseTilesEqualTheWholeLayer) {
  Rng seeds(21);
  int cases = 0;
  for (int32_t k : {3, 5, 7}) {
    for (int32_t s : {1, 2}) {
      for (int32_t h : {8, 9, 12}) {
        for (int32_t c : {5, 8}) depthwise_tiles(seeds.next(), h, c, k, s, ++cases % 2 == 0);
      }
    }
  }
}

TEST(RuntimePatch, DepthwisePerSidePaddingIsChecked) {
  Rng rng(22);
  const std::vector<int8_t> weights = rng.bytes(9 * 4);
  Quant quant(rng, 4, 9, false);
  tn_depthwise_params p{};
  p.in = {4, 4, 4};
  p.out = {4, 4, 4};
  p.kernel = 3;
  p.stride = 1;
  p.weights = weights.data();
  p.q = quant.q;
  // 4 rows, no padding: only 2 outputs fit a 3x3 kernel.
  EXPECT_EQ(tn_depthwise_check(&p, 0), TN_ERROR_ARGUMENT);
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
  EXPECT_EQ(tn_depthwise_check(&p, 0), TN_OK);
  p.pad_bottom = 0;
  EXPECT_EQ(tn_depthwise_check(&p, 0), TN_ERROR_ARGUMENT);
  p.pad_bottom = 1;
  p.pad_left = -1;
  EXPECT_EQ(tn_depthwise_check(&p, 0), TN_ERROR_ARGUMENT);
}

void conv_tiles(uint64_t seed, int32_t h, int32_t cin, int32_t cout, int32_t k, int32_t s) {
  Rng rng(seed);
  const std::vector<int8_t> weights = rng.bytes(static_cast<size_t>(cout) * k * k * cin);
  Quant quant(rng, cout, int64_t{k} * k * cin, true);
  const std::vector<int8_t> input = rng.bytes(static_cast<size_t>(h) * h * cin);
  tn_conv_params whole{};
  const int32_t out = full_out(h, k, s);
  whole.in = {h, h, cin};
  whole.out = {out, out, cout};
  whole.kernel = k;
  whole.stride = s;
  whole.padding = k / 2;
  whole.weights = weights.data();
  whole.q = quant.q;
  std::vector<int8_t> want_all(static_cast<size_t>(out) * out * cout);
  ASSERT_EQ(tn_conv2d_ref_s8(&whole, input.data(), want_all.data()), TN_OK);
  std::vector<int16_t> scratch(static_cast<size_t>(tn_conv2d_s8_get_buffer_size(&whole)) / 2);
  for (const auto& [ty, tx, th, tw] : tiles(out)) {
    tn_conv_params p = whole;
    p.out = {th, tw, cout};
    p.out_y0 = ty;
    p.out_x0 = tx;
    const std::string what = "conv2d k" + std::to_string(k) + " s" + std::to_string(s) + " " +
                             std::to_string(h) + "x" + std::to_string(h) + "x" +
                             std::to_string(cin) + " tile " + std::to_string(ty) + "," +
                             std::to_string(tx) + " " + std::to_string(th) + "x" +
                             std::to_string(tw);
    const std::vector<int8_t> want = crop(want_all, out, cout, ty, tx, th, tw);
    std::vector<int8_t> got(want.size());
    ASSERT_EQ(tn_conv2d_ref_s8(&p, input.data(), got.data()), TN_OK) << what;
    EXPECT_TRUE(same_bytes(what + " (reference)", want.data(), got.data(), want.size()));
    std::fill(got.begin(), got.end(), 0);
    const std::vector<int8_t> paired = tn_test::conv_weights(weights, cout);
    p.weights = paired.data();
    ASSERT_EQ(tn_conv2d_s8(&p, input.data(), got.data(), scratch.data()), TN_OK) << what;
    EXPECT_TRUE(same_bytes(what, want.data(), got.data(), want.size()));
  }
  // A tile reaching past the layer's output is refused.
  tn_conv_params p = whole;
  p.out = {2, 2, cout};
  p.out_y0 = out - 1;
  EXPECT_EQ(tn_conv2d_check(&p), TN_ERROR_ARGUMENT);
}

TEST(RuntimePatch, ConvTilesEqualTheWholeLayer) {
  Rng seeds(23);
  for (int32_t s : {1, 2}) {
    for (int32_t h : {9, 16}) {
      conv_tiles(seeds.next(), h, 3, 8, 3, s);  // the stem: the 3x3x3 asm rows
      conv_tiles(seeds.next(), h, 3, 6, 5, s);
      conv_tiles(seeds.next(), h, 2, 5, 3, s);
    }
  }
}

TEST(RuntimePatch, PointwiseWindowsAndTilesOfLargerMaps) {
  Rng rng(24);
  for (const auto& [cin, cout] : {std::pair{8, 16}, std::pair{5, 7}, std::pair{16, 8}}) {
    const int32_t big = 9;  // both maps are 9 x 9; the op works on a window of each
    const std::vector<int8_t> weights = rng.bytes(static_cast<size_t>(cout) * cin);
    Quant quant(rng, cout, cin, true);
    const std::vector<int8_t> input = rng.bytes(static_cast<size_t>(big) * big * cin);
    tn_pointwise_params whole{};
    whole.in = {big, big, cin};
    whole.out = {big, big, cout};
    whole.weights = weights.data();
    whole.q = quant.q;
    std::vector<int8_t> want_all(static_cast<size_t>(big) * big * cout);
    ASSERT_EQ(tn_pointwise_ref_s8(&whole, input.data(), want_all.data()), TN_OK);
    std::vector<int16_t> scratch(static_cast<size_t>(tn_pointwise_s8_get_buffer_size(&whole)) / 2);
    const std::vector<int8_t> paired = tn_test::paired(weights, cout);
    for (const auto& [ty, tx, th, tw] : tiles(big)) {
      tn_pointwise_params p = whole;
      p.in = {th, tw, cin};
      p.out = {th, tw, cout};
      p.in_row_stride = big * cin;
      p.out_row_stride = big * cout;
      const std::string what = "pointwise " + std::to_string(cin) + "->" + std::to_string(cout) +
                               " tile " + std::to_string(ty) + "," + std::to_string(tx) + " " +
                               std::to_string(th) + "x" + std::to_string(tw);
      for (int dispatch = 0; dispatch < 2; ++dispatch) {
        // Into a map of sentinels: the tile's pixels change, nothing else.
        std::vector<int8_t> got(want_all.size(), 0x5a), want(want_all.size(), 0x5a);
        for (int32_t y = ty; y < ty + th; ++y)
          for (int32_t x = tx; x < tx + tw; ++x)
            std::memcpy(&want[(static_cast<size_t>(y) * big + x) * cout],
                        &want_all[(static_cast<size_t>(y) * big + x) * cout], cout);
        const int8_t* in = input.data() + (static_cast<size_t>(ty) * big + tx) * cin;
        int8_t* o = got.data() + (static_cast<size_t>(ty) * big + tx) * cout;
        p.weights = dispatch ? paired.data() : weights.data();
        ASSERT_EQ(dispatch ? tn_pointwise_s8(&p, in, o, scratch.data()) : tn_pointwise_ref_s8(&p, in, o),
                  TN_OK)
            << what;
        EXPECT_TRUE(same_bytes(what + (dispatch ? "" : " (reference)"), want.data(), got.data(),
                               want.size()));
      }
    }
  }
}

TEST(RuntimePatch, AddRowsOfLargerMaps) {
  Rng rng(25);
  const int32_t c = 6, big = 7;
  tn_add_params whole{};
  whole.size = big * big * c;
  whole.input1_offset = 3;
  whole.input2_offset = -5;
  whole.output_offset = 2;
  whole.input1_multiplier = 1 << 30;
  whole.input1_shift = 0;
  whole.input2_multiplier = 1518500250;
  whole.input2_shift = -1;
  whole.output_multiplier = 1395864371;
  whole.output_shift = -19;
  whole.left_shift = 20;
  whole.act_min = -128;
  whole.act_max = 127;
  const std::vector<int8_t> a = rng.bytes(static_cast<size_t>(whole.size));
  const std::vector<int8_t> b = rng.bytes(static_cast<size_t>(whole.size));
  std::vector<int8_t> want_all(a.size());
  ASSERT_EQ(tn_add_ref_s8(&whole, a.data(), b.data(), want_all.data()), TN_OK);
  for (const auto& [ty, tx, th, tw] : tiles(big)) {
    tn_add_params p = whole;
    p.size = tw * c;
    p.rows = th;
    // Input 1 a contiguous tile, input 2 a window of the whole map, the output
    // a tile of another whole map.
    p.input1_row_stride = tw * c;
    p.input2_row_stride = big * c;
    p.output_row_stride = big * c;
    const std::vector<int8_t> a_tile = crop(a, big, c, ty, tx, th, tw);
    const std::string what = "add tile " + std::to_string(ty) + "," + std::to_string(tx) + " " +
                             std::to_string(th) + "x" + std::to_string(tw);
    for (int dispatch = 0; dispatch < 2; ++dispatch) {
      std::vector<int8_t> got(want_all.size(), 0x5a), want(want_all.size(), 0x5a);
      for (int32_t y = ty; y < ty + th; ++y)
        std::memcpy(&want[(static_cast<size_t>(y) * big + tx) * c],
                    &want_all[(static_cast<size_t>(y) * big + tx) * c], static_cast<size_t>(tw) * c);
      const size_t at = (static_cast<size_t>(ty) * big + tx) * c;
      ASSERT_EQ(dispatch ? tn_add_s8(&p, a_tile.data(), b.data() + at, got.data() + at)
                         : tn_add_ref_s8(&p, a_tile.data(), b.data() + at, got.data() + at),
                TN_OK)
          << what;
      EXPECT_TRUE(same_bytes(what + (dispatch ? "" : " (reference)"), want.data(), got.data(),
                             want.size()));
    }
    // In place over the contiguous operand, as the planner runs a patch's add.
    std::vector<int8_t> inplace = a_tile;
    tn_add_params q = p;
    q.output_row_stride = tw * c;
    ASSERT_EQ(tn_add_s8(&q, inplace.data(), b.data() + (static_cast<size_t>(ty) * big + tx) * c,
                        inplace.data()),
              TN_OK);
    const std::vector<int8_t> want_tile = crop(want_all, big, c, ty, tx, th, tw);
    EXPECT_TRUE(same_bytes(what + " in place", want_tile.data(), inplace.data(), want_tile.size()));
  }
  tn_add_params bad = whole;
  bad.rows = 2;
  bad.input1_row_stride = bad.size - 1;
  bad.input2_row_stride = bad.output_row_stride = bad.size;
  EXPECT_EQ(tn_add_check(&bad), TN_ERROR_ARGUMENT);
}

}  // namespace
