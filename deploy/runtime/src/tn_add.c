/* Elementwise add (TFLite int8 ADD), four elements per iteration. Each element
 * costs three requantisations (64-bit multiplies) that SIMD cannot share, so
 * the DSP path differs only in moving the four bytes of each operand with one
 * word load and the results with one word store. Every iteration reads all its
 * inputs before it writes, so the output may be either input. */
#include "tn_internal.h"

typedef struct {
  int32_t offset1, offset2, output_offset, left_shift;
  int32_t mult1, shift1, mult2, shift2, out_mult, out_shift;
  int32_t act_min, act_max;
} tn_add_consts;

TN_ALWAYS_INLINE int8_t tn_add_one(const tn_add_consts* k, int32_t x1, int32_t x2) {
  const int32_t shifted1 = (int32_t)((uint32_t)(x1 + k->offset1) << k->left_shift);
  const int32_t shifted2 = (int32_t)((uint32_t)(x2 + k->offset2) << k->left_shift);
  const int32_t raw = tn_rq_scale(shifted1, k->mult1, k->shift1) + tn_rq_scale(shifted2, k->mult2, k->shift2);
  return tn_clamp_s8(tn_rq_scale(raw, k->out_mult, k->out_shift) + k->output_offset, k->act_min,
                     k->act_max);
}

tn_status tn_add_s8(const tn_add_params* p, const int8_t* input1, const int8_t* input2,
                    int8_t* output) {
  const tn_status s = tn_add_check(p);
  if (s != TN_OK) return s;
  if (p->size > 0 && (input1 == 0 || input2 == 0 || output == 0)) return TN_ERROR_ARGUMENT;
  const tn_add_consts k = {p->input1_offset,     p->input2_offset, p->output_offset,
                           p->left_shift,        p->input1_multiplier, p->input1_shift,
                           p->input2_multiplier, p->input2_shift,  p->output_multiplier,
                           p->output_shift,      p->act_min,       p->act_max};
  int32_t i = 0;
  for (; i + 4 <= p->size; i += 4) {
#if defined(TN_USE_DSP)
    const uint32_t a = tn_read_u32(input1 + i), b = tn_read_u32(input2 + i);
    uint32_t r = (uint8_t)tn_add_one(&k, (int8_t)a, (int8_t)b);
    r |= (uint32_t)(uint8_t)tn_add_one(&k, (int8_t)(a >> 8), (int8_t)(b >> 8)) << 8;
    r |= (uint32_t)(uint8_t)tn_add_one(&k, (int8_t)(a >> 16), (int8_t)(b >> 16)) << 16;
    r |= (uint32_t)(uint8_t)tn_add_one(&k, (int8_t)(a >> 24), (int8_t)(b >> 24)) << 24;
    tn_write_u32(output + i, r);
#else
    const int8_t a0 = input1[i], a1 = input1[i + 1], a2 = input1[i + 2], a3 = input1[i + 3];
    const int8_t b0 = input2[i], b1 = input2[i + 1], b2 = input2[i + 2], b3 = input2[i + 3];
    output[i] = tn_add_one(&k, a0, b0);
    output[i + 1] = tn_add_one(&k, a1, b1);
    output[i + 2] = tn_add_one(&k, a2, b2);
    output[i + 3] = tn_add_one(&k, a3, b3);
#endif
  }
  for (; i < p->size; ++i) output[i] = tn_add_one(&k, input1[i], input2[i]);
  return TN_OK;
}
