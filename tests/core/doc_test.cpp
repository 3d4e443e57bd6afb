#include "core/doc.h"

#include "core/error.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace tinynas {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Lines = std::unordered_map<std::string, int32_t>;

// Runs fn, which must throw tinynas::Error, and returns the message.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("unexpected exception type: ") + e.what();
  }
  return "no exception";
}

// ---------------------------------------------------------------------------
// JSON

TEST(DocJson, PointersMapToTheLineWhereEachValueStarts) {
  const std::string text =
      "{\n"                                                            // 1
      "  \"name\": \"net\",\n"                                         // 2
      "  \"note\": \"braces { } [ ], \\\"quotes\\\", \\n and \\\\\",\n"  // 3
      "  \"blocks\": [\n"                                              // 4
      "    {\"kernel\": 3,\n"                                          // 5
      "     \"expand\": 6},\n"                                         // 6
      "    {\n"                                                        // 7
      "      \"kernel\": 5\n"                                          // 8
      "    }\n"                                                        // 9
      "  ],\n"                                                         // 10
      "  \"a/b\": {\"c~d\": [1,\n"                                     // 11
      "    -2.5e3, true, null]},\n"                                    // 12
      "  \"say \\\"}\\\"\": {},\n"                                     // 13
      "  \"\\u00e9t\\u00e9\":\n"                                       // 14
      "    [[], [\n"                                                   // 15
      "      \"x\"]]\n"                                                // 16
      "}\n";                                                           // 17
  Document doc = parse_document(text, "arch.json");

  const Lines expected = {
      {"", 1},
      {"/name", 2},
      {"/note", 3},
      {"/blocks", 4},
      {"/blocks/0", 5},
      {"/blocks/0/kernel", 5},
      {"/blocks/0/expand", 6},
      {"/blocks/1", 7},
      {"/blocks/1/kernel", 8},
      {"/a~1b", 11},
      {"/a~1b/c~0d", 11},
      {"/a~1b/c~0d/0", 11},
      {"/a~1b/c~0d/1", 12},
      {"/a~1b/c~0d/2", 12},
      {"/a~1b/c~0d/3", 12},
      {"/say \"}\"", 13},
      {"/\xC3\xA9t\xC3\xA9", 15},
      {"/\xC3\xA9t\xC3\xA9/0", 15},
      {"/\xC3\xA9t\xC3\xA9/1", 15},
      {"/\xC3\xA9t\xC3\xA9/1/0", 16},
  };
  EXPECT_EQ(doc.lines, expected);

  // The pointers are real: every one resolves in the parsed tree.
  for (const auto& [pointer, line] : doc.lines) {
    EXPECT_TRUE(doc.root.contains(json::json_pointer(pointer))) << pointer;
  }
  EXPECT_EQ(doc.root["note"], "braces { } [ ], \"quotes\", \n and \\");
  EXPECT_EQ(doc.root.at(json::json_pointer("/blocks/1/kernel")), 5);
  EXPECT_EQ(doc.root.at(json::json_pointer("/a~1b/c~0d/1")), -2500.0);
  EXPECT_EQ(doc.where("/blocks/1/kernel"), "arch.json:8");
}

// In nlohmann's indented dump every value starts on a line of its own, in the
// same order as a pre-order walk of the tree: so the recorded lines must be
// strictly increasing along that walk, and every value must have one.
void expect_lines_in_preorder(const Document& doc, const json& value, const std::string& pointer,
                              int32_t* last_line, size_t* count) {
  auto it = doc.lines.find(pointer);
  ASSERT_NE(it, doc.lines.end()) << pointer;
  EXPECT_GT(it->second, *last_line) << pointer;
  *last_line = it->second;
  ++*count;
  if (value.is_object()) {
    for (const auto& [key, member] : value.items()) {
      expect_lines_in_preorder(doc, member, child(pointer, key), last_line, count);
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      expect_lines_in_preorder(doc, value[i], child(pointer, i), last_line, count);
    }
  }
}

TEST(DocJson, EveryValueOfAGeneratedDocumentHasItsLine) {
  json root = json::object();
  for (int i = 0; i < 20; ++i) {
    json block = {{"id", i},
                  {"name/with~chars " + std::to_string(i), "s{[\"\\\n" + std::to_string(i)},
                  {"sizes", json::array({i, i * 0.5, nullptr, json::array(), json::object()})},
                  {"nested", {{"deeper", {{"flag", i % 2 == 0}, {"list", {1, {2, {3}}}}}}}}};
    root["blocks"].push_back(block);
  }
  root[""] = "empty key";
  Document doc = parse_document(root.dump(2), "gen.json");
  ASSERT_EQ(doc.root, root);
  int32_t last_line = 0;
  size_t count = 0;
  expect_lines_in_preorder(doc, doc.root, "", &last_line, &count);
  EXPECT_EQ(doc.lines.size(), count);
}

