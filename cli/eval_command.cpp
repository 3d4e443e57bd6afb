// tinynas eval: top-1 of one subnet of a trained supernet checkpoint on a data
// set, after BN recalibration on training images.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/arch_io.h"
#include "core/op_graph.h"
#include "core/rng.h"
#include "core/search_space.h"
#include "core/error.h"
#include "supernet/trainer.h"

namespace tinynas::cli {

Command add_eval_command(CLI::App& app) {
  struct Options {
    std::string arch, checkpoint, dataset, bn_dataset, device = "cpu";
    int32_t resolution = 0, threads = 0;
    supernet::EvalOptions eval;
    bool json = false;
    bool skip_bad = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("eval", "Top-1 of a subnet of a trained supernet checkpoint on a data set");
  sub->add_option("--arch", o->arch, "Architecture JSON (tinynas or net.config), or 'largest' / 'smallest' / 'median' (the subnet of median MACs among 101 seeded samples)")
      ->required();
  sub->add_option("--checkpoint", o->checkpoint, "Supernet checkpoint (tinynas train's checkpoint.pt)")->required();
  sub->add_option("--dataset", o->dataset, "Evaluation data set KIND:PATH")->required();
  sub->add_option("--bn-dataset", o->bn_dataset,
                  "Data set for BN recalibration (default: the checkpoint's training images)");
  sub->add_option("--bn-batches", o->eval.bn_batches, "Batches for BN recalibration (0: keep stored statistics)")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--bn-batch-size", o->eval.bn_batch_size, "Images per BN batch")->check(CLI::Range(2, 100000));
  sub->add_option("--batch-size", o->eval.batch_size, "Evaluation batch size")->check(CLI::Range(1, 100000));
  sub->add_option("--resolution", o->resolution, "Evaluate at this resolution instead of the arch's");
  sub->add_option("--seed", o->eval.seed, "Seed choosing the BN images");
  sub->add_option("--workers", o->eval.workers, "Data loader threads")->check(CLI::Range(0, 256));
  sub->add_option("--threads", o->threads, "Torch intra-op threads (0: all cores)")->check(CLI::Range(0, 4096));
  sub->add_option("--device", o->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_flag("--json", o->json, "Print the result as JSON");
  sub->add_flag("--skip-bad", o->skip_bad, "Skip corrupt or missing images of --dataset (counted in a warning)");
  return [o]() {
    supernet::check_device(o->device);
    const ArchSpec arch = is_subnet_name(o->arch)
                              ? named_subnet(supernet::checkpoint_space(o->checkpoint), o->arch, o->resolution,
                                             o->eval.seed, "checkpoint " + o->checkpoint)
                              : load_arch(o->arch, o->resolution);
    supernet::CheckpointEvalOptions opt;
    opt.bn_dataset = o->bn_dataset;
    opt.skip_bad = o->skip_bad;
    opt.eval = o->eval;
    opt.device = o->device;
    opt.threads = o->threads;
    const supernet::CheckpointEval r = supernet::evaluate_checkpoint(o->checkpoint, arch, o->arch, o->dataset, opt);
    if (o->json) {
      nlohmann::json j = {{"top1", r.result.top1()},
                          {"correct", r.result.correct},
                          {"count", r.result.count},
                          {"dataset", o->dataset},
                          {"checkpoint", o->checkpoint},
                          {"arch", o->arch},
                          {"resolution", arch.resolution},
                          {"macs", lower(arch).total_macs()},
                          {"arch_spec", arch_to_json(arch)},
                          {"bn_dataset", r.bn_dataset},
                          {"bn_images", r.result.bn_images}};
      std::cout << j.dump(2) << "\n";
    } else {
      std::printf("top-1 %.2f%% (%lld/%lld) on %s: %s at resolution %d\n", 100 * r.result.top1(),
                  static_cast<long long>(r.result.correct), static_cast<long long>(r.result.count),
                  o->dataset.c_str(), o->arch.c_str(), arch.resolution);
    }
    if (r.result.bn_images > 0)
      spdlog::info("BN statistics recalibrated on {} images of {}", r.result.bn_images, r.bn_dataset);
    return kExitOk;
  };
}

}  // namespace tinynas::cli
