/*
 * Depthwise k x k convolution, one channel at a time (TinyEngine's in-place
 * scheme): copy the channel into the scratch as a padded (H+2p) x (W+2p) int8
 * image, then compute that channel's outputs into buffer[(y*out.w + x)*c + ch].
 * In place, output pixel i only ever overwrites input pixel i of the channel
 * just copied out, so one buffer holds input and output.
 *
 * The padding holds the input zero point z = -input_offset, and the kernels
 * multiply raw int8 values: sum((x + off) * w) = sum(x * w) + off * sum(w) over
 * every tap, padding included, because (z + off) * w = 0 there. So
 * off * sum(w) joins the bias once per channel and the inner loops carry no
 * offset at all.
 *
 * DSP path: two neighbouring outputs per step, each kernel row read with
 * unaligned word loads split by SXTB16 / SXTB16 ROR #8 into even/odd int16
 * pairs that both outputs share, weights pre-packed into matching pairs:
 *   k=3 s=1: 1 LDR, 2 SXTB16, 2 SMLAD, 2 SMLAxB (6 MACs)
 *   k=3 s=2: 2 LDR, 3 SXTB16, 2 SMLAD, 2 SMLAxB (6 MACs)
 *   k=5 s=1: 2 LDR, 4 SXTB16, 4 SMLAD, 2 SMLAxB (10 MACs)
 *   k=5 s=2: 3 LDR, 5 SXTB16, 4 SMLAD, 2 SMLAxB (10 MACs)
 *   k=7 s=1: 3 LDR, 5 SXTB16, 6 SMLAD, 2 SMLAxB (14 MACs)
 *   k=7 s=2: 4 LDR, 7 SXTB16, 6 SMLAD, 2 SMLAxB (14 MACs)
 * per kernel row, plus the loads of that row's packed weights. A stride-2 pair
 * reads at most one byte past its last tap, so the copy leaves 4 zero bytes
 * after the image (inside the scratch's 2*out.w*4 tail, which this kernel
 * otherwise does not need).
 * Measured under QEMU on the M4 build (16x16x48, GCC 12 -O2), whole kernel:
 * about 50 instructions per output for k=3 s=1 and 130 for k=7 s=1, of which
 * the requantisation and store are ~20 and the channel copy ~4.
 * Portable path: the same padded copy and bias folding, one output at a time,
 * with k and the stride compile-time constants for k = 3, 5, 7 and stride 1, 2
 * so the compiler can unroll the taps.
 */
#include "tn_internal.h"

int32_t tn_depthwise_s8_get_buffer_size(const tn_depthwise_params* p) {
  return (p->in.h + 2 * p->padding) * (p->in.w + 2 * p->padding) + 2 * p->out.w * 4;
}

/* One channel's work. */
typedef struct {
  const int8_t* image;  /* padded channel, `pitch` bytes per row */
  int32_t pitch;
  const int8_t* weights;  /* this channel's k*k */
  int8_t* out;            /* this channel's first output */
  int32_t out_h, out_w, out_step;  /* out_step: bytes between output pixels (c) */
  int32_t bias, output_offset, act_min, act_max;
  tn_rq_channel rq;
#if defined(TN_USE_DSP)
  /* Per kernel row: (w0,w2), (w1,w3), (w4,w6), and the odd tap out:
   * w1 (k=3), w4 (k=5), w5 (k=7) in lane 0. */
  uint32_t packed[7 * 4];
#endif
} tn_dw_job;

TN_ALWAYS_INLINE int8_t tn_dw_requant(const tn_dw_job* j, int32_t acc) {
  return tn_clamp_s8(tn_rq_channel_scale(&j->rq, acc) + j->output_offset, j->act_min, j->act_max);
}

/* Fully unrolled kernel rows (k <= 7) let the packed weights be addressed
 * with constant offsets. */
#if defined(__GNUC__) && !defined(__clang__)
#define TN_UNROLL7 _Pragma("GCC unroll 7")
#else
#define TN_UNROLL7
#endif

