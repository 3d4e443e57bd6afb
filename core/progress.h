// Progress reporting for long work (space optimisation, training, search).
// A bar redrawn in place on stderr when stderr is a terminal; otherwise a log
// line every ~10% so batch logs stay readable. Thread-safe: tick() may be called
// from TBB workers; drawing is rate-limited (at most ~10 redraws per second).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace tinynas {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, bool enabled = true);
  ~ProgressBar();  // calls finish()
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void tick(int64_t n = 1);
  // Text shown after the counts on the next draw (e.g. "loss 1.23 450 img/s").
  void set_status(std::string status);
  void finish();  // draws the final state once and ends the line

 private:
  void draw(bool final_draw);

  std::string label_;
  int64_t total_;
  bool enabled_;
  bool tty_;
  std::atomic<int64_t> done_{0};
  std::atomic<bool> finished_{false};
  std::mutex draw_mutex_;
  std::string status_;  // guarded by draw_mutex_
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  int last_decile_ = -1;
};

}  // namespace tinynas
