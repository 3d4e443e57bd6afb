/* Elementwise add (TFLite int8 ADD). Every iteration reads all its inputs
 * before it writes, so the output may be either input.
 *
 * The fast path (parameters checked once per call): every multiplier >= 0,
 * input shifts in [-31, 0], output shift in [-22, -1], left_shift <= 20,
 * output offset inside int8. Then per element, with v = x + offset (|v| <= 255)
 * and a = v << (left_shift + 1) = 2 * (v << left_shift) (|a| < 2^29):
 *   scaled = SMMLAR(a, m, nudge - [a < 0]) >> r     (r = -shift; the rounding
 *            of tn_rqf: SaturatingRoundingDoublingHighMul is SMMULR of the
 *            doubled value, RoundingDivideByPOT adds 2^(r-1) - [x < 0]
 *            before the shift, and x < 0 only where a < 0; for r = 0 nothing)
 *   raw = scaled1 + scaled2                         (|raw| < 2^29 + 2)
 *   y = tn_rqf on 2 * raw with the output multiplier and shift
 * which is bit-exact with the reference for every input. The DSP build widens
 * four elements per word load: SXTB16 + SADD16 give (v0, v2) and (v1, v3) as
 * int16 lanes; shifting the whole word left by left_shift + 1 in [16, 21]
 * leaves exactly v << (left_shift + 1) of the bottom lane (the top lane is
 * shifted out, and |v| < 2^10 fits the bits that remain). */
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

/* The fast path's per-call constants. */
typedef struct {
  int32_t ls1;         /* left_shift + 1 */
  int32_t m1, n1, r1;  /* input 1: multiplier, 2^(r-1) (0 for r = 0), r */
  int32_t m2, n2, r2;
  int32_t mo, co, rmo; /* output: multiplier, C and r - 1 of tn_rqf */
  tn_rqf f;
} tn_add_fast;

/* One input's rescaling; a = (x + offset) << (left_shift + 1). `shifted`: r >= 1. */
TN_ALWAYS_INLINE int32_t tn_add_scale(int32_t a, int32_t m, int32_t n, int32_t r, int shifted) {
  if (!shifted) return tn_smmlar(a, m, 0);
  return tn_smmlar(a, m, n + (a >> 31)) >> r;
}

TN_ALWAYS_INLINE int32_t tn_add_fast_pre(const tn_add_fast* k, int32_t a1, int32_t a2, int sh1,
                                         int sh2) {
  const int32_t raw = tn_add_scale(a1, k->m1, k->n1, k->r1, sh1) +
                      tn_add_scale(a2, k->m2, k->n2, k->r2, sh2);
  return tn_rqf_pre(2 * raw, k->mo, k->co, k->rmo);
}

/* The C loop: on Arm only what the asm leaves out (and the last size % 4). */
__attribute__((noinline)) static void tn_add_fast_run(const tn_add_fast* k, int32_t size,
                                                     const int8_t* in1, const int8_t* in2,
                                                     const int32_t off1, const int32_t off2,
                                                     int8_t* out, int sh1, int sh2, int full) {
  int32_t i = 0;
#if defined(TN_USE_DSP) && !defined(TN_ARM_DSP_ASM)
  const uint32_t o1 = tn_pack16(off1, off1), o2 = tn_pack16(off2, off2);
  const int32_t ls1 = k->ls1;
  /* The whole word shifted left by ls1: the top lane leaves entirely only for
   * ls1 >= 16, and the bottom lane's 32 - ls1 >= 11 low bits hold all of
   * |v| < 2^10 for ls1 <= 21. TFLite's left_shift is 20. */
  for (; ls1 >= 16 && i + 4 <= size; i += 4) {
    const uint32_t w1 = tn_read_u32(in1 + i), w2 = tn_read_u32(in2 + i);
    const uint32_t e1 = tn_sadd16(tn_sxtb16(w1), o1), d1 = tn_sadd16(tn_sxtb16_ror8(w1), o1);
    const uint32_t e2 = tn_sadd16(tn_sxtb16(w2), o2), d2 = tn_sadd16(tn_sxtb16_ror8(w2), o2);
    const int32_t y0 = tn_add_fast_pre(k, (int32_t)(e1 << ls1), (int32_t)(e2 << ls1), sh1, sh2);
    const int32_t y1 = tn_add_fast_pre(k, (int32_t)(d1 << ls1), (int32_t)(d2 << ls1), sh1, sh2);
    const int32_t y2 = tn_add_fast_pre(k, (int32_t)((uint32_t)((int32_t)e1 >> 16) << ls1),
                                       (int32_t)((uint32_t)((int32_t)e2 >> 16) << ls1), sh1, sh2);
    const int32_t y3 = tn_add_fast_pre(k, (int32_t)((uint32_t)((int32_t)d1 >> 16) << ls1),
                                       (int32_t)((uint32_t)((int32_t)d2 >> 16) << ls1), sh1, sh2);
    const uint32_t r = (uint32_t)(uint8_t)tn_rqf_out(&k->f, y0, full) |
                       (uint32_t)(uint8_t)tn_rqf_out(&k->f, y1, full) << 8 |
                       (uint32_t)(uint8_t)tn_rqf_out(&k->f, y2, full) << 16 |
                       (uint32_t)(uint8_t)tn_rqf_out(&k->f, y3, full) << 24;
    tn_write_u32(out + i, r);
  }
#endif
  for (; i < size; ++i) {
    const int32_t a1 = (int32_t)((uint32_t)(in1[i] + off1) << k->ls1);
    const int32_t a2 = (int32_t)((uint32_t)(in2[i] + off2) << k->ls1);
    out[i] = tn_rqf_out(&k->f, tn_add_fast_pre(k, a1, a2, sh1, sh2), full);
  }
}

