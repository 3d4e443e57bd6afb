// The kernel code sizes in configs/mcus/*.yaml (`code_bytes`, and the fixed
// part in `reserved.flash`) against the runtime as it links today
// (deploy/board/code_size.h), for every shipped part (measured once per core:
// the DSP kernels for Cortex-M4, M7 and M33, the portable ones for M0+). When a kernel
// changes, this fails and prints the block to paste into the YAML.
// Skipped where the Arm toolchain is not installed.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include "core/mcu.h"
#include "deploy/board/code_size.h"
#include "deploy/board/process.h"

namespace tinynas::deploy {
namespace {

namespace fs = std::filesystem;

// A kind's YAML figure may differ from the linked size by this much: enough
// for a compiler update's reshuffling, far less than a kernel variant.
constexpr double kKindTolerance = 0.05;
constexpr int64_t kKindSlackBytes = 96;
// reserved.flash covers the base firmware plus the generated model's fixed
// part (tn_model_run's prologue, the arena accessors): at least the base,
// at most 1 KiB more.
constexpr int64_t kReservedSlackBytes = 1024;

class CodeSizeTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CodeSizeTest, YamlMatchesLinkedKernels) {
  if (resolve_tool("TINYNAS_ARM_GCC", "arm-none-eabi-gcc").empty())
    GTEST_SKIP() << "arm-none-eabi-gcc not installed (gcc-arm-none-eabi, libnewlib-arm-none-eabi)";
  const McuTarget mcu = load_mcu(GetParam());
  // Parts with one core link the same kernels: measured once per core.
  static std::map<std::string, CodeSizes> by_core;
  if (by_core.count(mcu.core) == 0) {
    const fs::path dir = fs::temp_directory_path() /
                         ("tinynas_code_size_" + mcu.core + "_" + std::to_string(::getpid()));
    by_core[mcu.core] = measure_code_sizes(mcu, dir.string());
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  const CodeSizes& s = by_core[mcu.core];
  std::printf("%s (%s): base firmware %lld bytes, all kinds %lld bytes\n%s", mcu.name.c_str(),
              mcu.core.c_str(), static_cast<long long>(s.base_bytes),
              static_cast<long long>(s.all_kinds_bytes),
              code_bytes_yaml(s, mcu.per_layer_code_bytes).c_str());
  for (int k = 0; k < kNumOpKinds; ++k) {
    const int64_t measured = s.kernel_bytes[k];
    const int64_t yaml = mcu.kernel_code_bytes[k];
    const double slack = std::max<double>(kKindSlackBytes, kKindTolerance * static_cast<double>(measured));
    EXPECT_LE(std::abs(static_cast<double>(yaml - measured)), slack)
        << mcu.source << ": code_bytes." << op_kind_name(static_cast<OpKind>(k)) << " is " << yaml
        << ", the linked kernels take " << measured << " bytes";
  }
  EXPECT_GE(mcu.reserved_flash_bytes, s.base_bytes)
      << mcu.source << ": reserved.flash is below the base firmware's " << s.base_bytes << " bytes";
  EXPECT_LE(mcu.reserved_flash_bytes, s.base_bytes + kReservedSlackBytes)
      << mcu.source << ": reserved.flash is more than 1 KiB above the base firmware's " << s.base_bytes
      << " bytes";
}

INSTANTIATE_TEST_SUITE_P(Parts, CodeSizeTest, ::testing::Values("f412", "f746", "f765", "h743", "l552", "rp2040"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace tinynas::deploy
