/*
 * Private: what the optimised kernels share. The inline requantisations (they
 * run once per output, so their common case is a few instructions and no
 * call): TFLite's with a short path (tn_rq_*, the general paths) and the fast
 * one the optimised paths use when a layer's parameters allow it (tn_rqf_*);
 * and the im2col GEMM cores that pointwise and conv2d both run.
 */
#ifndef TN_INTERNAL_H
#define TN_INTERNAL_H

#include <stdint.h>

#include "tn_dsp.h"
#include "tn_runtime.h"

/* (a * b + 2^31) >> 32, rounded high word of the product: SMMULR on Arm DSP
 * cores, the same arithmetic in C elsewhere. */
TN_ALWAYS_INLINE int32_t tn_smmulr(int32_t a, int32_t b) {
#if defined(TN_USE_DSP) && !defined(TN_DSP_EMULATED)
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
#else
  return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
#endif
}

/* tn_multiply_by_quantized_multiplier with a short path for what real layers
 * have: a right shift of 1..30 and |acc| below 2^30. There
 * - the high multiply (acc * m + 2^30) >> 31 is (2 acc * m + 2^31) >> 32, one
 *   SMMULR, and cannot saturate (2 acc fits int32, acc != INT32_MIN);
 * - its result x has |x| <= 2^30, so the round-half-away divide is
 *   (x + 2^(r-1) - (x < 0)) >> r without overflow: three instructions instead
 *   of the remainder/threshold compare.
 * Everything else (left shifts, shift 0 or -31, huge accumulators) takes the
 * reference helper. Bit-exact either way; the tests sweep both sides of every
 * boundary. The per-channel part is prepared once (tn_rq_channel_of), so an
 * output costs a range check, LSL, SMMULR and three ALU instructions. */
typedef struct {
  int32_t multiplier, shift;
  int32_t right, nudge;  /* the short path's shift and 2^(right-1) */
  uint32_t limit, span;  /* short path iff acc + limit < span (unsigned); 0, 0: never */
} tn_rq_channel;

TN_ALWAYS_INLINE tn_rq_channel tn_rq_channel_of(int32_t multiplier, int32_t shift) {
  tn_rq_channel c;
  const int32_t right = -shift;
  const int short_path = (uint32_t)(right - 1) < 30u;
  c.multiplier = multiplier;
  c.shift = shift;
  c.right = short_path ? right : 1;
  c.nudge = short_path ? (int32_t)1 << (right - 1) : 0;
  c.limit = short_path ? 0x40000000u : 0u;
  c.span = short_path ? 0x80000000u : 0u;
  return c;
}

TN_ALWAYS_INLINE int32_t tn_rq_channel_scale(const tn_rq_channel* c, int32_t acc) {
  if (TN_LIKELY((uint32_t)acc + c->limit < c->span)) {
    const int32_t x = tn_smmulr((int32_t)((uint32_t)acc << 1), c->multiplier);
    return (x + c->nudge + (x >> 31)) >> c->right;
  }
  return tn_multiply_by_quantized_multiplier(acc, c->multiplier, c->shift);
}

/* The same for a one-off multiplier and shift. */
TN_ALWAYS_INLINE int32_t tn_rq_scale(int32_t acc, int32_t multiplier, int32_t shift) {
  const int32_t right = -shift;
  if (TN_LIKELY((uint32_t)(right - 1) < 30u && (uint32_t)acc + 0x40000000u < 0x80000000u)) {
    const int32_t x = tn_smmulr((int32_t)((uint32_t)acc << 1), multiplier);
    return (x + ((int32_t)1 << (right - 1)) + (x >> 31)) >> right;
  }
  return tn_multiply_by_quantized_multiplier(acc, multiplier, shift);
}

TN_ALWAYS_INLINE int8_t tn_clamp_s8(int32_t y, int32_t act_min, int32_t act_max) {
  y = y < act_min ? act_min : y;
  y = y > act_max ? act_max : y;
  return (int8_t)y;
}

