#include "core/doc.h"

#include "core/error.h"
#include "core/io.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <unordered_set>
#include <vector>

namespace tinynas {

namespace {

using nlohmann::json;

// Guards against inputs that are valid but pathological: the JSON line scan
// builds a pointer string per nesting level (quadratic memory for very deep
// nesting), and yaml-cpp lets an anchor refer to itself ("&a [*a]"), which
// would make the YAML conversion recurse forever. Real configs are a handful
// of levels deep and a few thousand values large.
constexpr size_t kMaxJsonScanDepth = 512;
// nlohmann's dump(), copy and comparison recurse once per nesting level, so a
// document nested tens of thousands deep would overflow the stack wherever it
// is printed or copied: such text is refused before it is parsed.
constexpr size_t kMaxJsonDepth = 512;
constexpr int kMaxYamlDepth = 512;
constexpr size_t kMaxYamlValues = 1'000'000;

std::string location(const std::string& path, int64_t line) {
  return path + ":" + std::to_string(line);
}

std::string location(const std::string& path, int64_t line, int64_t column) {
  return path + ":" + std::to_string(line) + ":" + std::to_string(column);
}

// A value as shown in "expected X, got Y" messages: its JSON text, cut short
// so that a whole nested object does not flood the terminal.
std::string show(const json& value) {
  constexpr size_t kMax = 60;
  // Replace, not throw, on invalid UTF-8: a message must never fail.
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

std::string unescape_component(std::string_view component) {
  std::string out;
  out.reserve(component.size());
  for (size_t i = 0; i < component.size(); ++i) {
    if (component[i] == '~' && i + 1 < component.size() &&
        (component[i + 1] == '0' || component[i + 1] == '1')) {
      out += component[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      out += component[i];
    }
  }
  return out;
}

std::vector<std::string> split_pointer(const std::string& pointer) {
  std::vector<std::string> parts;
  if (pointer.empty()) return parts;
  size_t start = pointer[0] == '/' ? 1 : 0;
  for (;;) {
    size_t slash = pointer.find('/', start);
    parts.push_back(unescape_component(
        std::string_view(pointer).substr(start, slash == std::string::npos ? std::string::npos
                                                                            : slash - start)));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

// The name fail() puts before the message: the nearest member name, followed
// by any array indices below it ("blocks[3]"), because a bare "3:" would not
// tell the user which list is meant.
std::string describe(const json& root, const std::string& pointer) {
  const json* node = &root;
  std::string label;
  for (const std::string& part : split_pointer(pointer)) {
    if (node != nullptr && node->is_array()) {
      label += "[" + part + "]";
      size_t index = 0;
      auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), index);
      bool valid = ec == std::errc() && end == part.data() + part.size() && index < node->size();
      node = valid ? &(*node)[index] : nullptr;
    } else {
      label = part;
      if (node != nullptr && node->is_object()) {
        auto it = node->find(part);
        node = it != node->end() ? &*it : nullptr;
      } else {
        node = nullptr;
      }
    }
  }
  return label;
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// First character that is neither whitespace nor part of a UTF-8 byte order
// mark (nlohmann skips a leading BOM, so the scan must too).
size_t content_start(const std::string& text) {
  size_t pos = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  while (pos < text.size() && is_json_space(text[pos])) ++pos;
  return pos;
}

// ---------------------------------------------------------------------------
// JSON

// 1-based line and column of byte offset `offset` in text.
std::pair<int64_t, int64_t> line_and_column(const std::string& text, size_t offset) {
  offset = std::min(offset, text.size());
  int64_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, static_cast<int64_t>(offset - line_start) + 1};
}

// nlohmann's what() is "[json.exception.parse_error.101] parse error at line
// L, column C: <reason>"; we print our own location, so keep only the reason.
std::string short_json_reason(const std::string& what) {
  size_t column = what.find("column ");
  if (column != std::string::npos) {
    size_t colon = what.find(": ", column);
    if (colon != std::string::npos) return what.substr(colon + 2);
  }
  size_t bracket = what.find("] ");
  return bracket != std::string::npos ? what.substr(bracket + 2) : what;
}

// Walks JSON text that nlohmann already accepted and records, for every value,
// the line where it starts. Iterative (an explicit stack) so that nesting depth
// costs heap, not call stack. Also rejects duplicate member names, which
// nlohmann would silently collapse to the last one.
class JsonLineScanner {
 public:
  JsonLineScanner(const std::string& text, Document& doc) : text_(text), doc_(doc) {}

  void run() {
    pos_ = text_.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    std::vector<Frame> stack;
    std::string pointer;  // pointer of the value about to start
    for (;;) {
      skip_space();
      doc_.lines[pointer] = line_;
      char c = peek();
      if (c == '{' || c == '[') {
        ++pos_;
        // Deeper values keep their nearest recorded ancestor's line.
        if (stack.size() >= kMaxJsonScanDepth) return;
        stack.push_back(Frame{pointer, c == '{', 0, {}});
        skip_space();
        if (peek() == (c == '{' ? '}' : ']')) {
          ++pos_;
          stack.pop_back();
        } else {
          if (!begin_member(stack.back(), &pointer)) return;
          continue;
        }
      } else if (c == '"') {
        if (!skip_string()) return;
      } else if (c == '\0') {
        return;
      } else {
        skip_bare_token();
      }
      // A value just ended: close finished containers or start the next member.
      for (;;) {
        if (stack.empty()) return;
        skip_space();
        char d = peek();
        ++pos_;
        if (d == ',') {
          if (!begin_member(stack.back(), &pointer)) return;
          break;
        }
        if (d != '}' && d != ']') return;  // cannot happen on accepted JSON
        stack.pop_back();
      }
    }
  }

 private:
  struct Frame {
    std::string pointer;
    bool is_object;
    size_t count;
    std::unordered_set<std::string> keys;
  };

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skip_space() {
    while (pos_ < text_.size() && is_json_space(text_[pos_])) {
      if (text_[pos_] == '\n') ++line_;
      ++pos_;
    }
  }

  // Leaves pos_ after the closing quote. JSON strings cannot contain raw
  // newlines, so no line counting is needed inside.
  bool skip_string() {
    ++pos_;  // opening quote
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\\') {
        pos_ += 2;
      } else {
        ++pos_;
        if (c == '"') return true;
      }
    }
    return false;
  }

  // Numbers and the literals true/false/null.
  void skip_bare_token() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (is_json_space(c) || c == ',' || c == ']' || c == '}' || c == ':') break;
      ++pos_;
    }
  }

