// `tinynas calibrate`: measure what every op kind costs on a board and fit
// the cost model's latency coefficients (evaluator/latency_fit.h) to it.
//
// N subnets of the search space that fit the MCU are deployed with random
// weights and profiling on (deploy_model with profile = true, one input), on
// QEMU or a real board through pyOCD; every op of every network is one row:
// kind, MACs, input and output elements, and the measured count.
//
// The subnets: widths and resolutions stratified over the space (a Latin
// hypercube over the lists, resolutions skewed small so that a run stays
// within a minute or two on QEMU), depths random, and every block's (kernel,
// expand) pair taken in turn from a shuffled list of all pairs, so that each
// network has every kernel size and expand ratio.
//
// Units: QEMU (-icount) counts instructions, not cycles; it has no timing
// model. Coefficients fitted on QEMU predict instructions at one cycle each
// until refitted on the board (--run pyocd, DWT cycles).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/arch.h"
#include "core/mcu.h"
#include "core/mcu_yaml.h"
#include "core/search_space.h"
#include "deploy/deploy.h"
#include "evaluator/latency_fit.h"

namespace tinynas::deploy {

struct CalibrateOptions {
  std::string mcu;           // name or YAML path
  std::string run = "qemu";  // "qemu" or "pyocd"
  int32_t networks = 8;
  uint64_t seed = 0;
  std::string space = "mcunet";
  int32_t timeout_s = 300;  // per network on the board
  std::string work_dir;     // where the deploys are built; "" = a temporary folder, removed after
};

struct CalibrationNetwork {
  int32_t index = 0;
  ArchSpec arch;
  int64_t macs = 0;
  int32_t ops = 0;
  double measured = 0;          // whole inference (BoardFigures::per_inference), in the unit
  double measured_ops = 0;      // sum of the per-op counts
  double predicted_before = 0;  // the cost model with the MCU's coefficients before the fit
  double seconds = 0;           // wall time of its deploy (quantise, build, run)
};

struct LatencyMeasurements {
  McuTarget mcu;               // as loaded: its coefficients are the ones before the fit
  std::string run;             // "qemu" or "pyocd"
  std::string unit;            // "instructions" (QEMU) or "cycles" (board)
  std::string machine;         // QEMU machine or pyOCD target
  std::string counter_source;  // "systick" or "dwt"
  std::string space;
  uint64_t seed = 0;
  std::vector<CalibrationNetwork> networks;
  std::vector<evaluator::OpSample> rows;
  double seconds = 0;
};

// `count` subnets of `space` that fit within 90% of `mcu`'s default flash and
// SRAM budgets (see the header comment). Throws tinynas::Error when the space
// has nothing that fits.
std::vector<ArchSpec> sample_calibration_archs(const SearchSpace& space, const McuTarget& mcu,
                                               int32_t count, uint64_t seed);

// Deploys the sampled subnets with profiling and collects the rows. Throws
// tinynas::Error for bad options and whatever the deploy layer throws
// (missing toolchain or QEMU, an MCU without a QEMU machine, no probe, ...);
// a network whose board outputs differ from the host reference is an error
// too (its kernels are broken, so its timings are not worth fitting).
LatencyMeasurements measure_latency(const CalibrateOptions& options);

// One profiled op as a row of the latency fit (network `network`).
evaluator::OpSample op_sample(const OpProfile& op, int32_t network);

// fit_latency on the rows, with the MCU's coefficients as the prior and each
// network's whole-inference count as its measured total.
evaluator::LatencyFit fit_calibration(const LatencyMeasurements& measurements,
                                      const evaluator::FitOptions& options = {});

// The block `tinynas calibrate` writes into the MCU's YAML: the coefficients,
// fitted: true, and comment lines saying what they were fitted on (on QEMU:
// that they count instructions). `date` as YYYY-MM-DD.
LatencyBlock calibrated_block(const LatencyMeasurements& measurements,
                              const evaluator::LatencyFit& fit, const std::string& date);
// Today's date (UTC), YYYY-MM-DD.
std::string today_utc();

// Everything: options, networks (with their architectures), every row with
// its prediction before and after, the per-kind fits and network errors.
nlohmann::json calibration_to_json(const LatencyMeasurements& measurements,
                                   const evaluator::LatencyFit& fit);
// The printed report: the per-kind table, then one line per network.
std::string format_calibration(const LatencyMeasurements& measurements,
                               const evaluator::LatencyFit& fit);

}  // namespace tinynas::deploy
