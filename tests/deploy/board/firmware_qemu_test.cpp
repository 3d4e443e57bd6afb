// Builds real firmware with arm-none-eabi-gcc around a stand-in model (no code
// generator involved) and runs it on QEMU's mps2 boards: the result protocol
// end to end, the instruction counter against loops of known length, exit
// codes, faults, and link failures for models that do not fit the part.
// Skipped where the Arm toolchain or QEMU is not installed.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/io.h"
#include "core/mcu.h"
#include "deploy/board/board_runner.h"
#include "deploy/board/elf_info.h"
#include "deploy/board/firmware_build.h"
#include "deploy/board/process.h"
#include "tests/test_util.h"

namespace tinynas::deploy {
namespace {

namespace fs = std::filesystem;
using test_nets::error_of;

constexpr int kLoop = 100000;     // SUBS+BNE iterations per unit of input[0]
constexpr int kQemuTimeoutS = 20;

// The stand-in model: output = f(input) with a loop of exactly
// 2 * kLoop * input[0] instructions, a local arena (like the generated one),
// and a .rodata / .bss array whose sizes the tests choose.
const char kModelH[] = R"(#ifndef TN_MODEL_H
#define TN_MODEL_H
#include "tn_runtime.h"
#define TN_MODEL_INPUT_BYTES 8
#define TN_MODEL_OUTPUT_BYTES 8
int8_t* tn_model_output_buffer(void);
tn_status tn_model_run(const int8_t* input, int8_t* output);
#endif
)";

const char kModelC[] = R"(#include "model.h"
#ifndef TEST_RODATA_BYTES
#define TEST_RODATA_BYTES 4
#endif
#ifndef TEST_BSS_BYTES
#define TEST_BSS_BYTES 256
#endif
static int8_t tn_arena[1024] __attribute__((aligned(8)));
const int8_t test_rodata[TEST_RODATA_BYTES] = {10, 20, 30, 40};
int8_t test_bss[TEST_BSS_BYTES];
static int8_t test_output[TN_MODEL_OUTPUT_BYTES];

int8_t* tn_model_output_buffer(void) { return test_output; }

tn_status tn_model_run(const int8_t* input, int8_t* output) {
  uint32_t n = (uint32_t)TEST_LOOP * (uint8_t)input[0];
  if (n != 0)
    __asm__ volatile(".syntax unified\n1: subs %0, %0, #1\n bne 1b\n" : "+l"(n) : : "cc");
#ifdef TEST_FAULT
  if (input[0] == 3) __asm__ volatile("udf #0");
#endif
  for (int i = 0; i < 6; ++i) tn_arena[i] = input[i];
  /* The arena escapes, as the generated one does into the kernels: keeps it. */
  __asm__ volatile("" : : "r"(tn_arena) : "memory");
  for (int i = 0; i < 6; ++i) output[i] = (int8_t)(tn_arena[i] * 3 + 1);
  test_bss[(uint8_t)input[6]] = input[6];
  output[6] = test_bss[(uint8_t)input[6]];
  output[7] = test_rodata[input[7] & 3];
#ifdef TEST_STATUS
  if (input[0] == 0) return TN_ERROR_ARGUMENT;
#endif
  return TN_OK;
}
)";

const char kInputsC[] = R"(#include "inputs.h"
const int8_t tn_inputs[][TN_MODEL_INPUT_BYTES] = {
  {1, 2, 3, 4, 5, 6, 7, 0},
  {3, -1, -2, 40, -43, 127, -8, 1},
  {0, 0, 0, 0, 0, 0, 0, 3},
};
const int tn_num_inputs = 3;
)";

const std::vector<std::vector<int8_t>> kInputs = {
    {1, 2, 3, 4, 5, 6, 7, 0}, {3, -1, -2, 40, -43, 127, -8, 1}, {0, 0, 0, 0, 0, 0, 0, 3}};

std::vector<int8_t> expected_output(const std::vector<int8_t>& in) {
  static const int8_t rodata[4] = {10, 20, 30, 40};
  std::vector<int8_t> out(8);
  for (int i = 0; i < 6; ++i) out[i] = static_cast<int8_t>(static_cast<int8_t>(in[i] * 3 + 1));
  out[6] = in[6];
  out[7] = rodata[in[7] & 3];
  return out;
}

bool have_tool(const char* env, const char* name) {
  try {
    return !resolve_tool(env, name).empty();
  } catch (const Error&) {
    return false;
  }
}

