// Shard patterns: `train-{000..003}.tar`, `shards/*.tar`, `{a,b}.tar`.
#include <glob.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>
#include <system_error>

#include "core/error.h"
#include "datasets/internal/readers.h"

namespace tinynas::datasets::internal {

namespace {

bool parse_int(const std::string& text, int64_t* value) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && ptr == text.data() + text.size() && *value >= 0;
}

// The alternatives of one brace body: `000..003` or `a,b,c`; a body that is
// neither (no comma, no range) stays literal, as in the shell.
std::vector<std::string> alternatives(const std::string& body, const std::string& pattern, bool* literal) {
  *literal = false;
  const size_t dots = body.find("..");
  int64_t lo = 0, hi = 0;
  if (dots != std::string::npos && parse_int(body.substr(0, dots), &lo) && parse_int(body.substr(dots + 2), &hi)) {
    if (hi < lo) throw Error("shard pattern '" + pattern + "': range {" + body + "} runs backwards");
    if (hi - lo >= 1000000) throw Error("shard pattern '" + pattern + "': range {" + body + "} is too long");
    const std::string a = body.substr(0, dots), b = body.substr(dots + 2);
    // Zero-padded when a bound is written with a leading zero (webdataset's habit).
    const bool padded = (a.size() > 1 && a[0] == '0') || (b.size() > 1 && b[0] == '0');
    const size_t width = padded ? std::max(a.size(), b.size()) : 0;
    std::vector<std::string> out;
    for (int64_t v = lo; v <= hi; ++v) {
      std::string s = std::to_string(v);
      if (s.size() < width) s.insert(0, width - s.size(), '0');
      out.push_back(s);
    }
    return out;
  }
  if (body.find(',') == std::string::npos) {
    *literal = true;
    return {"{" + body + "}"};
  }
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = body.find(',', start);
    out.push_back(body.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void expand_into(const std::string& pattern, const std::string& whole, std::vector<std::string>* out) {
  // The first brace group that closes; nested groups are not supported.
  for (size_t open = pattern.find('{'); open != std::string::npos; open = pattern.find('{', open + 1)) {
    const size_t close = pattern.find('}', open);
    if (close == std::string::npos) break;
    const std::string body = pattern.substr(open + 1, close - open - 1);
    if (body.find('{') != std::string::npos)
      throw Error("shard pattern '" + whole + "': nested braces are not supported");
    bool literal = false;
    const auto alts = alternatives(body, whole, &literal);
    if (literal) continue;
    const std::string head = pattern.substr(0, open), tail = pattern.substr(close + 1);
    for (const auto& alt : alts) expand_into(head + alt + tail, whole, out);
    return;
  }
  out->push_back(pattern);
}

}  // namespace

std::vector<std::string> expand_braces(const std::string& pattern) {
  std::vector<std::string> out;
  expand_into(pattern, pattern, &out);
  return out;
}

std::vector<std::string> expand_shards(const std::string& pattern) {
  std::vector<std::string> files;
  std::set<std::string> seen;
  auto add = [&](const std::string& f) {
    if (seen.insert(f).second) files.push_back(f);
  };
  for (const std::string& p : expand_braces(pattern)) {
    if (p.find_first_of("*?[") == std::string::npos) {
      std::error_code ec;
      if (!std::filesystem::exists(p, ec))
        throw Error(p + ": no such file" + (p == pattern ? "" : " (from shard pattern '" + pattern + "')"));
      add(p);
      continue;
    }
    glob_t g{};
    const int rc = ::glob(p.c_str(), GLOB_ERR, nullptr, &g);
    if (rc == GLOB_NOMATCH) {
      ::globfree(&g);
      throw Error("shard pattern '" + p + "' matches no files");
    }
    if (rc != 0) {
      ::globfree(&g);
      throw Error("shard pattern '" + p + "': cannot read the folders it names");
    }
    for (size_t i = 0; i < g.gl_pathc; ++i) add(g.gl_pathv[i]);  // glob sorts
    ::globfree(&g);
  }
  return files;
}

}  // namespace tinynas::datasets::internal
