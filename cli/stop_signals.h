// SIGINT/SIGTERM for long commands (train, search): the first signal sets
// stop_requested() and the command finishes its step, saves and exits; a
// second one (the handler resets itself) ends the process at once.
#pragma once

#include <atomic>
#include <csignal>

namespace tinynas::cli {

inline std::atomic<bool> g_stop_requested{false};
inline volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" inline void on_stop_signal(int sig) {
  g_stop_signal = sig;
  g_stop_requested.store(true);
}

// Installs the handlers for its lifetime.
class StopSignals {
 public:
  StopSignals() {
    g_stop_requested.store(false);
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

}  // namespace tinynas::cli
