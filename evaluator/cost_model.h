// The exact cost model: MACs, parameters, flash, peak SRAM and latency of an
// architecture on one MCU, from the ONE lowering (core/op_graph.h) and the ONE
// memory planner (core/memory_planner.h). The search's constraints, the space
// optimiser's fit test and `tinynas cost` all call this, and deploy checks the
// linked ELF against it.
//
// flash  = int8 weights (each layer's array 4-byte aligned)
//        + int32 bias and per-channel requantisation (int32 multiplier and
//          shift) per output channel
//        + code of each kernel kind the model uses + generated code per layer
//        + the MCU's reserved flash (startup, libc, harness)
// SRAM   = the planner's arena (activations + shared scratch) + the MCU's
//          reserved SRAM (stack, runtime statics)
// latency = sum over ops of the MCU's per-op-kind cycle model / clock.
//
// Cost: one evaluation is a lowering and a greedy plan, a few microseconds;
// the thread-local workspaces make it allocation-free in steady state.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/arch.h"
#include "core/mcu.h"
#include "core/op_graph.h"

namespace tinynas {

struct CostReport {
  int64_t macs = 0;
  int64_t params = 0;           // as published model zoos count them (BN unfolded)
  int64_t deployed_params = 0;  // weights + int32 biases of the int8 model
  // flash, by part
  int64_t weight_bytes = 0;
  int64_t bias_bytes = 0;
  int64_t requant_bytes = 0;
  int64_t code_bytes = 0;       // kernels + per-layer code + reserved runtime
  int64_t flash_bytes = 0;
  // SRAM
  int64_t arena_bytes = 0;      // activations + scratch, as planned
  int64_t peak_sram_bytes = 0;  // arena + reserved
  // time
  double cycles = 0;
  double latency_ms = 0;
  // against the budget
  bool fits_flash = false;
  bool fits_sram = false;
  bool fits_latency = false;
  bool fits = false;
};

// Costs `arch` on `mcu` and checks it against `budget`. Thread-safe.
CostReport estimate_cost(const ArchSpec& arch, const McuTarget& mcu, const Budget& budget);
// Costs an already lowered graph whose arena is known (deploy reuses its plan).
CostReport estimate_cost(const OpGraph& graph, int64_t arena_bytes, const McuTarget& mcu,
                         const Budget& budget);
// Per-op cycles of the latency model (the calibration fits these coefficients).
double op_cycles(const OpGraph& graph, const Op& op, const McuTarget& mcu);

// Keys: macs, params, flash_bytes, peak_sram_bytes, latency_ms, fits, plus the
// breakdown (deployed_params, weight_bytes, ..., arena_bytes, fits_*).
nlohmann::json cost_to_json(const CostReport& cost);
// Human-readable report with the budget beside each figure.
std::string format_cost(const CostReport& cost, const McuTarget& mcu, const Budget& budget);

}  // namespace tinynas
