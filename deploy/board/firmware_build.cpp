#include "deploy/board/firmware_build.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "core/error.h"
#include "core/io.h"
#include "deploy/board/process.h"

namespace tinynas::deploy {

namespace {

namespace fs = std::filesystem;

// The harness sources every firmware links (deploy/firmware/).
const char* const kHarnessSources[] = {"startup.c", "semihosting.c", "cycles.c", "harness.c"};
const char* const kSupportSources[] = {"startup.c", "semihosting.c", "cycles.c"};

// Compiling a big model's weights is the slow part; ten minutes is far
// beyond any build this project makes and still ends a hung toolchain.
constexpr double kCompileTimeoutS = 600;

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%08" PRIx64, v);
  return buf;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
  return text;
}

std::string tail(const std::string& text, size_t max_chars) {
  if (text.size() <= max_chars) return text;
  return "...\n" + text.substr(text.size() - max_chars);
}

// ld's words for our two regions, in the words a user reads on a datasheet.
std::string region_word(const std::string& region) { return region == "FLASH" ? "flash" : "SRAM"; }

// "region `FLASH' overflowed by 123 bytes" (binutils' wording since 2.2x) ->
// "flash: overflowed by 123 bytes (...)". Empty when ld said no such thing.
std::string describe_overflow(const std::string& log, const McuTarget& mcu, const FirmwareMemory& memory) {
  static const std::regex overflow(R"(region [`']?(FLASH|RAM)'? overflowed by ([0-9]+) bytes)");
  std::string message;
  bool seen_flash = false, seen_ram = false;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), overflow); it != std::sregex_iterator(); ++it) {
    const std::string region = (*it)[1];
    bool& seen = region == "FLASH" ? seen_flash : seen_ram;
    if (seen) continue;
    seen = true;
    const uint64_t capacity = region == "FLASH" ? memory.flash_length : memory.sram_length;
    if (!message.empty()) message += "; ";
    message += "does not fit in " + region_word(region) + ": overflowed by " + (*it)[2].str() +
               " bytes (" + mcu.name + " has " + std::to_string(capacity) + " bytes of " +
               region_word(region) + ")";
  }
  if (message.empty()) {
    // Our own ASSERTs, in case a future ld words the overflow differently.
    if (log.find("does not fit in flash") != std::string::npos)
      message = "does not fit in flash (" + mcu.name + " has " + std::to_string(memory.flash_length) +
                " bytes of flash)";
    else if (log.find("does not fit in SRAM") != std::string::npos)
      message = "does not fit in SRAM (" + mcu.name + " has " + std::to_string(memory.sram_length) +
                " bytes of SRAM)";
  }
  return message;
}

}  // namespace

std::string firmware_dir() {
  const char* env = std::getenv("TINYNAS_FIRMWARE_DIR");
  if (env != nullptr && *env != '\0') return env;
  return std::string(TINYNAS_SOURCE_DIR) + "/deploy/firmware";
}

std::string runtime_dir() { return std::string(TINYNAS_SOURCE_DIR) + "/deploy/runtime"; }

