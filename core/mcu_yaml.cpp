#include "core/mcu_yaml.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "core/io.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;

// A line of the file without its terminator; `end` is "\n", "\r\n" or "" (the
// last line of a file without a final newline).
struct Line {
  std::string text;
  std::string end;
};

std::vector<Line> split_lines(const std::string& text) {
  std::vector<Line> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back({text.substr(start), ""});
      break;
    }
    Line l{text.substr(start, nl - start), "\n"};
    if (!l.text.empty() && l.text.back() == '\r') {
      l.text.pop_back();
      l.end = "\r\n";
    }
    lines.push_back(std::move(l));
    start = nl + 1;
  }
  return lines;
}

bool is_blank(const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; }
bool is_indented(const std::string& s) { return !s.empty() && (s[0] == ' ' || s[0] == '\t'); }
bool is_top_comment(const std::string& s) { return !s.empty() && s[0] == '#'; }

// "latency:" at column 0, followed by nothing, spaces, a comment or a value.
// Returns the position just after the colon, or npos.
size_t latency_key_end(const std::string& s) {
  static const std::string kKey = "latency";
  if (s.compare(0, kKey.size(), kKey) != 0) return std::string::npos;
  size_t i = kKey.size();
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  if (i >= s.size() || s[i] != ':') return std::string::npos;
  ++i;
  if (i < s.size() && s[i] != ' ' && s[i] != '\t')
    return std::string::npos;  // "latency:x" is a scalar
  return i;
}

// 0-based line of the first top-level key of the YAML mapping in `text` that
// starts after line `after`, or npos (also when the text is not a mapping
// yaml-cpp reads).
size_t next_top_level_key_line(const std::string& text, size_t after) {
  size_t next = std::string::npos;
  try {
    const YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) return next;
    for (const auto& entry : root) {
      const YAML::Mark m = entry.first.Mark();
      if (m.is_null() || m.line < 0) continue;
      const size_t line = static_cast<size_t>(m.line);
      if (line > after && line < next) next = line;
    }
  } catch (const YAML::Exception&) {
  }
  return next;
}

}  // namespace

std::string format_coefficient(double v) {
  if (v == 0) return "0";  // also -0
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) throw Error("cannot format coefficient " + std::to_string(v));
  return std::string(buf, end);
}

