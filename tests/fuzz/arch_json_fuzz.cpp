// libFuzzer target: the architecture reader (core/arch_io.h), in both forms it
// takes: tinynas JSON and MCUNet/OFA net.config.
//
// Bytes -> parse_document(text, "arch.json") -> arch_from_document, as
// load_arch does for `tinynas cost --arch`. A net.config without a resolution
// is read again with an override, as `--resolution 96` would. Property: an
// accepted architecture round-trips (arch_to_json, dumped and read back, is
// the same ArchSpec), which arch_io.h promises. Cost per input: one parse,
// one validation per block read (validate_read_so_far), twice when accepted.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/arch.h"
#include "core/arch_io.h"
#include "core/doc.h"
#include "core/error.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using tinynas::ArchSpec;
using tinynas::Document;

void check_round_trip(const ArchSpec& arch) {
  const std::string text = tinynas::arch_to_json(arch).dump();
  ArchSpec back;
  try {
    back = tinynas::arch_from_document(tinynas::parse_document(text, "round-trip.json"));
  } catch (const tinynas::Error& e) {
    std::fprintf(stderr, "tinynas fuzz: the written architecture does not read back: %s\n", e.what());
    tinynas::fuzz::check(false, "arch_to_json output is accepted by arch_from_document");
  }
  tinynas::fuzz::check(back == arch, "arch_to_json -> arch_from_document gives the same ArchSpec");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const Document doc = tinynas::parse_document(tinynas::fuzz::as_text(data, size), "arch.json");
    ArchSpec arch;
    try {
      arch = tinynas::arch_from_document(doc);
    } catch (const tinynas::Error&) {
      if (!tinynas::is_net_config(doc.root) || doc.root.contains("resolution")) return 0;
      arch = tinynas::arch_from_document(doc, 96);
    }
    check_round_trip(arch);
  } catch (const tinynas::Error&) {
    // A rejection with a message: what the reader is for.
  }
  return 0;
}
