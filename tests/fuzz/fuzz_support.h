// What the libFuzzer targets under tests/fuzz/ share.
//
// A target feeds the fuzzer's bytes to one reader and lets through only the
// reader's documented rejections (tinynas::Error; CLI::ParseError for the
// command line). Anything else, an escaping exception, a sanitizer report, a
// failed property check, is a crash that libFuzzer saves as a reproducer.
//
// Bugs that are known and being fixed are skipped, each by a known_*()
// function (here, or in the one target that meets it), so that the fuzzers
// keep finding new ones meanwhile. TINYNAS_FUZZ_STRICT in the environment
// skips nothing ("1") or not the bugs it names ("non_finite_latency,..."), to
// check a fix. Delete a known_*() when its fix is in. Cost: one getenv per
// process.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace tinynas::fuzz {

inline std::string as_text(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Aborts, which libFuzzer reports as a crash with its input, when a property
// the reader promises does not hold.
inline void check(bool ok, const char* property) {
  if (ok) return;
  std::fprintf(stderr, "tinynas fuzz: property failed: %s\n", property);
  std::abort();
}

// True when the known bug `name` is to be reported rather than skipped.
inline bool strict(const char* name) {
  static const std::string value = [] {
    const char* s = std::getenv("TINYNAS_FUZZ_STRICT");
    return std::string(s == nullptr ? "" : s);
  }();
  if (value.empty() || value == "0") return false;
  if (value == "1") return true;
  return ("," + value + ",").find("," + std::string(name) + ",") != std::string::npos;
}

}  // namespace tinynas::fuzz
