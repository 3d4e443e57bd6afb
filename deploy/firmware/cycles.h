/*
 * The harness's clock: one 64-bit counter read before and after each
 * inference.
 *
 *   dwt      DWT->CYCCNT, core cycles. Used when it actually advances (real
 *            Cortex-M3/M4/M7/M33 parts with a debugger or TRCENA set).
 *   systick  SysTick on the processor clock, 24 bits, extended to 64 by
 *            counting wraps in SysTick_Handler. The fallback: QEMU's DWT does
 *            not count, and the Cortex-M0+ has no DWT cycle counter. Under QEMU
 *            -icount shift=0 a tick is a fixed number of executed instructions
 *            (tn_cycles_calibrate measures how many); on a real part a tick is
 *            one core cycle.
 *
 * Reading costs a few tens of instructions (it masks interrupts briefly);
 * the harness does not subtract it, it is far below one layer's cost.
 */
#ifndef TN_CYCLES_H
#define TN_CYCLES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { TN_COUNTER_DWT = 0, TN_COUNTER_SYSTICK = 1 } tn_counter_source;

/* Starts the counter, choosing DWT when it runs, else SysTick. */
tn_counter_source tn_cycles_init(void);
tn_counter_source tn_cycles_source(void);
const char* tn_cycles_source_name(void); /* "dwt" or "systick" */
uint64_t tn_cycles_now(void);

/* Runs a loop of exactly 2 * `iterations` instructions (SUBS + BNE) and
 * returns the counter's elapsed count; the caller divides. */
uint64_t tn_cycles_calibrate(uint32_t iterations);

void SysTick_Handler(void);

#ifdef __cplusplus
}
#endif

#endif /* TN_CYCLES_H */