#if defined(TN_ARM_DSP_ASM)
/* TFLite's ADD rescales both inputs to twice the larger input scale, so one
 * input (A) always has multiplier 2^30 and shift 0: its rescaled value
 * SaturatingRoundingDoublingHighMul(v << ls, 2^30) is exactly v << (ls - 1),
 * and 2 * raw = (v_A << ls) + 2 * scaled_B. The asm below handles that case
 * (full activation range, left_shift in [16, 20], B's shift <= -1), four
 * elements per pass, in three phases that each load their constants with one
 * LDM: widen (2 LDR, 4 SXTB16, 4 SADD16), rescale B and add A (per element
 * LSL, LSL, ADD, SMMLAR, ASR, ADD, plus 2 ASR for the top lanes), requantise
 * (ADD, SMMLAR, ASR, SSAT) and pack (3 BFI, STR). */
typedef struct {
  const int8_t* a;   /* 0 */
  const int8_t* b;   /* 4 */
  uint32_t offa2;    /* 8: A's offset in both lanes */
  uint32_t offb2;    /* 12 */
  int32_t ls;        /* 16: left_shift */
  int32_t mb, nb, rb;/* 20: B's multiplier, 2^(r-1), r */
  int32_t ls1;       /* 32: left_shift + 1 */
  int32_t mo, co, rmo;/* 36: the output's tn_rqf constants */
  int8_t* out;       /* 48 */
  int8_t* out_end;   /* 52: out + 4 * (size / 4) */
} tn_add_job;

typedef char tn_add_job_size_check[sizeof(tn_add_job) == 56 ? 1 : -1];

