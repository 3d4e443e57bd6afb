// tinynas train: train the weight-shared supernet (supernet/trainer.h) into an
// output folder: checkpoint.pt, train_log.jsonl, summary.json.
#include <atomic>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <set>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/slurm.h"
#include "cli/stop_signals.h"
#include "core/error.h"
#include "core/io.h"
#include "core/output_dir.h"
#include "supernet/distributed.h"
#include "supernet/trainer.h"

namespace tinynas::cli {
namespace {

std::string key_of(const CLI::Option* o) {
  std::string k = o->get_lnames().empty() ? "" : o->get_lnames()[0];
  for (char& ch : k)
    if (ch == '-') ch = '_';
  return k;
}

std::string pct(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100 * j[key].get<double>());
  return buf;
}

// `train --slurm`: OUT/slurm/train.sbatch runs `srun -n NTASKS tinynas train
// ...` (c10d ranks from Slurm's environment). A requeued job (preempted, or
// stopped by SIGTERM before its time limit: checkpoint saved, exit 143)
// starts again with --resume.
template <typename Options>
int submit_training(const Options& o, const CLI::App& sub, const supernet::TrainConfig& config) {
  slurm::check_flags(o.slurm_flags);
  if (config.batch_size % o.slurm_flags.ntasks != 0)
    throw Error("--slurm-ntasks " + std::to_string(o.slurm_flags.ntasks) + " does not divide --batch-size " +
                std::to_string(config.batch_size) + ": every rank reads an equal share of each batch");
  const std::filesystem::path out = check_output_dir(o.out, "--out", false);
  const std::string ck = supernet::checkpoint_path(out.string());
  if (!o.resume && !o.force && std::filesystem::exists(ck))
    throw Error("--out " + o.out + " already holds a training run (" + ck +
                "); continue it with --resume, or start over with --force");
  const std::string cmd =
      slurm::job_command(sub, "train", {"resume", "force"}) + " --out " + slurm::sh_quote(out.string());
  const std::filesystem::path dir = out / slurm::kFolder;
  const std::string first = o.resume ? " --resume" : o.force ? " --force" : "";
  const std::string text =
      "#!/bin/bash\n# Written by `tinynas train --slurm`: the supernet trained by " +
      std::to_string(o.slurm_flags.ntasks) + " process(es) (c10d ranks) into\n# " + out.string() +
      ". SIGTERM saves a checkpoint; the requeued job resumes from it.\n" +
      slurm::sbatch_header("tinynas-train", dir / "logs" / "train-%j.out", o.slurm_flags, true) +
      "first='" + first + "'\n"
      "if [ \"${SLURM_RESTART_COUNT:-0}\" -gt 0 ] && [ -e " + slurm::sh_quote(ck) + " ]; then first=' --resume'; fi\n" +
      slurm::srun_and_requeue(cmd + "$first", o.slurm_flags.ntasks);
  const std::filesystem::path script = dir / "train.sbatch";
  if (o.dry_run) {
    std::cout << "# " << script.string() << "\n" << text << "# not submitted (--dry-run)\n";
    return kExitOk;
  }
  const std::string sbatch = slurm::require_sbatch();
  std::filesystem::create_directories(dir / "logs");
  write_file_atomic(script.string(), text);
  const std::string job = slurm::submit(sbatch, {script.string()});
  slurm::record_jobs(out, {{{"stage", "train"}, {"job", job}, {"script", script.string()}}});
  std::cout << "train job " << job << " (" << o.slurm_flags.ntasks << " process(es))\n";
  spdlog::info("submitted; log in {}; follow with: tinynas status {}", (dir / "logs").string(), out.string());
  return kExitOk;
}

}  // namespace