class FirmwareQemu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_tool("TINYNAS_ARM_GCC", "arm-none-eabi-gcc"))
      GTEST_SKIP() << "arm-none-eabi-gcc not installed (gcc-arm-none-eabi, libnewlib-arm-none-eabi)";
    if (!have_tool("TINYNAS_QEMU", "qemu-system-arm")) GTEST_SKIP() << "qemu-system-arm not installed";
    std::string templ = (fs::temp_directory_path() / "tinynas_board_XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    root_ = templ;
    write_file_atomic(root_ + "/model/model.h", kModelH);
    write_file_atomic(root_ + "/model/model.c", kModelC);
    write_file_atomic(root_ + "/model/inputs.c", kInputsC);
  }
  void TearDown() override {
    if (!root_.empty() && getenv("TINYNAS_KEEP_TEST_DIRS") == nullptr) fs::remove_all(root_);
  }

  FirmwareBuild build_for(const std::string& mcu, const std::string& name, std::vector<std::string> defines = {}) {
    FirmwareBuild b;
    b.dir = root_ + "/" + name;
    b.mcu = load_mcu(mcu);
    b.for_qemu = true;
    b.sources = {root_ + "/model/model.c", root_ + "/model/inputs.c"};
    b.include_dirs = {root_ + "/model"};
    b.defines = std::move(defines);
    b.defines.push_back("TEST_LOOP=" + std::to_string(kLoop));
    return b;
  }

  static uint64_t symbol(const std::string& elf, const std::string& name) {
    const auto sym = find_symbol(read_elf(elf), name);
    EXPECT_TRUE(sym.has_value()) << name;
    return sym ? sym->addr : 0;
  }

  // Builds, runs twice and checks everything a good run must show.
  void check_runs_on(const std::string& mcu_name, double instructions_per_tick,
                     const std::vector<std::string>& defines = {}) {
    const FirmwareBuild build = build_for(mcu_name, mcu_name, defines);
    const FirmwareResult fw = build_firmware(build);
    ASSERT_TRUE(fs::exists(fw.elf));

    // Sizes from the ELF: the arena by symbol; SRAM = data + bss + stack;
    // flash = code + read-only + .data's image, as ld's own region use up to gaps.
    EXPECT_TRUE(fw.has_arena);
    EXPECT_EQ(fw.arena_bytes, 1024u);
    EXPECT_GE(fw.arena_addr, fw.memory.sram_origin);
    EXPECT_LT(fw.arena_addr, fw.memory.sram_origin + fw.memory.sram_length);
    EXPECT_EQ(fw.arena_addr % 8, 0u);
    EXPECT_EQ(fw.stack_bytes, 4096);
    EXPECT_EQ(fw.sram_bytes, fw.data_bytes + fw.bss_bytes + fw.stack_bytes);
    EXPECT_EQ(fw.flash_bytes, fw.text_bytes + fw.rodata_bytes + fw.data_bytes);
    EXPECT_GE(fw.bss_bytes, 1024 + 256);
    const auto flash_used = static_cast<int64_t>(symbol(fw.elf, "_tn_flash_used"));
    const auto sram_used = static_cast<int64_t>(symbol(fw.elf, "_tn_sram_used"));
    EXPECT_LE(fw.flash_bytes, flash_used);
    EXPECT_GT(fw.flash_bytes, flash_used - 64);
    EXPECT_LE(fw.sram_bytes, sram_used);
    EXPECT_GT(fw.sram_bytes, sram_used - 64);
    // The harness is about the flash the MCU YAML reserves for it (measured
    // exactly by code_size_test); the stand-in model and its inputs add a few
    // hundred bytes.
    EXPECT_LT(fw.flash_bytes, build.mcu.reserved_flash_bytes + 512);

    const BoardResult a = run_qemu(build.mcu, fw.elf, kQemuTimeoutS);
    ASSERT_TRUE(a.ok()) << a.failure() << "\n" << a.log;
    std::printf("%s on %s: %.3f instructions per tick; loop x1 %.0f, x3 %.0f, x0 %.0f instructions\n",
                mcu_name.c_str(), build.mcu.qemu_machine.c_str(), a.instructions_per_tick, a.runs[0].measured,
                a.runs[1].measured, a.runs[2].measured);
    EXPECT_EQ(a.backend, "qemu");
    EXPECT_EQ(a.unit, "instructions");
    EXPECT_EQ(a.exit_code, 0);
    EXPECT_EQ(a.counter_source, "systick");  // QEMU's DWT does not count
    ASSERT_EQ(a.runs.size(), kInputs.size());
    for (size_t i = 0; i < kInputs.size(); ++i) {
      EXPECT_EQ(a.runs[i].status, 0);
      EXPECT_EQ(a.runs[i].output, expected_output(kInputs[i])) << "input " << i;
    }
    // SysTick on the board's SYSCLK under -icount shift=0 (1 ns per instruction).
    EXPECT_NEAR(a.instructions_per_tick, instructions_per_tick, 0.01);
    // The loop: 2 * kLoop * input[0] instructions, plus the copy (tens).
    const double one = a.runs[0].measured, three = a.runs[1].measured, none = a.runs[2].measured;
    EXPECT_NEAR(one, 2.0 * kLoop, 0.02 * 2 * kLoop);
    EXPECT_NEAR(three, 6.0 * kLoop, 0.02 * 6 * kLoop);
    EXPECT_NEAR(three - one, 4.0 * kLoop, 0.005 * 4 * kLoop);  // overheads cancel
    EXPECT_LT(none, 1000);
    // The raw SysTick counts, apart from the firmware's calibration and the
    // runner's scaling: input 1 runs exactly 4 * kLoop instructions more than
    // input 0, at the board's known instructions per tick; each count is
    // whole ticks, so the difference may be off by under 2.
    EXPECT_NEAR(static_cast<double>(a.runs[1].count) - static_cast<double>(a.runs[0].count),
                4.0 * kLoop / instructions_per_tick, 2.0);

    // -icount makes the whole run deterministic.
    const BoardResult b = run_qemu(build.mcu, fw.elf, kQemuTimeoutS);
    ASSERT_TRUE(b.ok()) << b.failure();
    ASSERT_EQ(b.runs.size(), a.runs.size());
    for (size_t i = 0; i < a.runs.size(); ++i) EXPECT_EQ(b.runs[i].count, a.runs[i].count) << i;
    EXPECT_EQ(b.instructions_per_tick, a.instructions_per_tick);
  }

  std::string root_;
};

