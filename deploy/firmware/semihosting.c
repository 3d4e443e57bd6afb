/* Arm semihosting over BKPT 0xAB (see semihosting.h). */
#include "semihosting.h"

int32_t tn_sh_call(uint32_t op, const void* arg) {
  register uint32_t r0 __asm__("r0") = op;
  register const void* r1 __asm__("r1") = arg;
  /* "memory": the host reads and writes the blocks r1 points to. */
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return (int32_t)r0;
}

void tn_sh_writec(char c) { tn_sh_call(TN_SYS_WRITEC, &c); }

void tn_sh_write0(const char* text) { tn_sh_call(TN_SYS_WRITE0, text); }

int32_t tn_sh_open(const char* name, uint32_t name_length, uint32_t mode) {
  uint32_t args[3] = {(uint32_t)(uintptr_t)name, mode, name_length};
  return tn_sh_call(TN_SYS_OPEN, args);
}

int32_t tn_sh_flen(int32_t fd) {
  uint32_t args[1] = {(uint32_t)fd};
  return tn_sh_call(TN_SYS_FLEN, args);
}

int32_t tn_sh_read(int32_t fd, void* buffer, uint32_t bytes) {
  uint32_t args[3] = {(uint32_t)fd, (uint32_t)(uintptr_t)buffer, bytes};
  return tn_sh_call(TN_SYS_READ, args);
}

void tn_sh_close(int32_t fd) {
  uint32_t args[1] = {(uint32_t)fd};
  tn_sh_call(TN_SYS_CLOSE, args);
}

int tn_sh_has_exit_extended(void) {
  /* The semihosting v2 feature file: 4 magic bytes "SHFB", then feature bits;
   * bit 0 of byte 4 is SH_EXT_EXIT_EXTENDED. Hosts without the file (v1)
   * fail the open, which means "no". */
  static const char name[] = ":semihosting-features";
  int32_t fd = tn_sh_open(name, sizeof name - 1, 0 /* "r" */);
  if (fd < 0) return 0;
  unsigned char buf[5] = {0, 0, 0, 0, 0};
  int ok = 0;
  if (tn_sh_flen(fd) >= 5 && tn_sh_read(fd, buf, 5) == 0)
    ok = buf[0] == 'S' && buf[1] == 'H' && buf[2] == 'F' && buf[3] == 'B' && (buf[4] & 1);
  tn_sh_close(fd);
  return ok;
}

void tn_sh_exit(int code) {
  if (tn_sh_has_exit_extended()) {
    uint32_t block[2] = {TN_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    tn_sh_call(TN_SYS_EXIT_EXTENDED, block);
  } else {
    if (code != 0) {
      /* No way to pass the code itself: print it for the runner to parse. */
      char line[24] = "TN_EXIT ";
      char digits[12];
      int n = 0, i = 8;
      uint32_t v = code < 0 ? (uint32_t)(-(int64_t)code) : (uint32_t)code;
      if (code < 0) line[i++] = '-';
      do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
      } while (v != 0);
      while (n > 0) line[i++] = digits[--n];
      line[i++] = '\n';
      line[i] = '\0';
      tn_sh_write0(line);
    }
    /* On AArch32 SYS_EXIT takes the reason itself in r1, not a pointer. */
    tn_sh_call(TN_SYS_EXIT, (const void*)(uintptr_t)(code == 0 ? TN_ADP_STOPPED_APPLICATION_EXIT
                                                             : TN_ADP_STOPPED_RUNTIME_ERROR_UNKNOWN));
  }
  for (;;) {
  }
}
