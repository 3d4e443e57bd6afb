// Integration tests of the `tinynas` binary: each test runs the real
// executable in a fresh temporary directory and checks its exit status, stdout
// and stderr.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_process.h"


#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kSource = TINYNAS_SOURCE_DIR;
const std::string kIn2 = kSource + "/configs/zoo/mcunet-in2.json";
const std::string kVww1 = kSource + "/configs/zoo/mcunet-vww1.json";

using tinynas::test::contains;
using tinynas::test::Process;
using tinynas::test::RunResult;
using tinynas::test::slurp;

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string label(double width, int resolution) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "w%.1f-r%d", width, resolution);
  return buf;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(tinynas::test::kTinynasBinary)) << tinynas::test::kTinynasBinary;
    std::string tmpl = (fs::temp_directory_path() / "tinynas_cli_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs the binary in the test's folder; stdout and stderr apart.
  RunResult run(const std::vector<std::string>& args) { return Process(args, dir_).wait(); }

  // `cost` of mcunet-in2 on f746 with extra args, --json; stdout parsed.
  json cost_json(const std::vector<std::string>& extra, RunResult* raw = nullptr) {
    std::vector<std::string> args = {"cost", "--arch", kIn2, "--mcu", "f746", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult r = run(args);
    if (raw != nullptr) *raw = r;
    EXPECT_EQ(r.status, 0) << r;
    try {
      return json::parse(r.out);
    } catch (const json::exception& e) {
      ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\n" << r;
      return json::object();
    }
  }

  json read_json(const fs::path& path) {
    const std::string text = slurp(path);
    try {
      return json::parse(text);
    } catch (const json::exception& e) {
      ADD_FAILURE() << path << " is not JSON: " << e.what();
      return json::object();
    }
  }

  fs::path dir_;
};

// ---------------------------------------------------------------- cost

TEST_F(CliTest, CostJsonOfMcunetIn2OnF746) {
  RunResult r;
  const json j = cost_json({}, &r);
  for (const char* key : {"macs", "params", "flash_bytes", "peak_sram_bytes", "latency_ms", "fits"})
    EXPECT_TRUE(j.contains(key)) << key << "\n" << r;
  EXPECT_EQ(j.value("macs", int64_t{0}), 67287200);
  EXPECT_EQ(j.value("params", int64_t{0}), 729392);
  EXPECT_TRUE(j.value("fits", false));
  EXPECT_GT(j.value("flash_bytes", int64_t{0}), 0);
  EXPECT_LE(j.value("flash_bytes", int64_t{0}), 1024 * 1024);
  EXPECT_GT(j.value("peak_sram_bytes", int64_t{0}), 0);
  EXPECT_LE(j.value("peak_sram_bytes", int64_t{0}), 320 * 1024);
  EXPECT_GT(j.value("latency_ms", 0.0), 0.0);
}

TEST_F(CliTest, CostTextSaysItFits) {
  const RunResult r = run({"cost", "--arch", kIn2, "--mcu", "f746"});
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "fits: yes")) << r;
  EXPECT_FALSE(contains(r.out, "fits: no")) << r;
  EXPECT_TRUE(contains(r.out, "67287200")) << r;
  EXPECT_TRUE(contains(r.out, "729392")) << r;
}

TEST_F(CliTest, CostOverBudgetSaysByHowMuch) {
  const json j = cost_json({"--flash", "100K", "--sram", "50K"});
  EXPECT_FALSE(j.value("fits", true));
  const int64_t flash = j.value("flash_bytes", int64_t{0});
  const int64_t sram = j.value("peak_sram_bytes", int64_t{0});
  ASSERT_GT(flash, 100 * 1024);
  ASSERT_GT(sram, 50 * 1024);

  const RunResult text = run({"cost", "--arch", kIn2, "--mcu", "f746", "--flash", "100K", "--sram", "50K"});
  EXPECT_EQ(text.status, 0) << text;
  EXPECT_TRUE(contains(text.out, "fits: no")) << text;
  EXPECT_TRUE(contains(text.out, std::to_string(flash - 100 * 1024) + " bytes")) << text;
  EXPECT_TRUE(contains(text.out, std::to_string(sram - 50 * 1024) + " bytes")) << text;
  EXPECT_TRUE(contains(text.out, "over the flash budget")) << text;
  EXPECT_TRUE(contains(text.out, "over the SRAM budget")) << text;
}

