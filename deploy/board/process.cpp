#include "deploy/board/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <system_error>
#include <thread>

#include "core/error.h"

namespace tinynas::deploy {

namespace {

using Clock = std::chrono::steady_clock;

std::string reason(int err) { return std::error_code(err, std::generic_category()).message(); }

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

struct Spawned {
  pid_t pid = -1;
  int out_fd = -1;
  int err_fd = -1;  // -1 when merged into out_fd
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// fork/exec rather than system(): no shell to quote for, and the child gets
// its own process group so a timeout can kill everything it started. Between
// fork and exec the child only makes async-signal-safe calls (the parent may
// have other threads holding locks).
Spawned spawn(const std::vector<std::string>& argv, const std::string& cwd, bool merge_stderr) {
  if (argv.empty()) throw Error("run_process: empty command");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int out[2] = {-1, -1}, err[2] = {-1, -1}, status[2] = {-1, -1};
  auto close_all = [&] {
    for (int* fd : {&out[0], &out[1], &err[0], &err[1], &status[0], &status[1]}) close_fd(*fd);
  };
  if (::pipe2(out, O_CLOEXEC) != 0 || (!merge_stderr && ::pipe2(err, O_CLOEXEC) != 0) ||
      ::pipe2(status, O_CLOEXEC) != 0) {
    const int e = errno;
    close_all();
    throw Error(argv[0] + ": cannot create pipes: " + reason(e));
  }
  const char* dir = cwd.empty() ? nullptr : cwd.c_str();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    close_all();
    throw Error(argv[0] + ": cannot fork: " + reason(e));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    const struct rlimit no_core = {0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(out[1], 1);
    ::dup2(merge_stderr ? out[1] : err[1], 2);
    int e = 0;
    if (dir != nullptr && ::chdir(dir) != 0) {
      e = errno;
    } else {
      ::execv(args[0], args.data());
      e = errno;
    }
    // The status pipe is close-on-exec: the parent reads EOF on success, the
    // errno here on failure.
    [[maybe_unused]] ssize_t n = ::write(status[1], &e, sizeof e);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also in the parent, so a kill right away finds the group
  close_fd(out[1]);
  close_fd(err[1]);
  close_fd(status[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(status[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close_fd(status[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    close_fd(out[0]);
    close_fd(err[0]);
    int ignored;
    ::waitpid(pid, &ignored, 0);
    throw Error("cannot run " + argv[0] + ": " + reason(child_errno));
  }
  return {pid, out[0], err[0]};
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int kill_group_and_reap(pid_t pid) {
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return decode_status(status);
}

// One read() into sink: false at EOF or on an error (the pipe is done);
// true after data, or when a non-blocking descriptor has nothing yet. One
// read per poll() wake-up, so a blocking descriptor never blocks here.
bool read_some(int fd, std::string& sink) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      sink.append(buf, static_cast<size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

}  // namespace

std::string find_executable(const std::string& name, const std::string& path_list) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return is_executable_file(name) ? name : "";
  size_t start = 0;
  while (start <= path_list.size()) {
    size_t end = path_list.find(':', start);
    if (end == std::string::npos) end = path_list.size();
    // An empty entry means the current directory, as for execvp.
    const std::string dir = end > start ? path_list.substr(start, end - start) : ".";
    const std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    start = end + 1;
  }
  return "";
}

std::string resolve_tool(const std::string& env_var, const std::string& name) {
  if (!env_var.empty()) {
    const char* override_path = std::getenv(env_var.c_str());
    if (override_path != nullptr && *override_path != '\0') {
      const std::string found = find_executable(override_path, std::getenv("PATH") ? std::getenv("PATH") : "");
      if (found.empty())
        throw Error(env_var + "=" + override_path + ": not an executable file");
      return found;
    }
  }
  const char* path = std::getenv("PATH");
  return find_executable(name, path ? path : "");
}

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  Spawned child = spawn(argv, options.cwd, options.merge_stderr);
  ProcessResult result;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(options.timeout_s));
  auto remaining_ms = [&]() -> int {
    if (options.timeout_s <= 0) return -1;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
  };
  while (child.out_fd >= 0 || child.err_fd >= 0) {
    pollfd fds[2];
    int nfds = 0;
    if (child.out_fd >= 0) fds[nfds++] = {child.out_fd, POLLIN, 0};
    if (child.err_fd >= 0) fds[nfds++] = {child.err_fd, POLLIN, 0};
    const int ms = remaining_ms();
    if (ms == 0) {
      result.timed_out = true;
      break;
    }
    const int ready = ::poll(fds, static_cast<nfds_t>(nfds), ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < nfds; ++i) {
      if (fds[i].revents == 0) continue;
      const bool is_out = fds[i].fd == child.out_fd;
      if (!read_some(fds[i].fd, is_out ? result.out : result.err)) close_fd(is_out ? child.out_fd : child.err_fd);
    }
  }
  close_fd(child.out_fd);
  close_fd(child.err_fd);
  if (result.timed_out) {
    result.exit_code = kill_group_and_reap(child.pid);
    return result;
  }
  // Output closed: the child has exited or is about to; wait out the rest of
  // the limit for it.
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(child.pid, &status, WNOHANG);
    if (r == child.pid) {
      result.exit_code = decode_status(status);
      break;
    }
    if (r < 0 && errno != EINTR) break;
    if (remaining_ms() == 0) {
      result.timed_out = true;
      result.exit_code = kill_group_and_reap(child.pid);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return result;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, const std::string& cwd) {
  Spawned child = spawn(argv, cwd, /*merge_stderr=*/false);
  pid_ = child.pid;
  out_fd_ = child.out_fd;
  err_fd_ = child.err_fd;
  for (int fd : {out_fd_, err_fd_}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0 && !exited_) kill_and_wait();
  close_fd(out_fd_);
  close_fd(err_fd_);
}

namespace {

// Non-blocking: takes everything there is; closes fd at EOF.
void read_available(int& fd, std::string& sink) {
  while (fd >= 0) {
    const size_t before = sink.size();
    if (!read_some(fd, sink)) {
      close_fd(fd);
      return;
    }
    if (sink.size() == before) return;  // EAGAIN
  }
}

}  // namespace

bool BackgroundProcess::pump(double wait_s) {
  pollfd fds[2];
  nfds_t n = 0;
  if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
  if (n > 0 && ::poll(fds, n, static_cast<int>(wait_s * 1000)) > 0) {
    read_available(out_fd_, out_);
    read_available(err_fd_, err_);
  }
  if (!exited_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = decode_status(status);
    }
  }
  return !(exited_ && out_fd_ < 0 && err_fd_ < 0);
}

int BackgroundProcess::kill_and_wait() {
  if (pid_ > 0 && !exited_) {
    exit_code_ = kill_group_and_reap(pid_);
    exited_ = true;
  }
  read_available(out_fd_, out_);
  read_available(err_fd_, err_);
  close_fd(out_fd_);
  close_fd(err_fd_);
  return exit_code_;
}

}  // namespace tinynas::deploy
