// tinynas space: choose the width and resolution for an MCU budget.
//
// One process (the default), or sharded over processes and merged:
//   --shard I/N   computes shard I of N into DIR/shards/shard-I-of-N.json;
//   --merge       publishes DIR (space.json, space_cdf.svg) from the N shards,
//                 exactly what one process writes;
//   --slurm       writes DIR/slurm/space-array.sbatch (a job array of the N
//                 shards) and space-merge.sbatch (after all of them succeed)
//                 and submits them; --dry-run prints them instead.
// A shard, the merge and a single run take the same options, so the merge
// can check that every shard was computed from them.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/slurm.h"
#include "core/error.h"
#include "core/io.h"
#include "core/output_dir.h"
#include "core/size.h"
#include "space_optimizer/space_optimizer.h"

namespace tinynas::cli {
namespace {

namespace fs = std::filesystem;

// Where the sharded run keeps its parts inside DIR.
constexpr const char* kShardFolder = "shards";
constexpr const char* kSlurmFolder = slurm::kFolder;

struct Options {
  std::string mcu, out, space = "mcunet";
  BudgetFlags budget;
  int64_t samples = 1000;
  uint64_t seed = 0;
  int32_t classes = 0;
  double min_fit = 0;
  bool patches = false;
  double patch_max_overhead = 15.0;
  bool json = false;
  std::string shard;  // "I/N"
  int32_t shards = 4;
  bool merge = false, slurm = false, dry_run = false;
  slurm::Flags slurm_flags;
};

// Options that say how to run, not what to compute, besides slurm's: a
// shard or the merge submitted by --slurm gets all the others.
const std::set<std::string> kSchedulingOptions = {"shard", "shards", "merge"};

// The inputs every mode needs, loaded from the options (cheap).
struct Inputs {
  McuTarget mcu;
  Budget budget;
  SearchSpace space;
  SpaceOptimizerOptions opt;
};

Inputs load_inputs(const Options& o) {
  Inputs in;
  in.mcu = load_mcu(o.mcu);
  in.budget = resolve_budget(in.mcu, o.budget);
  in.space = load_search_space(o.space);
  if (o.classes > 0) in.space.num_classes = o.classes;
  in.opt.samples = o.samples;
  in.opt.seed = o.seed;
  in.opt.min_fit_fraction = o.min_fit;
  // A space with patch genes searches patched subnets: count them here too.
  in.opt.allow_patches = o.patches || in.space.patch.enabled();
  in.opt.patch_max_overhead = o.patch_max_overhead;
  return in;
}

SpaceShard parse_shard(const std::string& text) {
  const auto [index, count] = slurm::parse_shard(text, "--shard");
  return SpaceShard{index, count};
}

// Prints the table (or space.json) of a finished run.
void report(const SpaceOptimizerResult& result, const nlohmann::json& json, bool as_json) {
  const auto& best = result.configs[static_cast<size_t>(result.chosen)];
  if (as_json) {
    std::cout << json.dump(2) << "\n";
  } else {
    std::cout << format_space_table(result);
    std::printf("chosen: width %g, resolution %d (mean %.1f MFLOPs, %.0f%% of subnets fit)\n", best.width,
                best.resolution, best.mean_mflops, best.fit_fraction * 100);
  }
}

int run_single(const Options& o) {
  // A bad --out is refused before any work; the folder is published whole.
  StagedOutput out(o.out, "--out", "space");
  const Inputs in = load_inputs(o);
  spdlog::info("space '{}' on {}: {} widths x {} resolutions x {} samples, budget flash {} SRAM {}",
               in.space.name, in.mcu.name, in.space.widths.size(), in.space.resolutions.size(), o.samples,
               format_size(in.budget.flash_bytes), format_size(in.budget.sram_bytes));
  const SpaceOptimizerResult result = optimize_space(in.space, in.mcu, in.budget, in.opt);
  const auto json = space_result_to_json(result);
  // Both files appear together or not at all: an error or a kill leaves
  // the previous output (or none) in place.
  out.write("space.json", json.dump(2) + "\n");
  out.write("space_cdf.svg", space_cdf_svg(result));
  out.commit();
  report(result, json, o.json);
  spdlog::info("{} configurations x {} samples in {:.2f} s; wrote {} and {}", result.configs.size(),
               result.samples, result.seconds, (out.target() / "space.json").string(),
               (out.target() / "space_cdf.svg").string());
  return kExitOk;
}

// DIR as a folder that several shard processes fill one file at a time: when
// it is absent (or empty) it appears at once with its marker (a staging
// folder renamed onto it; the rename fails harmlessly when another shard
// was first), so that a concurrent shard never sees it unmarked.
void make_shared_output(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / kOutputMarker, ec)) return;
  fs::create_directories(dir.parent_path(), ec);
  const fs::path staging =
      dir.parent_path() / ("." + dir.filename().string() + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(staging, ec);
  write_file_atomic((staging / kOutputMarker).string(),
                    nlohmann::json{{"command", "space"}, {"files", nlohmann::json::array()}}.dump(2) + "\n");
  fs::rename(staging, dir, ec);
  std::error_code ignored;
  fs::remove_all(staging, ignored);
  if (!fs::exists(dir / kOutputMarker, ignored))
    throw Error(dir.string() + ": cannot create the run folder" + (ec ? ": " + ec.message() : ""));
}

int run_shard(const Options& o) {
  const SpaceShard shard = parse_shard(o.shard);
  const fs::path dir = check_output_dir(o.out, "--out");
  const Inputs in = load_inputs(o);
  const SpaceShardResult result = optimize_space_shard(in.space, in.mcu, in.budget, in.opt, shard);
  // A kill before this point leaves no file: the shard is its own
  // checkpoint, and a rerun (Slurm's requeue) computes it again whole.
  make_shared_output(dir);
  const fs::path file = dir / kShardFolder / space_shard_file_name(shard);
  write_file_atomic(file.string(), space_shard_to_json(result).dump() + "\n");
  spdlog::info("shard {} of {}: {} of {} configurations x {} samples; wrote {}", shard.index, shard.count,
               result.configs.size(), in.space.widths.size() * in.space.resolutions.size(), o.samples,
               file.string());
  return kExitOk;
}

// Hard links of the files under from/relative in to/relative (a copy where
// the file system has no hard links): files still being written (a Slurm
// job's log) keep being written into the new folder.
void carry_over(const fs::path& from, const fs::path& to, const std::string& relative) {
  std::error_code ec;
  if (!fs::is_directory(from / relative, ec)) return;
  for (auto it = fs::recursive_directory_iterator(from / relative, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path dest = to / fs::relative(it->path(), from);
    if (it->is_directory()) {
      fs::create_directories(dest, ec);
    } else if (it->is_regular_file()) {
      fs::create_directories(dest.parent_path(), ec);
      std::error_code link_ec;
      fs::create_hard_link(it->path(), dest, link_ec);
      if (link_ec) fs::copy_file(it->path(), dest, fs::copy_options::overwrite_existing, ec);
    }
    if (ec) throw Error(dest.string() + ": cannot write: " + ec.message());
  }
}

int run_merge(const Options& o) {
  StagedOutput out(o.out, "--out", "space");
  const Inputs in = load_inputs(o);
  const fs::path shard_dir = out.target() / kShardFolder;
  std::vector<SpaceShardResult> shards;
  std::string missing, missing_indices;
  for (int32_t i = 0; i < o.shards; ++i) {
    const SpaceShard shard{i, o.shards};
    const fs::path file = shard_dir / space_shard_file_name(shard);
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      missing += (missing.empty() ? "" : ", ") + space_shard_file_name(shard);
      missing_indices += (missing_indices.empty() ? "" : ",") + std::to_string(i);
      continue;
    }
    const std::string where = file.string();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file(where));
    } catch (const nlohmann::json::exception& e) {
      throw Error(where + ": not JSON: " + e.what());
    }
    shards.push_back(space_shard_from_json(j, where));
  }
  if (!missing.empty()) {
    std::string hint = "rerun them alone (tinynas space <the same options> --shard I/" +
                       std::to_string(o.shards) + " --out DIR for I in " + missing_indices;
    if (fs::exists(out.target() / kSlurmFolder / "space-array.sbatch"))
      hint += ", or sbatch --array=" + missing_indices + " " +
              (out.target() / kSlurmFolder / "space-array.sbatch").string();
    hint += "), then merge again";
    // Shards of another count (a run with --shards 8 merged without it).
    std::error_code ec;
    std::set<std::string> other_counts;
    for (const auto& entry : fs::directory_iterator(shard_dir, ec)) {
      const std::string name = entry.path().filename().string();
      const auto of = name.rfind("-of-");
      if (name.rfind("shard-", 0) == 0 && of != std::string::npos && name.ends_with(".json"))
        other_counts.insert(name.substr(of + 4, name.size() - of - 9));
    }
    other_counts.erase(std::to_string(o.shards));
    for (const std::string& n : other_counts) hint += "; there are shards of a run of --shards " + n;
    throw Error(shard_dir.string() + ": missing " + missing + " of " + std::to_string(o.shards) + " shards: " +
                hint);
  }
  SpaceOptimizerResult result;
  try {
    result = merge_space_shards(in.space, in.mcu, in.budget, in.opt, shards, o.shards);
  } catch (const Error& e) {
    throw Error(shard_dir.string() + ": " + e.what() + " (the merge takes the options the shards ran with)");
  }
  const auto json = space_result_to_json(result);
  out.write("space.json", json.dump(2) + "\n");
  out.write("space_cdf.svg", space_cdf_svg(result));
  carry_over(out.target(), out.dir(), kShardFolder);
  carry_over(out.target(), out.dir(), kSlurmFolder);
  out.commit();
  report(result, json, o.json);
  spdlog::info("merged {} shards: {} configurations x {} samples; wrote {}", o.shards, result.configs.size(),
               result.samples, (out.target() / "space.json").string());
  return kExitOk;
}

