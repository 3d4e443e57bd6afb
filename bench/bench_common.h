// Small helpers the benchmarks share: a wall clock, printf-style formatting
// into std::string, and a plain-text table with aligned columns (the format
// pasted into bench/README.md). Header-only; benchmarks only.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <exception>
#include <ctime>
#include <string>
#include <vector>

namespace tinynas::bench {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of the whole process (all threads). CPU / (wall x threads) well
// below 1 means the run shared its cores with something else.
inline double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The 1-minute load average ("?" where /proc is missing): benchmarks print it
// so that a run on a busy machine can be recognised as one.
inline std::string load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return "?";
  char buf[32] = {};
  const int got = std::fscanf(f, "%31s", buf);
  std::fclose(f);
  return got == 1 ? buf : "?";
}

inline std::string strf(const char* format, ...) __attribute__((format(printf, 1, 2)));
inline std::string strf(const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  return buf;
}

// Columns are right-aligned unless added with left = true (names, verdicts).
class Table {
 public:
  void add_column(std::string header, bool left = false) {
    headers_.push_back(std::move(header));
    left_.push_back(left);
  }
  void add_row(std::vector<std::string> cells) {
    cells.resize(headers_.size());
    rows_.push_back(std::move(cells));
  }
  std::string str() const {
    std::vector<size_t> width(headers_.size());
    for (size_t c = 0; c < headers_.size(); ++c) {
      width[c] = headers_[c].size();
      for (const auto& row : rows_) width[c] = std::max(width[c], row[c].size());
    }
    std::string out;
    auto emit = [&](const std::vector<std::string>& cells) {
      std::string line;
      for (size_t c = 0; c < cells.size(); ++c) {
        const std::string pad(width[c] - cells[c].size(), ' ');
        if (c > 0) line += "  ";
        line += left_[c] ? cells[c] + pad : pad + cells[c];
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    };
    emit(headers_);
    std::vector<std::string> rule;
    for (size_t w : width) rule.push_back(std::string(w, '-'));
    emit(rule);
    for (const auto& row : rows_) emit(row);
    return out;
  }
  void print() const { std::fputs(str().c_str(), stdout); }

 private:
  std::vector<std::string> headers_;
  std::vector<bool> left_;
  std::vector<std::vector<std::string>> rows_;
};

// main() of every benchmark: runs `run`, turns an exception into exit status 2.
inline int run_main(int (*run)(int, char**), int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}

}  // namespace tinynas::bench