/* ---- the fast requantisation (tn_rqf): ~5 instructions per output
 *
 * For a layer whose parameters pass tn_rqf_init (every channel: multiplier
 * m >= 0, shift in [-22, -1], |bias| < 2^28; and every accumulator's sum of
 * products below 2^28 in magnitude, so |acc| < 2^29), with r = -shift and
 * A = 2 * acc (exact: |A| < 2^30):
 *
 *   y = ((SMMLAR(A, m, C + (A >> 31)) >> (r - 1)) >> 1) + (clamp)
 *   C = (2K + 1) << (r - 1),  K = output_offset (SSAT mode, the activation
 *       range is all of int8) or output_offset - act_min (USAT mode)
 *
 * equals TFLite's MultiplyByQuantizedMultiplier(acc, m, shift) + K, clamped:
 *
 * 1. SaturatingRoundingDoublingHighMul(acc, m) = floor((acc*m + 2^30) / 2^31)
 *    for every acc, m but INT32_MIN * INT32_MIN: gemmlowp's nudge for a
 *    negative product, 1 - 2^30 with a division truncating toward zero, is
 *    ceil((p + 1 - 2^30) / 2^31) = floor((p + 2^30) / 2^31) for integer p.
 *    SMMULR(A, m) = floor((2*acc*m + 2^31) / 2^32) is the same number x, and
 *    SMMLAR adds its accumulator operand to it.
 * 2. RoundingDivideByPOT(x, r) = (x + 2^(r-1) - [x < 0]) >> r for r >= 1
 *    (round half away from zero, arithmetic shift = floor). With m >= 0,
 *    x < 0 implies acc < 0, and acc < 0 implies x <= 0; where x = 0 both
 *    corrections give (2^(r-1) - [.]) >> r = 0. So [x < 0] may be [A < 0],
 *    which is -(A >> 31), known before the multiply.
 * 3. K * 2^r added before the shift is K added after it (a multiple of 2^r
 *    commutes with floor), and (v >> (r-1)) >> 1 = v >> r.
 * 4. No step wraps: |x| <= |acc| + 1 < 2^29 + 1, |C| < 511 * 2^21 < 2^30.
 *
 * SSAT #8 (its ASR #1 is step 3's last shift) then clamps to int8, which is
 * the activation range in SSAT mode; USAT mode clamps to [0, 255] first, then
 * to act_max - act_min, and adds act_min back. The tests sweep ties at every
 * shift, both signs, and the boundaries of every condition. */
typedef struct {
  int32_t k2;       /* 2K + 1 */
  int32_t act_min;  /* USAT mode: added back after the clamp */
  int32_t range;    /* USAT mode: act_max - act_min */
  int32_t full;     /* SSAT mode: the activation range is [-128, 127] */
} tn_rqf;

/* 1 (and f filled) when the fast requantisation is exact for channels
 * [0, channels) of q and accumulators whose sum of products (bias excluded)
 * is at most max_abs_sum in magnitude; 0 otherwise (also for a NULL bias). */
int tn_rqf_init(tn_rqf* f, const tn_requant* q, int32_t channels, int64_t max_abs_sum);

/* Per channel: C of the formula, and r - 1 = ~shift. */
TN_ALWAYS_INLINE int32_t tn_rqf_c(int32_t k2, int32_t rm) {
  return (int32_t)((uint32_t)k2 << rm);
}

/* The doubled accumulator through SMMLAR and the first shift. */
TN_ALWAYS_INLINE int32_t tn_rqf_pre(int32_t acc2, int32_t m, int32_t c, int32_t rm) {
  return tn_smmlar(acc2, m, c + (acc2 >> 31)) >> rm;
}

/* The last shift and the clamp; `full` a compile-time constant. */
TN_ALWAYS_INLINE int8_t tn_rqf_out(const tn_rqf* f, int32_t pre, int full) {
  if (full) return (int8_t)tn_ssat8_asr1(pre);
  int32_t y = tn_usat8_asr1(pre);
  y = y > f->range ? f->range : y;
  return (int8_t)(y + f->act_min);
}

/* The output side of a tn_requant, copied into locals once per kernel call:
 * every int8 store may alias anything, so fields read through the pointer
 * would be reloaded after each output. */
typedef struct {
  const int32_t* bias;
  const int32_t* multiplier;
  const int32_t* shift;
  int32_t output_offset, act_min, act_max;
} tn_out_q;

TN_ALWAYS_INLINE tn_out_q tn_out_q_of(const tn_requant* q) {
  tn_out_q o;
  o.bias = q->bias;
  o.multiplier = q->multiplier;
  o.shift = q->shift;
  o.output_offset = q->output_offset;
  o.act_min = q->act_min;
  o.act_max = q->act_max;
  return o;
}

/* Accumulator (bias already in) -> int8, for channel multiplier m, shift s. */
TN_ALWAYS_INLINE int8_t tn_requant_out(int32_t acc, int32_t m, int32_t s, const tn_out_q* o) {
  return tn_clamp_s8(tn_rq_scale(acc, m, s) + o->output_offset, o->act_min, o->act_max);
}

/* Accumulator (bias already in) -> int8 output of channel `oc`. */
TN_ALWAYS_INLINE int8_t tn_requant_s8(int32_t acc, const tn_requant* q, int32_t oc) {
  return tn_clamp_s8(tn_rq_scale(acc, q->multiplier[oc], q->shift[oc]) + q->output_offset,
                     q->act_min, q->act_max);
}

TN_ALWAYS_INLINE int32_t tn_bias(const tn_requant* q, int32_t oc) {
  return q->bias != 0 ? q->bias[oc] : 0;
}