TEST_F(CliTest, CostOnlySramOverBudgetNamesOnlySram) {
  const json j = cost_json({"--sram", "100K"});
  EXPECT_FALSE(j.value("fits", true));
  EXPECT_TRUE(j.value("fits_flash", false));
  EXPECT_FALSE(j.value("fits_sram", true));
  const RunResult text = run({"cost", "--arch", kIn2, "--mcu", "f746", "--sram", "100K"});
  EXPECT_EQ(text.status, 0) << text;
  EXPECT_TRUE(contains(text.out, "over the SRAM budget")) << text;
  EXPECT_FALSE(contains(text.out, "over the flash budget")) << text;
}

TEST_F(CliTest, CostRequireFitExitsThreeWhenItDoesNotFit) {
  const RunResult over =
      run({"cost", "--arch", kIn2, "--mcu", "f746", "--flash", "100K", "--sram", "50K", "--require-fit"});
  EXPECT_EQ(over.status, 3) << over;
  EXPECT_TRUE(contains(over.out, "fits: no")) << over;
  const RunResult fits = run({"cost", "--arch", kIn2, "--mcu", "f746", "--require-fit"});
  EXPECT_EQ(fits.status, 0) << fits;
}

TEST_F(CliTest, SizeSpellingsAgree) {
  // mcunet-in2 needs about 212 KiB of SRAM on f746: 256K fits, 200K does not.
  for (const auto& [spellings, expect_fit] :
       std::vector<std::pair<std::vector<std::string>, bool>>{
           {{"256K", "256KB", "262144", "256KiB"}, true},
           {{"200K", "200kB", "204800", "200KiB"}, false}}) {
    std::string first_text;
    for (const std::string& s : spellings) {
      SCOPED_TRACE("--sram " + s);
      const json j = cost_json({"--sram", s});
      EXPECT_EQ(j.value("fits_sram", !expect_fit), expect_fit);
      EXPECT_EQ(j.value("fits", !expect_fit), expect_fit);
      const RunResult text = run({"cost", "--arch", kIn2, "--mcu", "f746", "--sram", s});
      EXPECT_EQ(text.status, 0) << text;
      if (first_text.empty()) {
        first_text = text.out;
      } else {
        EXPECT_EQ(text.out, first_text) << "the same budget prints the same report";
      }
    }
  }
}

TEST_F(CliTest, BadSizeNamesTheFlagAndText) {
  const RunResult r = run({"cost", "--arch", kIn2, "--mcu", "f746", "--sram", "256X"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "--sram")) << r;
  EXPECT_TRUE(contains(r.err, "256X")) << r;
  EXPECT_TRUE(r.out.empty()) << r;

  const RunResult f = run({"cost", "--arch", kIn2, "--mcu", "f746", "--flash", "lots"});
  EXPECT_NE(f.status, 0) << f;
  EXPECT_TRUE(contains(f.err, "--flash")) << f;
  EXPECT_TRUE(contains(f.err, "lots")) << f;
}

