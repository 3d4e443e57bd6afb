/* Global average pool: per-channel sums over H*W pixels, then the rounded
 * mean. The DSP path sums four channels per word load into two packed int16
 * lane pairs (SXTB16 + SADD16), flushing them to int32 every 256 pixels, the
 * most int8 values a lane holds without wrapping (256 * -128 = -32768). */
#include "tn_internal.h"

TN_ALWAYS_INLINE int8_t tn_mean_s8(int32_t sum, int32_t count, const tn_avgpool_params* p) {
  const int32_t y = sum >= 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
  return tn_clamp_s8(y, p->act_min, p->act_max);
}

tn_status tn_avgpool_s8(const tn_avgpool_params* p, const int8_t* input, int8_t* output) {
  const tn_status s = tn_avgpool_check(p);
  if (s != TN_OK) return s;
  if (input == 0 || output == 0) return TN_ERROR_ARGUMENT;
  const int32_t count = p->in.h * p->in.w, c = p->in.c;
  int32_t ch = 0;
  for (; ch + 4 <= c; ch += 4) {
    int32_t sum0 = 0, sum1 = 0, sum2 = 0, sum3 = 0;
    const int8_t* x = input + ch;
#if defined(TN_USE_DSP)
    for (int32_t done = 0; done < count;) {
      const int32_t n = count - done < 256 ? count - done : 256;
      uint32_t even = 0, odd = 0;  /* (sum0, sum2), (sum1, sum3) */
      for (int32_t i = 0; i < n; ++i, x += c) {
        const uint32_t w = tn_read_u32(x);
        even = tn_sadd16(even, tn_sxtb16(w));
        odd = tn_sadd16(odd, tn_sxtb16_ror8(w));
      }
      sum0 += tn_lane_lo(even);
      sum2 += tn_lane_hi(even);
      sum1 += tn_lane_lo(odd);
      sum3 += tn_lane_hi(odd);
      done += n;
    }
#else
    for (int32_t i = 0; i < count; ++i, x += c) {
      sum0 += x[0];
      sum1 += x[1];
      sum2 += x[2];
      sum3 += x[3];
    }
#endif
    output[ch] = tn_mean_s8(sum0, count, p);
    output[ch + 1] = tn_mean_s8(sum1, count, p);
    output[ch + 2] = tn_mean_s8(sum2, count, p);
    output[ch + 3] = tn_mean_s8(sum3, count, p);
  }
  for (; ch < c; ++ch) {
    int32_t sum = 0;
    const int8_t* x = input + ch;
    for (int32_t i = 0; i < count; ++i, x += c) sum += x[0];
    output[ch] = tn_mean_s8(sum, count, p);
  }
  return TN_OK;
}