TEST(DocJson, ScalarRootAndLeadingBlankLines) {
  Document doc = parse_document("\n\n  [1,\n 2]", "x.json");
  EXPECT_EQ(doc.lines, (Lines{{"", 3}, {"/0", 3}, {"/1", 4}}));
  EXPECT_EQ(doc.root, json::parse("[1,2]"));

  Document scalar = parse_document("42", "y.json");
  EXPECT_EQ(scalar.root, 42);
  EXPECT_EQ(scalar.lines, (Lines{{"", 1}}));
}

TEST(DocJson, ByteOrderMarkIsSkipped) {
  Document doc = parse_document("\xEF\xBB\xBF{\n\"a\": 1}", "bom.json");
  EXPECT_EQ(doc.root["a"], 1);
  EXPECT_EQ(doc.lines, (Lines{{"", 1}, {"/a", 2}}));
}

TEST(DocJson, MalformedJsonNamesFileLineAndColumn) {
  EXPECT_EQ(error_of([] { parse_document("{\n \"a\": 1,\n}", "f.json"); }),
            "f.json:3:1: malformed JSON: syntax error while parsing object key - "
            "unexpected '}'; expected string literal");
  // At end of input the column is one past the last character.
  EXPECT_EQ(error_of([] { parse_document("[1, 2", "g.json"); }),
            "g.json:1:6: malformed JSON: syntax error while parsing array - "
            "unexpected end of input; expected ']'");
  std::string message = error_of([] { parse_document("{\n  \"a\": 1,\n  \"b\": tru\n}", "h.json"); });
  EXPECT_EQ(message.rfind("h.json:3:11: malformed JSON: ", 0), 0u) << message;
  EXPECT_NE(message.find("invalid literal"), std::string::npos) << message;
}

TEST(DocJson, DuplicateKeysAreRejectedWithTheirLine) {
  EXPECT_EQ(error_of([] { parse_document("{\n\"a\": 1,\n\"b\": {\"c\": 1,\n \"c\": 2}}", "d.json"); }),
            "d.json:4: duplicate key 'c'");
  // The same name in different objects is fine.
  EXPECT_NO_THROW(parse_document(R"({"a": {"x": 1}, "b": {"x": 2}})", "ok.json"));
}

TEST(DocJson, NonYamlNamesAreReadAsJson) {
  // No YAML fallback outside .yaml/.yml: YAML text in a .conf file is an error.
  std::string message = error_of([] { parse_document("a: 1\n", "settings.conf"); });
  EXPECT_NE(message.find("settings.conf:1:1: malformed JSON"), std::string::npos) << message;
  EXPECT_EQ(parse_document(R"({"a": "1"})", "noext").root["a"], "1");
}

// ---------------------------------------------------------------------------
// YAML

