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

TEST(CostModelTest, OnlyUsedKernelsCountAndWeightsAreAligned) {
  McuTarget mcu = simple_mcu();
  ArchSpec a = tiny_arch();
  a.stages[0].blocks[0].residual = false;
  a.stages[1].blocks[1].residual = false;  // no add ops left
  a.num_classes = 3;                       // fc weights 16 x 3 = 48
  a.stages[1].blocks[0].kernel = 3;        // dw weights 24 x 9 = 216
  const CostReport c = estimate_cost(a, mcu, budget_for(mcu));
  EXPECT_EQ(c.code_bytes, 1000 + 11 * 5 + 10 * (1 + 2 + 3 + 5 + 6));
  a.num_classes = 5;  // 80 weights: aligned stays 80; 9 classes: 144
  a.first_conv.out_channels = 8;
  EXPECT_EQ(estimate_cost(a, mcu, budget_for(mcu)).weight_bytes % 4, 0);
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
