#include "core/progress.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace tinynas {

namespace {

constexpr int k_bar_width = 30;
// Redraw interval on a terminal: faster is invisible and only costs cycles in
// the workers that happen to win the lock.
constexpr auto k_redraw_interval = std::chrono::milliseconds(100);

bool disabled_by_env() {
  const char* value = std::getenv("TINYNAS_NO_PROGRESS");
  if (value == nullptr) return false;
  std::string_view v(value);
  // Any non-empty value other than "0" counts, so TINYNAS_NO_PROGRESS=yes
  // does what the user meant.
  return !v.empty() && v != "0";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// "12.3s" below a minute, "4m05s" below an hour, "2h07m" beyond.
std::string format_duration(double seconds) {
  char buf[32];
  if (!(seconds >= 0)) seconds = 0;  // also catches NaN
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 3600) {
    auto s = static_cast<long long>(seconds);
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else {
    // Cap absurd estimates (a first tick after hours of setup) at a width
    // that still fits the line.
    auto s = static_cast<long long>(std::min(seconds, 1e9));
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s / 60) % 60);
  }
  return buf;
}

// Whole percent, clamped: done can exceed total when a caller over-ticks.
int percent_of(int64_t done, int64_t total) {
  if (total <= 0) return 0;
  double p = 100.0 * static_cast<double>(done) / static_cast<double>(total);
  return static_cast<int>(std::clamp(p, 0.0, 100.0));
}

// Remaining time extrapolated from the average rate so far; empty when there
// is nothing to extrapolate from.
std::string eta_text(int64_t done, int64_t total, double elapsed) {
  if (total <= 0 || done <= 0 || done >= total) return "";
  double remaining = elapsed * static_cast<double>(total - done) / static_cast<double>(done);
  return format_duration(remaining);
}

}  // namespace

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled && !disabled_by_env()),
      tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  // On a terminal show the empty bar at once, so that slow first steps do not
  // look like a hang. No threads exist yet, so the lock is uncontended.
  if (enabled_ && tty_) {
    std::lock_guard lock(draw_mutex_);
    draw(false);
  }
}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::tick(int64_t n) {
  const int64_t done = done_.fetch_add(n, std::memory_order_relaxed) + n;
  if (!enabled_ || finished_.load(std::memory_order_relaxed)) return;

  if (!tty_) {
    // Only deciles 1..9 are logged here; the 100% line belongs to finish(),
    // so that it appears exactly once however the last ticks interleave.
    if (total_ <= 0) return;
    int decile = percent_of(done, total_) / 10;
    if (decile < 1 || decile > 9) return;
    // last_decile_ is only read under the lock; a worker that finds the lock
    // taken skips, and a later tick in the same decile logs it instead.
    std::unique_lock lock(draw_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    if (finished_.load() || decile <= last_decile_) return;
    draw(false);
    return;
  }

  // Terminal: a worker that finds another one drawing just goes on; the next
  // tick after the interval will redraw with the newer count.
  std::unique_lock lock(draw_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  if (finished_.load()) return;
  if (std::chrono::steady_clock::now() - last_draw_ < k_redraw_interval) return;
  draw(false);
}

void ProgressBar::set_status(std::string status) {
  if (!enabled_) return;
  std::lock_guard lock(draw_mutex_);
  status_ = std::move(status);
}

void ProgressBar::finish() {
  // exchange() makes finish idempotent (explicit call, then destructor).
  if (finished_.exchange(true)) return;
  if (!enabled_) return;
  // Blocking lock: the final line must be written, and after finished_ is set
  // no tick() will start a new draw, so the wait is at most one draw.
  std::lock_guard lock(draw_mutex_);
  draw(true);
}

// Called with draw_mutex_ held.
void ProgressBar::draw(bool final_draw) {
  const int64_t done = done_.load();
  const double elapsed = seconds_since(start_);
  last_draw_ = std::chrono::steady_clock::now();

  if (!tty_) {
    std::string count =
        total_ > 0 ? std::to_string(done) + "/" + std::to_string(total_) : std::to_string(done);
    if (final_draw) {
      spdlog::info("{}: done {} in {}{}{}", label_, count, format_duration(elapsed),
                   status_.empty() ? "" : ", ", status_);
      return;
    }
    const int percent = percent_of(done, total_);
    last_decile_ = percent / 10;
    std::string eta = eta_text(done, total_, elapsed);
    spdlog::info("{}: {}% {} {}{}{}{}{}", label_, percent, count, format_duration(elapsed),
                 eta.empty() ? "" : " ETA ", eta, status_.empty() ? "" : " ", status_);
    return;
  }

  std::string line = "\r" + label_ + " ";
  if (total_ > 0) {
    const int percent = percent_of(done, total_);
    const int filled = std::clamp(
        static_cast<int>(static_cast<double>(k_bar_width) * static_cast<double>(done) /
                         static_cast<double>(total_)),
        0, k_bar_width);
    line += "[" + std::string(filled, '#') + std::string(k_bar_width - filled, '.') + "] ";
    line += std::to_string(percent) + "% " + std::to_string(done) + "/" + std::to_string(total_);
  } else {
    // Unknown total: no bar or ETA can be computed, the count still helps.
    line += std::to_string(done);
  }
  line += " " + format_duration(elapsed);
  std::string eta = final_draw ? "" : eta_text(done, total_, elapsed);
  if (!eta.empty()) line += " ETA " + eta;
  if (!status_.empty()) {
    line += ' ';
    line += status_;
  }
  // Erase to end of line: the previous draw may have been longer (ETA text
  // shrinks), and its tail would otherwise stay on screen.
  line += "\x1b[K";
  if (final_draw) line += "\n";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace tinynas