  // Moves to the next member of frame: reads "key": for objects, counts for
  // arrays, and sets *pointer to the member's pointer.
  bool begin_member(Frame& frame, std::string* pointer) {
    if (!frame.is_object) {
      *pointer = child(frame.pointer, frame.count++);
      return true;
    }
    skip_space();
    if (peek() != '"') return false;
    size_t start = pos_;
    int32_t key_line = line_;
    if (!skip_string()) return false;
    std::string key = text_.substr(start + 1, pos_ - start - 2);
    // Escapes are rare in keys; let nlohmann decode them (\uXXXX, surrogate
    // pairs) rather than duplicating that logic here.
    if (key.find('\\') != std::string::npos) {
      key = json::parse(text_.substr(start, pos_ - start)).get<std::string>();
    }
    if (!frame.keys.insert(key).second) {
      throw Error(location(doc_.path, key_line) + ": duplicate key '" + key + "'");
    }
    skip_space();
    if (peek() != ':') return false;
    ++pos_;
    *pointer = child(frame.pointer, key);
    return true;
  }

  const std::string& text_;
  Document& doc_;
  size_t pos_ = 0;
  int32_t line_ = 1;
};

// Offset of the first bracket nested deeper than kMaxJsonDepth in JSON text,
// or npos. Strings are skipped (brackets inside them do not count).
size_t too_deep_at(const std::string& text) {
  size_t depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string::npos;
}

// Offset of the first byte that does not belong to well-formed UTF-8
// (overlong forms, surrogates and values past U+10FFFF included), or npos.
size_t invalid_utf8_at(const std::string& text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    i += len;
  }
  return std::string::npos;
}