// Patch-based inference: a given setting, the automatic choice, and the
// figures it changes (mcunet-vww1: 91684 B arena layer by layer).
TEST_F(CliTest, CostWithPatches) {
  const std::string vww1 = kSource + "/configs/zoo/mcunet-vww1.json";
  RunResult r = run({"cost", "--arch", vww1, "--mcu", "f746", "--json"});
  ASSERT_EQ(r.status, 0) << r;
  const json plain = json::parse(r.out);
  EXPECT_TRUE(plain["patch"].is_null()) << r;
  EXPECT_EQ(plain["arena_bytes"], 91684);

  r = run({"cost", "--arch", vww1, "--mcu", "f746", "--json", "--patch", "4x4:1"});
  ASSERT_EQ(r.status, 0) << r;
  const json given = json::parse(r.out);
  EXPECT_EQ(given["patch"], (json{{"patches", 4}, {"split_block", 1}})) << r;
  EXPECT_EQ(given["arena_bytes"], 34888);
  EXPECT_EQ(given["layer_by_layer_macs"], plain["macs"]);
  EXPECT_GT(given["macs"].get<int64_t>(), plain["macs"].get<int64_t>());
  EXPECT_NEAR(given["patch_mac_overhead"].get<double>(), 4.4, 0.05);
  EXPECT_EQ(given["weight_bytes"], plain["weight_bytes"]);  // weights once, not per patch

  r = run({"cost", "--arch", vww1, "--mcu", "f746", "--json", "--patch", "auto"});
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(json::parse(r.out)["patch"], given["patch"]) << r;
  r = run({"cost", "--arch", vww1, "--mcu", "f746", "--json", "--patch", "auto", "--patch-max-overhead", "0"});
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(json::parse(r.out)["patch"].is_null()) << r;

  r = run({"cost", "--arch", vww1, "--mcu", "f746", "--patch", "2x2:3", "--dump-plan", "--dump-graph"});
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "2x2 patches through block 3: +12.7% MACs over layer by layer")) << r;
  EXPECT_TRUE(contains(r.out, "2x2 patches end (assembled map")) << r;
  EXPECT_TRUE(contains(r.out, "patch 3 in[")) << r;
}

// --patch-sweep: every setting the network can take, as a table or JSON.
TEST_F(CliTest, CostPatchSweepListsEverySetting) {
  const std::string vww1 = kSource + "/configs/zoo/mcunet-vww1.json";
  RunResult r = run({"cost", "--arch", vww1, "--mcu", "f746", "--patch-sweep", "--json"});
  ASSERT_EQ(r.status, 0) << r;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["layer_by_layer"]["arena_bytes"], 91684);
  ASSERT_TRUE(j["settings"].is_array());
  bool found = false;
  for (const json& s : j["settings"]) {
    if (s["patch"] == json{{"patches", 4}, {"split_block", 1}}) {
      found = true;
      EXPECT_EQ(s["arena_bytes"], 34888);  // what --patch 4x4:1 costs
    }
    EXPECT_TRUE(s.contains("pareto"));
  }
  EXPECT_TRUE(found) << r;
  EXPECT_GT(j["refused"].get<int>(), 0);
  EXPECT_LE(j["lowest_arena"]["arena_bytes"].get<int64_t>(), 34888);

  r = run({"cost", "--arch", vww1, "--mcu", "f746", "--patch-sweep"});
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "layer by layer")) << r;
  EXPECT_TRUE(contains(r.out, "4x4:1 ")) << r;
  EXPECT_TRUE(contains(r.out, "lowest arena: ")) << r;

  // It is a table of settings: a setting of its own is refused.
  r = run({"cost", "--arch", vww1, "--mcu", "f746", "--patch-sweep", "--patch", "4x4:1"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "--patch")) << r;
  EXPECT_TRUE(r.out.empty()) << r;
}

TEST_F(CliTest, BadPatchValuesNameTheFlag) {
  const std::string vww1 = kSource + "/configs/zoo/mcunet-vww1.json";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"4x4", "expected NxN:B"},
      {"4x3:1", "square grid"},
      {"lots", "expected NxN:B"},
      {"1x1:1", "the grid must be 2x2 to 16x16"},
      {"2x2:99", "split block 99 is not a block of the network"},
      {"3x3:1", "does not divide into 3x3"},
      {"4x4:3", "receptive field"},
  };
  for (const auto& [value, why] : cases) {
    const RunResult r = run({"cost", "--arch", vww1, "--mcu", "f746", "--patch", value});
    EXPECT_NE(r.status, 0) << value << "\n" << r;
    EXPECT_TRUE(contains(r.err, "--patch " + value + ": ")) << value << "\n" << r;
    EXPECT_TRUE(contains(r.err, why)) << value << "\n" << r;
    EXPECT_TRUE(r.out.empty()) << r;
  }
  const RunResult r = run({"cost", "--arch", vww1, "--mcu", "f746", "--patch", "auto",
                           "--patch-max-overhead", "-1"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "--patch-max-overhead")) << r;
}

