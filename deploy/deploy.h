// `tinynas deploy`: architecture (+ weights) -> int8 model -> generated C ->
// firmware -> run on a board (QEMU or a real one through pyOCD) -> report.
//
// OUT/src/       the generated model (model.h/.c, weights.h/.c) and inputs.c
//                (or OUT/tn_inputs.bin: --eval-dataset images, fed by semihosting)
// OUT/firmware.elf
// OUT/report.json  flash_bytes and sram_bytes read from the linked ELF, the
//                cost model's predictions beside them, arena_bytes, the
//                instruction or cycle count, MACs, bit_exact (board outputs ==
//                host reference interpreter on every input), and with a
//                labelled --eval-dataset the top-1 of the float network, of
//                the int8 model on the host and of the firmware on the board
// Everything is computed and built in a temporary directory beside OUT and
// moved into place at the end, so a failure or a kill leaves no half output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/arch.h"
#include "core/mcu.h"
#include "deploy/quantize.h"

namespace tinynas::deploy {

// Trained weights for lower(arch), with the images that calibrate their int8
// activation ranges: what tinynas-torch exports from a supernet checkpoint
// (supernet::export_subnet), so this library needs no LibTorch.
struct TrainedWeights {
  std::vector<FloatOpWeights> ops;                      // one per op of lower(arch), BN folded
  std::vector<std::vector<float>> calibration_images;   // NHWC at arch.resolution
  std::vector<std::string> class_names;                 // the training set's, for the report
  std::string description;                              // for the report and the generated banner
};

struct DeployOptions {
  std::string arch_path;          // architecture JSON (or a name for the report when `arch` is set)
  std::optional<ArchSpec> arch;  // the architecture itself, instead of reading arch_path
  std::string mcu;               // name or YAML path
  std::string out_dir;
  std::string checkpoint;        // trained weights (the supernet's); empty with random_weights
  std::optional<TrainedWeights> trained;  // the checkpoint's subnet (set by the caller that loads it)
  bool random_weights = false;
  std::string eval_dataset;      // labelled images KIND:PATH: eval_count of them run on the board
  uint64_t seed = 0;
  std::string run = "qemu";      // "qemu", "pyocd" or "none" (build only)
  int32_t eval_count = 4;        // inputs run on the board (a seeded draw of eval_dataset)
  int32_t calibration_count = 0;  // synthetic calibration images (0: 8); trained weights bring their own
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
