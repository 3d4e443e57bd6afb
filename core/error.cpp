#include "core/error.h"

namespace tinynas {

std::string at(const std::string& where, const std::string& message) {
  if (where.empty()) return message;
  return where + ": " + message;
}

}  // namespace tinynas
