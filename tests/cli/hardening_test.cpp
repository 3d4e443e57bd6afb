// The reproducers of issue 12 (hardening), run against the real binary: each
// bad input exits non-zero with one clear line, leaves nothing half-written
// and destroys nothing; killed runs leave their output folder all old or all
// new.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using tinynas::test::contains;
using tinynas::test::Process;
using tinynas::test::RunResult;
using tinynas::test::slurp;

const std::string kSource = TINYNAS_SOURCE_DIR;
const std::string kVww1 = kSource + "/configs/zoo/mcunet-vww1.json";

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Lines of stderr that are not progress or info logs.
int error_lines(const std::string& err) {
  int n = 0;
  size_t start = 0;
  while (start < err.size()) {
    size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    if (err.compare(start, 7, "[error]") == 0) ++n;
    start = end + 1;
  }
  return n;
}

// Names in dir, sorted, hidden ones included, but not the captured output of
// the test's own processes (.outN, .errN).
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(".out", 0) == 0 || n.rfind(".err", 0) == 0) continue;
    names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

class HardeningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(tinynas::test::kTinynasBinary));
    dir_ = tinynas::test::make_temp_dir("tinynas_hardening");
    ASSERT_FALSE(dir_.empty()) << std::strerror(errno);
    fs::create_directory(dir_ / "w");  // the commands' working folder
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  RunResult run(const std::vector<std::string>& args) { return Process(args, dir_ / "w").wait(); }

  // A rejection: status 1 or 2, exactly one error line that contains `what`,
  // and nothing printed on stdout.
  void expect_rejected(const RunResult& r, const std::string& what) {
    EXPECT_TRUE(r.status == 1 || r.status == 2) << r;
    EXPECT_EQ(error_lines(r.err), 1) << r;
    EXPECT_TRUE(contains(r.err, what)) << "expected '" << what << "' in\n" << r;
    EXPECT_LT(r.err.size(), 1000u) << r;
  }

  fs::path dir_;
};

// 1. Deeply nested input used to overflow the stack (exit 139).
TEST_F(HardeningTest, DeeplyNestedDocumentsAreRefused) {
  const std::string deep = "{\"resolution\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  write(dir_ / "w" / "deep.json", deep);
  expect_rejected(run({"cost", "--arch", "deep.json", "--mcu", "f412"}), "deep.json:1:");
  expect_rejected(run({"cost", "--arch", "deep.json", "--mcu", "f412"}), "nested deeper than 512 levels");
  // The same through an MCU description (JSON content under a .yaml name).
  write(dir_ / "w" / "deep.yaml", "{\"name\": " + std::string(100000, '[') + std::string(100000, ']') + "}");
  expect_rejected(run({"cost", "--arch", kVww1, "--mcu", "deep.yaml"}), "nested deeper than 512 levels");
  // YAML flow nesting.
  write(dir_ / "w" / "flow.yaml", "name: " + std::string(100000, '[') + std::string(100000, ']') + "\n");
  const RunResult r = run({"cost", "--arch", kVww1, "--mcu", "flow.yaml"});
  expect_rejected(r, "flow.yaml");
  // deploy reads the same files.
  expect_rejected(run({"deploy", "--arch", "deep.json", "--mcu", "f412", "--random-weights", "--run", "none",
                       "--out", "d"}),
                  "nested deeper");
  EXPECT_FALSE(fs::exists(dir_ / "w" / "d"));
}

// 2. Validation is linear and absurd sizes are refused by a named limit.
TEST_F(HardeningTest, ManyBlocksAreRefusedQuicklyByANamedLimit) {
  // vww1 (a net.config) with n copies of its last residual block.
  const json arch = json::parse(slurp(kVww1));
  const json& blocks = arch["blocks"];
  const json residual = blocks[blocks.size() - 2];
  ASSERT_FALSE(residual["shortcut"].is_null());
  for (int n : {400, 20000}) {
    json a = arch;
    json many = json::array();
    for (size_t i = 0; i + 1 < blocks.size(); ++i) many.push_back(blocks[i]);
    for (int i = 0; i < n; ++i) many.push_back(residual);
    many.push_back(blocks.back());
    a["blocks"] = many;
    write(dir_ / "w" / "many.json", a.dump());
    const auto start = std::chrono::steady_clock::now();
    const RunResult r = run({"cost", "--arch", "many.json", "--mcu", "h743", "--json"});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (n == 400) {
      ASSERT_EQ(r.status, 0) << r;
      EXPECT_GT(json::parse(r.out)["macs"].get<int64_t>(), 0);
    } else {
      expect_rejected(r, "more than 512 blocks (the limit of an architecture)");
      EXPECT_TRUE(contains(r.err, "many.json:1: blocks[")) << r;
    }
    EXPECT_LT(s, 10.0) << n << " blocks";
  }
}

