#include "core/progress.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tinynas {
namespace {

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size()))
    ++n;
  return n;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Routes spdlog's default logger to stderr with a bare "%v" pattern, so that
// CaptureStderr sees exactly the messages the bar logs (the stock default
// logger writes to stdout, with timestamps). Restores the previous logger.
class ProgressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("TINYNAS_NO_PROGRESS");
    previous_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>(
        "progress_test", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  void TearDown() override {
    spdlog::set_default_logger(previous_);
    unsetenv("TINYNAS_NO_PROGRESS");
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(ProgressTest, NonTtyLogsEachDecileOnceThenTheFinalLine) {
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("work", 100);
    for (int i = 0; i < 100; ++i) bar.tick();
    bar.finish();
  }
  auto lines = lines_of(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 10u);
  for (int d = 1; d <= 9; ++d) {
    const std::string pct = std::to_string(d * 10);
    const std::string expected = "work: " + pct + "% " + pct + "/100 ";
    EXPECT_EQ(lines[d - 1].rfind(expected, 0), 0u) << lines[d - 1];
    EXPECT_NE(lines[d - 1].find(" ETA "), std::string::npos) << lines[d - 1];
    // No terminal control sequences in a log.
    EXPECT_EQ(lines[d - 1].find('\r'), std::string::npos);
    EXPECT_EQ(lines[d - 1].find('\x1b'), std::string::npos);
  }
  EXPECT_TRUE(std::regex_match(lines[9], std::regex(R"(work: done 100/100 in [0-9.]+s)")))
      << lines[9];
}

TEST_F(ProgressTest, ConcurrentTicksReachTheTotalExactlyOnceAtFinish) {
  constexpr int k_threads = 8;
  constexpr int k_per_thread = 20000;
  constexpr int64_t k_total = int64_t{k_threads} * k_per_thread;
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("conc", k_total);
    std::vector<std::thread> workers;
    for (int t = 0; t < k_threads; ++t) {
      workers.emplace_back([&bar] {
        for (int i = 0; i < k_per_thread; ++i) bar.tick();
      });
    }
    for (auto& w : workers) w.join();
    bar.finish();
  }
  std::string out = ::testing::internal::GetCapturedStderr();
  const std::string full = std::to_string(k_total) + "/" + std::to_string(k_total);
  EXPECT_EQ(count_of(out, full), 1u) << out;
  auto lines = lines_of(out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().rfind("conc: done " + full + " in ", 0), 0u) << lines.back();
  // Before it: decile lines only, each at most once and in increasing order.
  // (A decile can be skipped when every tick inside it found the lock taken,
  // so the count is bounded rather than fixed.)
  EXPECT_LE(lines.size(), 10u);
  int previous_decile = 0;
  std::regex decile_re(R"(conc: ([0-9]+)% ([0-9]+)/160000 .*)");
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(lines[i], m, decile_re)) << lines[i];
    int decile = std::stoi(m[1]) / 10;
    EXPECT_GT(decile, previous_decile) << lines[i];
    EXPECT_LE(decile, 9);
    // The percent shown matches the count shown.
    EXPECT_EQ(std::stoi(m[1]), static_cast<int>(std::stoll(m[2]) * 100 / k_total));
    previous_decile = decile;
  }
}

