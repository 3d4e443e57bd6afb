#include "core/size.h"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace tinynas {
namespace {

[[noreturn]] void bad_size(const std::string& text, const std::string& what,
                           const std::string& why) {
  throw Error(at(what, "'" + shorten(text) + "' is not a size (" + shorten(why, 30) +
                           "); expected bytes or a number with K, KB, KiB, M, MB or MiB, "
                           "e.g. 256K or 1M"));
}

}  // namespace

int64_t parse_size(const std::string& text, const std::string& what) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  const size_t number_begin = i;
  bool seen_dot = false;
  while (i < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[i])) || (text[i] == '.' && !seen_dot))) {
    seen_dot |= text[i] == '.';
    ++i;
  }
  const std::string number = text.substr(number_begin, i - number_begin);
  if (number.empty() || number == ".") bad_size(text, what, "no number");
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::string unit;
  for (; i < text.size(); ++i) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) break;
    unit += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
  }
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i != text.size()) bad_size(text, what, "trailing text");

  int64_t scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "K" || unit == "KB" || unit == "KIB") scale = int64_t{1} << 10;
  else if (unit == "M" || unit == "MB" || unit == "MIB") scale = int64_t{1} << 20;
  else if (unit == "G" || unit == "GB" || unit == "GIB") scale = int64_t{1} << 30;
  else bad_size(text, what, "unknown unit '" + unit + "'");

  const double value = std::strtod(number.c_str(), nullptr) * static_cast<double>(scale);
  if (!(value <= 9.0e15)) bad_size(text, what, "too large");
  const double rounded = std::round(value);
  if (std::fabs(value - rounded) > 1e-6) bad_size(text, what, "not a whole number of bytes");
  return static_cast<int64_t>(rounded);
}

std::string format_size(int64_t bytes) {
  char buf[64];
  const double b = static_cast<double>(bytes);
  if (bytes >= (int64_t{1} << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", b / (1 << 20));
  else if (bytes >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
  else std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  return buf;
}

}  // namespace tinynas
