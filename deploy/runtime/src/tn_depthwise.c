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
 * The fast path (k 3/5/7, stride 1/2, tn_rqf parameters; DSP builds):
 * - the border is written once per call, each channel copies only its
 *   interior (asm on Arm: 8 LDRB, 6 ORR, 2 STR per 8 bytes);
 * - the packed weights are doubled, so the accumulators are the doubled sums
 *   tn_rqf wants at no cost, and bias + offset * sum(w) is one start value;
 * - per output row, phase 1 computes two neighbouring outputs per step, each
 *   kernel row read with unaligned word loads split by SXTB16 / SXTB16 ROR #8
 *   into even/odd int16 pairs that both outputs share, and writes the row's
 *   accumulators to the scratch's tail (2 * out.w * 4 bytes after the image);
 *   phase 2 requantises them four at a time (LDM, then ADD, SMMLAR, ASR, SSAT,
 *   STRB each). Per kernel row of a pair:
 *     k=3 s=1: 1 LDR, 2 SXTB16, 2 SMLAD, 2 SMLAxy (6 MACs; the three middle
 *              taps packed in two words, all nine weights in registers)
 *     k=3 s=2: 2 LDR, 3 SXTB16, 2 SMLAD, 2 SMLAxy
 *     k=5 s=1: LDM (the row's weights), 2 LDR, 4 SXTB16, 4 SMLAD, 2 SMLAxB
 *     k=5 s=2: LDM, 3 LDR, 5 SXTB16, 4 SMLAD, 2 SMLAxB
 *     k=7 s=1: LDM, 3 LDR, 5 SXTB16, 6 SMLAD, 2 SMLAxB (14 MACs)
 *     k=7 s=2: LDM, 4 LDR, 7 SXTB16, 6 SMLAD, 2 SMLAxB
 *   On Arm (SSAT mode) all rows of a channel run in one hand-scheduled asm
 *   function per (k, s); the C functions are the same algorithm, run by the
 *   host tests and by Arm for USAT mode. Word loads may read up to 3 bytes
 *   past the image, into the accumulator row; those bytes never reach a
 *   product.
 * - 3x3 stride 1 with 2 or >= 4 output rows runs two output rows per pass
 *   (tn_dw3s1x2_asm): they share two of their four input rows, so per 2x2
 *   outputs 4 x (LDR, 2 SXTB16) and 24 MAC instructions, 43 in all against
 *   48 for two one-row passes; the four accumulators of a column pair fill
 *   the same scratch tail (two rows of out.w fit it exactly); 5x5 stride 1
 *   likewise (tn_dw5s1x2_asm: six input rows for ten kernel rows, the
 *   previous kernel row's weights back through LDMDB);
 * - small maps: kernel rows and columns that never meet a real input pixel
 *   are cropped (a 7x7 kernel on a 3x3 map runs as its central 5x5);
 * - 3x3 and 5x5 maps under a 3x3 kernel (stride 1, padding 1, SSAT mode) skip
 *   the image altogether: the channel's input rows become int16 pairs in
 *   registers and every output is computed from them (tn_dw_smallmap:
 *   ~25 instructions per output instead of 31-48); 7x7 kernels on such
 *   maps likewise (~64 instead of 96 on 5x5, ~61 instead of 87 on 3x3), and
 *   a 5x5 kernel with stride 2 on a 5x5 map (~55 instead of 95).
 * Measured under QEMU on the M4 (bench_kernels): 3x3 s1 ~20.7 instructions
 * per output at 20x20 (0.43 MAC/instruction), 3x3 s2 ~33.5 at 40x40 -> 20x20
 * (0.27: the copy is ~9.5 of it, see bench/README.md), 5x5 s1 ~44 at 10x10
 * (0.57), 7x7 s1 ~82 at 10x10 (0.60).
 *
 * The general path (any k, stride and parameters): the same padded copy and
 * bias folding with TFLite's requantisation; on the portable build one output
 * at a time with k and the stride compile-time constants for k = 3, 5, 7 and
 * stride 1, 2 so the compiler can unroll the taps.
 */
#include "tn_internal.h"

/* The zero padding on each side: `padding` plus the side's own (patches). */
typedef struct {
  int32_t top, left, bottom, right;
} tn_dw_pads;

static tn_dw_pads tn_dw_pads_of(const tn_depthwise_params* p) {
  tn_dw_pads d;
  d.top = p->padding + p->pad_top;
  d.left = p->padding + p->pad_left;
  d.bottom = p->padding + p->pad_bottom;
  d.right = p->padding + p->pad_right;
  return d;
}

int32_t tn_depthwise_s8_get_buffer_size(const tn_depthwise_params* p) {
  const tn_dw_pads d = tn_dw_pads_of(p);
  return (p->in.h + d.top + d.bottom) * (p->in.w + d.left + d.right) + 2 * p->out.w * 4;
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
} tn_dw_job;

TN_ALWAYS_INLINE int8_t tn_dw_requant(const tn_dw_job* j, int32_t acc) {
  return tn_clamp_s8(tn_rq_channel_scale(&j->rq, acc) + j->output_offset, j->act_min, j->act_max);
}

/* One output, any k: the fallback and the odd last column. */
TN_ALWAYS_INLINE int32_t tn_dw_point(const int8_t* r, int32_t pitch, const int8_t* w, int32_t k,
                                     int32_t acc) {
  for (int32_t ky = 0; ky < k; ++ky, r += pitch, w += k) {
    for (int32_t kx = 0; kx < k; ++kx) acc += r[kx] * w[kx];
  }
  return acc;
}

#if defined(TN_USE_DSP)

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

/* All outputs of one channel, one at a time; k and s compile-time constants
 * where the portable build specialises it, so the tap loops unroll. */
TN_ALWAYS_INLINE void tn_dw_channel(const tn_dw_job* j, int32_t k, int32_t s) {
  for (int32_t y = 0; y < j->out_h; ++y) {
    const int8_t* r = j->image + y * s * j->pitch;
    int8_t* o = j->out + y * j->out_w * j->out_step;
    for (int32_t x = 0; x < j->out_w; ++x, r += s, o += j->out_step) {
      o[0] = tn_dw_requant(j, tn_dw_point(r, j->pitch, j->weights, k, j->bias));
    }
  }
}

#if defined(TN_USE_DSP)
__attribute__((noinline)) static void tn_dw_channel_any(const tn_dw_job* j, int32_t k, int32_t s) {
  tn_dw_channel(j, k, s);
}
#endif

/* Channel `ch` of `input` into the padded image; `pad` fills the border. The
 * side borders are a few bytes per row, written inline rather than through
 * two memset calls per row. */
static void tn_dw_copy_channel(const int8_t* input, const tn_dims* in, int32_t ch,
                               const tn_dw_pads* d, int8_t pad, int8_t* image) {
  const int32_t pitch = in->w + d->left + d->right, c = in->c;
  memset(image, pad, (size_t)(d->top * pitch));
  int8_t* row = image + d->top * pitch;
  const int8_t* src = input + ch;
  for (int32_t y = 0; y < in->h; ++y, row += pitch) {
    for (int32_t i = 0; i < d->left; ++i) row[i] = pad;
    int8_t* dst = row + d->left;
    int32_t x = 0;
    for (; x + 4 <= in->w; x += 4, src += 4 * c) {
      dst[x] = src[0];
      dst[x + 1] = src[c];
      dst[x + 2] = src[2 * c];
      dst[x + 3] = src[3 * c];
    }
    for (; x < in->w; ++x, src += c) dst[x] = src[0];
    for (int32_t i = 0; i < d->right; ++i) dst[in->w + i] = pad;
  }
  memset(row, pad, (size_t)(d->bottom * pitch));
  /* The DSP pairs' word loads may read up to 3 bytes past the image. */
  memset(row + d->bottom * pitch, 0, 4);
}

#if defined(TN_USE_DSP)
/* ---- the fast path (tn_rqf requantisation; DSP builds)
 *
 * Differences from the general path below: the padded image's border is
 * written once per call (it holds the input zero point for every channel) and
 * each channel copies only its interior; the packed weights are doubled, so the
 * accumulators are the doubled sums tn_rqf wants at no cost; the bias and
 * input offset fold into one doubled start value per channel; and the
 * requantisation is ADD, SMMLAR, ASR, SSAT per output with the channel's
 * multiplier, C and shift in registers. */
typedef struct {
  const int8_t* image;
  int32_t pitch;
  int8_t* out;
  int32_t out_h, out_w, step;
  int32_t acc;           /* 2 * (bias + input_offset * sum(w)) */
  int32_t m, c, rm;      /* tn_rqf channel constants */
  const tn_rqf* f;
  const int8_t* weights; /* this channel's k*k, for the odd last column */
  int32_t wstride;       /* bytes between its rows */
  int32_t factor;        /* 2: doubled weights (tn_rqf); 1: general mode */
  tn_rq_channel rq;      /* general mode: TFLite's requantisation */
  int32_t output_offset, act_min, act_max;
  uint32_t packed[7 * 4];
} tn_dwf_job;

/* One output of the odd last column, weights rows `stride` apart. */
TN_ALWAYS_INLINE int32_t tn_dwf_point(const int8_t* r, int32_t pitch, const int8_t* w, int32_t k,
                                      int32_t stride) {
  int32_t acc = 0;
  for (int32_t ky = 0; ky < k; ++ky, r += pitch, w += stride) {
    for (int32_t kx = 0; kx < k; ++kx) acc += r[kx] * w[kx];
  }
  return acc;
}

/* Weights times `factor` in tn_dw_row_pair's layout (rows `stride` bytes
 * apart); returns their sum. */
static int32_t tn_dwf_pack_weights(uint32_t* packed, const int8_t* w, int32_t k, int32_t stride,
                                   int32_t factor) {
  int32_t sum = 0;
  for (int32_t ky = 0; ky < k; ++ky, w += stride) {
    int32_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int32_t kx = 0; kx < k; ++kx) {
      t[kx] = factor * w[kx];
      sum += t[kx];
    }
    uint32_t* d = packed + ky * 4;
    d[0] = tn_pack16(t[0], t[2]);
    d[1] = tn_pack16(t[1], t[3]);
    d[2] = tn_pack16(t[4], t[6]);
    d[3] = tn_pack16(k == 3 ? t[1] : k == 5 ? t[4] : t[5], 0);
  }
  return sum;
}

/* Phase 1: the doubled accumulators of one output row into acc[0..out_w).
 * k, s compile-time constants. */
TN_ALWAYS_INLINE void tn_dwf_row_acc(const int8_t* r, int32_t pitch, const uint32_t* packed,
                                     const int8_t* weights, int32_t wstride, int32_t factor,
                                     int32_t a, int32_t out_w, int32_t* acc, int32_t k, int32_t s) {
  int32_t x = 0;
  for (; x + 2 <= out_w; x += 2, r += 2 * s, acc += 2) {
    int32_t a0 = a, a1 = a;
    const int8_t* row = r;
    for (int32_t ky = 0; ky < k; ++ky, row += pitch) {
      tn_dw_row_pair(row, packed + ky * 4, k, s, &a0, &a1);
    }
    acc[0] = a0;
    acc[1] = a1;
  }
  if (x < out_w) {
    acc[0] = (int32_t)((uint32_t)a + (uint32_t)(factor * tn_dwf_point(r, pitch, weights, k, wstride)));
  }
}

/* Phase 2: a row of accumulators to int8 outputs `step` bytes apart. */
TN_ALWAYS_INLINE void tn_dwf_row_out(const int32_t* acc, int32_t n, int8_t* o, int32_t step,
                                     int32_t m, int32_t c, int32_t rm, const tn_rqf* f,
                                     int full) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4, acc += 4, o += 4 * step) {
    const int32_t y0 = tn_rqf_pre(acc[0], m, c, rm), y1 = tn_rqf_pre(acc[1], m, c, rm);
    const int32_t y2 = tn_rqf_pre(acc[2], m, c, rm), y3 = tn_rqf_pre(acc[3], m, c, rm);
    o[0] = tn_rqf_out(f, y0, full);
    o[step] = tn_rqf_out(f, y1, full);
    o[2 * step] = tn_rqf_out(f, y2, full);
    o[3 * step] = tn_rqf_out(f, y3, full);
  }
  for (; i < n; ++i, ++acc, o += step) o[0] = tn_rqf_out(f, tn_rqf_pre(acc[0], m, c, rm), full);
}