// Parses text as JSON into doc. Returns false with *syntax_error set when
// nlohmann rejects it, so that the caller may try YAML instead.
bool try_parse_json(const std::string& text, Document& doc, std::string* syntax_error) {
  if (const size_t deep = too_deep_at(text); deep != std::string::npos) {
    auto [line, column] = line_and_column(text, deep);
    throw Error(location(doc.path, line, column) + ": nested deeper than " +
                std::to_string(kMaxJsonDepth) + " levels (the limit of a document)");
  }
  try {
    doc.root = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.byte counts the characters read, the offending one included.
    auto [line, column] = line_and_column(text, e.byte > 0 ? e.byte - 1 : 0);
    *syntax_error = location(doc.path, line, column) + ": malformed JSON: " +
                    short_json_reason(e.what());
    return false;
  } catch (const json::exception& e) {
    // E.g. a number too large for a double: nlohmann reports no position.
    *syntax_error = at(doc.path, "malformed JSON: " + short_json_reason(e.what()));
    return false;
  }
  JsonLineScanner(text, doc).run();
  return true;
}

// ---------------------------------------------------------------------------
// YAML

bool all_of_chars(std::string_view s, int (*pred)(int)) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [pred](unsigned char c) { return pred(c) != 0; });
}

// The YAML 1.2 core-schema decimal float, without .inf/.nan:
// [-+]? ( digits ( "." digits* )? | "." digits ) ( [eE] [-+]? digits )?
bool looks_like_float(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t mantissa = digits();
  if (i < s.size() && s[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

class YamlConverter {
 public:
  explicit YamlConverter(Document& doc) : doc_(doc) {}

  json convert(const YAML::Node& node, const std::string& pointer, int depth) {
    if (depth > kMaxYamlDepth) fail(node.Mark(), "nesting too deep (an alias refers to itself?)");
    if (++values_ > kMaxYamlValues) fail(node.Mark(), "document too large (alias expansion?)");
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar:
        return scalar(node);
      case YAML::NodeType::Sequence: {
        json array = json::array();
        size_t index = 0;
        for (const YAML::Node& item : node) {
          std::string item_pointer = child(pointer, index++);
          // yaml-cpp marks an empty item ("-" alone) with the position of the
          // token after it, often the next line; keep the list's line instead.
          if (!item.IsNull()) record(item_pointer, item.Mark());
          array.push_back(convert(item, item_pointer, depth + 1));
        }
        return array;
      }
      case YAML::NodeType::Map: {
        json object = json::object();
        for (const auto& entry : node) {
          const YAML::Node& key_node = entry.first;
          const YAML::Node& value = entry.second;
          if (!key_node.IsScalar()) {
            fail(key_node.Mark(), key_node.IsNull() ? "a mapping key must not be null"
                                                    : "a mapping key must be a plain value");
          }
          const std::string& key = key_node.Scalar();
          // yaml-cpp keeps both entries of a repeated key; a config with two
          // "sram:" lines is a mistake, not something to resolve silently.
          if (object.contains(key)) fail(key_node.Mark(), "duplicate key '" + key + "'");
          std::string value_pointer = child(pointer, key);
          // Same caveat as above for "key:" with no value: use the key's line.
          record(value_pointer, value.IsNull() ? key_node.Mark() : value.Mark());
          object[key] = convert(value, value_pointer, depth + 1);
        }
        return object;
      }
    }
    return nullptr;
  }

 private:
  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& message) const {
    throw Error(at(mark.is_null() ? doc_.path : location(doc_.path, mark.line + 1), message));
  }

  void record(const std::string& pointer, const YAML::Mark& mark) {
    if (!mark.is_null()) doc_.lines[pointer] = mark.line + 1;
  }

  json scalar(const YAML::Node& node) const {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    // "!" is what yaml-cpp gives quoted and block (| >) scalars: the author
    // wrote a string, even if it reads "123" or "true".
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;

    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
      return nullptr;
    }
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    if (std::optional<json> number = integer(node)) return *number;
    if (looks_like_float(text)) {
      // from_chars: locale-independent, unlike strtod; it takes no '+'.
      std::string_view digits = text;
      if (digits.front() == '+') digits.remove_prefix(1);
      double value = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(value)) {
        fail(node.Mark(), "number out of range: " + text);
      }
      return value;
    }
    return text;
  }

  // Decimal ([-+]?[0-9]+) or hexadecimal ([-+]?0x[0-9a-fA-F]+) int64.
  std::optional<json> integer(const YAML::Node& node) const {
    std::string_view s = node.Scalar();
    bool negative = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
      negative = s.front() == '-';
      s.remove_prefix(1);
    }
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      s.remove_prefix(2);
      base = 16;
      if (!all_of_chars(s, std::isxdigit)) return std::nullopt;
    } else if (!all_of_chars(s, std::isdigit)) {
      return std::nullopt;
    }
    uint64_t magnitude = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
    constexpr uint64_t kMaxPositive = std::numeric_limits<int64_t>::max();
    if (ec != std::errc() || magnitude > kMaxPositive + (negative ? 1 : 0)) {
      fail(node.Mark(), "integer out of range: " + node.Scalar());
    }
    // Negate in unsigned arithmetic so that INT64_MIN does not overflow.
    int64_t value = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return json(value);
  }

  Document& doc_;
  size_t values_ = 0;
};

