// tinynas::Error — the one exception type the project throws for bad input and
// failed operations. Messages say what and where ("configs/x.yaml:12: sram:
// expected a size like 256K"); the CLI prints what() and exits non-zero.
// Library code below the CLI throws; kernels and generated C never do.
#pragma once

#include <stdexcept>
#include <cstddef>
#include <string>
#include <string_view>

namespace tinynas {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Formats "where: message", or just "message" when where is empty.
std::string at(const std::string& where, const std::string& message);

// A user's value as quoted in a message: control characters escaped (a
// newline becomes \n, so a message stays one line) and, past max_chars,
// cut in the middle ("abc...xyz (100000 characters)").
std::string shorten(std::string_view value, size_t max_chars = 60);
// A whole message made fit for one line of a terminal: control characters
// escaped, at most max_chars long.
std::string one_line(std::string_view message, size_t max_chars = 600);

}  // namespace tinynas
