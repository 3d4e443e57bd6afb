/*
 * Private: the Arm DSP (SIMD32) instructions the optimised kernels use, as
 * inline wrappers with one meaning on every build.
 *
 * - Arm with __ARM_FEATURE_DSP (Cortex-M4/M7/M33/M55): <arm_acle.h> intrinsics,
 *   plus inline asm for the rotated extends (GCC's ACLE has no __ror, and a
 *   separate LSR would cost the instruction the rotate field saves).
 * - TN_EMULATE_DSP (host tests): exact C emulations, so the SIMD kernels are
 *   run and checked bit for bit against the reference on the host. The
 *   emulation wins even on Arm, which lets the emulation itself be checked on
 *   a board.
 * - Neither: TN_USE_DSP stays undefined and the kernels take the portable path.
 *
 * Packed values are uint32_t (two int16 lanes: lane 0 in bits 0..15); all lane
 * arithmetic wraps modulo 2^16 or 2^32 exactly as the instructions do.
 */
#ifndef TN_DSP_H
#define TN_DSP_H

#include <stdint.h>
#include <string.h>

#if defined(TN_EMULATE_DSP)
#define TN_USE_DSP 1
#define TN_DSP_EMULATED 1
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define TN_USE_DSP 1
#include <arm_acle.h>
#endif

#if defined(__GNUC__)
#define TN_ALWAYS_INLINE static inline __attribute__((always_inline))
#define TN_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define TN_ALWAYS_INLINE static inline
#define TN_LIKELY(x) (x)
#endif

/* Word access at any alignment. memcpy keeps it free of aliasing and alignment
 * undefined behaviour; GCC turns it into one LDR/STR on cores with unaligned
 * access (M3/M4/M7/M33), and into byte accesses on the M0+. */
TN_ALWAYS_INLINE uint32_t tn_read_u32(const void* p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

TN_ALWAYS_INLINE void tn_write_u32(void* p, uint32_t v) { memcpy(p, &v, sizeof v); }

/* Two int16 lanes from two int32 values (truncated to 16 bits each). */
TN_ALWAYS_INLINE uint32_t tn_pack16(int32_t lo, int32_t hi) {
  return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

#if defined(TN_USE_DSP)

#if defined(TN_DSP_EMULATED)

TN_ALWAYS_INLINE int32_t tn_lane_lo(uint32_t x) { return (int16_t)(x & 0xFFFFu); }
TN_ALWAYS_INLINE int32_t tn_lane_hi(uint32_t x) { return (int16_t)(x >> 16); }

/* SXTB16: bytes 0 and 2, sign-extended into the two halfword lanes. */
TN_ALWAYS_INLINE uint32_t tn_sxtb16(uint32_t x) {
  return tn_pack16((int8_t)(x & 0xFFu), (int8_t)((x >> 16) & 0xFFu));
}

/* SXTB16 with ROR #8: bytes 1 and 3. */
TN_ALWAYS_INLINE uint32_t tn_sxtb16_ror8(uint32_t x) {
  return tn_pack16((int8_t)((x >> 8) & 0xFFu), (int8_t)(x >> 24));
}

/* SXTAB16: a + SXTB16(x), lane by lane, each lane modulo 2^16. */
TN_ALWAYS_INLINE uint32_t tn_sxtab16(uint32_t a, uint32_t x) {
  return tn_pack16(tn_lane_lo(a) + (int8_t)(x & 0xFFu), tn_lane_hi(a) + (int8_t)((x >> 16) & 0xFFu));
}

/* SXTAB16 with ROR #8: a + bytes 1 and 3. */
TN_ALWAYS_INLINE uint32_t tn_sxtab16_ror8(uint32_t a, uint32_t x) {
  return tn_pack16(tn_lane_lo(a) + (int8_t)((x >> 8) & 0xFFu), tn_lane_hi(a) + (int8_t)(x >> 24));
}

/* SMLAD: acc + lo*lo + hi*hi, modulo 2^32 (the instruction only sets Q). Each
 * product fits int32 (at most 2^30); their sums wrap, so they are unsigned. */
TN_ALWAYS_INLINE int32_t tn_smlad(uint32_t x, uint32_t y, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)(tn_lane_lo(x) * tn_lane_lo(y)) +
                   (uint32_t)(tn_lane_hi(x) * tn_lane_hi(y)));
}

/* SMLABB / SMLATB / SMLATT: acc + (bottom or top lane of x) * (bottom or top
 * lane of y). */