TEST(DocYaml, ScalarsAreTypedLikeJson) {
  const std::string text =
      "n1: ~\n"                                                                      // 1
      "n2: null\n"                                                                   // 2
      "n3:\n"                                                                        // 3
      "t: [true, True, TRUE]\n"                                                      // 4
      "f: [false, False, FALSE]\n"                                                   // 5
      "yes_word: yes\n"                                                              // 6
      "i: [0, -12, +7, 0x1F, -0x10, 9223372036854775807, -9223372036854775808]\n"  // 7
      "d: [1.5, .5, -2.25, 1e3, 1., +3.0E-2]\n"                                      // 8
      "s: [hello world, 1.2.3, 0x, '12:30', ~x, 1e, -]\n"                            // 9
      "q: [\"123\", '1.5', \"true\", 'null', \"~\", \"\"]\n"                         // 10
      "lit: |\n"                                                                     // 11
      "  123\n"                                                                      // 12
      "tagged: !!str 42\n"                                                           // 13
      "nested: {a: {b: [x]}}\n";                                                     // 14
  Document doc = parse_document(text, "all.yaml");
  const json& r = doc.root;

  EXPECT_TRUE(r["n1"].is_null());
  EXPECT_TRUE(r["n2"].is_null());
  EXPECT_TRUE(r["n3"].is_null());
  EXPECT_EQ(r["t"], json::parse("[true, true, true]"));
  EXPECT_EQ(r["f"], json::parse("[false, false, false]"));
  EXPECT_EQ(r["yes_word"], "yes");

  const std::vector<int64_t> ints = {0, -12, 7, 31, -16, INT64_MAX, INT64_MIN};
  ASSERT_EQ(r["i"].size(), ints.size());
  for (size_t k = 0; k < ints.size(); ++k) {
    EXPECT_TRUE(r["i"][k].is_number_integer()) << k;
    EXPECT_EQ(r["i"][k].get<int64_t>(), ints[k]) << k;
  }

  const std::vector<double> doubles = {1.5, 0.5, -2.25, 1000.0, 1.0, 0.03};
  ASSERT_EQ(r["d"].size(), doubles.size());
  for (size_t k = 0; k < doubles.size(); ++k) {
    EXPECT_TRUE(r["d"][k].is_number_float()) << k;
    EXPECT_DOUBLE_EQ(r["d"][k].get<double>(), doubles[k]) << k;
  }

  EXPECT_EQ(r["s"], json::parse(R"(["hello world", "1.2.3", "0x", "12:30", "~x", "1e", "-"])"));
  // Quoted scalars stay strings whatever they look like.
  EXPECT_EQ(r["q"], json::parse(R"(["123", "1.5", "true", "null", "~", ""])"));
  EXPECT_EQ(r["lit"], "123\n");
  EXPECT_EQ(r["tagged"], "42");
  EXPECT_EQ(r["nested"], json::parse(R"({"a": {"b": ["x"]}})"));

  EXPECT_EQ(doc.lines.at(""), 1);
  EXPECT_EQ(doc.lines.at("/n1"), 1);
  EXPECT_EQ(doc.lines.at("/n3"), 3);  // empty value: the key's line, not the next one
  EXPECT_EQ(doc.lines.at("/i"), 7);
  EXPECT_EQ(doc.lines.at("/i/3"), 7);
  EXPECT_EQ(doc.lines.at("/lit"), 11);
  EXPECT_EQ(doc.lines.at("/tagged"), 13);
  EXPECT_EQ(doc.lines.at("/nested/a/b/0"), 14);
}

TEST(DocYaml, BlockStructuresRecordLinesByPointer) {
  const std::string text =
      "name: net\n"        // 1
      "blocks:\n"          // 2
      "  - kernel: 3\n"    // 3
      "    expand: 6\n"    // 4
      "  - kernel: 5\n"    // 5
      "a/b:\n"             // 6
      "  c~d: [1, 2]\n";   // 7
  Document doc = parse_document(text, "net.yml");
  EXPECT_EQ(doc.lines.at("/name"), 1);
  EXPECT_EQ(doc.lines.at("/blocks/0"), 3);
  EXPECT_EQ(doc.lines.at("/blocks/0/expand"), 4);
  EXPECT_EQ(doc.lines.at("/blocks/1/kernel"), 5);
  EXPECT_EQ(doc.lines.at("/a~1b/c~0d/1"), 7);
  EXPECT_EQ(doc.root.at(json::json_pointer("/a~1b/c~0d/1")), 2);
}

TEST(DocYaml, IntegerOutOfRangeIsAnError) {
  EXPECT_EQ(error_of([] { parse_document("a: 1\nb: 9223372036854775808\n", "big.yaml"); }),
            "big.yaml:2: integer out of range: 9223372036854775808");
}

TEST(DocYaml, SyntaxErrorNamesLineAndColumn) {
  EXPECT_EQ(error_of([] { parse_document("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml"); }),
            "bad.yaml:3:2: malformed YAML: end of sequence flow not found");
  EXPECT_EQ(error_of([] { parse_document("x: 1\ny: b: c\n", "bad2.yaml"); }),
            "bad2.yaml:2:5: malformed YAML: illegal map value");
}

TEST(DocYaml, DuplicateKeysAreRejected) {
  EXPECT_EQ(error_of([] { parse_document("x: 1\nsram: 2\nsram: 3\n", "dup.yaml"); }),
            "dup.yaml:3: duplicate key 'sram'");
  EXPECT_EQ(error_of([] { parse_document("m:\n  a: 1\n  b: 2\n  a: 3\n", "dup2.yaml"); }),
            "dup2.yaml:4: duplicate key 'a'");
}

