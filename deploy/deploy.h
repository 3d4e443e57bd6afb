// `tinynas deploy`: architecture (+ weights) -> int8 model -> generated C ->
// firmware -> run on a board (QEMU or a real one through pyOCD) -> report.
//
// Four steps, each handing the next a struct; deploy_model composes them:
//   prepare_deploy  check the options, load the MCU and architecture, check the
//                   cost model's fit, quantise, plan, generate C, pick and
//                   quantise the evaluated images            -> PreparedModel
//   build_deploy    write the sources into a folder and link the firmware
//                                                             -> FirmwareResult
//   run_deploy      run it on the board while the host computes the int8
//                   reference and the float network on every input -> DeployRun
//   report_deploy   the figures: sizes from the ELF beside the predictions,
//                   counts, bit-exactness, top-1, per-op rows -> DeployReport
// JSON is written only at the edge (deploy_report_to_json).
//
// OUT/src/       the generated model (model.h/.c, weights.h/.c) and inputs.c
//                (or OUT/tn_inputs.bin: --eval-dataset images, fed by semihosting)
// OUT/firmware.elf
// OUT/report.json  deploy_report_to_json(DeployReport)
// Everything is computed and built in a staging folder beside OUT and moved
// into place at the end (core/output_dir.h), so a failure or a kill leaves no
// half output.
//
// Costs: quantisation and the host passes are linear in the images (the host
// passes run in parallel); one compiler run; the board run usually dominates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/arch.h"
#include "core/mcu.h"
#include "core/memory_planner.h"
#include "deploy/board/board_runner.h"
#include "deploy/board/firmware_build.h"
#include "deploy/codegen.h"
#include "deploy/quantize.h"
#include "evaluator/cost_model.h"

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

// The rejections prepare_deploy starts with (a board back end it does not
// know, an input count out of range, no weights or both kinds); deploy_model
// runs them before it claims OUT. Messages name the CLI flags that carry
// these options.
void check_deploy_options(const DeployOptions& options);

// Step 1: everything the firmware and the host reference need, computed on
// the host. Throws tinynas::Error on bad options, an architecture that does
// not fit the MCU's budget, or weights that do not match it.
struct PreparedModel {
  std::string arch_name;                  // DeployOptions::arch_path: the report's "arch"
  ArchSpec arch;
  McuTarget mcu;
  CostReport predicted;                   // the cost model's figures for arch on mcu
  std::string weights;                    // what the weights are (report, banner)
  std::optional<std::string> checkpoint;  // set with trained weights
  FloatModel float_model;                 // BN folded: what the int8 model approximates
  QuantizedModel model;
  MemoryPlan plan;
  GeneratedModel code;
  // The evaluated images (NHWC floats) and the int8 inputs made from them:
  // a seeded draw of a labelled data set, or synthetic images (no labels).
  std::optional<std::string> eval_dataset;  // the data set's KIND:PATH when labelled
  std::vector<std::vector<float>> images;
  std::vector<int64_t> labels;              // empty for synthetic images
  std::vector<std::vector<int8_t>> inputs;
  // Labelled images reach the board by semihosting (tn_inputs.bin in its
  // working folder); synthetic ones live in flash (inputs.c), which needs no
  // host file access on a probe. Flash the test images take (0 by semihosting).
  bool inputs_from_host = false;
  int64_t test_inputs_flash_bytes = 0;
};
PreparedModel prepare_deploy(const DeployOptions& options);

// How the firmware is built and run.
struct BoardOptions {
  std::string backend = "qemu";  // "qemu", "pyocd" or "none" (build only)
  int32_t timeout_s = 300;
  bool profile = false;          // time every op (TN_PROFILE)
};

// Step 2: writes dir/src (the generated model, inputs.c) or dir/tn_inputs.bin,
// and links dir/firmware.elf for the backend's memory map. Throws what
// build_firmware throws (no compiler, does not fit, does not compile).
FirmwareResult build_deploy(const PreparedModel& model, const std::string& dir, const BoardOptions& board);