// A patched architecture deploys (the patch setting from the JSON, or
// --patch on the command line), and report.json names the setting used; a
// setting the network cannot take is refused before any code is generated.
TEST_F(CliTest, DeployTakesAPatchedArchitecture) {
  json arch = json::parse(slurp(kSource + "/configs/zoo/mcunet-vww1.json"));
  arch["patch"] = {{"patches", 2}, {"split_block", 1}};
  write(dir_ / "patched.json", arch.dump(2));
  RunResult r = run({"deploy", "--arch", (dir_ / "patched.json").string(), "--mcu", "f746", "--out", "d",
                     "--random-weights", "--run", "none"});
  ASSERT_EQ(r.status, 0) << r;
  const json report = json::parse(slurp(dir_ / "d" / "report.json"));
  EXPECT_EQ(report.at("patch"), json({{"patches", 2}, {"split_block", 1}})) << report.dump(2);

  r = run({"deploy", "--arch", kVww1, "--mcu", "f746", "--out", "e", "--random-weights", "--run", "none",
           "--patch", "2x2:99"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "99")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "e")) << r;
}

TEST_F(CliTest, UnknownMcuListsTheKnownOnes) {
  const RunResult r = run({"cost", "--arch", kIn2, "--mcu", "f999"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "f999")) << r;
  for (const char* mcu : {"f412", "f746", "f765", "h743", "l552", "rp2040"})
    EXPECT_TRUE(contains(r.err, mcu)) << mcu << "\n" << r;
  EXPECT_TRUE(r.out.empty()) << r;
}

TEST_F(CliTest, MalformedArchJsonGivesFileAndLine) {
  const fs::path arch = dir_ / "bad.json";
  write(arch, "{\n  \"name\": \"x\",\n  \"first_conv\": ,\n  \"blocks\": []\n}\n");
  const RunResult r = run({"cost", "--arch", arch.string(), "--mcu", "f746"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, arch.string() + ":3:")) << r;
  EXPECT_TRUE(contains(r.err, "malformed JSON")) << r;
}

TEST_F(CliTest, ChannelsThatDoNotChainNameFileLineAndKey) {
  // Bump blocks[2].mobile_inverted_conv.in_channels (the 4th "in_channels"
  // in the file, after first_conv, blocks[0] and blocks[1]) by one.
  const json original = json::parse(slurp(kIn2));
  const int64_t was = original["blocks"][2]["mobile_inverted_conv"]["in_channels"].get<int64_t>();
  ASSERT_EQ(original["blocks"][1]["mobile_inverted_conv"]["out_channels"].get<int64_t>(), was);

  std::istringstream in(slurp(kIn2));
  std::string text, line;
  int line_no = 0, hits = 0, edited_line = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find("\"in_channels\"") != std::string::npos && ++hits == 4) {
      const std::string old = "\"in_channels\": " + std::to_string(was);
      const size_t at = line.find(old);
      ASSERT_NE(at, std::string::npos) << line;
      line.replace(at, old.size(), "\"in_channels\": " + std::to_string(was + 1));
      edited_line = line_no;
    }
    text += line + "\n";
  }
  ASSERT_GT(edited_line, 0);
  const json edited = json::parse(text);
  ASSERT_EQ(edited["blocks"][2]["mobile_inverted_conv"]["in_channels"].get<int64_t>(), was + 1);

  const fs::path arch = dir_ / "unchained.json";
  write(arch, text);
  const RunResult r = run({"cost", "--arch", arch.string(), "--mcu", "f746"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, arch.string() + ":" + std::to_string(edited_line) + ":")) << r;
  EXPECT_TRUE(contains(r.err, "in_channels")) << r;
  EXPECT_TRUE(contains(r.err, std::to_string(was + 1))) << r;
}