// ---------------------------------------------------------------- Slurm

struct SlurmScripts {
  std::string array, merge;
};

SlurmScripts slurm_scripts(const Options& o, const CLI::App& sub, const fs::path& target) {
  const std::string n = std::to_string(o.shards);
  const std::string cmd =
      slurm::job_command(sub, "space", kSchedulingOptions) + " --out " + slurm::sh_quote(target.string());
  const fs::path logs = target / kSlurmFolder / "logs";
  slurm::Flags merge_flags = o.slurm_flags;
  merge_flags.cpus = 1;
  SlurmScripts s;
  s.array = "#!/bin/bash\n"
            "# Written by `tinynas space --slurm`: array task I computes shard I of " + n + " of the\n"
            "# (width, resolution) configurations into " + (target / kShardFolder).string() + "/shard-I-of-" + n +
            ".json.\n"
            "# A shard writes its file whole or not at all, so SIGTERM (preemption, time\n"
            "# limit) just ends it and --requeue runs it again. A failed shard is rerun\n"
            "# alone: sbatch --array=I " + (target / kSlurmFolder / "space-array.sbatch").string() + "\n"
            "#SBATCH --array=0-" + std::to_string(o.shards - 1) + "\n" +
            slurm::sbatch_header("tinynas-space", logs / "space-%A_%a.out", o.slurm_flags, false) +
            "exec " + cmd + " --shard \"${SLURM_ARRAY_TASK_ID}/" + n + "\"\n";
  s.merge = "#!/bin/bash\n"
            "# Written by `tinynas space --slurm`: merges the " + n + " shards into " +
            (target / "space.json").string() + "\n"
            "# and space_cdf.svg; submitted with --dependency=afterok on the array job.\n" +
            slurm::sbatch_header("tinynas-space-merge", logs / "space-merge-%j.out", merge_flags, false) +
            "exec " + cmd + " --shards " + n + " --merge\n";
  return s;
}

