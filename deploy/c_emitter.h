// A small emitter for readable C: lines at the current indentation, /* */
// comments, blocks, and designated-initialiser structs built from typed
// fields. The code generator writes through this, never by gluing strings
// from untyped dictionaries, so every emitted struct names its fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tinynas::deploy {

// One `.name = value,` of a designated initialiser, with an optional comment.
struct CField {
  std::string name;
  std::string value;
  std::string comment;
  std::vector<CField> nested = {};  // when set, emitted as a nested block instead of value
};

class CEmitter {
 public:
  void line(std::string_view text = {});
  void comment(std::string_view text);  // wrapped /* ... */ block at ~90 columns
  void open(std::string_view head);      // "head {" and indent
  void close(std::string_view tail = "}");
  // `static const <type> <name> = { .a = ..., };`
  void struct_init(std::string_view storage, std::string_view type, std::string_view name,
                   const std::vector<CField>& fields);
  // A const array, `per_line` values a line.
  template <typename T>
  void array(std::string_view decl, const std::vector<T>& values, int per_line);
  const std::string& str() const { return out_; }

 private:
  void fields_block(const std::vector<CField>& fields);
  std::string out_;
  int indent_ = 0;
};

// C literals.
std::string c_int(int64_t v);
std::string c_float(float v);
std::string c_string(std::string_view s);
// A nested brace initialiser: "{.h = 1, .w = 2, .c = 3}".
std::string c_braced(const std::vector<CField>& fields);

}  // namespace tinynas::deploy
