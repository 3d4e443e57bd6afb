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

// "NxN:B" -> {N, B}; throws naming the flag when it is not of that form.
PatchSpec parse_patch(const std::string& value) {
  const auto bad = [&](const std::string& why) {
    return Error("--patch " + shorten(value) + ": " + why);
  };
  int32_t fields[3] = {0, 0, 0};
  size_t field = 0, digits = 0;
  for (const char ch : value) {
    if (ch >= '0' && ch <= '9') {
      if (++digits > 6) throw bad("number too large");
      fields[field] = fields[field] * 10 + (ch - '0');
    } else if (digits > 0 && ((field == 0 && ch == 'x') || (field == 1 && ch == ':'))) {
      ++field;
      digits = 0;
    } else {
      field = 3;
      break;
    }
  }
  if (field != 2 || digits == 0)
    throw bad("expected NxN:B (n x n patches through block B, e.g. 4x4:5), auto or none");
  if (fields[0] != fields[1]) throw bad("patches must form a square grid (NxN)");
  return {fields[0], fields[2]};
}

}  // namespace

Command add_cost_command(CLI::App& app) {
  struct Options {
    std::string arch, mcu, space, patch;
    double patch_max_overhead = 15.0;
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
  sub->add_option("--patch", o->patch,
                  "Patch-based inference: NxN:B (n x n patches through block B, counted from 0 over all "
                  "stages, e.g. 4x4:5), auto (the lowest peak SRAM within --patch-max-overhead) or none; "
                  "default: the architecture's own setting");
  sub->add_option("--patch-max-overhead", o->patch_max_overhead,
                  "Extra MACs --patch auto may spend on the patches' overlap, in % (default 15)");
  sub->add_flag("--json", o->json, "Print JSON (keys macs, params, flash_bytes, peak_sram_bytes, latency_ms, fits)");
  sub->add_flag("--require-fit", o->require_fit, "Exit with status 3 when the network does not fit");
  sub->add_flag("--dump-graph", o->dump_graph, "Print the lowered op graph");
  sub->add_flag("--dump-plan", o->dump_plan, "Print the memory plan");
  return [o]() {
    const McuTarget mcu = load_mcu(o->mcu);
    const Budget budget = resolve_budget(mcu, o->budget);
    if (!(o->patch_max_overhead >= 0 && o->patch_max_overhead <= 1000))
      throw Error("--patch-max-overhead: must be a percentage in 0..1000");
    ArchSpec arch = load_arch(o->arch, o->resolution);
    if (!o->space.empty()) {
      std::string why;
      if (!contains(load_search_space(o->space), arch, &why)) throw Error(o->arch + ": " + why);
    }
    if (o->patch == "auto") {
      arch.patch = choose_patch(arch, mcu, budget, o->patch_max_overhead).patch;
    } else if (o->patch == "none") {
      arch.patch = PatchSpec{};
    } else if (!o->patch.empty()) {
      arch.patch = parse_patch(o->patch);
      const std::string problem = patch_problem(arch);
      if (!problem.empty()) throw Error("--patch " + o->patch + ": " + problem);
    }
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
