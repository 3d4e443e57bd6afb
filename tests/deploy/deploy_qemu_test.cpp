// The whole deploy pipeline on the emulated boards: random subnets of the
// space and a zoo network, on a Cortex-M4 (f412, mps2-an386) and a Cortex-M7
// (f746, mps2-an500). Firmware outputs must equal the host reference on every
// input, the arena the firmware declares must be the cost model's to the
// byte, and flash within 5% of the prediction. (bench/bench_deploy runs more.)
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <filesystem>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/arch_io.h"
#include "core/error.h"
#include "core/io.h"
#include "core/search_space.h"
#include "deploy/deploy.h"
#include "evaluator/cost_model.h"
#include "tests/test_util.h"

namespace tinynas::deploy {
namespace {

namespace fs = std::filesystem;

bool tools_present() {
  for (const char* tool : {"arm-none-eabi-gcc", "qemu-system-arm"}) {
    const std::string cmd = std::string("command -v ") + tool + " > /dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return false;
  }
  return true;
}

class DeployQemuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tools_present()) GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm is not installed";
    dir_ = fs::temp_directory_path() / ("tinynas_deploy_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Deploys and checks the report's promises.
  DeployReport deploy_and_check(const std::string& arch_path, const std::string& mcu) {
    DeployOptions o;
    o.arch_path = arch_path;
    o.mcu = mcu;
    o.out_dir = (dir_ / "out").string();
    o.random_weights = true;
    o.seed = 3;
    o.eval_count = 2;
    const DeployReport r = deploy_model(o);
    const nlohmann::json j = deploy_report_to_json(r);
    EXPECT_EQ(j, nlohmann::json::parse(read_file((dir_ / "out" / "report.json").string())));
    EXPECT_TRUE(r.board && r.board->bit_exact) << arch_path << " on " << mcu;
    EXPECT_TRUE(r.arena_matches_prediction) << j.dump(2);
    EXPECT_EQ(r.elf_arena_bytes.value_or(-1), r.predicted.arena_bytes);
    EXPECT_EQ(j["elf_arena_bytes"], j["predicted"]["arena_bytes"]);
    EXPECT_GE(r.flash_vs_predicted, 0.95) << j.dump(2);
    EXPECT_LE(r.flash_vs_predicted, 1.05) << j.dump(2);
    EXPECT_LE(r.sram_bytes, r.predicted.peak_sram_bytes);
    if (r.board) {
      EXPECT_EQ(r.board->unit, "instructions");
      EXPECT_GT(r.board->per_inference, static_cast<double>(r.macs) / 4);
      EXPECT_EQ(j["instructions"], r.board->per_inference);
    }
    for (const char* f : {"report.json", "firmware.elf", "src/model.c", "src/weights.c", "src/model.h"})
      EXPECT_TRUE(fs::exists(dir_ / "out" / f)) << f;
    return r;
  }

  std::string small_subnet(uint64_t seed) {
    // Low resolutions keep the emulated runs short; every kernel/expand/stride
    // choice still occurs across the subnets.
    const SearchSpace space = restrict_space(load_search_space("mcunet"), 0.3, 48);
    Rng rng(seed);
    const ArchSpec a = decode(space, sample(space, rng));
    const std::string path = (dir_ / ("subnet" + std::to_string(seed) + ".json")).string();
    write_file_atomic(path, arch_to_json(a).dump(2));
    return path;
  }

  fs::path dir_;
};

TEST_F(DeployQemuTest, RandomSubnetsOnCortexM4) {
  for (uint64_t seed : {1, 2, 3}) deploy_and_check(small_subnet(seed), "f412");
}

TEST_F(DeployQemuTest, RandomSubnetOnCortexM7) { deploy_and_check(small_subnet(4), "f746"); }

TEST_F(DeployQemuTest, ZooNetworkVww1OnCortexM4) {
  const auto r = deploy_and_check(test_nets::zoo_path("mcunet-vww1"), "f412");
  EXPECT_EQ(r.macs, 11578816);
}

// Patch-based inference (MCUNetV2): the patch stage runs patch by patch in
// the generated code; the outputs must be the layer-by-layer network's bit
// for bit, and the arena the planner's prediction, now smaller.
class DeployPatchQemuTest : public DeployQemuTest {
 protected:
  // `arch_path` with `patch` written into a new JSON (auto: choose_patch's
  // pick for the MCU, which must patch); deploys it and checks as above.
  DeployReport deploy_patched(const std::string& arch_path, const std::string& mcu,
                              std::optional<PatchSpec> patch) {
    ArchSpec arch = load_arch(arch_path);
    const McuTarget target = load_mcu(mcu);
    arch.patch = patch ? *patch : choose_patch(arch, target, budget_for(target), 15.0).patch;
    EXPECT_TRUE(arch.patch.enabled());
    EXPECT_EQ(patch_problem(arch), "");
    const std::string path = (dir_ / "patched.json").string();
    write_file_atomic(path, arch_to_json(arch).dump(2));
    const DeployReport r = deploy_and_check(path, mcu);
    EXPECT_EQ(r.arch.patch, arch.patch);
    const nlohmann::json j = deploy_report_to_json(r);
    EXPECT_EQ(j["patch"]["patches"], arch.patch.n);
    EXPECT_EQ(j["patch"]["split_block"], arch.patch.split_block);
    // Smaller than the same network layer by layer.
    ArchSpec layers = arch;
    layers.patch = PatchSpec{};
    EXPECT_LT(r.arena_bytes, estimate_cost(layers, target, budget_for(target)).arena_bytes);
    EXPECT_EQ(r.macs, lower(arch).total_macs());
    return r;
  }

