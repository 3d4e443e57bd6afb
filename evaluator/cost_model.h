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
//        Patch-based inference (op_graph.h): a layer's later patches reuse its
//        weights and code, so each layer counts once, and each later patch's
//        op adds kPatchOpParamBytes (its window, tile and padding as a table
//        row; an estimate until code generation for patches exists).
// SRAM   = the planner's arena (activations + shared scratch) + the MCU's
//          reserved SRAM (stack, runtime statics)
// MACs    = every op's, so a patched network's include the overlap its
//          patches recompute (patch_mac_overhead).
// latency = sum over ops of the MCU's per-op-kind cycle model / clock:
//          per_mac * MACs executed + per_output * outputs + per_input * inputs
//          + per_channel * output channels + per_op (latency_features()).
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

// Flash for each op of a later patch (first_patch_op >= 0): four int16 pairs
// (window origin and size) and four int8 paddings, word aligned.
inline constexpr int64_t kPatchOpParamBytes = 16;

struct CostReport {
  int64_t macs = 0;
  // Patch-based inference: the setting (n == 0: none), the MACs of the same
  // network run layer by layer, and the extra share the overlap costs, in %
  // (100 * (macs - layer_by_layer_macs) / layer_by_layer_macs).
  PatchSpec patch;
  int64_t layer_by_layer_macs = 0;
  double patch_mac_overhead = 0;
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
// The figures the latency model multiplies its coefficients with; op_cycles
// and the calibration's rows (deploy's report.json, per op) both come from
// here, so the fit and the model see the same numbers.
// - macs: the MACs the kernel executes: op.macs, except for a depthwise conv
//   on the DSP kernels' fast path (kernel 3/5/7, stride 1) on a map smaller
//   than its kernel, which crops the kernel rows and columns that never meet
//   a real input pixel (deploy/runtime/src/tn_depthwise.c): a 7x7 kernel on
//   a 3x3 map runs as its central 5x5 (depthwise_executed_kernel).
// - inputs: input elements (both operands of an add); outputs: output
//   elements; channels: output channels. A patch op counts its input window
//   and its output tile, and never crops (its borders are not symmetric).
struct OpLatencyFeatures {
  int64_t macs = 0;
  int64_t inputs = 0;
  int64_t outputs = 0;
  int64_t channels = 0;
};
OpLatencyFeatures latency_features(const OpGraph& graph, const Op& op, const McuTarget& mcu);

// The side of the square kernel a depthwise conv executes on the DSP fast
// path (see above): `kernel`, or less on maps smaller than it (stride 1 only,
// symmetric crops to at least 3). The portable kernels (no DSP) never crop.
int32_t depthwise_executed_kernel(const TensorShape& in, const TensorShape& out, int32_t kernel,
                                  int32_t stride, int32_t padding);

// The latency model on one op's figures. evaluator/latency_fit.h's predict()
// is this same expression.
inline double latency_cycles(const OpLatencyCoeffs& c, double macs, double outputs, double inputs,
                             double channels) {
  return c.per_mac * macs + c.per_output * outputs + c.per_input * inputs +
         c.per_channel * channels + c.per_op;
}

// Per-op cycles of the latency model (the calibration fits these coefficients).
double op_cycles(const OpGraph& graph, const Op& op, const McuTarget& mcu);

// Keys: macs, params, flash_bytes, peak_sram_bytes, latency_ms, fits, plus the
// breakdown (deployed_params, weight_bytes, ..., arena_bytes, fits_*), and
// patch ({"patches": n, "split_block": B} or null), layer_by_layer_macs and
// patch_mac_overhead (%).
nlohmann::json cost_to_json(const CostReport& cost);
// Among n x n patches for n in {2, 3, 4} and every split block whose output
// map is at least 1/16 of the input's side (the first stages, where the maps
// that set the peak are), the setting patch_problem() accepts with the lowest
// peak SRAM whose MACs exceed the layer-by-layer network's by at most
// max_mac_overhead percent; ties go to the lower overhead. No patching (n ==
// 0) when none lowers the peak. `arch`'s own patch setting is ignored.
// Cost: one estimate_cost per candidate (3 x the first stages' blocks).
struct PatchChoice {
  PatchSpec patch;
  CostReport cost;       // of arch with that setting
  int32_t candidates = 0;  // settings costed
};
PatchChoice choose_patch(const ArchSpec& arch, const McuTarget& mcu, const Budget& budget,
                         double max_mac_overhead);

// Every patch setting the network can take (patch_problem() accepts): n x n
// patches for n in 2..max_grid and every split block, each costed, ordered by
// n then block; `arch`'s own setting is ignored. `pareto` marks the settings
// no other (layer by layer included) beats on both arena and MACs, i.e. the
// memory a given extra compute buys. What `tinynas cost --patch-sweep` prints:
// the lowest arena a network can reach at all, whatever the overhead, says
// whether patches can help it (mcunet-in2's peak sits after every split its
// receptive field allows).
struct PatchSweepRow {
  PatchSpec patch;
  CostReport cost;
  bool pareto = false;
};
struct PatchSweep {
  CostReport layer_by_layer;
  std::vector<PatchSweepRow> rows;  // valid settings only
  int32_t refused = 0;              // settings patch_problem() refused
  // The row with the lowest arena (ties: fewer MACs); -1 when there is none.
  int32_t lowest_arena() const;
};
PatchSweep patch_sweep(const ArchSpec& arch, const McuTarget& mcu, const Budget& budget,
                       int32_t max_grid = 8);

// Human-readable report with the budget beside each figure.
std::string format_cost(const CostReport& cost, const McuTarget& mcu, const Budget& budget);

}  // namespace tinynas