TEST_F(CliTest, MissingArchFileSaysItCannotBeRead) {
  const fs::path arch = dir_ / "no_such_arch.json";
  const RunResult r = run({"cost", "--arch", arch.string(), "--mcu", "f746"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, arch.string())) << r;
  EXPECT_TRUE(contains(r.err, "cannot read")) << r;
}

// ---------------------------------------------------------------- space

TEST_F(CliTest, SpaceWritesJsonSvgAndTable) {
  const fs::path out = dir_ / "space_out";
  const RunResult r = run({"space", "--mcu", "f412", "--flash", "1M", "--sram", "256K", "--out",
                           out.string(), "--samples", "50", "--seed", "1"});
  ASSERT_EQ(r.status, 0) << r;
  const json j = read_json(out / "space.json");
  ASSERT_TRUE(j.contains("configs")) << j.dump(2);
  ASSERT_EQ(j["configs"].size(), 108u);
  double best_mean = -1;
  for (const auto& c : j["configs"]) {
    for (const char* key : {"width", "resolution", "samples", "fit_fraction", "mean_mflops",
                            "median_mflops"})
      ASSERT_TRUE(c.contains(key)) << key << " in " << c.dump();
    EXPECT_EQ(c["samples"], 50);
    EXPECT_GE(c["fit_fraction"].get<double>(), 0.0);
    EXPECT_LE(c["fit_fraction"].get<double>(), 1.0);
    if (c["fit_fraction"].get<double>() > 0) best_mean = std::max(best_mean, c["mean_mflops"].get<double>());
  }
  ASSERT_TRUE(j.contains("chosen"));
  ASSERT_TRUE(j["chosen"].contains("width"));
  ASSERT_TRUE(j["chosen"].contains("resolution"));
  const double width = j["chosen"]["width"].get<double>();
  const int resolution = j["chosen"]["resolution"].get<int>();
  // The chosen config is one of the configs, the one with the largest mean.
  bool found = false;
  for (const auto& c : j["configs"]) {
    if (c["width"].get<double>() == width && c["resolution"].get<int>() == resolution) {
      found = true;
      EXPECT_EQ(c["mean_mflops"].get<double>(), best_mean);
    }
  }
  EXPECT_TRUE(found) << j["chosen"].dump();
  EXPECT_EQ(j["samples"], 50);
  EXPECT_EQ(j["seed"], 1);
  EXPECT_EQ(j["mcu"], "f412");
  EXPECT_EQ(j["budget"]["flash_bytes"], 1024 * 1024);
  EXPECT_EQ(j["budget"]["sram_bytes"], 256 * 1024);

  const std::string svg = slurp(out / "space_cdf.svg");
  EXPECT_TRUE(svg.starts_with("<svg") || svg.starts_with("<?xml")) << svg.substr(0, 100);
  EXPECT_TRUE(contains(svg, label(width, resolution)));

  EXPECT_TRUE(contains(r.out, "chosen:")) << r;
  EXPECT_TRUE(contains(r.out, "mean MFLOPs")) << r;
  EXPECT_TRUE(contains(r.out, label(width, resolution))) << r;
  // The log goes to stderr, not into the results on stdout.
  EXPECT_FALSE(contains(r.out, "[info]")) << r;
}

