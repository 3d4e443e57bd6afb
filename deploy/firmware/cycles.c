/* DWT / SysTick counter (see cycles.h). */
#include "cycles.h"

#define TN_REG(addr) (*(volatile uint32_t*)(addr))
#define DEMCR TN_REG(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL TN_REG(0xE0001000u)
#define DWT_CTRL_NOCYCCNT (1u << 25)
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define DWT_CYCCNT TN_REG(0xE0001004u)
#define SYST_CSR TN_REG(0xE000E010u)
#define SYST_RVR TN_REG(0xE000E014u)
#define SYST_CVR TN_REG(0xE000E018u)
#define ICSR TN_REG(0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)

/* The whole 24-bit range: fewest wraps (one per 2^24 ticks, 671M instructions
 * under QEMU). Tests build with a small value to exercise the wrap counting. */
#ifndef TN_SYSTICK_RELOAD
#define TN_SYSTICK_RELOAD 0x00FFFFFFu
#endif

static tn_counter_source source = TN_COUNTER_SYSTICK;
static volatile uint32_t systick_wraps;

static uint32_t irq_save(void) {
  uint32_t primask;
  __asm__ volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
  return primask;
}

static void irq_restore(uint32_t primask) {
  __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
}

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || \
    defined(__ARM_ARCH_8_1M_MAIN__)
#define TN_HAVE_DWT_CYCCNT 1
#else
#define TN_HAVE_DWT_CYCCNT 0 /* v6-M / v8-M baseline: no cycle counter */
#endif

static int dwt_runs(void) {
#if TN_HAVE_DWT_CYCCNT
  DEMCR |= DEMCR_TRCENA;
  if (DWT_CTRL & DWT_CTRL_NOCYCCNT) return 0;
  DWT_CYCCNT = 0;
  DWT_CTRL |= DWT_CTRL_CYCCNTENA;
  uint32_t first = DWT_CYCCNT;
  for (volatile int i = 0; i < 16; ++i) {
  }
  /* QEMU accepts the writes but CYCCNT stays 0: only a moving counter counts. */
  return DWT_CYCCNT != first;
#else
  return 0;
#endif
}

tn_counter_source tn_cycles_init(void) {
  if (dwt_runs()) {
    source = TN_COUNTER_DWT;
    return source;
  }
  source = TN_COUNTER_SYSTICK;
  systick_wraps = 0;
  SYST_CSR = 0;
  SYST_RVR = TN_SYSTICK_RELOAD;
  SYST_CVR = 0;          /* any write clears it; reloads on the next tick */
  SYST_CSR = 7;          /* CLKSOURCE = processor clock, TICKINT, ENABLE */
  return source;
}

tn_counter_source tn_cycles_source(void) { return source; }

const char* tn_cycles_source_name(void) { return source == TN_COUNTER_DWT ? "dwt" : "systick"; }

void SysTick_Handler(void) { ++systick_wraps; }

uint64_t tn_cycles_now(void) {
#if TN_HAVE_DWT_CYCCNT
  /* 32 bits: wraps after 2^32 cycles (20 s at 216 MHz), longer than any
   * inference this project ships. */
  if (source == TN_COUNTER_DWT) return DWT_CYCCNT;
#endif
  uint32_t primask = irq_save();
  uint32_t wraps = systick_wraps;
  uint32_t value = SYST_CVR;
  /* A wrap the handler has not taken yet (interrupts are masked here): count
   * it, and re-read so the value is the one after the wrap. */
  if (ICSR & ICSR_PENDSTSET) {
    value = SYST_CVR;
    ++wraps;
  }
  irq_restore(primask);
  return (uint64_t)wraps * (TN_SYSTICK_RELOAD + 1u) + (TN_SYSTICK_RELOAD - value);
}

uint64_t tn_cycles_calibrate(uint32_t iterations) {
  if (iterations == 0) iterations = 1;
  uint64_t start = tn_cycles_now();
  /* Exactly two instructions per iteration; the asm keeps the compiler from
   * folding or unrolling it. GCC hands Thumb-1 inline asm to the assembler
   * in divided syntax, where three-operand SUBS is not Thumb16: say unified
   * (GCC switches back after the block). */
  __asm__ volatile(
      ".syntax unified\n"
      "1:\n"
      "  subs %0, %0, #1\n"
      "  bne 1b\n"
      : "+l"(iterations)
      :
      : "cc");
  uint64_t end = tn_cycles_now();
  return end - start;
}
