// tinynas cost: MACs, params, flash, peak SRAM and latency of one network.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/arch_io.h"
#include "core/error.h"
#include "core/search_space.h"
#include "core/memory_planner.h"
#include "evaluator/cost_model.h"

namespace tinynas::cli {
namespace {

}  // namespace

Command add_cost_command(CLI::App& app) {
  struct Options {
    std::string arch, mcu, space;
    PatchFlags patch;
    BudgetFlags budget;
    int32_t resolution = 0;
    bool json = false, require_fit = false, dump_graph = false, dump_plan = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("cost", "Cost a network on an MCU: MACs, params, flash, peak SRAM, latency");
  sub->add_option("--arch", o->arch, "Architecture JSON (tinynas or MCUNet/OFA net.config)")->required();
  sub->add_option("--mcu", o->mcu, "MCU name (configs/mcus) or YAML path")->required();
  add_budget_flags(*sub, o->budget);
  sub->add_option("--resolution", o->resolution, "Override the input resolution");
  sub->add_option("--space", o->space, "Also require the network to be in this search space");
  add_patch_flags(*sub, o->patch);
  sub->add_flag("--json", o->json, "Print JSON (keys macs, params, flash_bytes, peak_sram_bytes, latency_ms, fits)");
  sub->add_flag("--require-fit", o->require_fit, "Exit with status 3 when the network does not fit");
  sub->add_flag("--dump-graph", o->dump_graph, "Print the lowered op graph");
  sub->add_flag("--dump-plan", o->dump_plan, "Print the memory plan");
  return [o]() {
    const McuTarget mcu = load_mcu(o->mcu);
    const Budget budget = resolve_budget(mcu, o->budget);
    ArchSpec arch = load_arch(o->arch, o->resolution);
    if (!o->space.empty()) {
      std::string why;
      if (!contains(load_search_space(o->space), arch, &why)) throw Error(o->arch + ": " + why);
    }
    apply_patch_flags(o->patch, mcu, budget, arch);
    const CostReport cost = estimate_cost(arch, mcu, budget);
    if (o->json) {
      std::cout << cost_to_json(cost).dump(2) << "\n";
    } else {
      std::cout << format_cost(cost, mcu, budget);
    }
    if (o->dump_graph || o->dump_plan) {
      const OpGraph graph = lower(arch);
      if (o->dump_graph) std::cout << dump_graph(graph);
      if (o->dump_plan) std::cout << dump_plan(graph, plan_memory(graph));
    }
    return (o->require_fit && !cost.fits) ? kExitDoesNotFit : kExitOk;
  };
}

}  // namespace tinynas::cli
