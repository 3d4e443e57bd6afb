#include "core/output_dir.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"
#include "tests/test_util.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;
using test_nets::error_of;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> names(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The pid of a process that has exited (and been reaped).
pid_t dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

class OutputDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tinynas_output_dir_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(OutputDirTest, PublishesWholeAndReplacesAnEarlierOutput) {
  const fs::path out = dir_ / "o";
  {
    StagedOutput s(out.string(), "--out", "test");
    s.write("a.txt", "one");
    s.write("sub/b.txt", "two");
    EXPECT_FALSE(fs::exists(out)) << "visible before commit";
    s.commit();
  }
  EXPECT_EQ(names(out), (std::vector<std::string>{".tinynas-output.json", "a.txt", "sub"}));
  EXPECT_NE(slurp(out / kOutputMarker).find("\"sub/b.txt\""), std::string::npos);
  {
    StagedOutput s((out.string() + "/"), "--out", "test");  // a trailing slash names the same folder
    EXPECT_EQ(s.target(), out);
    s.write("c.txt", "three");
    EXPECT_EQ(slurp(out / "a.txt"), "one") << "the old output goes only at commit";
    s.commit();
  }
  EXPECT_EQ(names(out), (std::vector<std::string>{".tinynas-output.json", "c.txt"}));
  EXPECT_EQ(names(dir_), (std::vector<std::string>{"o"}));
}

TEST_F(OutputDirTest, AFailureBeforeCommitLeavesTheOldOutput) {
  const fs::path out = dir_ / "o";
  {
    StagedOutput s(out.string(), "--out", "test");
    s.write("a.txt", "old");
    s.commit();
  }
  try {
    StagedOutput s(out.string(), "--out", "test");
    s.write("a.txt", "new");
    throw Error("failed half way");
  } catch (const Error&) {
  }
  EXPECT_EQ(slurp(out / "a.txt"), "old");
  EXPECT_EQ(names(dir_), (std::vector<std::string>{"o"})) << "the staging folder was not removed";
}

TEST_F(OutputDirTest, RefusesFoldersThatAreNotOutputs) {
  fs::create_directories(dir_ / "mine");
  std::ofstream(dir_ / "mine" / "notes.txt") << "keep";
  EXPECT_NE(error_of([&] { StagedOutput s((dir_ / "mine").string(), "--out", "t"); })
                .find("--out: " + (dir_ / "mine").string() + " holds files that tinynas did not write (notes.txt)"),
            std::string::npos);
  EXPECT_EQ(names(dir_ / "mine"), (std::vector<std::string>{"notes.txt"}));
  std::ofstream(dir_ / "file") << "x";
  EXPECT_NE(error_of([&] { check_output_dir((dir_ / "file").string(), "--out"); }).find("is not a folder"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { check_output_dir("", "--out"); }), "--out: empty path; name the output folder");
  EXPECT_NE(error_of([&] { check_output_dir(".", "--out"); }).find("is the current folder or one of its parents"),
            std::string::npos);
  EXPECT_NE(error_of([&] { check_output_dir("/", "--out"); }).find("root folder"), std::string::npos);
  // An empty folder is fine.
  fs::create_directories(dir_ / "empty");
  EXPECT_EQ(check_output_dir((dir_ / "empty").string(), "--out"), dir_ / "empty");
  EXPECT_EQ(names(dir_), (std::vector<std::string>{"empty", "file", "mine"}));
}

TEST_F(OutputDirTest, LeftoversOfKilledRunsAreCleanedAndAHalfSwapRepaired) {
  const fs::path out = dir_ / "o";
  const std::string pid = std::to_string(dead_pid());
  // A killed run's staging folder, and one whose fallback swap stopped after
  // moving the old output aside.
  fs::create_directories(dir_ / (".o.tmp-" + pid) / "src");
  fs::create_directories(dir_ / (".o.old-" + pid));
  std::ofstream(dir_ / (".o.old-" + pid) / "a.txt") << "old";
  std::ofstream(dir_ / (".o.old-" + pid) / kOutputMarker) << "{}";
  // A live process's staging folder (ours) is left alone.
  const std::string live = ".o.tmp-" + std::to_string(getppid());
  fs::create_directories(dir_ / live);
  {
    StagedOutput s(out.string(), "--out", "test");
    EXPECT_EQ(slurp(out / "a.txt"), "old") << "the half swap was not repaired";
    s.write("a.txt", "new");
    s.commit();
  }
  EXPECT_EQ(slurp(out / "a.txt"), "new");
  EXPECT_EQ(names(dir_), (std::vector<std::string>{live, "o"}));
}

}  // namespace
}  // namespace tinynas
