// tinynas calibrate: measure every op kind on a board (QEMU or pyOCD), fit the
// cost model's latency coefficients, write them into the MCU's YAML.
#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/io.h"
#include "core/mcu_yaml.h"
#include "deploy/calibrate.h"

namespace tinynas::cli {

Command add_calibrate_command(CLI::App& app) {
  struct Options {
    deploy::CalibrateOptions c;
    bool dry_run = false;
    std::string out;
  };
  auto o = std::make_shared<Options>();
  o->c.run.clear();  // required: the unit (instructions or cycles) depends on it
  CLI::App* sub = app.add_subcommand(
      "calibrate",
      "Fit the MCU's latency model: deploy N profiled subnets on a board (QEMU or pyOCD), fit "
      "per-op-kind coefficients, write them into the MCU's YAML");
  sub->add_option("--mcu", o->c.mcu,
                  "MCU name (configs/mcus) or YAML path; its latency block is rewritten")
      ->required();
  sub->add_option(
         "--run", o->c.run,
         "Board back end: qemu (counts instructions, not cycles) or pyocd (a real board, cycles)")
      ->required()
      ->check(CLI::IsMember({"qemu", "pyocd"}));
  sub->add_option("--networks", o->c.networks, "Subnets to deploy and measure")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--seed", o->c.seed, "Seed of the subnets and their random weights");
  sub->add_option("--space", o->c.space, "Search space (configs/spaces) or YAML path");
  sub->add_option("--timeout", o->c.timeout_s, "Seconds each network may take on the board")
      ->check(CLI::Range(1, 3600));
  sub->add_flag("--dry-run", o->dry_run, "Measure, fit and print; write nothing");
  sub->add_option("--out", o->out, "Write DIR/calibration.json (every row, the fit, the networks)");
  return [o]() {
    const deploy::LatencyMeasurements cal = deploy::measure_latency(o->c);
    const evaluator::LatencyFit fit = deploy::fit_calibration(cal);
    std::cout << deploy::format_calibration(cal, fit) << std::flush;

    if (o->dry_run) {
      if (!o->out.empty()) spdlog::warn("--dry-run: {}/calibration.json not written", o->out);
      if (fit.complete()) {
        const LatencyBlock block = deploy::calibrated_block(cal, fit, deploy::today_utc());
        // Show the block as it would go into the file.
        std::string shown = replace_latency_block("latency:\n", block, "(dry run)");
        std::cout << "\n--dry-run: " << cal.mcu.source
                  << " left unchanged; its latency block would be:\n"
                  << shown;
      } else {
        std::cout << "\n--dry-run: not every op kind was fitted; nothing would be written\n";
      }
      return kExitOk;
    }
    if (!o->out.empty()) {
      const std::string path = (std::filesystem::path(o->out) / "calibration.json").string();
      write_file_atomic(path, deploy::calibration_to_json(cal, fit).dump(2) + "\n");
      spdlog::info("wrote {}", path);
    }
    // Throws, naming the kinds, when a kind could not be fitted.
    const LatencyBlock block = deploy::calibrated_block(cal, fit, deploy::today_utc());
    write_mcu_latency(cal.mcu.source, block);
    spdlog::info("wrote the fitted latency block into {}", cal.mcu.source);
    if (cal.run == "qemu")
      spdlog::warn(
          "the coefficients count instructions (QEMU), not cycles; refit on the board with "
          "--run pyocd for real latencies");
    return kExitOk;
  };
}

}  // namespace tinynas::cli