TEST_F(CliTest, SpaceSameSeedSameJson) {
  auto run_seed = [&](const std::string& seed, const std::string& name) {
    const fs::path out = dir_ / name;
    const RunResult r = run({"space", "--mcu", "f412", "--flash", "1M", "--sram", "256K", "--out",
                             out.string(), "--samples", "50", "--seed", seed});
    EXPECT_EQ(r.status, 0) << r;
    return slurp(out / "space.json");
  };
  const std::string a = run_seed("1", "a");
  const std::string b = run_seed("1", "b");
  const std::string c = run_seed("2", "c");
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

// --patches (and a space with a patch: setting, by default): subnets that a
// patch setting brings within a tight SRAM limit count as fitting; the
// fitting fraction can only grow, and space.json says patches were allowed.
TEST_F(CliTest, SpacePatchesCountPatchedSubnets) {
  auto fit = [&](const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> a = {"space", "--mcu", "f412", "--flash", "1M", "--sram", "128K", "--out",
                                  (dir_ / name).string(), "--samples", "60", "--seed", "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    const RunResult r = run(a);
    EXPECT_EQ(r.status, 0) << r;
    return json::parse(slurp(dir_ / name / "space.json"));
  };
  const json plain = fit("plain", {});
  const json patched = fit("patched", {"--patches"});
  const json from_space = fit("space", {"--space", kSource + "/configs/spaces/mcunet-patch.yaml"});
  EXPECT_FALSE(plain.contains("patches"));
  EXPECT_EQ(patched.at("patches").at("allowed"), true);
  EXPECT_EQ(from_space.at("patches").at("allowed"), true);
  int64_t more = 0;
  for (size_t i = 0; i < plain.at("configs").size(); ++i) {
    const int64_t a = plain["configs"][i].at("fitting"), b = patched["configs"][i].at("fitting");
    EXPECT_GE(b, a) << i;
    more += b - a;
  }
  EXPECT_GT(more, 0) << "no subnet fits 128K only with patches";
}

TEST_F(CliTest, SpaceJsonFlagPrintsTheFile) {
  const fs::path out = dir_ / "o";
  const RunResult r = run({"space", "--mcu", "f412", "--flash", "1M", "--sram", "256K", "--out",
                           out.string(), "--samples", "30", "--seed", "3", "--json"});
  ASSERT_EQ(r.status, 0) << r;
  json printed;
  ASSERT_NO_THROW(printed = json::parse(r.out)) << r;
  EXPECT_EQ(printed, read_json(out / "space.json"));
  EXPECT_EQ(printed["configs"].size(), 108u);
  EXPECT_FALSE(contains(r.out, "chosen:")) << r;
}

TEST_F(CliTest, SpaceMinFitIsHonoured) {
  const fs::path out = dir_ / "o";
  const RunResult r = run({"space", "--mcu", "f412", "--flash", "1M", "--sram", "256K", "--out",
                           out.string(), "--samples", "40", "--min-fit", "0.9"});
  ASSERT_EQ(r.status, 0) << r;
  const json j = read_json(out / "space.json");
  EXPECT_GE(j["chosen"]["fit_fraction"].get<double>(), 0.9);
  const std::string label_chosen =
      label(j["chosen"]["width"].get<double>(), j["chosen"]["resolution"].get<int>());
  EXPECT_TRUE(contains(r.out, label_chosen)) << r;
  EXPECT_TRUE(contains(slurp(out / "space_cdf.svg"), label_chosen));
}

TEST_F(CliTest, SpaceNothingFitsFailsAndWritesNothing) {
  const fs::path out = dir_ / "nofit";
  const RunResult r = run({"space", "--mcu", "f412", "--flash", "64K", "--sram", "16K", "--out",
                           out.string(), "--samples", "50"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "no subnet")) << r;
  EXPECT_TRUE(contains(r.err, "smallest network")) << r;
  EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(needs [0-9.]+ [KM]?i?B of flash and [0-9.]+ [KM]?i?B of SRAM)")))
      << r;
  EXPECT_TRUE(!fs::exists(out) || fs::is_empty(out)) << out;
}

// ---------------------------------------------------------------- --config

TEST_F(CliTest, ConfigFileRunsSpace) {
  const fs::path out = dir_ / "from_config";
  const fs::path config = dir_ / "run.yaml";
  write(config, "mcu: f412\nflash: 1M\nsram: 256K\nsamples: 20\nout: " + out.string() + "\n");
  const RunResult r = run({"space", "--config", config.string()});
  ASSERT_EQ(r.status, 0) << r;
  const json j = read_json(out / "space.json");
  EXPECT_EQ(j["samples"], 20);
  EXPECT_EQ(j["mcu"], "f412");
  EXPECT_EQ(j["budget"]["flash_bytes"], 1024 * 1024);
  EXPECT_EQ(j["budget"]["sram_bytes"], 256 * 1024);
  EXPECT_TRUE(contains(r.out, "chosen:")) << r;
}

TEST_F(CliTest, CommandLineOverridesConfigFile) {
  const fs::path out = dir_ / "from_config";
  const fs::path other = dir_ / "other";
  const fs::path config = dir_ / "run.yaml";
  write(config, "mcu: f412\nflash: 1M\nsram: 256K\nsamples: 20\nout: " + out.string() + "\n");

  const RunResult r = run({"space", "--config", config.string(), "--samples", "10"});
  ASSERT_EQ(r.status, 0) << r;
  const json j = read_json(out / "space.json");
  EXPECT_EQ(j["samples"], 10);
  for (const auto& c : j["configs"]) EXPECT_EQ(c["samples"], 10);

  // --config before the subcommand, and several keys overridden.
  const RunResult r2 = run({"--config", config.string(), "space", "--sram", "192K", "--out",
                            other.string()});
  ASSERT_EQ(r2.status, 0) << r2;
  const json j2 = read_json(other / "space.json");
  EXPECT_EQ(j2["samples"], 20);
  EXPECT_EQ(j2["budget"]["sram_bytes"], 192 * 1024);
  EXPECT_EQ(j2["budget"]["flash_bytes"], 1024 * 1024);
}

TEST_F(CliTest, ConfigFileUnderscoreKeysAndFlags) {
  const fs::path out = dir_ / "o";
  const fs::path config = dir_ / "run.yaml";
  write(config, "mcu: f412\nflash: 1M\nsram: 256K\nsamples: 20\nmin_fit: 0.9\njson: true\nout: " +
                    out.string() + "\n");
  const RunResult r = run({"space", "--config", config.string()});
  ASSERT_EQ(r.status, 0) << r;
  json printed;
  ASSERT_NO_THROW(printed = json::parse(r.out)) << r;
  EXPECT_GE(printed["chosen"]["fit_fraction"].get<double>(), 0.9);
}

TEST_F(CliTest, ConfigUnknownKeyGivesFileLineAndKey) {
  const fs::path out = dir_ / "o";
  const fs::path config = dir_ / "run.yaml";
  write(config, "mcu: f412\nflash: 1M\nbogus_key: 3\nsamples: 20\n");
  const RunResult r = run({"space", "--config", config.string(), "--out", out.string()});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, config.string() + ":3: bogus_key: ")) << r;
  EXPECT_FALSE(fs::exists(out / "space.json"));
}

