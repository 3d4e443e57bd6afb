// deploy's steps without a toolchain or a board: prepare_deploy on an
// in-memory architecture, report_deploy on a made-up firmware and board run
// (a board that counts cycles, which CI's QEMU never does), and the
// report.json keys deploy_report_to_json gives them.
#include <gtest/gtest.h>

#include "core/arch_io.h"
#include "deploy/deploy.h"
#include "tests/test_util.h"

namespace tinynas::deploy {
namespace {

using nlohmann::json;

DeployOptions tiny_options() {
  DeployOptions o;
  o.arch_path = "tiny";
  o.arch = test_nets::tiny_arch();
  o.mcu = "f412";
  o.random_weights = true;
  o.seed = 5;
  o.eval_count = 3;
  return o;
}

TEST(DeployStepsTest, PrepareTakesAnArchitectureInMemory) {
  const PreparedModel p = prepare_deploy(tiny_options());
  EXPECT_EQ(p.arch_name, "tiny");
  EXPECT_EQ(p.arch, test_nets::tiny_arch());
  EXPECT_EQ(p.mcu.name, "f412");
  EXPECT_EQ(p.inputs.size(), 3u);
  EXPECT_EQ(p.images.size(), 3u);
  EXPECT_TRUE(p.labels.empty());
  EXPECT_FALSE(p.eval_dataset);
  EXPECT_FALSE(p.inputs_from_host);
  EXPECT_EQ(p.test_inputs_flash_bytes,
            3 * p.model.graph.tensors[static_cast<size_t>(p.model.graph.input)].bytes);
  EXPECT_EQ(p.code.arena_bytes, p.plan.arena_bytes);
  EXPECT_EQ(p.weights, "random weights (seed 5)");
  EXPECT_FALSE(p.checkpoint);

  DeployOptions bad = tiny_options();
  bad.run = "jtag";
  EXPECT_NE(test_nets::error_of([&] { prepare_deploy(bad); }).find("--run"), std::string::npos);
}

// A patched architecture: the same int8 layers as without patches (the same
// seed gives the same weights and ranges), run patch by patch; the arena is
// the cost model's, the report names the setting.
TEST(DeployStepsTest, PrepareRunsAPatchedArchitecturePatchByPatch) {
  DeployOptions o = tiny_options();
  const PreparedModel layers = prepare_deploy(o);
  ArchSpec arch = test_nets::tiny_arch();
  arch.patch = {2, 1};
  o.arch = arch;
  const PreparedModel p = prepare_deploy(o);
  EXPECT_EQ(p.model.graph.patch, arch.patch);
  EXPECT_GT(p.model.graph.patch_ops, 0);
  EXPECT_EQ(p.plan.arena_bytes, p.predicted.arena_bytes);
  EXPECT_EQ(p.code.arena_bytes, p.predicted.arena_bytes);
  EXPECT_LT(p.plan.arena_bytes, layers.plan.arena_bytes);
  ASSERT_EQ(p.inputs, layers.inputs);
  for (const auto& in : p.inputs) EXPECT_EQ(run_reference(p.model, in), run_reference(layers.model, in));
  FirmwareResult fw;
  DeployRun run;
  run.backend = "none";
  for (const auto& in : p.inputs) {
    run.host_outputs.push_back(run_reference(p.model, in));
    run.float_classes.push_back(0);
  }
  const nlohmann::json j = deploy_report_to_json(report_deploy(p, fw, run));
  EXPECT_EQ(j["patch"], (nlohmann::json{{"patches", 2}, {"split_block", 1}}));
  const nlohmann::json plain = deploy_report_to_json(report_deploy(layers, fw, run));
  EXPECT_TRUE(plain["patch"].is_null());

  arch.patch = {4, 1};  // 8 input pixels per patch, under block 1's receptive field
  o.arch = arch;
  EXPECT_NE(test_nets::error_of([&] { prepare_deploy(o); }).find("receptive field"), std::string::npos);
}

TEST(DeployStepsTest, ReportOfABoardThatCountsCycles) {
  const PreparedModel p = prepare_deploy(tiny_options());
  FirmwareResult fw;
  fw.flash_bytes = 50000 + p.test_inputs_flash_bytes;
  fw.sram_bytes = 9000;
  fw.has_arena = false;

  DeployRun run;
  run.backend = "pyocd";
  for (const auto& in : p.inputs) run.host_outputs.push_back(run_reference(p.model, in));
  run.float_classes.assign(p.inputs.size(), 0);
  BoardResult br;
  br.unit = "cycles";
  br.counter_source = "dwt";
  for (int i = 0; i < 3; ++i) {
    BoardResult::Run r;
    r.index = i;
    r.output = run.host_outputs[static_cast<size_t>(i)];
    r.measured = 1000.0 * (i + 1);
    br.runs.push_back(r);
  }
  br.runs[1].output[0] ^= 1;  // one wrong answer
  for (size_t i = 0; i < p.model.graph.ops.size(); ++i) br.op_measured.push_back(10.0 + static_cast<double>(i));
  run.board = br;

  const DeployReport r = report_deploy(p, fw, run);
  EXPECT_EQ(r.flash_bytes, 50000);
  EXPECT_FALSE(r.elf_arena_bytes);
  EXPECT_FALSE(r.arena_matches_prediction);
  EXPECT_EQ(r.inputs, 3);
  EXPECT_FALSE(r.float_top1);  // no labels
  EXPECT_FALSE(r.int8_top1);
  ASSERT_TRUE(r.board);
  EXPECT_EQ(r.board->mismatches, 1);
  EXPECT_FALSE(r.board->bit_exact);
  EXPECT_DOUBLE_EQ(r.board->per_inference, 2000.0);
  ASSERT_TRUE(r.board->latency_ms);
  EXPECT_DOUBLE_EQ(*r.board->latency_ms, 2000.0 / static_cast<double>(p.mcu.clock_hz) * 1e3);
  EXPECT_DOUBLE_EQ(r.board->macs_per_count, static_cast<double>(r.macs) / 2000.0);
  ASSERT_EQ(r.board->ops.size(), p.model.graph.ops.size());
  EXPECT_EQ(r.board->ops[1].kind, p.model.graph.ops[1].kind);
  EXPECT_EQ(r.board->ops[1].measured, 11.0);

  const json j = deploy_report_to_json(r);
  EXPECT_EQ(j["arch"], "tiny");
  EXPECT_EQ(j["arch_spec"], arch_to_json(test_nets::tiny_arch()));
  EXPECT_EQ(j["run"], "pyocd");
  EXPECT_EQ(j["elf_arena_bytes"], -1);
  EXPECT_EQ(j["inputs_source"], "inputs.c (flash)");
  EXPECT_TRUE(j["eval_dataset"].is_null());
  EXPECT_TRUE(j["int8_top1"].is_null());
  EXPECT_FALSE(j.contains("checkpoint"));
  EXPECT_EQ(j["cycles"], 2000.0);
  EXPECT_FALSE(j.contains("instructions"));
  EXPECT_EQ(j["counter_source"], "dwt");
  EXPECT_TRUE(j.contains("latency_ms"));
  EXPECT_TRUE(j.contains("macs_per_cycle"));
  EXPECT_FALSE(j.contains("macs_per_instruction"));
  EXPECT_EQ(j["bit_exact"], false);
  EXPECT_EQ(j["mismatches"], 1);
  ASSERT_EQ(j["ops"].size(), p.model.graph.ops.size());
  EXPECT_EQ(j["ops"][1]["cycles"], 11.0);
  EXPECT_EQ(j["ops"][1]["kind"], op_kind_name(p.model.graph.ops[1].kind));

  // Nothing ran: no board figures, no board keys.
  run.board.reset();
  run.backend = "none";
  const json none = deploy_report_to_json(report_deploy(p, fw, run));
  for (const char* key : {"bit_exact", "mismatches", "cycles", "instructions", "ops", "counter_source"})
    EXPECT_FALSE(none.contains(key)) << key;
  EXPECT_EQ(none["run"], "none");
}

}  // namespace
}  // namespace tinynas::deploy
