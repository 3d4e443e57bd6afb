// tinynas::Error — the one exception type the project throws for bad input and
// failed operations. Messages say what and where ("configs/x.yaml:12: sram:
// expected a size like 256K"); the CLI prints what() and exits non-zero.
// Library code below the CLI throws; kernels and generated C never do.
#pragma once

#include <stdexcept>
#include <string>

namespace tinynas {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Formats "where: message", or just "message" when where is empty.
std::string at(const std::string& where, const std::string& message);

}  // namespace tinynas