TEST_F(CliTest, MalformedConfigGivesFileAndLine) {
  const fs::path config = dir_ / "run.yaml";
  write(config, "mcu: f412\nflash: 1M\nsram: [256K\nsamples: 20\n");
  const RunResult r = run({"space", "--config", config.string(), "--out", (dir_ / "o").string()});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(std::regex_search(r.err, std::regex(std::regex_replace(
                                           config.string(), std::regex(R"([.^$|()\[\]{}*+?\\])"),
                                           R"(\$&)") +
                                       ":[0-9]+:")))
      << r;
  EXPECT_TRUE(contains(r.err, "malformed YAML")) << r;
}

TEST_F(CliTest, MissingConfigFileFails) {
  const fs::path config = dir_ / "absent.yaml";
  const RunResult r = run({"space", "--config", config.string(), "--out", (dir_ / "o").string()});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "absent.yaml")) << r;
}

// ---------------------------------------------------------------- usage

TEST_F(CliTest, HelpListsEachCommandsOptions) {
  const RunResult cost = run({"cost", "--help"});
  EXPECT_EQ(cost.status, 0) << cost;
  for (const char* opt : {"--arch", "--mcu", "--flash", "--sram", "--latency-ms", "--resolution",
                          "--json", "--require-fit"})
    EXPECT_TRUE(contains(cost.out, opt)) << opt << "\n" << cost;

  const RunResult space = run({"space", "--help"});
  EXPECT_EQ(space.status, 0) << space;
  for (const char* opt : {"--mcu", "--flash", "--sram", "--out", "--space", "--samples", "--seed",
                          "--min-fit", "--json"})
    EXPECT_TRUE(contains(space.out, opt)) << opt << "\n" << space;

  const RunResult top = run({"--help"});
  EXPECT_EQ(top.status, 0) << top;
  EXPECT_TRUE(contains(top.out, "cost")) << top;
  EXPECT_TRUE(contains(top.out, "space")) << top;
  EXPECT_TRUE(contains(top.out, "--config")) << top;
}

