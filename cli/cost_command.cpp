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

// Every patch setting the network can take, a row each (see patch_sweep).
void print_patch_sweep(const PatchSweep& sweep, const std::string& arch, const McuTarget& mcu) {
  const CostReport& base = sweep.layer_by_layer;
  std::printf("patch settings of %s on %s: n x n patches (n = 2..8) through block B; %zu valid, "
              "%d refused (the receptive field or the tiling does not allow them)\n",
              arch.c_str(), mcu.name.c_str(), sweep.rows.size(), sweep.refused);
  std::printf("%-15s %10s %6s %10s %8s %7s %11s %5s  %s\n", "setting", "arena B", "ratio",
              "peak SRAM", "MACs M", "MACs", "latency ms", "fits", "pareto");
  const auto row = [&](const std::string& name, const CostReport& c, bool pareto) {
    std::printf("%-15s %10lld %6.3f %10lld %8.2f %+6.1f%% %11.1f %5s  %s\n", name.c_str(),
                static_cast<long long>(c.arena_bytes),
                static_cast<double>(c.arena_bytes) / static_cast<double>(base.arena_bytes),
                static_cast<long long>(c.peak_sram_bytes), static_cast<double>(c.macs) / 1e6,
                c.patch_mac_overhead, c.latency_ms, c.fits ? "yes" : "no", pareto ? "*" : "");
  };
  row("layer by layer", base, true);
  for (const PatchSweepRow& r : sweep.rows) row(patch_setting(r.patch), r.cost, r.pareto);
  const int32_t best = sweep.lowest_arena();
  if (best < 0 || sweep.rows[best].cost.arena_bytes >= base.arena_bytes) {
    std::printf("no patch setting lowers the arena below layer by layer's %lld B\n",
                static_cast<long long>(base.arena_bytes));
    return;
  }
  const PatchSweepRow& b = sweep.rows[best];
  std::printf("lowest arena: %s, %lld B (%.3fx layer by layer) for %+.1f%% MACs\n",
              patch_setting(b.patch).c_str(), static_cast<long long>(b.cost.arena_bytes),
              static_cast<double>(b.cost.arena_bytes) / static_cast<double>(base.arena_bytes),
              b.cost.patch_mac_overhead);
}

nlohmann::json patch_sweep_json(const PatchSweep& sweep) {
  nlohmann::json rows = nlohmann::json::array();
  for (const PatchSweepRow& r : sweep.rows) {
    nlohmann::json j = cost_to_json(r.cost);
    j["pareto"] = r.pareto;
    rows.push_back(std::move(j));
  }
  const int32_t best = sweep.lowest_arena();
  return {{"layer_by_layer", cost_to_json(sweep.layer_by_layer)},
          {"settings", rows},
          {"refused", sweep.refused},
          {"lowest_arena", best < 0 ? nlohmann::json(nullptr) : rows[best]}};
}

}  // namespace

Command add_cost_command(CLI::App& app) {
  struct Options {
    std::string arch, mcu, space;
    PatchFlags patch;
    BudgetFlags budget;
    int32_t resolution = 0;
    bool json = false, require_fit = false, dump_graph = false, dump_plan = false, sweep = false;
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
  CLI::Option* sweep = sub->add_flag(
      "--patch-sweep", o->sweep,
      "Cost every patch setting the network can take (2x2..8x8, every split block): arena, MACs, "
      "latency, the arena/MACs Pareto front and the lowest arena reachable");
  for (const char* other : {"--patch", "--patch-max-overhead", "--dump-graph", "--dump-plan", "--require-fit"})
    sweep->excludes(sub->get_option(other));
  return [o]() {
    const McuTarget mcu = load_mcu(o->mcu);
    const Budget budget = resolve_budget(mcu, o->budget);
    ArchSpec arch = load_arch(o->arch, o->resolution);
    if (!o->space.empty()) {
      std::string why;
      if (!contains(load_search_space(o->space), arch, &why)) throw Error(o->arch + ": " + why);
    }
    if (o->sweep) {
      const PatchSweep sweep = patch_sweep(arch, mcu, budget);
      if (o->json) {
        std::cout << patch_sweep_json(sweep).dump(2) << "\n";
      } else {
        print_patch_sweep(sweep, o->arch, mcu);
      }
      return kExitOk;
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
