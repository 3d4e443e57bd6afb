// `tinynas search` end to end on a tiny space and generated images: every
// stage for real (space optimiser, supernet training, evolution with the
// emulated board in the loop, fine-tuning, int8 firmware on QEMU), the same
// best.json for the same seed, a run killed during the search that resumes to
// the same result, a changed option refused by name, and bad input refused
// before any long work with nothing left behind.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_process.h"
#include "tests/cli/tiny_runs.h"
#include "tests/tiny_space.h"

#include <signal.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
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

class SearchCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(tinynas::test::kTinynasBinary));
    dir_ = tinynas::test::make_temp_dir("tinynas_search_cli");
    ASSERT_FALSE(dir_.empty()) << std::strerror(errno);
    std::ofstream(dir_ / "tiny.yaml") << tinynas::test::kTinySpace;
    std::ofstream(dir_ / "train.yaml") << tinynas::test::kTinySearchTrain;
    std::ofstream(dir_ / "search.yaml") << tinynas::test::kTinySearch;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::vector<std::string> args(const std::string& out, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> a = {"search", "--config", "search.yaml", "--out", out};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  RunResult run(const std::vector<std::string>& a) { return Process(a, dir_).wait(); }
  json read(const std::string& path) { return json::parse(slurp(dir_ / path)); }

  fs::path dir_;
};