std::string replace_latency_block(const std::string& text, const LatencyBlock& block,
                                  const std::string& name) {
  for (int k = 0; k < kNumOpKinds; ++k) {
    const OpLatencyCoeffs& c = block.coeffs[static_cast<size_t>(k)];
    for (double v : {c.per_mac, c.per_output, c.per_input, c.per_channel, c.per_op})
      if (!std::isfinite(v) || v < 0)
        throw Error(name + ": refusing to write latency coefficient " + std::to_string(v) +
                    " for " + op_kind_name(static_cast<OpKind>(k)) + " (must be finite and >= 0)");
  }
  const std::vector<Line> lines = split_lines(text);
  size_t start = std::string::npos;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (latency_key_end(lines[i].text) == std::string::npos) continue;
    if (start != std::string::npos)
      throw Error(name + ":" + std::to_string(i + 1) +
                  ": a second top-level `latency:` key (the first is on line " +
                  std::to_string(start + 1) + ")");
    start = i;
  }
  if (start == std::string::npos) throw Error(name + ": no top-level `latency:` block to replace");

  // The block runs through the last indented line before the next top-level
  // key. A column-0 comment is inside it when indented lines follow it; so is
  // a column-0 line before the next top-level key as yaml-cpp places it (the
  // continuation of a flow mapping written over several lines).
  const size_t next_key = next_top_level_key_line(text, start);
  size_t last = start;
  for (size_t i = start + 1; i < lines.size(); ++i) {
    const std::string& s = lines[i].text;
    if (is_blank(s)) continue;
    if (is_indented(s) || (i < next_key && !is_top_comment(s))) {
      last = i;
      continue;
    }
    if (is_top_comment(s)) {
      size_t j = i + 1;
      while (j < lines.size() && (is_blank(lines[j].text) || is_top_comment(lines[j].text))) ++j;
      if (j < lines.size() && is_indented(lines[j].text)) {
        i = j - 1;
        continue;
      }
    }
    break;
  }

  // Line ending and indentation as the file has them.
  std::string nl = "\n";
  for (const Line& l : lines)
    if (!l.end.empty()) {
      nl = l.end;
      break;
    }
  std::string indent = "  ";
  for (size_t i = start + 1; i <= last; ++i) {
    const std::string& s = lines[i].text;
    if (is_indented(s) && !is_blank(s)) {
      indent = s.substr(0, s.find_first_not_of(" \t"));
      break;
    }
  }

  const std::string& key_line = lines[start].text;
  const size_t after_colon = latency_key_end(key_line);
  const size_t value_at = key_line.find_first_not_of(" \t", after_colon);
  const bool key_line_bare = value_at == std::string::npos || key_line[value_at] == '#';

  std::string out;
  for (size_t i = 0; i < start; ++i) out += lines[i].text + lines[i].end;
  out += (key_line_bare ? key_line : std::string("latency:")) + nl;
  for (std::string c : block.comments) {
    for (char& ch : c)
      if (ch == '\n' || ch == '\r') ch = ' ';
    out += indent + (c.starts_with("#") ? c : "# " + c) + nl;
  }
  out += indent + "fitted: " + (block.fitted ? "true" : "false") + nl;
  for (int k = 0; k < kNumOpKinds; ++k) {
    const OpLatencyCoeffs& c = block.coeffs[static_cast<size_t>(k)];
    out += indent + op_kind_name(static_cast<OpKind>(k)) +
           ": {per_mac: " + format_coefficient(c.per_mac) +
           ", per_output: " + format_coefficient(c.per_output) +
           ", per_input: " + format_coefficient(c.per_input) +
           ", per_channel: " + format_coefficient(c.per_channel) +
           ", per_op: " + format_coefficient(c.per_op) + "}";
    // The block's last line keeps the terminator the file had there (none at
    // the end of a file without a final newline).
    out += (k + 1 == kNumOpKinds && last + 1 == lines.size()) ? lines[last].end : nl;
  }
  for (size_t i = last + 1; i < lines.size(); ++i) out += lines[i].text + lines[i].end;
  return out;
}

void write_mcu_latency(const std::string& path, const LatencyBlock& block) {
  const std::string text = read_file(path);
  const std::string updated = replace_latency_block(text, block, path);

  // Load the result before it replaces the file: it must read back as exactly
  // these coefficients (and everything else as before).
  const McuTarget before = load_mcu(path);
  const fs::path check =
      fs::temp_directory_path() / ("tinynas_mcu_check_" + std::to_string(::getpid()) + "_" +
                                   fs::path(path).filename().string());
  McuTarget after;
  try {
    write_file_atomic(check.string(), updated);
    after = load_mcu(check.string());
  } catch (const Error& e) {
    std::error_code ec;
    fs::remove(check, ec);
    throw Error(path + ": the rewritten file does not load (" + e.what() + "); left unchanged");
  }
  std::error_code ec;
  fs::remove(check, ec);
  bool same = after.latency_fitted == block.fitted && after.name == before.name &&
              after.clock_hz == before.clock_hz && after.sram_bytes == before.sram_bytes &&
              after.flash_bytes == before.flash_bytes &&
              after.kernel_code_bytes == before.kernel_code_bytes &&
              after.qemu_machine == before.qemu_machine;
  for (int k = 0; k < kNumOpKinds; ++k) {
    const OpLatencyCoeffs& a = after.latency[static_cast<size_t>(k)];
    const OpLatencyCoeffs& b = block.coeffs[static_cast<size_t>(k)];
    same = same && a.per_mac == b.per_mac && a.per_output == b.per_output &&
           a.per_input == b.per_input && a.per_channel == b.per_channel && a.per_op == b.per_op;
  }
  if (!same)
    throw Error(
        path +
        ": the rewritten file does not read back as the fitted coefficients; left unchanged");
  write_file_atomic(path, updated);
}

}  // namespace tinynas
