// A single-host Slurm cluster for tests: munged, slurmctld and slurmd on
// 127.0.0.1, started as children of the test process (no systemd), with every
// file (key, config, state, spool, logs) under one temporary folder and ports
// of its own, so that it touches nothing of a cluster the machine may have.
//
// start() takes about 1.5 s; stop() cancels every job, waits for squeue to
// empty (jobs outlive slurmd), then ends exactly the daemons it started.
// Clients find it through SLURM_CONF, which start() sets in this process's
// environment (children inherit it). Cost: three daemons, a few MB.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace tinynas::test {

class SlurmCluster {
 public:
  // Why a cluster cannot run here ("" when it can): a missing program, or
  // not root (slurmd starts jobs as their user).
  static std::string unavailable() {
    for (const char* p : {"munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo"})
      if (find(p).empty()) return std::string(p) + " not found (install slurm-wlm and munge)";
    if (::geteuid() != 0) return "a single-host Slurm cluster needs root here (slurmd starts the jobs)";
    return "";
  }

  ~SlurmCluster() { stop(); }

  // Starts the daemons in `root` (a fresh folder); "" on success, else what
  // failed with the tails of the daemons' logs.
  std::string start(const std::filesystem::path& root) {
    namespace fs = std::filesystem;
    root_ = root;
    const auto t0 = std::chrono::steady_clock::now();
    for (const char* d : {"munge", "ctld", "spool", "log"}) {
      fs::remove_all(root_ / d);
      fs::create_directories(root_ / d);
    }
    // munged checks that its folders are not writable by others.
    ::chmod(root_.c_str(), 0755);
    ::chmod((root_ / "munge").c_str(), 0755);
    conf_ = root_ / "slurm.conf";
    write_conf(free_port(), free_port());
    const fs::path key = root_ / "munge" / "munge.key";
    if (run_quiet({find("mungekey"), "-c", "-k", key.string()}) != 0) return "mungekey -c failed";
    socket_ = root_ / "munge" / "munge.socket";
    spawn({find("munged"), "-F", "-f", "--socket=" + socket_.string(), "--key-file=" + key.string(),
           "--log-file=" + (root_ / "log" / "munged.log").string(),
           "--pid-file=" + (root_ / "munge" / "munged.pid").string(),
           "--seed-file=" + (root_ / "munge" / "munged.seed").string()},
          "munged.out");
    if (!wait_for([&] { return fs::exists(socket_); }, 5.0)) return "munged did not start" + logs();
    ::setenv("SLURM_CONF", conf_.c_str(), 1);
    spawn({find("slurmctld"), "-D", "-i", "-f", conf_.string()}, "slurmctld.out");
    spawn({find("slurmd"), "-D", "-N", "localhost", "-f", conf_.string()}, "slurmd.out");
    if (!wait_for([&] { return output_of("sinfo -h -o %T") == "idle\n"; }, 20.0))
      return "the node did not become idle" + logs();
    start_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return "";
  }

  // Cancels every job, waits for the queue to empty, and ends the daemons
  // this object started (SIGTERM, then SIGKILL after 5 s), newest first.
  void stop() {
    if (pids_.empty()) return;
    if (!conf_.empty()) {
      run_quiet({find("scancel"), "--user=" + std::to_string(::geteuid())});
      wait_for([&] { return output_of("squeue -h 2>&1").empty(); }, 15.0);
    }
    for (auto it = pids_.rbegin(); it != pids_.rend(); ++it) {
      ::kill(*it, SIGTERM);
      bool gone = wait_for([&] { return ::waitpid(*it, nullptr, WNOHANG) == *it; }, 5.0);
      if (!gone) {
        ::kill(*it, SIGKILL);
        ::waitpid(*it, nullptr, 0);
      }
    }
    pids_.clear();
  }

  double start_seconds() const { return start_seconds_; }
  const std::filesystem::path& conf() const { return conf_; }

  // stdout of a shell command (clients see this cluster through SLURM_CONF).
  static std::string output_of(const std::string& command) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return out;
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ::pclose(p);
    return out;
  }

  // Polls `done` every 50 ms for at most `seconds`.
  template <typename F>
  static bool wait_for(F&& done, double seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  // The last lines of the daemons' logs, for failure messages.
  std::string logs() const {
    std::string s;
    for (const char* f : {"munged.log", "munged.out", "slurmctld.log", "slurmctld.out", "slurmd.log", "slurmd.out"})
      s += "\n--- " + std::string(f) + " ---\n" + output_of("tail -n 8 '" + (root_ / "log" / f).string() + "' 2>&1");
    return s;
  }

  static std::string find(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string dirs = std::string(path != nullptr ? path : "") + ":/usr/sbin:/usr/bin:/sbin";
    size_t start = 0;
    while (start <= dirs.size()) {
      const size_t end = std::min(dirs.find(':', start), dirs.size());
      const std::string candidate = dirs.substr(start, end - start) + "/" + name;
      if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
    return "";
  }

 private:
  // A port nothing listens on now (the kernel's choice for port 0).
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    ::close(fd);
    return port;
  }

  void write_conf(int ctld_port, int slurmd_port) const {
    const std::string r = root_.string();
    std::ofstream c(conf_);
    c << "ClusterName=tinynas-test\n"
         "SlurmctldHost=localhost(127.0.0.1)\n"
      << "SlurmctldPort=" << ctld_port << "\nSlurmdPort=" << slurmd_port << "\n"
      << "SlurmUser=root\nSlurmdUser=root\n"
         "AuthType=auth/munge\nCredType=cred/munge\n"
      << "AuthInfo=socket=" << r << "/munge/munge.socket\n"
      << "StateSaveLocation=" << r << "/ctld\nSlurmdSpoolDir=" << r << "/spool\n"
      << "SlurmctldPidFile=" << r << "/ctld/slurmctld.pid\nSlurmdPidFile=" << r << "/spool/slurmd.pid\n"
      << "SlurmctldLogFile=" << r << "/log/slurmctld.log\nSlurmdLogFile=" << r << "/log/slurmd.log\n"
      << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
         "SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n"
         "AccountingStorageType=accounting_storage/none\nJobCompType=jobcomp/none\n"
         "JobAcctGatherType=jobacct_gather/none\nMpiDefault=none\n"
         "ReturnToService=2\n"
         // Finished jobs leave the queue after 4 s (sbatch --wait returns
         // promptly); the scheduler runs on every event, not once a minute.
         "MinJobAge=4\n"
         "SchedulerParameters=kill_invalid_depend,batch_sched_delay=0,sched_min_interval=0,sched_interval=1\n"
         "NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n"
         "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n";
  }

  // Starts a daemon with its stdout and stderr in log/<out>; it dies with
  // this process (PR_SET_PDEATHSIG) should the test be killed.
  void spawn(const std::vector<std::string>& args, const std::string& out) {
    const std::string log = (root_ / "log" / out).string();
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      std::FILE* f = std::freopen(log.c_str(), "w", stdout);
      if (f == nullptr || ::dup2(::fileno(stdout), STDERR_FILENO) < 0) ::_exit(126);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (pid > 0) pids_.push_back(pid);
  }

  static int run_quiet(const std::vector<std::string>& args) {
    std::string cmd;
    for (const auto& a : args) cmd += "'" + a + "' ";
    return std::system((cmd + ">/dev/null 2>&1").c_str());
  }

  std::filesystem::path root_, conf_, socket_;
  std::vector<pid_t> pids_;
  double start_seconds_ = 0;
};

}  // namespace tinynas::test
