// tinynas deploy: int8 model -> generated C -> firmware -> board -> report.json.
//
// Built into both binaries. tinynas runs it with --random-weights; given a
// --checkpoint it execs tinynas-torch (main.cpp), which exports the subnet's
// trained weights from the supernet checkpoint (BN recalibrated, folded) and
// the images that calibrate the int8 ranges, then runs the same pipeline.
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/arch_io.h"
#include "core/error.h"
#include "core/size.h"
#include "deploy/deploy.h"
#ifdef TINYNAS_TORCH_HELPER
#include "supernet/trainer.h"
#endif

namespace tinynas::cli {

namespace {

#ifdef TINYNAS_TORCH_HELPER
// The checkpoint's subnet as deploy's trained weights.
void load_trained(deploy::DeployOptions& d, int32_t resolution, const supernet::ExportOptions& options) {
  const bool named = is_subnet_name(d.arch_path);
  const ArchSpec arch = named ? named_subnet(supernet::checkpoint_space(d.checkpoint), d.arch_path, resolution,
                                             options.bn.seed, "checkpoint " + d.checkpoint)
                              : load_arch(d.arch_path, resolution);
  spdlog::info("exporting {} from checkpoint {} (BN recalibration, calibration images)", d.arch_path, d.checkpoint);
  // The supernet holds the network; its patch setting (if any) only changes
  // how the firmware runs it: exported layer by layer, deployed patched.
  supernet::ExportedSubnet e = supernet::export_subnet(d.checkpoint, layer_by_layer(arch), d.arch_path, options);
  deploy::TrainedWeights t;
  for (auto& w : e.weights) t.ops.push_back({std::move(w.weights), std::move(w.bias)});
  t.calibration_images = std::move(e.calibration_images);
  t.class_names = std::move(e.class_names);
  t.description = "trained weights from checkpoint " + d.checkpoint + " (BN recalibrated on " +
                  std::to_string(e.bn_images) + " images of " + e.bn_dataset + ")";
  d.arch = arch;
  d.trained = std::move(t);
}
#endif

}  // namespace

Command add_deploy_command(CLI::App& app) {
  struct Options {
    deploy::DeployOptions d;
    BudgetFlags budget;
    PatchFlags patch;
    std::string calibration = "minmax";
    int32_t resolution = 0;
    std::string bn_dataset;
    int32_t bn_batches = 8;
    int32_t threads = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "deploy", "Quantise to int8, generate C, build firmware and run it on a board (QEMU or pyOCD)");
  sub->add_option("--arch", o->d.arch_path,
                  "Architecture JSON (tinynas or MCUNet/OFA net.config); with --checkpoint also largest, "
                  "smallest or median (as tinynas eval)")
      ->required();
  sub->add_option("--mcu", o->d.mcu, "MCU name (configs/mcus) or YAML path")->required();
  sub->add_option("--out", o->d.out_dir, "Output directory (src/, firmware.elf, report.json)")->required();
  sub->add_option("--checkpoint", o->d.checkpoint, "Trained supernet weights (tinynas train's checkpoint.pt)");
  sub->add_flag("--random-weights", o->d.random_weights, "Deploy seeded random weights instead");
  sub->add_option("--seed", o->d.seed, "Seed of the random weights, the evaluated images and BN batches");
  sub->add_option("--run", o->d.run, "Board back end: qemu, pyocd or none (build only)")
      ->check(CLI::IsMember({"qemu", "pyocd", "none"}));
  sub->add_option("--eval-count", o->d.eval_count,
                  "Inputs run on the board (up to 1000 synthetic ones, or 100000 of --eval-dataset)")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--eval-dataset", o->d.eval_dataset,
                  "Labelled images KIND:PATH: a seeded draw of --eval-count runs on the host (float, int8) and "
                  "on the board (int8 top-1)");
  sub->add_option("--calibration", o->calibration, "Activation ranges: minmax or percentile")
      ->check(CLI::IsMember({"minmax", "percentile"}));
  sub->add_option("--calibration-count", o->d.calibration_count,
                  "Images that calibrate the activation ranges: with --checkpoint training images (default "
                  "64), else synthetic ones (default 8)")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--resolution", o->resolution, "Input resolution instead of the architecture's");
  sub->add_option("--bn-dataset", o->bn_dataset,
                  "With --checkpoint: images for BN recalibration and calibration (default: the checkpoint's "
                  "training images)");
  sub->add_option("--bn-batches", o->bn_batches, "With --checkpoint: batches for BN recalibration (0: keep stored)")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--threads", o->threads, "With --checkpoint: torch threads (0: all cores)")
      ->check(CLI::Range(0, 4096));
  sub->add_flag("--profile", o->d.profile, "Time every op on the board (report.json: ops)");
  sub->add_option("--timeout", o->d.timeout_s, "Seconds the board run may take")->check(CLI::Range(1, 3600));
  add_budget_flags(*sub, o->budget);
  add_patch_flags(*sub, o->patch);
  return [o]() {
    if (!o->d.checkpoint.empty() && o->d.random_weights)
      throw Error("--checkpoint and --random-weights exclude each other");
    if (o->d.checkpoint.empty() && is_subnet_name(o->d.arch_path))
      throw Error("--arch " + o->d.arch_path + " names a subnet of a checkpoint's space: give --checkpoint");
#ifndef TINYNAS_TORCH_HELPER
    // Trained weights need LibTorch: the rest of the run happens in tinynas-torch.
    if (!o->d.checkpoint.empty()) return exec_torch_helper();
#endif
    if (o->budget.latency_ms > 0)
      spdlog::warn("--latency-ms is not checked by deploy; the report gives the measured figure");
    o->d.calibration = o->calibration == "percentile" ? deploy::Calibration::kPercentile
                                                      : deploy::Calibration::kMinMax;
    o->d.flash_budget = o->budget.flash.empty() ? 0 : parse_size(o->budget.flash, "--flash");
    o->d.sram_budget = o->budget.sram.empty() ? 0 : parse_size(o->budget.sram, "--sram");
    if (o->d.checkpoint.empty() && o->resolution > 0) o->d.arch = load_arch(o->d.arch_path, o->resolution);
#ifdef TINYNAS_TORCH_HELPER
    if (!o->d.checkpoint.empty()) {
      supernet::ExportOptions eo;
      eo.bn.bn_batches = o->bn_batches;
      eo.bn.seed = o->d.seed;
      eo.bn_dataset = o->bn_dataset;
      eo.calibration_images = o->d.calibration_count > 0 ? o->d.calibration_count : 64;
      eo.threads = o->threads;
      load_trained(o->d, o->resolution, eo);
    }
#endif
    if (!o->patch.patch.empty() || o->patch.max_overhead != 15.0) {
      // The patch setting the firmware runs (report.json "patch").
      if (!o->d.arch) o->d.arch = load_arch(o->d.arch_path, o->resolution);
      const McuTarget mcu = load_mcu(o->d.mcu);
      apply_patch_flags(o->patch, mcu, budget_for(mcu, o->d.flash_budget, o->d.sram_budget), *o->d.arch);
    }
    const deploy::DeployReport report = deploy::deploy_model(o->d);
    std::cout << deploy::deploy_report_to_json(report).dump(2) << "\n";
    if (report.board && !report.board->bit_exact) {
      spdlog::error("the board's outputs differ from the host reference on {} of {} inputs",
                    report.board->mismatches, report.inputs);
      return kExitError;
    }
    if (report.int8_top1)
      spdlog::info("top-1 on {} images of {}: float {:.2f}%, int8 on the host {:.2f}%, int8 on the board {:.2f}%",
                   report.inputs, o->d.eval_dataset, 100 * report.float_top1.value_or(0),
                   100 * report.int8_top1_host.value_or(0), 100 * *report.int8_top1);
    spdlog::info("wrote {}/report.json", o->d.out_dir);
    return kExitOk;
  };
}

}  // namespace tinynas::cli