__attribute__((naked, noinline)) static void tn_add_asm(const tn_add_job* job) {
  __asm__ volatile(
      "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
      "sub sp, sp, #56\n\t"
      "ldm r0!, {r1, r2, r3, r4, r5, r6, r7}\n\t"
      "stm sp, {r1, r2, r3, r4, r5, r6, r7}\n\t"
      "ldm r0, {r1, r2, r3, r4, r5, r6, r7}\n\t"
      "add r0, sp, #28\n\t"
      "stm r0, {r1, r2, r3, r4, r5, r6, r7}\n\t"
      "1:\n\t"
      "ldm sp, {r0, r1, r2, r3}\n\t"
      "ldr r4, [r0], #4\n\t"
      "ldr r5, [r1], #4\n\t"
      "stm sp, {r0, r1}\n\t"
      "sxtb16 r6, r4\n\t"
      "sadd16 r6, r6, r2\n\t"
      "sxtb16 r4, r4, ror #8\n\t"
      "sadd16 r4, r4, r2\n\t"
      "sxtb16 r7, r5\n\t"
      "sadd16 r7, r7, r3\n\t"
      "sxtb16 r5, r5, ror #8\n\t"
      "sadd16 r5, r5, r3\n\t"
      "add r12, sp, #16\n\t"
      "ldm r12, {r8, r9, r10, r11, r12}\n\t"
      /* element 0: bottom lanes of r6 (A) and r7 (B) */
      "lsl r0, r6, r8\n\t"
      "lsl r1, r7, r12\n\t"
      "add r2, r10, r1, asr #31\n\t"
      "smmlar r1, r1, r9, r2\n\t"
      "asr r1, r1, r11\n\t"
      "add r0, r0, r1, lsl #1\n\t"
      /* element 2: their top lanes */
      "asr r6, r6, #16\n\t"
      "asr r7, r7, #16\n\t"
      "lsl r6, r6, r8\n\t"
      "lsl r7, r7, r12\n\t"
      "add r2, r10, r7, asr #31\n\t"
      "smmlar r7, r7, r9, r2\n\t"
      "asr r7, r7, r11\n\t"
      "add r6, r6, r7, lsl #1\n\t"
      /* element 1: bottom lanes of r4, r5 */
      "lsl r1, r4, r8\n\t"
      "lsl r2, r5, r12\n\t"
      "add r3, r10, r2, asr #31\n\t"
      "smmlar r2, r2, r9, r3\n\t"
      "asr r2, r2, r11\n\t"
      "add r1, r1, r2, lsl #1\n\t"
      /* element 3: their top lanes */
      "asr r4, r4, #16\n\t"
      "asr r5, r5, #16\n\t"
      "lsl r4, r4, r8\n\t"
      "lsl r5, r5, r12\n\t"
      "add r3, r10, r5, asr #31\n\t"
      "smmlar r5, r5, r9, r3\n\t"
      "asr r5, r5, r11\n\t"
      "add r4, r4, r5, lsl #1\n\t"
      /* the output: 2 * raw in r0, r1, r6, r4 */
      "add r12, sp, #36\n\t"
      "ldm r12, {r8, r9, r10, r11, r12}\n\t"
      "add r2, r9, r0, asr #31\n\t"
      "smmlar r0, r0, r8, r2\n\t"
      "add r2, r9, r1, asr #31\n\t"
      "smmlar r1, r1, r8, r2\n\t"
      "add r2, r9, r6, asr #31\n\t"
      "smmlar r6, r6, r8, r2\n\t"
      "add r2, r9, r4, asr #31\n\t"
      "smmlar r4, r4, r8, r2\n\t"
      "asr r0, r0, r10\n\t"
      "asr r1, r1, r10\n\t"
      "asr r6, r6, r10\n\t"
      "asr r4, r4, r10\n\t"
      "ssat r0, #8, r0, asr #1\n\t"
      "ssat r1, #8, r1, asr #1\n\t"
      "ssat r6, #8, r6, asr #1\n\t"
      "ssat r4, #8, r4, asr #1\n\t"
      "bfi r0, r1, #8, #8\n\t"
      "bfi r0, r6, #16, #8\n\t"
      "bfi r0, r4, #24, #8\n\t"
      "str r0, [r11], #4\n\t"
      "str r11, [sp, #48]\n\t"
      "cmp r11, r12\n\t"
      "bne 1b\n\t"
      "add sp, sp, #56\n\t"
      "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t");
}
#endif

/* 1 and k filled when the fast path applies. */
static int tn_add_fast_init(const tn_add_params* p, tn_add_fast* k) {
  if (p->left_shift > 20) return 0;
  if ((p->input1_multiplier | p->input2_multiplier | p->output_multiplier) < 0) return 0;
  if (p->input1_shift > 0 || p->input1_shift < -31) return 0;
  if (p->input2_shift > 0 || p->input2_shift < -31) return 0;
  if (p->output_shift > -1 || p->output_shift < -22) return 0;
  if (p->output_offset < -128 || p->output_offset > 127) return 0;
  k->ls1 = p->left_shift + 1;
  k->m1 = p->input1_multiplier;
  k->r1 = -p->input1_shift;
  k->n1 = k->r1 > 0 ? (int32_t)1 << (k->r1 - 1) : 0;
  k->m2 = p->input2_multiplier;
  k->r2 = -p->input2_shift;
  k->n2 = k->r2 > 0 ? (int32_t)1 << (k->r2 - 1) : 0;
  const int32_t full = p->act_min == -128 && p->act_max == 127;
  const int32_t kk = full ? p->output_offset : p->output_offset - p->act_min;
  k->f.k2 = 2 * kk + 1;
  k->f.act_min = p->act_min;
  k->f.range = p->act_max - p->act_min;
  k->f.full = full;
  k->mo = p->output_multiplier;
  k->rmo = ~p->output_shift;
  k->co = tn_rqf_c(k->f.k2, k->rmo);
  return 1;
}

