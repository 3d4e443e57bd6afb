// Optimised kernels == reference kernels on the emulated boards themselves:
// the DSP SIMD code runs as real Cortex-M4 / M7 instructions under QEMU (the
// host sweeps in tests/deploy/runtime run its C emulation).
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/mcu.h"
#include "deploy/board/board_runner.h"
#include "deploy/board/firmware_build.h"

namespace tinynas::deploy {
namespace {

namespace fs = std::filesystem;

class KernelSweepBoardTest : public ::testing::TestWithParam<const char*> {};

TEST_P(KernelSweepBoardTest, OptimisedEqualsReference) {
  for (const char* tool : {"arm-none-eabi-gcc", "qemu-system-arm"})
    if (std::system((std::string("command -v ") + tool + " > /dev/null 2>&1").c_str()) != 0)
      GTEST_SKIP() << tool << " is not installed";
  const fs::path dir = fs::temp_directory_path() /
                       ("tinynas_kernel_sweep_" + std::to_string(::getpid()) + "_" + GetParam());
  FirmwareBuild b;
  b.dir = dir.string();
  b.mcu = load_mcu(GetParam());
  b.for_qemu = true;
  b.with_harness = false;
  b.sources = {std::string(TINYNAS_SOURCE_DIR) + "/tests/deploy/board/kernel_sweep_target.c"};
  for (const auto& e : fs::directory_iterator(fs::path(runtime_dir()) / "src"))
    if (e.path().extension() == ".c") b.sources.push_back(e.path().string());
  const FirmwareResult fw = build_firmware(b);
  const BoardResult r = run_qemu(b.mcu, fw.elf, 120);
  std::smatch m;
  const std::regex sweep(R"(SWEEP (\d+) (\d+) (\S+))");
  ASSERT_TRUE(std::regex_search(r.log, m, sweep)) << r.log;
  EXPECT_GE(std::stoi(m[1]), 200);
  EXPECT_EQ(std::stoi(m[2]), 0) << r.log;
  EXPECT_EQ(m[3], "dsp") << "the board must run the DSP SIMD path";
  EXPECT_EQ(r.exit_code, 0) << r.log;
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Boards, KernelSweepBoardTest, ::testing::Values("f412", "f746"));

}  // namespace
}  // namespace tinynas::deploy
