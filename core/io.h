// File output that never leaves half-written files: write to a temporary file
// beside the target, flush, then rename over it (atomic on POSIX).
#pragma once

#include <cstddef>
#include <string>

namespace tinynas {

// Writes content to path atomically; creates parent directories. Throws
// tinynas::Error naming the path on failure.
void write_file_atomic(const std::string& path, const std::string& content);
// Reads a whole file; throws tinynas::Error("path: cannot read: reason"),
// also for an empty path, and, when max_bytes > 0, for a file (or a device
// like /dev/zero) longer than that.
std::string read_file(const std::string& path, size_t max_bytes = 0);

}  // namespace tinynas
