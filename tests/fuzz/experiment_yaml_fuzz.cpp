// libFuzzer target: the experiment YAML of `tinynas <command> --config x.yaml`
// (cli/yaml_config.h: YamlConfig, CLI11's config formatter), parsed the way
// cli/main.cpp parses argv.
//
// Bytes -> an in-memory file -> `tinynas --config FILE space` and
// `... --config FILE train`, on an App set up as main.cpp sets it up. The
// subcommands mirror the real ones' options (names, types, checks); `space`
// takes the real add_budget_flags and then resolve_budget, as the command
// does. The real commands are not linked, so the build needs neither the
// optimiser nor LibTorch; keep the mirror in step when options change.
//
// The file: CLI11 2.1 reads --config only from a path that exists
// (Config::from_file is not virtual), so the input goes into a memfd reached
// as /proc/self/fd/N; nothing touches the disk. Cost per input: two YAML
// parses and two CLI11 parses.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/options.h"
#include "cli/yaml_config.h"
#include "core/error.h"
#include "core/mcu.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

class MemoryFile {
 public:
  MemoryFile() : fd_(memfd_create("experiment.yaml", 0)) {
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  void set(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0 ||
        (size > 0 && pwrite(fd_, data, size, 0) != static_cast<ssize_t>(size))) {
      std::perror("memfd write");
      std::abort();
    }
  }
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

// tinynas space (cli/space_command.cpp).
struct SpaceOptions {
  std::string mcu, out, space = "mcunet";
  tinynas::cli::BudgetFlags budget;
  int64_t samples = 1000;
  uint64_t seed = 0;
  int32_t classes = 0;
  double min_fit = 0;
  bool json = false;
  std::string shard, slurm_partition, slurm_account, slurm_time;
  int32_t shards = 4, slurm_cpus = 1;
  bool merge = false, slurm = false, dry_run = false;
};

void add_space(CLI::App& app, SpaceOptions& o) {
  CLI::App* sub = app.add_subcommand("space", "space");
  sub->add_option("--mcu", o.mcu)->required();
  tinynas::cli::add_budget_flags(*sub, o.budget);
  sub->add_option("--out", o.out)->required();
  sub->add_option("--space", o.space);
  sub->add_option("--samples", o.samples)->check(CLI::Range(1, 10000000));
  sub->add_option("--seed", o.seed);
  sub->add_option("--classes", o.classes)->check(CLI::Range(1, 100000));
  sub->add_option("--min-fit", o.min_fit)->check(CLI::Range(0.0, 1.0));
  CLI::Option* json = sub->add_flag("--json", o.json);
  CLI::Option* shard = sub->add_option("--shard", o.shard);
  CLI::Option* merge = sub->add_flag("--merge", o.merge);
  sub->add_option("--shards", o.shards)->check(CLI::Range(1, 10000));
  CLI::Option* slurm = sub->add_flag("--slurm", o.slurm);
  sub->add_flag("--dry-run", o.dry_run)->needs(slurm);
  sub->add_option("--slurm-partition", o.slurm_partition);
  sub->add_option("--slurm-account", o.slurm_account);
  sub->add_option("--slurm-time", o.slurm_time);
  sub->add_option("--slurm-cpus", o.slurm_cpus)->check(CLI::Range(1, 4096));
  shard->excludes(merge)->excludes(slurm)->excludes(json);
  merge->excludes(slurm);
}

// tinynas train (cli/train_command.cpp, supernet::TrainConfig's field types).
struct TrainOptions {
  std::string space = "mcunet", dataset, device = "cpu", out;
  double width = 0, val_fraction = 0.1, lr = 0.1, momentum = 0.9, warmup_epochs = 1,
         weight_decay = 4e-5, label_smoothing = 0.1, scale_min = 0.08;
  std::vector<int32_t> resolutions;
  bool skip_bad = false, nesterov = false, bn_weight_decay = false, distill = false,
       resume = false, force = false, json = false;
  int64_t max_train_images = 0, batch_size = 64, checkpoint_every = 0, eval_batch_size = 0;
  uint64_t split_seed = 0, seed = 0;
  int32_t workers = 2, largest_epochs = 1, elastic_epochs = 2, epochs = 0,
          subnets_per_step = 2, eval_random = 2, bn_batches = 8, threads = 0;
};

void add_train(CLI::App& app, TrainOptions& o) {
  CLI::App* sub = app.add_subcommand("train", "train");
  sub->add_option("--space", o.space);
  sub->add_option("--width", o.width);
  sub->add_option("--resolutions", o.resolutions)->delimiter(',');
  sub->add_option("--dataset", o.dataset);
  sub->add_flag("--skip-bad", o.skip_bad);
  sub->add_option("--max-train-images", o.max_train_images);
  sub->add_option("--val-fraction", o.val_fraction);
  sub->add_option("--split-seed", o.split_seed);
  sub->add_option("--batch-size", o.batch_size);
  sub->add_option("--workers", o.workers);
  sub->add_option("--lr", o.lr);
  sub->add_option("--momentum", o.momentum);
  sub->add_flag("--nesterov", o.nesterov);
  sub->add_option("--warmup-epochs", o.warmup_epochs);
  sub->add_option("--weight-decay", o.weight_decay);
  sub->add_flag("--bn-weight-decay", o.bn_weight_decay);
  sub->add_option("--label-smoothing", o.label_smoothing);
  sub->add_option("--largest-epochs", o.largest_epochs);
  sub->add_option("--elastic-epochs", o.elastic_epochs);
  sub->add_option("--epochs", o.epochs);
  sub->add_option("--subnets-per-step", o.subnets_per_step);
  sub->add_flag("--distill", o.distill);
  sub->add_option("--scale-min", o.scale_min);
  sub->add_option("--seed", o.seed);
  sub->add_option("--checkpoint-every", o.checkpoint_every);
  sub->add_option("--eval-random", o.eval_random);
  sub->add_option("--bn-batches", o.bn_batches);
  sub->add_option("--eval-batch-size", o.eval_batch_size);
  sub->add_option("--device", o.device)->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_option("--threads", o.threads);
  sub->add_option("--out", o.out)->required();
  sub->add_flag("--resume", o.resume);
  sub->add_flag("--force", o.force);
  sub->add_flag("--json", o.json);
}

tinynas::McuTarget some_mcu() {
  tinynas::McuTarget m;
  m.name = "fuzz";
  m.budget_flash_bytes = 1 << 20;
  m.budget_sram_bytes = 256 << 10;
  return m;
}

// `tinynas --config <path> <command>`, with main.cpp's App settings.
void parse_config(const std::string& path, const std::string& command) {
  CLI::App app{"tinynas"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_config("--config", "", "config");
  app.config_formatter(std::make_shared<tinynas::cli::YamlConfig>(&app));
  app.option_defaults()->always_capture_default();
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose);
  app.add_flag("-q,--quiet", quiet);
  SpaceOptions space;
  TrainOptions train;
  add_space(app, space);
  add_train(app, train);
  for (CLI::App* sub : app.get_subcommands({})) sub->fallthrough();
  try {
    app.parse(std::vector<std::string>{command, path, "--config"});  // CLI11: last first
    if (command == "space") tinynas::cli::resolve_budget(some_mcu(), space.budget);
  } catch (const CLI::ParseError&) {
    // Usage errors, as main.cpp reports them (exit 2).
  } catch (const tinynas::Error&) {
    // Bad values with file:line: key.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemoryFile file;
  file.set(data, size);
  parse_config(file.path(), "space");
  parse_config(file.path(), "train");
  return 0;
}
