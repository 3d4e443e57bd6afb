/*
 * The GEMM core of pointwise and conv2d: two output pixels at a time, their
 * input columns widened to int16 in the scratch buffer (4 * depth bytes: two
 * pixels' depth values), so each column is widened once and reused by every
 * output channel.
 *
 * Two cores:
 * - the general path (tn_gemm_s8_s16, tn_widen_column): any requantisation
 *   parameters, columns x + input_offset, TFLite's requantisation through
 *   tn_rq_scale; what parameters outside tn_rqf's domain take;
 * - the fast path (everything named *fast* / *2): doubled columns
 *   2 * (x + input_offset), the doubled biases as accumulator start values,
 *   and tn_rqf's requantisation (tn_internal.h): ADD (sign), SMMLAR, ASR,
 *   SSAT per output.
 *
 * On Arm the fast path's common case is hand-scheduled asm (tn_pw_tiles_asm):
 * per group of 4 input channels for 2 output channels x 2 pixels (16 MACs),
 *   1 LDM     the group's four column words (A even, A odd, B even, B odd)
 *   1 LDRD    both channels' weight words (the weights are paired, see
 *             tn_pair_weights: the two rows' groups interleaved)
 *   4 SXTB16  weight words -> even/odd int16 pairs (ROR #8 for the odd bytes)
 *   8 SMLAD
 * 14 instructions, with the loop's CMP/BNE once per 4 groups (entered
 * Duff-style so the count need not be a multiple of 4): ~0.9 instructions
 * per MAC (a depth of 4g + 3, whose pairs are not word-aligned, loads the
 * two words with two LDRs). Per 2 x 2 tile another ~40 (biases, per channel
 * multiplier / shift / C, four outputs through ADD/SMMLAR/ASR/SSAT, two
 * STRH). Pointwise hands it the whole layer (tn_pointwise_fast_layer): the
 * asm also widens each pixel pair (2 LDR, 8 SXTAB16, STM per group) and
 * walks the pairs;
 * conv2d's stem hands it pixel pairs of gathered patches (and, where the
 * three-pixel tiles below take it, triples). The C
 * versions of the same algorithm (tn_g22_run & co.) are what the host tests
 * run with TN_EMULATE_DSP, and what Arm runs for USAT mode, odd channel
 * counts and single pixels.
 *
 * Where the model's scratch holds three pixels' columns (6 * depth bytes,
 * tn_pointwise_params.scratch_bytes), pointwise takes three pixels per pass
 * instead (tn_pw3_tiles_asm, below: 20 instructions per 24 MACs).
 *
 * Column layout of the fast path, per group of 4 k: 16 bytes [A(k0,k2)
 * A(k1,k3) B(k0,k2) B(k1,k3)] (the order SXTB16 / SXTB16 ROR #8 give the
 * weights, so the weights need no reordering); then depth % 4 == 3 as
 * 12 bytes [A(t0,t2) B(t0,t2) (A t1, B t1)], which fits
 * the scratch exactly and lets the asm read each weight row's last word
 * (never past the row); any other rest plainly, A's then B's.
 */
#include "tn_internal.h"

/* Rows of `depth` plain bytes, each padded with zeros to `padded` (>= depth),
 * into the paired layout of rows of `padded`. */
static void tn_pair_rows(const int8_t* plain, int32_t out_c, int32_t depth, int32_t padded,
                         int8_t* out) {
  const int32_t full = padded & ~3, rest = padded & 3;
  int32_t oc = 0;
  for (; oc + 2 <= out_c; oc += 2) {
    const int8_t* r0 = plain + oc * depth;
    const int8_t* r1 = r0 + depth;
    int8_t* d = out + oc * padded;
    for (int32_t k = 0; k < full; k += 4, d += 8) {
      for (int32_t i = 0; i < 4; ++i) {
        d[i] = k + i < depth ? r0[k + i] : 0;
        d[4 + i] = k + i < depth ? r1[k + i] : 0;
      }
    }
    for (int32_t i = 0; i < rest; ++i) {  /* only where padded == depth */
      d[i] = r0[full + i];
      d[rest + i] = r1[full + i];
    }
  }
  if (oc < out_c) {
    for (int32_t k = 0; k < padded; ++k) out[oc * padded + k] = k < depth ? plain[oc * depth + k] : 0;
  }
}

void tn_pair_weights(const int8_t* plain, int32_t out_c, int32_t depth, int8_t* paired) {
  tn_pair_rows(plain, out_c, depth, depth, paired);
}

void tn_conv2d_weights(const int8_t* plain, int32_t out_c, int32_t depth, int8_t* out) {
  tn_pair_rows(plain, out_c, depth, tn_conv2d_depth(depth), out);
}

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
    const int8_t* w0 = weights + oc * depth;  /* paired: w1's words follow w0's */
    const int8_t* w1 = w0 + 4;
    const int16_t* c = cols;
    int32_t acc00 = (o.bias != 0 ? o.bias[oc] : 0), acc01 = acc00;  /* acc<channel><pixel> */
    int32_t acc10 = (o.bias != 0 ? o.bias[oc + 1] : 0), acc11 = acc10;
    for (const int16_t* end = tail0; c != end; c += 8, w0 += 8, w1 += 8) {
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
    w1 = w0 + rest;  /* the two tails */
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


/* ---- the fast path: doubled columns, tn_rqf requantisation
 *
 * Per group of 4 k for 2 output channels x 2 pixels (16 MACs), in Arm asm
 * (the C body's inline asm; tn_pw_tiles_asm below loads both words at once):
 *   1 LDM     the group's four column words (A even, A odd, B even, B odd)
 *   2 LDR     one weight word per channel (any alignment; paired weights,
 *             8 bytes per group)
 *   4 SXTB16  weight words -> even/odd int16 pairs
 *   8 SMLAD
 * 15 instructions, and the loop (two groups per pass) adds CMP/BNE: 1.0
 * instruction per MAC. The four column words live in r8-r11 (an LDM register
 * list is ordered by register number); the other ten operands fill r0-r7,
 * r12 and lr. Then per 2 x 2 tile: the biases (doubled), the channels'
 * multiplier, shift and C, and per output ADD (sign), SMMLAR, ASR, SSAT, STRB. */
void tn_widen_pair2(const int8_t* a, const int8_t* b, int32_t depth, int32_t offset,
                    int16_t* cols) {
  const uint32_t offset2 = tn_pack16(2 * offset, 2 * offset);
  int16_t* dst = cols;
  /* cols is word-aligned here (the fast paths check it). */
  uint32_t* d = (uint32_t*)(void*)cols;
#if defined(TN_ARM_DSP_ASM)
  /* 2 LDR, 8 SXTAB16, one STM per group. */
  if (depth >= 4) {
    const int8_t* const aend = a + (depth & ~3);
    uint32_t xa, xb;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[xa], [%[a]], #4\n\t"
        "ldr %[xb], [%[b]], #4\n\t"
        "sxtab16 r8, %[o], %[xa]\n\t"
        "sxtab16 r8, r8, %[xa]\n\t"
        "sxtab16 r9, %[o], %[xa], ror #8\n\t"
        "sxtab16 r9, r9, %[xa], ror #8\n\t"
        "sxtab16 r10, %[o], %[xb]\n\t"
        "sxtab16 r10, r10, %[xb]\n\t"
        "sxtab16 r11, %[o], %[xb], ror #8\n\t"
        "sxtab16 r11, r11, %[xb], ror #8\n\t"
        "stm %[d]!, {r8, r9, r10, r11}\n\t"
        "cmp %[a], %[aend]\n\t"
        "bne 1b\n\t"
        : [a] "+r"(a), [b] "+r"(b), [d] "+r"(d), [xa] "=&r"(xa), [xb] "=&r"(xb)
        : [o] "r"(offset2), [aend] "r"(aend)
        : "r8", "r9", "r10", "r11", "cc", "memory");
  }
#else
  for (int32_t g = depth >> 2; g > 0; --g, a += 4, b += 4, d += 4) {
    const uint32_t xa = tn_read_u32(a), xb = tn_read_u32(b);
    d[0] = tn_sxtab16(tn_sxtab16(offset2, xa), xa);
    d[1] = tn_sxtab16_ror8(tn_sxtab16_ror8(offset2, xa), xa);
    d[2] = tn_sxtab16(tn_sxtab16(offset2, xb), xb);
    d[3] = tn_sxtab16_ror8(tn_sxtab16_ror8(offset2, xb), xb);
  }
#endif
  dst = (int16_t*)(void*)d;
  const int32_t rest = depth & 3;
  if (rest == 3) {
    /* The 3-tail as the asm tile reads it: A (t0, t2), B (t0, t2), (A t1, B t1). */
    dst[0] = (int16_t)(2 * (a[0] + offset));
    dst[1] = (int16_t)(2 * (a[2] + offset));
    dst[2] = (int16_t)(2 * (b[0] + offset));
    dst[3] = (int16_t)(2 * (b[2] + offset));
    dst[4] = (int16_t)(2 * (a[1] + offset));
    dst[5] = (int16_t)(2 * (b[1] + offset));
    return;
  }
  for (int32_t r = 0; r < rest; ++r) {
    dst[r] = (int16_t)(2 * (a[r] + offset));
    dst[rest + r] = (int16_t)(2 * (b[r] + offset));
  }
}

