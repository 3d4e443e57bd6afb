// The board runner's result protocol, the firmware builder's pure parts
// (memory maps, compiler flags, the linker script) and the errors for missing
// tools. None of these needs the Arm toolchain or QEMU.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/mcu.h"
#include "core/io.h"
#include "deploy/board/board_runner.h"
#include "deploy/board/elf_info.h"
#include "deploy/board/firmware_build.h"
#include "deploy/board/process.h"
#include "tests/test_util.h"

namespace tinynas::deploy {
namespace {

using test_nets::error_of;

// Sets (or, with nullopt, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value) setenv(name, value->c_str(), 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

const char kGood[] =
    "qemu noise before\n"
    "TN_BEGIN systick 40.000\n"
    "TN_RESULT 0 0 5002 0203040506070809\n"
    "some other output\n"
    "TN_RESULT 1 0 5001 00fffefdfcfbfa81\n"
    "TN_END\n";

TEST(BoardProtocol, ParsesGoodOutput) {
  const BoardResult r = parse_board_output(kGood);
  EXPECT_TRUE(r.errors.empty()) << r.failure();
  EXPECT_TRUE(r.began);
  EXPECT_TRUE(r.ended);
  EXPECT_EQ(r.counter_source, "systick");
  EXPECT_DOUBLE_EQ(r.instructions_per_tick, 40.0);
  ASSERT_EQ(r.runs.size(), 2u);
  EXPECT_EQ(r.runs[0].index, 0);
  EXPECT_EQ(r.runs[0].status, 0);
  EXPECT_EQ(r.runs[0].count, 5002u);
  EXPECT_EQ(r.runs[0].output, (std::vector<int8_t>{2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(r.runs[1].output, (std::vector<int8_t>{0, -1, -2, -3, -4, -5, -6, -127}));
  // exit_code is the back end's to set: parsed text alone is not ok().
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_FALSE(r.ok());
}

TEST(BoardProtocol, AcceptsCrLfDwtAndEmptyOutput) {
  const BoardResult r = parse_board_output("TN_BEGIN dwt 0\r\nTN_RESULT 0 2 123\r\nTN_END\r\n");
  EXPECT_TRUE(r.errors.empty()) << r.failure();
  EXPECT_EQ(r.counter_source, "dwt");
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_EQ(r.runs[0].status, 2);
  EXPECT_TRUE(r.runs[0].output.empty());
}

TEST(BoardProtocol, MissingEndIsACrash) {
  const BoardResult r = parse_board_output(
      "TN_BEGIN systick 40.000\nTN_RESULT 0 0 7 00\n\nTN_FAULT HardFault pc=0x00000a98 lr=0x00000703\n");
  EXPECT_FALSE(r.ended);
  ASSERT_EQ(r.faults.size(), 1u);
  EXPECT_NE(r.faults[0].find("pc=0x00000a98"), std::string::npos);
  EXPECT_NE(r.failure().find("no TN_END after 1 result(s)"), std::string::npos) << r.failure();
  EXPECT_EQ(r.runs.size(), 1u);

  const BoardResult silent = parse_board_output("qemu: fatal: Lockup\n");
  EXPECT_FALSE(silent.began);
  EXPECT_NE(silent.failure().find("no TN_BEGIN"), std::string::npos);
}

TEST(BoardProtocol, RejectsGarbage) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"TN_BEGIN sometimes 40\nTN_END\n", "expected 'TN_BEGIN"},
      {"TN_BEGIN systick forty\nTN_END\n", "expected 'TN_BEGIN"},
      {"TN_BEGIN systick 40\nTN_RESULT 0 0 12 0g\nTN_END\n", "malformed TN_RESULT"},
      {"TN_BEGIN systick 40\nTN_RESULT 0 0 12 abc\nTN_END\n", "malformed TN_RESULT"},
      {"TN_BEGIN systick 40\nTN_RESULT 0 0 -5 00\nTN_END\n", "malformed TN_RESULT"},
      {"TN_BEGIN systick 40\nTN_RESULT 0 0\nTN_END\n", "expected 'TN_RESULT"},
      {"TN_BEGIN systick 40\nTN_RESULT 1 0 12 00\nTN_END\n", "expected input 0"},
      {"TN_RESULT 0 0 12 00\nTN_BEGIN systick 40\nTN_END\n", "TN_RESULT before TN_BEGIN"},
      {"TN_BEGIN systick 40\nTN_END\nTN_RESULT 0 0 12 00\n", "TN_RESULT after TN_END"},
      {"TN_BEGIN systick 40\nTN_BEGIN systick 40\nTN_END\n", "a second TN_BEGIN"},
      {"TN_BEGIN systick 40\nTN_END now\n", "expected 'TN_END'"},
      {"TN_BEGIN systick 40\nTN_WHATEVER 1\nTN_END\n", "unknown protocol line"},
  };
  for (const Case& c : cases) {
    const BoardResult r = parse_board_output(c.text);
    ASSERT_FALSE(r.errors.empty()) << c.text;
    EXPECT_NE(r.failure().find(c.error), std::string::npos) << c.text << "\n-> " << r.failure();
  }
}

TEST(BoardProtocol, ExitLineAndStatuses) {
  BoardResult r = parse_board_output("TN_BEGIN systick 40\nTN_RESULT 0 1 12 00\nTN_END\nTN_EXIT 1\n");
  EXPECT_TRUE(r.errors.empty()) << r.failure();
  EXPECT_EQ(r.firmware_exit, 1);
  r.exit_code = 0;
  EXPECT_FALSE(r.ok());  // a model status other than TN_OK
  EXPECT_NE(r.failure().find("input 0: status 1"), std::string::npos);
  r.runs[0].status = 0;
  EXPECT_TRUE(r.ok());
}

TEST(BoardProtocol, RspPacketChecksum) {
  EXPECT_EQ(rsp_packet("c"), "$c#63");
  EXPECT_EQ(rsp_packet("qRcmd,7265736574"), "$qRcmd,7265736574#37");
  EXPECT_EQ(rsp_packet(""), "$#00");
}

TEST(FirmwareMemory, QemuAndBoardLayouts) {
  const McuTarget f412 = load_mcu("f412");
  const FirmwareMemory q = firmware_memory(f412, true);
  EXPECT_EQ(q.flash_origin, 0x00000000u);
  EXPECT_EQ(q.sram_origin, 0x20000000u);
  EXPECT_EQ(q.flash_length, 1048576u);  // the part's, not QEMU's 4 MB
  EXPECT_EQ(q.sram_length, 262144u);
  const FirmwareMemory b = firmware_memory(f412, false);
  EXPECT_EQ(b.flash_origin, 0x08000000u);
  EXPECT_EQ(b.sram_origin, 0x20000000u);

  const McuTarget h743 = load_mcu("h743");
  EXPECT_EQ(firmware_memory(h743, false).sram_origin, 0x24000000u);
  EXPECT_EQ(firmware_memory(h743, true).sram_origin, 0x20000000u);
  EXPECT_EQ(firmware_memory(load_mcu("l552"), true).flash_origin, 0x10000000u);  // secure M33

  const std::string no_qemu = error_of([] { firmware_memory(load_mcu("rp2040"), true); });
  EXPECT_NE(no_qemu.find("rp2040: no QEMU machine"), std::string::npos) << no_qemu;
  McuTarget odd = f412;
  odd.qemu_machine = "virt";
  EXPECT_NE(error_of([&] { firmware_memory(odd, true); }).find("no memory map known for QEMU machine 'virt'"),
            std::string::npos);
}

TEST(FirmwareBuild, CoreFlags) {
  EXPECT_EQ(core_flags("cortex-m4"),
            (std::vector<std::string>{"-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-mthumb"}));
  EXPECT_EQ(core_flags("cortex-m7")[1], "-mfpu=fpv5-d16");
  EXPECT_EQ(core_flags("cortex-m33")[1], "-mfpu=fpv5-sp-d16");
  EXPECT_EQ(core_flags("cortex-m0plus")[1], "-mfloat-abi=soft");
  EXPECT_NE(error_of([] { core_flags("cortex-a53"); }).find("unknown core 'cortex-a53'"), std::string::npos);
  for (const std::string& name : known_mcus()) EXPECT_NO_THROW(core_flags(load_mcu(name).core)) << name;
}

TEST(FirmwareBuild, LinkerScriptIsFilled) {
  const std::string script = linker_script(firmware_memory(load_mcu("f746"), false), 4096);
  EXPECT_NE(script.find("FLASH (rx)  : ORIGIN = 0x08000000, LENGTH = 1048576"), std::string::npos) << script;
  EXPECT_NE(script.find("RAM   (rwx) : ORIGIN = 0x20000000, LENGTH = 327680"), std::string::npos);
  EXPECT_NE(script.find("_stack_size = 4096;"), std::string::npos);
  EXPECT_EQ(script.find('@'), std::string::npos);
}

TEST(Tools, FindExecutableSearchesTheGivenPath) {
  EXPECT_EQ(find_executable("sh", "/nonexistent:/bin"), "/bin/sh");
  EXPECT_EQ(find_executable("sh", "/nonexistent"), "");
  EXPECT_EQ(find_executable("/bin/sh", ""), "/bin/sh");
  EXPECT_EQ(find_executable("definitely-not-a-tool-xyz", "/bin:/usr/bin"), "");
}

TEST(Tools, RunProcessCapturesAndTimesOut) {
  const ProcessResult ok = run_process({"/bin/sh", "-c", "echo out; echo err 1>&2; exit 3"});
  EXPECT_EQ(ok.exit_code, 3);
  EXPECT_EQ(ok.out, "out\n");
  EXPECT_EQ(ok.err, "err\n");
  ProcessOptions quick;
  quick.timeout_s = 0.3;
  const ProcessResult slow = run_process({"/bin/sh", "-c", "sleep 5"}, quick);
  EXPECT_TRUE(slow.timed_out);
  EXPECT_NE(error_of([] { run_process({"/nonexistent/tool"}); }).find("cannot run /nonexistent/tool"),
            std::string::npos);
}

TEST(Tools, MissingCompilerIsAClearError) {
  ScopedEnv path("PATH", "/nonexistent");
  ScopedEnv gcc("TINYNAS_ARM_GCC", std::nullopt);
  FirmwareBuild build;
  build.dir = (std::filesystem::temp_directory_path() / "tinynas_board_nogcc").string();
  build.mcu = load_mcu("f412");
  build.for_qemu = true;
  EXPECT_EQ(error_of([&] { build_firmware(build); }),
            "arm-none-eabi-gcc not found: install gcc-arm-none-eabi and libnewlib-arm-none-eabi");
  ScopedEnv bad("TINYNAS_ARM_GCC", "/nonexistent/arm-none-eabi-gcc");
  EXPECT_EQ(error_of([&] { build_firmware(build); }),
            "TINYNAS_ARM_GCC=/nonexistent/arm-none-eabi-gcc: not an executable file");
}

TEST(Tools, MissingQemuIsAClearError) {
  ScopedEnv path("PATH", "/nonexistent");
  ScopedEnv qemu("TINYNAS_QEMU", std::nullopt);
  EXPECT_EQ(error_of([] { run_qemu(load_mcu("f412"), "/nonexistent.elf", 5); }),
            "qemu-system-arm not found: install qemu-system-arm");
  // An MCU that QEMU cannot emulate says so before looking for QEMU.
  const std::string no_machine = error_of([] { run_qemu(load_mcu("rp2040"), "/nonexistent.elf", 5); });
  EXPECT_NE(no_machine.find("rp2040: no QEMU machine emulates its core (cortex-m0plus)"), std::string::npos)
      << no_machine;
}

TEST(Tools, MissingPyocdIsAClearError) {
  ScopedEnv path("PATH", "/nonexistent");
  ScopedEnv pyocd("TINYNAS_PYOCD", std::nullopt);
  const std::string e = error_of([] { run_pyocd(load_mcu("f412"), "/nonexistent.elf", 5); });
  EXPECT_NE(e.find("pyocd not found: install python3-pyocd"), std::string::npos) << e;
}

TEST(Tools, NoProbeIsAClearError) {
  // Only where pyOCD is installed; here (CI) no probe is ever connected.
  const char* path = getenv("PATH");
  const bool have = !find_executable("pyocd", path ? path : "").empty() ||
                    !find_executable("pyocd-flashtool", path ? path : "").empty();
  if (!have) GTEST_SKIP() << "pyOCD is not installed";
  const std::string elf = std::string(TINYNAS_SOURCE_DIR) + "/deploy/firmware/harness.c";  // any file
  const std::string e = error_of([&] { run_pyocd(load_mcu("f412"), elf, 30); });
  if (e.empty()) GTEST_SKIP() << "a debug probe is connected";
  EXPECT_NE(e.find("no debug probe found"), std::string::npos) << e;
}

TEST(ElfInfo, RejectsWhatIsNotAnArmElf) {
  const std::string dir = (std::filesystem::temp_directory_path() / "tinynas_board_elf").string();
  write_file_atomic(dir + "/text.elf", "hello, not an ELF file at all: long enough to have a header......");
  EXPECT_NE(error_of([&] { read_elf(dir + "/text.elf"); }).find("text.elf: not an ELF file"), std::string::npos);
  // The test binary itself: ELF64.
  EXPECT_NE(error_of([] { read_elf("/proc/self/exe"); }).find("not a 32-bit little-endian ELF"),
            std::string::npos);
  // An ELF32 header whose section table lies past the end of the file.
  std::string header(52, '\0');
  header.replace(0, 4, "\x7f" "ELF");
  header[4] = 1;   // ELFCLASS32
  header[5] = 1;   // little-endian
  header[32] = static_cast<char>(0xE8);  // e_shoff = 1000
  header[33] = 0x03;
  header[46] = 40;  // e_shentsize
  header[48] = 3;   // e_shnum
  write_file_atomic(dir + "/short.elf", header);
  EXPECT_NE(error_of([&] { read_elf(dir + "/short.elf"); }).find("short.elf: truncated ELF file"), std::string::npos);
  EXPECT_NE(error_of([&] { read_elf(dir + "/missing.elf"); }).find("missing.elf: cannot read"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Pyocd, TargetNames) {
  EXPECT_EQ(pyocd_target_for(load_mcu("f412")), "stm32f412xg");
  EXPECT_EQ(pyocd_target_for(load_mcu("f746")), "stm32f746ng");
}

}  // namespace
}  // namespace tinynas::deploy