int run_slurm(const Options& o, const CLI::App& sub) {
  slurm::check_flags(o.slurm_flags);
  const fs::path target = check_output_dir(o.out, "--out");
  (void)load_inputs(o);  // a bad --mcu or --space is refused here, not in every job
  const SlurmScripts scripts = slurm_scripts(o, sub, target);
  const fs::path array_path = target / kSlurmFolder / "space-array.sbatch";
  const fs::path merge_path = target / kSlurmFolder / "space-merge.sbatch";
  if (o.dry_run) {
    std::cout << "# " << array_path.string() << "\n" << scripts.array << "\n# " << merge_path.string() << "\n"
              << scripts.merge;
    std::cout << "# not submitted (--dry-run): sbatch --parsable " << array_path.string()
              << "; then sbatch --dependency=afterok:JOBID --kill-on-invalid-dep=yes " << merge_path.string()
              << "\n";
    return kExitOk;
  }
  const std::string sbatch = slurm::require_sbatch();
  {
    StagedOutput out(o.out, "--out", "space");
    out.write((fs::path(kSlurmFolder) / "space-array.sbatch").string(), scripts.array);
    out.write((fs::path(kSlurmFolder) / "space-merge.sbatch").string(), scripts.merge);
    std::error_code ec;
    // Slurm opens the jobs' logs there and does not create folders.
    fs::create_directories(out.dir() / kSlurmFolder / "logs", ec);
    if (ec) throw Error((out.dir() / kSlurmFolder / "logs").string() + ": " + ec.message());
    out.commit();
  }
  std::string array_id;
  try {
    array_id = slurm::submit(sbatch, {array_path.string()});
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + "; nothing submitted; the scripts are in " +
                (target / kSlurmFolder).string());
  }
  std::string merge_id;
  try {
    // A shard that fails cancels the merge instead of leaving it pending.
    merge_id = slurm::submit(sbatch,
                             {"--dependency=afterok:" + array_id, "--kill-on-invalid-dep=yes", merge_path.string()});
  } catch (const Error& e) {
    slurm::record_jobs(target, {{{"stage", "space shards"}, {"job", array_id}, {"script", array_path.string()}}});
    throw Error(std::string(e.what()) + "; the array job " + array_id +
                " runs; submit the merge after it: sbatch --dependency=afterok:" + array_id + " " +
                merge_path.string());
  }
  slurm::record_jobs(target, {{{"stage", "space shards"}, {"job", array_id}, {"script", array_path.string()}},
                              {{"stage", "space merge"}, {"job", merge_id}, {"script", merge_path.string()}}});
  std::cout << "array job " << array_id << " (" << o.shards << " shards into " << (target / kShardFolder).string()
            << ")\nmerge job " << merge_id << " (after all shards succeed; writes "
            << (target / "space.json").string() << ")\n";
  spdlog::info("submitted; logs in {}; a failed shard I: sbatch --array=I {}, then sbatch {}; tinynas status {}",
               (target / kSlurmFolder / "logs").string(), array_path.string(), merge_path.string(), target.string());
  return kExitOk;
}

}  // namespace

