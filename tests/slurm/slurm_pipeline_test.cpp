// Training and the whole search pipeline as Slurm jobs on a real single-host
// cluster (SlurmTest):
// - `train --slurm --slurm-ntasks 2`: two c10d ranks under srun give one
//   process's loss curve; a job stopped by SIGTERM (the time-limit signal:
//   the job requeues itself) and then requeued by Slurm (preemption) resumes
//   each time from its checkpoint to the uninterrupted job's weights;
// - `search --slurm --eval-shards 2`: one job per stage, each generation's
//   candidates scored by a job array, to the local run's best.json and
//   history; `tinynas status` follows it.
// Skipped, saying why, where Slurm cannot run.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/cli/tiny_runs.h"
#include "tests/slurm/slurm_fixture.h"
#include "tests/tiny_space.h"

namespace tinynas::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// `text` with each `from` (which must occur) replaced by `to`.
std::string with(std::string text, const std::vector<std::pair<std::string, std::string>>& edits) {
  for (const auto& [from, to] : edits) {
    const size_t at = text.find(from);
    if (at == std::string::npos) throw std::logic_error("test config: no '" + from + "'");
    text.replace(at, from.size(), to);
  }
  return text;
}

// The training CLI test's run (4 classes x 24 images at 24x24, 9 steps per
// epoch, 1 + 2 epochs) at lr 0.01, where 2 ranks follow 1 process to
// floating-point tolerance (at larger rates or longer runs the toy run is
// chaotic: 2 threads depart from 1 as 2 ranks do).
const std::string kTrain = with(kTinyTrainRun, {{"lr: 0.05", "lr: 0.01"}, {"eval_random: 1", "eval_random: 0"}});
// Longer (4 x 48 images, 1 + 3 epochs of 18 steps), so that a job can be
// stopped twice while it trains.
const std::string kLongTrain =
    with(kTrain, {{"generated:4x24", "generated:4x48"}, {"elastic_epochs: 2", "elastic_epochs: 3"}});
// The search CLI test's pipeline without the board.
const std::string kSearch =
    with(kTinySearch, {{"train_config: train.yaml", "train_config: search_train.yaml"}, {"hil: qemu", "hil: none"}});

std::vector<json> lines(const fs::path& file) {
  std::vector<json> out;
  std::istringstream in(slurp(file));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

class SlurmPipelineTest : public SlurmTest {
 protected:
  void SetUp() override {
    SlurmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::ofstream(dir_ / "tiny.yaml") << kTinySpace;
    std::ofstream(dir_ / "train.yaml") << kTrain;
    std::ofstream(dir_ / "long.yaml") << kLongTrain;
    std::ofstream(dir_ / "search_train.yaml") << kTinySearchTrain;
    std::ofstream(dir_ / "search.yaml") << kSearch;
  }
  json read(const fs::path& file) { return json::parse(slurp(file)); }
  std::string job_of(const fs::path& run) { return read(run / "slurm" / "jobs.json").back().at("job"); }
  // A requeued job waits for its begin time (Slurm holds it ~2 minutes);
  // the test lets it start after 2 s instead. Not at once: slurmd refuses a
  // job's credential issued in the same second as its revocation (the
  // previous run's kill), and the job would fail.
  bool release_when_pending(const std::string& job) {
    if (!SlurmCluster::wait_for([&] { return job_state(job) == "PENDING"; }, 60)) return false;
    std::this_thread::sleep_for(std::chrono::seconds(2));
    SlurmCluster::output_of("scontrol update JobId=" + job + " StartTime=now 2>&1");
    return SlurmCluster::wait_for([&] { return job_state(job) == "RUNNING"; }, 30);
  }
};

TEST_F(SlurmPipelineTest, TrainingJobOfTwoRanksMatchesOneProcess) {
  // One process, locally: the reference loss curve.
  const RunResult local = run({"train", "--config", "train.yaml", "--out", "local"});
  ASSERT_EQ(local.status, 0) << local;

  // Two ranks under srun, uninterrupted.
  const fs::path a = dir_ / "a";
  RunResult r = run({"train", "--config", "train.yaml", "--out", a.string(), "--slurm", "--slurm-ntasks", "2"});
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "train job ")) << r;
  const std::string script = slurp(a / "slurm" / "train.sbatch");
  EXPECT_TRUE(contains(script, "#SBATCH --ntasks=2")) << script;
  EXPECT_TRUE(contains(script, "#SBATCH --requeue")) << script;
  ASSERT_TRUE(SlurmCluster::wait_for([&] { return fs::exists(a / "summary.json") && queue_empty(); }, 120))
      << SlurmCluster::output_of("squeue 2>&1") << slurp(a / "slurm" / "logs" / ("train-" + job_of(a) + ".out"));
  const std::vector<json> one = lines(dir_ / "local" / "train_log.jsonl");
  const std::vector<json> two = lines(a / "train_log.jsonl");
  ASSERT_EQ(one.size(), two.size());
  for (size_t e = 0; e < one.size(); ++e) {
    SCOPED_TRACE("epoch " + std::to_string(e + 1));
    EXPECT_EQ(two[e].at("world_size"), 2);
    const double l1 = one[e].at("loss"), l2 = two[e].at("loss");
    EXPECT_NEAR(l2, l1, 1e-5 * std::abs(l1)) << "2 ranks depart from 1 process";
    EXPECT_EQ(two[e].at("val_top1_largest"), one[e].at("val_top1_largest"));
  }

}

