// A test fixture that starts a single-host Slurm cluster (SlurmCluster) in a
// temporary folder before each test and stops it after, skipping the test,
// saying why, where Slurm cannot run. The folder is kept when a test fails.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/cli/cli_process.h"
#include "tests/slurm/slurm_cluster.h"

namespace tinynas::test {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class SlurmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = SlurmCluster::unavailable(); !why.empty())
      GTEST_SKIP() << "no Slurm cluster for this test: " << why;
    dir_ = make_temp_dir("tinynas_slurm");
    ASSERT_FALSE(dir_.empty());
    const std::string error = cluster_.start(dir_ / "cluster");
    ASSERT_EQ(error, "") << "the single-host Slurm cluster did not start in " << dir_;
    std::printf("[ cluster  ] started in %.2f s\n", cluster_.start_seconds());
    RecordProperty("cluster_start_s", std::to_string(cluster_.start_seconds()));
  }
  void TearDown() override {
    cluster_.stop();
    std::error_code ec;
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_, ec);
    if (HasFailure()) std::printf("state kept in %s%s\n", dir_.c_str(), cluster_.logs().c_str());
  }

  RunResult run(const std::vector<std::string>& args) { return Process(args, dir_).wait(); }

  // "sbatch --parsable ARGS" on the test cluster: the job id, "" on failure.
  static std::string sbatch(const std::string& args) {
    std::string id = SlurmCluster::output_of(SlurmCluster::find("sbatch") + " --parsable " + args + " 2>/dev/null");
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    return id.find_first_not_of("0123456789") == std::string::npos ? id : "";
  }
  static bool queue_empty() { return SlurmCluster::output_of("squeue -h 2>&1").empty(); }
  // squeue's state of job `id` ("" when it left the queue).
  static std::string job_state(const std::string& id) {
    std::string s = SlurmCluster::output_of("squeue -h -o %T -j " + id + " 2>/dev/null");
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  SlurmCluster cluster_;
  std::filesystem::path dir_;
};

}  // namespace tinynas::test