Command add_space_command(CLI::App& app) {
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "space", "Choose the width multiplier and resolution whose fitting subnets have the most FLOPs");
  sub->add_option("--mcu", o->mcu, "MCU name (configs/mcus) or YAML path")->required();
  add_budget_flags(*sub, o->budget);
  sub->add_option("--out", o->out, "Output directory (space.json, space_cdf.svg)")->required();
  sub->add_option("--space", o->space, "Search space name (configs/spaces) or YAML path");
  sub->add_option("--samples", o->samples, "Subnets sampled per configuration")->check(CLI::Range(1, 10000000));
  sub->add_option("--seed", o->seed, "Random seed");
  sub->add_option("--classes", o->classes, "Classifier outputs (default: the space's)")->check(CLI::Range(1, 100000));
  sub->add_option("--min-fit", o->min_fit, "Only choose configs where at least this fraction fits")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_flag("--patches", o->patches,
                "A subnet also fits when patch-based inference (choose_patch, within --patch-max-overhead) "
                "brings it within the SRAM limit (the default for a space with a patch: setting)");
  sub->add_option("--patch-max-overhead", o->patch_max_overhead,
                  "With patches: the most extra MACs a patch setting may cost, in % (default 15)")
      ->check(CLI::Range(0.0, 1000.0));
  CLI::Option* json = sub->add_flag("--json", o->json, "Print space.json to stdout instead of the table");
  CLI::Option* shard = sub->add_option(
      "--shard", o->shard, "Compute only shard I of N (I/N, 0 <= I < N) into DIR/shards/shard-I-of-N.json");
  CLI::Option* merge =
      sub->add_flag("--merge", o->merge, "Write DIR's space.json from the --shards shard files of DIR/shards");
  sub->add_option("--shards", o->shards, "Number of shards for --slurm and --merge")->check(CLI::Range(1, 10000));
  CLI::Option* slurm = sub->add_flag(
      "--slurm", o->slurm, "Run as a Slurm job array of --shards shards and a merge job (scripts in DIR/slurm)");
  sub->add_flag("--dry-run", o->dry_run, "With --slurm: print the sbatch scripts, submit nothing")->needs(slurm);
  slurm::add_flags(*sub, o->slurm_flags, false);
  shard->excludes(merge)->excludes(slurm)->excludes(json);
  merge->excludes(slurm);
  return [o, sub]() {
    if (!o->shard.empty()) return run_shard(*o);
    if (o->merge) return run_merge(*o);
    if (o->slurm) return run_slurm(*o, *sub);
    return run_single(*o);
  };
}

}  // namespace tinynas::cli
