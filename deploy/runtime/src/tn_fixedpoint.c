/* gemmlowp fixed-point arithmetic as TFLite uses it for requantisation. */
#include "tn_internal.h"

int32_t tn_saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  /* The only overflow: INT32_MIN * INT32_MIN, whose doubled high half is 2^31. */
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = (int64_t)a * (int64_t)b;
  const int64_t nudge = ab >= 0 ? (int64_t)1 << 30 : 1 - ((int64_t)1 << 30);
  /* Division (not a shift) truncates toward zero, as gemmlowp specifies. */
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

int32_t tn_rounding_divide_by_pot(int32_t x, int32_t exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t tn_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left_shift = shift > 0 ? shift : 0;
  const int32_t right_shift = shift > 0 ? 0 : -shift;
  return tn_rounding_divide_by_pot(
      tn_saturating_rounding_doubling_high_mul((int32_t)((uint32_t)x << left_shift), multiplier),
      right_shift);
}

int tn_rqf_init(tn_rqf* f, const tn_requant* q, int32_t channels, int64_t max_abs_sum) {
  if (q->bias == 0 || max_abs_sum >= ((int64_t)1 << 28)) return 0;
  if (q->output_offset < -128 || q->output_offset > 127) return 0;
  const int32_t full = q->act_min == -128 && q->act_max == 127;
  const int32_t k = full ? q->output_offset : q->output_offset - q->act_min;
  f->k2 = 2 * k + 1;
  f->act_min = q->act_min;
  f->range = q->act_max - q->act_min;
  f->full = full;
  /* One pass, no early exit: branch-free checks OR-ed together. */
  uint32_t bad = 0;
  for (int32_t c = 0; c < channels; ++c) {
    bad |= (uint32_t)q->bias[c] + 0x0FFFFFFFu >= 0x1FFFFFFFu;  /* |bias| < 2^28 */
    bad |= (uint32_t)q->shift[c] + 22u >= 22u;                 /* shift in [-22, -1] */
    bad |= (uint32_t)q->multiplier[c] >> 31;                      /* m >= 0 */
  }
  return bad == 0;
}
