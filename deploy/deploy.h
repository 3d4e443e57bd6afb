// `tinynas deploy`: architecture (+ weights) -> int8 model -> generated C ->
// firmware -> run on a board (QEMU or a real one through pyOCD) -> report.
//
// OUT/src/       the generated model (model.h/.c, weights.h/.c) and inputs.c
// OUT/firmware.elf
// OUT/report.json  flash_bytes and sram_bytes read from the linked ELF, the
//                cost model's predictions beside them, arena_bytes, the
//                instruction or cycle count, MACs, bit_exact (board outputs ==
//                host reference interpreter on every input)
// Everything is computed and built in a temporary directory beside OUT and
// moved into place at the end, so a failure or a kill leaves no half output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/arch.h"
#include "core/mcu.h"
#include "deploy/quantize.h"

namespace tinynas::deploy {

struct DeployOptions {
  std::string arch_path;
  std::string mcu;               // name or YAML path
  std::string out_dir;
  std::string checkpoint;        // trained weights (the supernet's); empty with random_weights
  bool random_weights = false;
  uint64_t seed = 0;
  std::string run = "qemu";      // "qemu", "pyocd" or "none" (build only)
  int32_t eval_count = 4;        // inputs run on the board
  int32_t calibration_count = 8;
  Calibration calibration = Calibration::kMinMax;
  int32_t timeout_s = 300;
  bool profile = false;          // time every op (report.json "ops")
  int64_t flash_budget = 0;      // 0: the MCU's budget
  int64_t sram_budget = 0;
};

// Seeded synthetic images for calibration and evaluation when no data set is
// given: smooth random colour fields in [-1, 1], NHWC.
std::vector<std::vector<float>> synthetic_images(const ArchSpec& arch, int32_t count,
                                                 uint64_t seed);

// The whole pipeline; returns the report it wrote. Throws tinynas::Error on
// bad input (a model that does not fit, a checkpoint that does not match, a
// missing toolchain or QEMU, ...).
nlohmann::json deploy_model(const DeployOptions& options);

}  // namespace tinynas::deploy
