// The flash the runtime's kernels take in a linked firmware, per op kind: what
// configs/mcus/*.yaml's `code_bytes` (and `reserved.flash`) should say.
//
// measure_code_sizes() links the real firmware (build_firmware: the harness,
// the MCU's compiler flags, -O2, --gc-sections) around a stand-in model that
// calls no kernel (the base: vector table, startup, semihosting, counter,
// harness, the libc pieces), then again with the entry points of one more op
// kind referenced each time, in kCodeSizeOrder. A kind's bytes are what its
// step adds. Code two kinds share (the int16 GEMM of conv2d and pointwise, the
// fixed-point helpers) is counted by the first of them in that order; the
// order puts the kinds every network of the space has first and the one it
// may lack (add) last, so the cost model's sum over the kinds a network uses
// equals the linked size for every such network.
//
// Costs: kNumOpKinds + 1 compiler runs of the runtime (about 1-2 s each).
// Needs arm-none-eabi-gcc (throws tinynas::Error as build_firmware does).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/mcu.h"
#include "core/op_graph.h"

namespace tinynas::deploy {

// The order kinds are added in (see above).
inline constexpr std::array<OpKind, kNumOpKinds> kCodeSizeOrder = {
    OpKind::kConv2d,  OpKind::kDepthwiseConv2d, OpKind::kPointwiseConv2d,
    OpKind::kAvgPool, OpKind::kFullyConnected,  OpKind::kAdd};

struct CodeSizes {
  std::string mcu;
  std::string core;
  // Flash of the firmware around the stand-in model that calls no kernel
  // (its few bytes of model included; no test inputs).
  int64_t base_bytes = 0;
  // What each kind adds, by OpKind index.
  std::array<int64_t, kNumOpKinds> kernel_bytes{};
  // Flash with every kind linked (base + the sum of kernel_bytes).
  int64_t all_kinds_bytes = 0;
};

// Links kNumOpKinds + 1 firmwares for `mcu` under `work_dir` (created; left
// there for inspection).
CodeSizes measure_code_sizes(const McuTarget& mcu, const std::string& work_dir);

// The YAML `code_bytes:` block these figures make (per_layer as given).
std::string code_bytes_yaml(const CodeSizes& sizes, int64_t per_layer_bytes);

}  // namespace tinynas::deploy
