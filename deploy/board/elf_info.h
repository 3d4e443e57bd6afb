// What a linked firmware ELF occupies, read from its section and symbol
// tables directly (ELF32, little-endian, as arm-none-eabi-ld writes it), so
// sizes and the arena's address need neither arm-none-eabi-size nor -nm and
// cannot be misparsed from their text output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tinynas::deploy {

struct ElfSection {
  std::string name;
  uint64_t addr = 0;
  uint64_t size = 0;
  bool alloc = false;    // SHF_ALLOC: occupies target memory
  bool nobits = false;   // SHT_NOBITS: no bytes in the image (.bss, .stack)
  bool write = false;    // SHF_WRITE
};

struct ElfSymbol {
  std::string name;
  uint64_t addr = 0;
  uint64_t size = 0;
};

struct ElfInfo {
  uint64_t entry = 0;
  std::vector<ElfSection> sections;  // in file order, the null section left out
  std::vector<ElfSymbol> symbols;    // .symtab, named symbols only (locals too)
};

// Throws tinynas::Error naming the path when it is not a readable ELF32 LE file.
ElfInfo read_elf(const std::string& path);

// The symbol called name (a local `static` one too: the generated arena is
// `static int8_t tn_arena[]`), or nullopt.
std::optional<ElfSymbol> find_symbol(const ElfInfo& elf, const std::string& name);

}  // namespace tinynas::deploy