std::vector<std::string> core_flags(const std::string& core) {
  // Hard-float ABI where the core has an FPU: the startup code enables it.
  if (core == "cortex-m4") return {"-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-mthumb"};
  if (core == "cortex-m7") return {"-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-mthumb"};
  if (core == "cortex-m33") return {"-mcpu=cortex-m33", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard", "-mthumb"};
  if (core == "cortex-m55") return {"-mcpu=cortex-m55", "-mfloat-abi=hard", "-mthumb"};
  if (core == "cortex-m0plus") return {"-mcpu=cortex-m0plus", "-mfloat-abi=soft", "-mthumb"};
  if (core == "cortex-m3") return {"-mcpu=cortex-m3", "-mfloat-abi=soft", "-mthumb"};
  throw Error("unknown core '" + core +
              "': expected cortex-m0plus, cortex-m3, cortex-m4, cortex-m7, cortex-m33 or cortex-m55");
}

FirmwareMemory firmware_memory(const McuTarget& mcu, bool for_qemu) {
  FirmwareMemory m;
  m.flash_length = static_cast<uint64_t>(mcu.flash_bytes);
  m.sram_length = static_cast<uint64_t>(mcu.sram_bytes);
  if (!for_qemu) {
    m.flash_origin = static_cast<uint64_t>(mcu.flash_origin);
    m.sram_origin = static_cast<uint64_t>(mcu.sram_origin);
    return m;
  }
  const std::string& machine = mcu.qemu_machine;
  if (machine.empty())
    throw Error(mcu.name + ": no QEMU machine emulates its core (" + mcu.core +
                "): run it on the board (pyOCD) instead");
  // QEMU 7.2's mps2 boards: 4 MB of SSRAM for code and 4 MB for data each.
  if (machine == "mps2-an385" || machine == "mps2-an386" || machine == "mps2-an500" ||
      machine == "mps2-an511") {
    m.flash_origin = 0x00000000;
    m.sram_origin = 0x20000000;
  } else if (machine == "mps2-an505" || machine == "mps2-an521") {
    // The Cortex-M33 resets in the secure state, where code at the
    // non-secure alias 0x00000000 faults: use the secure aliases.
    m.flash_origin = 0x10000000;
    m.sram_origin = 0x38000000;
  } else {
    throw Error(mcu.name + ": no memory map known for QEMU machine '" + machine +
                "' (known: mps2-an385, mps2-an386, mps2-an500, mps2-an505, mps2-an511, mps2-an521)");
  }
  constexpr uint64_t kQemuRam = 4u << 20;
  if (m.flash_length > kQemuRam || m.sram_length > kQemuRam)
    throw Error(mcu.name + ": " + machine + " has 4 MB of code and data RAM; the part's " +
                std::to_string(m.flash_length) + " bytes of flash / " + std::to_string(m.sram_length) +
                " bytes of SRAM do not fit in it");
  return m;
}

std::string linker_script(const FirmwareMemory& memory, int64_t stack_bytes) {
  const std::string template_path = firmware_dir() + "/linker.ld.in";
  std::string text = read_file(template_path);
  text = replace_all(text, "@FLASH_ORIGIN@", hex(memory.flash_origin));
  text = replace_all(text, "@FLASH_LENGTH@", std::to_string(memory.flash_length));
  text = replace_all(text, "@RAM_ORIGIN@", hex(memory.sram_origin));
  text = replace_all(text, "@RAM_LENGTH@", std::to_string(memory.sram_length));
  text = replace_all(text, "@STACK_BYTES@", std::to_string(stack_bytes));
  static const std::regex leftover("@[A-Z_]+@");
  std::smatch m;
  if (std::regex_search(text, m, leftover))
    throw Error(template_path + ": unknown placeholder " + m.str());
  return text;
}

FirmwareResult measure_firmware(const std::string& elf, const FirmwareMemory& memory,
                                const std::string& arena_symbol) {
  FirmwareResult r;
  r.elf = elf;
  r.memory = memory;
  const ElfInfo info = read_elf(elf);
  for (const ElfSection& s : info.sections) {
    if (!s.alloc || s.size == 0) continue;
    r.sections.push_back(s);
    const bool in_ram = s.addr >= memory.sram_origin && s.addr < memory.sram_origin + memory.sram_length;
    const auto size = static_cast<int64_t>(s.size);
    if (!s.nobits) r.flash_bytes += size;  // .data counts here too: its load image
    if (in_ram) r.sram_bytes += size;
    if (s.name == ".isr_vector" || s.name == ".text") r.text_bytes += size;
    else if (s.name == ".data") r.data_bytes += size;
    else if (s.name == ".bss") r.bss_bytes += size;
    else if (s.name == ".stack") r.stack_bytes += size;
    else if (!s.nobits && !in_ram) r.rodata_bytes += size;
  }
  if (!arena_symbol.empty()) {
    if (const auto sym = find_symbol(info, arena_symbol)) {
      r.has_arena = true;
      r.arena_addr = sym->addr;
      r.arena_bytes = sym->size;
    }
  }
  return r;
}

FirmwareResult build_firmware(const FirmwareBuild& build) {
  const std::string gcc = resolve_tool("TINYNAS_ARM_GCC", "arm-none-eabi-gcc");
  if (gcc.empty())
    throw Error("arm-none-eabi-gcc not found: install gcc-arm-none-eabi and libnewlib-arm-none-eabi");
  if (build.dir.empty()) throw Error("build_firmware: no output directory given");
  if (build.stack_bytes <= 0 || build.stack_bytes % 8 != 0)
    throw Error("build_firmware: stack_bytes must be a positive multiple of 8 (AAPCS stack alignment), got " +
                std::to_string(build.stack_bytes));
  const std::vector<std::string> cpu = core_flags(build.mcu.core);
  if (build.test_flash_bytes < 0) throw Error("build_firmware: test_flash_bytes must not be negative");
  const FirmwareMemory part = firmware_memory(build.mcu, build.for_qemu);
  FirmwareMemory memory = part;
  if (build.for_qemu && build.test_flash_bytes > 0) {
    memory.flash_length += static_cast<uint64_t>(build.test_flash_bytes);
    constexpr uint64_t kQemuRam = 4u << 20;
    if (memory.flash_length > kQemuRam)
      throw Error(build.mcu.name + ": " + build.mcu.qemu_machine + " has 4 MB of code RAM; the part's " +
                  std::to_string(build.mcu.flash_bytes) + " bytes of flash plus " +
                  std::to_string(build.test_flash_bytes) + " bytes of test images do not fit in it");
  }

  std::error_code ec;
  fs::create_directories(build.dir, ec);
  if (ec) throw Error(build.dir + ": cannot create directory: " + ec.message());
  const std::string dir = fs::absolute(build.dir).lexically_normal().string();
  const std::string script = dir + "/linker.ld";
  const std::string map = dir + "/firmware.map";
  const std::string elf = dir + "/firmware.elf";
  write_file_atomic(script, linker_script(memory, build.stack_bytes));
  // A failed link must not leave an older image that looks like this build's.
  fs::remove(elf, ec);

  const std::string fw = firmware_dir();
  std::vector<std::string> argv = {gcc};
  argv.insert(argv.end(), cpu.begin(), cpu.end());
  argv.insert(argv.end(), {build.optimization, "-std=c99", "-g", "-Wall", "-Wextra", "-Wno-unused-parameter",
                           "-ffunction-sections", "-fdata-sections"});
  for (const std::string& d : build.defines) argv.push_back("-D" + d);
  for (const std::string& inc : build.include_dirs) argv.push_back("-I" + inc);
  argv.push_back("-I" + fw);
  argv.push_back("-I" + runtime_dir() + "/include");
  if (build.with_harness)
    for (const char* s : kHarnessSources) argv.push_back(fw + "/" + s);
  else
    for (const char* s : kSupportSources) argv.push_back(fw + "/" + s);
  for (const std::string& s : build.sources) argv.push_back(s);
  // No crt0 (startup.c is the entry); newlib-nano only for memcpy/memset.
  argv.insert(argv.end(), {"-nostartfiles", "--specs=nano.specs", "-T", script, "-Wl,--gc-sections",
                           "-Wl,-Map=" + map, "-o", elf});

  ProcessOptions options;
  options.timeout_s = kCompileTimeoutS;
  options.merge_stderr = true;
  const ProcessResult run = run_process(argv, options);
  if (run.timed_out)
    throw Error("arm-none-eabi-gcc did not finish within " + std::to_string(static_cast<int>(kCompileTimeoutS)) +
                " s building " + elf);
  if (run.exit_code != 0) {
    // On QEMU the images have room of their own: ld's overflow is the model's
    // beyond the part's flash, and the part's size is what the message names.
    std::string overflow = describe_overflow(run.out, build.mcu, part);
    if (!overflow.empty() && build.test_flash_bytes > 0 && !build.for_qemu)
      overflow += "; " + std::to_string(build.test_flash_bytes) +
                  " bytes of it are the harness's test images: run fewer inputs";
    if (!overflow.empty()) throw Error(build.mcu.name + ": firmware " + overflow);
    throw Error("arm-none-eabi-gcc failed (exit " + std::to_string(run.exit_code) + ") building " + elf +
                ":\n" + tail(run.out, 6000));
  }
  FirmwareResult result = measure_firmware(elf, memory, build.arena_symbol);
  result.linker_script = script;
  result.map_file = map;
  result.log = run.out;
  return result;
}

}  // namespace tinynas::deploy
