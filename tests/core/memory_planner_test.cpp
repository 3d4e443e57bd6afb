#include "core/memory_planner.h"

#include <gtest/gtest.h>

#include "core/arch_io.h"
#include "core/search_space.h"
#include "tests/test_util.h"

namespace tinynas {
namespace {

using test_nets::tiny_arch;

TEST(MemoryPlannerTest, PrimitiveGreedyPacksByLifetime) {
  MemoryPlanner p;
  const int32_t a = p.add_buffer(100, 0, 1);  // sizes are aligned to 4
  const int32_t b = p.add_buffer(50, 1, 2);
  const int32_t c = p.add_buffer(80, 2, 3);  // may reuse a's bytes
  p.plan();
  EXPECT_EQ(p.offset_of(a), 0);
  EXPECT_EQ(p.offset_of(b), 100);
  EXPECT_EQ(p.offset_of(c), 0);
  EXPECT_EQ(p.size_of(b), 52);
  EXPECT_EQ(p.peak_bytes(), 152);

  MemoryPlanner naive(PlannerStrategy::kNaive);
  naive.add_buffer(100, 0, 1);
  naive.add_buffer(50, 1, 2);
  naive.add_buffer(80, 2, 3);
  naive.plan();
  EXPECT_EQ(naive.peak_bytes(), 100 + 52 + 80);
}

TEST(MemoryPlannerTest, SegmentsLetAShrinkingBufferShareItsTail) {
  MemoryPlanner p;
  // A stride-2 depthwise in place: 400 bytes until op 2, then 100 bytes.
  const int32_t chain = p.add_buffer(400, 0, 2);
  p.add_segment(chain, 100, 2, 5);
  const int32_t later = p.add_buffer(300, 3, 4);  // fits above the 100 left
  p.plan();
  EXPECT_EQ(p.offset_of(chain), 0);
  EXPECT_EQ(p.offset_of(later), 100);
  EXPECT_EQ(p.peak_bytes(), 400);
}

TEST(MemoryPlannerTest, TinyNetworkPlanIsSoundAndTight) {
  const OpGraph g = lower(tiny_arch());
  const MemoryPlan plan = plan_memory(g);
  EXPECT_EQ(check_plan(g, plan), "");
  // Hand-computed: the largest live set is op 4 (16x16x8 in, 16x16x24 out)
  // plus the 464-byte scratch of the 5x5 depthwise.
  EXPECT_EQ(plan.scratch_bytes, 464);
  EXPECT_EQ(plan.lower_bound_bytes, 2048 + 6144 + 464);
  EXPECT_EQ(plan.arena_bytes, plan.lower_bound_bytes);
  const MemoryPlan naive = plan_memory(g, PlannerStrategy::kNaive);
  EXPECT_EQ(check_plan(g, naive), "");
  EXPECT_EQ(naive.arena_bytes, 3072 + 2048 + 2048 + 2048 + 6144 + 1024 + 4096 + 1024 + 16 + 12 + 464);
}

TEST(MemoryPlannerTest, InPlaceRules) {
  const OpGraph g = lower(tiny_arch());
  const MemoryPlan plan = plan_memory(g);
  // op 1: depthwise whose input is still needed by the residual add -> not in place.
  EXPECT_FALSE(plan.op_in_place[1]);
  EXPECT_NE(plan.tensor_offset[g.ops[1].output], plan.tensor_offset[g.ops[1].input]);
  // op 5 and op 8: depthwise after an expansion -> in place.
  EXPECT_TRUE(plan.op_in_place[5]);
  EXPECT_EQ(plan.tensor_offset[g.ops[5].output], plan.tensor_offset[g.ops[5].input]);
  EXPECT_TRUE(plan.op_in_place[8]);
  // Residual adds write over the projection output.
  EXPECT_TRUE(plan.op_in_place[3]);
  EXPECT_EQ(plan.tensor_offset[g.ops[3].output], plan.tensor_offset[g.ops[3].input]);
  EXPECT_TRUE(plan.op_in_place[10]);
  // The residual input (block 2's input) is disjoint from everything the
  // block computes while it is alive.
  const int32_t skip = g.ops[10].input2;
  const int64_t s0 = plan.tensor_offset[skip], s1 = s0 + g.tensors[skip].bytes;
  for (int op = 7; op <= 9; ++op) {
    const int32_t t = g.ops[op].output;
    const int64_t t0 = plan.tensor_offset[t], t1 = t0 + g.tensors[t].bytes;
    EXPECT_TRUE(t1 <= s0 || s1 <= t0) << "op " << op << " overwrites the residual input";
  }
  EXPECT_FALSE(plan.op_in_place[0]);
  EXPECT_FALSE(plan.op_in_place[4]);
}

TEST(MemoryPlannerTest, WithoutInPlaceTheArenaGrows) {
  const OpGraph g = lower(load_arch(test_nets::zoo_path("mcunet-in2")));
  const MemoryPlan in_place = plan_memory(g);
  const MemoryPlan separate = plan_memory(g, PlannerStrategy::kGreedyBySize, false);
  EXPECT_EQ(check_plan(g, separate), "");
  for (uint8_t flag : separate.op_in_place) EXPECT_EQ(flag, 0);
  EXPECT_GT(separate.arena_bytes, in_place.arena_bytes * 14 / 10);
}

TEST(MemoryPlannerTest, CheckPlanCatchesOverlaps) {
  const OpGraph g = lower(tiny_arch());
  MemoryPlan plan = plan_memory(g);
  // Move the residual input onto the expansion output of block 2.
  plan.tensor_offset[g.ops[10].input2] = plan.tensor_offset[g.ops[7].output];
  EXPECT_NE(check_plan(g, plan).find("overlap"), std::string::npos);

  plan = plan_memory(g);
  plan.tensor_offset[g.ops[4].output] += 2;  // misaligned
  EXPECT_NE(check_plan(g, plan), "");

  plan = plan_memory(g);
  plan.arena_bytes -= 4;  // something now sticks out
  EXPECT_NE(check_plan(g, plan), "");
}

TEST(MemoryPlannerTest, RandomSubnetsOfTheSpaceAreSound) {
  const SearchSpace space = load_search_space("mcunet");
  Rng rng(7);
  OpGraph g;
  MemoryPlanner planner;
  MemoryPlan plan;
  for (int i = 0; i < 300; ++i) {
    const Genome genome = sample(space, rng);
    const ArchSpec arch = decode(space, genome);
    lower(arch, g);
    plan_memory(g, planner, plan);
    ASSERT_EQ(check_plan(g, plan), "") << "sample " << i;
    ASSERT_GE(plan.arena_bytes, plan.lower_bound_bytes);
    // The fast path computes the same arena.
    MemoryPlanner fast;
    ASSERT_EQ(plan_arena_bytes(g, fast), plan.arena_bytes);
    const MemoryPlan naive = plan_memory(g, PlannerStrategy::kNaive);
    ASSERT_LE(plan.arena_bytes, naive.arena_bytes);
  }
}

// Arena thresholds of the zoo networks, as TFLM's memory_arena_threshold_test:
// a change that makes any of them grow fails here and must be looked at.
TEST(MemoryPlannerTest, ZooArenasDoNotGrow) {
  const std::vector<std::pair<std::string, int64_t>> limits = {
      {"mcunet-in0", 48768},  {"mcunet-in1", 95044},  {"mcunet-in2", 212176},
      {"mcunet-in3", 256996}, {"mcunet-in4", 417316}, {"mcunet-vww0", 59264},
      {"mcunet-vww1", 91684}, {"mcunet-vww2", 171940}};
  for (const auto& [net, limit] : limits) {
    const OpGraph g = lower(load_arch(test_nets::zoo_path(net)));
    const MemoryPlan plan = plan_memory(g);
    EXPECT_EQ(check_plan(g, plan), "") << net;
    EXPECT_LE(plan.arena_bytes, limit) << net << " arena grew";
  }
}

TEST(MemoryPlannerTest, DumpShowsBuffersAndOffsets) {
  const OpGraph g = lower(tiny_arch());
  const MemoryPlan plan = plan_memory(g);
  const std::string dump = dump_plan(g, plan);
  EXPECT_NE(dump.find("arena 8656 B"), std::string::npos) << dump;
  EXPECT_NE(dump.find("[in place]"), std::string::npos);
  EXPECT_NE(dump.find("scratch"), std::string::npos);
  EXPECT_NE(dump.find("depthwise"), std::string::npos);
}

}  // namespace
}  // namespace tinynas
