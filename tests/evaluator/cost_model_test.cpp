#include "evaluator/cost_model.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "core/arch_io.h"
#include "core/memory_planner.h"
#include "tests/test_util.h"

namespace tinynas {
namespace {

using test_nets::tiny_arch;

McuTarget simple_mcu() {
  McuTarget m;
  m.name = "test";
  m.core = "cortex-m4";
  m.clock_hz = 100'000'000;
  m.flash_bytes = m.budget_flash_bytes = 1 << 20;
  m.sram_bytes = m.budget_sram_bytes = 1 << 18;
  m.reserved_flash_bytes = 1000;
  m.reserved_sram_bytes = 100;
  for (int k = 0; k < kNumOpKinds; ++k) m.kernel_code_bytes[k] = 10 * (k + 1);
  m.per_layer_code_bytes = 5;
  m.latency[static_cast<int>(OpKind::kPointwiseConv2d)].per_mac = 2;
  m.latency[static_cast<int>(OpKind::kAdd)].per_op = 1000;
  return m;
}

TEST(CostModelTest, HandCheckedFigures) {
  const McuTarget mcu = simple_mcu();
  const CostReport c = estimate_cost(tiny_arch(), mcu, budget_for(mcu));
  EXPECT_EQ(c.macs, 370336);
  EXPECT_EQ(c.params, 4786);
  EXPECT_EQ(c.deployed_params, 4554);
  // The stem's 8 rows of 27 are stored padded to 28 (tn_conv2d_depth).
  EXPECT_EQ(c.weight_bytes, 4320);
  EXPECT_EQ(c.bias_bytes, 4 * 242);     // int32 per output channel (232 conv + 10 fc)
  EXPECT_EQ(c.requant_bytes, 8 * 242);  // int32 multiplier + shift per channel
  EXPECT_EQ(c.code_bytes, 1000 + 13 * 5 + 10 * (1 + 2 + 3 + 4 + 5 + 6));
  EXPECT_EQ(c.flash_bytes, 4320 + 968 + 1936 + 1275);
  EXPECT_EQ(c.arena_bytes, 8656);
  EXPECT_EQ(c.peak_sram_bytes, 8756);
  EXPECT_DOUBLE_EQ(c.cycles, 2.0 * 221184 + 2 * 1000);
  EXPECT_DOUBLE_EQ(c.latency_ms, (2.0 * 221184 + 2000) / 1e5);
  EXPECT_TRUE(c.fits);
}

TEST(CostModelTest, OnlyUsedKernelsCount) {
  McuTarget mcu = simple_mcu();
  ArchSpec a = tiny_arch();
  a.stages[0].blocks[0].residual = false;
  a.stages[1].blocks[1].residual = false;  // no add ops left
  const CostReport c = estimate_cost(a, mcu, budget_for(mcu));
  EXPECT_EQ(c.code_bytes, 1000 + 11 * 5 + 10 * (1 + 2 + 3 + 5 + 6));
}

TEST(CostModelTest, EachLayersWeightArrayIsAligned) {
  // tiny_arch's layout with odd widths (9, 27, 15) and 9 classes, so that most
  // weight arrays are not a multiple of 4 bytes. Weights per layer, and each
  // padded to 4 bytes (the conv's rows each padded to 28, as the firmware
  // stores them):
  //   conv 3x3x3 -> 9        243 -> 252
  //   b0 dw 3x3 x 9           81 ->  84   project 9 -> 9     81 ->  84
  //   b1 expand 9 -> 27      243 -> 244   dw 5x5 x 27       675 -> 676
  //      project 27 -> 15    405 -> 408
  //   b2 expand 15 -> 60     900          dw 3x3 x 60       540
  //      project 60 -> 15    900
  //   fc 15 -> 9             135 -> 136
  // Sum 4224; unpadded 4203, and padding only the total would give 4204.
  const McuTarget mcu = simple_mcu();
  ArchSpec a = tiny_arch();
  a.first_conv.out_channels = 9;
  a.stages[0].blocks[0] = BlockSpec{3, 1, 9, 9, 1, true};
  a.stages[1].blocks[0] = BlockSpec{5, 3, 27, 15, 2, false};
  a.stages[1].blocks[1] = BlockSpec{3, 4, 60, 15, 1, true};
  a.num_classes = 9;
  ASSERT_NO_THROW(validate(a));
  const CostReport c = estimate_cost(a, mcu, budget_for(mcu));
  EXPECT_EQ(c.weight_bytes, 4224);
  // Output channels: 9 + 9 + 9 + 27 + 27 + 15 + 60 + 60 + 15 + 9 = 240.
  EXPECT_EQ(c.bias_bytes, 4 * 240);
  EXPECT_EQ(c.requant_bytes, 8 * 240);
  EXPECT_EQ(c.code_bytes, 1000 + 13 * 5 + 10 * (1 + 2 + 3 + 4 + 5 + 6));
  EXPECT_EQ(c.flash_bytes, 4224 + 960 + 1920 + 1275);
}

TEST(CostModelTest, DepthwiseExecutedKernelFollowsTheRuntimesCrop) {
  const auto sq = [](int32_t hw, int32_t c) { return TensorShape{hw, hw, c}; };
  // Maps at least as large as the kernel's reach: no crop.
  EXPECT_EQ(depthwise_executed_kernel(sq(10, 8), sq(10, 8), 7, 1, 3), 7);
  EXPECT_EQ(depthwise_executed_kernel(sq(4, 8), sq(4, 8), 7, 1, 3), 7);
  EXPECT_EQ(depthwise_executed_kernel(sq(3, 8), sq(3, 8), 3, 1, 1), 3);
  // 7x7 and 5x5 on a 3x3 map run as 5x5; on a 2x2 map every kernel runs as 3x3.
  EXPECT_EQ(depthwise_executed_kernel(sq(3, 8), sq(3, 8), 7, 1, 3), 5);
  EXPECT_EQ(depthwise_executed_kernel(sq(3, 8), sq(3, 8), 5, 1, 2), 5);
  EXPECT_EQ(depthwise_executed_kernel(sq(2, 8), sq(2, 8), 7, 1, 3), 3);
  EXPECT_EQ(depthwise_executed_kernel(sq(2, 8), sq(2, 8), 5, 1, 2), 3);
  EXPECT_EQ(depthwise_executed_kernel(sq(2, 8), sq(2, 8), 3, 1, 1), 3);
  // 1x1 map: the crop would be 1, below 3, so the kernel runs whole.
  EXPECT_EQ(depthwise_executed_kernel(sq(1, 8), sq(1, 8), 7, 1, 3), 7);
  // Stride 2 never crops.
  EXPECT_EQ(depthwise_executed_kernel(sq(3, 8), sq(2, 8), 7, 2, 3), 7);
}

TEST(CostModelTest, LatencyFeaturesAndPerChannelTerm) {
  McuTarget mcu = simple_mcu();
  mcu.dsp = true;
  OpLatencyCoeffs& dw = mcu.latency[static_cast<int>(OpKind::kDepthwiseConv2d)];
  dw = {1.5, 2, 3, 100, 200};
  OpGraph g;
  g.tensors.push_back({TensorShape{3, 3, 40}, 360});
  g.tensors.push_back({TensorShape{3, 3, 40}, 360});
  Op op;
  op.kind = OpKind::kDepthwiseConv2d;
  op.input = 0;
  op.output = 1;
  op.kernel = 7;
  op.padding = 3;
  op.macs = 9 * 40 * 49;
  OpLatencyFeatures f = latency_features(g, op, mcu);
  EXPECT_EQ(f.macs, 9 * 40 * 25);  // run as 5x5 on the DSP kernels
  EXPECT_EQ(f.inputs, 360);
  EXPECT_EQ(f.outputs, 360);
  EXPECT_EQ(f.channels, 40);
  EXPECT_DOUBLE_EQ(op_cycles(g, op, mcu), 1.5 * 9000 + 2 * 360 + 3 * 360 + 200 * 40 + 100);
  EXPECT_DOUBLE_EQ(op_cycles(g, op, mcu), latency_cycles(dw, 9000, 360, 360, 40));
  mcu.dsp = false;  // the portable kernels run the whole 7x7
  EXPECT_EQ(latency_features(g, op, mcu).macs, 9 * 40 * 49);
}

TEST(CostModelTest, BudgetVerdicts) {
  const McuTarget mcu = simple_mcu();
  const CostReport c0 = estimate_cost(tiny_arch(), mcu, budget_for(mcu));
  Budget b = budget_for(mcu, c0.flash_bytes, c0.peak_sram_bytes);
  EXPECT_TRUE(estimate_cost(tiny_arch(), mcu, b).fits);  // exactly at the limit fits
  b.sram_bytes -= 1;
  CostReport c = estimate_cost(tiny_arch(), mcu, b);
  EXPECT_FALSE(c.fits);
  EXPECT_FALSE(c.fits_sram);
  EXPECT_TRUE(c.fits_flash);
  EXPECT_NE(format_cost(c, mcu, b).find("over the SRAM budget by 1 B (1 bytes)"), std::string::npos);
  b = budget_for(mcu, c0.flash_bytes - 10);
  c = estimate_cost(tiny_arch(), mcu, b);
  EXPECT_FALSE(c.fits_flash);
  EXPECT_NE(format_cost(c, mcu, b).find("over the flash budget by 10 B"), std::string::npos);
  b = budget_for(mcu, 0, 0, c0.latency_ms / 2);
  c = estimate_cost(tiny_arch(), mcu, b);
  EXPECT_FALSE(c.fits_latency);
  EXPECT_FALSE(c.fits);
}

TEST(CostModelTest, ArenaIsThePlannersArena) {
  const McuTarget mcu = simple_mcu();
  const ArchSpec a = tiny_arch();
  const OpGraph g = lower(a);
  const MemoryPlan plan = plan_memory(g);
  EXPECT_EQ(estimate_cost(a, mcu, budget_for(mcu)).arena_bytes, plan.arena_bytes);
  const CostReport from_graph = estimate_cost(g, plan.arena_bytes, mcu, budget_for(mcu));
  EXPECT_EQ(from_graph.flash_bytes, estimate_cost(a, mcu, budget_for(mcu)).flash_bytes);
}

TEST(CostModelTest, JsonHasTheDocumentedKeys) {
  const McuTarget mcu = simple_mcu();
  const auto j = cost_to_json(estimate_cost(tiny_arch(), mcu, budget_for(mcu)));
  for (const char* k : {"macs", "params", "flash_bytes", "peak_sram_bytes", "latency_ms", "fits"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["macs"], 370336);
  EXPECT_EQ(j["fits"], true);
}

// ---- Patch-based inference --------------------------------------------------

ArchSpec tiny_patched() {
  ArchSpec a = tiny_arch();
  a.patch = {2, 1};  // 2x2 patches through b1: 4 x 7 patch ops, 21 of them later patches'
  return a;
}

TEST(CostModelPatchTest, HandCheckedFigures) {
  const McuTarget mcu = simple_mcu();
  const CostReport plain = estimate_cost(tiny_arch(), mcu, budget_for(mcu));
  const CostReport c = estimate_cost(tiny_patched(), mcu, budget_for(mcu));
  // MACs: the overlap adds 74400 (lower_test's hand count).
  EXPECT_EQ(c.macs, 370336 + 74400);
  EXPECT_EQ(c.layer_by_layer_macs, 370336);
  EXPECT_DOUBLE_EQ(c.patch_mac_overhead, 100.0 * 74400 / 370336);
  EXPECT_EQ(c.patch, (PatchSpec{2, 1}));
  EXPECT_EQ(plain.patch_mac_overhead, 0);
  EXPECT_EQ(plain.layer_by_layer_macs, plain.macs);
  // Weights, biases and requantisation once per layer, not per patch.
  EXPECT_EQ(c.weight_bytes, plain.weight_bytes);
  EXPECT_EQ(c.bias_bytes, plain.bias_bytes);
  EXPECT_EQ(c.requant_bytes, plain.requant_bytes);
  EXPECT_EQ(c.params, plain.params);
  EXPECT_EQ(c.deployed_params, plain.deployed_params);
  // Code: per layer once (13 layers), plus a table row per later patch's op.
  EXPECT_EQ(c.code_bytes, plain.code_bytes + 21 * kPatchOpParamBytes);
  EXPECT_EQ(c.flash_bytes, plain.flash_bytes + 21 * kPatchOpParamBytes);
  // SRAM: the planner's arena (memory_planner_test's hand count is its lower bound).
  const OpGraph g = lower(tiny_patched());
  EXPECT_EQ(c.arena_bytes, plan_memory(g).arena_bytes);
  EXPECT_LT(c.arena_bytes, plain.arena_bytes);
  // Latency: pointwise MACs with the overlap (b0's pw and b1's expand on 361
  // pixels instead of 256), and five adds (b0's, once per patch, and b2's).
  const int64_t pw_macs = 361 * 8 * 8 + 361 * 8 * 24 + 8 * 8 * 24 * 16 + 2 * 8 * 8 * 16 * 64;
  EXPECT_DOUBLE_EQ(c.cycles, 2.0 * pw_macs + 5 * 1000);
}

TEST(CostModelPatchTest, LatencyFeaturesOfAPatchOpAreItsWindowAndTile) {
  McuTarget mcu = simple_mcu();
  mcu.dsp = true;
  const OpGraph g = lower(tiny_patched());
  // Patch 3's b0 add: a 10x10x8 tile of both operands.
  const OpLatencyFeatures add = latency_features(g, g.ops[24], mcu);
  EXPECT_EQ(add.inputs, 2 * 10 * 10 * 8);
  EXPECT_EQ(add.outputs, 10 * 10 * 8);
  // Patch 3's conv: its 23x23x3 window of the image, an 11x11x8 tile.
  const OpLatencyFeatures conv = latency_features(g, g.ops[21], mcu);
  EXPECT_EQ(conv.inputs, 23 * 23 * 3);
  EXPECT_EQ(conv.outputs, 11 * 11 * 8);
  EXPECT_EQ(conv.channels, 8);
  EXPECT_EQ(conv.macs, 11 * 11 * 8 * 27);
}

TEST(CostModelPatchTest, JsonAndTextStateTheSetting) {
  const McuTarget mcu = simple_mcu();
  const CostReport c = estimate_cost(tiny_patched(), mcu, budget_for(mcu));
  const auto j = cost_to_json(c);
  EXPECT_EQ(j["patch"], (nlohmann::json{{"patches", 2}, {"split_block", 1}}));
  EXPECT_EQ(j["layer_by_layer_macs"], 370336);
  EXPECT_DOUBLE_EQ(j["patch_mac_overhead"].get<double>(), 100.0 * 74400 / 370336);
  EXPECT_TRUE(cost_to_json(estimate_cost(tiny_arch(), mcu, budget_for(mcu)))["patch"].is_null());
  const std::string text = format_cost(c, mcu, budget_for(mcu));
  EXPECT_NE(text.find("2x2 patches through block 1: +20.1% MACs over layer by layer (0.37M)"),
            std::string::npos)
      << text;
}

TEST(CostModelPatchTest, ChoosePatchFindsTheLowestPeakWithinTheOverhead) {
  const McuTarget mcu = load_mcu("f746");
  const ArchSpec vww1 = load_arch(test_nets::zoo_path("mcunet-vww1"));
  const Budget budget = budget_for(mcu);
  const CostReport plain = estimate_cost(vww1, mcu, budget);
  // Within 15%: 4x4 patches through block 1 (91684 -> 34888 B, +4.4% MACs).
  const PatchChoice best = choose_patch(vww1, mcu, budget, 15.0);
  EXPECT_EQ(best.patch, (PatchSpec{4, 1}));
  EXPECT_EQ(best.cost.arena_bytes, 34888);
  EXPECT_LT(best.cost.patch_mac_overhead, 15.0);
  EXPECT_GT(best.candidates, 5);
  // Every candidate it could have taken is no better.
  ArchSpec a = vww1;
  for (int32_t n = 2; n <= 4; ++n) {
    for (int32_t block = 0; block < a.num_blocks(); ++block) {
      a.patch = {n, block};
      if (!patch_problem(a).empty()) continue;
      const CostReport c = estimate_cost(a, mcu, budget);
      if (c.patch_mac_overhead <= 15.0) EXPECT_GE(c.arena_bytes, best.cost.arena_bytes);
    }
  }
  std::printf("mcunet-vww1 on f746: layer by layer %lld B arena, %.2fM MACs; --patch auto: %dx%d:%d, "
              "%lld B arena, %.2fM MACs (+%.1f%%), flash %lld -> %lld B, %.1f -> %.1f ms\n",
              static_cast<long long>(plain.arena_bytes), plain.macs / 1e6, best.patch.n,
              best.patch.n, best.patch.split_block, static_cast<long long>(best.cost.arena_bytes),
              best.cost.macs / 1e6, best.cost.patch_mac_overhead,
              static_cast<long long>(plain.flash_bytes), static_cast<long long>(best.cost.flash_bytes),
              plain.latency_ms, best.cost.latency_ms);
  // A tight limit takes the best setting within it, or none.
  const PatchChoice tight = choose_patch(vww1, mcu, budget, 1.0);
  EXPECT_LE(tight.cost.patch_mac_overhead, 1.0);
  EXPECT_LT(tight.cost.arena_bytes, plain.arena_bytes);
  const PatchChoice none = choose_patch(vww1, mcu, budget, 0.0);
  EXPECT_FALSE(none.patch.enabled());
  EXPECT_EQ(none.cost.arena_bytes, plain.arena_bytes);
  // The architecture's own setting does not matter.
  a.patch = {2, 0};
  EXPECT_EQ(choose_patch(a, mcu, budget, 15.0).patch, best.patch);
}

TEST(CostModelPatchTest, SweepCostsEveryValidSettingAndMarksTheParetoFront) {
  const McuTarget mcu = load_mcu("f746");
  const Budget budget = budget_for(mcu);
  for (const char* net : {"mcunet-vww1", "mcunet-in2"}) {
    const ArchSpec arch = load_arch(test_nets::zoo_path(net));
    const PatchSweep sweep = patch_sweep(arch, mcu, budget);
    EXPECT_EQ(sweep.layer_by_layer.arena_bytes, estimate_cost(arch, mcu, budget).arena_bytes) << net;
    // Every setting is either a row or refused, and each row is what
    // estimate_cost says for that setting.
    EXPECT_EQ(static_cast<int32_t>(sweep.rows.size()) + sweep.refused, 7 * arch.num_blocks()) << net;
    ArchSpec a = arch;
    size_t next = 0;
    for (int32_t n = 2; n <= 8; ++n) {
      for (int32_t block = 0; block < arch.num_blocks(); ++block) {
        a.patch = {n, block};
        if (!patch_problem(a).empty()) continue;
        ASSERT_LT(next, sweep.rows.size()) << net;
        const PatchSweepRow& r = sweep.rows[next++];
        EXPECT_EQ(r.patch, a.patch) << net;
        EXPECT_EQ(r.cost.arena_bytes, estimate_cost(a, mcu, budget).arena_bytes) << net;
      }
    }
    EXPECT_EQ(next, sweep.rows.size()) << net;
    // Pareto: exactly the rows no other setting beats on arena and MACs.
    int32_t front = 0;
    for (const PatchSweepRow& r : sweep.rows) {
      bool beaten = sweep.layer_by_layer.arena_bytes <= r.cost.arena_bytes &&
                    sweep.layer_by_layer.macs <= r.cost.macs;
      for (const PatchSweepRow& o : sweep.rows) {
        if (&o == &r) continue;
        beaten = beaten || (o.cost.arena_bytes <= r.cost.arena_bytes && o.cost.macs <= r.cost.macs &&
                            (o.cost.arena_bytes < r.cost.arena_bytes || o.cost.macs < r.cost.macs));
      }
      EXPECT_EQ(r.pareto, !beaten) << net << " " << r.patch.n << "x" << r.patch.split_block;
      front += r.pareto ? 1 : 0;
    }
    EXPECT_GT(front, 0) << net;
    // The lowest arena is no higher than what --patch auto finds.
    const int32_t low = sweep.lowest_arena();
    ASSERT_GE(low, 0) << net;
    EXPECT_LE(sweep.rows[low].cost.arena_bytes, choose_patch(arch, mcu, budget, 15.0).cost.arena_bytes)
        << net;
    for (const PatchSweepRow& r : sweep.rows) EXPECT_GE(r.cost.arena_bytes, sweep.rows[low].cost.arena_bytes);
  }
  // mcunet-in2 cannot reach half its layer-by-layer arena with any setting:
  // its receptive field refuses every split after block 5, and the peak is
  // beyond the splits it allows (the 0.5x target of issue 11 is the network's
  // limit, not the code generator's).
  const ArchSpec in2 = load_arch(test_nets::zoo_path("mcunet-in2"));
  const PatchSweep sweep = patch_sweep(in2, mcu, budget);
  const PatchSweepRow& best = sweep.rows[sweep.lowest_arena()];
  EXPECT_GT(2 * best.cost.arena_bytes, sweep.layer_by_layer.arena_bytes);
  for (const PatchSweepRow& r : sweep.rows) EXPECT_LE(r.patch.split_block, 5);
}

TEST(CostModelPatchTest, ZooArenasWithPatches) {
  // The zoo under --patch auto (15%): never worse than layer by layer.
  const McuTarget mcu = load_mcu("f746");
  for (const char* net : {"mcunet-in0", "mcunet-in1", "mcunet-in2", "mcunet-in3", "mcunet-in4",
                          "mcunet-vww0", "mcunet-vww1", "mcunet-vww2"}) {
    const ArchSpec a = load_arch(test_nets::zoo_path(net));
    const CostReport plain = estimate_cost(a, mcu, budget_for(mcu));
    const PatchChoice best = choose_patch(a, mcu, budget_for(mcu), 15.0);
    EXPECT_LE(best.cost.arena_bytes, plain.arena_bytes) << net;
    EXPECT_LE(best.cost.patch_mac_overhead, 15.0) << net;
    std::printf("%-12s arena %7lld -> %7lld B (%s), MACs +%.1f%%\n", net,
                static_cast<long long>(plain.arena_bytes), static_cast<long long>(best.cost.arena_bytes),
                patch_setting(best.patch).c_str(),
                best.cost.patch_mac_overhead);
  }
}

}  // namespace
}  // namespace tinynas
