// Byte sizes as people write them for MCUs: "1M" = 1 MiB = 1,048,576 bytes,
// "256K" = 262,144 bytes. Datasheets say kB/MB for binary units, so K, k, KB,
// kB, KiB all mean 1024 and M, MB, MiB mean 1024^2 (G likewise). A plain number
// is bytes ("262144" or "262144B"). Decimals are accepted when the result is a
// whole number of bytes ("1.5M").
#pragma once

#include <cstdint>
#include <string>

namespace tinynas {

// Parses text; on failure throws tinynas::Error naming `what` (the flag or key,
// e.g. "--sram") and the rejected text.
int64_t parse_size(const std::string& text, const std::string& what);
// "256 KiB", "1 MiB", "878.3 KiB", "123 B": for tables and messages.
std::string format_size(int64_t bytes);

}  // namespace tinynas