/* One channel, k, s and the clamp mode at run time: on Arm the asm takes
 * SSAT mode, so this one copy only serves USAT mode there (and is what the
 * host tests run for both). */
__attribute__((noinline)) static void tn_dwf_channel(const tn_dwf_job* j, int32_t* acc, int32_t k,
                                                    int32_t s, int full) {
  for (int32_t y = 0; y < j->out_h; ++y) {
    tn_dwf_row_acc(j->image + y * s * j->pitch, j->pitch, j->packed, j->weights, j->wstride,
                   j->factor, j->acc, j->out_w, acc, k, s);
    int8_t* o = j->out + y * j->out_w * j->step;
    if (j->factor == 2) {
      tn_dwf_row_out(acc, j->out_w, o, j->step, j->m, j->c, j->rm, j->f, full);
    } else {
      for (int32_t i = 0; i < j->out_w; ++i, o += j->step) {
        o[0] = tn_clamp_s8(tn_rq_channel_scale(&j->rq, acc[i]) + j->output_offset, j->act_min,
                           j->act_max);
      }
    }
  }
}

/* The interior of channel `ch` into the padded image (border already there). */
#if defined(TN_ARM_DSP_ASM)
/* The gather in asm: per row, runs of 8 bytes (8 LDRB at offsets 0..7c, ADD,
 * 6 ORR, 2 STR, CMP, BNE: 19), then one of 4 (11), then single bytes. */
typedef struct {
  const int8_t* src;  /* 0: channel ch of pixel 0 */
  int8_t* dst;        /* 4: the image's first interior byte */
  int32_t c;          /* 8 */
  int32_t w8;         /* 12: w & ~7 */
  int32_t h;          /* 16 */
  int32_t gap;        /* 20: pitch - w */
  int32_t tail;       /* 24: w & 7 */
} tn_dw_copy_job;

__attribute__((naked, noinline)) static void tn_dw_copy_asm(const tn_dw_copy_job* job) {
  __asm__ volatile(
      "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
      "ldr r8, [r0, #24]\n\t"
      "ldm r0, {r0, r1, r2, r7, r9, r10}\n\t"
      "add r3, r2, r2, lsl #1\n\t"   /* 3c */
      "add r4, r2, r2, lsl #2\n\t"   /* 5c */
      "add r5, r3, r3\n\t"           /* 6c */
      "rsb r6, r2, r2, lsl #3\n\t"   /* 7c */
      "1:\n\t"
      "add r11, r1, r7\n\t"
      "cmp r1, r11\n\t"
      "beq 3f\n\t"
      "2:\n\t"
      "ldrb r12, [r0]\n\t"
      "ldrb lr, [r0, r2]\n\t"
      "orr r12, r12, lr, lsl #8\n\t"
      "ldrb lr, [r0, r2, lsl #1]\n\t"
      "orr r12, r12, lr, lsl #16\n\t"
      "ldrb lr, [r0, r3]\n\t"
      "orr r12, r12, lr, lsl #24\n\t"
      "str r12, [r1], #4\n\t"
      "ldrb r12, [r0, r2, lsl #2]\n\t"
      "ldrb lr, [r0, r4]\n\t"
      "orr r12, r12, lr, lsl #8\n\t"
      "ldrb lr, [r0, r5]\n\t"
      "orr r12, r12, lr, lsl #16\n\t"
      "ldrb lr, [r0, r6]\n\t"
      "orr r12, r12, lr, lsl #24\n\t"
      "str r12, [r1], #4\n\t"
      "add r0, r0, r2, lsl #3\n\t"
      "cmp r1, r11\n\t"
      "bne 2b\n\t"
      "3:\n\t"
      "tst r8, #4\n\t"
      "beq 4f\n\t"
      "ldrb r12, [r0]\n\t"
      "ldrb lr, [r0, r2]\n\t"
      "orr r12, r12, lr, lsl #8\n\t"
      "ldrb lr, [r0, r2, lsl #1]\n\t"
      "orr r12, r12, lr, lsl #16\n\t"
      "ldrb lr, [r0, r3]\n\t"
      "orr r12, r12, lr, lsl #24\n\t"
      "str r12, [r1], #4\n\t"
      "add r0, r0, r2, lsl #2\n\t"
      "4:\n\t"
      "ands r11, r8, #3\n\t"
      "beq 6f\n\t"
      "5:\n\t"
      "ldrb r12, [r0]\n\t"
      "add r0, r0, r2\n\t"
      "strb r12, [r1], #1\n\t"
      "subs r11, r11, #1\n\t"
      "bne 5b\n\t"
      "6:\n\t"
      "add r1, r1, r10\n\t"
      "subs r9, r9, #1\n\t"
      "bne 1b\n\t"
      "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t");
}
#endif

static void tn_dwf_copy_interior(const int8_t* input, const tn_dims* in, int32_t ch,
                                 int8_t* first, int32_t pitch) {
  const int32_t c = in->c, w = in->w;
  const int8_t* src = input + ch;
  for (int32_t y = 0; y < in->h; ++y, first += pitch) {
    int8_t* dst = first;
    int32_t x = 0;
    for (; x + 4 <= w; x += 4, src += 4 * c) {
      const uint32_t v = (uint32_t)(uint8_t)src[0] | (uint32_t)(uint8_t)src[c] << 8 |
                         (uint32_t)(uint8_t)src[2 * c] << 16 | (uint32_t)(uint8_t)src[3 * c] << 24;
      tn_write_u32(dst + x, v);
    }
    for (; x < w; ++x, src += c) dst[x] = src[0];
  }
}

#if defined(TN_ARM_DSP_ASM)
/* The kernels in hand-scheduled asm (SSAT mode): all rows of one channel.
 * Per output row, phase 1 keeps the channel's packed weights (3x3) or a
 * pointer to them (5x5, 7x7) and its start value in registers and writes the
 * row's accumulators to the scratch tail; phase 2 requantises them four at a
 * time. The frame is laid out so that each phase loads its registers with
 * one LDM. The C functions above are the same algorithm (what the host tests
 * run). */
typedef struct {
  const int8_t* row;    /* 0: first image row of this output row */
  int32_t pitch;        /* 4 */
  int32_t span;         /* 8: bytes the pair loop walks per row, 2 * s * pairs */
  int32_t* buf;         /* 12: the row of accumulators (word-aligned) */
  uint32_t p0, p1, p2;  /* 16: 3x3: (w0, w2) of each kernel row, doubled;
                         *     5x5/7x7: p0 the packed weights' address, p1 the start value */
  uint32_t q01, q2;     /* 28: 3x3: middle taps (row 0, row 1), (row 2, -) */
  int32_t a;            /* 36: 3x3: the doubled start value */
  int32_t quads;        /* 40: out_w / 4 */
  int32_t rem;          /* 44: out_w % 4 */
  int32_t m, c, rm;     /* 48: tn_rqf constants */
  int32_t step;         /* 60: bytes between outputs (channels) */
  int8_t* out;          /* 64: this row's first output */
  int32_t step3;        /* 68: 3 * step */
  int32_t* buf2;        /* 72: buf again (phase 2's LDM) */
  int32_t rows;         /* 76: output rows left */
  int32_t advance;      /* 80: s * pitch */
  int32_t odd;          /* 84: out_w % 2 */
  int32_t end;          /* 88: (3x3 stride 2) end of the pair loop's row 0 */
  int32_t pad_;         /* 92 */
} tn_dw3_job;

typedef char tn_dw3_job_size_check[sizeof(tn_dw3_job) == 96 ? 1 : -1];

#define TN_DW3_ENTER                                                   \
  "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"                    \
  "sub sp, sp, #96\n\t"                                                \
  "ldm r0!, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12}\n\t"   \
  "stm sp, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12}\n\t"    \
  "ldm r0, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12}\n\t"    \
  "add r0, sp, #48\n\t"                                                \
  "stm r0, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12}\n\t"

/* The end of phase 2, one-row and two-row kernels alike (the frames agree
 * there): r8, the next output row, into the frame; the input row pointer
 * advanced by `advance`; the rows left counted down (Z set after the last). */
#define TN_DW_NEXT_ROW                                                 \
  "str r8, [sp, #64]\n\t"                                              \
  "ldr r0, [sp]\n\t"                                                   \
  "ldrd r1, r2, [sp, #76]\n\t"                                         \
  "add r0, r0, r2\n\t"                                                 \
  "str r0, [sp]\n\t"                                                   \
  "subs r1, r1, #1\n\t"                                                \
  "str r1, [sp, #76]\n\t"

/* Phase 2: r0 quads, r1 the rest, r4 m, r5 c, r6 rm, r7 step, r8 out, r9
 * 3 step, r10 the accumulators (four at a time into r2, r3, r11, r12); then
 * the next row. */
#define TN_DW3_PHASE2                                                  \
  "add r12, sp, #40\n\t"                                               \
  "ldm r12, {r0, r1, r4, r5, r6, r7, r8, r9, r10}\n\t"                 \
  "cbz r0, 12f\n\t"                                                    \
  "11:\n\t"                                                            \
  "ldm r10!, {r2, r3, r11, r12}\n\t"                                   \
  "add lr, r5, r2, asr #31\n\t"                                        \
  "smmlar r2, r2, r4, lr\n\t"                                          \
  "add lr, r5, r3, asr #31\n\t"                                        \
  "smmlar r3, r3, r4, lr\n\t"                                          \
  "add lr, r5, r11, asr #31\n\t"                                       \
  "smmlar r11, r11, r4, lr\n\t"                                        \
  "add lr, r5, r12, asr #31\n\t"                                       \
  "smmlar r12, r12, r4, lr\n\t"                                        \
  "asr r2, r2, r6\n\t"                                                 \
  "asr r3, r3, r6\n\t"                                                 \
  "asr r11, r11, r6\n\t"                                               \
  "asr r12, r12, r6\n\t"                                               \
  "ssat r2, #8, r2, asr #1\n\t"                                        \
  "ssat r3, #8, r3, asr #1\n\t"                                        \
  "ssat r11, #8, r11, asr #1\n\t"                                      \
  "ssat r12, #8, r12, asr #1\n\t"                                      \
  "strb r2, [r8]\n\t"                                                  \
  "strb r3, [r8, r7]\n\t"                                              \
  "strb r11, [r8, r7, lsl #1]\n\t"                                     \
  "strb r12, [r8, r9]\n\t"                                             \
  "add r8, r8, r7, lsl #2\n\t"                                         \
  "subs r0, r0, #1\n\t"                                                \
  "bne 11b\n\t"                                                        \
  "12:\n\t"                                                            \
  "cbz r1, 14f\n\t"                                                    \
  "13:\n\t"                                                            \
  "ldr r2, [r10], #4\n\t"                                              \
  "add lr, r5, r2, asr #31\n\t"                                        \
  "smmlar r2, r2, r4, lr\n\t"                                          \
  "asr r2, r2, r6\n\t"                                                 \
  "ssat r2, #8, r2, asr #1\n\t"                                        \
  "strb r2, [r8]\n\t"                                                  \
  "add r8, r8, r7\n\t"                                                 \
  "subs r1, r1, #1\n\t"                                                \
  "bne 13b\n\t"                                                        \
  "14:\n\t"                                                            \
  TN_DW_NEXT_ROW

