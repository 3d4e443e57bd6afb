// libFuzzer target: MCU YAML, read (core/mcu.h: mcu_from_document, what
// load_mcu does after finding the file) and rewritten (core/mcu_yaml.h:
// replace_latency_block, what `tinynas calibrate` does to the same file).
//
// Bytes -> parse_document(text, "mcu.yaml") -> mcu_from_document; and the same
// text -> replace_latency_block. Property, when the text is a valid MCU and its
// block was replaced: the result loads with exactly the new coefficients and
// the rest unchanged, the check write_mcu_latency makes before writing (a
// failure there refuses a calibration that should have been written). Cost
// per input: one or two YAML parses and a line scan.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/doc.h"
#include "core/error.h"
#include "core/mcu.h"
#include "core/mcu_yaml.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using tinynas::McuTarget;

// Coefficients of the kinds calibrate writes: shortest-text doubles that are
// not exact decimals in binary (0.1), tiny, large and zero.
tinynas::LatencyBlock fitted_block() {
  tinynas::LatencyBlock block;
  block.comments = {"fitted by the fuzz target", "# already a comment"};
  const double values[] = {0.1, 3.1e-05, 812, 0, 4.125, 1e9};
  for (size_t k = 0; k < block.coeffs.size(); ++k) {
    tinynas::OpLatencyCoeffs& c = block.coeffs[k];
    c.per_mac = values[k % 6];
    c.per_output = values[(k + 1) % 6];
    c.per_input = values[(k + 2) % 6];
    c.per_channel = values[(k + 3) % 6];
    c.per_op = values[(k + 4) % 6];
  }
  return block;
}

bool same_apart_from_latency(const McuTarget& a, const McuTarget& b) {
  return a.name == b.name && a.part == b.part && a.core == b.core && a.dsp == b.dsp &&
         a.clock_hz == b.clock_hz && a.flash_bytes == b.flash_bytes &&
         a.sram_bytes == b.sram_bytes && a.budget_flash_bytes == b.budget_flash_bytes &&
         a.budget_sram_bytes == b.budget_sram_bytes &&
         a.reserved_sram_bytes == b.reserved_sram_bytes && a.stack_bytes == b.stack_bytes &&
         a.reserved_flash_bytes == b.reserved_flash_bytes &&
         a.kernel_code_bytes == b.kernel_code_bytes &&
         a.per_layer_code_bytes == b.per_layer_code_bytes && a.qemu_machine == b.qemu_machine &&
         a.qemu_cpu == b.qemu_cpu && a.flash_origin == b.flash_origin &&
         a.sram_origin == b.sram_origin;
}

bool has_coefficients(const McuTarget& m, const tinynas::LatencyBlock& block) {
  if (m.latency_fitted != block.fitted) return false;
  for (size_t k = 0; k < block.coeffs.size(); ++k) {
    const tinynas::OpLatencyCoeffs& a = m.latency[k];
    const tinynas::OpLatencyCoeffs& b = block.coeffs[k];
    if (a.per_mac != b.per_mac || a.per_output != b.per_output || a.per_input != b.per_input ||
        a.per_channel != b.per_channel || a.per_op != b.per_op)
      return false;
  }
  return true;
}

void check_rewrite(const McuTarget& before, const std::string& text) {
  static const tinynas::LatencyBlock block = fitted_block();
  std::string updated;
  try {
    updated = tinynas::replace_latency_block(text, block, "mcu.yaml");
  } catch (const tinynas::Error&) {
    return;  // e.g. a `latency:` key this line scan does not see; refused with a message
  }
  McuTarget after;
  try {
    after = tinynas::mcu_from_document(tinynas::parse_document(updated, "mcu.yaml"));
  } catch (const tinynas::Error& e) {
    std::fprintf(stderr, "tinynas fuzz: the rewritten MCU does not load: %s\n", e.what());
    tinynas::fuzz::check(false, "replace_latency_block keeps a valid MCU valid");
  }
  tinynas::fuzz::check(has_coefficients(after, block),
                       "the rewritten MCU reads back as the new coefficients");
  tinynas::fuzz::check(same_apart_from_latency(after, before),
                       "replace_latency_block changes nothing but the latency block");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = tinynas::fuzz::as_text(data, size);
  try {
    const McuTarget mcu = tinynas::mcu_from_document(tinynas::parse_document(text, "mcu.yaml"));
    check_rewrite(mcu, text);
  } catch (const tinynas::Error&) {
    // Not a valid MCU: the rewrite must still fail cleanly or succeed.
    try {
      tinynas::replace_latency_block(text, fitted_block(), "mcu.yaml");
    } catch (const tinynas::Error&) {
    }
  }
  return 0;
}
