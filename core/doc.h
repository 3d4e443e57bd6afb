// Documents read from user files (YAML or JSON) with their source locations.
//
// Every reader of a user-written file (architecture JSON, MCU and space YAML,
// CLI --config files) goes through load_document(), so that a bad value can be
// reported as "file:line: key: what was expected" whatever the file format.
//
// - YAML is parsed with yaml-cpp, whose marks give each node's line.
// - JSON is parsed with nlohmann::json; a light scan of the same text maps each
//   JSON pointer to the line where its value starts (nlohmann keeps no
//   positions). Syntax errors from either parser are rethrown as tinynas::Error
//   with file, line and column.
// The value tree is always nlohmann::json, so readers are written once.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace tinynas {

struct Document {
  std::string path;       // as given by the user, used in messages
  nlohmann::json root;    // the parsed value tree
  // JSON pointer ("/blocks/3/kernel_size", "" for the root) -> 1-based line.
  std::unordered_map<std::string, int32_t> lines;

  // "path:line" for the value at pointer (falls back to the nearest parent
  // with a known line, then to just the path).
  std::string where(const std::string& pointer) const;
  // Throws tinynas::Error("path:line: key: message"), key being the last
  // component of pointer (or the whole pointer when nested deeper is clearer).
  [[noreturn]] void fail(const std::string& pointer, const std::string& message) const;
};

// Architecture, MCU and experiment files are kilobytes; anything larger (or
// endless, like /dev/zero) is refused by name rather than read into memory.
inline constexpr size_t kMaxDocumentBytes = size_t{16} << 20;

// Reads path and parses it as YAML (.yaml/.yml) or JSON (anything else, or
// content starting with '{' or '['). Throws tinynas::Error on a missing file,
// a file past kMaxDocumentBytes, text that is not UTF-8, JSON nested deeper
// than 512 levels or a syntax error, naming file, line and column.
Document load_document(const std::string& path);
// Same, from text already in memory; name is used in messages and to pick the
// format by extension.
Document parse_document(const std::string& text, const std::string& name);

// Typed accessors that report errors through doc.fail(). `pointer` is the
// pointer of `obj` within doc; `key` a member name.
const nlohmann::json* find_member(const Document& doc, const nlohmann::json& obj,
                                  const std::string& pointer, const std::string& key);
int64_t get_int(const Document& doc, const nlohmann::json& obj, const std::string& pointer,
                const std::string& key);
int64_t get_int_or(const Document& doc, const nlohmann::json& obj, const std::string& pointer,
                   const std::string& key, int64_t fallback);
double get_number(const Document& doc, const nlohmann::json& obj, const std::string& pointer,
                  const std::string& key);
double get_number_or(const Document& doc, const nlohmann::json& obj,
                     const std::string& pointer, const std::string& key, double fallback);
std::string get_string(const Document& doc, const nlohmann::json& obj,
                       const std::string& pointer, const std::string& key);
std::string get_string_or(const Document& doc, const nlohmann::json& obj,
                          const std::string& pointer, const std::string& key,
                          const std::string& fallback);
bool get_bool_or(const Document& doc, const nlohmann::json& obj, const std::string& pointer,
                 const std::string& key, bool fallback);
// A required member that must be an object (mapping) / an array (list).
const nlohmann::json& get_object(const Document& doc, const nlohmann::json& obj,
                                 const std::string& pointer, const std::string& key);
const nlohmann::json& get_array(const Document& doc, const nlohmann::json& obj,
                                const std::string& pointer, const std::string& key);
// Escapes a key for use as a JSON pointer component and appends it.
std::string child(const std::string& pointer, const std::string& key);
std::string child(const std::string& pointer, size_t index);

}  // namespace tinynas
