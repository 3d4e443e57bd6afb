// A peer benchmark run as a child process that answers one request at a
// time, so that its timed calls interleave with the benchmark's own (drift
// and other load on the machine then hit both engines alike). The protocol is
// line-based: the child prints one JSON object when it is ready, then one JSON
// object per request line it reads on stdin; other output lines (warnings, a
// traceback) are skipped, the last one kept for error messages. "quit" ends
// it. Header-only; benchmarks only (POSIX: fork, pipes).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace tinynas::bench {

class PeerProcess {
 public:
  PeerProcess() = default;
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;
  ~PeerProcess() { stop(); }

  // Runs argv (argv[0] the interpreter, argv[1] the script) and waits for its
  // first JSON line, which must hold "ready": true; false (and why) when it
  // cannot run. A peer that dies later must not kill us: SIGPIPE is ignored.
  bool start(const std::vector<std::string>& argv, std::string* why) {
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < argv.size() && i < 2; ++i)
      if (!std::filesystem::exists(argv[i])) return fail(argv[i] + " not found", why);
    int in[2], out[2];
    if (pipe(in) != 0) return fail("pipe failed", why);
    if (pipe(out) != 0) {
      close(in[0]);
      close(in[1]);
      return fail("pipe failed", why);
    }
    std::fflush(stdout);
    pid_ = fork();
    if (pid_ < 0) return fail("fork failed", why);
    if (pid_ == 0) {  // the child: stdin from `in`, stdout and stderr to `out`
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(out[1], 2);
      close(in[0]);
      close(in[1]);
      close(out[0]);
      close(out[1]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      std::fprintf(stderr, "cannot run %s\n", args[0]);
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = in[1];
    from_ = fdopen(out[0], "r");
    const auto ready = read_json();
    if (!ready || !ready->value("ready", false)) {
      stop();
      return fail((argv.size() > 1 ? argv[1] : argv[0]) + " did not start" + (last_line_.empty() ? "" : ": " + last_line_), why);
    }
    info = *ready;
    return true;
  }

  // Sends one request line (without the newline) and returns the JSON answer,
  // or nothing if the peer died.
  std::optional<nlohmann::json> request(const std::string& line) {
    if (pid_ <= 0) return std::nullopt;
    const std::string text = line + "\n";
    if (write(to_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) return std::nullopt;
    return read_json();
  }

  void stop() {
    if (to_ >= 0) {
      const char quit[] = "quit\n";
      (void)!write(to_, quit, sizeof quit - 1);
      close(to_);
      to_ = -1;
    }
    if (from_ != nullptr) {
      std::fclose(from_);
      from_ = nullptr;
    }
    if (pid_ > 0) {
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  const std::string& last_line() const { return last_line_; }

  nlohmann::json info;  // the ready line

 private:
  static bool fail(const std::string& what, std::string* why) {
    *why = what;
    return false;
  }

  std::optional<nlohmann::json> read_json() {
    char* buf = nullptr;
    size_t cap = 0;
    std::optional<nlohmann::json> out;
    while (getline(&buf, &cap, from_) > 0) {
      std::string line(buf);
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      if (!line.empty() && line[0] == '{') {
        try {
          out = nlohmann::json::parse(line);
          break;
        } catch (const std::exception&) {
        }
      }
      if (!line.empty()) last_line_ = line;
    }
    std::free(buf);
    return out;
  }

  pid_t pid_ = -1;
  int to_ = -1;
  std::FILE* from_ = nullptr;
  std::string last_line_;
};

}  // namespace tinynas::bench