TEST(DocYaml, SelfReferentialAliasIsAnErrorNotACrash) {
  std::string message = error_of([] { parse_document("a: &x [*x]\n", "loop.yaml"); });
  EXPECT_EQ(message.rfind("loop.yaml:1: nesting too deep", 0), 0u) << message;
}

TEST(DocYaml, EmptyDocumentIsNull) {
  Document doc = parse_document("# only a comment\n", "empty.yaml");
  EXPECT_TRUE(doc.root.is_null());
  EXPECT_EQ(doc.where(""), "empty.yaml");
}

TEST(DocYaml, YamlNamesAcceptJsonAndFlowYaml) {
  // JSON content in a .yaml file is read as JSON (exact JSON semantics)...
  Document as_json = parse_document("{\"a\": \"1\",\n \"b\": 2}", "c.YAML");
  EXPECT_EQ(as_json.root, json::parse(R"({"a": "1", "b": 2})"));
  EXPECT_EQ(as_json.lines.at("/b"), 2);
  // ...and YAML flow style, which starts the same way, still works.
  Document flow = parse_document("{a: 1,\n b: [x, 2.5]}", "c.yml");
  EXPECT_EQ(flow.root, json::parse(R"({"a": 1, "b": ["x", 2.5]})"));
  EXPECT_EQ(flow.lines.at("/b/1"), 2);
}

// ---------------------------------------------------------------------------
// where() and fail()

TEST(DocFail, MessageIsPathLineKeyMessage) {
  const std::string text =
      "name: tiny\n"        // 1
      "mcu:\n"              // 2
      "  sram: 256Q\n"      // 3
      "blocks:\n"           // 4
      "  - k: 3\n"          // 5
      "  - 7\n"             // 6
      "a/b~c: 1\n";         // 7
  Document doc = parse_document(text, "f.yaml");
  EXPECT_EQ(error_of([&] { doc.fail("/mcu/sram", "expected a size like 256K"); }),
            "f.yaml:3: sram: expected a size like 256K");
  // The root has no key: the message stands alone.
  EXPECT_EQ(error_of([&] { doc.fail("", "expected a mapping"); }), "f.yaml:1: expected a mapping");
  // Escaped components are shown unescaped.
  EXPECT_EQ(error_of([&] { doc.fail("/a~1b~0c", "bad"); }), "f.yaml:7: a/b~c: bad");
  // An array element is named by its list and index.
  EXPECT_EQ(error_of([&] { doc.fail("/blocks/1", "expected a block"); }),
            "f.yaml:6: blocks[1]: expected a block");
  EXPECT_EQ(error_of([&] { doc.fail("/blocks/0/k", "too big"); }), "f.yaml:5: k: too big");
}

TEST(DocFail, WhereFallsBackToTheNearestAncestor) {
  Document doc = parse_document("{\n\"mcu\": {\n  \"sram\": 1}}", "w.json");
  EXPECT_EQ(doc.where("/mcu/sram"), "w.json:3");
  EXPECT_EQ(doc.where("/mcu/flash"), "w.json:2");
  EXPECT_EQ(doc.where("/nothing/here"), "w.json:1");

  Document bare;
  bare.path = "bare.json";
  EXPECT_EQ(bare.where("/x"), "bare.json");
  EXPECT_EQ(error_of([&] { bare.fail("/x", "m"); }), "bare.json: x: m");
}

// ---------------------------------------------------------------------------
// Accessors

class DocAccessors : public ::testing::Test {
 protected:
  void SetUp() override {
    doc_ = parse_document(
        "kernel: 3\n"          // 1
        "ratio: 0.25\n"        // 2
        "whole: 4.0\n"         // 3
        "half: 4.5\n"          // 4
        "name: tiny\n"         // 5
        "count: three\n"       // 6
        "flag: true\n"         // 7
        "word: yes\n"          // 8
        "nothing:\n"           // 9
        "list: [1, 2]\n"       // 10
        "sub:\n"               // 11
        "  depth: 2\n",        // 12
        "acc.yaml");
  }
  Document doc_;
};

TEST_F(DocAccessors, TypedValues) {
  const json& r = doc_.root;
  EXPECT_EQ(get_int(doc_, r, "", "kernel"), 3);
  EXPECT_EQ(get_int(doc_, r, "", "whole"), 4);  // integral double accepted
  EXPECT_DOUBLE_EQ(get_number(doc_, r, "", "ratio"), 0.25);
  EXPECT_DOUBLE_EQ(get_number(doc_, r, "", "kernel"), 3.0);
  EXPECT_EQ(get_string(doc_, r, "", "name"), "tiny");
  EXPECT_TRUE(get_bool_or(doc_, r, "", "flag", false));
  EXPECT_EQ(get_int(doc_, r["sub"], "/sub", "depth"), 2);
}

