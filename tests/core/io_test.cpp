#include "core/io.h"

#include "core/error.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tinynas {
namespace {

namespace fs = std::filesystem;

class IoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tinynas_io_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Names of all entries under dir, recursively, relative to it.
  std::vector<std::string> entries(const fs::path& dir) const {
    std::vector<std::string> names;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      names.push_back(fs::relative(entry.path(), dir).string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  static std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
};

TEST_F(IoTest, WriteCreatesParentDirectories) {
  fs::path target = dir_ / "a" / "b" / "c" / "out.txt";
  write_file_atomic(target.string(), "hello\n");
  EXPECT_EQ(slurp(target), "hello\n");
  EXPECT_EQ(entries(dir_), (std::vector<std::string>{"a", "a/b", "a/b/c", "a/b/c/out.txt"}));
}

TEST_F(IoTest, WriteReplacesContentAndLeavesNoTemporary) {
  fs::path target = dir_ / "model.json";
  write_file_atomic(target.string(), std::string(10000, 'x'));
  write_file_atomic(target.string(), "short");
  EXPECT_EQ(slurp(target), "short");
  EXPECT_EQ(read_file(target.string()), "short");
  write_file_atomic(target.string(), "");
  EXPECT_EQ(fs::file_size(target), 0u);
  EXPECT_EQ(entries(dir_), (std::vector<std::string>{"model.json"}));
}

TEST_F(IoTest, BinaryContentRoundTrips) {
  std::string content("a\0b\r\n\xff\x00z", 8);
  fs::path target = dir_ / "blob.bin";
  write_file_atomic(target.string(), content);
  EXPECT_EQ(read_file(target.string()), content);
}

TEST_F(IoTest, PermissionsFollowTheUmask) {
  // A temp-file-then-rename writer must not leave outputs private (0600).
  mode_t old = ::umask(022);
  fs::path target = dir_ / "perm.txt";
  write_file_atomic(target.string(), "x");
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(IoTest, WriteFailureNamesThePathAndCleansUp) {
  // The parent "dir" is a regular file, so directories cannot be created.
  fs::path blocker = dir_ / "blocker";
  std::ofstream(blocker) << "file";
  std::string path = (blocker / "out.txt").string();
  try {
    write_file_atomic(path, "x");
    FAIL() << "no exception";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_EQ(message.rfind(path + ": cannot write: ", 0), 0u) << message;
  }

  // Target is an existing directory: rename fails, the temporary is removed.
  fs::create_directories(dir_ / "taken");
  std::string taken = (dir_ / "taken").string();
  try {
    write_file_atomic(taken, "x");
    FAIL() << "no exception";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_EQ(message.rfind(taken + ": cannot write: ", 0), 0u) << message;
  }
  EXPECT_EQ(entries(dir_), (std::vector<std::string>{"blocker", "taken"}));
}

TEST_F(IoTest, ReadMissingFile) {
  std::string path = (dir_ / "missing.yaml").string();
  try {
    read_file(path);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot read: No such file or directory");
  }
}

TEST_F(IoTest, ReadDirectoryIsAnError) {
  try {
    read_file(dir_.string());
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir_.string() + ": cannot read: Is a directory");
  }
}

TEST_F(IoTest, ReadLargeFile) {
  std::string content;
  for (int i = 0; i < 50000; ++i) content += std::to_string(i) + "\n";
  fs::path target = dir_ / "large.txt";
  std::ofstream(target, std::ios::binary) << content;
  EXPECT_EQ(read_file(target.string()), content);
}

}  // namespace
}  // namespace tinynas

namespace tinynas {
namespace {

TEST(ReadFile, LimitsAndEmptyNames) {
  try {
    read_file("/dev/zero", 1 << 20);
    FAIL() << "read /dev/zero";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "/dev/zero: cannot read: larger than 1 MiB (not a configuration or architecture file?)");
  }
  try {
    read_file("");
    FAIL() << "read an empty name";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read a file with an empty name");
  }
}

}  // namespace
}  // namespace tinynas