#if defined(TN_ARM_DSP_ASM)
#define TN_G22                                   \
  "ldm %[c]!, {r8, r9, r10, r11}\n\t"            \
  "ldr %[u], [%[w0]], #8\n\t"                    \
  "sxtb16 %[t], %[u], ror #8\n\t"                \
  "sxtb16 %[u], %[u]\n\t"                        \
  "smlad %[a00], %[u], r8, %[a00]\n\t"           \
  "smlad %[a00], %[t], r9, %[a00]\n\t"           \
  "smlad %[a01], %[u], r10, %[a01]\n\t"          \
  "smlad %[a01], %[t], r11, %[a01]\n\t"          \
  "ldr %[u], [%[w1]], #8\n\t"                    \
  "sxtb16 %[t], %[u], ror #8\n\t"                \
  "sxtb16 %[u], %[u]\n\t"                        \
  "smlad %[a10], %[u], r8, %[a10]\n\t"           \
  "smlad %[a10], %[t], r9, %[a10]\n\t"           \
  "smlad %[a11], %[u], r10, %[a11]\n\t"          \
  "smlad %[a11], %[t], r11, %[a11]\n\t"
#define TN_G22_OPERANDS                                                                   \
  [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [c] "+r"(c),       \
      [w0] "+r"(w0), [w1] "+r"(w1), [u] "=&r"(u), [t] "=&r"(t)
#define TN_G12                                   \
  "ldm %[c]!, {r8, r9, r10, r11}\n\t"            \
  "ldr %[u], [%[w0]], #4\n\t"                    \
  "sxtb16 %[t], %[u], ror #8\n\t"                \
  "sxtb16 %[u], %[u]\n\t"                        \
  "smlad %[a00], %[u], r8, %[a00]\n\t"           \
  "smlad %[a00], %[t], r9, %[a00]\n\t"           \
  "smlad %[a01], %[u], r10, %[a01]\n\t"          \
  "smlad %[a01], %[t], r11, %[a01]\n\t"
#define TN_G12_OPERANDS \
  [a00] "+r"(a00), [a01] "+r"(a01), [c] "+r"(c), [w0] "+r"(w0), [u] "=&r"(u), [t] "=&r"(t)
#endif

/* Groups [c, cend) of 2 channels x 2 pixels. */
TN_ALWAYS_INLINE void tn_g22_run(const int16_t** pc, const int16_t* cend, const int8_t** pw0,
                                 const int8_t** pw1, int32_t* p00, int32_t* p01, int32_t* p10,
                                 int32_t* p11, int32_t groups) {
  const int16_t* c = *pc;
  const int8_t* w0 = *pw0;
  const int8_t* w1 = *pw1;
  int32_t a00 = *p00, a01 = *p01, a10 = *p10, a11 = *p11;
#if defined(TN_ARM_DSP_ASM)
  uint32_t u, t;
  if (groups & 1) {
    __asm__ volatile(TN_G22 : TN_G22_OPERANDS : : "r8", "r9", "r10", "r11", "memory");
  }
  if (c != cend) {
    __asm__ volatile("1:\n\t" TN_G22 TN_G22
                     "cmp %[c], %[cend]\n\t"
                     "bne 1b\n\t"
                     : TN_G22_OPERANDS
                     : [cend] "r"(cend)
                     : "r8", "r9", "r10", "r11", "cc", "memory");
  }
#else
  (void)groups;
  for (; c != cend; c += 8) {
    const uint32_t ae = tn_read_u32(c), ao = tn_read_u32(c + 2);
    const uint32_t be = tn_read_u32(c + 4), bo = tn_read_u32(c + 6);
    uint32_t u = tn_read_u32(w0), t;
    w0 += 8;
    t = tn_sxtb16_ror8(u);
    u = tn_sxtb16(u);
    a00 = tn_smlad(u, ae, a00);
    a00 = tn_smlad(t, ao, a00);
    a01 = tn_smlad(u, be, a01);
    a01 = tn_smlad(t, bo, a01);
    u = tn_read_u32(w1);
    w1 += 8;
    t = tn_sxtb16_ror8(u);
    u = tn_sxtb16(u);
    a10 = tn_smlad(u, ae, a10);
    a10 = tn_smlad(t, ao, a10);
    a11 = tn_smlad(u, be, a11);
    a11 = tn_smlad(t, bo, a11);
  }
#endif
  *pc = c;
  *pw0 = w0;
  *pw1 = w1;
  *p00 = a00;
  *p01 = a01;
  *p10 = a10;
  *p11 = a11;
}

/* Groups [c, cend) of 1 channel x 2 pixels. */
TN_ALWAYS_INLINE void tn_g12_run(const int16_t** pc, const int16_t* cend, const int8_t** pw0,
                                 int32_t* p00, int32_t* p01) {
  const int16_t* c = *pc;
  const int8_t* w0 = *pw0;
  int32_t a00 = *p00, a01 = *p01;
#if defined(TN_ARM_DSP_ASM)
  uint32_t u, t;
  if (c != cend) {
    __asm__ volatile("1:\n\t" TN_G12
                     "cmp %[c], %[cend]\n\t"
                     "bne 1b\n\t"
                     : TN_G12_OPERANDS
                     : [cend] "r"(cend)
                     : "r8", "r9", "r10", "r11", "cc", "memory");
  }
#else
  for (; c != cend; c += 8) {
    uint32_t u = tn_read_u32(w0), t;
    w0 += 4;
    t = tn_sxtb16_ror8(u);
    u = tn_sxtb16(u);
    a00 = tn_smlad(u, tn_read_u32(c), a00);
    a00 = tn_smlad(t, tn_read_u32(c + 2), a00);
    a01 = tn_smlad(u, tn_read_u32(c + 4), a01);
    a01 = tn_smlad(t, tn_read_u32(c + 6), a01);
  }
#endif
  *pc = c;
  *pw0 = w0;
  *p00 = a00;
  *p01 = a01;
}

/* The C GEMM core (on Arm: USAT mode, odd channels, shapes the asm leaves
 * out), one copy with the clamp mode and pixel count at run time. */
__attribute__((noinline)) static void tn_gemm_fast_body(const int8_t* weights, int32_t oc,
                                                       int32_t out_c, int32_t depth,
                                                       const tn_requant* q, const tn_rqf* f,
                                                       const int16_t* cols, int8_t* out0,
                                                       int8_t* out1, const int full,
                                                       const int two) {
  const int32_t* const bias = q->bias;
  const int32_t* const mult = q->multiplier;
  const int32_t* const shift = q->shift;
  const int32_t k2 = f->k2;
  const int32_t groups = depth >> 2, rest = depth & 3;
  const int16_t* const cend = cols + groups * 8;
  const int16_t* const tail1 = cend + rest;
  const int8_t* w = weights + oc * depth;
  for (; oc + 2 <= out_c; oc += 2) {
    int32_t a00 = bias[oc] * 2, a10 = bias[oc + 1] * 2;
    int32_t a01 = a00, a11 = a10;
    const int16_t* c = cols;
    const int8_t* w0 = w;
    const int8_t* w1 = w + 4;  /* paired */
    tn_g22_run(&c, cend, &w0, &w1, &a00, &a01, &a10, &a11, groups);
    w1 = w0 + rest;  /* the two tails */
    if (rest == 3) {
      a00 += cend[0] * w0[0] + cend[1] * w0[2] + cend[4] * w0[1];
      a01 += cend[2] * w0[0] + cend[3] * w0[2] + cend[5] * w0[1];
      a10 += cend[0] * w1[0] + cend[1] * w1[2] + cend[4] * w1[1];
      a11 += cend[2] * w1[0] + cend[3] * w1[2] + cend[5] * w1[1];
    } else {
      for (int32_t r = 0; r < rest; ++r) {
        a00 += cend[r] * w0[r];
        a01 += tail1[r] * w0[r];
        a10 += cend[r] * w1[r];
        a11 += tail1[r] * w1[r];
      }
    }
    w += 2 * depth;
    const int32_t m0 = mult[oc], m1 = mult[oc + 1];
    const int32_t r0 = ~shift[oc], r1 = ~shift[oc + 1];
    const int32_t c0 = tn_rqf_c(k2, r0), c1 = tn_rqf_c(k2, r1);
    const int32_t y00 = tn_rqf_pre(a00, m0, c0, r0), y10 = tn_rqf_pre(a10, m1, c1, r1);
    out0[oc] = tn_rqf_out(f, y00, full);
    out0[oc + 1] = tn_rqf_out(f, y10, full);
    if (two) {
      const int32_t y01 = tn_rqf_pre(a01, m0, c0, r0), y11 = tn_rqf_pre(a11, m1, c1, r1);
      out1[oc] = tn_rqf_out(f, y01, full);
      out1[oc + 1] = tn_rqf_out(f, y11, full);
    }
  }
  if (oc < out_c) {
    int32_t a00 = bias[oc] * 2, a01 = a00;
    const int16_t* c = cols;
    const int8_t* w0 = w;
    tn_g12_run(&c, cend, &w0, &a00, &a01);
    if (rest == 3) {
      a00 += cend[0] * w0[0] + cend[1] * w0[2] + cend[4] * w0[1];
      a01 += cend[2] * w0[0] + cend[3] * w0[2] + cend[5] * w0[1];
    } else {
      for (int32_t r = 0; r < rest; ++r) {
        a00 += cend[r] * w0[r];
        a01 += tail1[r] * w0[r];
      }
    }
    const int32_t m0 = mult[oc], r0 = ~shift[oc], c0 = tn_rqf_c(k2, r0);
    out0[oc] = tn_rqf_out(f, tn_rqf_pre(a00, m0, c0, r0), full);
    if (two) out1[oc] = tn_rqf_out(f, tn_rqf_pre(a01, m0, c0, r0), full);
  }
}

#if defined(TN_ARM_DSP_ASM)
/* The hot case in hand-scheduled asm: SSAT mode, two pixels, depth a
 * multiple of 4 with at least two groups, every channel pair. The C body
 * above is the same algorithm (and what the host tests run); this one keeps
 * everything in registers across the tile except what the frame below holds.
 *
 * Per 2 x 2 tile: 14 instructions per group of 4 k (the first group takes
 * the doubled biases as SMLAD accumulators, so the accumulators need no
 * copies), CMP/BNE per two groups, 9 to set up the tile and 32 to requantise
 * and store its four outputs and loop. Registers in the inner loop:
 * r0 a00, r1 a01, r2 a10, r3 a11 (acc<channel><pixel>), r4 column pointer,
 * r5 the channel pair's weights, r7 end of the columns, r8-r11 the group's
 * column words, r12/r6 channel 0's/1's weight word and lr an odd half. */
typedef struct {
  const int32_t* mult;    /* 0: this tile's channel pair, advanced per tile */
  const int32_t* shift;   /* 4 */
  int8_t* out;            /* 8: out0 + oc */
  int32_t k2;             /* 12 */
  int32_t cout;           /* 16: out1 - out0 */
  int8_t* out_end;        /* 20: out0 + 2 * pairs */
  const int32_t* bias;    /* 24 */
  const int16_t* cols;    /* 28 */
  const int16_t* cend;    /* 32 */
  int32_t depth;          /* 36 */
  const int8_t* weights;  /* 40 */
  int32_t variant;        /* 44: see tn_pw_tiles_asm (groups >= 2; 3-tail: >= 3) */
  /* Per pixel pair: */
  const int32_t* bias0;   /* 48: the arrays' starts */
  const int32_t* mult0;   /* 52 */
  const int32_t* shift0;  /* 56 */
  const int8_t* input;    /* 60: the pair's first pixel (widened here), or NULL: cols ready */
  uint32_t offset2;       /* 64: (2 * input_offset) in both lanes */
  int32_t pixel_pairs;    /* 68 */
  int8_t* out0;           /* 72: the pair's first output */
  int32_t span2;          /* 76: 2 * pairs */
  int32_t entry;          /* 80: (the asm's) address of the variant's tile code */
  int32_t loop_entry;     /* 84: (the asm's) where its loop is entered */
} tn_pw_job;

typedef char tn_pw_job_size_check[sizeof(tn_pw_job) == 88 ? 1 : -1];

/* One group (its weight words already in r12 and r6, see below). FIRST
 * takes the doubled biases (r0, r2) as accumulator inputs. */
#define TN_ASM_G22_FIRST_BODY            \
  "sxtb16 lr, r6, ror #8\n\t"            \
  "sxtb16 r6, r6\n\t"                    \
  "smlad r3, r6, r10, r2\n\t"            \
  "smlad r2, r6, r8, r2\n\t"             \
  "smlad r2, lr, r9, r2\n\t"             \
  "smlad r3, lr, r11, r3\n\t"            \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r1, r12, r10, r0\n\t"           \
  "smlad r0, r12, r8, r0\n\t"            \
  "smlad r0, lr, r9, r0\n\t"             \
  "smlad r1, lr, r11, r1\n\t"

#define TN_ASM_G22_BODY                  \
  "sxtb16 lr, r6, ror #8\n\t"            \
  "sxtb16 r6, r6\n\t"                    \
  "smlad r2, r6, r8, r2\n\t"             \
  "smlad r2, lr, r9, r2\n\t"             \
  "smlad r3, r6, r10, r3\n\t"            \
  "smlad r3, lr, r11, r3\n\t"            \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r0, r12, r8, r0\n\t"            \
  "smlad r0, lr, r9, r0\n\t"             \
  "smlad r1, r12, r10, r1\n\t"           \
  "smlad r1, lr, r11, r1\n\t"

/* The group's two weight words (channel 0's, then channel 1's: the paired
 * layout, tn_pair_weights) in r12 and r6: one LDRD where the pair's rows are
 * word-aligned (depth % 4 == 0 and aligned weights), else two LDRs (a
 * depth of 4g + 3 puts every other pair at 2 mod 4). */
#define TN_ASM_W_LDRD "ldrd r12, r6, [r5], #8\n\t"
#define TN_ASM_W_LDR2 "ldr r6, [r5, #4]\n\t" "ldr r12, [r5], #8\n\t"
#define TN_ASM_COLS "ldm r4!, {r8, r9, r10, r11}\n\t"
#define TN_ASM_G22_FIRST TN_ASM_COLS TN_ASM_W_LDRD TN_ASM_G22_FIRST_BODY
#define TN_ASM_G22 TN_ASM_COLS TN_ASM_W_LDRD TN_ASM_G22_BODY
#define TN_ASM_G22U_FIRST TN_ASM_COLS TN_ASM_W_LDR2 TN_ASM_G22_FIRST_BODY
#define TN_ASM_G22U TN_ASM_COLS TN_ASM_W_LDR2 TN_ASM_G22_BODY

/* The 3-tail (depth % 4 == 3) from its 12 bytes of columns, A (t0, t2),
 * B (t0, t2), (A t1, B t1): each channel's word is the one ending at its
 * row's end (so nothing past the weights is read), whose odd half holds
 * (t0, t2) and whose even half's top holds t1. */
#define TN_ASM_G22_TAIL3                 \
  "ldm r4!, {r8, r9, r10}\n\t"           \
  "ldr r12, [r5, #-1]\n\t"               \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r0, lr, r8, r0\n\t"             \
  "smlatb r0, r12, r10, r0\n\t"          \
  "smlad r1, lr, r9, r1\n\t"             \
  "smlatt r1, r12, r10, r1\n\t"          \
  "ldr r12, [r5, #2]\n\t"                \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r2, lr, r8, r2\n\t"             \
  "smlatb r2, r12, r10, r2\n\t"          \
  "smlad r3, lr, r9, r3\n\t"             \
  "smlatt r3, r12, r10, r3\n\t"          \
  "add r5, r5, #6\n\t"

/* r5 ends each tile at the next channel pair's weights. */
#define TN_ASM_TILE_START                \
  "ldr r12, [sp, #24]\n\t"               \
  "ldrd r0, r2, [r12], #8\n\t"           \
  "str r12, [sp, #24]\n\t"               \
  "lsl r0, r0, #1\n\t"                   \
  "lsl r2, r2, #1\n\t"                   \
  "ldrd r4, r7, [sp, #28]\n\t"

#define TN_ASM_TILE_END                  \
  "ldm sp, {r8, r9, r10, r11}\n\t"       \
  "ldrd r4, r7, [r8], #8\n\t"            \
  "ldrd r12, lr, [r9], #8\n\t"           \
  "stm sp, {r8, r9}\n\t"                 \
  "mvn r12, r12\n\t"                     \
  "mvn lr, lr\n\t"                       \
  "lsl r8, r11, r12\n\t"                 \
  "lsl r9, r11, lr\n\t"                  \
  "add r11, r8, r0, asr #31\n\t"         \
  "smmlar r0, r0, r4, r11\n\t"           \
  "add r11, r8, r1, asr #31\n\t"         \
  "smmlar r1, r1, r4, r11\n\t"           \
  "add r11, r9, r2, asr #31\n\t"         \
  "smmlar r2, r2, r7, r11\n\t"           \
  "add r11, r9, r3, asr #31\n\t"         \
  "smmlar r3, r3, r7, r11\n\t"           \
  "asr r0, r0, r12\n\t"                  \
  "asr r1, r1, r12\n\t"                  \
  "asr r2, r2, lr\n\t"                   \
  "asr r3, r3, lr\n\t"                   \
  "ssat r0, #8, r0, asr #1\n\t"          \
  "ssat r1, #8, r1, asr #1\n\t"          \
  "ssat r2, #8, r2, asr #1\n\t"          \
  "ssat r3, #8, r3, asr #1\n\t"          \
  "bfi r0, r2, #8, #8\n\t"               \
  "bfi r1, r3, #8, #8\n\t"               \
  "ldrd r11, r12, [sp, #16]\n\t"         \
  "strh r1, [r10, r11]\n\t"              \
  "strh r0, [r10], #2\n\t"               \
  "str r10, [sp, #8]\n\t"                \
  "cmp r10, r12\n\t"

/* Per pixel pair (pixel_pairs of them): reset the channel arrays' pointers,
 * widen the two pixels into the columns when `input` is set (2 LDR, 8 SXTAB16
 * (x + 2 offset, then + x again), STM per group of 4), then every channel
 * pair's tile through the variant's code, whose address is chosen once per
 * call: 2 or 4 groups fully unrolled; otherwise the first group, then a loop
 * of four groups per pass (CMP/BNE per 4 groups) entered Duff-style at the
 * group that leaves a multiple of four (LDR PC from the frame), and the 3-tail
 * after it for depth 4g + 3. */
#define TN_ADDR(REG, LABEL) \
  "movw " REG ", #:lower16:" LABEL "\n\t" "movt " REG ", #:upper16:" LABEL "\n\t"

__attribute__((naked, noinline)) static void tn_pw_tiles_asm(const tn_pw_job* job) {
  __asm__ volatile(
      "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
      "sub sp, sp, #92\n\t"
      "ldm r0!, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12}\n\t"
      "stm sp, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12}\n\t"
      "ldm r0!, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10}\n\t"
      "add lr, sp, #48\n\t"
      "stm lr, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10}\n\t"
      "ldr r6, [sp, #36]\n\t"
      /* The widening (r0 = job + 88 here; its address at sp + 88): the
       * pointwise pixels' (79) or none (the columns are ready). */
      TN_ADDR("r2", "82f")
      "ldr r3, [sp, #60]\n\t"
      "cbz r3, 107f\n\t"
      TN_ADDR("r2", "79f")
      "107:\n\t"
      "orr r2, r2, #1\n\t"
      "str r2, [sp, #88]\n\t"
      /* Entries already chosen (a plan run again)? */
      "ldr r1, [sp, #44]\n\t"
      "ldr r12, [sp, #80]\n\t"
      "cmp r12, #0\n\t"
      "bne 80f\n\t"
      /* r1: variant (0: 2 groups, 1: 4, 2: the loop, 3: the loop and the
       * 3-tail); the loop's entry from (groups - 1) % 4. */
      "lsr r2, r6, #2\n\t"
      "sub r2, r2, #1\n\t"
      "and r2, r2, #3\n\t"
      /* k = (groups - 1) % 4 groups before the first check: 4 for k = 0. */
      TN_ADDR("r3", "41f")
      "cmp r2, #1\n\t"
      "bne 101f\n\t"
      TN_ADDR("r3", "44f")
      "101:\n\t"
      "cmp r2, #2\n\t"
      "bne 102f\n\t"
      TN_ADDR("r3", "43f")
      "102:\n\t"
      "cmp r2, #3\n\t"
      "bne 103f\n\t"
      TN_ADDR("r3", "42f")
      "103:\n\t"
      TN_ADDR("r12", "20f")
      "cmp r1, #1\n\t"
      "bne 104f\n\t"
      TN_ADDR("r12", "21f")
      "104:\n\t"
      "cmp r1, #2\n\t"
      "bne 105f\n\t"
      TN_ADDR("r12", "22f")
      "105:\n\t"
      "cmp r1, #3\n\t"
      "bne 106f\n\t"
      TN_ADDR("r12", "23f")
      /* The 3-tail loop's own entries (its groups load the weights with two
       * LDRs, so they are longer than the other loop's). */
      TN_ADDR("r3", "51f")
      "cmp r2, #1\n\t"
      "bne 121f\n\t"
      TN_ADDR("r3", "54f")
      "121:\n\t"
      "cmp r2, #2\n\t"
      "bne 122f\n\t"
      TN_ADDR("r3", "53f")
      "122:\n\t"
      "cmp r2, #3\n\t"
      "bne 106f\n\t"
      TN_ADDR("r3", "52f")
      "106:\n\t"
      "orr r12, r12, #1\n\t"
      "orr r3, r3, #1\n\t"
      "str r12, [sp, #80]\n\t"
      "str r3, [sp, #84]\n\t"
      "str r12, [r0, #-8]\n\t"  /* into the caller's job too (r0 = job + 88) */
      "str r3, [r0, #-4]\n\t"
      /* The next pixel pair. */
      "80:\n\t"
      "add r12, sp, #48\n\t"
      "ldm r12, {r0, r1, r2, r3}\n\t"
      "str r0, [sp, #24]\n\t"
      "strd r1, r2, [sp, #0]\n\t"
      "add r12, sp, #72\n\t"
      "ldm r12, {r0, r1}\n\t"
      "str r0, [sp, #8]\n\t"
      "add r1, r0, r1\n\t"
      "str r1, [sp, #20]\n\t"
      "ldr r5, [sp, #40]\n\t"
      "ldr pc, [sp, #88]\n\t"
      /* pointwise: the two pixels' depth bytes */
      "79:\n\t"
      "ldr r1, [sp, #36]\n\t"
      "add r1, r3, r1\n\t"
      "ldrd r4, r7, [sp, #28]\n\t"
      "ldr r12, [sp, #64]\n\t"
      "81:\n\t"
      "ldr r0, [r3], #4\n\t"
      "ldr r2, [r1], #4\n\t"
      "sxtab16 r8, r12, r0\n\t"
      "sxtab16 r8, r8, r0\n\t"
      "sxtab16 r9, r12, r0, ror #8\n\t"
      "sxtab16 r9, r9, r0, ror #8\n\t"
      "sxtab16 r10, r12, r2\n\t"
      "sxtab16 r10, r10, r2\n\t"
      "sxtab16 r11, r12, r2, ror #8\n\t"
      "sxtab16 r11, r11, r2, ror #8\n\t"
      "stm r4!, {r8, r9, r10, r11}\n\t"
      "cmp r4, r7\n\t"
      "bne 81b\n\t"
      "str r1, [sp, #60]\n\t"
      "82:\n\t"
      "ldr pc, [sp, #80]\n\t"
      /* 2 groups */
      "20:\n\t" TN_ASM_TILE_START TN_ASM_G22_FIRST TN_ASM_G22 TN_ASM_TILE_END
      "bne 20b\n\t"
      "b 90f\n\t"
      /* 4 groups */
      "21:\n\t" TN_ASM_TILE_START TN_ASM_G22_FIRST TN_ASM_G22 TN_ASM_G22 TN_ASM_G22 TN_ASM_TILE_END
      "bne 21b\n\t"
      "b 90f\n\t"
      /* the loop */
      "22:\n\t" TN_ASM_TILE_START TN_ASM_G22_FIRST
      "ldr pc, [sp, #84]\n\t"
      "41:\n\t" TN_ASM_G22
      "42:\n\t" TN_ASM_G22
      "43:\n\t" TN_ASM_G22
      "44:\n\t" TN_ASM_G22
      "cmp r4, r7\n\t"
      "bne 41b\n\t" TN_ASM_TILE_END
      "bne 22b\n\t"
      "b 90f\n\t"
      /* the loop and the 3-tail */
      "23:\n\t" TN_ASM_TILE_START TN_ASM_G22U_FIRST
      "ldr pc, [sp, #84]\n\t"
      "51:\n\t" TN_ASM_G22U
      "52:\n\t" TN_ASM_G22U
      "53:\n\t" TN_ASM_G22U
      "54:\n\t" TN_ASM_G22U
      "cmp r4, r7\n\t"
      "bne 51b\n\t" TN_ASM_G22_TAIL3 TN_ASM_TILE_END
      "bne 23b\n\t"
      "90:\n\t"
      "ldrd r0, r1, [sp, #68]\n\t"
      "ldr r2, [sp, #16]\n\t"
      "add r1, r1, r2, lsl #1\n\t"
      "subs r0, r0, #1\n\t"
      "strd r0, r1, [sp, #68]\n\t"
      "bne 80b\n\t"
      "add sp, sp, #92\n\t"
      "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t");
}

/* ---- three pixels per pass (pointwise only, where the scratch holds
 * 6 * depth bytes: tn_pointwise_params.scratch_bytes). With the weights
 * paired, a group's two weight words are unpacked once (LDRD, 4 SXTB16) and
 * serve three pixels, each pixel's two column words coming with one LDRD:
 *   1 LDRD + 4 SXTB16 + 3 x (LDRD + 4 SMLAD) = 20 instructions per 24 MACs
 * (14 per 16 for the 2 x 2 tile), and the tile's per-channel work (biases,
 * multiplier, shift, C) is shared by three outputs per channel. Registers in
 * the inner loop: r0/r1 pixel A's accumulators (channel 0/1), r2/r3 B's,
 * r8/r9 C's, r4 column pointer, r5 the channel pair's weights, r6/r7 a
 * pixel's two column words, r10/r11 channel 0's even/odd weight halves,
 * r12/lr channel 1's; the loop end is read from the frame. Column layout per
 * group of 4 k: 24 bytes [A(k0,k2) A(k1,k3) B(k0,k2) B(k1,k3) C(k0,k2)
 * C(k1,k3)], widened by the asm (3 LDR, 12 SXTAB16, STM per group). The
 * frame is the job (offsets below). */
typedef struct {
  const int32_t* mult;     /* 0: this tile's channel pair, advanced per tile */
  const int32_t* shift;    /* 4 */
  int8_t* out;             /* 8: pixel A's output at the pair */
  int32_t cout;            /* 12: bytes from one pixel's outputs to the next's */
  int32_t k2;              /* 16 */
  int8_t* out_end;         /* 20: out0 + out_c (cout) */
  const int32_t* bias;     /* 24 */
  const int16_t* cols;     /* 28 */
  const int16_t* cend;     /* 32: cols + 12 * groups */
  int32_t depth;           /* 36 */
  const int8_t* weights;   /* 40 */
  int32_t entry;           /* 44: (the asm's) the variant's tile code */
  const int32_t* bias0;    /* 48: per pixel triple, the arrays' starts */
  const int32_t* mult0;    /* 52 */
  const int32_t* shift0;   /* 56 */
  const int8_t* input;     /* 60: the triple's first pixel */
  uint32_t offset2;        /* 64: (2 * input_offset) in both lanes */
  int32_t triples;         /* 68 */
  int8_t* out0;            /* 72: the triple's first output */
  int32_t loop_entry;      /* 76: (the asm's) where the loop is entered */
  int32_t pad_[2];         /* 80 */
} tn_pw3_job;

typedef char tn_pw3_job_size_check[sizeof(tn_pw3_job) == 88 ? 1 : -1];

/* The first group: the doubled biases (r0, r1) start all six accumulators,
 * so pixels C and B go before A, whose accumulators hold them. */
#define TN_ASM3_W                        \
  "ldrd r10, r12, [r5], #8\n\t"          \
  "sxtb16 r11, r10, ror #8\n\t"          \
  "sxtb16 r10, r10\n\t"                  \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"

#define TN_ASM3_MAC(A0, A1, S0, S1)      \
  "smlad " A0 ", r10, r6, " S0 "\n\t"    \
  "smlad " A0 ", r11, r7, " A0 "\n\t"    \
  "smlad " A1 ", r12, r6, " S1 "\n\t"    \
  "smlad " A1 ", lr, r7, " A1 "\n\t"

#define TN_ASM3_G_FIRST                  \
  TN_ASM3_W                              \
  "ldrd r6, r7, [r4, #16]\n\t"           \
  TN_ASM3_MAC("r8", "r9", "r0", "r1")    \
  "ldrd r6, r7, [r4, #8]\n\t"            \
  TN_ASM3_MAC("r2", "r3", "r0", "r1")    \
  "ldrd r6, r7, [r4], #24\n\t"           \
  TN_ASM3_MAC("r0", "r1", "r0", "r1")

#define TN_ASM3_G                        \
  TN_ASM3_W                              \
  "ldrd r6, r7, [r4], #8\n\t"            \
  TN_ASM3_MAC("r0", "r1", "r0", "r1")    \
  "ldrd r6, r7, [r4], #8\n\t"            \
  TN_ASM3_MAC("r2", "r3", "r2", "r3")    \
  "ldrd r6, r7, [r4], #8\n\t"            \
  TN_ASM3_MAC("r8", "r9", "r8", "r9")

#define TN_ASM3_TILE_START               \
  "ldr r12, [sp, #24]\n\t"               \
  "ldrd r0, r1, [r12], #8\n\t"           \
  "str r12, [sp, #24]\n\t"               \
  "lsl r0, r0, #1\n\t"                   \
  "lsl r1, r1, #1\n\t"                   \
  "ldr r4, [sp, #28]\n\t"

/* Channel 0's three outputs (r0, r2, r8) with m0 (r7), C0 (r4), r - 1 (r11);
 * channel 1's (r1, r3, r9) with m1 (lr), C1 (r6), r - 1 (r12); each pixel's
 * two bytes with one STRH. */
#define TN_ASM3_RQ(ACC, M, C, RM)                \
  "add r10, " C ", " ACC ", asr #31\n\t"         \
  "smmlar " ACC ", " ACC ", " M ", r10\n\t"      \
  "asr " ACC ", " ACC ", " RM "\n\t"             \
  "ssat " ACC ", #8, " ACC ", asr #1\n\t"

#define TN_ASM3_TILE_END                 \
  "ldm sp, {r4, r6}\n\t"                 \
  "ldrd r11, r12, [r6], #8\n\t"          \
  "ldrd r7, lr, [r4], #8\n\t"            \
  "stm sp, {r4, r6}\n\t"                 \
  "ldr r6, [sp, #16]\n\t"                \
  "mvn r11, r11\n\t"                     \
  "mvn r12, r12\n\t"                     \
  "lsl r4, r6, r11\n\t"                  \
  "lsl r6, r6, r12\n\t"                  \
  TN_ASM3_RQ("r0", "r7", "r4", "r11")    \
  TN_ASM3_RQ("r2", "r7", "r4", "r11")    \
  TN_ASM3_RQ("r8", "r7", "r4", "r11")    \
  TN_ASM3_RQ("r1", "lr", "r6", "r12")    \
  TN_ASM3_RQ("r3", "lr", "r6", "r12")    \
  TN_ASM3_RQ("r9", "lr", "r6", "r12")    \
  "bfi r0, r1, #8, #8\n\t"               \
  "bfi r2, r3, #8, #8\n\t"               \
  "bfi r8, r9, #8, #8\n\t"               \
  "ldrd r10, r11, [sp, #8]\n\t"          \
  "strh r2, [r10, r11]\n\t"              \
  "strh r8, [r10, r11, lsl #1]\n\t"      \
  "strh r0, [r10], #2\n\t"               \
  "str r10, [sp, #8]\n\t"                \
  "ldr r11, [sp, #20]\n\t"               \
  "cmp r10, r11\n\t"

__attribute__((naked, noinline)) static void tn_pw3_tiles_asm(const tn_pw3_job* job) {
  __asm__ volatile(
      "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
      "sub sp, sp, #88\n\t"
      "ldm r0!, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12}\n\t"
      "stm sp, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12}\n\t"
      "ldm r0, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10}\n\t"
      "add lr, sp, #48\n\t"
      "stm lr, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10}\n\t"
      /* The variant from the group count g (2, 4: unrolled; else the loop,
       * entered after the first group at the one that leaves a multiple of
       * four: k = (g - 1) % 4 groups before the first check, 4 for k = 0). */
      "ldr r2, [sp, #36]\n\t"
      "lsr r2, r2, #2\n\t"
      "sub r1, r2, #1\n\t"
      "and r1, r1, #3\n\t"
      TN_ADDR("r3", "241f")
      "cmp r1, #1\n\t"
      "bne 201f\n\t"
      TN_ADDR("r3", "244f")
      "201:\n\t"
      "cmp r1, #2\n\t"
      "bne 202f\n\t"
      TN_ADDR("r3", "243f")
      "202:\n\t"
      "cmp r1, #3\n\t"
      "bne 203f\n\t"
      TN_ADDR("r3", "242f")
      "203:\n\t"
      TN_ADDR("r12", "222f")
      "cmp r2, #2\n\t"
      "bne 204f\n\t"
      TN_ADDR("r12", "220f")
      "204:\n\t"
      "cmp r2, #4\n\t"
      "bne 205f\n\t"
      TN_ADDR("r12", "221f")
      "205:\n\t"
      "orr r12, r12, #1\n\t"
      "orr r3, r3, #1\n\t"
      "str r12, [sp, #44]\n\t"
      "str r3, [sp, #76]\n\t"
      /* The next pixel triple: reset the channel arrays' pointers... */
      "280:\n\t"
      "ldr r0, [sp, #48]\n\t"
      "str r0, [sp, #24]\n\t"
      "ldrd r1, r2, [sp, #52]\n\t"
      "strd r1, r2, [sp, #0]\n\t"
      "ldr r0, [sp, #72]\n\t"
      "str r0, [sp, #8]\n\t"
      "ldr r1, [sp, #12]\n\t"
      "add r1, r0, r1\n\t"
      "str r1, [sp, #20]\n\t"
      /* ...and widen its three pixels (A r0, B lr, C r6: C first, so its
       * word's register is free for A's odd column). */
      "ldr r3, [sp, #60]\n\t"
      "ldr r1, [sp, #36]\n\t"
      "lsl r2, r1, #1\n\t"
      "ldrd r4, r7, [sp, #28]\n\t"
      "ldr r12, [sp, #64]\n\t"
      "281:\n\t"
      "ldr lr, [r3, r1]\n\t"
      "ldr r6, [r3, r2]\n\t"
      "ldr r0, [r3], #4\n\t"
      "sxtab16 r10, r12, r6\n\t"
      "sxtab16 r10, r10, r6\n\t"
      "sxtab16 r11, r12, r6, ror #8\n\t"
      "sxtab16 r11, r11, r6, ror #8\n\t"
      "sxtab16 r5, r12, r0\n\t"
      "sxtab16 r5, r5, r0\n\t"
      "sxtab16 r6, r12, r0, ror #8\n\t"
      "sxtab16 r6, r6, r0, ror #8\n\t"
      "sxtab16 r8, r12, lr\n\t"
      "sxtab16 r8, r8, lr\n\t"
      "sxtab16 r9, r12, lr, ror #8\n\t"
      "sxtab16 r9, r9, lr, ror #8\n\t"
      "stm r4!, {r5, r6, r8, r9, r10, r11}\n\t"
      "cmp r4, r7\n\t"
      "bne 281b\n\t"
      "add r3, r3, r2\n\t"
      "str r3, [sp, #60]\n\t"
      "ldr r5, [sp, #40]\n\t"
      "ldr pc, [sp, #44]\n\t"
      /* 2 groups */
      "220:\n\t" TN_ASM3_TILE_START TN_ASM3_G_FIRST TN_ASM3_G TN_ASM3_TILE_END
      "bne 220b\n\t"
      "b 290f\n\t"
      /* 4 groups */
      "221:\n\t" TN_ASM3_TILE_START TN_ASM3_G_FIRST TN_ASM3_G TN_ASM3_G TN_ASM3_G
      TN_ASM3_TILE_END
      "bne 221b\n\t"
      "b 290f\n\t"
      /* the loop */
      "222:\n\t" TN_ASM3_TILE_START TN_ASM3_G_FIRST
      "ldr pc, [sp, #76]\n\t"
      "241:\n\t" TN_ASM3_G
      "242:\n\t" TN_ASM3_G
      "243:\n\t" TN_ASM3_G
      "244:\n\t" TN_ASM3_G
      "ldr r6, [sp, #32]\n\t"
      "cmp r4, r6\n\t"
      "bne 241b\n\t" TN_ASM3_TILE_END
      "bne 222b\n\t"
      "290:\n\t"
      "ldrd r0, r1, [sp, #68]\n\t"
      "ldr r2, [sp, #12]\n\t"
      "add r2, r2, r2, lsl #1\n\t"
      "add r1, r1, r2\n\t"
      "subs r0, r0, #1\n\t"
      "strd r0, r1, [sp, #68]\n\t"
      "bne 280b\n\t"
      "add sp, sp, #88\n\t"
      "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t");
}
#endif

/* ---- one pixel (an odd pixel count's last): columns [A even, A odd] per
 * group of 4 (8 bytes), then the depth % 4 rest plainly; 2 output channels
 * per pass, per group LDRD, 2 x (LDR, 2 SXTB16, 2 SMLAD). */
void tn_widen_one2(const int8_t* a, int32_t depth, int32_t offset, int16_t* cols) {
  const uint32_t offset2 = tn_pack16(2 * offset, 2 * offset);
  uint32_t* d = (uint32_t*)(void*)cols;  /* word-aligned (the fast paths check it) */
  for (int32_t g = depth >> 2; g > 0; --g, a += 4, d += 2) {
    const uint32_t xa = tn_read_u32(a);
    d[0] = tn_sxtab16(tn_sxtab16(offset2, xa), xa);
    d[1] = tn_sxtab16_ror8(tn_sxtab16_ror8(offset2, xa), xa);
  }
  int16_t* dst = (int16_t*)(void*)d;
  for (int32_t r = 0; r < (depth & 3); ++r) dst[r] = (int16_t)(2 * (a[r] + offset));
}

TN_ALWAYS_INLINE void tn_g21_run(const int16_t* c, const int16_t* cend, const int8_t** pw0,
                                 const int8_t** pw1, int32_t* p0, int32_t* p1) {
  const int8_t* w0 = *pw0;
  const int8_t* w1 = *pw1;
  int32_t a0 = *p0, a1 = *p1;
#if defined(TN_ARM_DSP_ASM)
  if (c != cend) {
    uint32_t x0, x1, u, t;
    __asm__ volatile(
        "1:\n\t"
        "ldrd %[x0], %[x1], [%[c]], #8\n\t"
        "ldr %[u], [%[w0]], #8\n\t"
        "sxtb16 %[t], %[u], ror #8\n\t"
        "sxtb16 %[u], %[u]\n\t"
        "smlad %[a0], %[u], %[x0], %[a0]\n\t"
        "smlad %[a0], %[t], %[x1], %[a0]\n\t"
        "ldr %[u], [%[w1]], #8\n\t"
        "sxtb16 %[t], %[u], ror #8\n\t"
        "sxtb16 %[u], %[u]\n\t"
        "smlad %[a1], %[u], %[x0], %[a1]\n\t"
        "smlad %[a1], %[t], %[x1], %[a1]\n\t"
        "cmp %[c], %[e]\n\t"
        "bne 1b\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [c] "+r"(c), [w0] "+r"(w0), [w1] "+r"(w1),
          [x0] "=&r"(x0), [x1] "=&r"(x1), [u] "=&r"(u), [t] "=&r"(t)
        : [e] "r"(cend)
        : "cc", "memory");
  }
#else
  for (; c != cend; c += 4) {
    const uint32_t x0 = tn_read_u32(c), x1 = tn_read_u32(c + 2);
    uint32_t u = tn_read_u32(w0);
    w0 += 8;
    a0 = tn_smlad(tn_sxtb16(u), x0, a0);
    a0 = tn_smlad(tn_sxtb16_ror8(u), x1, a0);
    u = tn_read_u32(w1);
    w1 += 8;
    a1 = tn_smlad(tn_sxtb16(u), x0, a1);
    a1 = tn_smlad(tn_sxtb16_ror8(u), x1, a1);
  }
#endif
  *pw0 = w0;
  *pw1 = w1;
  *p0 = a0;
  *p1 = a1;
}

static void tn_gemm1_body(const int8_t* weights, int32_t out_c, int32_t depth,
                          const tn_requant* q, const tn_rqf* f, const int16_t* cols, int8_t* out,
                          const int full) {
  const int32_t groups = depth >> 2, rest = depth & 3;
  const int16_t* const cend = cols + groups * 4;
  const int32_t k2 = f->k2;
  const int8_t* w = weights;
  int32_t oc = 0;
  for (; oc + 2 <= out_c; oc += 2) {
    int32_t a0 = q->bias[oc] * 2, a1 = q->bias[oc + 1] * 2;
    const int8_t* w0 = w;
    const int8_t* w1 = w + 4;  /* paired */
    tn_g21_run(cols, cend, &w0, &w1, &a0, &a1);
    w1 = w0 + rest;  /* the two tails */
    for (int32_t r = 0; r < rest; ++r) {
      a0 += cend[r] * w0[r];
      a1 += cend[r] * w1[r];
    }
    w += 2 * depth;
    const int32_t r0 = ~q->shift[oc], r1 = ~q->shift[oc + 1];
    const int32_t y0 = tn_rqf_pre(a0, q->multiplier[oc], tn_rqf_c(k2, r0), r0);
    const int32_t y1 = tn_rqf_pre(a1, q->multiplier[oc + 1], tn_rqf_c(k2, r1), r1);
    out[oc] = tn_rqf_out(f, y0, full);
    out[oc + 1] = tn_rqf_out(f, y1, full);
  }
  if (oc < out_c) {
    int32_t a0 = q->bias[oc] * 2;
    const int16_t* c = cols;
    for (; c != cend; c += 4, w += 4) {
      const uint32_t u = tn_read_u32(w);
      a0 = tn_smlad(tn_sxtb16(u), tn_read_u32(c), a0);
      a0 = tn_smlad(tn_sxtb16_ror8(u), tn_read_u32(c + 2), a0);
    }
    for (int32_t r = 0; r < rest; ++r) a0 += cend[r] * w[r];
    const int32_t r0 = ~q->shift[oc];
    out[oc] = tn_rqf_out(f, tn_rqf_pre(a0, q->multiplier[oc], tn_rqf_c(k2, r0), r0), full);
  }
}

void tn_gemm1_fast_s8_s16(const int8_t* weights, int32_t out_c, int32_t depth,
                          const tn_requant* q, const tn_rqf* f, const int16_t* cols,
                          int8_t* out) {
  tn_gemm1_body(weights, out_c, depth, q, f, cols, out, f->full);
}

#if defined(TN_ARM_DSP_ASM)
/* The depths the asm takes: 4g (g >= 2; its LDRD needs word-aligned
 * weights) and 4g + 3 (g >= 3). */
static int tn_pw_asm_shape(const int8_t* weights, int32_t groups, int32_t rest) {
  if (rest == 0) return groups >= 2 && ((uintptr_t)weights & 3) == 0;
  return rest == 3 && groups >= 3;
}

/* Whether the asm takes a whole pointwise layer: SSAT mode, depth 4g with
 * g >= 2 and word-aligned weights, an even channel count. */
static int tn_pw_layer_asm(const int8_t* weights, int32_t out_c, int32_t depth, const tn_rqf* f) {
  return f->full && (depth & 3) == 0 && tn_pw_asm_shape(weights, depth >> 2, 0) &&
         (out_c & 1) == 0;
}

static void tn_pw_job_init(tn_pw_job* j, const int8_t* weights, int32_t out_c, int32_t depth,
                           const tn_requant* q, const tn_rqf* f, const int16_t* cols,
                           int32_t cout) {
  const int32_t groups = depth >> 2, rest = depth & 3, pairs = out_c >> 1;
  j->k2 = f->k2;
  j->cout = cout;
  j->cols = cols;
  j->cend = cols + groups * 8;
  j->depth = depth;
  j->weights = weights;
  j->variant = rest == 3 ? 3 : groups == 2 ? 0 : groups == 4 ? 1 : 2;
  j->bias0 = q->bias;
  j->mult0 = q->multiplier;
  j->shift0 = q->shift;
  j->offset2 = tn_pack16(2 * q->input_offset, 2 * q->input_offset);
  j->span2 = 2 * pairs;
  j->entry = 0;
  j->loop_entry = 0;
}

/* The plan: the asm job, then what the odd channel needs. */
typedef struct {
  tn_pw_job job;
  const int8_t* weights;
  const tn_requant* q;
  const tn_rqf* f;
  const int16_t* cols;
  int32_t out_c, depth, asm_ok, cout;
} tn_gemm_plan_impl;

typedef char tn_gemm_plan_size_check[sizeof(tn_gemm_plan) >= sizeof(tn_gemm_plan_impl) ? 1 : -1];

int tn_gemm_plan_init(tn_gemm_plan* plan, const int8_t* weights, int32_t out_c, int32_t depth,
                      const tn_requant* q, const tn_rqf* f, const int16_t* cols, int32_t cout) {
  tn_gemm_plan_impl* p = (tn_gemm_plan_impl*)(void*)plan;
  const int32_t groups = depth >> 2, rest = depth & 3;
  p->weights = weights;
  p->q = q;
  p->f = f;
  p->cols = cols;
  p->out_c = out_c;
  p->depth = depth;
  p->cout = cout;
  p->asm_ok = f->full && tn_pw_asm_shape(weights, groups, rest) && out_c >= 2;
  if (p->asm_ok) {
    tn_pw_job_init(&p->job, weights, out_c, depth, q, f, cols, cout);
    p->job.input = 0;
    p->job.pixel_pairs = 1;
  }
  return p->asm_ok;
}

void tn_gemm_plan_run(tn_gemm_plan* plan, int8_t* out0) {
  tn_gemm_plan_impl* p = (tn_gemm_plan_impl*)(void*)plan;
  p->job.out0 = out0;
  tn_pw_tiles_asm(&p->job);
  if (p->out_c & 1) {
    tn_gemm_fast_body(p->weights, p->out_c - 1, p->out_c, p->depth, p->q, p->f, p->cols, out0,
                      out0 + p->cout, 1, 1);
  }
}
#else
int tn_gemm_plan_init(tn_gemm_plan* plan, const int8_t* weights, int32_t out_c, int32_t depth,
                      const tn_requant* q, const tn_rqf* f, const int16_t* cols, int32_t cout) {
  (void)plan, (void)weights, (void)out_c, (void)depth, (void)q, (void)f, (void)cols, (void)cout;
  return 0;
}

void tn_gemm_plan_run(tn_gemm_plan* plan, int8_t* out0) { (void)plan, (void)out0; }

#endif

int tn_pointwise_fast_layer(const int8_t* input, int32_t pixel_pairs, const int8_t* weights,
                            int32_t out_c, int32_t depth, const tn_requant* q, const tn_rqf* f,
                            int16_t* cols, int8_t* output) {
#if defined(TN_ARM_DSP_ASM)
  if (!tn_pw_layer_asm(weights, out_c, depth, f) || pixel_pairs <= 0) return 0;
  tn_pw_job j;
  tn_pw_job_init(&j, weights, out_c, depth, q, f, cols, out_c);
  j.input = input;
  j.pixel_pairs = pixel_pairs;
  j.out0 = output;
  tn_pw_tiles_asm(&j);
  return 1;
#else
  (void)input, (void)pixel_pairs, (void)weights, (void)out_c, (void)depth, (void)q, (void)f;
  (void)cols, (void)output;
  return 0;
#endif
}

int tn_pointwise_layer3_ok(const int8_t* weights, int32_t out_c, int32_t depth, const tn_rqf* f) {
#if defined(TN_ARM_DSP_ASM)
  return tn_pw_layer_asm(weights, out_c, depth, f);
#else
  (void)weights, (void)out_c, (void)depth, (void)f;
  return 0;
#endif
}

int tn_pointwise_fast_layer3(const int8_t* input, int32_t triples, const int8_t* weights,
                             int32_t out_c, int32_t depth, const tn_requant* q, const tn_rqf* f,
                             int16_t* cols, int8_t* output) {
#if defined(TN_ARM_DSP_ASM)
  if (!tn_pw_layer_asm(weights, out_c, depth, f) || triples <= 0) return 0;
  tn_pw3_job j;
  j.mult = j.mult0 = q->multiplier;
  j.shift = j.shift0 = q->shift;
  j.bias = j.bias0 = q->bias;
  j.out = j.out0 = output;
  j.cout = out_c;
  j.k2 = f->k2;
  j.out_end = output + out_c;
  j.cols = cols;
  j.cend = cols + 12 * (depth >> 2);
  j.depth = depth;
  j.weights = weights;
  j.entry = 0;
  j.input = input;
  j.offset2 = tn_pack16(2 * q->input_offset, 2 * q->input_offset);
  j.triples = triples;
  j.loop_entry = 0;
  j.pad_[0] = j.pad_[1] = 0;
  tn_pw3_tiles_asm(&j);
  return 1;
#else
  (void)input, (void)triples, (void)weights, (void)out_c, (void)depth, (void)q, (void)f;
  (void)cols, (void)output;
  return 0;
#endif
}

void tn_gemm_fast_s8_s16(const int8_t* weights, int32_t out_c, int32_t depth, const tn_requant* q,
                         const tn_rqf* f, const int16_t* cols, int8_t* out0, int8_t* out1) {
  if (f->full) {
    if (out1 != 0) {
      int32_t oc = 0;
#if defined(TN_ARM_DSP_ASM)
      const int32_t groups = depth >> 2, pairs = out_c >> 1;
      const int32_t rest = depth & 3;
      if (tn_pw_asm_shape(weights, groups, rest) && pairs > 0) {
        tn_pw_job j;
        tn_pw_job_init(&j, weights, out_c, depth, q, f, cols, (int32_t)(out1 - out0));
        j.input = 0;
        j.pixel_pairs = 1;
        j.out0 = out0;
        tn_pw_tiles_asm(&j);
        oc = 2 * pairs;
        if (oc == out_c) return;
      }
#endif
      tn_gemm_fast_body(weights, oc, out_c, depth, q, f, cols, out0, out1, 1, 1);
      return;
    }
  }
  tn_gemm_fast_body(weights, 0, out_c, depth, q, f, cols, out0, out1, f->full, out1 != 0);
}

#else /* portable */

/* The four sums of products of a channel pair's paired weights `w`
 * (tn_pair_weights) with columns col0 and col1, added to the accumulators
 * (acc<channel><column>). */
__attribute__((noinline)) static void tn_pair_dot(const int8_t* w, const int16_t* col0,
                                                 const int16_t* col1, int32_t depth, int32_t* a00,
                                                 int32_t* a01, int32_t* a10, int32_t* a11) {
  int32_t s00 = *a00, s01 = *a01, s10 = *a10, s11 = *a11;
  const int32_t full = depth & ~3, rest = depth & 3;
  for (int32_t k = 0; k < full; k += 4, w += 8) {
    for (int32_t i = 0; i < 4; ++i) {
      const int32_t a = col0[k + i], b = col1[k + i], u = w[i], v = w[4 + i];
      s00 += a * u;
      s01 += b * u;
      s10 += a * v;
      s11 += b * v;
    }
  }
  for (int32_t i = 0; i < rest; ++i) {
    const int32_t a = col0[full + i], b = col1[full + i], u = w[i], v = w[rest + i];
    s00 += a * u;
    s01 += b * u;
    s10 += a * v;
    s11 += b * v;
  }
  *a00 = s00, *a01 = s01, *a10 = s10, *a11 = s11;
}

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
    int32_t acc00 = (o.bias != 0 ? o.bias[oc] : 0), acc01 = acc00;
    int32_t acc10 = (o.bias != 0 ? o.bias[oc + 1] : 0), acc11 = acc10;
    tn_pair_dot(weights + oc * depth, col0, col1, depth, &acc00, &acc01, &acc10, &acc11);
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


void tn_widen_pair2(const int8_t* a, const int8_t* b, int32_t depth, int32_t offset,
                    int16_t* cols) {
  for (int32_t k = 0; k < depth; ++k) {
    cols[k] = (int16_t)(2 * (a[k] + offset));
    cols[depth + k] = (int16_t)(2 * (b[k] + offset));
  }
}

TN_ALWAYS_INLINE void tn_gemm_fast_body(const int8_t* weights, int32_t out_c, int32_t depth,
                                        const tn_requant* q, const tn_rqf* f, const int16_t* cols,
                                        int8_t* out0, int8_t* out1, const int full) {
  const int16_t* col0 = cols;
  const int16_t* col1 = cols + depth;
  const int32_t k2 = f->k2;
  int32_t oc = 0;
  for (; oc + 2 <= out_c; oc += 2) {
    int32_t acc00 = q->bias[oc] * 2, acc01 = acc00;
    int32_t acc10 = q->bias[oc + 1] * 2, acc11 = acc10;
    tn_pair_dot(weights + oc * depth, col0, col1, depth, &acc00, &acc01, &acc10, &acc11);
    const int32_t m0 = q->multiplier[oc], m1 = q->multiplier[oc + 1];
    const int32_t r0 = ~q->shift[oc], r1 = ~q->shift[oc + 1];
    const int32_t c0 = tn_rqf_c(k2, r0), c1 = tn_rqf_c(k2, r1);
    const int8_t y00 = tn_rqf_out(f, tn_rqf_pre(acc00, m0, c0, r0), full);
    const int8_t y10 = tn_rqf_out(f, tn_rqf_pre(acc10, m1, c1, r1), full);
    out0[oc] = y00;
    out0[oc + 1] = y10;
    if (out1 != 0) {
      const int8_t y01 = tn_rqf_out(f, tn_rqf_pre(acc01, m0, c0, r0), full);
      const int8_t y11 = tn_rqf_out(f, tn_rqf_pre(acc11, m1, c1, r1), full);
      out1[oc] = y01;
      out1[oc + 1] = y11;
    }
  }
  if (oc < out_c) {
    const int8_t* w0 = weights + oc * depth;
    int32_t acc0 = q->bias[oc] * 2, acc1 = acc0;
    for (int32_t k = 0; k < depth; ++k) {
      acc0 += col0[k] * w0[k];
      acc1 += col1[k] * w0[k];
    }
    const int32_t m0 = q->multiplier[oc], r0 = ~q->shift[oc], c0 = tn_rqf_c(k2, r0);
    out0[oc] = tn_rqf_out(f, tn_rqf_pre(acc0, m0, c0, r0), full);
    if (out1 != 0) out1[oc] = tn_rqf_out(f, tn_rqf_pre(acc1, m0, c0, r0), full);
  }
}

void tn_gemm_fast_s8_s16(const int8_t* weights, int32_t out_c, int32_t depth, const tn_requant* q,
                         const tn_rqf* f, const int16_t* cols, int8_t* out0, int8_t* out1) {
  if (f->full) {
    tn_gemm_fast_body(weights, out_c, depth, q, f, cols, out0, out1, 1);
  } else {
    tn_gemm_fast_body(weights, out_c, depth, q, f, cols, out0, out1, 0);
  }
}


void tn_widen_one2(const int8_t* a, int32_t depth, int32_t offset, int16_t* cols) {
  for (int32_t k = 0; k < depth; ++k) cols[k] = (int16_t)(2 * (a[k] + offset));
}

void tn_gemm1_fast_s8_s16(const int8_t* weights, int32_t out_c, int32_t depth,
                          const tn_requant* q, const tn_rqf* f, const int16_t* cols,
                          int8_t* out) {
  const int32_t k2 = f->k2;
  int32_t oc = 0;
  for (; oc + 2 <= out_c; oc += 2) {  /* pairs, the one column as both */
    int32_t a0 = q->bias[oc] * 2, a1 = q->bias[oc + 1] * 2, d0 = a0, d1 = a1;
    tn_pair_dot(weights + oc * depth, cols, cols, depth, &a0, &d0, &a1, &d1);
    const int32_t r0 = ~q->shift[oc], r1 = ~q->shift[oc + 1];
    out[oc] = tn_rqf_out(f, tn_rqf_pre(a0, q->multiplier[oc], tn_rqf_c(k2, r0), r0), f->full);
    out[oc + 1] = tn_rqf_out(f, tn_rqf_pre(a1, q->multiplier[oc + 1], tn_rqf_c(k2, r1), r1), f->full);
  }
  if (oc < out_c) {  /* an odd last channel: plain */
    const int8_t* w = weights + oc * depth;
    int32_t acc = q->bias[oc] * 2;
    for (int32_t k = 0; k < depth; ++k) acc += cols[k] * w[k];
    const int32_t r = ~q->shift[oc];
    out[oc] = tn_rqf_out(f, tn_rqf_pre(acc, q->multiplier[oc], tn_rqf_c(k2, r), r), f->full);
  }
}


int tn_pointwise_fast_layer(const int8_t* input, int32_t pixel_pairs, const int8_t* weights,
                            int32_t out_c, int32_t depth, const tn_requant* q, const tn_rqf* f,
                            int16_t* cols, int8_t* output) {
  (void)input, (void)pixel_pairs, (void)weights, (void)out_c, (void)depth, (void)q, (void)f;
  (void)cols, (void)output;
  return 0;
}

int tn_pointwise_fast_layer3(const int8_t* input, int32_t triples, const int8_t* weights,
                             int32_t out_c, int32_t depth, const tn_requant* q, const tn_rqf* f,
                             int16_t* cols, int8_t* output) {
  (void)input, (void)triples, (void)weights, (void)out_c, (void)depth, (void)q, (void)f;
  (void)cols, (void)output;
  return 0;
}

int tn_pointwise_layer3_ok(const int8_t* weights, int32_t out_c, int32_t depth, const tn_rqf* f) {
  (void)weights, (void)out_c, (void)depth, (void)f;
  return 0;
}

int tn_gemm_plan_init(tn_gemm_plan* plan, const int8_t* weights, int32_t out_c, int32_t depth,
                      const tn_requant* q, const tn_rqf* f, const int16_t* cols, int32_t cout) {
  (void)plan, (void)weights, (void)out_c, (void)depth, (void)q, (void)f, (void)cols, (void)cout;
  return 0;
}

void tn_gemm_plan_run(tn_gemm_plan* plan, int8_t* out0) { (void)plan, (void)out0; }


#endif /* TN_USE_DSP */