// 3. A bad --out fails before any work and destroys nothing.
TEST_F(HardeningTest, BadOutFoldersAreRefusedAndDestroyNothing) {
  // An earlier deploy stays whole when a later one fails.
  RunResult first = run({"deploy", "--arch", kVww1, "--mcu", "f412", "--random-weights", "--run", "none", "--out",
                         "dep"});
  ASSERT_EQ(first.status, 0) << first;
  const auto before = listing(dir_ / "w" / "dep");
  ASSERT_TRUE(std::find(before.begin(), before.end(), "report.json") != before.end());
  const std::string report = slurp(dir_ / "w" / "dep" / "report.json");
  // A trailing slash names the same folder: it is replaced, not broken.
  RunResult again = run({"deploy", "--arch", kVww1, "--mcu", "f412", "--random-weights", "--run", "none", "--out",
                         "dep/", "--seed", "5"});
  ASSERT_EQ(again.status, 0) << again;
  EXPECT_EQ(listing(dir_ / "w" / "dep"), before);
  EXPECT_NE(slurp(dir_ / "w" / "dep" / "report.json"), report) << "not rewritten";
  // A failing deploy (no such MCU) leaves the earlier one as it was.
  const std::string report2 = slurp(dir_ / "w" / "dep" / "report.json");
  RunResult bad = run({"deploy", "--arch", kVww1, "--mcu", "nosuch", "--random-weights", "--run", "none", "--out",
                       "dep/"});
  expect_rejected(bad, "nosuch");
  EXPECT_EQ(slurp(dir_ / "w" / "dep" / "report.json"), report2);
  EXPECT_EQ(listing(dir_ / "w"), (std::vector<std::string>{"dep"}));

  // Empty --out, the current folder, a folder of the user's, a file.
  for (const char* cmd : {"space", "deploy"}) {
    std::vector<std::string> base = cmd == std::string("space")
                                        ? std::vector<std::string>{"space", "--mcu", "f412", "--samples", "20"}
                                        : std::vector<std::string>{"deploy", "--arch", kVww1, "--mcu", "f412",
                                                                   "--random-weights", "--run", "none"};
    auto with_out = [&](const std::string& out) {
      auto a = base;
      a.push_back("--out");
      a.push_back(out);
      return a;
    };
    expect_rejected(run(with_out("")), "--out: empty value");
    expect_rejected(run(with_out(".")), "is the current folder or one of its parents");
    expect_rejected(run(with_out("..")), "is the current folder or one of its parents");
    fs::create_directories(dir_ / "w" / "mine" / "space_cdf.svg");
    write(dir_ / "w" / "mine" / "notes.txt", "mine");
    expect_rejected(run(with_out("mine")), "holds files that tinynas did not write");
    EXPECT_EQ(listing(dir_ / "w" / "mine"), (std::vector<std::string>{"notes.txt", "space_cdf.svg"}));
    write(dir_ / "w" / "file", "x");
    expect_rejected(run(with_out("file")), "exists and is not a folder");
    EXPECT_EQ(slurp(dir_ / "w" / "file"), "x");
  }
  // Nothing was left beside the outputs (no staging folders, no space.json).
  for (const auto& name : listing(dir_ / "w")) EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
  EXPECT_FALSE(fs::exists(dir_ / "w" / "space.json"));
  EXPECT_FALSE(fs::exists(dir_ / "w" / "mine" / "space.json"));
}

// 4. A space run killed at any moment leaves its folder all old or all new,
// and the next run removes what the killed one left.
TEST_F(HardeningTest, KilledSpaceRunsLeaveTheFolderAllOldOrAllNew) {
  RunResult r = run({"space", "--mcu", "f412", "--samples", "50", "--seed", "1", "--out", "sp"});
  ASSERT_EQ(r.status, 0) << r;
  const std::string old_json = slurp(dir_ / "w" / "sp" / "space.json");
  const std::string old_svg = slurp(dir_ / "w" / "sp" / "space_cdf.svg");
  int killed = 0;
  for (int delay_ms : {20, 60, 120, 200, 300, 450}) {
    Process p({"space", "--mcu", "f412", "--samples", "400", "--seed", "2", "--out", "sp"}, dir_ / "w");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(p.pid(), SIGKILL);
    const RunResult k = p.wait();
    killed += k.status == 128 + SIGKILL;
    const std::string j = slurp(dir_ / "w" / "sp" / "space.json");
    const std::string svg = slurp(dir_ / "w" / "sp" / "space_cdf.svg");
    const bool all_old = j == old_json && svg == old_svg;
    const bool all_new = j != old_json && svg != old_svg && json::parse(j)["samples"] == 400;
    EXPECT_TRUE(all_old || all_new) << "after a kill at " << delay_ms << " ms";
    EXPECT_TRUE(fs::exists(dir_ / "w" / "sp" / ".tinynas-output.json"));
    if (all_new) break;
  }
  EXPECT_GT(killed, 0) << "no run was killed before it finished";
  // The next run cleans up after the killed ones.
  r = run({"space", "--mcu", "f412", "--samples", "50", "--seed", "1", "--out", "sp"});
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(slurp(dir_ / "w" / "sp" / "space.json"), old_json);
  EXPECT_EQ(listing(dir_ / "w"), (std::vector<std::string>{"sp"}));
  EXPECT_EQ(listing(dir_ / "w" / "sp"),
            (std::vector<std::string>{".tinynas-output.json", "space.json", "space_cdf.svg"}));
}