/* ---- the GEMM core of pointwise and conv2d (tn_gemm.c)
 *
 * out[px][oc] = requant(bias[oc] + sum_k col_px[k] * weights[oc][k]) for two
 * pixels, where col_px[k] = x + input_offset (0 for padding) widened to int16.
 * The column layout in `cols` (2 * depth int16) depends on the path:
 * - DSP: per group of 4 k, 16 bytes [A(x0,x2) A(x1,x3) B(x0,x2) B(x1,x3)] --
 *   the two pixels interleaved so one pointer walks both, and each pixel's
 *   pairs in the even/odd order that SXTB16 / SXTB16 ROR #8 extract from a
 *   weight word, so the weights need no reordering; the last depth % 4 values
 *   follow plainly, pixel A's then pixel B's;
 * - portable: pixel A's depth values, then pixel B's.
 * out1 == NULL: only pixel A is stored (the columns must still both be valid). */
void tn_gemm_s8_s16(const int8_t* weights, int32_t out_c, int32_t depth, const tn_requant* q,
                    const int16_t* cols, int8_t* out0, int8_t* out1);

/* The same product with the fast requantisation (f from tn_rqf_init for q and
 * this depth) and doubled columns: col_px[k] = 2 * (x + input_offset), in
 * the fast layout (tn_gemm.c: like the above but a 3-rest of its own). The
 * DSP build needs cols 4-byte aligned. */
void tn_gemm_fast_s8_s16(const int8_t* weights, int32_t out_c, int32_t depth, const tn_requant* q,
                         const tn_rqf* f, const int16_t* cols, int8_t* out0, int8_t* out1);

/* A prepared tn_gemm_fast_s8_s16 for many pixel pairs of the same layer
 * (conv2d): init once (1 where the Arm asm applies: SSAT mode, depth 4g with
 * g >= 2 or 4g + 3 with g >= 3, out_c >= 2; 0 elsewhere, and always off Arm),
 * then run per pixel pair with both columns widened into `cols` and out1 at
 * out0 + cout. */
typedef struct {
  uint32_t opaque[40];
} tn_gemm_plan;
int tn_gemm_plan_init(tn_gemm_plan* plan, const int8_t* weights, int32_t out_c, int32_t depth,
                      const tn_requant* q, const tn_rqf* f, const int16_t* cols, int32_t cout);
void tn_gemm_plan_run(tn_gemm_plan* plan, int8_t* out0);
/* Pointwise's pixel pairs [0, pixel_pairs) all at once (input: pixel 0;
 * output: its first output) where the Arm asm handles the whole layer (SSAT
 * mode, depth a multiple of 4 and >= 8, even out_c); 0 when it does not
 * (then nothing was written), always 0 off Arm. */
int tn_pointwise_fast_layer(const int8_t* input, int32_t pixel_pairs, const int8_t* weights,
                            int32_t out_c, int32_t depth, const tn_requant* q, const tn_rqf* f,
                            int16_t* cols, int8_t* output);

/* The same three pixels per pass: pixel triples [0, triples), cols holding
 * 6 * depth bytes (the caller checks the scratch is that large). */
int tn_pointwise_fast_layer3(const int8_t* input, int32_t triples, const int8_t* weights,
                             int32_t out_c, int32_t depth, const tn_requant* q, const tn_rqf* f,
                             int16_t* cols, int8_t* output);
/* Whether tn_pointwise_fast_layer(3) takes a layer of these weights (always 0
 * off Arm). */
int tn_pointwise_layer3_ok(const int8_t* weights, int32_t out_c, int32_t depth, const tn_rqf* f);

/* One pixel's product: cols from tn_widen_one2 (2 * (x + input_offset); DSP
 * layout per group of 4 (even pair, odd pair), then the rest). */
void tn_widen_one2(const int8_t* a, int32_t depth, int32_t offset, int16_t* cols);
void tn_gemm1_fast_s8_s16(const int8_t* weights, int32_t out_c, int32_t depth,
                          const tn_requant* q, const tn_rqf* f, const int16_t* cols,
                          int8_t* out);

/* Index of element k of pixel `px` (0 or 1) in the layout above. */
TN_ALWAYS_INLINE int32_t tn_col_index(int32_t depth, int32_t px, int32_t k) {
#if defined(TN_USE_DSP)
  const int32_t full = depth & ~3;
  if (k < full) return (k & ~3) * 2 + px * 4 + (k & 1) * 2 + ((k >> 1) & 1);
  return full * 2 + px * (depth - full) + (k - full);
#else
  return px * depth + k;
#endif
}

/* Writes elements k0 .. k0+n-1 of pixel px's column: src[i] + offset widened
 * to int16, or zeros (padding) when src is NULL. Any k0 and n; runs of whole
 * groups of 4 starting at a multiple of 4 take the SXTAB16 path. */
void tn_widen_column(const int8_t* src, int32_t n, int32_t offset, int16_t* cols, int32_t depth,
                     int32_t px, int32_t k0);

/* Both columns of a pixel pair at once (the whole depth, doubled values) in
 * the fast layout, for tn_gemm_fast_s8_s16 and tn_gemm_plan_run. */
void tn_widen_pair2(const int8_t* a, const int8_t* b, int32_t depth, int32_t offset,
                    int16_t* cols);

/* Argument checks shared by the reference and the optimised kernels, so both
 * return the same status for the same parameters. */
tn_status tn_check_requant(const tn_requant* q);

#endif /* TN_INTERNAL_H */
