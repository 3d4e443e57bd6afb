// `train --slurm` and `search --slurm` without a cluster: --dry-run prints
// the scripts (options from flags and a YAML `slurm:` section) and writes
// nothing; bad input (a task count that does not divide the batch, no
// sbatch on PATH) fails in one line and writes nothing; `tinynas status`
// refuses what is not a run folder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/cli/cli_process.h"
#include "tests/tiny_space.h"

namespace tinynas::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTrain = R"(space: tiny.yaml
width: 1.0
resolutions: [16]
dataset: generated:4x8,res=16
batch_size: 8
threads: 1
distill: true
slurm:
  partition: gpu
  account: lab
  ntasks: 2
  gpus: 1
  time: "1:00:00"
)";

class SlurmCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("tinynas_slurm_cli");
    ASSERT_FALSE(dir_.empty());
    std::ofstream(dir_ / "tiny.yaml") << kTinySpace;
    std::ofstream(dir_ / "train.yaml") << kTrain;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  RunResult run(const std::vector<std::string>& args) { return Process(args, dir_).wait(); }
  // Runs with an empty PATH (no sbatch).
  RunResult run_without_sbatch(const std::vector<std::string>& args) {
    const fs::path empty = dir_ / "empty-path";
    fs::create_directories(empty);
    const std::string saved = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
    ::setenv("PATH", empty.c_str(), 1);
    RunResult r = run(args);
    ::setenv("PATH", saved.c_str(), 1);
    return r;
  }
  fs::path dir_;
};

TEST_F(SlurmCliTest, TrainDryRunPrintsTheJobScript) {
  const RunResult r = run({"train", "--config", "train.yaml", "--out", "t", "--slurm", "--dry-run"});
  ASSERT_EQ(r.status, 0) << r;
  for (const char* line :
       {"/t/slurm/train.sbatch", "#SBATCH --partition=gpu", "#SBATCH --account=lab", "#SBATCH --time=1:00:00",
        "#SBATCH --ntasks=2", "#SBATCH --gpus-per-task=1", "#SBATCH --requeue", "#SBATCH --signal=TERM@120",
        "#SBATCH --open-mode=append", "srun --kill-on-bad-exit=1 --ntasks=2", "--distill='true'", "--batch-size '8'",
        "SLURM_RESTART_COUNT", "first=' --resume'", "scontrol requeue", "not submitted"})
    EXPECT_TRUE(contains(r.out, line)) << line << "\n" << r;
  EXPECT_TRUE(contains(r.out, "'" + kTinynasBinary + "' train")) << r;
  EXPECT_FALSE(contains(r.out, "--slurm-")) << "the job's own command has no scheduling options\n" << r;
  EXPECT_FALSE(fs::exists(dir_ / "t")) << "--dry-run writes nothing";
}

TEST_F(SlurmCliTest, SearchDryRunPrintsOneScriptPerStage) {
  const RunResult r = run({"search", "--mcu", "f412", "--space", "tiny.yaml", "--dataset", "generated:4x8,res=32",
                           "--out", "s", "--slurm", "--dry-run", "--eval-shards", "3", "--slurm-ntasks", "2",
                           "--slurm-cpus", "2"});
  ASSERT_EQ(r.status, 0) << r;
  for (const char* line :
       {"/s/slurm/space.sbatch", "/s/slurm/supernet.sbatch", "/s/slurm/search.sbatch", "/s/slurm/deploy.sbatch",
        "/s/slurm/eval-array.sbatch", "--stop-after space", "--stop-after supernet", "--stop-after search",
        "#SBATCH --ntasks=2", "--eval-shards '3'", "--eval-shard \"${SLURM_ARRAY_TASK_ID}/$2\"",
        "#SBATCH --cpus-per-task=2", "--dependency=afterok"})
    EXPECT_TRUE(contains(r.out, line)) << line << "\n" << r;
  EXPECT_FALSE(fs::exists(dir_ / "s")) << "--dry-run writes nothing";

  // With --supernet there is nothing to train: no supernet job.
  std::ofstream(dir_ / "fake.pt") << "x";
  const RunResult given = run({"search", "--mcu", "f412", "--space", "tiny.yaml", "--supernet", "fake.pt", "--out",
                               "s", "--slurm", "--dry-run"});
  EXPECT_NE(given.status, 0) << "an unreadable checkpoint is refused before any script: " << given;
  EXPECT_TRUE(contains(given.err, "fake.pt")) << given;
}

TEST_F(SlurmCliTest, BadInputFailsInOneLineAndWritesNothing) {
  // Three ranks cannot share batches of 8.
  RunResult r = run({"train", "--config", "train.yaml", "--out", "t", "--slurm", "--slurm-ntasks", "3"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "--slurm-ntasks 3 does not divide --batch-size 8")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "t"));
  r = run({"train", "--config", "train.yaml", "--out", "t", "--slurm", "--slurm-partition", "a b"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "--slurm-partition: must not hold spaces")) << r;

  // No sbatch: one line, no folder.
  r = run_without_sbatch({"train", "--config", "train.yaml", "--out", "t", "--slurm"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "sbatch not found")) << r;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r;
  EXPECT_FALSE(fs::exists(dir_ / "t"));
  r = run_without_sbatch({"search", "--mcu", "f412", "--space", "tiny.yaml", "--dataset", "generated:4x8,res=32",
                          "--out", "s", "--slurm"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "sbatch not found")) << r;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r;
  EXPECT_FALSE(fs::exists(dir_ / "s"));

  // Arrays of candidates need sbatch too: refused before any training.
  r = run_without_sbatch({"search", "--mcu", "f412", "--space", "tiny.yaml", "--dataset", "generated:4x8,res=32",
                          "--out", "s", "--eval-shards", "2"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "--eval-shards: sbatch not found")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "s"));

  // An array task's flags go together.
  r = run({"search", "--mcu", "f412", "--space", "tiny.yaml", "--dataset", "generated:4x8,res=32", "--out", "s",
           "--eval-shard", "0/2"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "--eval-shard and --eval-dir go together")) << r;

  // status: only run folders.
  r = run({"status", "nowhere"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "nowhere: no such folder")) << r;
  fs::create_directories(dir_ / "plain");
  r = run({"status", "plain"});
  EXPECT_NE(r.status, 0) << r;
  EXPECT_TRUE(contains(r.err, "not a tinynas run folder")) << r;
}

}  // namespace
}  // namespace tinynas::test