Command add_train_command(CLI::App& app) {
  struct Options {
    supernet::TrainConfig c;
    int32_t epochs = 0;
    std::string out;
    bool resume = false, force = false, json = false;
    bool slurm = false, dry_run = false;
    slurm::Flags slurm_flags;
  };
  auto o = std::make_shared<Options>();
  supernet::TrainConfig& c = o->c;
  CLI::App* sub = app.add_subcommand(
      "train", "Train the weight-shared supernet (largest subnet, then elastic sandwich-rule training)");
  sub->add_option("--space", c.space, "Search space name (configs/spaces) or YAML path");
  sub->add_option("--width", c.width, "Width multiplier, one of the space's (0: the space's only width)");
  sub->add_option("--resolutions", c.resolutions, "Input resolutions to train (each in the space; default all)")
      ->delimiter(',');
  sub->add_option("--dataset", c.dataset, "Training data set KIND:PATH (the validation split is held out of it)");
  sub->add_flag("--skip-bad", c.skip_bad, "Skip corrupt or missing images (counted in a warning every epoch) instead of failing");
  sub->add_option("--max-train-images", c.max_train_images, "Use a seeded random subset of this many images (0: all)");
  sub->add_option("--val-fraction", c.val_fraction, "Fraction held out for validation (stratified)");
  sub->add_option("--split-seed", c.split_seed, "Seed of the train/validation split");
  sub->add_option("--batch-size", c.batch_size, "Images per step");
  sub->add_option("--workers", c.workers, "Data loader threads");
  sub->add_option("--lr", c.lr, "Peak learning rate (linear warm-up, then cosine to 0)");
  sub->add_option("--momentum", c.momentum, "SGD momentum");
  sub->add_flag("--nesterov", c.nesterov, "Nesterov momentum");
  sub->add_option("--warmup-epochs", c.warmup_epochs, "Linear warm-up length in epochs");
  sub->add_option("--weight-decay", c.weight_decay, "Weight decay (not on BN parameters and biases)");
  sub->add_flag("--bn-weight-decay", c.bn_weight_decay, "Also decay BN parameters and biases");
  sub->add_option("--label-smoothing", c.label_smoothing, "Label smoothing of the cross entropy");
  sub->add_option("--largest-epochs", c.largest_epochs, "Phase 1: epochs of the largest subnet alone");
  sub->add_option("--elastic-epochs", c.elastic_epochs, "Phase 2: epochs of elastic (sandwich-rule) training");
  sub->add_option("--epochs", o->epochs,
                  "Total epochs, split between the phases in the ratio of largest_epochs : elastic_epochs");
  sub->add_option("--subnets-per-step", c.subnets_per_step,
                  "Random subnets per elastic step, besides the largest and the smallest");
  sub->add_flag("--distill", c.distill, "In-place distillation: the largest subnet's predictions teach the others");
  sub->add_option("--scale-min", c.scale_min, "Random resized crop: smallest area fraction");
  sub->add_option("--seed", c.seed, "Seed of weights, data order, augmentation and sampled subnets");
  sub->add_option("--checkpoint-every", c.checkpoint_every, "Steps between checkpoints (0: at epoch ends only)");
  sub->add_option("--eval-random", c.eval_random, "Random subnets validated after every epoch");
  sub->add_option("--bn-batches", c.bn_batches, "Training batches for BN recalibration before validating a subnet");
  sub->add_option("--eval-batch-size", c.eval_batch_size, "Validation batch size (0: 2 x batch size)");
  sub->add_option("--device", c.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_option("--threads", c.threads, "Torch intra-op threads (0: all cores)");
  sub->add_option("--out", o->out, "Output directory (checkpoint.pt, train_log.jsonl, summary.json)")->required();
  sub->add_flag("--resume", o->resume, "Continue the run in --out from its checkpoint, with its configuration");
  sub->add_flag("--force", o->force, "Replace a previous run in --out");
  sub->add_flag("--json", o->json, "Print summary.json to stdout");
  CLI::Option* slurm = sub->add_flag("--slurm", o->slurm,
                                     "Submit the training as a Slurm job of --slurm-ntasks processes (OUT/slurm)");
  sub->add_flag("--dry-run", o->dry_run, "With --slurm: print the sbatch script, submit nothing")->needs(slurm);
  slurm::add_flags(*sub, o->slurm_flags, true);

  return [o, sub]() {
    supernet::TrainConfig config = o->c;
    const CLI::Option* epochs_opt = sub->get_option("--epochs");
    if (epochs_opt->count() > 0) {
      if (o->epochs < 1) throw Error("--epochs: must be at least 1");
      const int32_t sum = config.largest_epochs + config.elastic_epochs;
      const int32_t largest = sum > 0 ? static_cast<int32_t>(std::lround(
                                            static_cast<double>(o->epochs) * config.largest_epochs / sum))
                                      : 0;
      config.largest_epochs = largest;
      config.elastic_epochs = o->epochs - largest;
    }
    supernet::check_device(config.device);
    if (o->resume && o->force) throw Error("--resume and --force contradict each other");

    if (o->resume) {
      // A resumed run restores the whole configuration it was started with
      // (every option, also those that only change how fast it runs: the
      // thread count changes the last bits of the weights). Options that
      // change the result must agree with it; operational ones given again
      // override it, and say so.
      const std::string ck = supernet::checkpoint_path(o->out);
      if (!std::filesystem::exists(ck)) throw Error("--resume: " + o->out + " holds no checkpoint (" + ck + ")");
      nlohmann::json stored = supernet::checkpoint_config(ck);
      const nlohmann::json given = supernet::to_json(config);
      for (const CLI::Option* opt : sub->get_options()) {
        const std::string key = key_of(opt);
        if (opt->count() == 0) continue;
        if (key == "epochs") {
          const int64_t total = stored.value("largest_epochs", 0) + stored.value("elastic_epochs", 0);
          if (total != o->epochs)
            throw Error("--resume: --epochs " + std::to_string(o->epochs) + " differs from the checkpoint's " +
                        std::to_string(total) + " (" + ck + "); a resumed run keeps its configuration");
          continue;
        }
        if (!given.contains(key)) continue;
        if (!stored.contains(key)) {
          stored[key] = given[key];
          continue;
        }
        if (stored[key] == given[key]) continue;
        if (supernet::affects_results(key))
          throw Error("--resume: " + key + " " + shorten(given[key].dump()) + " differs from the checkpoint's " +
                      shorten(stored[key].dump()) + " (" + ck + "); a resumed run keeps its configuration");
        spdlog::warn("--resume: --{} {} overrides the run's {}{}", opt->get_lnames()[0], given[key].dump(),
                     stored[key].dump(),
                     key == "threads" || key == "device" ? " (the weights may differ in their last bits from an "
                                                           "uninterrupted run)"
                                                         : "");
        stored[key] = given[key];
      }
      config = supernet::train_config_from_json(stored, ck);
    }

    if (o->slurm) return submit_training(*o, *sub, config);

    supernet::TrainHooks hooks;
    hooks.stop = &g_stop_requested;
    supernet::TrainResult r;
    {
      StopSignals signals;
      r = supernet::train(config, o->out, o->resume, o->force, hooks);
    }
    if (r.interrupted) {
      const int sig = g_stop_signal != 0 ? static_cast<int>(g_stop_signal) : SIGINT;
      spdlog::error("interrupted by {} after step {} of {}; checkpoint saved to {}; continue with: tinynas train "
                    "--out {} --resume",
                    sig == SIGTERM ? "SIGTERM" : "SIGINT", r.steps, r.total_steps,
                    supernet::checkpoint_path(o->out), o->out);
      return 128 + sig;
    }
    // Rank 0 reports for a multi-process run; the others end quietly.
    if (supernet::rank_from_environment() > 0) return kExitOk;
    const auto& s = r.summary;
    if (o->json) {
      std::cout << s.dump(2) << "\n";
    } else {
      const nlohmann::json fin = s.value("final", nlohmann::json::object());
      std::printf("trained %lld steps (%s, width %g, %s): val top-1 largest %s, smallest %s, random mean %s\n",
                  static_cast<long long>(r.steps), s.value("space", "").c_str(), s.value("width", 0.0),
                  s.value("dataset", "").c_str(), pct(fin, "val_top1_largest").c_str(),
                  pct(fin, "val_top1_smallest").c_str(), pct(fin, "val_top1_random_mean").c_str());
      std::printf("wrote %s, %s/train_log.jsonl, %s/summary.json\n", supernet::checkpoint_path(o->out).c_str(),
                  o->out.c_str(), o->out.c_str());
    }
    if (r.steps_this_run > 0)
      spdlog::info("{} steps in this run, {:.0f} training images/s", r.steps_this_run, r.images_per_second);
    return kExitOk;
  };
}

}  // namespace tinynas::cli
