// Helpers for the runtime kernel tests: a seeded generator, random
// requantisation parameters that own their arrays, and byte comparison that
// names the first mismatch.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "tn_runtime.h"

namespace tn_test {

// splitmix64: the same stream on every platform and standard library, so a
// failing case can be reproduced from its seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi] (inclusive); the modulo bias is irrelevant here.
  int64_t uniform(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  int32_t i32() { return static_cast<int32_t>(static_cast<uint32_t>(next())); }
  std::vector<int8_t> bytes(size_t n) {
    std::vector<int8_t> v(n);
    for (auto& x : v) x = static_cast<int8_t>(uniform(-128, 127));
    return v;
  }

 private:
  uint64_t state_;
};

// Requantisation parameters with their per-channel arrays.
struct Quant {
  std::vector<int32_t> bias, multiplier, shift;
  tn_requant q{};

  // Random offsets, biases, multipliers in [2^30, 2^31) and shifts in [-12, 2].
  // `depth`: MACs per output, to centre the shifts so that many outputs land
  // inside int8 rather than all saturating. relu6: a narrow clamp above the
  // output zero point instead of the full int8 range.
  Quant(Rng& rng, int32_t channels, int64_t depth, bool relu6) {
    bias.resize(channels);
    multiplier.resize(channels);
    shift.resize(channels);
    // |acc| ~ sqrt(depth) * 128 * 74; aim at |y| ~ 64.
    int32_t centre = 0;
    for (int64_t mag = depth * 128 * 128 * 74 * 74; mag > 64 * 64; mag /= 4) --centre;
    for (int32_t c = 0; c < channels; ++c) {
      bias[c] = static_cast<int32_t>(rng.uniform(-(1 << 16), 1 << 16));
      multiplier[c] = static_cast<int32_t>(rng.uniform(int64_t{1} << 30, (int64_t{1} << 31) - 1));
      // Mostly around the centre, sometimes anywhere in the range.
      const int64_t s = rng.uniform(0, 3) == 0 ? rng.uniform(-12, 2) : centre + rng.uniform(-2, 2);
      shift[c] = static_cast<int32_t>(s < -12 ? -12 : s > 2 ? 2 : s);
    }
    q.input_offset = static_cast<int32_t>(rng.uniform(-127, 128));
    q.output_offset = static_cast<int32_t>(rng.uniform(-128, 127));
    if (relu6) {
      q.act_min = q.output_offset;
      q.act_max = static_cast<int32_t>(std::min<int64_t>(127, q.act_min + rng.uniform(10, 120)));
    } else {
      q.act_min = -128;
      q.act_max = 127;
    }
    q.bias = bias.data();
    q.multiplier = multiplier.data();
    q.shift = shift.data();
  }
  Quant(const Quant&) = delete;
  Quant& operator=(const Quant&) = delete;
};

// Passes when got[0..n) == want[0..n); otherwise names the case, the first
// differing index and both values.
inline ::testing::AssertionResult same_bytes(const std::string& what, const int8_t* want,
                                             const int8_t* got, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (want[i] != got[i]) {
      size_t count = 0;
      for (size_t j = i; j < n; ++j) count += want[j] != got[j];
      return ::testing::AssertionFailure()
             << what << ": first mismatch at index " << i << ": reference " << int{want[i]}
             << ", optimised " << int{got[i]} << " (" << count << " of " << n << " differ)";
    }
  }
  return ::testing::AssertionSuccess();
}

// Plain [out_c][depth] weights in the layout the optimised conv2d and
// pointwise take (tn_pair_weights); the reference kernels take them plain.
inline std::vector<int8_t> paired(const std::vector<int8_t>& plain, int32_t out_c) {
  std::vector<int8_t> out(plain.size());
  const auto depth = static_cast<int32_t>(plain.size() / static_cast<size_t>(out_c));
  tn_pair_weights(plain.data(), out_c, depth, out.data());
  return out;
}

// Plain [out_c][depth] conv2d weights as the optimised conv2d takes them
// (tn_conv2d_weights: rows padded to a multiple of 4, then paired).
inline std::vector<int8_t> conv_weights(const std::vector<int8_t>& plain, int32_t out_c) {
  const auto depth = static_cast<int32_t>(plain.size() / static_cast<size_t>(out_c));
  std::vector<int8_t> out(static_cast<size_t>(out_c * tn_conv2d_depth(depth)));
  tn_conv2d_weights(plain.data(), out_c, depth, out.data());
  return out;
}

inline std::string dims_str(const tn_dims& d) {
  std::ostringstream s;
  s << d.h << "x" << d.w << "x" << d.c;
  return s.str();
}

}  // namespace tn_test