  // The first small subnet from `seed` on whose arena patches pay off on
  // `mcu` (choose_patch, up to +50% MACs), with that setting.
  std::string small_patched_subnet(uint64_t seed, const std::string& mcu) {
    const McuTarget target = load_mcu(mcu);
    for (uint64_t s = seed; s < seed + 40; ++s) {
      ArchSpec a = load_arch(small_subnet(s));
      a.patch = choose_patch(a, target, budget_for(target), 50.0).patch;
      if (!a.patch.enabled()) continue;
      const std::string path = (dir_ / ("patched_subnet" + std::to_string(s) + ".json")).string();
      write_file_atomic(path, arch_to_json(a).dump(2));
      return path;
    }
    ADD_FAILURE() << "no subnet from seed " << seed << " benefits from patches";
    return small_subnet(seed);
  }
};

TEST_F(DeployPatchQemuTest, PatchedSubnetOnCortexM4) {
  const std::string path = small_patched_subnet(11, "f412");
  deploy_patched(path, "f412", load_arch(path).patch);
}

TEST_F(DeployPatchQemuTest, PatchedSubnetOnCortexM7) {
  const std::string path = small_patched_subnet(31, "f746");
  deploy_patched(path, "f746", load_arch(path).patch);
}

// mcunet-vww1 with --patch auto's setting on the f746 (4x4 through block 1).
TEST_F(DeployPatchQemuTest, ZooNetworkVww1BestPatchesOnCortexM7) {
  const DeployReport r = deploy_patched(test_nets::zoo_path("mcunet-vww1"), "f746", std::nullopt);
  EXPECT_EQ(r.arch.patch, (PatchSpec{4, 1}));
}

TEST_F(DeployQemuTest, ProfileReportsEveryOp) {
  DeployOptions o;
  o.arch_path = small_subnet(5);
  o.mcu = "f412";
  o.out_dir = (dir_ / "out").string();
  o.random_weights = true;
  o.eval_count = 1;
  o.profile = true;
  const DeployReport r = deploy_model(o);
  ASSERT_TRUE(r.board.has_value());
  const OpGraph graph = lower(load_arch(o.arch_path));
  ASSERT_EQ(r.board->ops.size(), graph.ops.size());
  double sum = 0;
  for (size_t i = 0; i < r.board->ops.size(); ++i) {
    EXPECT_EQ(r.board->ops[i].index, static_cast<int32_t>(i));
    EXPECT_EQ(r.board->ops[i].kind, graph.ops[i].kind);
    sum += r.board->ops[i].measured;
  }
  // The per-op counts add up to (nearly) the whole inference.
  EXPECT_NEAR(sum / r.board->per_inference, 1.0, 0.05);
  // report.json's rows carry the count under the unit's name.
  const nlohmann::json j = nlohmann::json::parse(read_file((dir_ / "out" / "report.json").string()));
  ASSERT_EQ(j["ops"].size(), graph.ops.size());
  EXPECT_EQ(j["ops"][0]["instructions"], r.board->ops[0].measured);
  EXPECT_EQ(j["ops"][0]["kind"], op_kind_name(graph.ops[0].kind));
}

// Labelled images (--eval-dataset) go to the board through semihosting
// (tn_inputs.bin), not flash; the report gives float and int8 top-1 on them.
TEST_F(DeployQemuTest, LabelledImagesBySemihostingOnCortexM7) {
  ArchSpec arch = load_arch(small_subnet(7));
  arch.num_classes = 4;
  const std::string path = (dir_ / "four.json").string();
  write_file_atomic(path, arch_to_json(arch).dump(2));
  DeployOptions o;
  o.arch_path = path;
  o.mcu = "f746";
  o.out_dir = (dir_ / "out").string();
  o.random_weights = true;
  o.eval_dataset = "generated:4x5,res=40";  // resized to the model's resolution
  o.eval_count = 12;
  const DeployReport report = deploy_model(o);
  const nlohmann::json r = deploy_report_to_json(report);
  ASSERT_TRUE(report.board.has_value()) << r.dump(2);
  EXPECT_TRUE(report.board->bit_exact) << r.dump(2);
  EXPECT_EQ(report.inputs, 12);
  EXPECT_TRUE(report.inputs_from_host);
  EXPECT_EQ(r["inputs"], 12);
  EXPECT_EQ(r["inputs_source"], "tn_inputs.bin (semihosting)");
  EXPECT_EQ(r["test_inputs_flash_bytes"], 0);
  EXPECT_EQ(r["eval_dataset"], o.eval_dataset);
  EXPECT_EQ(fs::file_size(dir_ / "out" / "tn_inputs.bin"),
            12u * static_cast<uintmax_t>(arch.resolution) * static_cast<uintmax_t>(arch.resolution) * 3u);
  EXPECT_FALSE(fs::exists(dir_ / "out" / "src" / "inputs.c"));
  ASSERT_TRUE(r["int8_top1"].is_number()) << r.dump(2);
  EXPECT_EQ(r["int8_top1"], r["int8_top1_host"]);
  EXPECT_GE(r["float_top1"].get<double>(), 0.0);
  EXPECT_LE(r["float_top1"].get<double>(), 1.0);

  // Trained weights that do not match the architecture are refused by name.
  DeployOptions t = o;
  t.random_weights = false;
  t.checkpoint = "w.pt";
  t.out_dir = (dir_ / "out3").string();
  t.trained = TrainedWeights{};
  t.trained->ops.resize(3);
  t.trained->calibration_images = synthetic_images(arch, 1, 1);
  const std::string msg = test_nets::error_of([&] { deploy_model(t); });
  EXPECT_NE(msg.find("--checkpoint w.pt: 3 weight sets for the"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir_ / "out3"));
}

TEST_F(DeployQemuTest, BadInputIsRefusedWithoutOutput) {
  DeployOptions o;
  o.arch_path = test_nets::zoo_path("mcunet-in4");  // 1.8 MB of flash
  o.mcu = "f412";
  o.out_dir = (dir_ / "out").string();
  o.random_weights = true;
  std::string msg = test_nets::error_of([&] { deploy_model(o); });
  EXPECT_NE(msg.find("does not fit f412: over flash by"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bytes"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir_ / "out"));

  o.arch_path = small_subnet(6);
  o.random_weights = false;
  o.checkpoint = "weights.pt";
  msg = test_nets::error_of([&] { deploy_model(o); });
  EXPECT_NE(msg.find("--checkpoint"), std::string::npos) << msg;

  o.checkpoint.clear();
  msg = test_nets::error_of([&] { deploy_model(o); });
  EXPECT_NE(msg.find("--random-weights"), std::string::npos) << msg;

  o.random_weights = true;
  o.run = "jtag";
  msg = test_nets::error_of([&] { deploy_model(o); });
  EXPECT_NE(msg.find("--run"), std::string::npos) << msg;

  // A folder with someone's files in it is never replaced.
  o.run = "qemu";
  fs::create_directories(dir_ / "mine");
  write_file_atomic((dir_ / "mine" / "notes.txt").string(), "keep me");
  o.out_dir = (dir_ / "mine").string();
  msg = test_nets::error_of([&] { deploy_model(o); });
  EXPECT_NE(msg.find("holds files that tinynas did not write (notes.txt)"), std::string::npos) << msg;
  EXPECT_EQ(read_file((dir_ / "mine" / "notes.txt").string()), "keep me");

  // A missing QEMU is named, with the package to install, and leaves nothing.
  o.out_dir = (dir_ / "out2").string();
  // (The compiler stays reachable through TINYNAS_ARM_GCC; PATH has nothing.)
  const std::string path = std::getenv("PATH");
  setenv("TINYNAS_ARM_GCC", "/usr/bin/arm-none-eabi-gcc", 1);
  setenv("PATH", (dir_ / "empty-bin").c_str(), 1);
  msg = test_nets::error_of([&] { deploy_model(o); });
  setenv("PATH", path.c_str(), 1);
  unsetenv("TINYNAS_ARM_GCC");
  EXPECT_NE(msg.find("qemu-system-arm not found: install qemu-system-arm"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir_ / "out2"));
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".out2.tmp"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace tinynas::deploy
