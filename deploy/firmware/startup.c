/*
 * Cortex-M startup for the tinynas firmware, in place of newlib's crt0 (which
 * expects a host environment and crashes on QEMU's mps2 boards): the vector
 * table, the reset handler (FPU on, .data copied, .bss zeroed, caches on for
 * the Cortex-M7, constructors, main) and fault handlers that report over
 * semihosting, so a crash is a line in the log and a non-zero exit instead of
 * a hung emulator. Linked with -nostartfiles; the symbols come from
 * linker.ld.in.
 */
#include <stdint.h>
#include <string.h>

#include "semihosting.h"
#include "cycles.h"

/* Exit codes of the firmware (the harness uses 0 and 1). */
#define TN_EXIT_HARDFAULT 2
#define TN_EXIT_NMI 3

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern void (*__preinit_array_start[])(void);
extern void (*__preinit_array_end[])(void);
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(void);
void Reset_Handler(void);
void NMI_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);
void tn_fault_report(const uint32_t* frame, uint32_t exc_return);

#define TN_REG(addr) (*(volatile uint32_t*)(addr))
#define SCB_CPUID TN_REG(0xE000ED00u)
#define SCB_VTOR TN_REG(0xE000ED08u)
#define SCB_CCR TN_REG(0xE000ED14u)
#define SCB_CFSR TN_REG(0xE000ED28u)
#define SCB_HFSR TN_REG(0xE000ED2Cu)
#define SCB_MMFAR TN_REG(0xE000ED34u)
#define SCB_BFAR TN_REG(0xE000ED38u)
#define SCB_CPACR TN_REG(0xE000ED88u)
#define SCB_CCSIDR TN_REG(0xE000ED80u)
#define SCB_CSSELR TN_REG(0xE000ED84u)
#define SCB_ICIALLU TN_REG(0xE000EF50u)
#define SCB_DCISW TN_REG(0xE000EF60u)

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || \
    defined(__ARM_ARCH_8_1M_MAIN__)
#define TN_V7M_OR_LATER 1 /* VTOR, CFSR/HFSR, CCR cache bits exist */
#else
#define TN_V7M_OR_LATER 0
#endif

static inline void tn_barrier(void) { __asm__ volatile("dsb 0xF\n isb 0xF" ::: "memory"); }

/* Only the 16 system vectors: the firmware enables no peripheral interrupt,
 * and a table sized for one part's NVIC would be wrong for the next. */
__attribute__((section(".isr_vector"), used)) void (*const tn_vector_table[16])(void) = {
    (void (*)(void))(&_estack), /* initial SP: top of RAM */
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    Default_Handler, /* MemManage: escalates to HardFault while disabled */
    Default_Handler, /* BusFault */
    Default_Handler, /* UsageFault */
    Default_Handler, /* SecureFault (v8-M) */
    0,
    0,
    0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    SysTick_Handler, /* cycles.c: counts SysTick wraps */
};

#if TN_V7M_OR_LATER
/* The M7's caches are off after reset; TinyEngine's and MCUNet's F746/H743
 * figures are with both on, so measure the same way. QEMU models the
 * registers as no-ops. */
static void enable_m7_caches(void) {
  if (((SCB_CPUID >> 4) & 0xFFFu) != 0xC27u) return; /* not a Cortex-M7 */
  if (SCB_CCR & (1u << 17)) return;                   /* already on (a debugger or boot ROM) */
  tn_barrier();
  SCB_ICIALLU = 0;
  tn_barrier();
  SCB_CCR |= 1u << 17; /* IC */
  tn_barrier();
  /* Invalidate the data cache by set/way before turning it on. */
  SCB_CSSELR = 0; /* level 1 data cache */
  tn_barrier();
  uint32_t ccsidr = SCB_CCSIDR;
  uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
  uint32_t ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
  for (uint32_t set = 0; set < sets; ++set)
    for (uint32_t way = 0; way < ways; ++way) SCB_DCISW = (set << 5) | (way << 30);
  tn_barrier();
  SCB_CCR |= 1u << 16; /* DC */
  tn_barrier();
}
#endif

void Reset_Handler(void) {
#if defined(__ARM_FP)
  /* CP10/CP11 full access before any floating-point instruction runs: the
   * hard-float ABI may use VFP registers anywhere after this point. */
  SCB_CPACR |= 0xFu << 20;
  tn_barrier();
#endif
#if TN_V7M_OR_LATER
  SCB_VTOR = (uint32_t)(uintptr_t)tn_vector_table; /* flash aliases 0 only on some parts */
  enable_m7_caches();
#endif
  memcpy(&_sdata, &_sidata, (size_t)((char*)&_edata - (char*)&_sdata));
  memset(&_sbss, 0, (size_t)((char*)&_ebss - (char*)&_sbss));
  for (void (**f)(void) = __preinit_array_start; f < __preinit_array_end; ++f) (*f)();
  for (void (**f)(void) = __init_array_start; f < __init_array_end; ++f) (*f)();
  tn_sh_exit(main());
}

static char* put_hex(char* p, uint32_t v) {
  static const char digits[] = "0123456789abcdef";
  *p++ = '0';
  *p++ = 'x';
  for (int shift = 28; shift >= 0; shift -= 4) *p++ = digits[(v >> shift) & 0xFu];
  return p;
}

static char* put_str(char* p, const char* s) {
  while (*s) *p++ = *s++;
  return p;
}

/* Called from HardFault_Handler with the exception frame: r0-r3, r12, lr, pc, xpsr. */
void tn_fault_report(const uint32_t* frame, uint32_t exc_return) {
  char line[160];
  char* p = put_str(line, "\nTN_FAULT HardFault pc=");
  p = put_hex(p, frame[6]);
  p = put_str(p, " lr=");
  p = put_hex(p, frame[5]);
  p = put_str(p, " exc_return=");
  p = put_hex(p, exc_return);
#if TN_V7M_OR_LATER
  p = put_str(p, " cfsr=");
  p = put_hex(p, SCB_CFSR);
  p = put_str(p, " hfsr=");
  p = put_hex(p, SCB_HFSR);
  p = put_str(p, " bfar=");
  p = put_hex(p, SCB_BFAR);
  p = put_str(p, " mmfar=");
  p = put_hex(p, SCB_MMFAR);
#endif
  *p++ = '\n';
  *p = '\0';
  tn_sh_write0(line);
  tn_sh_exit(TN_EXIT_HARDFAULT);
}

/* Finds the frame on whichever stack was active (EXC_RETURN bit 2) and hands
 * it to C. Thumb-1 only, so the same code serves the Cortex-M0+. */
__attribute__((naked)) void HardFault_Handler(void) {
  __asm__ volatile(
      ".syntax unified\n" /* GCC uses divided syntax for Thumb-1 inline asm */
      "  movs r0, #4\n"
      "  mov r1, lr\n"
      "  tst r0, r1\n"
      "  beq 1f\n"
      "  mrs r0, psp\n"
      "  b 2f\n"
      "1:\n"
      "  mrs r0, msp\n"
      "2:\n"
      "  ldr r2, =tn_fault_report\n"
      "  bx r2\n"
      "  .ltorg\n");
}

void NMI_Handler(void) {
  tn_sh_write0("\nTN_FAULT NMI\n");
  tn_sh_exit(TN_EXIT_NMI);
}

void Default_Handler(void) {
  tn_sh_write0("\nTN_FAULT unexpected exception\n");
  tn_sh_exit(TN_EXIT_HARDFAULT);
}