void parse_yaml(const std::string& text, Document& doc) {
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp marks are 0-based.
    std::string where = e.mark.is_null()
                            ? doc.path
                            : location(doc.path, e.mark.line + 1, e.mark.column + 1);
    throw Error(at(where, "malformed YAML: " + e.msg));
  }
  if (!node.IsNull() && !node.Mark().is_null()) doc.lines[""] = node.Mark().line + 1;
  doc.root = YamlConverter(doc).convert(node, "", 0);
}

// ---------------------------------------------------------------------------
// Accessors

// The member, or nullptr when absent; obj must be an object (or, when
// null_is_empty, null, as left by an empty "options:" line in YAML).
const json* member(const Document& doc, const json& obj, const std::string& pointer,
                   const std::string& key, bool null_is_empty) {
  if (obj.is_object()) return find_member(doc, obj, pointer, key);
  if (null_is_empty && obj.is_null()) return nullptr;
  doc.fail(pointer, "expected an object with '" + key + "', got " + show(obj));
}

const json& required(const Document& doc, const json& obj, const std::string& pointer,
                     const std::string& key) {
  const json* value = member(doc, obj, pointer, key, false);
  // The child has no line of its own; where() falls back to the object's.
  if (value == nullptr) doc.fail(child(pointer, key), "required key is missing");
  return *value;
}

// Present and not null, or nullptr.
const json* optional_member(const Document& doc, const json& obj, const std::string& pointer,
                            const std::string& key) {
  const json* value = member(doc, obj, pointer, key, true);
  return value != nullptr && !value->is_null() ? value : nullptr;
}

int64_t to_int(const Document& doc, const json& value, const std::string& pointer) {
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      doc.fail(pointer, "integer out of range: " + show(value));
    }
    return static_cast<int64_t>(value.get<uint64_t>());
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) {
    // "4.0" is a fine way to write 4 (and what some JSON writers emit).
    double d = value.get<double>();
    constexpr double kLimit = 9223372036854775808.0;  // 2^63
    if (std::isfinite(d) && d == std::trunc(d) && d >= -kLimit && d < kLimit) {
      return static_cast<int64_t>(d);
    }
  }
  doc.fail(pointer, "expected an integer, got " + show(value));
}

double to_number(const Document& doc, const json& value, const std::string& pointer) {
  if (!value.is_number()) doc.fail(pointer, "expected a number, got " + show(value));
  return value.get<double>();
}

std::string to_string(const Document& doc, const json& value, const std::string& pointer) {
  if (!value.is_string()) doc.fail(pointer, "expected a string, got " + show(value));
  return value.get<std::string>();
}

}  // namespace

// ---------------------------------------------------------------------------
// Document

std::string Document::where(const std::string& pointer) const {
  std::string p = pointer;
  for (;;) {
    auto it = lines.find(p);
    if (it != lines.end()) return location(path, it->second);
    if (p.empty()) return path;
    size_t slash = p.rfind('/');
    p.erase(slash == std::string::npos ? 0 : slash);
  }
}

void Document::fail(const std::string& pointer, const std::string& message) const {
  if (pointer.empty()) throw Error(at(where(pointer), message));
  throw Error(at(where(pointer), describe(root, pointer) + ": " + message));
}

