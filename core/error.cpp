#include "core/error.h"

namespace tinynas {

std::string at(const std::string& where, const std::string& message) {
  if (where.empty()) return message;
  return where + ": " + message;
}

namespace {

std::string escape_controls(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Moves a cut point back to the start of a UTF-8 sequence.
size_t char_boundary(std::string_view s, size_t pos) {
  while (pos > 0 && pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

std::string cut_middle(const std::string& s, size_t max_chars, const std::string& note) {
  if (s.size() <= max_chars) return s;
  const size_t keep = max_chars > 8 ? (max_chars - 3) / 2 : max_chars / 2;
  const size_t head = char_boundary(s, keep);
  const size_t tail = char_boundary(s, s.size() - keep);
  return s.substr(0, head) + "..." + s.substr(tail) + note;
}

}  // namespace

std::string shorten(std::string_view value, size_t max_chars) {
  return cut_middle(escape_controls(value), max_chars,
                    value.size() > max_chars ? " (" + std::to_string(value.size()) + " characters)" : "");
}

std::string one_line(std::string_view message, size_t max_chars) {
  return cut_middle(escape_controls(message), max_chars, "");
}

}  // namespace tinynas
