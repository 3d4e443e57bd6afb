// The gemmlowp fixed-point helpers on hand-checked values: the rounding
// directions and the one saturating case are what make kernels bit-exact with
// TFLite, so each is pinned by an example worked out by hand.
#include <gtest/gtest.h>

#include <cstdint>

#include "tn_runtime.h"

namespace {

constexpr int32_t kHalf = 1 << 30;  // 0.5 in Q31

TEST(RuntimeFixedPoint, SaturatingRoundingDoublingHighMul) {
  // The only overflow: (-1) * (-1) in Q31 is +1, which saturates.
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
  // 0.5 * 0.5 = 0.25.
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(kHalf, kHalf), 1 << 29);
  // x * 0.5 for small x: halves round half up (toward +infinity) here, not
  // away from zero: 0.5 -> 1, -0.5 -> 0, 1.5 -> 2, -1.5 -> -1.
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(1, kHalf), 1);
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(-1, kHalf), 0);
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(3, kHalf), 2);
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(-3, kHalf), -1);
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(-5, kHalf), -2);
  // Just past a half rounds away from the truncation: -2.5 - 2^-31 -> -3.
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(-5, kHalf + 1), -3);
  // INT32_MIN * INT32_MAX: -(1 - 2^-31) * 2^31 = -2^31 + 1.
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MAX), INT32_MIN + 1);
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(INT32_MAX, INT32_MAX), INT32_MAX - 1);
  EXPECT_EQ(tn_saturating_rounding_doubling_high_mul(0, INT32_MIN), 0);
}

TEST(RuntimeFixedPoint, RoundingDivideByPowerOfTwo) {
  // Round half away from zero: 2.5 -> 3, -2.5 -> -3, -1.5 -> -2, -0.5 -> -1.
  EXPECT_EQ(tn_rounding_divide_by_pot(5, 1), 3);
  EXPECT_EQ(tn_rounding_divide_by_pot(-5, 1), -3);
  EXPECT_EQ(tn_rounding_divide_by_pot(-3, 1), -2);
  EXPECT_EQ(tn_rounding_divide_by_pot(-1, 1), -1);
  EXPECT_EQ(tn_rounding_divide_by_pot(1, 1), 1);
  EXPECT_EQ(tn_rounding_divide_by_pot(-4, 1), -2);
  // Below the half in magnitude rounds toward zero: -1.25 -> -1, 1.25 -> 1.
  EXPECT_EQ(tn_rounding_divide_by_pot(-5, 2), -1);
  EXPECT_EQ(tn_rounding_divide_by_pot(5, 2), 1);
  // -1.75 -> -2, 1.75 -> 2.
  EXPECT_EQ(tn_rounding_divide_by_pot(-7, 2), -2);
  EXPECT_EQ(tn_rounding_divide_by_pot(7, 2), 2);
  // Exponent 0 is the identity; 31 maps the whole range onto -1, 0, 1.
  EXPECT_EQ(tn_rounding_divide_by_pot(-12345, 0), -12345);
  EXPECT_EQ(tn_rounding_divide_by_pot(INT32_MIN, 31), -1);
  EXPECT_EQ(tn_rounding_divide_by_pot(INT32_MAX, 31), 1);
  EXPECT_EQ(tn_rounding_divide_by_pot(-(1 << 30), 31), -1);  // -0.5 -> -1
  EXPECT_EQ(tn_rounding_divide_by_pot(1 << 30, 31), 1);      // 0.5 -> 1
  EXPECT_EQ(tn_rounding_divide_by_pot(-(1 << 30) + 1, 31), 0);
  EXPECT_EQ(tn_rounding_divide_by_pot(-1, 31), 0);
}

TEST(RuntimeFixedPoint, MultiplyByQuantizedMultiplier) {
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(100, kHalf, 0), 50);
  // Left shift first: 3 << 2 = 12, times 0.5 = 6.
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(3, kHalf, 2), 6);
  // Two roundings, not one: 5 * 0.5 = 2.5 -> 3, then 3 / 2 = 1.5 -> 2, where a
  // single rounding of 5 * 0.25 = 1.25 would give 1.
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(5, kHalf, -1), 2);
  // -5 * 0.5 = -2.5 -> -2 (half up), then -2 / 2 = -1.
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(-5, kHalf, -1), -1);
  // -7 * 0.5 = -3.5 -> -3, then -3 / 2 = -1.5 -> -2 (away from zero).
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(-7, kHalf, -1), -2);
  // The left shift wraps like the unsigned shift it is; the product saturates.
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(1 << 30, INT32_MIN, 1), INT32_MAX);
  // A typical requantisation: 1000 * 0.75 / 16 = 46.875 -> 47.
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(1000, 3 << 29, -4), 47);
  EXPECT_EQ(tn_multiply_by_quantized_multiplier(-1000, 3 << 29, -4), -47);
}

}  // namespace