Document parse_document(const std::string& text, const std::string& name) {
  Document doc;
  doc.path = name;
  const std::string ext = lowercase(std::filesystem::path(name).extension().string());
  const bool yaml_name = ext == ".yaml" || ext == ".yml";
  if (const size_t bad = invalid_utf8_at(text); bad != std::string::npos) {
    auto [line, column] = line_and_column(text, bad);
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    throw Error(location(doc.path, line, column) + ": not UTF-8 text (byte " + byte + ")");
  }
  const size_t start = content_start(text);
  const bool json_shape = start < text.size() && (text[start] == '{' || text[start] == '[');

  std::string json_error;
  if (!yaml_name) {
    if (!try_parse_json(text, doc, &json_error)) throw Error(json_error);
    return doc;
  }
  // A .yaml file that starts like JSON is usually JSON (JSON is nearly a YAML
  // subset, and nlohmann's reading of it is exact); but YAML flow style such
  // as "{a: 1}" starts the same way, so fall back to YAML when JSON fails.
  if (json_shape && try_parse_json(text, doc, &json_error)) return doc;
  doc.root = nullptr;
  doc.lines.clear();
  parse_yaml(text, doc);
  return doc;
}

Document load_document(const std::string& path) {
  return parse_document(read_file(path, kMaxDocumentBytes), path);
}

// ---------------------------------------------------------------------------
// Accessors

const json* find_member(const Document& doc, const json& obj, const std::string& pointer,
                        const std::string& key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it != obj.end() ? &*it : nullptr;
}

int64_t get_int(const Document& doc, const json& obj, const std::string& pointer,
                const std::string& key) {
  return to_int(doc, required(doc, obj, pointer, key), child(pointer, key));
}

int64_t get_int_or(const Document& doc, const json& obj, const std::string& pointer,
                   const std::string& key, int64_t fallback) {
  const json* value = optional_member(doc, obj, pointer, key);
  return value != nullptr ? to_int(doc, *value, child(pointer, key)) : fallback;
}

double get_number(const Document& doc, const json& obj, const std::string& pointer,
                  const std::string& key) {
  return to_number(doc, required(doc, obj, pointer, key), child(pointer, key));
}

double get_number_or(const Document& doc, const json& obj, const std::string& pointer,
                     const std::string& key, double fallback) {
  const json* value = optional_member(doc, obj, pointer, key);
  return value != nullptr ? to_number(doc, *value, child(pointer, key)) : fallback;
}

std::string get_string(const Document& doc, const json& obj, const std::string& pointer,
                       const std::string& key) {
  return to_string(doc, required(doc, obj, pointer, key), child(pointer, key));
}

std::string get_string_or(const Document& doc, const json& obj, const std::string& pointer,
                          const std::string& key, const std::string& fallback) {
  const json* value = optional_member(doc, obj, pointer, key);
  return value != nullptr ? to_string(doc, *value, child(pointer, key)) : fallback;
}

bool get_bool_or(const Document& doc, const json& obj, const std::string& pointer,
                 const std::string& key, bool fallback) {
  const json* value = optional_member(doc, obj, pointer, key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) {
    doc.fail(child(pointer, key), "expected true or false, got " + show(*value));
  }
  return value->get<bool>();
}

const json& get_object(const Document& doc, const json& obj, const std::string& pointer,
                       const std::string& key) {
  const json& value = required(doc, obj, pointer, key);
  if (!value.is_object()) doc.fail(child(pointer, key), "expected a mapping, got " + show(value));
  return value;
}

const json& get_array(const Document& doc, const json& obj, const std::string& pointer,
                      const std::string& key) {
  const json& value = required(doc, obj, pointer, key);
  if (!value.is_array()) doc.fail(child(pointer, key), "expected a list, got " + show(value));
  return value;
}

std::string child(const std::string& pointer, const std::string& key) {
  std::string out = pointer;
  out.reserve(pointer.size() + key.size() + 1);
  out += '/';
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string child(const std::string& pointer, size_t index) {
  return pointer + "/" + std::to_string(index);
}

}  // namespace tinynas
