// libFuzzer target: the size parser (core/size.h), as `--flash 1M` and the
// YAML `sram: 256K` use it.
//
// Bytes -> parse_size(text, "--sram"); an accepted size goes through
// format_size for tables. Properties: an accepted size is 0..9e15 bytes (what
// parse_size allows), and a rejection's message names the flag. Cost per
// input: linear in its length.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/size.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = tinynas::fuzz::as_text(data, size);
  try {
    const int64_t bytes = tinynas::parse_size(text, "--sram");
    tinynas::fuzz::check(bytes >= 0 && bytes <= int64_t{9'000'000'000'000'000},
                         "an accepted size is 0..9e15 bytes");
    tinynas::fuzz::check(!tinynas::format_size(bytes).empty(), "format_size gives text");
  } catch (const tinynas::Error& e) {
    tinynas::fuzz::check(std::string(e.what()).starts_with("--sram: "),
                         "a rejected size's message names the flag");
  }
  return 0;
}
