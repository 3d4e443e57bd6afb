// Running the real `tinynas` binary from the CLI tests: a child process in a
// given folder with TINYNAS_NO_PROGRESS=1, its stdout and stderr captured in
// files there (.outN / .errN), waited for or polled.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace tinynas::test {

inline const std::string kTinynasBinary = std::string(TINYNAS_BINARY_DIR) + "/tinynas";

struct RunResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};

inline std::ostream& operator<<(std::ostream& os, const RunResult& r) {
  return os << "status " << r.status << "\n--- stdout ---\n" << r.out << "--- stderr ---\n" << r.err;
}

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A new folder under the system's temporary folder ("PREFIX_XXXXXX"); empty
// on failure (the caller asserts).
inline std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "_XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A tinynas process whose stdout and stderr go to files in cwd.
class Process {
 public:
  // `env`: variables set in the child besides the inherited ones.
  Process(const std::vector<std::string>& args, const std::filesystem::path& cwd,
          const std::vector<std::pair<std::string, std::string>>& env = {})
      : cwd_(cwd) {
    static int serial = 0;
    const std::string tag = std::to_string(serial++);
    out_ = cwd / (".out" + tag);
    err_ = cwd / (".err" + tag);
    std::vector<std::string> argv_strings = {kTinynasBinary};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      if (chdir(cwd.c_str()) != 0) _exit(126);
      const int o = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (o < 0 || e < 0) _exit(126);
      dup2(o, STDOUT_FILENO);
      dup2(e, STDERR_FILENO);
      setenv("TINYNAS_NO_PROGRESS", "1", 1);
      for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  pid_t pid() const { return pid_; }
  bool running() {
    if (done_) return false;
    int ws = 0;
    const pid_t r = waitpid(pid_, &ws, WNOHANG);
    if (r == pid_) finish(ws);
    return !done_;
  }
  RunResult wait() {
    if (!done_) {
      int ws = 0;
      while (waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
      }
      finish(ws);
    }
    return {status_, slurp(out_), slurp(err_)};
  }

 private:
  void finish(int ws) {
    done_ = true;
    status_ = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  }
  std::filesystem::path cwd_, out_, err_;
  pid_t pid_ = -1;
  bool done_ = false;
  int status_ = -1;
};

}  // namespace tinynas::test
