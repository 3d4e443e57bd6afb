#include "deploy/board/elf_info.h"

#include <cstring>

#include "core/error.h"
#include "core/io.h"

namespace tinynas::deploy {

namespace {

constexpr uint32_t kShtSymtab = 2;
constexpr uint32_t kShtNobits = 8;
constexpr uint32_t kShfWrite = 1;
constexpr uint32_t kShfAlloc = 2;

struct Reader {
  const std::string& bytes;
  const std::string& path;

  void need(uint64_t offset, uint64_t size) const {
    if (offset > bytes.size() || size > bytes.size() - offset)
      throw Error(path + ": truncated ELF file (needs bytes " + std::to_string(offset) + ".." +
                  std::to_string(offset + size) + ")");
  }
  uint32_t u32(uint64_t offset) const {
    need(offset, 4);
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
    return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
  }
  uint16_t u16(uint64_t offset) const {
    need(offset, 2);
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
    return static_cast<uint16_t>(p[0] | p[1] << 8);
  }
  // A NUL-terminated name at table + index, bounded by the table's size.
  std::string str(uint64_t table, uint64_t table_size, uint32_t index) const {
    if (index >= table_size) return "";
    need(table, table_size);
    const char* start = bytes.data() + table + index;
    const size_t max = static_cast<size_t>(table_size - index);
    return std::string(start, strnlen(start, max));
  }
};

struct RawSection {
  uint32_t name, type, flags, addr, offset, size, link, entsize;
};

}  // namespace

ElfInfo read_elf(const std::string& path) {
  const std::string bytes = read_file(path);
  const Reader r{bytes, path};
  if (bytes.size() < 52 || std::memcmp(bytes.data(), "\x7f" "ELF", 4) != 0)
    throw Error(path + ": not an ELF file");
  if (bytes[4] != 1 || bytes[5] != 1)
    throw Error(path + ": not a 32-bit little-endian ELF file (as arm-none-eabi-gcc writes)");
  ElfInfo info;
  info.entry = r.u32(24);
  const uint32_t shoff = r.u32(32);
  const uint16_t shentsize = r.u16(46);
  const uint16_t shnum = r.u16(48);
  const uint16_t shstrndx = r.u16(50);
  if (shnum == 0) return info;
  if (shentsize < 40) throw Error(path + ": bad ELF section header size");
  std::vector<RawSection> raw(shnum);
  for (uint16_t i = 0; i < shnum; ++i) {
    const uint64_t h = uint64_t{shoff} + uint64_t{i} * shentsize;
    raw[i] = {r.u32(h), r.u32(h + 4), r.u32(h + 8), r.u32(h + 12),
              r.u32(h + 16), r.u32(h + 20), r.u32(h + 24), r.u32(h + 36)};
  }
  if (shstrndx >= shnum) throw Error(path + ": bad ELF section name table index");
  const RawSection& names = raw[shstrndx];
  for (uint16_t i = 1; i < shnum; ++i) {
    const RawSection& s = raw[i];
    ElfSection out;
    out.name = r.str(names.offset, names.size, s.name);
    out.addr = s.addr;
    out.size = s.size;
    out.alloc = (s.flags & kShfAlloc) != 0;
    out.write = (s.flags & kShfWrite) != 0;
    out.nobits = s.type == kShtNobits;
    info.sections.push_back(std::move(out));
  }
  for (const RawSection& s : raw) {
    if (s.type != kShtSymtab) continue;
    if (s.link >= shnum) throw Error(path + ": bad ELF symbol string table link");
    const RawSection& strtab = raw[s.link];
    const uint32_t entsize = s.entsize ? s.entsize : 16;
    for (uint64_t off = 0; off + 16 <= s.size; off += entsize) {
      const uint64_t e = uint64_t{s.offset} + off;
      const uint32_t name = r.u32(e);
      if (name == 0) continue;
      ElfSymbol sym;
      sym.name = r.str(strtab.offset, strtab.size, name);
      sym.addr = r.u32(e + 4);
      sym.size = r.u32(e + 8);
      if (!sym.name.empty()) info.symbols.push_back(std::move(sym));
    }
  }
  return info;
}

std::optional<ElfSymbol> find_symbol(const ElfInfo& elf, const std::string& name) {
  for (const ElfSymbol& s : elf.symbols)
    if (s.name == name) return s;
  return std::nullopt;
}

}  // namespace tinynas::deploy