TEST_F(CliTest, MissingRequiredOptionFails) {
  const RunResult space = run({"space", "--mcu", "f412"});
  EXPECT_NE(space.status, 0) << space;
  EXPECT_TRUE(contains(space.err, "--out")) << space;
  EXPECT_FALSE(fs::exists(dir_ / "space.json"));

  const RunResult cost = run({"cost", "--mcu", "f746"});
  EXPECT_NE(cost.status, 0) << cost;
  EXPECT_TRUE(contains(cost.err, "--arch")) << cost;

  const RunResult none = run({});
  EXPECT_NE(none.status, 0) << none;
}

TEST_F(CliTest, UnknownOptionFails) {
  const RunResult r = run({"cost", "--arch", kIn2, "--mcu", "f746", "--bogus"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "--bogus")) << r;
}

TEST_F(CliTest, DeployHelpAndBadInput) {
  const RunResult help = run({"deploy", "--help"});
  EXPECT_EQ(help.status, 0) << help;
  for (const char* opt : {"--arch", "--mcu", "--out", "--checkpoint", "--random-weights", "--run",
                          "--eval-count", "--eval-dataset", "--calibration-count", "--profile"})
    EXPECT_TRUE(contains(help.out, opt)) << opt << "\n" << help;

  const std::string vww1 = kSource + "/configs/zoo/mcunet-vww1.json";
  // Neither trained nor random weights: refused, nothing written.
  RunResult r = run({"deploy", "--arch", vww1, "--mcu", "f412", "--out", "d1"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "--random-weights")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "d1"));

  r = run({"deploy", "--arch", vww1, "--mcu", "f412", "--out", "d2", "--random-weights", "--run", "jtag"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "--run")) << r;

  // Synthetic inputs are stored in flash: at most 1000 of them.
  r = run({"deploy", "--arch", vww1, "--mcu", "f412", "--out", "d4", "--random-weights", "--eval-count", "5000"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "--eval-count: must be in 1..1000 without --eval-dataset")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "d4"));

  // A network that does not fit names flash or SRAM and by how many bytes.
  r = run({"deploy", "--arch", kSource + "/configs/zoo/mcunet-in4.json", "--mcu", "f412", "--out", "d3",
           "--random-weights"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "over flash by")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "d3"));
}

TEST_F(CliTest, DeployBuildsFirmwareWithoutRunning) {
  if (std::system("command -v arm-none-eabi-gcc > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "arm-none-eabi-gcc is not installed";
  const RunResult r = run({"deploy", "--arch", kSource + "/configs/zoo/mcunet-vww0.json", "--mcu", "f746",
                           "--out", "fw", "--random-weights", "--run", "none"});
  ASSERT_EQ(r.status, 0) << r;
  const json report = json::parse(r.out);
  EXPECT_EQ(report, json::parse(slurp(dir_ / "fw" / "report.json")));
  EXPECT_TRUE(report["arena_matches_prediction"].get<bool>()) << report.dump(2);
  EXPECT_FALSE(report.contains("bit_exact"));  // nothing ran
  for (const char* f : {"firmware.elf", "src/model.c", "src/model.h", "src/weights.c"})
    EXPECT_TRUE(fs::exists(dir_ / "fw" / f)) << f;
}

}  // namespace
