/*
 * The inference harness: runs the model on every input in inputs.c, times
 * each run and reports over semihosting in the result protocol that both
 * board runners (QEMU and pyOCD) parse (deploy/board/board_runner.h):
 *
 *   TN_BEGIN <counter source> <instructions per tick, or 0>
 *   TN_RESULT <index> <status> <count> <output bytes as hex, two digits each>
 *   ...
 *   TN_END
 *
 * then exits 0, or 1 when any run returned a status other than TN_OK. Only
 * the model call lies between the two counter reads; printing happens
 * outside the timed region (a semihosting call halts the core).
 *
 * Inputs: the images of inputs.c in flash, or, built with
 * TN_INPUTS_FROM_HOST, the file tn_inputs.bin in the runner's working
 * directory (images back to back, TN_MODEL_INPUT_BYTES each), read by
 * semihosting straight into the model's input buffer in the arena: any number
 * of images, no flash and no SRAM of their own.
 */
#include <stdint.h>

#include "cycles.h"
#include "inputs.h"
#include "model.h"
#include "semihosting.h"

/* Calibration: 2 x 2^23 instructions, ~335k-420k SysTick ticks under QEMU,
 * so a one-tick error (the counter reads around it) is below 1e-5 and the
 * three printed decimals are exact; ~20 ms of emulation, 0.2 s on a 100 MHz
 * part. */
#define TN_CALIBRATION_ITERATIONS (1u << 23)


/* Output is built in a line buffer and flushed in chunks: one semihosting
 * trap per chunk, not per character (each trap is a round trip to a probe). */
static char line[128]; /* SRAM the cost model reserves: keep it small */
static unsigned line_len;

static void flush(void) {
  if (line_len == 0) return;
  line[line_len] = '\0';
  tn_sh_write0(line);
  line_len = 0;
}

static void put_char(char c) {
  if (line_len + 1 >= sizeof line) flush();
  line[line_len++] = c;
}

static void put_str(const char* s) {
  while (*s) put_char(*s++);
}

static void put_u64(uint64_t v) {
  char digits[21];
  int n = 0;
  do {
    digits[n++] = (char)('0' + (int)(v % 10u));
    v /= 10u;
  } while (v != 0);
  while (n > 0) put_char(digits[--n]);
}

static void put_int(int v) {
  if (v < 0) {
    put_char('-');
    put_u64((uint64_t)(-(int64_t)v));
  } else {
    put_u64((uint64_t)v);
  }
}

static void put_hex_bytes(const int8_t* bytes, int count) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < count; ++i) {
    uint8_t b = (uint8_t)bytes[i];
    put_char(digits[b >> 4]);
    put_char(digits[b & 0xFu]);
  }
}

#ifdef TN_PROFILE
/* Per-op counts of the first input: the generated model calls tn_profile_op()
 * after each op. The time spent printing is excluded by restarting the clock
 * after the line is out. */
static int profiling;
static uint64_t profile_last;

void tn_profile_op(int op) {
  if (!profiling) return;
  const uint64_t now = tn_cycles_now();
  put_str("TN_OP ");
  put_int(op);
  put_char(' ');
  put_u64(now - profile_last);
  put_char('\n');
  flush();
  profile_last = tn_cycles_now();
}
#endif

#ifdef TN_INPUTS_FROM_HOST
static int32_t inputs_fd = -1;

/* Opens tn_inputs.bin; the number of images, or -1. */
static int open_inputs(void) {
  static const char name[] = "tn_inputs.bin";
  inputs_fd = tn_sh_open(name, sizeof name - 1, 1 /* "rb" */);
  if (inputs_fd < 0) return -1;
  const int32_t bytes = tn_sh_flen(inputs_fd);
  if (bytes < 0 || bytes % TN_MODEL_INPUT_BYTES != 0) return -1;
  return (int)(bytes / TN_MODEL_INPUT_BYTES);
}

/* The next image, in the model's input buffer; NULL when the read fails. */
static const int8_t* next_input(int i) {
  (void)i;
  int8_t* const buffer = tn_model_input_buffer();
  return tn_sh_read(inputs_fd, buffer, TN_MODEL_INPUT_BYTES) == 0 ? buffer : 0;
}
#else
static int open_inputs(void) { return tn_num_inputs; }
static const int8_t* next_input(int i) { return tn_inputs[i]; }
#endif

int main(void) {
  tn_cycles_init();
  put_str("TN_BEGIN ");
  put_str(tn_cycles_source_name());
  put_char(' ');
  if (tn_cycles_source() == TN_COUNTER_SYSTICK) {
    /* Instructions per tick with three decimals, in integer arithmetic (no
     * printf/float formatting in the image). */
    uint64_t ticks = tn_cycles_calibrate(TN_CALIBRATION_ITERATIONS);
    uint64_t milli = ticks ? (2000ull * TN_CALIBRATION_ITERATIONS + ticks / 2) / ticks : 0;
    put_u64(milli / 1000u);
    put_char('.');
    put_char((char)('0' + (int)(milli / 100u % 10u)));
    put_char((char)('0' + (int)(milli / 10u % 10u)));
    put_char((char)('0' + (int)(milli % 10u)));
  } else {
    put_char('0');
  }
  put_char('\n');
  flush();

  int failed = 0;
  const int num_inputs = open_inputs();
  if (num_inputs < 0) {
    put_str("TN_FAULT inputs: cannot read tn_inputs.bin (a whole number of model inputs)\n");
    flush();
    return 1;
  }
  for (int i = 0; i < num_inputs; ++i) {
    const int8_t* const input = next_input(i);
    if (input == 0) {
      put_str("TN_FAULT inputs: reading image ");
      put_int(i);
      put_str(" of tn_inputs.bin failed\n");
      flush();
      return 1;
    }
#ifdef TN_PROFILE
    profiling = i == 0;
    profile_last = tn_cycles_now();
#endif
    uint64_t start = tn_cycles_now();
    /* The model leaves its logits in its arena: no output buffer of our own. */
    int8_t* const tn_output = tn_model_output_buffer();
    tn_status status = tn_model_run(input, tn_output);
    uint64_t end = tn_cycles_now();
    if (status != TN_OK) failed = 1;
    put_str("TN_RESULT ");
    put_int(i);
    put_char(' ');
    put_int((int)status);
    put_char(' ');
    put_u64(end - start);
    put_char(' ');
    put_hex_bytes(tn_output, TN_MODEL_OUTPUT_BYTES);
    put_char('\n');
    flush();
  }
  put_str("TN_END\n");
  flush();
  return failed;
}
