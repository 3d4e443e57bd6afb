// tinynas deploy: int8 model -> generated C -> firmware -> board -> report.json.
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/size.h"
#include "deploy/deploy.h"

namespace tinynas::cli {

Command add_deploy_command(CLI::App& app) {
  struct Options {
    deploy::DeployOptions d;
    BudgetFlags budget;
    std::string calibration = "minmax";
    std::string eval_dataset;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "deploy", "Quantise to int8, generate C, build firmware and run it on a board (QEMU or pyOCD)");
  sub->add_option("--arch", o->d.arch_path, "Architecture JSON (tinynas or MCUNet/OFA net.config)")->required();
  sub->add_option("--mcu", o->d.mcu, "MCU name (configs/mcus) or YAML path")->required();
  sub->add_option("--out", o->d.out_dir, "Output directory (src/, firmware.elf, report.json)")->required();
  sub->add_option("--checkpoint", o->d.checkpoint, "Trained weights (from tinynas train)");
  sub->add_flag("--random-weights", o->d.random_weights, "Deploy seeded random weights instead");
  sub->add_option("--seed", o->d.seed, "Seed of the random weights and synthetic inputs");
  sub->add_option("--run", o->d.run, "Board back end: qemu, pyocd or none (build only)")
      ->check(CLI::IsMember({"qemu", "pyocd", "none"}));
  sub->add_option("--eval-count", o->d.eval_count, "Inputs run on the board")->check(CLI::Range(1, 1000));
  sub->add_option("--eval-dataset", o->eval_dataset, "Labelled inputs KIND:PATH for int8 top-1 on the board");
  sub->add_option("--calibration", o->calibration, "Activation ranges: minmax or percentile")
      ->check(CLI::IsMember({"minmax", "percentile"}));
  sub->add_flag("--profile", o->d.profile, "Time every op on the board (report.json: ops)");
  sub->add_option("--timeout", o->d.timeout_s, "Seconds the board run may take")->check(CLI::Range(1, 3600));
  add_budget_flags(*sub, o->budget);
  return [o]() {
    if (!o->eval_dataset.empty())
      throw Error("--eval-dataset: data set readers arrive with the data sets stage, which is not "
                  "built yet; deploy evaluates on seeded synthetic inputs for now");
    if (o->budget.latency_ms > 0)
      spdlog::warn("--latency-ms is not checked by deploy; the report gives the measured figure");
    o->d.calibration = o->calibration == "percentile" ? deploy::Calibration::kPercentile
                                                      : deploy::Calibration::kMinMax;
    o->d.flash_budget = o->budget.flash.empty() ? 0 : parse_size(o->budget.flash, "--flash");
    o->d.sram_budget = o->budget.sram.empty() ? 0 : parse_size(o->budget.sram, "--sram");
    const auto report = deploy::deploy_model(o->d);
    std::cout << report.dump(2) << "\n";
    if (report.contains("bit_exact") && !report["bit_exact"].get<bool>()) {
      spdlog::error("the board's outputs differ from the host reference on {} of {} inputs",
                    report["mismatches"].get<int>(), report["inputs"].get<int>());
      return kExitError;
    }
    spdlog::info("wrote {}/report.json", o->d.out_dir);
    return kExitOk;
  };
}

}  // namespace tinynas::cli