#define TN_DW3_LEAVE                                                   \
  "add sp, sp, #96\n\t"                                                \
  "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t"

/* Stride 1. Phase 1 registers: r0 row 0 (walks 2 per pair), r1 pitch, r2 end,
 * r3 accumulator row, r4-r6 (w0, w2) per kernel row, r7 (w1 row 0, w1 row 1),
 * r8 (w1 row 2), r9 start value, r10/r11 the pair's accumulators, r12/lr a
 * word and its odd half. Per pair: 3 x (LDR, 2 SXTB16, 2 SMLAD, 2 SMLAxy),
 * STRD, CMP, BNE = 24 instructions for 18 MACs. */
__attribute__((naked, noinline)) static void tn_dw3s1_asm(const tn_dw3_job* job) {
  __asm__ volatile(
      TN_DW3_ENTER
      "1:\n\t"
      "ldm sp, {r0, r1, r2, r3, r4, r5, r6, r7, r8, r9}\n\t"
      "cbz r2, 3f\n\t"
      "add r2, r0, r2\n\t"
      "2:\n\t"
      "ldr r12, [r0, r1]\n\t"
      "sxtb16 lr, r12, ror #8\n\t"
      "sxtb16 r12, r12\n\t"
      "smlad r10, r12, r5, r9\n\t"
      "smlabt r10, lr, r7, r10\n\t"
      "smlad r11, lr, r5, r9\n\t"
      "smlatt r11, r12, r7, r11\n\t"
      "ldr r12, [r0, r1, lsl #1]\n\t"
      "sxtb16 lr, r12, ror #8\n\t"
      "sxtb16 r12, r12\n\t"
      "smlad r10, r12, r6, r10\n\t"
      "smlabb r10, lr, r8, r10\n\t"
      "smlad r11, lr, r6, r11\n\t"
      "smlatb r11, r12, r8, r11\n\t"
      "ldr r12, [r0], #2\n\t"
      "sxtb16 lr, r12, ror #8\n\t"
      "sxtb16 r12, r12\n\t"
      "smlad r10, r12, r4, r10\n\t"
      "smlabb r10, lr, r7, r10\n\t"
      "smlad r11, lr, r4, r11\n\t"
      "smlatb r11, r12, r7, r11\n\t"
      "strd r10, r11, [r3], #8\n\t"
      "cmp r0, r2\n\t"
      "bne 2b\n\t"
      "3:\n\t"
      "ldr r2, [sp, #84]\n\t"
      "cbz r2, 4f\n\t"
      /* The odd last column. */
      "ldr r12, [r0, r1]\n\t"
      "sxtb16 lr, r12, ror #8\n\t"
      "sxtb16 r12, r12\n\t"
      "smlad r10, r12, r5, r9\n\t"
      "smlabt r10, lr, r7, r10\n\t"
      "ldr r12, [r0, r1, lsl #1]\n\t"
      "sxtb16 lr, r12, ror #8\n\t"
      "sxtb16 r12, r12\n\t"
      "smlad r10, r12, r6, r10\n\t"
      "smlabb r10, lr, r8, r10\n\t"
      "ldr r12, [r0]\n\t"
      "sxtb16 lr, r12, ror #8\n\t"
      "sxtb16 r12, r12\n\t"
      "smlad r10, r12, r4, r10\n\t"
      "smlabb r10, lr, r7, r10\n\t"
      "str r10, [r3]\n\t"
      "4:\n\t"
      TN_DW3_PHASE2
      "bne 1b\n\t"
      TN_DW3_LEAVE);
}

/* Stride 1, two output rows per pass (rows y and y + 1 share padded input
 * rows y + 1 and y + 2, so four input rows feed six kernel rows). Phase 1
 * registers: r0 row y (walks 2 per pair), r1 pitch, r3 the accumulators
 * (four per column pair: y x, y x+1, y+1 x, y+1 x+1; then the odd column's
 * y, y+1), r4-r8 the packed weights as in tn_dw3s1_asm, r9-r12 the four
 * accumulators, r2/lr a word and its odd half. Per column pair: 2 LDRD (start
 * values), 4 x (LDR, 2 SXTB16) + 1 ADD (row y + 3), 24 MACs instructions, STM
 * and the loop's LDR/CMP/BNE: 43 instructions for 4 outputs (36 MACs), against
 * 48 for two passes of tn_dw3s1_asm. Phase 2 requantises the four of a
 * column pair with one LDM and stores them into both output rows. */
typedef struct {
  const int8_t* row;    /* 0: padded row y */
  int32_t pitch;        /* 4 */
  int32_t span;         /* 8: 2 * pairs */
  int32_t* buf;         /* 12 */
  uint32_t p0, p1, p2;  /* 16 */
  uint32_t q01, q2;     /* 28 */
  int32_t a, a2;        /* 36: the doubled start value, twice */
  int32_t pairs;        /* 44: out_w / 2 */
  int32_t m, c, rm;     /* 48 */
  int32_t step;         /* 60 */
  int8_t* out;          /* 64: output row y's first output */
  int32_t rowbytes;     /* 68: out_w * step */
  int32_t* buf2;        /* 72 */
  int32_t rows;         /* 76: row pairs left */
  int32_t advance;      /* 80: 2 * pitch */
  int32_t odd;          /* 84: out_w % 2 */
  int32_t end;          /* 88 */
  int32_t pad_;         /* 92 */
} tn_dw3x2_job;

typedef char tn_dw3x2_job_size_check[sizeof(tn_dw3x2_job) == 96 ? 1 : -1];

/* One requantisation of phase 2 (r4 m, r5 c, r6 rm; lr scratch). */
#define TN_DW_RQ(R)                                                    \
  "add lr, r5, " R ", asr #31\n\t"                                     \
  "smmlar " R ", " R ", r4, lr\n\t"                                    \
  "asr " R ", " R ", r6\n\t"                                           \
  "ssat " R ", #8, " R ", asr #1\n\t"

/* Phase 2 of the two-row kernels (frame from 44 as tn_dw3x2_job), then the
 * next row pair. */
#define TN_DWX2_PHASE2                                                 \
  "add r12, sp, #44\n\t"                                               \
  "ldm r12, {r0, r4, r5, r6, r7, r8, r9, r10}\n\t"                     \
  "cmp r0, #0\n\t"                                                     \
  "beq 12f\n\t"                                                        \
  "11:\n\t"                                                            \
  "ldm r10!, {r2, r3, r11, r12}\n\t"                                   \
  TN_DW_RQ("r2") TN_DW_RQ("r3") TN_DW_RQ("r11") TN_DW_RQ("r12")        \
  "strb r2, [r8]\n\t"                                                  \
  "strb r3, [r8, r7]\n\t"                                              \
  "add lr, r8, r9\n\t"                                                 \
  "strb r11, [lr]\n\t"                                                 \
  "strb r12, [lr, r7]\n\t"                                             \
  "add r8, r8, r7, lsl #1\n\t"                                         \
  "subs r0, r0, #1\n\t"                                                \
  "bne 11b\n\t"                                                        \
  "12:\n\t"                                                            \
  "ldr r1, [sp, #84]\n\t"                                              \
  "cmp r1, #0\n\t"                                                     \
  "beq 14f\n\t"                                                        \
  "ldrd r2, r3, [r10]\n\t"                                             \
  TN_DW_RQ("r2") TN_DW_RQ("r3")                                        \
  "strb r2, [r8]\n\t"                                                  \
  "strb r3, [r8, r9]\n\t"                                              \
  "add r8, r8, r7\n\t"                                                 \
  "14:\n\t"                                                            \
  "add r8, r8, r9\n\t"                                                 \
  TN_DW_NEXT_ROW

/* Input row word at ADDR: r2 its even pair, lr its odd pair. */
#define TN_DW3X2_LOAD(ADDR)                                            \
  "ldr r2, " ADDR "\n\t"                                               \
  "sxtb16 lr, r2, ror #8\n\t"                                          \
  "sxtb16 r2, r2\n\t"

/* The pair (A0 output x, A1 output x + 1) of one kernel row: P its (w0, w2),
 * Q/QB/QT its middle tap's register and half. */
#define TN_DW3X2_PAIR(A0, A1, P, Q, QH)                                \
  "smlad " A0 ", r2, " P ", " A0 "\n\t"                                \
  "smlab" QH " " A0 ", lr, " Q ", " A0 "\n\t"                          \
  "smlad " A1 ", lr, " P ", " A1 "\n\t"                                \
  "smlat" QH " " A1 ", r2, " Q ", " A1 "\n\t"

#define TN_DW3X2_ONE(A0, P, Q, QH)                                     \
  "smlad " A0 ", r2, " P ", " A0 "\n\t"                                \
  "smlab" QH " " A0 ", lr, " Q ", " A0 "\n\t"

__attribute__((naked, noinline)) static void tn_dw3s1x2_asm(const tn_dw3x2_job* job) {
  __asm__ volatile(
      TN_DW3_ENTER
      "1:\n\t"
      "ldm sp, {r0, r1, r2, r3, r4, r5, r6, r7, r8}\n\t"
      "add r2, r0, r2\n\t"
      "str r2, [sp, #88]\n\t"
      "cmp r0, r2\n\t"
      "beq 3f\n\t"
      "2:\n\t"
      "ldrd r9, r10, [sp, #36]\n\t"
      "ldrd r11, r12, [sp, #36]\n\t"
      TN_DW3X2_LOAD("[r0, r1]")
      TN_DW3X2_PAIR("r9", "r10", "r5", "r7", "t")
      TN_DW3X2_PAIR("r11", "r12", "r4", "r7", "b")
      TN_DW3X2_LOAD("[r0, r1, lsl #1]")
      TN_DW3X2_PAIR("r9", "r10", "r6", "r8", "b")
      TN_DW3X2_PAIR("r11", "r12", "r5", "r7", "t")
      "add r2, r0, r1, lsl #1\n\t"
      TN_DW3X2_LOAD("[r2, r1]")
      TN_DW3X2_PAIR("r11", "r12", "r6", "r8", "b")
      TN_DW3X2_LOAD("[r0], #2")
      TN_DW3X2_PAIR("r9", "r10", "r4", "r7", "b")
      "stm r3!, {r9, r10, r11, r12}\n\t"
      "ldr r2, [sp, #88]\n\t"
      "cmp r0, r2\n\t"
      "bne 2b\n\t"
      "3:\n\t"
      "ldr r2, [sp, #84]\n\t"
      "cmp r2, #0\n\t"
      "beq 4f\n\t"
      /* The odd last column: y into r9, y + 1 into r11. */
      "ldrd r9, r11, [sp, #36]\n\t"
      TN_DW3X2_LOAD("[r0, r1]")
      TN_DW3X2_ONE("r9", "r5", "r7", "t")
      TN_DW3X2_ONE("r11", "r4", "r7", "b")
      TN_DW3X2_LOAD("[r0, r1, lsl #1]")
      TN_DW3X2_ONE("r9", "r6", "r8", "b")
      TN_DW3X2_ONE("r11", "r5", "r7", "t")
      "add r2, r0, r1, lsl #1\n\t"
      TN_DW3X2_LOAD("[r2, r1]")
      TN_DW3X2_ONE("r11", "r6", "r8", "b")
      TN_DW3X2_LOAD("[r0]")
      TN_DW3X2_ONE("r9", "r4", "r7", "b")
      "strd r9, r11, [r3]\n\t"
      "4:\n\t"
      /* Phase 2: r0 pairs, r4 m, r5 c, r6 rm, r7 step, r8 out (row y), r9
       * rowbytes (row y + 1 = r8 + r9), r10 the accumulators. */
      TN_DWX2_PHASE2
      "bne 1b\n\t"
      TN_DW3_LEAVE);
}