TEST_F(DocAccessors, FallbacksForMissingOrNull) {
  const json& r = doc_.root;
  EXPECT_EQ(get_int_or(doc_, r, "", "absent", 7), 7);
  EXPECT_EQ(get_int_or(doc_, r, "", "nothing", 8), 8);
  EXPECT_EQ(get_int_or(doc_, r, "", "kernel", 9), 3);
  EXPECT_DOUBLE_EQ(get_number_or(doc_, r, "", "absent", 1.5), 1.5);
  EXPECT_DOUBLE_EQ(get_number_or(doc_, r, "", "ratio", 1.5), 0.25);
  EXPECT_EQ(get_string_or(doc_, r, "", "absent", "dflt"), "dflt");
  EXPECT_EQ(get_string_or(doc_, r, "", "nothing", "dflt"), "dflt");
  EXPECT_EQ(get_string_or(doc_, r, "", "name", "dflt"), "tiny");
  EXPECT_TRUE(get_bool_or(doc_, r, "", "absent", true));
  EXPECT_FALSE(get_bool_or(doc_, r, "", "nothing", false));
  // An empty section ("nothing:") reads as an object with no members.
  EXPECT_EQ(get_int_or(doc_, r["nothing"], "/nothing", "x", 5), 5);
}

TEST_F(DocAccessors, WrongTypesNameLineKeyAndValue) {
  const json& r = doc_.root;
  EXPECT_EQ(error_of([&] { get_int(doc_, r, "", "count"); }),
            "acc.yaml:6: count: expected an integer, got \"three\"");
  EXPECT_EQ(error_of([&] { get_int(doc_, r, "", "half"); }),
            "acc.yaml:4: half: expected an integer, got 4.5");
  EXPECT_EQ(error_of([&] { get_int_or(doc_, r, "", "list", 0); }),
            "acc.yaml:10: list: expected an integer, got [1,2]");
  EXPECT_EQ(error_of([&] { get_number(doc_, r, "", "name"); }),
            "acc.yaml:5: name: expected a number, got \"tiny\"");
  EXPECT_EQ(error_of([&] { get_string(doc_, r, "", "kernel"); }),
            "acc.yaml:1: kernel: expected a string, got 3");
  EXPECT_EQ(error_of([&] { get_string(doc_, r, "", "nothing"); }),
            "acc.yaml:9: nothing: expected a string, got null");
  EXPECT_EQ(error_of([&] { get_bool_or(doc_, r, "", "word", false); }),
            "acc.yaml:8: word: expected true or false, got \"yes\"");
}

TEST_F(DocAccessors, MissingRequiredKeyIsReportedAtTheObject) {
  EXPECT_EQ(error_of([&] { get_int(doc_, doc_.root["sub"], "/sub", "width"); }),
            "acc.yaml:12: width: required key is missing");
  EXPECT_EQ(error_of([&] { get_string(doc_, doc_.root, "", "title"); }),
            "acc.yaml:1: title: required key is missing");
  // Asking a non-object for a member is an error about that value.
  EXPECT_EQ(error_of([&] { get_int(doc_, doc_.root["list"], "/list", "x"); }),
            "acc.yaml:10: list: expected an object with 'x', got [1,2]");
}

TEST_F(DocAccessors, FindMemberNeverThrows) {
  const json& r = doc_.root;
  ASSERT_NE(find_member(doc_, r, "", "kernel"), nullptr);
  EXPECT_EQ(*find_member(doc_, r, "", "kernel"), 3);
  EXPECT_EQ(find_member(doc_, r, "", "absent"), nullptr);
  EXPECT_EQ(find_member(doc_, r["list"], "/list", "x"), nullptr);
  EXPECT_EQ(find_member(doc_, r["kernel"], "/kernel", "x"), nullptr);
}

TEST(DocAccessorsJson, LargeUnsignedIsOutOfRange) {
  Document doc = parse_document("{\"n\": 18446744073709551615, \"m\": -3}", "u.json");
  EXPECT_EQ(error_of([&] { get_int(doc, doc.root, "", "n"); }),
            "u.json:1: n: integer out of range: 18446744073709551615");
  EXPECT_EQ(get_int(doc, doc.root, "", "m"), -3);
}

