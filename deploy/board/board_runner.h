// Running a firmware image and reading back what it measured: one result
// protocol (printed by deploy/firmware/harness.c over semihosting), two back
// ends that produce the text.
//
//   qemu   qemu-system-arm on the MCU's QEMU machine with -icount shift=0: one
//          executed instruction is 1 ns of virtual time, so counts are exact
//          instruction counts and deterministic. Runs in CI.
//   pyocd  a real board over a debug probe: flashed with pyOCD, run under
//          pyOCD's gdbserver with semihosting; counts are core cycles (DWT, or
//          SysTick on the core clock for a Cortex-M0+).
//
// The protocol, one line each (anything else in the output is ignored):
//   TN_BEGIN <dwt|systick> <instructions per tick, or 0>
//   TN_RESULT <index> <status> <count> <output bytes, two hex digits each>
//   TN_OP <op index> <count>  (profiled builds: each op of the first input, in order)
//   TN_END
//   TN_EXIT <code>         (only when the host has no SYS_EXIT_EXTENDED)
//   TN_FAULT <what> ...    (the firmware's fault handlers)
// A run without TN_END crashed or was cut off.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/mcu.h"

namespace tinynas::deploy {

struct BoardResult {
  std::string counter_source;       // "dwt" or "systick"
  double instructions_per_tick = 0; // measured by the firmware (SysTick); 0 for DWT
  struct Run {
    int index = 0;
    int status = 0;       // tn_status the model returned
    uint64_t count = 0;   // raw counter difference (ticks or cycles)
    std::vector<int8_t> output;
    double measured = 0;  // in `unit`: count * instructions_per_tick on QEMU, count on a board
  };
  std::vector<Run> runs;
  // Per-op counts of the first input when the firmware was built with
  // TN_PROFILE (TN_OP lines): raw counts and, like Run::measured, in `unit`.
  std::vector<uint64_t> op_counts;
  std::vector<double> op_measured;
  int exit_code = -1;   // the firmware's exit code as the back end saw it; -1 unknown
  std::string log;      // everything the back end printed (stdout, then stderr)

  std::string backend;           // "qemu", "pyocd" or "" (parsed text only)
  std::string unit;              // "instructions" (QEMU) or "cycles" (board)
  bool began = false;            // TN_BEGIN seen
  bool ended = false;            // TN_END seen
  bool timed_out = false;        // the back end killed it
  int firmware_exit = -1;        // from a TN_EXIT line, -1 when none
  std::vector<std::string> faults;  // TN_FAULT lines
  std::vector<std::string> errors;  // protocol problems ("line 3: ...", missing TN_END)

  // Completed, every model run returned TN_OK, no fault, exit code 0.
  bool ok() const;
  // What went wrong, one problem per line ("" when ok()).
  std::string failure() const;
};

// Parses the protocol out of a back end's output. Sets everything but
// exit_code, log, backend, unit and Run::measured; missing or malformed lines
// go to errors, never throw.
BoardResult parse_board_output(const std::string& text);

// Runs elf on the MCU's QEMU machine (see the header comment), killing it
// after timeout_s. Throws tinynas::Error when QEMU is missing ("qemu-system-arm
// not found: install qemu-system-arm"; $TINYNAS_QEMU overrides the path), the
// MCU has no QEMU machine, or elf does not exist. A crash or timeout is a
// result (ok() false), not an exception.
//
// work_dir: QEMU's working directory, where the firmware's semihosting file
// operations (the harness's tn_inputs.bin, see deploy/firmware/harness.c)
// resolve relative names; "": the caller's.
BoardResult run_qemu(const McuTarget& mcu, const std::string& elf, int timeout_s, const std::string& work_dir = "");

struct PyocdOptions {
  std::string target;  // pyOCD target type; "" = $TINYNAS_PYOCD_TARGET, else from the MCU
  std::string probe;   // probe unique ID (or a unique part of it); "" = the only one
  int gdb_port = 3333;
  std::string work_dir;  // the gdbserver's working directory (semihosting files); "": the caller's
};

// The pyOCD target type for an MCU: a built-in name where pyOCD has one
// (f412: stm32f412xg), else the lower-cased part number, which the CMSIS
// pack for the part provides after `pyocd pack install <part>`.
std::string pyocd_target_for(const McuTarget& mcu);

// Flashes elf with pyOCD, then runs it under pyOCD's gdbserver with
// semihosting on its console, driving the core with a minimal GDB remote
// client; stops at TN_END (pyOCD does not implement SYS_EXIT, so the core
// would otherwise spin) or after timeout_s. Works with pip's `pyocd` and with
// Debian's pyOCD 0.13 (pyocd-flashtool / pyocd-gdbserver). Throws
// tinynas::Error when pyOCD is missing ($TINYNAS_PYOCD overrides the path) or
// no probe is connected.
BoardResult run_pyocd(const McuTarget& mcu, const std::string& elf, int timeout_s,
                      const PyocdOptions& options = {});

// A GDB remote serial protocol packet: "$<data>#<checksum>" (exposed for tests).
std::string rsp_packet(const std::string& data);

}  // namespace tinynas::deploy