/* Stride 2: the three kernel rows walk their own pointers (r0-r2, 4 per
 * pair) and the loop's end is in the frame. Per kernel row of a pair:
 * LDR [r+2], SXTB16, SMLAD (out 1's outer taps r2, r4), LDR [r], 2 SXTB16,
 * SMLAD (out 0's r0, r2), 2 SMLAxy (the middle taps r1, r3): 9. */
#define TN_DW3S2_ROW(R, P, FIRST0, FIRST1, MID0, MID1, Q)              \
  "ldr r12, [" R ", #2]\n\t"                                           \
  "sxtb16 r12, r12\n\t"                                                \
  "smlad r11, r12, " P ", " FIRST1 "\n\t"                              \
  "ldr r12, [" R "], #4\n\t"                                           \
  "sxtb16 lr, r12, ror #8\n\t"                                         \
  "sxtb16 r12, r12\n\t"                                                \
  "smlad r10, r12, " P ", " FIRST0 "\n\t"                              \
  MID0 " r10, lr, " Q ", r10\n\t"                                      \
  MID1 " r11, lr, " Q ", r11\n\t"

#define TN_DW3S2_SINGLE(R, P, FIRST0, MID0, Q)                         \
  "ldr r12, [" R "]\n\t"                                               \
  "sxtb16 lr, r12, ror #8\n\t"                                         \
  "sxtb16 r12, r12\n\t"                                                \
  "smlad r10, r12, " P ", " FIRST0 "\n\t"                              \
  MID0 " r10, lr, " Q ", r10\n\t"

__attribute__((naked, noinline)) static void tn_dw3s2_asm(const tn_dw3_job* job) {
  __asm__ volatile(
      TN_DW3_ENTER
      "1:\n\t"
      "ldm sp, {r0, r1, r2, r3, r4, r5, r6, r7, r8, r9}\n\t"
      "add r12, r0, r2\n\t"
      "str r12, [sp, #88]\n\t"
      "add r2, r0, r1, lsl #1\n\t"
      "add r1, r0, r1\n\t"
      "cmp r0, r12\n\t"
      "beq 3f\n\t"
      "2:\n\t"
      TN_DW3S2_ROW("r0", "r4", "r9", "r9", "smlabb", "smlatb", "r7")
      TN_DW3S2_ROW("r1", "r5", "r10", "r11", "smlabt", "smlatt", "r7")
      TN_DW3S2_ROW("r2", "r6", "r10", "r11", "smlabb", "smlatb", "r8")
      "strd r10, r11, [r3], #8\n\t"
      "ldr r12, [sp, #88]\n\t"
      "cmp r0, r12\n\t"
      "bne 2b\n\t"
      "3:\n\t"
      "ldr r12, [sp, #84]\n\t"   /* r0-r2 are the row pointers here */
      "cmp r12, #0\n\t"
      "beq 4f\n\t"
      TN_DW3S2_SINGLE("r0", "r4", "r9", "smlabb", "r7")
      TN_DW3S2_SINGLE("r1", "r5", "r10", "smlabt", "r7")
      TN_DW3S2_SINGLE("r2", "r6", "r10", "smlabb", "r8")
      "str r10, [r3]\n\t"
      "4:\n\t"
      TN_DW3_PHASE2
      "bne 1b\n\t"
      TN_DW3_LEAVE);
}

/* 5x5 and 7x7: p0 holds the packed weights' address, 4 words per kernel row
 * for 7x7 -- (w0,w2) (w1,w3) (w4,w6) (w5,-) -- and 3 for 5x5 -- (w0,w2)
 * (w1,w3) (w4,-) -- doubled, p1 the start value; one kernel row at a time: r4
 * walks the rows (pitch r1), r5 the weights (LDM per row into r6-r9). Per
 * kernel row of a pair: 5x5 s1 14 instructions (10 MACs), 5x5 s2 16, 7x7 s1
 * 18 (14 MACs), 7x7 s2 21. */
