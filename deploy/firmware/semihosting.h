/*
 * Arm semihosting for the tinynas firmware: the only I/O channel the harness
 * uses, so the same image talks to QEMU (-semihosting-config) and to a real
 * board through a debug probe (pyOCD's gdbserver --semihosting). Every call is
 * a BKPT 0xAB trap: the host does the work while the core is halted, so calls
 * cost no cycles on the board's counters but take milliseconds of wall time on
 * a probe. Batch output into lines (tn_sh_write0), never per character.
 *
 * Without a debugger attached a real core escalates BKPT to HardFault: the
 * firmware only makes sense under QEMU or a probe.
 */
#ifndef TN_SEMIHOSTING_H
#define TN_SEMIHOSTING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  TN_SYS_OPEN = 0x01,
  TN_SYS_CLOSE = 0x02,
  TN_SYS_WRITEC = 0x03,
  TN_SYS_WRITE0 = 0x04,
  TN_SYS_READ = 0x06,
  TN_SYS_FLEN = 0x0C,
  TN_SYS_EXIT = 0x18, /* angel_SWIreason_ReportException */
  TN_SYS_EXIT_EXTENDED = 0x20
};

/* Reason codes for SYS_EXIT. QEMU exits 0 for ApplicationExit, 1 for any
 * other reason; only SYS_EXIT_EXTENDED carries an exit code on AArch32. */
#define TN_ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define TN_ADP_STOPPED_RUNTIME_ERROR_UNKNOWN 0x20023u

/* The raw trap: op in r0, argument (a value or a pointer to a block) in r1. */
int32_t tn_sh_call(uint32_t op, const void* arg);

void tn_sh_writec(char c);
void tn_sh_write0(const char* text); /* NUL-terminated */

/* Host file access (the host resolves relative names in its working
 * directory). Modes as ISO C fopen(): 0 "r", 1 "rb". open returns a handle or
 * -1; flen the length or -1; read the number of bytes NOT read (0: all). */
int32_t tn_sh_open(const char* name, uint32_t name_length, uint32_t mode);
int32_t tn_sh_flen(int32_t fd);
int32_t tn_sh_read(int32_t fd, void* buffer, uint32_t bytes);
void tn_sh_close(int32_t fd);

/* 1 when the host advertises SYS_EXIT_EXTENDED in ":semihosting-features". */
int tn_sh_has_exit_extended(void);

/* Ends the program with an exit code: SYS_EXIT_EXTENDED when the host has it,
 * else a printed "TN_EXIT <code>" line followed by SYS_EXIT (whose reason
 * still tells success from failure). Spins if the host ignores SYS_EXIT
 * (pyOCD 0.13 does): the runner stops the board once it has seen TN_END. */
void tn_sh_exit(int code) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif /* TN_SEMIHOSTING_H */