TN_ALWAYS_INLINE int32_t tn_smlabb(uint32_t x, uint32_t y, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)(tn_lane_lo(x) * tn_lane_lo(y)));
}

TN_ALWAYS_INLINE int32_t tn_smlatb(uint32_t x, uint32_t y, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)(tn_lane_hi(x) * tn_lane_lo(y)));
}

TN_ALWAYS_INLINE int32_t tn_smlatt(uint32_t x, uint32_t y, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)(tn_lane_hi(x) * tn_lane_hi(y)));
}

/* SADD16: lane-wise add modulo 2^16. */
TN_ALWAYS_INLINE uint32_t tn_sadd16(uint32_t a, uint32_t b) {
  return tn_pack16(tn_lane_lo(a) + tn_lane_lo(b), tn_lane_hi(a) + tn_lane_hi(b));
}

#else /* real Arm DSP instructions */

TN_ALWAYS_INLINE int32_t tn_lane_lo(uint32_t x) { return (int16_t)(x & 0xFFFFu); }
TN_ALWAYS_INLINE int32_t tn_lane_hi(uint32_t x) { return (int32_t)x >> 16; }

TN_ALWAYS_INLINE uint32_t tn_sxtb16(uint32_t x) { return (uint32_t)__sxtb16((int32_t)x); }

TN_ALWAYS_INLINE uint32_t tn_sxtb16_ror8(uint32_t x) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}

TN_ALWAYS_INLINE uint32_t tn_sxtab16(uint32_t a, uint32_t x) {
  return (uint32_t)__sxtab16((int32_t)a, (int32_t)x);
}

TN_ALWAYS_INLINE uint32_t tn_sxtab16_ror8(uint32_t a, uint32_t x) {
  uint32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
  return r;
}

TN_ALWAYS_INLINE int32_t tn_smlad(uint32_t x, uint32_t y, int32_t acc) {
  return __smlad((int32_t)x, (int32_t)y, acc);
}

TN_ALWAYS_INLINE int32_t tn_smlabb(uint32_t x, uint32_t y, int32_t acc) {
  return __smlabb((int32_t)x, (int32_t)y, acc);
}

TN_ALWAYS_INLINE int32_t tn_smlatb(uint32_t x, uint32_t y, int32_t acc) {
  return __smlatb((int32_t)x, (int32_t)y, acc);
}

TN_ALWAYS_INLINE int32_t tn_smlatt(uint32_t x, uint32_t y, int32_t acc) {
  return __smlatt((int32_t)x, (int32_t)y, acc);
}

TN_ALWAYS_INLINE uint32_t tn_sadd16(uint32_t a, uint32_t b) {
  return (uint32_t)__sadd16((int32_t)a, (int32_t)b);
}

#endif /* TN_DSP_EMULATED */
#endif /* TN_USE_DSP */

/* ---- scalar helpers of the fast requantisation, on every build (Arm v7E-M
 * instructions where the core has them, the same arithmetic in C elsewhere). */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(TN_EMULATE_DSP)
#define TN_ARM_DSP_ASM 1
#endif

/* SMMLAR: a + ((x * y + 2^31) >> 32), modulo 2^32. */
TN_ALWAYS_INLINE int32_t tn_smmlar(int32_t x, int32_t y, int32_t a) {
#if defined(TN_ARM_DSP_ASM)
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(x), "r"(y), "r"(a));
  return r;
#else
  const int32_t hi = (int32_t)(((int64_t)x * y + ((int64_t)1 << 31)) >> 32);
  return (int32_t)((uint32_t)a + (uint32_t)hi);
#endif
}

/* SSAT #8 of x >> 1 (arithmetic): clamp(x >> 1, -128, 127). */
TN_ALWAYS_INLINE int32_t tn_ssat8_asr1(int32_t x) {
#if defined(TN_ARM_DSP_ASM)
  int32_t r;
  __asm__("ssat %0, #8, %1, asr #1" : "=r"(r) : "r"(x));
  return r;
#else
  const int32_t y = x >> 1;
  return y < -128 ? -128 : y > 127 ? 127 : y;
#endif
}

/* USAT #8 of x >> 1: clamp(x >> 1, 0, 255). */
TN_ALWAYS_INLINE int32_t tn_usat8_asr1(int32_t x) {
#if defined(TN_ARM_DSP_ASM)
  int32_t r;
  __asm__("usat %0, #8, %1, asr #1" : "=r"(r) : "r"(x));
  return r;
#else
  const int32_t y = x >> 1;
  return y < 0 ? 0 : y > 255 ? 255 : y;
#endif
}

#endif /* TN_DSP_H */