TEST_F(SlurmPipelineTest, TrainingJobStoppedAndRequeuedResumesToTheSameWeights) {
  const fs::path a = dir_ / "a";
  RunResult r = run({"train", "--config", "long.yaml", "--out", a.string(), "--slurm", "--slurm-ntasks", "2"});
  ASSERT_EQ(r.status, 0) << r;
  ASSERT_TRUE(SlurmCluster::wait_for([&] { return fs::exists(a / "summary.json") && queue_empty(); }, 120))
      << SlurmCluster::output_of("squeue 2>&1") << slurp(a / "slurm" / "logs" / ("train-" + job_of(a) + ".out"));

  // The same job stopped twice while it trains: SIGTERM to its step (the
  // signal before a time limit; the script requeues the job), then a
  // requeue by Slurm (preemption). Each time it saves, leaves and resumes.
  const fs::path b = dir_ / "b";
  r = run({"train", "--config", "long.yaml", "--out", b.string(), "--slurm", "--slurm-ntasks", "2",
           "--checkpoint-every", "1"});
  ASSERT_EQ(r.status, 0) << r;
  const std::string job = job_of(b);
  const fs::path log = b / "slurm" / "logs" / ("train-" + job + ".out");
  ASSERT_TRUE(SlurmCluster::wait_for([&] { return fs::exists(b / "checkpoint.pt"); }, 60)) << slurp(log);
  SlurmCluster::output_of("scancel --signal=TERM " + job + " 2>&1");
  ASSERT_TRUE(release_when_pending(job)) << SlurmCluster::output_of("squeue 2>&1") << slurp(log);
  if (fs::exists(b / "summary.json")) GTEST_SKIP() << "the job finished before the first stop";
  // The second run has saved a checkpoint of its own: a line in the log.
  ASSERT_TRUE(SlurmCluster::wait_for(
      [&] {
        const std::string text = slurp(log);
        return text.find("resuming") != std::string::npos && text.rfind("[info] epoch") > text.find("resuming");
      },
      60))
      << slurp(log);
  SlurmCluster::output_of("scontrol requeue " + job + " 2>&1");
  ASSERT_TRUE(release_when_pending(job)) << SlurmCluster::output_of("squeue 2>&1") << slurp(log);
  ASSERT_TRUE(SlurmCluster::wait_for([&] { return fs::exists(b / "summary.json") && queue_empty(); }, 120))
      << slurp(log);
  const std::string text = slurp(log);
  size_t resumed = 0;
  for (size_t p = text.find("resuming"); p != std::string::npos; p = text.find("resuming", p + 1)) ++resumed;
  EXPECT_GE(resumed, 2u) << "two resumptions in the job's log:\n" << text;
  EXPECT_TRUE(contains(text, "interrupted by SIGTERM")) << text;
  EXPECT_EQ(read(b / "summary.json").at("weights_digest"), read(a / "summary.json").at("weights_digest"))
      << "the stopped and requeued job ends with other weights than the uninterrupted one";

  // tinynas status names the run and the job.
  r = run({"status", b.string()});
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "a tinynas train run")) << r;
  EXPECT_TRUE(contains(r.out, "done: 72 steps")) << r;
  EXPECT_TRUE(contains(r.out, job)) << r;
}

TEST_F(SlurmPipelineTest, SearchPipelineAsJobsGivesTheLocalResult) {
  const RunResult local = run({"search", "--config", "search.yaml", "--out", "local"});
  ASSERT_EQ(local.status, 0) << local;

  const fs::path c = dir_ / "c";
  RunResult r = run({"search", "--config", "search.yaml", "--out", c.string(), "--slurm", "--eval-shards", "2"});
  ASSERT_EQ(r.status, 0) << r;
  for (const char* stage : {"space job ", "supernet job ", "search job ", "deploy job "})
    EXPECT_TRUE(contains(r.out, stage)) << r;
  r = run({"status", c.string()});
  EXPECT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "a tinynas search run")) << r;
  ASSERT_TRUE(SlurmCluster::wait_for([&] { return fs::exists(c / "summary.json") && queue_empty(); }, 240))
      << SlurmCluster::output_of("squeue 2>&1") << slurp(c / "slurm" / "jobs.json");

  // The same search: candidates, scores and the winner.
  EXPECT_EQ(slurp(c / "search" / "history.jsonl"), slurp(dir_ / "local" / "search" / "history.jsonl"));
  EXPECT_EQ(read(c / "search" / "best.json"), read(dir_ / "local" / "search" / "best.json"));
  EXPECT_EQ(read(c / "best.json").at("winner"), read(dir_ / "local" / "best.json").at("winner"));
  // Every generation was scored by a job array of 2 tasks (1 for a single
  // new candidate), each task's scores in its own file.
  int batches = 0;
  for (const auto& e : fs::directory_iterator(c / "search" / "evals")) {
    ++batches;
    const size_t n = read(e.path() / "candidates.json").at("candidates").size();
    const int tasks = n >= 2 ? 2 : 1;
    for (int i = 0; i < tasks; ++i) {
      const fs::path f = e.path() / ("shard-" + std::to_string(i) + "-of-" + std::to_string(tasks) + ".json");
      ASSERT_TRUE(fs::exists(f)) << f;
      EXPECT_EQ(read(f).at("scores").size(), (n - static_cast<size_t>(i) + tasks - 1) / tasks) << f;
    }
  }
  EXPECT_EQ(batches, 3) << "the initial population and 2 generations";

  r = run({"status", c.string()});
  ASSERT_EQ(r.status, 0) << r;
  for (const char* s : {"space      done", "supernet   done", "search     done", "finetune   done", "deploy     done"})
    EXPECT_TRUE(contains(r.out, s)) << r;
}

}  // namespace
}  // namespace tinynas::test