/* n contiguous elements; fk: the fast path's constants, or NULL. */
static void tn_add_run(const tn_add_params* p, const tn_add_fast* fkp, int32_t n,
                       const int8_t* input1, const int8_t* input2, int8_t* output) {
  if (fkp != 0) {
    const tn_add_fast fk = *fkp;
    const int32_t o1 = p->input1_offset, o2 = p->input2_offset;
    const int sh1 = fk.r1 > 0, sh2 = fk.r2 > 0;
#if defined(TN_ARM_DSP_ASM)
    /* One input at exactly 2^30 * 2^0 (TFLite's larger scale), the other shifted. */
    const int a_is_1 = fk.m1 == (1 << 30) && fk.r1 == 0 && sh2;
    const int a_is_2 = fk.m2 == (1 << 30) && fk.r2 == 0 && sh1;
    if (fk.f.full && p->left_shift >= 16 && (a_is_1 || a_is_2) && n >= 4) {
      tn_add_job j;
      j.a = a_is_1 ? input1 : input2;
      j.b = a_is_1 ? input2 : input1;
      const int32_t oa = a_is_1 ? o1 : o2, ob = a_is_1 ? o2 : o1;
      j.offa2 = tn_pack16(oa, oa);
      j.offb2 = tn_pack16(ob, ob);
      j.ls = p->left_shift;
      j.mb = a_is_1 ? fk.m2 : fk.m1;
      j.nb = a_is_1 ? fk.n2 : fk.n1;
      j.rb = a_is_1 ? fk.r2 : fk.r1;
      j.ls1 = fk.ls1;
      j.mo = fk.mo;
      j.co = fk.co;
      j.rmo = fk.rmo;
      j.out = output;
      j.out_end = output + (n & ~3);
      tn_add_asm(&j);
      const int32_t done = n & ~3;
      if (done < n) {
        tn_add_fast_run(&fk, n - done, input1 + done, input2 + done, o1, o2, output + done, sh1, sh2,
                        1);
      }
      return;
    }
#endif
    tn_add_fast_run(&fk, n, input1, input2, o1, o2, output, sh1, sh2, fk.f.full);
    return;
  }
  const tn_add_consts k = {p->input1_offset,     p->input2_offset, p->output_offset,
                           p->left_shift,        p->input1_multiplier, p->input1_shift,
                           p->input2_multiplier, p->input2_shift,  p->output_multiplier,
                           p->output_shift,      p->act_min,       p->act_max};
  /* The general path (parameters the fast one leaves out): one element at a
   * time, both inputs read before the output is written. */
  for (int32_t i = 0; i < n; ++i) output[i] = tn_add_one(&k, input1[i], input2[i]);
}

tn_status tn_add_s8(const tn_add_params* p, const int8_t* input1, const int8_t* input2,
                    int8_t* output) {
  const tn_status s = tn_add_check(p);
  if (s != TN_OK) return s;
  if (p->size > 0 && (input1 == 0 || input2 == 0 || output == 0)) return TN_ERROR_ARGUMENT;
  tn_add_fast fk;
  const tn_add_fast* fast = tn_add_fast_init(p, &fk) ? &fk : 0;
  if (p->rows <= 1) {
    tn_add_run(p, fast, p->size, input1, input2, output);
    return TN_OK;
  }
  /* A tile: one run per row, each read before it is written (the output may
   * alias an input row for row, as in place over a contiguous operand). */
  for (int32_t r = 0; r < p->rows; ++r) {
    tn_add_run(p, fast, p->size, input1 + r * p->input1_row_stride,
               input2 + r * p->input2_row_stride, output + r * p->output_row_stride);
  }
  return TN_OK;
}
