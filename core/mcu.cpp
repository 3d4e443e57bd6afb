#include "core/mcu.h"

#include <algorithm>

#include "core/doc.h"
#include "core/error.h"
#include "core/size.h"

namespace tinynas {
namespace {

using nlohmann::json;

constexpr int64_t kMaxMcuBytes = int64_t{1} << 32;
// Cycles per MAC, output, input or channel are a few at most, per-op
// overheads thousands; a bound far above both keeps every latency finite.
constexpr double kMaxLatencyCoefficient = 1e9;

int64_t get_size(const Document& doc, const json& obj, const std::string& pointer,
                 const std::string& key, bool required) {
  const json* v = find_member(doc, obj, pointer, key);
  if (v == nullptr || v->is_null()) {
    if (required) doc.fail(child(pointer, key), "missing (required)");
    return 0;
  }
  int64_t bytes = -1;
  if (v->is_number_integer() && !(v->is_number_unsigned() && v->get<uint64_t>() > uint64_t{1} << 62)) {
    bytes = v->get<int64_t>();
  } else if (v->is_string()) {
    try {
      bytes = parse_size(v->get<std::string>(), key);
    } catch (const Error& e) {
      doc.fail(child(pointer, key), "expected a size like 256K or 1M, got '" +
                                        shorten(v->get<std::string>()) + "'");
    }
  } else {
    doc.fail(child(pointer, key), "expected a size like 256K or 1M");
  }
  // A microcontroller addresses 32 bits; negative or larger sizes are typos
  // that would otherwise turn into negative flash and a false "fits".
  if (bytes < 0 || bytes > kMaxMcuBytes)
    doc.fail(child(pointer, key), "size " + std::to_string(bytes) + " is outside 0..4G");
  return bytes;
}


const char* const kCores[] = {"cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7",
                              "cortex-m33", "cortex-m55"};

}  // namespace

McuTarget mcu_from_document(const Document& doc) {
  const json& r = doc.root;
  if (!r.is_object()) doc.fail("", "an MCU description must be a mapping");
  McuTarget m;
  m.source = doc.path;
  m.name = get_string(doc, r, "", "name");
  m.part = get_string_or(doc, r, "", "part", m.name);
  m.core = get_string(doc, r, "", "core");
  if (std::find(std::begin(kCores), std::end(kCores), m.core) == std::end(kCores))
    doc.fail("/core", "unknown core '" + m.core +
                          "' (cortex-m0plus, cortex-m3, cortex-m4, cortex-m7, cortex-m33, cortex-m55)");
  m.dsp = get_bool_or(doc, r, "", "dsp", m.core == "cortex-m4" || m.core == "cortex-m7");
  const double mhz = get_number(doc, r, "", "clock_mhz");
  if (!(mhz > 0 && mhz < 10000)) doc.fail("/clock_mhz", "must be a positive clock in MHz");
  m.clock_hz = static_cast<int64_t>(mhz * 1e6 + 0.5);
  m.flash_bytes = get_size(doc, r, "", "flash", true);
  m.sram_bytes = get_size(doc, r, "", "sram", true);
  m.budget_flash_bytes = m.flash_bytes;
  m.budget_sram_bytes = m.sram_bytes;
  if (const json* b = find_member(doc, r, "", "budget"); b != nullptr && !b->is_null()) {
    if (!b->is_object()) doc.fail("/budget", "expected a mapping with flash and sram");
    if (int64_t f = get_size(doc, *b, "/budget", "flash", false); f > 0) m.budget_flash_bytes = f;
    if (int64_t s = get_size(doc, *b, "/budget", "sram", false); s > 0) m.budget_sram_bytes = s;
  }
  const json& res = get_object(doc, r, "", "reserved");
  m.reserved_sram_bytes = get_size(doc, res, "/reserved", "sram", true);
  m.reserved_flash_bytes = get_size(doc, res, "/reserved", "flash", true);
  if (const int64_t stack = get_size(doc, res, "/reserved", "stack", false); stack > 0)
    m.stack_bytes = stack;
  if (m.stack_bytes >= m.reserved_sram_bytes)
    doc.fail("/reserved/stack", "the stack must be part of reserved.sram (and smaller than it)");

  const json& code = get_object(doc, r, "", "code_bytes");
  for (int k = 0; k < kNumOpKinds; ++k) {
    const std::string name = op_kind_name(static_cast<OpKind>(k));
    m.kernel_code_bytes[k] = get_size(doc, code, "/code_bytes", name, true);
  }
  m.per_layer_code_bytes = get_size(doc, code, "/code_bytes", "per_layer", true);

  const json& lat = get_object(doc, r, "", "latency");
  m.latency_fitted = get_bool_or(doc, lat, "/latency", "fitted", false);
  for (int k = 0; k < kNumOpKinds; ++k) {
    const std::string name = op_kind_name(static_cast<OpKind>(k));
    const std::string p = child("/latency", name);
    const json& c = get_object(doc, lat, "/latency", name);
    OpLatencyCoeffs& o = m.latency[k];
    o.per_mac = get_number_or(doc, c, p, "per_mac", 0);
    o.per_output = get_number_or(doc, c, p, "per_output", 0);
    o.per_input = get_number_or(doc, c, p, "per_input", 0);
    o.per_op = get_number_or(doc, c, p, "per_op", 0);
    o.per_channel = get_number_or(doc, c, p, "per_channel", 0);
    for (const char* key : {"per_mac", "per_output", "per_input", "per_channel", "per_op"}) {
      const double v = get_number_or(doc, c, p, key, 0);
      if (v < 0) doc.fail(child(p, key), "must not be negative");
      if (!(v <= kMaxLatencyCoefficient)) doc.fail(child(p, key), "must be at most 1e9 cycles");
    }
  }
  if (const json* q = find_member(doc, r, "", "qemu"); q != nullptr && !q->is_null()) {
    m.qemu_machine = get_string(doc, *q, "/qemu", "machine");
    m.qemu_cpu = get_string_or(doc, *q, "/qemu", "cpu", m.core);
  }
  if (const json* mem = find_member(doc, r, "", "memory"); mem != nullptr && !mem->is_null()) {
    m.flash_origin = get_int_or(doc, *mem, "/memory", "flash_origin", 0);
    m.sram_origin = get_int_or(doc, *mem, "/memory", "sram_origin", 0x20000000);
    for (const char* key : {"flash_origin", "sram_origin"}) {
      const int64_t origin = key[0] == 'f' ? m.flash_origin : m.sram_origin;
      if (origin < 0 || origin >= kMaxMcuBytes)
        doc.fail(child("/memory", key), "address " + std::to_string(origin) + " is outside 32 bits");
    }
  }
  if (m.reserved_sram_bytes >= m.sram_bytes)
    doc.fail("/reserved/sram", "reserves all of the part's SRAM");
  if (m.reserved_flash_bytes >= m.flash_bytes)
    doc.fail("/reserved/flash", "reserves all of the part's flash");
  return m;
}

std::vector<std::string> known_mcus() { return list_configs("mcus"); }

McuTarget load_mcu(const std::string& name_or_path) {
  return mcu_from_document(load_document(resolve_config(name_or_path, "mcus", "MCU")));
}

Budget budget_for(const McuTarget& mcu, int64_t flash_bytes, int64_t sram_bytes,
                  double latency_ms) {
  Budget b;
  b.flash_bytes = flash_bytes > 0 ? flash_bytes : mcu.budget_flash_bytes;
  b.sram_bytes = sram_bytes > 0 ? sram_bytes : mcu.budget_sram_bytes;
  b.latency_ms = latency_ms;
  return b;
}

}  // namespace tinynas
