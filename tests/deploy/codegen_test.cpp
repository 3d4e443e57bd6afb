// The code generator: readable output that follows the plan, deterministic
// bytes, a checked-in example that must match what the generator writes now,
// and generated C that, compiled for the host with the runtime, gives exactly
// the host reference interpreter's outputs.
#include "deploy/codegen.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/io.h"
#include "deploy/deploy.h"
#include "tests/test_util.h"

namespace tinynas::deploy {
namespace {

namespace fs = std::filesystem;

QuantizedModel tiny_quantized(uint64_t seed) {
  const ArchSpec arch = test_nets::tiny_arch();
  const FloatModel fm = random_float_model(arch, seed);
  return quantize(fm, synthetic_images(arch, 4, seed));
}

TEST(CodegenTest, FollowsThePlan) {
  const QuantizedModel q = tiny_quantized(1);
  const MemoryPlan plan = plan_memory(q.graph);
  const GeneratedModel gen = generate_c(q, plan, {"tiny test network"});
  EXPECT_EQ(gen.arena_bytes, plan.arena_bytes);
  EXPECT_NE(gen.model_h.find("#define TN_MODEL_ARENA_BYTES " + std::to_string(plan.arena_bytes)),
            std::string::npos);
  EXPECT_NE(gen.model_c.find("code generator version " + std::to_string(kGeneratorVersion)),
            std::string::npos);
  EXPECT_NE(gen.model_c.find("tiny test network"), std::string::npos);
  // One named parameter struct per layer, designated initialisers.
  for (size_t i = 0; i < q.graph.ops.size(); ++i)
    EXPECT_NE(gen.model_c.find(" tn_op" + std::to_string(i) + " = {"), std::string::npos) << i;
  EXPECT_NE(gen.model_c.find(".kernel = 5,"), std::string::npos);
  // In place exactly where the plan says: ops 5 and 8 (depthwise after an
  // expansion), not op 1 (its input feeds the residual add).
  EXPECT_NE(gen.model_c.find("tn_depthwise_inplace_s8(&tn_op5"), std::string::npos);
  EXPECT_NE(gen.model_c.find("tn_depthwise_inplace_s8(&tn_op8"), std::string::npos);
  EXPECT_NE(gen.model_c.find("tn_depthwise_s8(&tn_op1"), std::string::npos);
  // Every arena offset is commented with its buffer and live range.
  const int32_t t = q.graph.ops[4].output;
  EXPECT_NE(gen.model_c.find("arena " + std::to_string(plan.tensor_offset[t]) + ".." +
                             std::to_string(plan.tensor_offset[t] + q.graph.tensors[t].bytes)),
            std::string::npos);
  // Weights are const (flash) and aligned; the stem's 8 rows of 27 padded to
  // 28 (tn_conv2d_depth), as deployed_weight_bytes counts them.
  EXPECT_NE(gen.weights_c.find("const int8_t tn_op0_weights[224] __attribute__((aligned(4)))"),
            std::string::npos);
  EXPECT_EQ(deployed_weight_bytes(q.graph.ops[0]), 224);
  EXPECT_EQ(gen.kernels_used.size(), 6u);
}

// Pointwise kernels learn the model's one scratch size where it holds three
// pixels' columns (6 * in.c bytes), so the Arm asm takes three pixels per
// pass there; elsewhere the field stays out (0: get_buffer_size's 4 * in.c).
TEST(CodegenTest, PointwiseParamsCarryTheScratchSizeWhereThreePixelsFit) {
  const QuantizedModel q = tiny_quantized(1);
  MemoryPlan plan = plan_memory(q.graph);
  int64_t max_in_c = 0;
  for (const Op& op : q.graph.ops)
    if (op.kind == OpKind::kPointwiseConv2d)
      max_in_c = std::max<int64_t>(max_in_c, q.graph.tensors[op.input].shape.c);
  int pointwise = 0;
  // The planned size, then either side of the widest layer's bound.
  for (const int64_t scratch : {plan.scratch_bytes, 6 * max_in_c, 6 * max_in_c - 1}) {
    plan.scratch_bytes = scratch;
    const GeneratedModel gen = generate_c(q, plan, {"tiny test network"});
    for (size_t i = 0; i < q.graph.ops.size(); ++i) {
      const Op& op = q.graph.ops[i];
      if (op.kind != OpKind::kPointwiseConv2d) continue;
      ++pointwise;
      const size_t at = gen.model_c.find(" tn_op" + std::to_string(i) + " = {");
      ASSERT_NE(at, std::string::npos) << i;
      const std::string params = gen.model_c.substr(at, gen.model_c.find("\n};", at) - at);
      const int64_t in_c = q.graph.tensors[op.input].shape.c;
      const bool fits = scratch >= 6 * in_c;
      EXPECT_EQ(params.find(".scratch_bytes = " + std::to_string(scratch) + ",") != std::string::npos,
                fits)
          << "op " << i << " in.c " << in_c << " scratch " << scratch << "\n" << params;
      if (!fits) EXPECT_EQ(params.find(".scratch_bytes"), std::string::npos) << params;
    }
  }
  EXPECT_GT(pointwise, 0);
}

TEST(CodegenTest, DeterministicBytes) {
  const QuantizedModel q = tiny_quantized(3);
  const MemoryPlan plan = plan_memory(q.graph);
  const GeneratedModel a = generate_c(q, plan), b = generate_c(q, plan);
  EXPECT_EQ(a.model_c, b.model_c);
  EXPECT_EQ(a.weights_c, b.weights_c);
}

TEST(CodegenTest, RefusesAnUnsoundPlan) {
  const QuantizedModel q = tiny_quantized(1);
  MemoryPlan plan = plan_memory(q.graph);
  plan.tensor_offset[q.graph.ops[10].input2] = plan.tensor_offset[q.graph.ops[7].output];
  const std::string msg = test_nets::error_of([&] { generate_c(q, plan); });
  EXPECT_NE(msg.find("unsound memory plan"), std::string::npos) << msg;
}

// The checked-in example (deploy/examples/tiny, regenerated by
// scripts/regen-examples) must be what the generator writes today.
TEST(CodegenTest, CheckedInExampleIsCurrent) {
  const fs::path dir = fs::path(TINYNAS_SOURCE_DIR) / "deploy/examples/tiny";
  const GeneratedModel gen = generate_c(tiny_quantized(0), plan_memory(tiny_quantized(0).graph),
                                        {"example: tests/test_util.h tiny_arch, random weights seed 0"});
  const std::pair<const char*, const std::string*> files[] = {
      {"model.h", &gen.model_h}, {"model.c", &gen.model_c},
      {"weights.h", &gen.weights_h}, {"weights.c", &gen.weights_c}};
  // scripts/regen-examples sets TINYNAS_REGEN_EXAMPLES=1 to write them.
  const char* regen = std::getenv("TINYNAS_REGEN_EXAMPLES");
  for (const auto& [name, text] : files) {
    if (regen != nullptr && std::string(regen) == "1") {
      write_file_atomic((dir / name).string(), *text);
      continue;
    }
    EXPECT_EQ(read_file((dir / name).string()), *text)
        << name << " differs from the generator's output: run scripts/regen-examples";
  }
}

// Compiles the generated model with the runtime for the host (with `cflags`:
// -DTN_EMULATE_DSP for the DSP path) and runs it on three images; every
// output must be the reference interpreter's.
void expect_host_run_matches_reference(const QuantizedModel& q, const std::string& cflags,
                                       const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("tinynas_codegen_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  const GeneratedModel gen = generate_c(q, plan_memory(q.graph));
  write_generated(gen, dir.string());
  const auto images = synthetic_images(q.arch, 3, 11);
  std::string inputs;
  for (const auto& img : images) {
    const auto x = quantize_input(q, img);
    inputs.append(reinterpret_cast<const char*>(x.data()), x.size());
  }
  write_file_atomic((dir / "inputs.bin").string(), inputs);
  write_file_atomic((dir / "main.c").string(), R"(#include <stdio.h>
#include "model.h"
int main(void) {
  static int8_t in[TN_MODEL_INPUT_BYTES], out[TN_MODEL_OUTPUT_BYTES];
  FILE* f = fopen("inputs.bin", "rb");
  while (fread(in, 1, sizeof in, f) == sizeof in) {
    if (tn_model_run(in, out) != TN_OK) return 2;
    fwrite(out, 1, sizeof out, stdout);
  }
  return 0;
}
)");
  const std::string runtime = std::string(TINYNAS_SOURCE_DIR) + "/deploy/runtime";
  const std::string cmd = "cd " + dir.string() + " && cc -std=c99 -O1 -Wall -Wextra -Werror " + cflags + " -I. -I" +
                          runtime + "/include main.c model.c weights.c " + runtime +
                          "/src/*.c -o model_host 2> cc.log && ./model_host > outputs.bin";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file((dir / "cc.log").string());
  const std::string outputs = read_file((dir / "outputs.bin").string());
  ASSERT_EQ(outputs.size(), images.size() * static_cast<size_t>(q.arch.num_classes));
  for (size_t i = 0; i < images.size(); ++i) {
    const auto expected = run_reference(q, quantize_input(q, images[i]));
    for (int c = 0; c < q.arch.num_classes; ++c)
      EXPECT_EQ(static_cast<int8_t>(outputs[i * q.arch.num_classes + c]), expected[c])
          << name << ": image " << i << " class " << c;
  }
  fs::remove_all(dir);
}

TEST(CodegenTest, GeneratedCodeMatchesTheReferenceInterpreterOnTheHost) {
  expect_host_run_matches_reference(tiny_quantized(5), "", "layers");
}

// Patch-based inference (core/op_graph.h): the generated code runs the patch
// stage patch by patch over the same kernels, and must give the layer-by-layer
// network's outputs bit for bit, on the portable and the DSP code paths.
// tiny_arch's blocks end at 16x16 (block 0, residual) and 8x8 (block 1,
// stride 2): through block 0 the residual add writes its tile into the
// assembled map, through block 1 the projection does (and block 0's add
// reads its tile of a larger window, in place over the projection's).
TEST(CodegenTest, PatchedCodeMatchesTheLayerByLayerReferenceOnTheHost) {
  const QuantizedModel layers = tiny_quantized(5);
  for (const PatchSpec patch : {PatchSpec{2, 0}, PatchSpec{4, 0}, PatchSpec{2, 1}}) {
    const QuantizedModel q = with_patches(layers, patch);
    ASSERT_TRUE(q.graph.patch.enabled());
    ASSERT_GT(q.graph.patch_ops, 0);
    const std::string name = std::to_string(patch.n) + "x" + std::to_string(patch.n) + "_" +
                             std::to_string(patch.split_block);
    // The reference answers with the layer-by-layer network.
    const auto image = quantize_input(q, synthetic_images(q.arch, 1, 11)[0]);
    EXPECT_EQ(run_reference(q, image), run_reference(layers, image)) << name;
    expect_host_run_matches_reference(q, "", name);
    expect_host_run_matches_reference(q, "-DTN_EMULATE_DSP", name + "_dsp");
  }
}

TEST(CodegenTest, PatchedCodeSharesWeightsAndFollowsThePlan) {
  const QuantizedModel layers = tiny_quantized(1);
  const QuantizedModel q = with_patches(layers, PatchSpec{2, 1});
  const OpGraph& g = q.graph;
  const MemoryPlan plan = plan_memory(g);
  const GeneratedModel gen = generate_c(q, plan);
  EXPECT_EQ(gen.arena_bytes, plan.arena_bytes);
  // The arena is the planner's and smaller than layer by layer.
  EXPECT_LT(plan.arena_bytes, plan_memory(layers.graph).arena_bytes);
  int32_t owners = 0;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const std::string n = "tn_op" + std::to_string(i);
    EXPECT_NE(gen.model_c.find(" " + n + " = {"), std::string::npos) << i;
    const bool weights = op.kind != OpKind::kAdd && op.kind != OpKind::kAvgPool;
    if (!weights) continue;
    // Weights once per layer: a later patch's op names its patch-0 op's arrays.
    const bool owner = op.first_patch_op < 0;
    owners += owner;
    EXPECT_EQ(gen.weights_c.find(" " + n + "_weights[") != std::string::npos, owner) << i;
  }
  EXPECT_EQ(owners, static_cast<int32_t>(std::count_if(
                        layers.graph.ops.begin(), layers.graph.ops.end(),
                        [](const Op& op) { return op.kind != OpKind::kAdd && op.kind != OpKind::kAvgPool; })));
  // The first conv's tiles are placed in the whole image, the depthwise pads
  // per side, and the last patch op writes into the assembled map by rows.
  EXPECT_NE(gen.model_c.find(".out_y0 = "), std::string::npos);
  EXPECT_NE(gen.model_c.find(".pad_top = "), std::string::npos);
  EXPECT_NE(gen.model_c.find(".out_row_stride = "), std::string::npos);
  EXPECT_NE(gen.model_c.find("The patch stage: 2x2 patches"), std::string::npos);
}

}  // namespace
}  // namespace tinynas::deploy
