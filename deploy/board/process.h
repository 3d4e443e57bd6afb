// Running the external tools of the firmware flow (arm-none-eabi-gcc,
// qemu-system-arm, pyOCD) without a shell: fork/exec with an argument vector,
// stdout and stderr captured through pipes, a wall-clock limit that kills the
// child's whole process group (gcc's cc1/as/ld included), and no core dumps
// (QEMU aborts on a CPU lockup). Tools are found on $PATH as getenv() sees it
// at call time, or at the path in an overriding environment variable, so
// tests can hide a tool by changing PATH.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace tinynas::deploy {

// The first executable `name` in the directories of `path_list` (":"-separated,
// as $PATH); "" when there is none. A name containing '/' is checked as is.
std::string find_executable(const std::string& name, const std::string& path_list);

// The tool to run: the path in $env_var when it is set and non-empty (throws
// tinynas::Error "<env_var>=<value>: not an executable file" when it is not),
// else `name` on the current $PATH; "" when neither has it.
std::string resolve_tool(const std::string& env_var, const std::string& name);

struct ProcessOptions {
  double timeout_s = 0;       // 0: no limit
  std::string cwd;            // "": the caller's
  bool merge_stderr = false;  // stderr into out, in order (for compiler logs)
};

struct ProcessResult {
  int exit_code = -1;   // the child's exit status; 128 + signal when killed by one
  bool timed_out = false;  // killed at the limit
  std::string out;
  std::string err;
};

// Runs argv[0] (a path; see resolve_tool) with argv. Throws tinynas::Error
// when the program cannot be started at all.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// A child left running while the caller does other work (pyOCD's gdbserver
// while a GDB client drives it). Destroying it kills the process group.
class BackgroundProcess {
 public:
  // cwd: the child's working directory ("": the caller's).
  explicit BackgroundProcess(const std::vector<std::string>& argv, const std::string& cwd = "");
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  ~BackgroundProcess();

  // Collects what the child wrote, waiting up to wait_s seconds for some;
  // returns false once it has exited and both pipes are drained.
  bool pump(double wait_s);
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  bool running() const { return pid_ > 0 && !exited_; }
  // Kills the group (SIGKILL) and reaps; returns the exit code as run_process.
  int kill_and_wait();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
  std::string out_;
  std::string err_;
};

}  // namespace tinynas::deploy
