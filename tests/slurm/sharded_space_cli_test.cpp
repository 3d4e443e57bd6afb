// `tinynas space --shard/--merge/--slurm` without a cluster: shards run one
// after another give the single-process files byte for byte; a merge names
// what is missing or differs; --slurm --dry-run prints the scripts (options
// from flags and from a YAML `slurm:` section) and writes nothing; --slurm
// without sbatch fails in one line and writes nothing.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli/cli_process.h"

namespace tinynas::test {
namespace {

namespace fs = std::filesystem;

class ShardedSpaceCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("tinynas_shards");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  RunResult run(const std::vector<std::string>& args) { return Process(args, dir_).wait(); }

  static std::vector<std::string> args(const fs::path& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {"space", "--mcu", "f412", "--flash", "1M", "--sram", "256K",
                                  "--samples", "120", "--seed", "9", "--min-fit", "0.1", "--out", out.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  fs::path dir_;
};

TEST_F(ShardedSpaceCliTest, ShardsThenMergeWriteTheSingleProcessFiles) {
  const RunResult single = run(args(dir_ / "single"));
  ASSERT_EQ(single.status, 0) << single;
  const fs::path out = dir_ / "sharded";
  for (int i = 0; i < 3; ++i) {
    const RunResult r = run(args(out, {"--shard", std::to_string(i) + "/3"}));
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_TRUE(fs::exists(out / "shards" / ("shard-" + std::to_string(i) + "-of-3.json")));
  }
  const RunResult merged = run(args(out, {"--shards", "3", "--merge", "--json"}));
  ASSERT_EQ(merged.status, 0) << merged;
  for (const char* f : {"space.json", "space_cdf.svg"}) EXPECT_TRUE(slurp(dir_ / "single" / f) == slurp(out / f)) << f;
  EXPECT_EQ(merged.out, slurp(out / "space.json"));
  // The shards stay beside the result, listed in the folder's marker.
  EXPECT_TRUE(fs::exists(out / "shards" / "shard-0-of-3.json"));
  EXPECT_TRUE(contains(slurp(out / ".tinynas-output.json"), "shards/shard-2-of-3.json"));
}

TEST_F(ShardedSpaceCliTest, MergeNamesMissingShardsAndTheDifferingOption) {
  const fs::path out = dir_ / "o";
  ASSERT_EQ(run(args(out, {"--shard", "0/4"})).status, 0);
  ASSERT_EQ(run(args(out, {"--shard", "2/4"})).status, 0);
  const RunResult missing = run(args(out, {"--merge"}));  // --shards defaults to 4
  EXPECT_NE(missing.status, 0) << missing;
  EXPECT_TRUE(contains(missing.err, "missing shard-1-of-4.json, shard-3-of-4.json of 4 shards")) << missing;
  EXPECT_TRUE(contains(missing.err, "--shard I/4 --out DIR for I in 1,3")) << missing;
  EXPECT_FALSE(fs::exists(out / "space.json"));

  // Shard 1 computed with another seed, shard 3 with the right options.
  ASSERT_EQ(run({"space", "--mcu", "f412", "--flash", "1M", "--sram", "256K", "--samples", "120", "--seed", "10",
                 "--min-fit", "0.1", "--out", out.string(), "--shard", "1/4"})
                .status,
            0);
  ASSERT_EQ(run(args(out, {"--shard", "3/4"})).status, 0);
  const RunResult differs = run(args(out, {"--merge"}));
  EXPECT_NE(differs.status, 0) << differs;
  EXPECT_TRUE(contains(differs.err, "shard 1 of 4 was computed from other inputs: seed is 10, expected 9"))
      << differs;
  EXPECT_FALSE(fs::exists(out / "space.json"));

  // A merge of the wrong count says which counts there are.
  const RunResult count = run(args(out, {"--merge", "--shards", "2"}));
  EXPECT_NE(count.status, 0) << count;
  EXPECT_TRUE(contains(count.err, "there are shards of a run of --shards 4")) << count;
}

// What Slurm does on preemption or at the time limit: SIGTERM. The shard
// leaves no file (its whole file is the checkpoint) and a rerun computes it.
TEST_F(ShardedSpaceCliTest, ASignalledShardLeavesNothing) {
  const fs::path out = dir_ / "o";
  std::vector<std::string> a = args(out, {"--shard", "0/4"});
  a[8] = "200000";  // --samples: tens of seconds of work
  Process shard(a, dir_);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(shard.running());
  ::kill(shard.pid(), SIGTERM);
  const RunResult r = shard.wait();
  EXPECT_EQ(r.status, 128 + SIGTERM) << r;
  EXPECT_FALSE(fs::exists(out / "shards")) << "a killed shard writes nothing";
  const RunResult rerun = run(args(out, {"--shard", "0/4"}));
  EXPECT_EQ(rerun.status, 0) << rerun;
  EXPECT_TRUE(fs::exists(out / "shards" / "shard-0-of-4.json"));
}

TEST_F(ShardedSpaceCliTest, RejectsBadShardsAndCombinations) {
  for (const char* bad : {"4/4", "1", "a/4", "-1/4", "1/0", "1/4/2"}) {
    const RunResult r = run(args(dir_ / "o", {"--shard", bad}));
    EXPECT_NE(r.status, 0) << bad << r;
    EXPECT_TRUE(contains(r.err, "--shard")) << bad << r;
  }
  EXPECT_NE(run(args(dir_ / "o", {"--shard", "0/2", "--merge"})).status, 0);
  EXPECT_NE(run(args(dir_ / "o", {"--shard", "0/2", "--slurm"})).status, 0);
  EXPECT_NE(run(args(dir_ / "o", {"--dry-run"})).status, 0);
  EXPECT_FALSE(fs::exists(dir_ / "o"));
}

TEST_F(ShardedSpaceCliTest, DryRunPrintsTheScriptsWithTheYamlSlurmSection) {
  std::ofstream(dir_ / "run.yaml") << "mcu: f412\nsram: 256K\nsamples: 50\n"
                                      "slurm:\n  partition: gpu\n  account: lab\n  time: \"10:00\"\n  cpus: 2\n";
  const fs::path out = dir_ / "o";
  const RunResult r = run({"space", "--config", (dir_ / "run.yaml").string(), "--out", out.string(), "--slurm",
                           "--dry-run", "--slurm-time", "20:00"});
  ASSERT_EQ(r.status, 0) << r;
  for (const char* line :
       {"/slurm/space-array.sbatch", "/slurm/space-merge.sbatch", "#SBATCH --array=0-3", "#SBATCH --partition=gpu",
        "#SBATCH --account=lab", "#SBATCH --time=20:00", "#SBATCH --cpus-per-task=2", "#SBATCH --requeue",
        "--mcu 'f412' --sram '256K' --samples '50'", "--shard \"${SLURM_ARRAY_TASK_ID}/4\"", "--shards 4 --merge",
        "--dependency=afterok:", "not submitted"})
    EXPECT_TRUE(contains(r.out, line)) << line << "\n" << r;
  EXPECT_TRUE(contains(r.out, "exec '" + kTinynasBinary + "' space")) << r;
  EXPECT_FALSE(fs::exists(out)) << "--dry-run writes nothing";

  // A key of the section that is no option is refused where it stands.
  std::ofstream(dir_ / "bad.yaml") << "mcu: f412\nslurm:\n  queue: gpu\n";
  const RunResult bad = run({"space", "--config", (dir_ / "bad.yaml").string(), "--out", out.string()});
  EXPECT_NE(bad.status, 0) << bad;
  EXPECT_TRUE(contains(bad.err, "slurm")) << bad;
  EXPECT_TRUE(contains(bad.err, "queue")) << bad;
}

TEST_F(ShardedSpaceCliTest, SlurmWithoutSbatchFailsAndWritesNothing) {
  const fs::path empty = dir_ / "empty-path";
  fs::create_directories(empty);
  const std::string saved = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  ::setenv("PATH", empty.c_str(), 1);
  const RunResult r = run(args(dir_ / "o", {"--slurm"}));
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "sbatch not found")) << r;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r;
  EXPECT_FALSE(fs::exists(dir_ / "o"));
}

}  // namespace
}  // namespace tinynas::test
