/* Fully connected: one input vector against out_c weight rows. No scratch: the
 * input is widened on the fly, once per pair of output channels.
 * DSP inner loop per 4 inputs x 2 channels (8 MACs): 3 LDR, 2 SXTAB16 (widen
 * and add the offset), 4 SXTB16, 4 SMLAD. */
#include "tn_internal.h"

#if defined(TN_USE_DSP)

tn_status tn_fully_connected_s8(const tn_fc_params* p, const int8_t* input, int8_t* output) {
  const tn_status s = tn_fully_connected_check(p);
  if (s != TN_OK) return s;
  if (input == 0 || output == 0) return TN_ERROR_ARGUMENT;
  const int32_t n = p->in_c, groups = n >> 2, rest = n & 3, offset = p->q.input_offset;
  const uint32_t offset2 = tn_pack16(offset, offset);
  const int8_t* tail = input + groups * 4;
  int32_t oc = 0;
  for (; oc + 2 <= p->out_c; oc += 2) {
    const int8_t* w0 = p->weights + oc * n;
    const int8_t* w1 = w0 + n;
    const int8_t* x = input;
    int32_t acc0 = tn_bias(&p->q, oc), acc1 = tn_bias(&p->q, oc + 1);
    for (int32_t g = groups; g > 0; --g, x += 4, w0 += 4, w1 += 4) {
      const uint32_t xw = tn_read_u32(x);
      const uint32_t x_even = tn_sxtab16(offset2, xw), x_odd = tn_sxtab16_ror8(offset2, xw);
      uint32_t w = tn_read_u32(w0);
      acc0 = tn_smlad(tn_sxtb16(w), x_even, acc0);
      acc0 = tn_smlad(tn_sxtb16_ror8(w), x_odd, acc0);
      w = tn_read_u32(w1);
      acc1 = tn_smlad(tn_sxtb16(w), x_even, acc1);
      acc1 = tn_smlad(tn_sxtb16_ror8(w), x_odd, acc1);
    }
    for (int32_t r = 0; r < rest; ++r) {
      const int32_t v = tail[r] + offset;
      acc0 += v * w0[r];
      acc1 += v * w1[r];
    }
    output[oc] = tn_requant_s8(acc0, &p->q, oc);
    output[oc + 1] = tn_requant_s8(acc1, &p->q, oc + 1);
  }
  if (oc < p->out_c) {
    const int8_t* w0 = p->weights + oc * n;
    const int8_t* x = input;
    int32_t acc0 = tn_bias(&p->q, oc);
    for (int32_t g = groups; g > 0; --g, x += 4, w0 += 4) {
      const uint32_t xw = tn_read_u32(x), w = tn_read_u32(w0);
      acc0 = tn_smlad(tn_sxtb16(w), tn_sxtab16(offset2, xw), acc0);
      acc0 = tn_smlad(tn_sxtb16_ror8(w), tn_sxtab16_ror8(offset2, xw), acc0);
    }
    for (int32_t r = 0; r < rest; ++r) acc0 += (tail[r] + offset) * w0[r];
    output[oc] = tn_requant_s8(acc0, &p->q, oc);
  }
  return TN_OK;
}

#else /* portable */

/* Two channels per pass share each offset input value. */
tn_status tn_fully_connected_s8(const tn_fc_params* p, const int8_t* input, int8_t* output) {
  const tn_status s = tn_fully_connected_check(p);
  if (s != TN_OK) return s;
  if (input == 0 || output == 0) return TN_ERROR_ARGUMENT;
  const int32_t n = p->in_c, offset = p->q.input_offset;
  int32_t oc = 0;
  for (; oc + 2 <= p->out_c; oc += 2) {
    const int8_t* w0 = p->weights + oc * n;
    const int8_t* w1 = w0 + n;
    int32_t acc0 = tn_bias(&p->q, oc), acc1 = tn_bias(&p->q, oc + 1);
    for (int32_t i = 0; i < n; ++i) {
      const int32_t v = input[i] + offset;
      acc0 += v * w0[i];
      acc1 += v * w1[i];
    }
    output[oc] = tn_requant_s8(acc0, &p->q, oc);
    output[oc + 1] = tn_requant_s8(acc1, &p->q, oc + 1);
  }
  if (oc < p->out_c) {
    const int8_t* w0 = p->weights + oc * n;
    int32_t acc0 = tn_bias(&p->q, oc);
    for (int32_t i = 0; i < n; ++i) acc0 += (input[i] + offset) * w0[i];
    output[oc] = tn_requant_s8(acc0, &p->q, oc);
  }
  return TN_OK;
}

#endif /* TN_USE_DSP */
