#include "deploy/c_emitter.h"

#include <cstdio>
#include <sstream>

namespace tinynas::deploy {

void CEmitter::line(std::string_view text) {
  if (!text.empty()) out_.append(static_cast<size_t>(indent_) * 2, ' ');
  out_ += text;
  out_ += '\n';
}

void CEmitter::comment(std::string_view text) {
  // Greedy word wrap; explicit newlines start new lines.
  constexpr size_t kWidth = 88;
  std::vector<std::string> lines;
  std::string current;
  std::istringstream paragraphs{std::string(text)};
  std::string paragraph;
  while (std::getline(paragraphs, paragraph)) {
    // A paragraph's leading spaces are kept (for indented detail lines).
    const std::string lead = paragraph.substr(0, paragraph.find_first_not_of(' ') == std::string::npos
                                                     ? 0 : paragraph.find_first_not_of(' '));
    std::istringstream words(paragraph);
    std::string word;
    current = lead;
    while (words >> word) {
      if (current.size() > lead.size() && current.size() + 1 + word.size() > kWidth) {
        lines.push_back(current);
        current = lead;
      }
      current += (current.size() == lead.size() ? "" : " ") + word;
    }
    lines.push_back(current);
  }
  if (lines.size() == 1) {
    line("/* " + lines[0] + " */");
    return;
  }
  line("/*");
  for (const auto& l : lines) line(l.empty() ? " *" : " * " + l);
  line(" */");
}

void CEmitter::open(std::string_view head) {
  line(std::string(head) + " {");
  ++indent_;
}

void CEmitter::close(std::string_view tail) {
  --indent_;
  line(tail);
}

void CEmitter::struct_init(std::string_view storage, std::string_view type, std::string_view name,
                           const std::vector<CField>& fields) {
  std::string head;
  if (!storage.empty()) head += std::string(storage) + " ";
  head += std::string(type) + " " + std::string(name) + " =";
  open(head);
  fields_block(fields);
  close("};");
}

void CEmitter::fields_block(const std::vector<CField>& fields) {
  for (const CField& f : fields) {
    if (!f.nested.empty()) {
      open("." + f.name + " =");
      fields_block(f.nested);
      close("},");
      continue;
    }
    std::string l = "." + f.name + " = " + f.value + ",";
    if (!f.comment.empty()) l += "  /* " + f.comment + " */";
    line(l);
  }
}

template <typename T>
void CEmitter::array(std::string_view decl, const std::vector<T>& values, int per_line) {
  open(std::string(decl) + " =");
  std::string l;
  for (size_t i = 0; i < values.size(); ++i) {
    l += std::to_string(static_cast<int64_t>(values[i])) + ",";
    if ((i + 1) % static_cast<size_t>(per_line) == 0 || i + 1 == values.size()) {
      line(l);
      l.clear();
    } else {
      l += ' ';
    }
  }
  close("};");
}

template void CEmitter::array<int8_t>(std::string_view, const std::vector<int8_t>&, int);
template void CEmitter::array<int32_t>(std::string_view, const std::vector<int32_t>&, int);

std::string c_int(int64_t v) {
  // INT32_MIN cannot be written as a negative literal in C.
  if (v == INT32_MIN) return "(-2147483647 - 1)";
  return std::to_string(v);
}

std::string c_float(float v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9gf", static_cast<double>(v));
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s.insert(s.size() - 1, ".0");
  return s;
}

std::string c_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

std::string c_braced(const std::vector<CField>& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    out += (i ? ", ." : ".") + fields[i].name + " = " + fields[i].value;
  }
  return out + "}";
}

}  // namespace tinynas::deploy