// mps2-an386 and mps2-an500 clock SysTick at 25 MHz: 40 instructions a tick.
TEST_F(FirmwareQemu, RunsOnF412Mps2An386) { check_runs_on("f412", 40.0); }

TEST_F(FirmwareQemu, RunsOnF746Mps2An500) { check_runs_on("f746", 40.0); }

// mps2-an505 (Cortex-M33, secure) runs at 20 MHz: 50 instructions a tick.
TEST_F(FirmwareQemu, RunsOnL552Mps2An505) { check_runs_on("l552", 50.0); }

// A SysTick period of 4096 ticks (164k instructions): every measured run and
// the calibration span several wraps, which the handler must count.
TEST_F(FirmwareQemu, SysTickWrapsAreCounted) { check_runs_on("f412", 40.0, {"TN_SYSTICK_RELOAD=0xFFFu"}); }

TEST_F(FirmwareQemu, FailedStatusExitsNonZero) {
  const FirmwareBuild build = build_for("f412", "status", {"TEST_STATUS"});
  const BoardResult r = run_qemu(build.mcu, build_firmware(build).elf, kQemuTimeoutS);
  EXPECT_TRUE(r.ended) << r.log;
  EXPECT_TRUE(r.errors.empty()) << r.failure();
  ASSERT_EQ(r.runs.size(), 3u);
  EXPECT_EQ(r.runs[0].status, 0);
  EXPECT_EQ(r.runs[2].status, 1);  // TN_ERROR_ARGUMENT
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(r.ok());
}

TEST_F(FirmwareQemu, HardFaultIsReportedNotHung) {
  const FirmwareBuild build = build_for("f412", "fault", {"TEST_FAULT"});
  const BoardResult r = run_qemu(build.mcu, build_firmware(build).elf, kQemuTimeoutS);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.ended);
  EXPECT_EQ(r.runs.size(), 1u);  // input 0 ran; input 1 faulted
  ASSERT_EQ(r.faults.size(), 1u) << r.log;
  EXPECT_NE(r.faults[0].find("TN_FAULT HardFault pc=0x"), std::string::npos);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.failure().find("no TN_END"), std::string::npos);
}

TEST_F(FirmwareQemu, TimeoutKillsTheEmulator) {
  // A loop of 2 * 2^32 instructions per unit: far beyond a 1 s limit.
  FirmwareBuild build = build_for("f412", "hang");
  build.defines = {"TEST_LOOP=0xFFFFFFFFu"};
  const BoardResult r = run_qemu(build.mcu, build_firmware(build).elf, 1);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.began);
  EXPECT_NE(r.failure().find("did not finish within 1 s"), std::string::npos) << r.failure();
}

