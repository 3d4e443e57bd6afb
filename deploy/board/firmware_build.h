// Building the firmware that runs a generated model on a microcontroller or
// on QEMU: the linker script is filled from the McuTarget (the part's own
// flash and SRAM sizes, so a model that does not fit fails to link as it
// would for the real part), then one arm-none-eabi-gcc run compiles and links
// the harness (deploy/firmware/), the model and the runtime sources. The
// result says what the ELF occupies, measured from the ELF itself.
//
// Costs: one compiler run (about a second for a small model; the runtime's
// kernels dominate). The compiler is found on $PATH or at $TINYNAS_ARM_GCC.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/mcu.h"
#include "deploy/board/elf_info.h"

namespace tinynas::deploy {

struct FirmwareBuild {
  std::string dir;        // where firmware.elf, linker.ld and firmware.map go (created)
  McuTarget mcu;
  bool for_qemu = false;  // memory at the emulated board's addresses (see firmware_memory)
  // The model's sources (model.c, inputs.c, the runtime's .c files it uses);
  // the harness, startup, semihosting and counter sources are added here.
  std::vector<std::string> sources;
  // Where model.h lives, and anything else the sources include; the firmware
  // and runtime include folders are added here.
  std::vector<std::string> include_dirs;
  std::vector<std::string> defines;       // NAME or NAME=VALUE, passed as -D
  int64_t stack_bytes = 4096;             // reserved at the top of SRAM; counts against SRAM
  std::string arena_symbol = "tn_arena";  // reported by address and size when present
  std::string optimization = "-O2";
  bool with_harness = true;  // false: the sources bring their own main()
  // Flash the harness's test images (inputs.c) take. They are no part of a
  // deployed model, so on QEMU the flash region is the part's flash plus
  // these bytes (a model that does not fit the part still fails to link, and
  // the images never push a model that fits over). On a real board they must
  // fit in the part's flash beside the model.
  int64_t test_flash_bytes = 0;
};

// Where the firmware's flash and SRAM lie for a build: the part's origins for
// a real board; for QEMU, the emulated board's RAMs (mps2-an385/386/500/511:
// code at 0x00000000, RAM at 0x20000000; mps2-an505/521, whose Cortex-M33
// boots secure: their secure aliases 0x10000000 and 0x38000000). Lengths are
// always the part's own. Throws tinynas::Error for a QEMU machine it does
// not know or an MCU without one.
struct FirmwareMemory {
  uint64_t flash_origin = 0, flash_length = 0;
  uint64_t sram_origin = 0, sram_length = 0;
};
FirmwareMemory firmware_memory(const McuTarget& mcu, bool for_qemu);

// The compiler flags for the MCU's core (-mcpu, -mfpu, -mfloat-abi, -mthumb).
// Throws tinynas::Error for a core it does not know.
std::vector<std::string> core_flags(const std::string& core);

struct FirmwareResult {
  std::string elf;               // absolute path of the linked image
  std::string linker_script;
  std::string map_file;
  FirmwareMemory memory;
  // As `arm-none-eabi-size -A` adds them up: flash = every allocated section
  // with bytes in the image (vector table, code, read-only data, .data's load
  // image); SRAM = every allocated section placed in RAM (.data, .bss, the
  // reserved .stack). Alignment gaps between sections are not counted.
  int64_t flash_bytes = 0;
  int64_t sram_bytes = 0;
  int64_t text_bytes = 0;    // .isr_vector + .text
  int64_t rodata_bytes = 0;  // .rodata, .ARM.exidx, init arrays
  int64_t data_bytes = 0;
  int64_t bss_bytes = 0;
  int64_t stack_bytes = 0;
  bool has_arena = false;  // arena_symbol found
  uint64_t arena_addr = 0;
  uint64_t arena_bytes = 0;
  std::vector<ElfSection> sections;
  std::string log;  // the compiler's output (warnings)
};

// Throws tinynas::Error when the compiler is missing ("arm-none-eabi-gcc not
// found: install gcc-arm-none-eabi and libnewlib-arm-none-eabi"), when the
// firmware does not fit ("f412: firmware does not fit in flash: overflowed by
// N bytes (the part has 1048576 bytes of flash)"), or when compiling fails
// (with the compiler's output).
FirmwareResult build_firmware(const FirmwareBuild& build);

// Fills deploy/firmware/linker.ld.in for this memory and stack size.
std::string linker_script(const FirmwareMemory& memory, int64_t stack_bytes);

// Sizes of an already linked ELF, classified as build_firmware does.
FirmwareResult measure_firmware(const std::string& elf, const FirmwareMemory& memory,
                                const std::string& arena_symbol = "tn_arena");

// deploy/firmware (the harness sources) and deploy/runtime (the kernels) in
// this source tree; $TINYNAS_FIRMWARE_DIR overrides the first.
std::string firmware_dir();
std::string runtime_dir();

}  // namespace tinynas::deploy
