// tinynas space: choose the width and resolution for an MCU budget.
#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/output_dir.h"
#include "core/size.h"
#include "space_optimizer/space_optimizer.h"

namespace tinynas::cli {

Command add_space_command(CLI::App& app) {
  struct Options {
    std::string mcu, out, space = "mcunet";
    BudgetFlags budget;
    int64_t samples = 1000;
    uint64_t seed = 0;
    int32_t classes = 0;
    double min_fit = 0;
    bool json = false;
  };
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
  sub->add_flag("--json", o->json, "Print space.json to stdout instead of the table");
  return [o]() {
    // A bad --out is refused before any work; the folder is published whole.
    StagedOutput out(o->out, "--out", "space");
    const McuTarget mcu = load_mcu(o->mcu);
    const Budget budget = resolve_budget(mcu, o->budget);
    SearchSpace space = load_search_space(o->space);
    if (o->classes > 0) space.num_classes = o->classes;
    SpaceOptimizerOptions opt;
    opt.samples = o->samples;
    opt.seed = o->seed;
    opt.min_fit_fraction = o->min_fit;
    spdlog::info("space '{}' on {}: {} widths x {} resolutions x {} samples, budget flash {} SRAM {}",
                 space.name, mcu.name, space.widths.size(), space.resolutions.size(), o->samples,
                 format_size(budget.flash_bytes), format_size(budget.sram_bytes));
    const SpaceOptimizerResult result = optimize_space(space, mcu, budget, opt);
    const auto json = space_result_to_json(result);
    // Both files appear together or not at all: an error or a kill leaves
    // the previous output (or none) in place.
    out.write("space.json", json.dump(2) + "\n");
    out.write("space_cdf.svg", space_cdf_svg(result));
    out.commit();
    const std::filesystem::path dir(o->out);
    const auto& best = result.configs[static_cast<size_t>(result.chosen)];
    if (o->json) {
      std::cout << json.dump(2) << "\n";
    } else {
      std::cout << format_space_table(result);
      std::printf("chosen: width %g, resolution %d (mean %.1f MFLOPs, %.0f%% of subnets fit)\n",
                  best.width, best.resolution, best.mean_mflops, best.fit_fraction * 100);
    }
    spdlog::info("{} configurations x {} samples in {:.2f} s; wrote {} and {}", result.configs.size(),
                 result.samples, result.seconds, (dir / "space.json").string(),
                 (dir / "space_cdf.svg").string());
    return kExitOk;
  };
}

}  // namespace tinynas::cli
