/*
 * The GEMM core of pointwise and conv2d: two output pixels at a time, their
 * input columns widened to int16 (with the input offset folded in) in the
 * scratch buffer, so each column is widened once and reused by every output
 * channel.
 *
 * DSP inner loop, per 4 input channels for 2 output channels x 2 pixels
 * (16 MACs):
 *   2 LDR     weights (one int8 word per output channel, any alignment)
 *   4 SXTB16  weight words -> even/odd int16 pairs (ROR #8 for the odd bytes)
 *   4 LDR     column words (already int16 pairs in the same even/odd order)
 *   8 SMLAD
 * 18 instructions for 16 MACs, plus the loop's ADD/CMP/BNE; GCC 12 -O2 spills
 * the loop bound (4 accumulators, 4 column words, 2 weight pairs and 3
 * pointers leave no register for it), so the M4 executes 22 per 16 MACs
 * (counted under QEMU). 2 x 2 is the largest tile that fits: a wider one
 * spills accumulators, and the scratch holds exactly two widened columns.
 * The two pixels' columns are interleaved so that one pointer walks both.
 * Requantisation then costs ~25 instructions per output, which is why small
 * depths (16 input channels) run at ~3.7 instructions per MAC and deep ones
 * (240) at ~1.5.
 */
#include "tn_internal.h"

/* Requantises and stores channels oc and oc+1 of one pixel. Both values are
 * computed before either store: an int8 store may alias anything, so the
 * compiler would reload the channel constants after it. */
TN_ALWAYS_INLINE void tn_store_pair(const tn_out_q* o, int32_t oc, int32_t acc0, int32_t acc1,
                                    int8_t* out) {
  const int32_t y0 = tn_rq_scale(acc0, o->multiplier[oc], o->shift[oc]) + o->output_offset;
  const int32_t y1 = tn_rq_scale(acc1, o->multiplier[oc + 1], o->shift[oc + 1]) + o->output_offset;
  out[oc] = tn_clamp_s8(y0, o->act_min, o->act_max);
  out[oc + 1] = tn_clamp_s8(y1, o->act_min, o->act_max);
}

#if defined(TN_USE_DSP)

void tn_widen_column(const int8_t* src, int32_t n, int32_t offset, int16_t* cols, int32_t depth,
                     int32_t px, int32_t k0) {
  const int32_t full = depth & ~3;
  int32_t i = 0;
  /* Whole groups of 4 go through SXTAB16, which widens and adds the offset to
   * two bytes at once and leaves them in the even/odd order the GEMM wants. */
  if ((k0 & 3) == 0) {
    const uint32_t offset2 = tn_pack16(offset, offset);
    int16_t* dst = cols + k0 * 2 + px * 4;
    for (; i + 4 <= n && k0 + i + 4 <= full; i += 4, dst += 8) {
      uint32_t even = 0, odd = 0;
      if (src != 0) {
        const uint32_t x = tn_read_u32(src + i);
        even = tn_sxtab16(offset2, x);
        odd = tn_sxtab16_ror8(offset2, x);
      }
      tn_write_u32(dst, even);
      tn_write_u32(dst + 2, odd);
    }
  }
  for (; i < n; ++i) {
    cols[tn_col_index(depth, px, k0 + i)] = (int16_t)(src != 0 ? src[i] + offset : 0);
  }
}