TEST_F(ProgressTest, LargeTickLogsOnlyTheDecileItLandsIn) {
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("big", 100);
    bar.tick(55);
    bar.tick(45);  // reaches 100%: left to finish()
  }
  auto lines = lines_of(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("big: 55% 55/100 ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("big: done 100/100 in ", 0), 0u) << lines[1];
}

TEST_F(ProgressTest, FinishIsIdempotentAndTicksAfterItAreSilent) {
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("once", 10);
    bar.tick(3);
    bar.finish();
    bar.finish();
    bar.tick(5);  // would be 80%, but the bar is finished
  }  // destructor calls finish() again
  auto lines = lines_of(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("once: 30% 3/10 ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("once: done 3/10 in ", 0), 0u) << lines[1];
}

TEST_F(ProgressTest, ZeroOrNegativeTotalOnlyLogsTheFinalCount) {
  for (int64_t total : {int64_t{0}, int64_t{-3}}) {
    ::testing::internal::CaptureStderr();
    {
      ProgressBar bar("unknown", total);
      for (int i = 0; i < 25; ++i) bar.tick();
    }
    auto lines = lines_of(::testing::internal::GetCapturedStderr());
    ASSERT_EQ(lines.size(), 1u) << "total " << total;
    EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(unknown: done 25 in [0-9.]+s)")))
        << lines[0];
  }
}

TEST_F(ProgressTest, OvershootingTheTotalClampsThePercent) {
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("over", 10);
    bar.tick(9);
    bar.tick(6);
  }
  std::string out = ::testing::internal::GetCapturedStderr();
  auto lines = lines_of(out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("over: 90% 9/10 ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("over: done 15/10 in ", 0), 0u) << lines[1];
  EXPECT_EQ(out.find("150%"), std::string::npos);
}

TEST_F(ProgressTest, DisabledBarPrintsNothing) {
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("quiet", 100, /*enabled=*/false);
    for (int i = 0; i < 100; ++i) bar.tick();
    bar.finish();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_F(ProgressTest, EnvironmentVariableDisablesTheBar) {
  setenv("TINYNAS_NO_PROGRESS", "1", 1);
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("env", 10);
    for (int i = 0; i < 10; ++i) bar.tick();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");

  // "0" means "do not disable".
  setenv("TINYNAS_NO_PROGRESS", "0", 1);
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar("env", 10);
    bar.tick(10);
  }
  EXPECT_EQ(lines_of(::testing::internal::GetCapturedStderr()).size(), 1u);
}

// Terminal mode, exercised on a pseudo-terminal standing in for stderr.
class PtyStderr {
 public:
  PtyStderr() {
    master_ = posix_openpt(O_RDWR | O_NOCTTY);
    if (master_ < 0 || grantpt(master_) != 0 || unlockpt(master_) != 0) return;
    const char* name = ptsname(master_);
    if (name == nullptr) return;
    int slave = open(name, O_RDWR | O_NOCTTY);
    if (slave < 0) return;
    // Raw mode: bytes arrive on the master exactly as written ("\n" stays
    // "\n" rather than becoming "\r\n").
    termios tio{};
    tcgetattr(slave, &tio);
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    dup2(slave, STDERR_FILENO);
    close(slave);
    ok_ = saved_ >= 0;
  }
  ~PtyStderr() {
    restore();
    if (master_ >= 0) close(master_);
  }
  bool ok() const { return ok_; }
  // Puts the real stderr back and returns everything written to the pty.
  std::string finish() {
    restore();
    std::string out;
    if (master_ < 0) return out;
    fcntl(master_, F_SETFL, fcntl(master_, F_GETFL) | O_NONBLOCK);
    char buf[4096];
    for (ssize_t n; (n = read(master_, buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
  }
  int master_ = -1;
  int saved_ = -1;
  bool ok_ = false;
};

TEST_F(ProgressTest, TerminalBarRedrawsInPlaceAtMostTenTimesASecond) {
  PtyStderr pty;
  if (!pty.ok()) GTEST_SKIP() << "no pseudo-terminal available";
  ASSERT_TRUE(isatty(STDERR_FILENO));
  const auto start = std::chrono::steady_clock::now();
  {
    ProgressBar bar("tty", 30);
    for (int i = 0; i < 30; ++i) {
      bar.tick();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    bar.finish();
  }
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::string out = pty.finish();

  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0], '\r');
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(count_of(out, "\n"), 1u) << "only finish() ends the line";
  // Initial draw, rate-limited redraws, final draw: far fewer than 30 ticks.
  const size_t draws = count_of(out, "\r");
  EXPECT_GE(draws, 3u) << out;
  EXPECT_LE(static_cast<double>(draws), 2 + elapsed_ms / 100.0 + 1) << out;
  // The first draw is the empty bar, the last the full one without an ETA.
  EXPECT_EQ(out.rfind("\rtty [" + std::string(30, '.') + "] 0% 0/30 ", 0), 0u) << out;
  size_t last = out.rfind('\r');
  std::string final_line = out.substr(last);
  EXPECT_EQ(final_line.rfind("\rtty [" + std::string(30, '#') + "] 100% 30/30 ", 0), 0u)
      << final_line;
  EXPECT_EQ(final_line.find("ETA"), std::string::npos) << final_line;
  // Intermediate draws carry an ETA.
  EXPECT_NE(out.substr(0, last).find(" ETA "), std::string::npos) << out;
}

}  // namespace
}  // namespace tinynas