// The overflow reported is exact: growing an array by the part's whole flash
// (SRAM) overflows it by what the fitting build used, to the byte.
TEST_F(FirmwareQemu, RodataBiggerThanFlashFailsToLink) {
  const FirmwareBuild fits = build_for("f412", "fits");
  const uint64_t used = symbol(build_firmware(fits).elf, "_tn_flash_used");
  const int64_t flash = fits.mcu.flash_bytes;
  const FirmwareBuild big = build_for("f412", "big_rodata", {"TEST_RODATA_BYTES=" + std::to_string(4 + flash)});
  const std::string e = error_of([&] { build_firmware(big); });
  std::printf("%s\n", e.c_str());
  EXPECT_EQ(e, "f412: firmware does not fit in flash: overflowed by " + std::to_string(used) +
                   " bytes (f412 has 1048576 bytes of flash)");
  EXPECT_FALSE(fs::exists(big.dir + "/firmware.elf"));
}

// The harness's test images get flash of their own on QEMU (they are no part
// of a deployed model), none on a board.
TEST_F(FirmwareQemu, TestImagesGetFlashOfTheirOwnOnQemu) {
  const FirmwareBuild fits = build_for("f412", "fits");
  const auto used = static_cast<int64_t>(symbol(build_firmware(fits).elf, "_tn_flash_used"));
  const int64_t flash = fits.mcu.flash_bytes;
  // 1000 bytes over the part, as if 2000 bytes of it were test images.
  const std::string rodata = "TEST_RODATA_BYTES=" + std::to_string(4 + flash - used + 1000);
  FirmwareBuild b = build_for("f412", "images", {rodata});
  b.test_flash_bytes = 2000;
  const FirmwareResult r = build_firmware(b);
  EXPECT_EQ(r.flash_bytes, flash + 1000);
  EXPECT_EQ(r.memory.flash_length, static_cast<uint64_t>(flash + 2000));
  // Fewer image bytes than the overflow: the model itself does not fit; the
  // message names the part's flash and the model's own overflow.
  b.dir += "_short";
  b.test_flash_bytes = 500;
  EXPECT_EQ(error_of([&] { build_firmware(b); }),
            "f412: firmware does not fit in flash: overflowed by 500 bytes (f412 has 1048576 bytes of flash)");
  // On the board's memory map the images share the part's flash.
  b.dir += "_board";
  b.for_qemu = false;
  b.test_flash_bytes = 2000;
  EXPECT_EQ(error_of([&] { build_firmware(b); }),
            "f412: firmware does not fit in flash: overflowed by 1000 bytes (f412 has 1048576 bytes of "
            "flash); 2000 bytes of it are the harness's test images: run fewer inputs");
}

TEST_F(FirmwareQemu, BssBiggerThanSramFailsToLink) {
  const FirmwareBuild fits = build_for("f746", "fits");
  const uint64_t used = symbol(build_firmware(fits).elf, "_tn_sram_used");
  const int64_t sram = fits.mcu.sram_bytes;
  const FirmwareBuild big = build_for("f746", "big_bss", {"TEST_BSS_BYTES=" + std::to_string(256 + sram)});
  const std::string e = error_of([&] { build_firmware(big); });
  std::printf("%s\n", e.c_str());
  EXPECT_EQ(e, "f746: firmware does not fit in SRAM: overflowed by " + std::to_string(used) +
                   " bytes (f746 has 327680 bytes of SRAM)");
}

TEST_F(FirmwareQemu, CompileErrorsShowTheCompilerOutput) {
  write_file_atomic(root_ + "/model/broken.c", "int broken(void) { return undeclared_thing; }\n");
  FirmwareBuild build = build_for("f412", "broken");
  build.sources.push_back(root_ + "/model/broken.c");
  const std::string e = error_of([&] { build_firmware(build); });
  EXPECT_NE(e.find("arm-none-eabi-gcc failed (exit 1)"), std::string::npos) << e;
  EXPECT_NE(e.find("undeclared_thing"), std::string::npos) << e;
}

TEST_F(FirmwareQemu, CompilerFromEnvironmentWithoutPath) {
  // TINYNAS_ARM_GCC alone is enough: gcc finds cc1, as and ld from its own prefix.
  const std::string gcc = resolve_tool("TINYNAS_ARM_GCC", "arm-none-eabi-gcc");
  const std::string old_path = getenv("PATH") ? getenv("PATH") : "";
  const char* old_gcc = getenv("TINYNAS_ARM_GCC");
  const std::string saved_gcc = old_gcc ? old_gcc : "";
  setenv("TINYNAS_ARM_GCC", gcc.c_str(), 1);
  setenv("PATH", "/nonexistent", 1);
  std::string error;
  try {
    build_firmware(build_for("f412", "env_gcc"));
  } catch (const Error& e) {
    error = e.what();
  }
  setenv("PATH", old_path.c_str(), 1);
  if (old_gcc) setenv("TINYNAS_ARM_GCC", saved_gcc.c_str(), 1);
  else unsetenv("TINYNAS_ARM_GCC");
  EXPECT_EQ(error, "");
}

}  // namespace
}  // namespace tinynas::deploy