/* One output, any k: the fallback and the odd last column. */
TN_ALWAYS_INLINE int32_t tn_dw_point(const int8_t* r, int32_t pitch, const int8_t* w, int32_t k,
                                     int32_t acc) {
  for (int32_t ky = 0; ky < k; ++ky, r += pitch, w += k) {
    for (int32_t kx = 0; kx < k; ++kx) acc += r[kx] * w[kx];
  }
  return acc;
}

#if defined(TN_USE_DSP)

static void tn_dw_pack_weights(tn_dw_job* j, int32_t k) {
  for (int32_t ky = 0; ky < k && k <= 7; ++ky) {
    const int8_t* w = j->weights + ky * k;
    int32_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int32_t kx = 0; kx < k; ++kx) t[kx] = w[kx];
    uint32_t* d = j->packed + ky * 4;
    d[0] = tn_pack16(t[0], t[2]);
    d[1] = tn_pack16(t[1], t[3]);
    d[2] = tn_pack16(t[4], t[6]);
    d[3] = tn_pack16(k == 3 ? t[1] : k == 5 ? t[4] : t[5], 0);
  }
}

/* Even and odd int16 pairs of the 4 bytes at r + o: (r[o], r[o+2]), (r[o+1], r[o+3]). */
#define TN_LOAD_EO(e, o, r, off)          \
  const uint32_t e##_w = tn_read_u32((r) + (off)); \
  const uint32_t e = tn_sxtb16(e##_w);     \
  const uint32_t o = tn_sxtb16_ror8(e##_w)

/* Outputs x and x+1 of one kernel row starting at r (output x's first tap),
 * k and s compile-time constants after inlining. See the table at the top;
 * E<n>/O<n> are the even/odd pairs of the word at r + n. */
TN_ALWAYS_INLINE void tn_dw_row_pair(const int8_t* r, const uint32_t* wp, int32_t k, int32_t s,
                                     int32_t* acc0, int32_t* acc1) {
  int32_t a0 = *acc0, a1 = *acc1;
  if (k == 3 && s == 1) {  /* taps r0..r2 and r1..r3 */
    TN_LOAD_EO(e0, o0, r, 0);
    a0 = tn_smlad(e0, wp[0], a0);
    a0 = tn_smlabb(o0, wp[3], a0);  /* r1 w1 */
    a1 = tn_smlad(o0, wp[0], a1);
    a1 = tn_smlatb(e0, wp[3], a1);  /* r2 w1 */
  } else if (k == 3 && s == 2) {  /* r0..r2 and r2..r4 */
    TN_LOAD_EO(e0, o0, r, 0);
    const uint32_t e2 = tn_sxtb16(tn_read_u32(r + 2));
    a0 = tn_smlad(e0, wp[0], a0);
    a0 = tn_smlabb(o0, wp[3], a0);  /* r1 w1 */
    a1 = tn_smlad(e2, wp[0], a1);
    a1 = tn_smlatb(o0, wp[3], a1);  /* r3 w1 */
  } else if (k == 5 && s == 1) {  /* r0..r4 and r1..r5 */
    TN_LOAD_EO(e0, o0, r, 0);
    TN_LOAD_EO(e2, o2, r, 2);
    a0 = tn_smlad(e0, wp[0], a0);
    a0 = tn_smlad(o0, wp[1], a0);
    a0 = tn_smlatb(e2, wp[3], a0);  /* r4 w4 */
    a1 = tn_smlad(o0, wp[0], a1);
    a1 = tn_smlad(e2, wp[1], a1);
    a1 = tn_smlatb(o2, wp[3], a1);  /* r5 w4 */
  } else if (k == 5 && s == 2) {  /* r0..r4 and r2..r6 */
    TN_LOAD_EO(e0, o0, r, 0);
    TN_LOAD_EO(e2, o2, r, 2);
    const uint32_t e4 = tn_sxtb16(tn_read_u32(r + 4));
    a0 = tn_smlad(e0, wp[0], a0);
    a0 = tn_smlad(o0, wp[1], a0);
    a0 = tn_smlabb(e4, wp[3], a0);  /* r4 w4 */
    a1 = tn_smlad(e2, wp[0], a1);
    a1 = tn_smlad(o2, wp[1], a1);
    a1 = tn_smlatb(e4, wp[3], a1);  /* r6 w4 */
  } else if (k == 7 && s == 1) {  /* r0..r6 and r1..r7 */
    TN_LOAD_EO(e0, o0, r, 0);
    TN_LOAD_EO(e4, o4, r, 4);
    const uint32_t e2 = tn_sxtb16(tn_read_u32(r + 2));
    a0 = tn_smlad(e0, wp[0], a0);
    a0 = tn_smlad(o0, wp[1], a0);
    a0 = tn_smlad(e4, wp[2], a0);
    a0 = tn_smlabb(o4, wp[3], a0);  /* r5 w5 */
    a1 = tn_smlad(o0, wp[0], a1);
    a1 = tn_smlad(e2, wp[1], a1);
    a1 = tn_smlad(o4, wp[2], a1);
    a1 = tn_smlatb(e4, wp[3], a1);  /* r6 w5 */
  } else if (k == 7 && s == 2) {  /* r0..r6 and r2..r8 */
    TN_LOAD_EO(e0, o0, r, 0);
    TN_LOAD_EO(e2, o2, r, 2);
    TN_LOAD_EO(e4, o4, r, 4);
    const uint32_t e6 = tn_sxtb16(tn_read_u32(r + 6));
    a0 = tn_smlad(e0, wp[0], a0);
    a0 = tn_smlad(o0, wp[1], a0);
    a0 = tn_smlad(e4, wp[2], a0);
    a0 = tn_smlabb(o4, wp[3], a0);  /* r5 w5 */
    a1 = tn_smlad(e2, wp[0], a1);
    a1 = tn_smlad(o2, wp[1], a1);
    a1 = tn_smlad(e6, wp[2], a1);
    a1 = tn_smlatb(o4, wp[3], a1);  /* r7 w5 */
  }
  *acc0 = a0;
  *acc1 = a1;
}

#endif /* TN_USE_DSP */

/* All outputs of one channel. `specialised`: k in {3,5,7}, s in {1,2}, both
 * compile-time constants here, so the row loops unroll. */
TN_ALWAYS_INLINE void tn_dw_channel(const tn_dw_job* j, int32_t k, int32_t s, int specialised) {
  for (int32_t y = 0; y < j->out_h; ++y) {
    const int8_t* r = j->image + y * s * j->pitch;
    int8_t* o = j->out + y * j->out_w * j->out_step;
    int32_t x = 0;
#if defined(TN_USE_DSP)
    if (specialised) {
      for (; x + 2 <= j->out_w; x += 2, r += 2 * s, o += 2 * j->out_step) {
        int32_t acc0 = j->bias, acc1 = j->bias;
        const int8_t* row = r;
        TN_UNROLL7
        for (int32_t ky = 0; ky < k; ++ky, row += j->pitch) {
          tn_dw_row_pair(row, j->packed + ky * 4, k, s, &acc0, &acc1);
        }
        o[0] = tn_dw_requant(j, acc0);
        o[j->out_step] = tn_dw_requant(j, acc1);
      }
    }
#else
    (void)specialised;
#endif
    for (; x < j->out_w; ++x, r += s, o += j->out_step) {
      o[0] = tn_dw_requant(j, tn_dw_point(r, j->pitch, j->weights, k, j->bias));
    }
  }
}

/* Channel `ch` of `input` into the padded image; `pad` fills the border. The
 * side borders are a few bytes per row, written inline rather than through
 * two memset calls per row. */
static void tn_dw_copy_channel(const int8_t* input, const tn_dims* in, int32_t ch, int32_t padding,
                               int8_t pad, int8_t* image) {
  const int32_t pitch = in->w + 2 * padding, c = in->c;
  memset(image, pad, (size_t)(padding * pitch));
  int8_t* row = image + padding * pitch;
  const int8_t* src = input + ch;
  for (int32_t y = 0; y < in->h; ++y, row += pitch) {
    for (int32_t i = 0; i < padding; ++i) row[i] = pad;
    int8_t* dst = row + padding;
    int32_t x = 0;
    for (; x + 4 <= in->w; x += 4, src += 4 * c) {
      dst[x] = src[0];
      dst[x + 1] = src[c];
      dst[x + 2] = src[2 * c];
      dst[x + 3] = src[3 * c];
    }
    for (; x < in->w; ++x, src += c) dst[x] = src[0];
    for (int32_t i = 0; i < padding; ++i) dst[in->w + i] = pad;
  }
  memset(row, pad, (size_t)(padding * pitch));
  /* The DSP pairs' word loads may read up to 3 bytes past the image. */
  memset(row + padding * pitch, 0, 4);
}

static tn_status tn_depthwise_run(const tn_depthwise_params* p, const int8_t* input,
                                  int8_t* output, int8_t* scratch) {
  const int32_t k = p->kernel, s = p->stride, c = p->in.c;
  const int32_t offset = p->q.input_offset;
  tn_dw_job j;
  j.image = scratch;
  j.pitch = p->in.w + 2 * p->padding;
  j.out_h = p->out.h;
  j.out_w = p->out.w;
  j.out_step = c;
  j.output_offset = p->q.output_offset;
  j.act_min = p->q.act_min;
  j.act_max = p->q.act_max;
  for (int32_t ch = 0; ch < c; ++ch) {
    tn_dw_copy_channel(input, &p->in, ch, p->padding, (int8_t)(-offset), scratch);
    j.weights = p->weights + ch * k * k;
    int32_t weight_sum = 0;
    for (int32_t i = 0; i < k * k; ++i) weight_sum += j.weights[i];
    j.bias = (int32_t)((uint32_t)tn_bias(&p->q, ch) + (uint32_t)(offset * weight_sum));
    j.rq = tn_rq_channel_of(p->q.multiplier[ch], p->q.shift[ch]);
    j.out = output + ch;
#if defined(TN_USE_DSP)
    tn_dw_pack_weights(&j, k);
#endif
    if (k == 3 && s == 1) {
      tn_dw_channel(&j, 3, 1, 1);
    } else if (k == 3 && s == 2) {
      tn_dw_channel(&j, 3, 2, 1);
    } else if (k == 5 && s == 1) {
      tn_dw_channel(&j, 5, 1, 1);
    } else if (k == 5 && s == 2) {
      tn_dw_channel(&j, 5, 2, 1);
    } else if (k == 7 && s == 1) {
      tn_dw_channel(&j, 7, 1, 1);
    } else if (k == 7 && s == 2) {
      tn_dw_channel(&j, 7, 2, 1);
    } else {
      tn_dw_channel(&j, k, s, 0);
    }
  }
  return TN_OK;
}

tn_status tn_depthwise_s8(const tn_depthwise_params* p, const int8_t* input, int8_t* output,
                          int8_t* scratch) {
  const tn_status s = tn_depthwise_check(p, 0);
  if (s != TN_OK) return s;
  if (input == 0 || output == 0) return TN_ERROR_ARGUMENT;
  if (scratch == 0) return TN_ERROR_SCRATCH;
  return tn_depthwise_run(p, input, output, scratch);
}

tn_status tn_depthwise_inplace_s8(const tn_depthwise_params* p, int8_t* buffer, int8_t* scratch) {
  const tn_status s = tn_depthwise_check(p, 1);
  if (s != TN_OK) return s;
  if (buffer == 0) return TN_ERROR_ARGUMENT;
  if (scratch == 0) return TN_ERROR_SCRATCH;
  return tn_depthwise_run(p, buffer, buffer, scratch);
}