#define TN_DW5S1_ROW                     \
  "ldm r5!, {r6, r7, r8}\n\t"            \
  "ldr r12, [r4]\n\t"                    \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r10, r12, r6, r10\n\t"          \
  "smlad r10, lr, r7, r10\n\t"           \
  "smlad r11, lr, r6, r11\n\t"           \
  "ldr r12, [r4, #2]\n\t"                \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r11, r12, r7, r11\n\t"          \
  "smlatb r10, r12, r8, r10\n\t"         \
  "smlatb r11, lr, r8, r11\n\t"          \
  "add r4, r4, r1\n\t"
#define TN_DW5S1_SINGLE                  \
  "ldm r5!, {r6, r7, r8}\n\t"            \
  "ldr r12, [r4]\n\t"                    \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r10, r12, r6, r10\n\t"          \
  "smlad r10, lr, r7, r10\n\t"           \
  "ldrsb r12, [r4, #4]\n\t"              \
  "smlabb r10, r12, r8, r10\n\t"         \
  "add r4, r4, r1\n\t"
#define TN_DW5S2_ROW                     \
  "ldm r5!, {r6, r7, r8}\n\t"            \
  "ldr r12, [r4]\n\t"                    \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r10, r12, r6, r10\n\t"          \
  "smlad r10, lr, r7, r10\n\t"           \
  "ldr r12, [r4, #2]\n\t"                \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r11, r12, r6, r11\n\t"          \
  "smlad r11, lr, r7, r11\n\t"           \
  "smlatb r10, r12, r8, r10\n\t"         \
  "ldr r12, [r4, #4]\n\t"                \
  "sxtb16 r12, r12\n\t"                  \
  "smlatb r11, r12, r8, r11\n\t"         \
  "add r4, r4, r1\n\t"
#define TN_DW7S1_ROW                     \
  "ldm r5!, {r6, r7, r8, r9}\n\t"        \
  "ldr r12, [r4]\n\t"                    \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r10, r12, r6, r10\n\t"          \
  "smlad r10, lr, r7, r10\n\t"           \
  "smlad r11, lr, r6, r11\n\t"           \
  "ldr r12, [r4, #2]\n\t"                \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r11, r12, r7, r11\n\t"          \
  "ldr r12, [r4, #4]\n\t"                \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r10, r12, r8, r10\n\t"          \
  "smlabb r10, lr, r9, r10\n\t"          \
  "smlad r11, lr, r8, r11\n\t"           \
  "smlatb r11, r12, r9, r11\n\t"         \
  "add r4, r4, r1\n\t"
#define TN_DW7_SINGLE                    \
  "ldm r5!, {r6, r7, r8, r9}\n\t"        \
  "ldr r12, [r4]\n\t"                    \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r10, r12, r6, r10\n\t"          \
  "smlad r10, lr, r7, r10\n\t"           \
  "ldr r12, [r4, #4]\n\t"                \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r10, r12, r8, r10\n\t"          \
  "smlabb r10, lr, r9, r10\n\t"          \
  "add r4, r4, r1\n\t"
#define TN_DW7S2_ROW                     \
  "ldm r5!, {r6, r7, r8, r9}\n\t"        \
  "ldr r12, [r4]\n\t"                    \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r10, r12, r6, r10\n\t"          \
  "smlad r10, lr, r7, r10\n\t"           \
  "ldr r12, [r4, #2]\n\t"                \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r11, r12, r6, r11\n\t"          \
  "smlad r11, lr, r7, r11\n\t"           \
  "ldr r12, [r4, #4]\n\t"                \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r10, r12, r8, r10\n\t"          \
  "smlabb r10, lr, r9, r10\n\t"          \
  "smlatb r11, lr, r9, r11\n\t"          \
  "ldr r12, [r4, #6]\n\t"                \
  "sxtb16 r12, r12\n\t"                  \
  "smlad r11, r12, r8, r11\n\t"          \
  "add r4, r4, r1\n\t"
#define TN_REP5(X) X X X X X
#define TN_REP7(X) X X X X X X X

/* One channel, every row: phase 1 (pairs, then the odd column), phase 2. */
#define TN_DWK_BODY(PAIR_ROWS, SINGLE_ROWS, S2)                        \
  TN_DW3_ENTER                                                         \
  "1:\n\t"                                                             \
  "ldm sp, {r0, r1, r2, r3}\n\t"                                       \
  "cmp r2, #0\n\t"                                                     \
  "beq 3f\n\t"                                                         \
  "add r2, r0, r2\n\t"                                                 \
  "2:\n\t"                                                             \
  "ldrd r5, r10, [sp, #16]\n\t"                                        \
  "mov r11, r10\n\t"                                                   \
  "mov r4, r0\n\t"                                                     \
  PAIR_ROWS                                                            \
  "strd r10, r11, [r3], #8\n\t"                                        \
  "add r0, r0, #" S2 "\n\t"                                            \
  "cmp r0, r2\n\t"                                                     \
  "bne 2b\n\t"                                                         \
  "3:\n\t"                                                             \
  "ldr r12, [sp, #84]\n\t"                                             \
  "cmp r12, #0\n\t"                                                    \
  "beq 4f\n\t"                                                         \
  "ldrd r5, r10, [sp, #16]\n\t"                                        \
  "mov r4, r0\n\t"                                                     \
  SINGLE_ROWS                                                          \
  "str r10, [r3]\n\t"                                                  \
  "4:\n\t"                                                             \
  TN_DW3_PHASE2                                                        \
  "bne 1b\n\t"                                                         \
  TN_DW3_LEAVE

__attribute__((naked, noinline)) static void tn_dw5s1_asm(const tn_dw3_job* job) {
  __asm__ volatile(TN_DWK_BODY(TN_REP5(TN_DW5S1_ROW), TN_REP5(TN_DW5S1_SINGLE), "2"));
}
__attribute__((naked, noinline)) static void tn_dw5s2_asm(const tn_dw3_job* job) {
  __asm__ volatile(TN_DWK_BODY(TN_REP5(TN_DW5S2_ROW), TN_REP5(TN_DW5S1_SINGLE), "4"));
}
__attribute__((naked, noinline)) static void tn_dw7s1_asm(const tn_dw3_job* job) {
  __asm__ volatile(TN_DWK_BODY(TN_REP7(TN_DW7S1_ROW), TN_REP7(TN_DW7_SINGLE), "2"));
}
__attribute__((naked, noinline)) static void tn_dw7s2_asm(const tn_dw3_job* job) {
  __asm__ volatile(TN_DWK_BODY(TN_REP7(TN_DW7S2_ROW), TN_REP7(TN_DW7_SINGLE), "4"));
}

/* 5x5 stride 1, two output rows per pass: input row i feeds kernel row i of
 * output row y and kernel row i - 1 of output row y + 1, so six input rows
 * (2 LDR, 4 SXTB16 each, all four pairs kept) serve ten kernel rows; the
 * weights of row i - 1 come back with LDMDB from the same walking pointer.
 * Registers: r0 the input row, r1 pitch, r2 the packed weights (3 words per
 * kernel row), r3-r5 one kernel row's weights, r6/r7 row y's pair, r8/r9 row
 * y + 1's, r10-r12/lr the row's (even, odd) pairs at +0 and +2. ~123
 * instructions per 2x2 outputs against 2 x 77 for two one-row passes. The
 * frame's tail (44 on) is tn_dw3x2_job's, and so is phase 2. */
typedef struct {
  const int8_t* row;    /* 0: padded row y */
  int32_t pitch;        /* 4 */
  const int8_t* cur;    /* 8: the column pair's first byte in row y */
  int32_t* buf;         /* 12 */
  const uint32_t* packed; /* 16 */
  int32_t a, a2;        /* 20: the doubled start value, twice */
  int32_t* accp;        /* 28: where the next accumulators go */
  int32_t* accend;      /* 32: buf + 4 * 2 * pairs */
  int32_t unused_[2];   /* 36 */
  int32_t pairs;        /* 44: out_w / 2 */
  int32_t m, c, rm;     /* 48 */
  int32_t step;         /* 60 */
  int8_t* out;          /* 64 */
  int32_t rowbytes;     /* 68 */
  int32_t* buf2;        /* 72 */
  int32_t rows;         /* 76: row pairs left */
  int32_t advance;      /* 80: 2 * pitch */
  int32_t odd;          /* 84 */
  int32_t pad_[2];      /* 88 */
} tn_dw5x2_job;

typedef char tn_dw5x2_job_size_check[sizeof(tn_dw5x2_job) == 96 ? 1 : -1];

#define TN_DW5X2_LOAD                    \
  "ldr r10, [r0]\n\t"                    \
  "sxtb16 r11, r10, ror #8\n\t"          \
  "sxtb16 r10, r10\n\t"                  \
  "ldr r12, [r0, #2]\n\t"                \
  "sxtb16 lr, r12, ror #8\n\t"           \
  "sxtb16 r12, r12\n\t"
#define TN_DW5X2_MAC(A0, A1)             \
  "smlad " A0 ", r10, r3, " A0 "\n\t"    \
  "smlad " A0 ", r11, r4, " A0 "\n\t"    \
  "smlad " A1 ", r11, r3, " A1 "\n\t"    \
  "smlad " A1 ", r12, r4, " A1 "\n\t"    \
  "smlatb " A0 ", r12, r5, " A0 "\n\t"   \
  "smlatb " A1 ", lr, r5, " A1 "\n\t"
#define TN_DW5X2_MID                     \
  TN_DW5X2_LOAD                          \
  "ldmdb r2, {r3, r4, r5}\n\t"           \
  TN_DW5X2_MAC("r8", "r9")               \
  "ldm r2!, {r3, r4, r5}\n\t"            \
  TN_DW5X2_MAC("r6", "r7")               \
  "add r0, r0, r1\n\t"
/* The odd column: one output per row, r6 (y) and r8 (y + 1). */
#define TN_DW5X2_SLOAD                   \
  "ldr r10, [r0]\n\t"                    \
  "sxtb16 r11, r10, ror #8\n\t"          \
  "sxtb16 r10, r10\n\t"                  \
  "ldrsb r12, [r0, #4]\n\t"
#define TN_DW5X2_SMAC(A0)                \
  "smlad " A0 ", r10, r3, " A0 "\n\t"    \
  "smlad " A0 ", r11, r4, " A0 "\n\t"    \
  "smlabb " A0 ", r12, r5, " A0 "\n\t"
#define TN_DW5X2_SMID                    \
  TN_DW5X2_SLOAD                         \
  "ldmdb r2, {r3, r4, r5}\n\t"           \
  TN_DW5X2_SMAC("r8")                    \
  "ldm r2!, {r3, r4, r5}\n\t"            \
  TN_DW5X2_SMAC("r6")                    \
  "add r0, r0, r1\n\t"


__attribute__((naked, noinline)) static void tn_dw5s1x2_asm(const tn_dw5x2_job* job) {
  __asm__ volatile(
      TN_DW3_ENTER
      "1:\n\t"
      "ldrd r0, r1, [sp]\n\t"
      "str r0, [sp, #8]\n\t"
      "ldr r2, [sp, #12]\n\t"
      "str r2, [sp, #28]\n\t"
      "ldr r2, [sp, #44]\n\t"
      "cmp r2, #0\n\t"
      "beq 3f\n\t"
      "2:\n\t"
      "ldr r0, [sp, #8]\n\t"
      "add r10, r0, #2\n\t"
      "str r10, [sp, #8]\n\t"
      "ldr r2, [sp, #16]\n\t"
      "ldrd r6, r7, [sp, #20]\n\t"
      "ldrd r8, r9, [sp, #20]\n\t"
      TN_DW5X2_LOAD
      "ldm r2!, {r3, r4, r5}\n\t"
      TN_DW5X2_MAC("r6", "r7")
      "add r0, r0, r1\n\t"
      TN_DW5X2_MID TN_DW5X2_MID TN_DW5X2_MID TN_DW5X2_MID
      TN_DW5X2_LOAD
      "ldmdb r2, {r3, r4, r5}\n\t"
      TN_DW5X2_MAC("r8", "r9")
      "ldr r10, [sp, #28]\n\t"
      "stm r10!, {r6, r7, r8, r9}\n\t"
      "str r10, [sp, #28]\n\t"
      "ldr r11, [sp, #32]\n\t"
      "cmp r10, r11\n\t"
      "bne 2b\n\t"
      "3:\n\t"
      "ldr r2, [sp, #84]\n\t"
      "cmp r2, #0\n\t"
      "beq 4f\n\t"
      "ldr r0, [sp, #8]\n\t"
      "ldr r2, [sp, #16]\n\t"
      "ldrd r6, r8, [sp, #20]\n\t"
      TN_DW5X2_SLOAD
      "ldm r2!, {r3, r4, r5}\n\t"
      TN_DW5X2_SMAC("r6")
      "add r0, r0, r1\n\t"
      TN_DW5X2_SMID TN_DW5X2_SMID TN_DW5X2_SMID TN_DW5X2_SMID
      TN_DW5X2_SLOAD
      "ldmdb r2, {r3, r4, r5}\n\t"
      TN_DW5X2_SMAC("r8")
      "ldr r10, [sp, #28]\n\t"
      "strd r6, r8, [r10]\n\t"
      "4:\n\t"
      TN_DWX2_PHASE2
      "bne 1b\n\t"
      TN_DW3_LEAVE);
}
#endif /* TN_ARM_DSP_ASM */

#if defined(TN_ARM_DSP_ASM)
static void tn_dw_copy_job_init(tn_dw_copy_job* j, const tn_dims* in, int8_t* interior,
                                int32_t pitch) {
  j->dst = interior;
  j->c = in->c;
  j->w8 = in->w & ~7;
  j->h = in->h;
  j->gap = pitch - in->w;
  j->tail = in->w & 7;
}

static void tn_dw3_job_init(tn_dw3_job* a, const tn_depthwise_params* p, int32_t s, int32_t pitch,
                            int32_t* acc) {
  a->pitch = pitch;
  a->span = 2 * s * (p->out.w >> 1);
  a->buf = acc;
  a->step = p->in.c;
  a->step3 = 3 * p->in.c;
  a->buf2 = acc;
  a->quads = p->out.w >> 2;
  a->rem = p->out.w & 3;
  a->advance = s * pitch;
  a->odd = p->out.w & 1;
}
#endif

/* 0: the parameters need the general path. */
/* What every channel of a fast-path call shares. */
typedef struct {
  tn_rqf f;
  int32_t k0, k, s, crop, pitch, offset;
  int8_t* image;     /* the padded image (scratch) */
  int8_t* interior;  /* its first interior byte */
  int32_t* acc;      /* phase 1's row of accumulators */
  int general;       /* parameters outside tn_rqf's domain (f unset) */
} tn_dwf_layout;

#if defined(TN_ARM_DSP_ASM)
/* A 3x3 channel's doubled weights in the asm's layout, from three word loads
 * (u's from one byte earlier, so nothing past the channel's weights is read),
 * SXTB16 into pairs and SADD16 to double; returns their sum. */
TN_ALWAYS_INLINE int32_t tn_dw3_pack(const int8_t* w, int32_t k0, uint32_t* p0, uint32_t* p1,
                                     uint32_t* p2, uint32_t* q01, uint32_t* q2) {
  const uint32_t x0 = tn_read_u32(w), x1 = tn_read_u32(w + k0), x2 = tn_read_u32(w + 2 * k0 - 1);
  const uint32_t e0 = tn_sxtb16(x0), e1 = tn_sxtb16(x1), o2 = tn_sxtb16_ror8(x2);
  const uint32_t o0 = tn_sxtb16_ror8(x0), o1 = tn_sxtb16_ror8(x1), e2 = tn_sxtb16(x2);
  const uint32_t q = (o0 & 0xFFFFu) | (o1 << 16); /* (w1, w4) */
  *p0 = tn_sadd16(e0, e0);                         /* (w0, w2) */
  *p1 = tn_sadd16(e1, e1);                         /* (w3, w5) */
  *p2 = tn_sadd16(o2, o2);                         /* (w6, w8) */
  *q01 = tn_sadd16(q, q);
  *q2 = (uint32_t)(2 * tn_lane_hi(e2)) & 0xFFFFu;  /* (w7, 0) */
  const uint32_t ones = 0x00010001u;
  return 2 * tn_smlad(e0, ones, tn_smlad(e1, ones, tn_smlad(o2, ones, tn_smlad(q, ones, tn_lane_hi(e2)))));
}

/* The channel loops, each its own function so that only one's locals are on
 * the stack. 3x3: the packed weights travel in the job. */
__attribute__((noinline)) static void tn_dwf_asm3(const tn_depthwise_params* p,
                                                 const tn_dwf_layout* l, const int8_t* input,
                                                 int8_t* output) {
  const int32_t k0 = l->k0, offset = l->offset;
  tn_dw3_job a;
  tn_dw3_job_init(&a, p, l->s, l->pitch, l->acc);
  tn_dw_copy_job cj;
  tn_dw_copy_job_init(&cj, &p->in, l->interior, l->pitch);
  for (int32_t ch = 0; ch < p->in.c; ++ch) {
    cj.src = input + ch;
    tn_dw_copy_asm(&cj);
    const int8_t* w = p->weights + ch * k0 * k0 + l->crop * (k0 + 1);
    const int32_t sum2 = tn_dw3_pack(w, k0, &a.p0, &a.p1, &a.p2, &a.q01, &a.q2);
    a.a = (int32_t)(2u * (uint32_t)p->q.bias[ch] + (uint32_t)(offset * sum2));
    a.m = p->q.multiplier[ch];
    a.rm = ~p->q.shift[ch];
    a.c = tn_rqf_c(l->f.k2, a.rm);
    a.out = output + ch;
    a.rows = p->out.h;
    a.row = l->image;
    if (l->s == 1) {
      tn_dw3s1_asm(&a);
    } else {
      tn_dw3s2_asm(&a);
    }
  }
}

/* 3x3 stride 1 with at least two output rows (not three: there a second call
 * for the odd row costs more than the pair saves): row pairs through
 * tn_dw3s1x2_asm, an odd last row through tn_dw3s1_asm. */
__attribute__((noinline)) static void tn_dwf_asm3x2(const tn_depthwise_params* p,
                                                   const tn_dwf_layout* l, const int8_t* input,
                                                   int8_t* output) {
  const int32_t k0 = l->k0, offset = l->offset, out_h = p->out.h;
  const int32_t paired = out_h & ~1;
  tn_dw3x2_job b;
  b.pitch = l->pitch;
  b.span = 2 * (p->out.w >> 1);
  b.buf = l->acc;
  b.pairs = p->out.w >> 1;
  b.step = p->in.c;
  b.rowbytes = p->out.w * p->in.c;
  b.buf2 = l->acc;
  b.advance = 2 * l->pitch;
  b.odd = p->out.w & 1;
  b.end = 0;
  b.pad_ = 0;
  tn_dw3_job a;
  tn_dw3_job_init(&a, p, 1, l->pitch, l->acc);
  tn_dw_copy_job cj;
  tn_dw_copy_job_init(&cj, &p->in, l->interior, l->pitch);
  for (int32_t ch = 0; ch < p->in.c; ++ch) {
    cj.src = input + ch;
    tn_dw_copy_asm(&cj);
    const int8_t* w = p->weights + ch * k0 * k0 + l->crop * (k0 + 1);
    const int32_t sum2 = tn_dw3_pack(w, k0, &b.p0, &b.p1, &b.p2, &b.q01, &b.q2);
    b.a = b.a2 = (int32_t)(2u * (uint32_t)p->q.bias[ch] + (uint32_t)(offset * sum2));
    b.m = p->q.multiplier[ch];
    b.rm = ~p->q.shift[ch];
    b.c = tn_rqf_c(l->f.k2, b.rm);
    b.out = output + ch;
    b.rows = paired >> 1;
    b.row = l->image;
    tn_dw3s1x2_asm(&b);
    if (paired < out_h) {
      a.p0 = b.p0;
      a.p1 = b.p1;
      a.p2 = b.p2;
      a.q01 = b.q01;
      a.q2 = b.q2;
      a.a = b.a;
      a.m = b.m;
      a.rm = b.rm;
      a.c = b.c;
      a.out = output + ch + paired * b.rowbytes;
      a.rows = 1;
      a.row = l->image + paired * l->pitch;
      tn_dw3s1_asm(&a);
    }
  }
}

/* 5x5, 7x7: the packed weights in a table the job points to. */
__attribute__((noinline)) static void tn_dwf_asm57(const tn_depthwise_params* p,
                                                  const tn_dwf_layout* l, const int8_t* input,
                                                  int8_t* output) {
  const int32_t k0 = l->k0, k = l->k, s = l->s, offset = l->offset;
  tn_dw3_job a;
  uint32_t packed[7 * 4];
  tn_dw3_job_init(&a, p, s, l->pitch, l->acc);
  a.p0 = (uint32_t)(uintptr_t)packed;
  /* 5x5 stride 1 on 2 or >= 4 output rows: two rows per pass. */
  const int x2 = k == 5 && s == 1 && p->out.h >= 2 && p->out.h != 3;
  const int32_t paired = p->out.h & ~1;
  tn_dw5x2_job b;
  b.pitch = l->pitch;
  b.cur = l->image;
  b.buf = l->acc;
  b.packed = packed;
  b.accp = l->acc;
  b.accend = l->acc + 4 * (p->out.w >> 1);
  b.unused_[0] = b.unused_[1] = 0;
  b.pairs = p->out.w >> 1;
  b.step = p->in.c;
  b.rowbytes = p->out.w * p->in.c;
  b.buf2 = l->acc;
  b.advance = 2 * l->pitch;
  b.odd = p->out.w & 1;
  b.pad_[0] = b.pad_[1] = 0;
  tn_dw_copy_job cj;
  tn_dw_copy_job_init(&cj, &p->in, l->interior, l->pitch);
  for (int32_t ch = 0; ch < p->in.c; ++ch) {
    cj.src = input + ch;
    tn_dw_copy_asm(&cj);
    const int8_t* w = p->weights + ch * k0 * k0 + l->crop * (k0 + 1);
    /* Per kernel row two word loads inside the row, SXTB16 into pairs,
     * SADD16 to double; the sum through SMLAD with (1, 1). */
    const uint32_t ones = 0x00010001u;
    int32_t sum = 0;
    uint32_t* d = packed;
    if (k == 5) {
      for (int32_t ky = 0; ky < 5; ++ky, w += k0, d += 3) {
        const uint32_t x0 = tn_read_u32(w), x1 = tn_read_u32(w + 1);
        const uint32_t e = tn_sxtb16(x0), o = tn_sxtb16_ror8(x0);
        const int32_t t4 = tn_lane_hi(tn_sxtb16_ror8(x1)); /* (w2, w4) */
        d[0] = tn_sadd16(e, e);
        d[1] = tn_sadd16(o, o);
        d[2] = (uint32_t)(2 * t4) & 0xFFFFu;
        sum = tn_smlad(e, ones, tn_smlad(o, ones, sum + t4));
      }
    } else {
      for (int32_t ky = 0; ky < 7; ++ky, w += k0, d += 4) {
        const uint32_t x0 = tn_read_u32(w), x1 = tn_read_u32(w + 3);
        const uint32_t e = tn_sxtb16(x0), o = tn_sxtb16_ror8(x0), f = tn_sxtb16_ror8(x1);
        const int32_t t5 = tn_lane_hi(tn_sxtb16(x1)); /* (w3, w5) */
        d[0] = tn_sadd16(e, e);
        d[1] = tn_sadd16(o, o);
        d[2] = tn_sadd16(f, f); /* (w4, w6) */
        d[3] = (uint32_t)(2 * t5) & 0xFFFFu;
        sum = tn_smlad(e, ones, tn_smlad(o, ones, tn_smlad(f, ones, sum + t5)));
      }
    }
    const int32_t sum2 = 2 * sum;
    a.p1 = 2u * (uint32_t)p->q.bias[ch] + (uint32_t)(offset * sum2);
    a.m = p->q.multiplier[ch];
    a.rm = ~p->q.shift[ch];
    a.c = tn_rqf_c(l->f.k2, a.rm);
    a.out = output + ch;
    a.rows = p->out.h;
    a.row = l->image;
    if (x2) {
      /* Row pairs through the two-row kernel, an odd last row through the
       * one-row kernel. */
      b.a = b.a2 = (int32_t)a.p1;
      b.m = a.m;
      b.c = a.c;
      b.rm = a.rm;
      b.out = a.out;
      b.rows = paired >> 1;
      b.row = l->image;
      tn_dw5s1x2_asm(&b);
      if (paired < p->out.h) {
        a.rows = p->out.h - paired;
        a.row = l->image + paired * l->pitch;
        a.out = output + ch + paired * b.rowbytes;
        tn_dw5s1_asm(&a);
      }
    } else if (k == 5) {
      if (s == 1) tn_dw5s1_asm(&a);
      else tn_dw5s2_asm(&a);
    } else {
      if (s == 1) tn_dw7s1_asm(&a);
      else tn_dw7s2_asm(&a);
    }
  }
}
#endif

/* The C channel loop: USAT mode and general mode (parameters outside
 * tn_rqf's domain: undoubled weights, TFLite's requantisation) on Arm;
 * everything on the host. Accumulators wrap modulo 2^32 as the reference's
 * int32 sums do. */
__attribute__((noinline)) static void tn_dwf_c(const tn_depthwise_params* p,
                                              const tn_dwf_layout* l, const int8_t* input,
                                              int8_t* output) {
  const int32_t k0 = l->k0, offset = l->offset, factor = l->general ? 1 : 2;
  tn_dwf_job j;
  j.image = l->image;
  j.pitch = l->pitch;
  j.out_h = p->out.h;
  j.out_w = p->out.w;
  j.step = p->in.c;
  j.f = &l->f;
  j.wstride = k0;
  j.factor = factor;
  j.output_offset = p->q.output_offset;
  j.act_min = p->q.act_min;
  j.act_max = p->q.act_max;
  for (int32_t ch = 0; ch < p->in.c; ++ch) {
    tn_dwf_copy_interior(input, &p->in, ch, l->interior, l->pitch);
    j.weights = p->weights + ch * k0 * k0 + l->crop * (k0 + 1);
    const int32_t sum = tn_dwf_pack_weights(j.packed, j.weights, l->k, k0, factor);
    j.acc = (int32_t)((uint32_t)factor * (uint32_t)tn_bias(&p->q, ch) +
                      (uint32_t)offset * (uint32_t)sum);
    if (factor == 2) {
      j.m = p->q.multiplier[ch];
      j.rm = ~p->q.shift[ch];
      j.c = tn_rqf_c(l->f.k2, j.rm);
    } else {
      j.rq = tn_rq_channel_of(p->q.multiplier[ch], p->q.shift[ch]);
    }
    j.out = output + ch;
    tn_dwf_channel(&j, l->acc, l->k, l->s, l->f.full);
  }
}

/* ---- 3x3 maps, 3x3 kernel, stride 1, padding 1 (tn_rqf parameters)
 *
 * On a 3x3 map the padded-image scheme spends most of a channel on overhead
 * (copy set-up, a 3-wide row as a pair and an odd column, per-row set-up):
 * ~430 instructions per channel for 81 products. Here the channel's nine
 * inputs and nine weights go straight into registers as int16 pairs and
 * every output is written from them, nothing copied:
 *   input row r:  X01 = (x0, x1), X12 = (x1, x2)  (+ input_offset, SXTAB16)
 *   kernel row i: W01 = (w0, w1), W12 = (w1, w2)  (doubled: tn_rqf's 2 * acc)
 * and for output row y, each kernel row i meeting input row r = y + i - 1:
 *   left   += SMLAD(X01, W12)          w1 x0 + w2 x1
 *   middle += SMLAD(X01, W01) + SMLATT(X12, W12)
 *   right  += SMLAD(X12, W01)          w0 x1 + w1 x2
 * 28 MAC instructions for the 49 products that meet real pixels (the
 * padding's are zero: the pairs hold x + input_offset). In place is safe:
 * all nine inputs of a channel are read before any of its outputs is
 * written, and no other channel's bytes are touched. */
/* Input row r's pairs (x0, x1), (x1, x2) + input_offset; kernel row i's
 * doubled pairs (w0, w1), (w1, w2). */
#define TN_DW3MAP_ROW(R)                                                              \
  const uint32_t b0_##R = (uint8_t)x[3 * (R) * step];                                  \
  const uint32_t b1_##R = (uint8_t)x[(3 * (R) + 1) * step];                            \
  const uint32_t b2_##R = (uint8_t)x[(3 * (R) + 2) * step];                            \
  const uint32_t x01_##R = tn_sxtab16(off2, b0_##R | (b1_##R << 16));                  \
  const uint32_t x12_##R = tn_sxtab16(off2, b1_##R | (b2_##R << 16));                  \
  const uint32_t w01_##R = tn_pack16(2 * w[3 * (R)], 2 * w[3 * (R) + 1]);              \
  const uint32_t w12_##R = tn_pack16(2 * w[3 * (R) + 1], 2 * w[3 * (R) + 2]);

/* Kernel row I over input row R into the output row's three accumulators. */
#define TN_DW3MAP_MAC(R, I)                                         \
  left = tn_smlad(x01_##R, w12_##I, left);                          \
  mid = tn_smlatt(x12_##R, w12_##I, tn_smlad(x01_##R, w01_##I, mid)); \
  right = tn_smlad(x12_##R, w01_##I, right);

/* Output X of the row at `o` (outputs `step` bytes apart), SSAT mode. */
#define TN_DW_SMALL_OUT(A, X) o[(X) * step] = tn_rqf_out(f, tn_rqf_pre(A, m, cc, rm), 1);
/* The same for kernels that leave their weights undoubled (7x7, 5x5 stride
 * 2): the sum is doubled here. */
#define TN_DW_SMALL_OUT2(A, X) TN_DW_SMALL_OUT((int32_t)(2u * (uint32_t)(A)), X)

/* Output row Y's three outputs, then the next row from `start`. */
#define TN_DW3MAP_OUT(Y)                                                    \
  TN_DW_SMALL_OUT(left, 3 * (Y)) TN_DW_SMALL_OUT(mid, 3 * (Y) + 1)          \
  TN_DW_SMALL_OUT(right, 3 * (Y) + 2) left = mid = right = start;

TN_ALWAYS_INLINE void tn_dw3map_channel(const int8_t* x, const int8_t* w, int32_t step,
                                         uint32_t off2, int32_t start, const tn_rqf* f,
                                         int32_t m, int32_t rm, int8_t* o) {
  TN_DW3MAP_ROW(0)
  TN_DW3MAP_ROW(1)
  TN_DW3MAP_ROW(2)
  const int32_t cc = tn_rqf_c(f->k2, rm);
  int32_t left = start, mid = start, right = start;
  TN_DW3MAP_MAC(0, 1)  /* output row 0: kernel rows 1, 2 over input rows 0, 1 */
  TN_DW3MAP_MAC(1, 2)
  TN_DW3MAP_OUT(0)
  TN_DW3MAP_MAC(0, 0)  /* output row 1: kernel rows 0..2 over input rows 0..2 */
  TN_DW3MAP_MAC(1, 1)
  TN_DW3MAP_MAC(2, 2)
  TN_DW3MAP_OUT(1)
  TN_DW3MAP_MAC(1, 0)  /* output row 2: kernel rows 0, 1 over input rows 1, 2 */
  TN_DW3MAP_MAC(2, 1)
  TN_DW3MAP_OUT(2)
}

/* 5x5 maps, the same scheme row by row: input row r's pairs (x0, x1) ..
 * (x3, x4) (+ input_offset) are made once per channel, and kernel row i over
 * input row r adds to output row y = r - i + 1's five accumulators
 *   x0: SMLAD(X01, W12)   x1..x3: SMLAD(X(j-1)j, W01) + SMLATT(Xj(j+1), W12)
 *   x4: SMLAD(X34, W01)
 * (8 MAC instructions per 15 products; 13 kernel rows meet real rows). */
#define TN_DW5MAP_MAC(Q, W01, W12)                                       \
  a0 = tn_smlad((Q)[0], W12, a0);                                        \
  a1 = tn_smlatt((Q)[1], W12, tn_smlad((Q)[0], W01, a1));                \
  a2 = tn_smlatt((Q)[2], W12, tn_smlad((Q)[1], W01, a2));                \
  a3 = tn_smlatt((Q)[3], W12, tn_smlad((Q)[2], W01, a3));                \
  a4 = tn_smlad((Q)[3], W01, a4);

TN_ALWAYS_INLINE void tn_dw5map_channel(const int8_t* x, const int8_t* w, int32_t step,
                                         uint32_t off2, int32_t start, const tn_rqf* f,
                                         int32_t m, int32_t rm, int8_t* o) {
  uint32_t q[5][4];
  for (int32_t r = 0; r < 5; ++r, x += 5 * step) {
    const uint32_t b0 = (uint8_t)x[0], b1 = (uint8_t)x[step], b2 = (uint8_t)x[2 * step];
    const uint32_t b3 = (uint8_t)x[3 * step], b4 = (uint8_t)x[4 * step];
    q[r][0] = tn_sxtab16(off2, b0 | (b1 << 16));
    q[r][1] = tn_sxtab16(off2, b1 | (b2 << 16));
    q[r][2] = tn_sxtab16(off2, b2 | (b3 << 16));
    q[r][3] = tn_sxtab16(off2, b3 | (b4 << 16));
  }
  const uint32_t w01_0 = tn_pack16(2 * w[0], 2 * w[1]), w12_0 = tn_pack16(2 * w[1], 2 * w[2]);
  const uint32_t w01_1 = tn_pack16(2 * w[3], 2 * w[4]), w12_1 = tn_pack16(2 * w[4], 2 * w[5]);
  const uint32_t w01_2 = tn_pack16(2 * w[6], 2 * w[7]), w12_2 = tn_pack16(2 * w[7], 2 * w[8]);
  const int32_t cc = tn_rqf_c(f->k2, rm);
  for (int32_t y = 0; y < 5; ++y, o += 5 * step) {
    int32_t a0 = start, a1 = start, a2 = start, a3 = start, a4 = start;
    if (y > 0) {
      TN_DW5MAP_MAC(q[y - 1], w01_0, w12_0)
    }
    TN_DW5MAP_MAC(q[y], w01_1, w12_1)
    if (y < 4) {
      TN_DW5MAP_MAC(q[y + 1], w01_2, w12_2)
    }
    TN_DW_SMALL_OUT(a0, 0)
    TN_DW_SMALL_OUT(a1, 1)
    TN_DW_SMALL_OUT(a2, 2)
    TN_DW_SMALL_OUT(a3, 3)
    TN_DW_SMALL_OUT(a4, 4)
  }
}

/* 7x7 kernels on 5x5 and 3x3 maps (stride 1, padding 3), the same way: every
 * output sees (nearly) the whole map, so per kernel row i over input row r
 * (output row y = r - i + 3) the five (three) outputs take
 *   5x5: x0 SMLAD(X01,W34) + SMLAD(X23,W56)
 *        x1 SMLAD(X01,W23) + SMLAD(X23,W45) + SMLATT(X34,W56)
 *        x2 SMLAD(X01,W12) + SMLAD(X23,W34) + SMLATT(X34,W45)
 *        x3 SMLAD(X01,W01) + SMLAD(X23,W23) + SMLATT(X34,W34)
 *        x4 SMLAD(X12,W01) + SMLAD(X34,W23)
 *   3x3: x0 SMLAD(X01,W34) + SMLATT(X12,W45)
 *        x1 SMLAD(X01,W23) + SMLATT(X12,W34)
 *        x2 SMLAD(X01,W12) + SMLATT(X12,W23)
 * where Wab = (w[i][a], w[i][b]) and Xab = (x[r][a], x[r][b]) + input_offset;
 * the weights are not doubled (packing 42 pairs costs more than doubling 25
 * sums), so neither is `start` and the sums are doubled at the output. */
#define TN_DW7MAP5_MAC(X, W)                                                        \
  a0 = tn_smlad((X)[2], (W)[5], tn_smlad((X)[0], (W)[3], a0));                      \
  a1 = tn_smlatt((X)[3], (W)[5], tn_smlad((X)[2], (W)[4], tn_smlad((X)[0], (W)[2], a1))); \
  a2 = tn_smlatt((X)[3], (W)[4], tn_smlad((X)[2], (W)[3], tn_smlad((X)[0], (W)[1], a2))); \
  a3 = tn_smlatt((X)[3], (W)[3], tn_smlad((X)[2], (W)[2], tn_smlad((X)[0], (W)[0], a3))); \
  a4 = tn_smlad((X)[3], (W)[2], tn_smlad((X)[1], (W)[0], a4));

#define TN_DW7MAP3_MAC(X, W)                                      \
  a0 = tn_smlatt((X)[1], (W)[4], tn_smlad((X)[0], (W)[3], a0));   \
  a1 = tn_smlatt((X)[1], (W)[3], tn_smlad((X)[0], (W)[2], a1));   \
  a2 = tn_smlatt((X)[1], (W)[2], tn_smlad((X)[0], (W)[1], a2));

/* n x n map (n = 3 or 5), 7x7 kernel: `x` the channel's first input byte. */
TN_ALWAYS_INLINE void tn_dw7map_channel(const int8_t* x, const int8_t* w, int32_t step,
                                         uint32_t off2, int32_t start, const tn_rqf* f,
                                         int32_t m, int32_t rm, int8_t* o, int32_t n) {
  uint32_t xp[5][4], wp[7][6];
  for (int32_t r = 0; r < n; ++r, x += n * step)
    for (int32_t j = 0; j + 1 < n; ++j)
      xp[r][j] = tn_sxtab16(off2, (uint32_t)(uint8_t)x[j * step] |
                                      ((uint32_t)(uint8_t)x[(j + 1) * step] << 16));
  /* A 3x3 map meets only the central 5x5 (pairs W12 .. W45 of rows 1..5). */
  const int32_t lo = n == 3 ? 1 : 0, hi = n == 3 ? 5 : 6;
  for (int32_t i = lo; i <= hi; ++i)
    for (int32_t j = lo; j < hi; ++j) wp[i][j] = tn_pack16(w[7 * i + j], w[7 * i + j + 1]);
  const int32_t cc = tn_rqf_c(f->k2, rm);
  for (int32_t y = 0; y < n; ++y, o += n * step) {
    int32_t a0 = start, a1 = start, a2 = start, a3 = start, a4 = start;
    for (int32_t r = 0; r < n; ++r) {
      const int32_t i = r - y + 3;
      if (i < 0 || i > 6) continue;
      if (n == 5) {
        TN_DW7MAP5_MAC(xp[r], wp[i])
      } else {
        TN_DW7MAP3_MAC(xp[r], wp[i])
      }
    }
    TN_DW_SMALL_OUT2(a0, 0)
    TN_DW_SMALL_OUT2(a1, 1)
    TN_DW_SMALL_OUT2(a2, 2)
    if (n == 5) {
      TN_DW_SMALL_OUT2(a3, 3)
      TN_DW_SMALL_OUT2(a4, 4)
    }
  }
}

/* 5x5 kernels with stride 2 on a 5x5 map (padding 2: 3x3 outputs), the same
 * way: output (y, x) is centred on input (2y, 2x), so output row y meets
 * input rows 2y-2 .. 2y+2 (3, 5, 3 of them) and, per kernel row i over input
 * row r (i = r - 2y + 2), with Xab = (x[r][a], x[r][b]) + input_offset and
 * Wab = (w[i][a], w[i][b]) (not doubled, as for 7x7: the sums are):
 *   x0: SMLAD(X01, W23) + SMLATB(W34, X23)          w2 x0 + w3 x1 + w4 x2
 *   x1: SMLAD(X01, W01) + SMLAD(X23, W23) + SMLATT(X34, W34)
 *   x2: SMLAD(X23, W01) + SMLATB(X34, W23)          w0 x2 + w1 x3 + w2 x4
 * (7 MAC instructions per 11 products; 11 kernel rows meet real rows). */
#define TN_DW5S2MAP_MAC(X, W)                                              \
  a0 = tn_smlatb((W)[2], (X)[1], tn_smlad((X)[0], (W)[1], a0));            \
  a1 = tn_smlatt((X)[2], (W)[2], tn_smlad((X)[1], (W)[1], tn_smlad((X)[0], (W)[0], a1))); \
  a2 = tn_smlatb((X)[2], (W)[1], tn_smlad((X)[1], (W)[0], a2));

/* Output row Y's three outputs, then the next row from `start`. */
#define TN_DW5S2MAP_OUT(Y)                                                  \
  TN_DW_SMALL_OUT2(a0, 3 * (Y))                                            \
  TN_DW_SMALL_OUT2(a1, 3 * (Y) + 1)                                        \
  TN_DW_SMALL_OUT2(a2, 3 * (Y) + 2) a0 = a1 = a2 = start;

TN_ALWAYS_INLINE void tn_dw5s2map_channel(const int8_t* x, const int8_t* w, int32_t step,
                                           uint32_t off2, int32_t start, const tn_rqf* f,
                                           int32_t m, int32_t rm, int8_t* o) {
  uint32_t xp[5][3], wp[5][3];
  for (int32_t r = 0; r < 5; ++r, x += 5 * step, w += 5) {
    const uint32_t b0 = (uint8_t)x[0], b1 = (uint8_t)x[step], b2 = (uint8_t)x[2 * step];
    const uint32_t b3 = (uint8_t)x[3 * step], b4 = (uint8_t)x[4 * step];
    xp[r][0] = tn_sxtab16(off2, b0 | (b1 << 16));
    xp[r][1] = tn_sxtab16(off2, b2 | (b3 << 16));
    xp[r][2] = tn_sxtab16(off2, b3 | (b4 << 16));
    /* (w0, w1), (w2, w3), (w3, w4) from one word's even and odd pairs */
    const uint32_t wd = tn_read_u32(w), e = tn_sxtb16(wd), od = tn_sxtb16_ror8(wd);
    wp[r][0] = (e & 0xFFFFu) | (od << 16);
    wp[r][1] = (e >> 16) | (od & 0xFFFF0000u);
    wp[r][2] = (od >> 16) | ((uint32_t)w[4] << 16);
  }
  const int32_t cc = tn_rqf_c(f->k2, rm);
  int32_t a0 = start, a1 = start, a2 = start;
  TN_DW5S2MAP_MAC(xp[0], wp[2])  /* output row 0: input rows 0..2 */
  TN_DW5S2MAP_MAC(xp[1], wp[3])
  TN_DW5S2MAP_MAC(xp[2], wp[4])
  TN_DW5S2MAP_OUT(0)
  TN_DW5S2MAP_MAC(xp[0], wp[0])  /* output row 1: input rows 0..4 */
  TN_DW5S2MAP_MAC(xp[1], wp[1])
  TN_DW5S2MAP_MAC(xp[2], wp[2])
  TN_DW5S2MAP_MAC(xp[3], wp[3])
  TN_DW5S2MAP_MAC(xp[4], wp[4])
  TN_DW5S2MAP_OUT(1)
  TN_DW5S2MAP_MAC(xp[2], wp[0])  /* output row 2: input rows 2..4 */
  TN_DW5S2MAP_MAC(xp[3], wp[1])
  TN_DW5S2MAP_MAC(xp[4], wp[2])
  TN_DW5S2MAP_OUT(2)
}

/* An n x n map (n = 3 or 5) under a 3x3 kernel (stride 1, padding 1) or a
 * 7x7 one (padding 3), or a 5x5 map under a 5x5 kernel with stride 2
 * (padding 2); SSAT mode (the activation range all of int8, as ReLU6 layers
 * calibrate to). */
__attribute__((noinline)) static void tn_dw_smallmap(const tn_depthwise_params* p,
                                                    const tn_rqf* f, const int8_t* input,
                                                    int8_t* output, int32_t n) {
  const int32_t c = p->in.c, k = p->kernel;
  const uint32_t off2 = tn_pack16(p->q.input_offset, p->q.input_offset);
  for (int32_t ch = 0; ch < c; ++ch) {
    const int8_t* x = input + ch;
    const int8_t* w = p->weights + ch * k * k;
    /* tn_rqf takes 2 * acc: the 3x3 kernels double weights and bias, the
     * 5x5 and 7x7 ones their sums */
    const int32_t bias = p->q.bias[ch];
    const int32_t start = k != 3 ? bias : (int32_t)(2u * (uint32_t)bias);
    const int32_t m = p->q.multiplier[ch], rm = ~p->q.shift[ch];
    int8_t* o = output + ch;
    if (k == 7) {
      if (n == 5) tn_dw7map_channel(x, w, c, off2, start, f, m, rm, o, 5);
      else tn_dw7map_channel(x, w, c, off2, start, f, m, rm, o, 3);
    } else if (k == 5) {
      tn_dw5s2map_channel(x, w, c, off2, start, f, m, rm, o);
    } else if (n == 3) {
      tn_dw3map_channel(x, w, c, off2, start, f, m, rm, o);
    } else {
      tn_dw5map_channel(x, w, c, off2, start, f, m, rm, o);
    }
  }
}

/* 0: the kernel or stride needs the general path. */
__attribute__((noinline)) static int tn_depthwise_fast(const tn_depthwise_params* p, const int8_t* input, int8_t* output,
                             int8_t* scratch) {
  tn_dwf_layout l;
  const int32_t k0 = p->kernel, s = p->stride;
  if (k0 != 3 && k0 != 5 && k0 != 7) return 0;
  if (s != 1 && s != 2) return 0;
  l.general = !tn_rqf_init(&l.f, &p->q, p->in.c, (int64_t)k0 * k0 * 255 * 128);
  /* 3x3 and 5x5 maps under a 3x3 or 7x7 kernel with stride 1, a 5x5 map
   * under a 5x5 kernel with stride 2 (padding k / 2 on every side): straight
   * from the input, in registers. */
  const int32_t half = k0 / 2;
  const int small_s1 = k0 != 5 && s == 1 && (p->in.w == 3 || p->in.w == 5) &&
                       p->out.w == p->in.w;
  const int small_5s2 = k0 == 5 && s == 2 && p->in.w == 5 && p->out.w == 3;
  if (!l.general && l.f.full && (small_s1 || small_5s2) && p->in.h == p->in.w &&
      p->out.h == p->out.w &&
      p->padding + p->pad_top == half && p->padding + p->pad_left == half &&
      p->padding + p->pad_bottom == half && p->padding + p->pad_right == half) {
    tn_dw_smallmap(p, &l.f, input, output, p->in.w);
    return 1;
  }
  /* Small maps: kernel rows (columns) that no output ever lines up with a
   * real input row (column) only ever see the zero point, whose products
   * the start value leaves out anyway; with stride 1 such rows come in
   * symmetric pairs, so a 7x7 kernel on a 3x3 map is its central 5x5 with
   * padding 2. */
  tn_dw_pads d = tn_dw_pads_of(p);
  int32_t k = k0, crop = 0;
  const int symmetric = d.top == d.left && d.top == d.bottom && d.top == d.right;
  if (s == 1 && symmetric) {
    const int32_t pad = d.top;
    const int32_t lo_y = pad - (p->out.h - 1), hi_y = pad + p->in.h - 1;
    const int32_t lo_x = pad - (p->out.w - 1), hi_x = pad + p->in.w - 1;
    const int32_t lo = lo_y > lo_x ? lo_x : lo_y;
    const int32_t hi_yx = hi_y > hi_x ? hi_y : hi_x, hi = hi_yx > k0 - 1 ? k0 - 1 : hi_yx;
    if (lo > 0 && hi == k0 - 1 - lo && hi - lo + 1 >= 3) {
      crop = lo;
      k = hi - lo + 1;
      d.top = d.left = d.bottom = d.right = pad - lo;
    }
  }
  const int32_t pitch = p->in.w + d.left + d.right;
  l.k0 = k0;
  l.k = k;
  l.s = s;
  l.crop = crop;
  l.pitch = pitch;
  l.offset = p->q.input_offset;
  l.image = scratch;
  l.interior = scratch + d.top * pitch + d.left;
  /* Phase 1's row of accumulators: the scratch's tail (2 * out.w * 4 bytes
   * after the image), word-aligned. */
  l.acc = (int32_t*)(((uintptr_t)scratch + (uintptr_t)((p->in.h + d.top + d.bottom) * pitch) +
                      3u) &
                     ~(uintptr_t)3);
  /* The border, once: the input zero point on every padded side. (The pairs'
   * word loads may read up to 3 bytes past the image, into the accumulator
   * row below; those bytes never reach a product.) */
  const int8_t zp = (int8_t)(-l.offset);
  memset(scratch, zp, (size_t)(d.top * pitch));
  for (int32_t y = 0; y < p->in.h; ++y) {
    int8_t* row = scratch + (d.top + y) * pitch;
    for (int32_t i = 0; i < d.left; ++i) row[i] = zp;
    for (int32_t i = 0; i < d.right; ++i) row[d.left + p->in.w + i] = zp;
  }
  memset(scratch + (d.top + p->in.h) * pitch, zp, (size_t)(d.bottom * pitch));
#if defined(TN_ARM_DSP_ASM)
  if (!l.general && l.f.full) {
    if (k == 3 && s == 1 && p->out.h >= 2 && p->out.h != 3) {
      tn_dwf_asm3x2(p, &l, input, output);
    } else if (k == 3) {
      tn_dwf_asm3(p, &l, input, output);
    } else {
      tn_dwf_asm57(p, &l, input, output);
    }
    return 1;
  }
#endif
  tn_dwf_c(p, &l, input, output);
  return 1;
}
#endif /* TN_USE_DSP */

/* The general path: any kernel, stride and requantisation parameters. */
__attribute__((noinline)) static void tn_depthwise_general(const tn_depthwise_params* p,
                                                          const int8_t* input, int8_t* output,
                                                          int8_t* scratch) {
  const int32_t k = p->kernel, s = p->stride, c = p->in.c;
  const int32_t offset = p->q.input_offset;
  tn_dw_job j;
  j.image = scratch;
  const tn_dw_pads d = tn_dw_pads_of(p);
  j.pitch = p->in.w + d.left + d.right;
  j.out_h = p->out.h;
  j.out_w = p->out.w;
  j.out_step = c;
  j.output_offset = p->q.output_offset;
  j.act_min = p->q.act_min;
  j.act_max = p->q.act_max;
  for (int32_t ch = 0; ch < c; ++ch) {
    tn_dw_copy_channel(input, &p->in, ch, &d, (int8_t)(-offset), scratch);
    j.weights = p->weights + ch * k * k;
    int32_t weight_sum = 0;
    for (int32_t i = 0; i < k * k; ++i) weight_sum += j.weights[i];
    j.bias = (int32_t)((uint32_t)tn_bias(&p->q, ch) + (uint32_t)(offset * weight_sum));
    j.rq = tn_rq_channel_of(p->q.multiplier[ch], p->q.shift[ch]);
    j.out = output + ch;
#if defined(TN_USE_DSP)
    /* DSP builds come here only for parameters the fast path leaves out:
     * one generic copy, one output at a time. */
    tn_dw_channel_any(&j, k, s);
#else
    if (k == 3 && s == 1) {
      tn_dw_channel(&j, 3, 1);
    } else if (k == 3 && s == 2) {
      tn_dw_channel(&j, 3, 2);
    } else if (k == 5 && s == 1) {
      tn_dw_channel(&j, 5, 1);
    } else if (k == 5 && s == 2) {
      tn_dw_channel(&j, 5, 2);
    } else if (k == 7 && s == 1) {
      tn_dw_channel(&j, 7, 1);
    } else if (k == 7 && s == 2) {
      tn_dw_channel(&j, 7, 2);
    } else {
      tn_dw_channel(&j, k, s);
    }
#endif
  }
}

static tn_status tn_depthwise_run(const tn_depthwise_params* p, const int8_t* input,
                                  int8_t* output, int8_t* scratch) {
#if defined(TN_USE_DSP)
  if (tn_depthwise_fast(p, input, output, scratch)) return TN_OK;
#endif
  tn_depthwise_general(p, input, output, scratch);
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
