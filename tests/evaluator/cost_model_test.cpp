#include "evaluator/cost_model.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(c.weight_bytes, 4312);
  EXPECT_EQ(c.bias_bytes, 4 * 242);     // int32 per output channel (232 conv + 10 fc)
  EXPECT_EQ(c.requant_bytes, 8 * 242);  // int32 multiplier + shift per channel
  EXPECT_EQ(c.code_bytes, 1000 + 13 * 5 + 10 * (1 + 2 + 3 + 4 + 5 + 6));
  EXPECT_EQ(c.flash_bytes, 4312 + 968 + 1936 + 1275);
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
  // padded to 4 bytes:
  //   conv 3x3x3 -> 9        243 -> 244
  //   b0 dw 3x3 x 9           81 ->  84   project 9 -> 9     81 ->  84
  //   b1 expand 9 -> 27      243 -> 244   dw 5x5 x 27       675 -> 676
  //      project 27 -> 15    405 -> 408
  //   b2 expand 15 -> 60     900          dw 3x3 x 60       540
  //      project 60 -> 15    900
  //   fc 15 -> 9             135 -> 136
  // Sum 4216; unpadded 4203, and padding only the total would give 4204.
  const McuTarget mcu = simple_mcu();
  ArchSpec a = tiny_arch();
  a.first_conv.out_channels = 9;
  a.stages[0].blocks[0] = BlockSpec{3, 1, 9, 9, 1, true};
  a.stages[1].blocks[0] = BlockSpec{5, 3, 27, 15, 2, false};
  a.stages[1].blocks[1] = BlockSpec{3, 4, 60, 15, 1, true};
  a.num_classes = 9;
  ASSERT_NO_THROW(validate(a));
  const CostReport c = estimate_cost(a, mcu, budget_for(mcu));
  EXPECT_EQ(c.weight_bytes, 4216);
  // Output channels: 9 + 9 + 9 + 27 + 27 + 15 + 60 + 60 + 15 + 9 = 240.
  EXPECT_EQ(c.bias_bytes, 4 * 240);
  EXPECT_EQ(c.requant_bytes, 8 * 240);
  EXPECT_EQ(c.code_bytes, 1000 + 13 * 5 + 10 * (1 + 2 + 3 + 4 + 5 + 6));
  EXPECT_EQ(c.flash_bytes, 4216 + 960 + 1920 + 1275);
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

}  // namespace
}  // namespace tinynas
