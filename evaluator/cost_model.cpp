#include "evaluator/cost_model.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "core/memory_planner.h"
#include "core/size.h"

namespace tinynas {

int32_t depthwise_executed_kernel(const TensorShape& in, const TensorShape& out, int32_t kernel,
                                  int32_t stride, int32_t padding) {
  // tn_depthwise_fast's rule, line for line.
  if (stride != 1 || (kernel != 3 && kernel != 5 && kernel != 7)) return kernel;
  const int32_t lo_y = padding - (out.h - 1), hi_y = padding + in.h - 1;
  const int32_t lo_x = padding - (out.w - 1), hi_x = padding + in.w - 1;
  const int32_t lo = std::min(lo_y, lo_x);
  const int32_t hi = std::min(std::max(hi_y, hi_x), kernel - 1);
  if (lo > 0 && hi == kernel - 1 - lo && hi - lo + 1 >= 3) return hi - lo + 1;
  return kernel;
}

OpLatencyFeatures latency_features(const OpGraph& g, const Op& op, const McuTarget& mcu) {
  OpLatencyFeatures f;
  if (op.patch >= 0) {
    const int64_t in_c = g.tensors[op.input].shape.c;
    const int64_t out_c = g.tensors[op.output].shape.c;
    f.inputs = op.in_window.pixels() * in_c;
    if (op.input2 >= 0) f.inputs += op.out_tile.pixels() * in_c;  // the add's second operand
    f.outputs = op.out_tile.pixels() * out_c;
    f.channels = out_c;
    f.macs = op.macs;
    return f;
  }
  const TensorShape& in = g.tensors[op.input].shape;
  const TensorShape& out = g.tensors[op.output].shape;
  f.inputs = in.elements();
  if (op.input2 >= 0) f.inputs += g.tensors[op.input2].shape.elements();
  f.outputs = out.elements();
  f.channels = out.c;
  f.macs = op.macs;
  if (op.kind == OpKind::kDepthwiseConv2d && mcu.dsp) {
    const int64_t k = depthwise_executed_kernel(in, out, op.kernel, op.stride, op.padding);
    if (k != op.kernel) f.macs = f.outputs * k * k;
  }
  return f;
}

double op_cycles(const OpGraph& g, const Op& op, const McuTarget& mcu) {
  const OpLatencyFeatures f = latency_features(g, op, mcu);
  return latency_cycles(mcu.latency[static_cast<int>(op.kind)], static_cast<double>(f.macs),
                        static_cast<double>(f.outputs), static_cast<double>(f.inputs),
                        static_cast<double>(f.channels));
}

CostReport estimate_cost(const OpGraph& g, int64_t arena_bytes, const McuTarget& mcu,
                         const Budget& budget) {
  CostReport r;
  bool kind_used[kNumOpKinds] = {};
  int64_t channels = 0;
  int64_t layers = 0, patch_copies = 0;
  for (const Op& op : g.ops) {
    (op.first_patch_op >= 0 ? patch_copies : layers) += 1;
    r.macs += op.macs;
    r.weight_bytes += round_up4(deployed_weight_bytes(op));
    channels += op.biases;
    kind_used[static_cast<int>(op.kind)] = true;
    r.cycles += op_cycles(g, op, mcu);
  }
  r.params = g.total_params();
  r.deployed_params = g.deployed_params();
  r.bias_bytes = 4 * channels;
  r.requant_bytes = 8 * channels;
  r.code_bytes = mcu.reserved_flash_bytes + mcu.per_layer_code_bytes * layers +
                 kPatchOpParamBytes * patch_copies;
  for (int k = 0; k < kNumOpKinds; ++k)
    if (kind_used[k]) r.code_bytes += mcu.kernel_code_bytes[k];
  r.flash_bytes = r.weight_bytes + r.bias_bytes + r.requant_bytes + r.code_bytes;
  r.patch = g.patch;
  r.layer_by_layer_macs = g.layer_by_layer_macs;
  r.patch_mac_overhead =
      g.layer_by_layer_macs > 0
          ? 100.0 * static_cast<double>(r.macs - g.layer_by_layer_macs) / static_cast<double>(g.layer_by_layer_macs)
          : 0.0;
  r.arena_bytes = arena_bytes;
  r.peak_sram_bytes = arena_bytes + mcu.reserved_sram_bytes;
  r.latency_ms = r.cycles / static_cast<double>(mcu.clock_hz) * 1e3;
  r.fits_flash = r.flash_bytes <= budget.flash_bytes;
  r.fits_sram = r.peak_sram_bytes <= budget.sram_bytes;
  r.fits_latency = budget.latency_ms <= 0 || r.latency_ms <= budget.latency_ms;
  r.fits = r.fits_flash && r.fits_sram && r.fits_latency;
  // validate() bounds every size of an ArchSpec so that these sums stay far
  // inside int64, and the MCU reader bounds sizes and coefficients: a figure
  // out of range here comes from inputs built around those checks, and is
  // refused rather than reported as a number (two compares per network).
  if (r.macs < 0 || r.flash_bytes < 0 || r.peak_sram_bytes < 0 || !(r.latency_ms < 1e300))
    throw Error("cost model overflow: the network or the MCU description is out of range");
  return r;
}

CostReport estimate_cost(const ArchSpec& arch, const McuTarget& mcu, const Budget& budget) {
  thread_local OpGraph graph;
  thread_local MemoryPlanner planner;
  lower(arch, graph);
  const int64_t arena = plan_arena_bytes(graph, planner);
  return estimate_cost(graph, arena, mcu, budget);
}

PatchChoice choose_patch(const ArchSpec& arch, const McuTarget& mcu, const Budget& budget,
                         double max_mac_overhead) {
  PatchChoice best;
  ArchSpec a = layer_by_layer(arch);
  best.cost = estimate_cost(a, mcu, budget);
  const std::vector<int32_t> sizes = block_output_sizes(a);
  for (int32_t n = 2; n <= 4; ++n) {
    for (int32_t block = 0; block < static_cast<int32_t>(sizes.size()); ++block) {
      if (int64_t{sizes[block]} * 16 < a.resolution) break;  // past the first stages
      a.patch = {n, block};
      if (!patch_problem(a).empty()) continue;
      const CostReport c = estimate_cost(a, mcu, budget);
      ++best.candidates;
      if (c.patch_mac_overhead > max_mac_overhead) continue;
      if (c.arena_bytes < best.cost.arena_bytes ||
          (c.arena_bytes == best.cost.arena_bytes && best.patch.enabled() &&
           c.patch_mac_overhead < best.cost.patch_mac_overhead)) {
        best.patch = a.patch;
        best.cost = c;
      }
    }
  }
  return best;
}

int32_t PatchSweep::lowest_arena() const {
  int32_t best = -1;
  for (size_t i = 0; i < rows.size(); ++i) {
    const CostReport& c = rows[i].cost;
    if (best < 0 || c.arena_bytes < rows[best].cost.arena_bytes ||
        (c.arena_bytes == rows[best].cost.arena_bytes && c.macs < rows[best].cost.macs))
      best = static_cast<int32_t>(i);
  }
  return best;
}

PatchSweep patch_sweep(const ArchSpec& arch, const McuTarget& mcu, const Budget& budget,
                       int32_t max_grid) {
  PatchSweep sweep;
  ArchSpec a = layer_by_layer(arch);
  sweep.layer_by_layer = estimate_cost(a, mcu, budget);
  const int32_t blocks = static_cast<int32_t>(block_output_sizes(a).size());
  for (int32_t n = 2; n <= std::min(max_grid, kMaxPatchGrid); ++n) {
    for (int32_t block = 0; block < blocks; ++block) {
      a.patch = {n, block};
      if (!patch_problem(a).empty()) {
        ++sweep.refused;
        continue;
      }
      sweep.rows.push_back({a.patch, estimate_cost(a, mcu, budget), false});
    }
  }
  // Pareto: no other setting (layer by layer included) has both an arena and
  // MACs at most this one's with one of them lower.
  const auto dominates = [](const CostReport& x, const CostReport& y) {
    return x.arena_bytes <= y.arena_bytes && x.macs <= y.macs &&
           (x.arena_bytes < y.arena_bytes || x.macs < y.macs);
  };
  for (PatchSweepRow& r : sweep.rows) {
    r.pareto = !dominates(sweep.layer_by_layer, r.cost);
    for (const PatchSweepRow& o : sweep.rows) {
      if (!r.pareto) break;
      if (&o != &r && dominates(o.cost, r.cost)) r.pareto = false;
    }
  }
  return sweep;
}

nlohmann::json cost_to_json(const CostReport& c) {
  nlohmann::json patch = nullptr;
  if (c.patch.enabled()) patch = {{"patches", c.patch.n}, {"split_block", c.patch.split_block}};
  return {{"macs", c.macs},
          {"patch", patch},
          {"layer_by_layer_macs", c.layer_by_layer_macs},
          {"patch_mac_overhead", c.patch_mac_overhead},
          {"params", c.params},
          {"flash_bytes", c.flash_bytes},
          {"peak_sram_bytes", c.peak_sram_bytes},
          {"latency_ms", c.latency_ms},
          {"fits", c.fits},
          {"deployed_params", c.deployed_params},
          {"weight_bytes", c.weight_bytes},
          {"bias_bytes", c.bias_bytes},
          {"requant_bytes", c.requant_bytes},
          {"code_bytes", c.code_bytes},
          {"arena_bytes", c.arena_bytes},
          {"cycles", c.cycles},
          {"fits_flash", c.fits_flash},
          {"fits_sram", c.fits_sram},
          {"fits_latency", c.fits_latency}};
}

std::string format_cost(const CostReport& c, const McuTarget& mcu, const Budget& b) {
  std::string out;
  char line[256];
  auto row = [&](const char* name, const std::string& value, const std::string& limit,
                 const char* verdict) {
    std::snprintf(line, sizeof line, "  %-16s %-22s %-22s %s\n", name, value.c_str(), limit.c_str(),
                  verdict);
    out += line;
  };
  std::snprintf(line, sizeof line, "cost on %s (%s, %s, %.0f MHz)\n", mcu.name.c_str(),
                mcu.part.c_str(), mcu.core.c_str(), static_cast<double>(mcu.clock_hz) / 1e6);
  out += line;
  std::snprintf(line, sizeof line, "%.2fM (%lld)", static_cast<double>(c.macs) / 1e6,
                static_cast<long long>(c.macs));
  row("MACs", line, "", "");
  if (c.patch.enabled()) {
    std::snprintf(line, sizeof line,
                  "    %dx%d patches through block %d: +%.1f%% MACs over layer by layer (%.2fM)\n",
                  c.patch.n, c.patch.n, c.patch.split_block, c.patch_mac_overhead,
                  static_cast<double>(c.layer_by_layer_macs) / 1e6);
    out += line;
  }
  std::snprintf(line, sizeof line, "%.3fM (%lld)", static_cast<double>(c.params) / 1e6,
                static_cast<long long>(c.params));
  row("params", line, "", "");
  row("flash", format_size(c.flash_bytes) + " (" + std::to_string(c.flash_bytes) + ")",
      "budget " + format_size(b.flash_bytes), c.fits_flash ? "fits" : "DOES NOT FIT");
  std::snprintf(line, sizeof line, "    weights %s, bias+requant %s, code %s\n",
                format_size(c.weight_bytes).c_str(),
                format_size(c.bias_bytes + c.requant_bytes).c_str(),
                format_size(c.code_bytes).c_str());
  out += line;
  row("peak SRAM", format_size(c.peak_sram_bytes) + " (" + std::to_string(c.peak_sram_bytes) + ")",
      "budget " + format_size(b.sram_bytes), c.fits_sram ? "fits" : "DOES NOT FIT");
  std::snprintf(line, sizeof line, "    arena %s, reserved %s\n", format_size(c.arena_bytes).c_str(),
                format_size(mcu.reserved_sram_bytes).c_str());
  out += line;
  std::snprintf(line, sizeof line, "%.1f ms", c.latency_ms);
  std::string limit;
  if (b.latency_ms > 0) {
    char l2[64];
    std::snprintf(l2, sizeof l2, "budget %.1f ms", b.latency_ms);
    limit = l2;
  }
  row("latency", std::string(line) + (mcu.latency_fitted ? "" : " (unfitted)"), limit,
      b.latency_ms > 0 ? (c.fits_latency ? "fits" : "DOES NOT FIT") : "");
  if (!c.fits_flash) {
    out += "  over the flash budget by " + format_size(c.flash_bytes - b.flash_bytes) + " (" +
           std::to_string(c.flash_bytes - b.flash_bytes) + " bytes)\n";
  }
  if (!c.fits_sram) {
    out += "  over the SRAM budget by " + format_size(c.peak_sram_bytes - b.sram_bytes) + " (" +
           std::to_string(c.peak_sram_bytes - b.sram_bytes) + " bytes)\n";
  }
  out += c.fits ? "fits: yes\n" : "fits: no\n";
  return out;
}

}  // namespace tinynas