TEST_F(SearchCliTest, WholePipelineReproducibleAndResumable) {
  const RunResult a = run(args("a"));
  ASSERT_EQ(a.status, 0) << a;
  for (const char* f : {"best.json", "summary.json", "history.jsonl", "pareto.json", "pareto.svg", "pareto_sram.svg",
                        "pipeline.json", "space/space.json", "supernet/checkpoint.pt", "search/generations.json",
                        "finetune/weights.bin", "deploy/firmware.elf", "deploy/report.json"})
    EXPECT_TRUE(fs::exists(dir_ / "a" / f)) << f;
  EXPECT_TRUE(contains(a.out, "int8 on the board")) << a;

  // Every candidate fits the budget; the history has the initial population
  // and two generations' new children.
  const json best = read("a/search/best.json");
  std::ifstream hist(dir_ / "a" / "history.jsonl");
  int lines = 0;
  for (std::string line; std::getline(hist, line); ++lines) {
    const json c = json::parse(line);
    EXPECT_TRUE(c["cost"]["fits"].get<bool>()) << line;
    EXPECT_GE(c["accuracy"].get<double>(), 0.0);
    EXPECT_LE(c["accuracy"].get<double>(), 1.0);
  }
  EXPECT_GE(lines, 6);
  EXPECT_LE(lines, 6 + 2 * 6);
  // The board in the loop measured the top 2; the winner passed it.
  ASSERT_EQ(best["topk"].size(), 2u) << best.dump(1);
  EXPECT_NE(best["topk"][0]["id"], best["topk"][1]["id"]) << "one architecture measured twice";
  for (const json& row : best["topk"]) {
    ASSERT_TRUE(row["measured"].contains("flash_bytes")) << row.dump();
    EXPECT_TRUE(row["measured"]["bit_exact"].get<bool>()) << row.dump();
    EXPECT_GT(row["measured"]["latency_ms"].get<double>(), 0.0);
    // The ELF's arena is the one the cost model predicted.
    EXPECT_EQ(row["measured"]["arena_bytes"], row["predicted"]["arena_bytes"]) << row.dump();
  }
  // The firmware: bit-exact, its flash and SRAM those the summary reports.
  const json report = read("a/deploy/report.json");
  const json summary = read("a/summary.json");
  EXPECT_TRUE(report["bit_exact"].get<bool>());
  EXPECT_EQ(report["inputs"], 8);
  EXPECT_EQ(summary["measured"]["flash_bytes"], report["flash_bytes"]);
  EXPECT_EQ(summary["test_top1_int8_board"], report["int8_top1"]);
  EXPECT_EQ(summary["arch"], best["winner"]["arch"]);
  EXPECT_LE(summary["measured"]["flash_bytes"].get<int64_t>(), 1 << 20);

  // Same seed, another folder: the same search, the same winner, the same
  // firmware accuracy.
  const RunResult b = run(args("b"));
  ASSERT_EQ(b.status, 0) << b;
  EXPECT_EQ(slurp(dir_ / "b" / "history.jsonl"), slurp(dir_ / "a" / "history.jsonl"));
  EXPECT_EQ(read("b/search/best.json")["winner"], best["winner"]);
  EXPECT_EQ(read("b/summary.json")["test_top1_int8_board"], summary["test_top1_int8_board"]);

  // Killed during the search (SIGKILL once its first generation is saved),
  // then the same command again: the same result.
  Process p(args("c"), dir_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(dir_ / "c" / "search" / "checkpoint.json") && p.running() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(p.pid(), SIGKILL);
  const RunResult killed = p.wait();
  if (killed.status != 128 + SIGKILL) GTEST_SKIP() << "the run finished before it was killed";
  EXPECT_FALSE(fs::exists(dir_ / "c" / "summary.json"));
  const RunResult c = run(args("c"));
  ASSERT_EQ(c.status, 0) << c;
  EXPECT_EQ(slurp(dir_ / "c" / "history.jsonl"), slurp(dir_ / "a" / "history.jsonl"));
  EXPECT_EQ(read("c/search/best.json")["winner"], best["winner"]);

  // A finished run is not redone; a changed option is named, not mixed in.
  const RunResult again = run(args("a"));
  ASSERT_EQ(again.status, 0) << again;
  EXPECT_FALSE(contains(again.err, "training")) << again;
  const RunResult changed = run(args("a", {"--generations", "3"}));
  EXPECT_EQ(changed.status, 1) << changed;
  EXPECT_TRUE(contains(changed.err, "search stage ran with generations 2, not 3")) << changed;

  // The board every 2 generations (reusing the trained supernet): the top 2
  // after generations 0 and 2 built with per-op profiling and run on QEMU,
  // their measurements in the history, and the latency model refitted on
  // them for the generations after.
  const RunResult h = run(args("h", {"--supernet", "a/supernet/checkpoint.pt", "--hil-every", "2"}));
  ASSERT_EQ(h.status, 0) << h;
  EXPECT_TRUE(contains(h.err, "latency model refitted on")) << h;
  const json hbest = read("h/search/best.json");
  const json& refits = hbest["search"]["latency_refits"];
  ASSERT_EQ(refits.size(), 2u) << hbest["search"].dump();
  EXPECT_EQ(refits[0]["first_generation"], 1);
  EXPECT_EQ(refits[1]["first_generation"], 3);
  std::ifstream hh(dir_ / "h" / "history.jsonl");
  int measured = 0, after_refit = 0;
  for (std::string line; std::getline(hh, line);) {
    const json c = json::parse(line);
    if (!c.contains("board")) continue;
    ++measured;
    const json& m = c["board"];
    ASSERT_TRUE(m.contains("latency_ms")) << line;
    EXPECT_TRUE(m["bit_exact"].get<bool>()) << line;
    EXPECT_TRUE(m["profiled"].get<bool>()) << line;
    EXPECT_GT(m["ops"].size(), 5u) << line;
    EXPECT_GT(m["latency_ms"].get<double>(), 0.0);
    // Drawn under the refitted model (generation >= 1): its prediction is
    // the board's latency within a few percent.
    if (c["generation"].get<int>() >= 1) {
      ++after_refit;
      const double p = m["predicted_latency_ms"].get<double>(), b = m["latency_ms"].get<double>();
      EXPECT_LT(std::abs(p - b) / b, 0.05) << line;
    }
  }
  EXPECT_GE(measured, 2);
  EXPECT_LE(measured, 4);
  EXPECT_GE(after_refit, 1);  // the seeded run measures a child of generation 1 or 2
  const json gens = read("h/search/generations.json");
  EXPECT_GT(gens[0]["board_measured"].get<int>(), 0);
  EXPECT_EQ(gens[1]["board_measured"].get<int>(), 0);

  // Bad input that needs a checkpoint: another space, another class count.
  RunResult r = run({"search", "--mcu", "f412", "--supernet", "a/supernet/checkpoint.pt", "--space", "mcunet-quick",
                     "--out", "x"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "was trained on search space 'tiny', not 'mcunet-quick'")) << r;
  r = run({"search", "--mcu", "f412", "--supernet", "a/supernet/checkpoint.pt", "--space", "tiny.yaml", "--dataset",
           "generated:3x10,res=32", "--out", "x"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "has 3 classes, but --supernet a/supernet/checkpoint.pt was trained on 4")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

// A space with patch genes under an SRAM limit that the layer-by-layer
// networks of its chosen configuration break: the space stage counts subnets
// that fit patched, the search finds a patched winner, and its firmware runs
// patch by patch on the board, bit-exact, in the arena the cost model
// predicted. The supernet never sees the setting (it scores the network).
TEST_F(SearchCliTest, PatchGenesFindAPatchedNetworkForATightSram) {
  std::ofstream(dir_ / "tiny-patch.yaml") << tinynas::test::kTinySpace
                                         << "patch: {patches: [0, 2, 4], max_split_block: 2}\n";
  const RunResult r = run(args("p", {"--space", "tiny-patch.yaml", "--sram", "5K"}));
  ASSERT_EQ(r.status, 0) << r;
  const json space = read("p/space/space.json");
  EXPECT_EQ(space.at("patches").at("allowed"), true) << space.dump(2);
  const json best = read("p/best.json");
  const json& patch = best.at("winner").at("arch").at("patch");
  ASSERT_TRUE(patch.is_object()) << best.at("winner").dump(2);
  EXPECT_GE(patch.at("patches").get<int>(), 2);
  EXPECT_EQ(best.at("deploy").at("patch"), patch);
  EXPECT_EQ(best.at("deploy").at("bit_exact"), true);
  const json summary = read("p/summary.json");
  EXPECT_EQ(summary.at("measured").at("arena_bytes"), best.at("deploy").at("elf_arena_bytes"));
  EXPECT_LE(summary.at("measured").at("sram_bytes").get<int64_t>(), 5 * 1024);
  // The same network with another setting is scored once: equal accuracies.
  std::map<std::string, double> by_network;
  std::istringstream history(slurp(dir_ / "p" / "search" / "history.jsonl"));
  int patched = 0;
  for (std::string line; std::getline(history, line);) {
    json c = json::parse(line);
    json arch = c.at("arch");
    patched += arch.contains("patch") ? 1 : 0;
    arch.erase("patch");
    const auto [it, fresh] = by_network.emplace(arch.dump(), c.at("accuracy").get<double>());
    if (!fresh) EXPECT_EQ(it->second, c.at("accuracy").get<double>()) << line;
  }
  EXPECT_GT(patched, 0);
}

TEST_F(SearchCliTest, BadInputIsRefusedBeforeAnyWork) {
  // A budget nothing fits: what the smallest subnet needs.
  RunResult r = run(args("o", {"--sram", "4K"}));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "no subnet of search space 'tiny' fits the budget")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "o"));
  // A latency bound nothing meets: what the fastest subnet needs.
  r = run(args("o", {"--latency-ms", "0.001"}));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "(the fastest in the space)")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "o"));
  // An option that does not exist, in the config file.
  std::ofstream(dir_ / "bad.yaml") << tinynas::test::kTinySearch << "populaton: 10\n";
  r = run({"search", "--config", "bad.yaml", "--out", "o"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "populaton")) << r;
  // A folder of the user's.
  fs::create_directories(dir_ / "mine");
  std::ofstream(dir_ / "mine" / "notes.txt") << "keep";
  r = run(args("mine"));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "not a tinynas search")) << r;
  EXPECT_TRUE(fs::exists(dir_ / "mine" / "notes.txt"));
  // No data set at all; a missing checkpoint.
  r = run({"search", "--mcu", "f412", "--out", "o"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "--dataset")) << r;
  r = run({"search", "--mcu", "f412", "--supernet", "nowhere.pt", "--out", "o"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "nowhere.pt")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "o"));
}

}  // namespace
