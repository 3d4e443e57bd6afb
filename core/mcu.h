// McuTarget: one microcontroller as the cost model, the search and the
// firmware builder see it, read from configs/mcus/<name>.yaml. Budget: the
// flash/SRAM (and optional latency) limits a network must fit.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config_dir.h"
#include "core/op_graph.h"

namespace tinynas {

struct Document;

// Latency model of one op kind: cycles = per_mac * MACs + per_output * output
// elements + per_input * input elements + per_channel * output channels +
// per_op, on the figures evaluator/cost_model.h's latency_features() gives
// (MACs there are the ones the kernel executes). Fitted to measurements by
// `tinynas calibrate`; until then the YAML says `fitted: false`.
struct OpLatencyCoeffs {
  double per_mac = 0;
  double per_output = 0;
  double per_input = 0;
  double per_op = 0;
  double per_channel = 0;  // per output channel (the kernels' per-channel setup)
};

struct McuTarget {
  std::string name;          // "f412"
  std::string part;          // "STM32F412ZG"
  std::string core;          // "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m0plus"
  bool dsp = false;          // Arm DSP extension (SMLAD etc.): the optimised kernels
  int64_t clock_hz = 0;
  int64_t flash_bytes = 0;   // on the part
  int64_t sram_bytes = 0;    // on the part (contiguous region the arena can use)
  int64_t budget_flash_bytes = 0;  // default budget (MCUNet budgets some parts below the part)
  int64_t budget_sram_bytes = 0;
  int64_t reserved_sram_bytes = 0;   // stack + runtime statics (what is not the arena)
  int64_t stack_bytes = 2048;        // the firmware's stack, part of reserved_sram_bytes
  int64_t reserved_flash_bytes = 0;  // vector table, startup, libc, harness
  std::array<int64_t, kNumOpKinds> kernel_code_bytes{};  // code per op kind the model uses
  int64_t per_layer_code_bytes = 0;  // generated call + parameter struct per op
  std::array<OpLatencyCoeffs, kNumOpKinds> latency{};
  bool latency_fitted = false;
  std::string qemu_machine;  // "" when QEMU has no machine for this core
  std::string qemu_cpu;
  int64_t flash_origin = 0;
  int64_t sram_origin = 0;
  std::string source;        // the YAML file it came from
};

struct Budget {
  int64_t flash_bytes = 0;
  int64_t sram_bytes = 0;
  double latency_ms = 0;  // 0: no latency limit
};

// Names of the shipped MCUs (stems of configs/mcus/*.yaml), sorted.
std::vector<std::string> known_mcus();
// A name from known_mcus() or a path to a YAML file. Unknown names throw an
// Error listing the known ones; a bad file, one naming file, line and key.
McuTarget load_mcu(const std::string& name_or_path);
// The same from a document already parsed (parse_document of text in memory,
// as the fuzz target does); errors name doc.path, the line and the key.
McuTarget mcu_from_document(const Document& doc);
// The MCU's default budget, with any of flash/sram given (> 0) replacing it.
Budget budget_for(const McuTarget& mcu, int64_t flash_bytes = 0, int64_t sram_bytes = 0,
                  double latency_ms = 0);

}  // namespace tinynas