TEST(DocPointer, ChildEscapesKeysAndAppendsIndices) {
  EXPECT_EQ(child("", "a"), "/a");
  EXPECT_EQ(child("/x", "a/b~c"), "/x/a~1b~0c");
  EXPECT_EQ(child("", ""), "/");
  EXPECT_EQ(child("/x", size_t{3}), "/x/3");
  EXPECT_EQ(child(child("", "blocks"), size_t{0}), "/blocks/0");
}

// ---------------------------------------------------------------------------
// load_document

class DocFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tinynas_doc_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  fs::path dir_;
};

TEST_F(DocFiles, MissingFile) {
  std::string path = (dir_ / "none.yaml").string();
  EXPECT_EQ(error_of([&] { load_document(path); }),
            path + ": cannot read: No such file or directory");
}

TEST_F(DocFiles, FormatFollowsTheExtension) {
  Document yaml = load_document(write("mcu.yaml", "sram: 256K\nflash: 1048576\n"));
  EXPECT_EQ(yaml.root, json::parse(R"({"sram": "256K", "flash": 1048576})"));
  EXPECT_EQ(yaml.where("/flash"), yaml.path + ":2");

  Document js = load_document(write("arch.json", "{\n  \"sram\": \"256K\"\n}\n"));
  EXPECT_EQ(js.root["sram"], "256K");
  EXPECT_EQ(js.where("/sram"), js.path + ":2");

  std::string bad = write("broken.json", "[\n1,\n2,,\n]");
  EXPECT_EQ(error_of([&] { load_document(bad); }).rfind(bad + ":3:3: malformed JSON: ", 0), 0u);
}

}  // namespace
}  // namespace tinynas

namespace tinynas {
namespace {

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Issue 12: nesting tens of thousands deep overflowed the stack when a value
// was printed in a message; such documents are refused with their position.
TEST(DocLimits, DeepNestingIsRefusedWithItsPosition) {
  const std::string deep = "{\"a\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  const std::string e = error_text([&] { parse_document(deep, "deep.json"); });
  EXPECT_NE(e.find("deep.json:1:518: nested deeper than 512 levels"), std::string::npos) << e;
  // Brackets inside strings do not count, and 500 levels are fine.
  EXPECT_NO_THROW(parse_document("{\"a\": \"" + std::string(2000, '[') + "\"}", "s.json"));
  EXPECT_NO_THROW(parse_document(std::string(500, '[') + std::string(500, ']'), "ok.json"));
  // YAML flow nesting: an error, not a crash.
  const std::string yaml = "a: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  EXPECT_NE(error_text([&] { parse_document(yaml, "deep.yaml"); }).find("deep.yaml"), std::string::npos);
}

TEST(DocLimits, TextThatIsNotUtf8IsRefusedWithLineAndByte) {
  EXPECT_EQ(error_text([] { parse_document("a: 1\nname: caf\xe9\n", "m.yaml"); }),
            "m.yaml:2:10: not UTF-8 text (byte 0xE9)");
  // Overlong forms and surrogates are not UTF-8 either; real UTF-8 is fine.
  EXPECT_NE(error_text([] { parse_document("{\"a\": \"\xc0\xaf\"}", "o.json"); }).find("byte 0xC0"),
            std::string::npos);
  EXPECT_NE(error_text([] { parse_document("{\"a\": \"\xed\xa0\x80\"}", "s.json"); }).find("byte 0xED"),
            std::string::npos);
  EXPECT_NO_THROW(parse_document("name: caf\xc3\xa9 \xf0\x9f\x99\x82\n", "u.yaml"));
}

TEST(DocLimits, MessagesQuoteValuesShortAndOnOneLine) {
  const Document doc = parse_document("{\"a\": \"" + std::string(5000, 'x') + "\\nmore\"}", "v.json");
  const std::string e = error_text([&] { get_int(doc, doc.root, "", "a"); });
  EXPECT_LT(e.size(), 200u) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  EXPECT_EQ(shorten("a\nb"), "a\\nb");
  const std::string s = shorten(std::string(1000, 'y'), 60);
  EXPECT_LE(s.size(), 60u + 20u) << s;
  EXPECT_NE(s.find("(1000 characters)"), std::string::npos) << s;
  EXPECT_EQ(one_line("x\ty\x01"), "x\\ty\\x01");
}

}  // namespace
}  // namespace tinynas
