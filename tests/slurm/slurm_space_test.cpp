// `tinynas space --slurm` on a real single-host Slurm cluster (SlurmCluster):
// the job array of shards and the merge job give the single-process
// space.json and space_cdf.svg byte for byte, and a lost shard is rerun alone.
// Skipped, saying why, where Slurm cannot run.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/slurm/slurm_fixture.h"

namespace tinynas::test {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kSpaceArgs = {"space", "--mcu", "f412", "--flash", "1M", "--sram", "256K",
                                             "--samples", "300", "--seed", "3"};

std::vector<std::string> space_args(const fs::path& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = kSpaceArgs;
  a.insert(a.end(), {"--out", out.string()});
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

class SlurmSpaceTest : public SlurmTest {
 protected:
  // The single-process result (space.json, space_cdf.svg) to compare with.
  fs::path single_run() {
    const fs::path out = dir_ / "single";
    const auto t0 = std::chrono::steady_clock::now();
    const RunResult r = run(space_args(out));
    single_seconds_ = seconds_since(t0);
    EXPECT_EQ(r.status, 0) << r;
    return out;
  }

  // Waits until `file` exists and the queue is empty (the merge job done).
  bool wait_for_merge(const fs::path& file, double seconds) {
    return SlurmCluster::wait_for(
        [&] { return fs::exists(file) && SlurmCluster::output_of("squeue -h 2>&1").empty(); }, seconds);
  }

  void expect_same_output(const fs::path& a, const fs::path& b) {
    for (const char* f : {"space.json", "space_cdf.svg"}) {
      SCOPED_TRACE(f);
      ASSERT_TRUE(fs::exists(b / f));
      EXPECT_TRUE(slurp(a / f) == slurp(b / f)) << "differs from the single-process " << f;
    }
  }

  double single_seconds_ = 0;
};

TEST_F(SlurmSpaceTest, JobArrayAndMergeGiveTheSingleProcessResult) {
  const fs::path single = single_run();
  const fs::path sharded = dir_ / "sharded";
  const auto t0 = std::chrono::steady_clock::now();
  const RunResult submitted = run(space_args(sharded, {"--slurm", "--shards", "4"}));
  ASSERT_EQ(submitted.status, 0) << submitted;
  EXPECT_TRUE(contains(submitted.out, "array job ")) << submitted;
  EXPECT_TRUE(contains(submitted.out, "merge job ")) << submitted;
  ASSERT_TRUE(wait_for_merge(sharded / "space.json", 60)) << SlurmCluster::output_of("squeue 2>&1");
  const double sharded_seconds = seconds_since(t0);
  std::printf("[ timing   ] single process %.2f s; 4-shard job array + merge on the cluster %.2f s\n",
              single_seconds_, sharded_seconds);
  RecordProperty("single_s", std::to_string(single_seconds_));
  RecordProperty("sharded_s", std::to_string(sharded_seconds));
  expect_same_output(single, sharded);
  // The shards and the scripts stay in the published folder, with the logs.
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(fs::exists(sharded / "shards" / ("shard-" + std::to_string(i) + "-of-4.json"))) << i;
  EXPECT_TRUE(fs::exists(sharded / "slurm" / "space-array.sbatch"));
  EXPECT_TRUE(fs::exists(sharded / "slurm" / "space-merge.sbatch"));
  int logs = 0;
  for (const auto& e : fs::directory_iterator(sharded / "slurm" / "logs")) logs += e.is_regular_file();
  EXPECT_EQ(logs, 5) << "one log per shard and one for the merge";
}

TEST_F(SlurmSpaceTest, ALostShardIsRerunAloneAndMerged) {
  const fs::path single = single_run();
  const fs::path sharded = dir_ / "sharded";
  const RunResult submitted = run(space_args(sharded, {"--slurm", "--shards", "4"}));
  ASSERT_EQ(submitted.status, 0) << submitted;
  ASSERT_TRUE(wait_for_merge(sharded / "space.json", 60)) << SlurmCluster::output_of("squeue 2>&1");

  // Shard 2 lost: the merge refuses, naming it and how to rerun it alone.
  fs::remove(sharded / "shards" / "shard-2-of-4.json");
  const RunResult refused = run(space_args(sharded, {"--shards", "4", "--merge"}));
  EXPECT_NE(refused.status, 0) << refused;
  EXPECT_TRUE(contains(refused.err, "missing shard-2-of-4.json")) << refused;
  EXPECT_TRUE(contains(refused.err, "sbatch --array=2 ")) << refused;
  EXPECT_TRUE(fs::exists(sharded / "space.json")) << "a refused merge keeps the previous output";

  // Rerun only that array task, then the merge job after it, on the cluster.
  const fs::path scripts = sharded / "slurm";
  fs::remove(sharded / "space.json");
  const std::string task = sbatch("--array=2 " + (scripts / "space-array.sbatch").string());
  ASSERT_FALSE(task.empty());
  ASSERT_FALSE(sbatch("--dependency=afterok:" + task + " " + (scripts / "space-merge.sbatch").string()).empty());
  ASSERT_TRUE(wait_for_merge(sharded / "space.json", 60)) << SlurmCluster::output_of("squeue 2>&1");
  EXPECT_TRUE(fs::exists(sharded / "shards" / "shard-2-of-4.json"));
  expect_same_output(single, sharded);
}

}  // namespace
}  // namespace tinynas::test