void tn_gemm_s8_s16(const int8_t* weights, int32_t out_c, int32_t depth, const tn_requant* q,
                    const int16_t* cols, int8_t* out0, int8_t* out1) {
  const tn_out_q o = tn_out_q_of(q);
  const int32_t groups = depth >> 2, rest = depth & 3;
  const int16_t* tail0 = cols + groups * 8;
  const int16_t* tail1 = tail0 + rest;
  int32_t oc = 0;
  for (; oc + 2 <= out_c; oc += 2) {
    const int8_t* w0 = weights + oc * depth;
    const int8_t* w1 = w0 + depth;
    const int16_t* c = cols;
    int32_t acc00 = (o.bias != 0 ? o.bias[oc] : 0), acc01 = acc00;  /* acc<channel><pixel> */
    int32_t acc10 = (o.bias != 0 ? o.bias[oc + 1] : 0), acc11 = acc10;
    for (const int16_t* end = tail0; c != end; c += 8, w0 += 4, w1 += 4) {
      /* Each extracted weight pair feeds both pixels, each column word both
       * channels. */
      const uint32_t u = tn_read_u32(w0), v = tn_read_u32(w1);
      const uint32_t u_even = tn_sxtb16(u), u_odd = tn_sxtb16_ror8(u);
      const uint32_t v_even = tn_sxtb16(v), v_odd = tn_sxtb16_ror8(v);
      uint32_t x = tn_read_u32(c);  /* pixel A, even */
      acc00 = tn_smlad(u_even, x, acc00);
      acc10 = tn_smlad(v_even, x, acc10);
      x = tn_read_u32(c + 2);  /* pixel A, odd */
      acc00 = tn_smlad(u_odd, x, acc00);
      acc10 = tn_smlad(v_odd, x, acc10);
      x = tn_read_u32(c + 4);  /* pixel B, even */
      acc01 = tn_smlad(u_even, x, acc01);
      acc11 = tn_smlad(v_even, x, acc11);
      x = tn_read_u32(c + 6);  /* pixel B, odd */
      acc01 = tn_smlad(u_odd, x, acc01);
      acc11 = tn_smlad(v_odd, x, acc11);
    }
    for (int32_t r = 0; r < rest; ++r) {
      acc00 += tail0[r] * w0[r];
      acc01 += tail1[r] * w0[r];
      acc10 += tail0[r] * w1[r];
      acc11 += tail1[r] * w1[r];
    }
    tn_store_pair(&o, oc, acc00, acc10, out0);
    if (out1 != 0) tn_store_pair(&o, oc, acc01, acc11, out1);
  }
  if (oc < out_c) {  /* odd channel count: the last one alone */
    const int8_t* w0 = weights + oc * depth;
    const int16_t* c = cols;
    int32_t acc0 = (o.bias != 0 ? o.bias[oc] : 0), acc1 = acc0;
    for (int32_t g = groups; g > 0; --g, c += 8, w0 += 4) {
      const uint32_t w = tn_read_u32(w0);
      const uint32_t w_even = tn_sxtb16(w), w_odd = tn_sxtb16_ror8(w);
      acc0 = tn_smlad(w_even, tn_read_u32(c), acc0);
      acc0 = tn_smlad(w_odd, tn_read_u32(c + 2), acc0);
      acc1 = tn_smlad(w_even, tn_read_u32(c + 4), acc1);
      acc1 = tn_smlad(w_odd, tn_read_u32(c + 6), acc1);
    }
    for (int32_t r = 0; r < rest; ++r) {
      acc0 += tail0[r] * w0[r];
      acc1 += tail1[r] * w0[r];
    }
    const int32_t m0 = o.multiplier[oc], s0 = o.shift[oc];
    out0[oc] = tn_requant_out(acc0, m0, s0, &o);
    if (out1 != 0) out1[oc] = tn_requant_out(acc1, m0, s0, &o);
  }
}

#else /* portable */

void tn_widen_column(const int8_t* src, int32_t n, int32_t offset, int16_t* cols, int32_t depth,
                     int32_t px, int32_t k0) {
  int16_t* dst = cols + px * depth + k0;
  if (src == 0) {
    for (int32_t i = 0; i < n; ++i) dst[i] = 0;
  } else {
    for (int32_t i = 0; i < n; ++i) dst[i] = (int16_t)(src[i] + offset);
  }
}

/* 2 output channels x 2 pixels per pass, so each loaded weight and column value
 * feeds two multiply-accumulates. */
void tn_gemm_s8_s16(const int8_t* weights, int32_t out_c, int32_t depth, const tn_requant* q,
                    const int16_t* cols, int8_t* out0, int8_t* out1) {
  const tn_out_q o = tn_out_q_of(q);
  const int16_t* col0 = cols;
  const int16_t* col1 = cols + depth;
  int32_t oc = 0;
  for (; oc + 2 <= out_c; oc += 2) {
    const int8_t* w0 = weights + oc * depth;
    const int8_t* w1 = w0 + depth;
    int32_t acc00 = (o.bias != 0 ? o.bias[oc] : 0), acc01 = acc00;
    int32_t acc10 = (o.bias != 0 ? o.bias[oc + 1] : 0), acc11 = acc10;
    for (int32_t k = 0; k < depth; ++k) {
      const int32_t a = col0[k], b = col1[k], u = w0[k], v = w1[k];
      acc00 += a * u;
      acc01 += b * u;
      acc10 += a * v;
      acc11 += b * v;
    }
    tn_store_pair(&o, oc, acc00, acc10, out0);
    if (out1 != 0) tn_store_pair(&o, oc, acc01, acc11, out1);
  }
  if (oc < out_c) {
    const int8_t* w0 = weights + oc * depth;
    int32_t acc0 = (o.bias != 0 ? o.bias[oc] : 0), acc1 = acc0;
    for (int32_t k = 0; k < depth; ++k) {
      acc0 += col0[k] * w0[k];
      acc1 += col1[k] * w0[k];
    }
    const int32_t m0 = o.multiplier[oc], s0 = o.shift[oc];
    out0[oc] = tn_requant_out(acc0, m0, s0, &o);
    if (out1 != 0) out1[oc] = tn_requant_out(acc1, m0, s0, &o);
  }
}

#endif /* TN_USE_DSP */