// 5. Every rejection is one line naming the file or the flag, values shortened.
TEST_F(HardeningTest, MessagesAreOneClearLine) {
  expect_rejected(run({"cost", "--arch", "", "--mcu", "f412"}), "--arch: empty value");
  // Not UTF-8: file, line and the byte.
  const std::string f412 = slurp(kSource + "/configs/mcus/f412.yaml");
  write(dir_ / "w" / "latin1.yaml", "# caf\xe9\n" + f412);
  expect_rejected(run({"cost", "--arch", kVww1, "--mcu", "latin1.yaml"}), "latin1.yaml:1:6: not UTF-8 text (byte 0xE9)");
  // An endless file.
  expect_rejected(run({"cost", "--arch", "/dev/zero", "--mcu", "f412"}), "/dev/zero: cannot read: larger than 16 MiB");
  // A 100 kB size is quoted, shortened.
  const RunResult big = run({"cost", "--arch", kVww1, "--mcu", "f412", "--flash", std::string(100000, '9') + "x"});
  expect_rejected(big, "--flash");
  EXPECT_TRUE(contains(big.err, "(100001 characters)")) << big;
  // A file name with a newline stays on one line.
  expect_rejected(run({"cost", "--arch", "two\nlines.json", "--mcu", "f412"}), "two\\nlines.json");
  // A latency bound that is not a number (CLI11 lets "nan" and "inf" through).
  expect_rejected(run({"cost", "--arch", kVww1, "--mcu", "f412", "--latency-ms", "nan"}),
                  "--latency-ms: must be a finite number >= 0");
  // A CLI11 parse error is one line too.
  expect_rejected(run({"space", "--mcu", "f412", "--out", "o", "--samples", "0"}), "--samples");
}

// 6. Nonsense in an MCU description and overflowing architectures are refused.
TEST_F(HardeningTest, OutOfRangeMcuValuesAndOverflowAreRefused) {
  const std::string f412 = slurp(kSource + "/configs/mcus/f412.yaml");
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = f412;
    const size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) t.replace(at, from.size(), to);
    return t;
  };
  write(dir_ / "w" / "neg.yaml", replaced("conv2d: ", "conv2d: -2000000 #"));
  expect_rejected(run({"cost", "--arch", kVww1, "--mcu", "neg.yaml"}), "is outside 0..4G");
  expect_rejected(run({"deploy", "--arch", kVww1, "--mcu", "neg.yaml", "--random-weights", "--run", "none",
                       "--out", "d"}),
                  "neg.yaml:");
  EXPECT_FALSE(fs::exists(dir_ / "w" / "d"));
  // The conv2d latency's per-MAC coefficient, whatever the last fit made it.
  const size_t conv = f412.find("conv2d: {per_mac: ");
  ASSERT_NE(conv, std::string::npos);
  const size_t value = conv + std::string("conv2d: {per_mac: ").size();
  const std::string per_mac = f412.substr(conv, f412.find(',', value) - conv);
  write(dir_ / "w" / "huge.yaml", replaced(per_mac, "conv2d: {per_mac: 1e308"));
  expect_rejected(run({"cost", "--arch", kVww1, "--mcu", "huge.yaml"}), "must be at most 1e9 cycles");

  // vww1 with every channel count x 2^20.
  json a = json::parse(slurp(kVww1));
  std::function<void(json&)> scale = [&](json& j) {
    if (j.is_object()) {
      for (auto& [k, v] : j.items()) {
        if (k.find("channels") != std::string::npos && k != "in_channels" && v.is_number_integer() &&
            v.get<int64_t>() > 0)
          v = v.get<int64_t>() << 20;
        else
          scale(v);
      }
    } else if (j.is_array()) {
      for (auto& v : j) scale(v);
    }
  };
  scale(a);
  write(dir_ / "w" / "wide.json", a.dump(1));
  const RunResult r = run({"cost", "--arch", "wide.json", "--mcu", "f412", "--json"});
  expect_rejected(r, "exceeds the limit of 16384 channels");
  EXPECT_TRUE(contains(r.err, "wide.json:")) << r;
}

}  // namespace