// Step 3: what the host and the board answered on every input.
struct DeployRun {
  std::string backend;                            // BoardOptions::backend
  std::vector<std::vector<int8_t>> host_outputs;  // the int8 reference interpreter's, per input
  std::vector<int32_t> float_classes;             // the float network's argmax, per input
  std::optional<BoardResult> board;               // a completed run; absent for backend "none"
};
// Runs the firmware (dir: the board's working folder, where tn_inputs.bin
// lies) while the host computes the reference on every input. Throws
// tinynas::Error when the firmware did not complete (with the tail of its
// log) or a profiled run reported the wrong number of ops.
DeployRun run_deploy(const PreparedModel& model, const FirmwareResult& firmware, const std::string& dir,
                     const BoardOptions& board);

// One op of a profiled run: the latency model's figures for it (the rows
// tinynas calibrate fits on) and the board's count on the first input.
struct OpProfile {
  int32_t index = 0;
  OpKind kind = OpKind::kConv2d;
  int64_t macs = 0;             // Op::macs
  OpLatencyFeatures features;   // evaluator/cost_model.h
  double measured = 0;          // in BoardFigures::unit
  double predicted_cycles = 0;  // op_cycles with the MCU's coefficients
};

// What the board measured (DeployReport::board; absent when nothing ran).
struct BoardFigures {
  std::string unit;                  // "instructions" (QEMU) or "cycles" (a board)
  std::string counter_source;        // "systick" or "dwt"
  double per_inference = 0;          // mean count per inference, in unit
  std::optional<double> latency_ms;  // cycles only: per_inference at the MCU's clock
  double macs_per_count = 0;         // MACs per instruction or per cycle
  bool bit_exact = false;            // every input ran and equals the host reference
  int32_t mismatches = 0;            // runs whose output differs (or has no input)
  std::vector<OpProfile> ops;        // empty unless profiled
};

// Everything report.json holds.
struct DeployReport {
  std::string arch_name;
  ArchSpec arch;
  std::string mcu, core;
  std::string weights;
  std::optional<std::string> checkpoint;
  int32_t generator_version = kGeneratorVersion;
  int64_t macs = 0, params = 0;
  // From the linked ELF. The test images the harness carries in flash are no
  // part of a deployed model: flash_bytes leaves them out.
  int64_t flash_bytes = 0;
  int64_t test_inputs_flash_bytes = 0;
  int64_t sram_bytes = 0;
  int64_t arena_bytes = 0;                     // as planned
  std::optional<int64_t> elf_arena_bytes;      // tn_arena in the ELF (JSON: -1 when absent)
  bool arena_matches_prediction = false;
  CostReport predicted;
  double flash_vs_predicted = 0;               // flash_bytes / predicted.flash_bytes
  std::string run;                             // the board back end
  int32_t inputs = 0;
  bool inputs_from_host = false;               // tn_inputs.bin by semihosting, else inputs.c in flash
  double int8_float_argmax_agreement = 0;      // host int8 vs float network
  std::optional<std::string> eval_dataset;     // labelled images only
  // Top-1 on the evaluated images: the float network, the int8 model on the
  // host and on the board; absent without labels (and without a board run).
  std::optional<double> float_top1, int8_top1_host, int8_top1;
  std::optional<BoardFigures> board;           // absent for run "none"
};

// Step 4: the figures of a run (no I/O). Throws tinynas::Error when the run
// does not belong to the model (another number of inputs).
DeployReport report_deploy(const PreparedModel& model, const FirmwareResult& firmware, const DeployRun& run);

// report.json: the report's fields under their names; the board's count under
// its unit ("instructions" or "cycles"), "macs_per_instruction" or
// "macs_per_cycle"; the predicted arena, flash, peak SRAM and latency.
nlohmann::json deploy_report_to_json(const DeployReport& report);

// The whole pipeline: claims OUT (core/output_dir.h), runs the four steps in
// its staging folder, writes report.json and publishes OUT. Throws
// tinynas::Error on bad input (a model that does not fit, a checkpoint that
// does not match, a missing toolchain or QEMU, ...).
DeployReport deploy_model(const DeployOptions& options);

}  // namespace tinynas::deploy
