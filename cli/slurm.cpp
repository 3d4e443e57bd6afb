#include "cli/slurm.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/io.h"

namespace tinynas::cli::slurm {

namespace fs = std::filesystem;

void add_flags(CLI::App& sub, Flags& f, bool tasks) {
  sub.add_option("--slurm-partition", f.partition, "#SBATCH --partition of the jobs");
  sub.add_option("--slurm-account", f.account, "#SBATCH --account of the jobs");
  sub.add_option("--slurm-time", f.time, "#SBATCH --time of each job (e.g. 10:00); SIGTERM 2 min before it "
                                         "saves and requeues");
  sub.add_option("--slurm-cpus", f.cpus, "#SBATCH --cpus-per-task of each job")->check(CLI::Range(1, 4096));
  if (!tasks) return;
  sub.add_option("--slurm-ntasks", f.ntasks, "Training processes (c10d ranks; #SBATCH --ntasks)")
      ->check(CLI::Range(1, 4096));
  sub.add_option("--slurm-nodes", f.nodes, "#SBATCH --nodes of the training job")->check(CLI::Range(1, 4096));
  sub.add_option("--slurm-gpus", f.gpus, "#SBATCH --gpus-per-task of the training job (0: none)")
      ->check(CLI::Range(0, 64));
}

void check_flags(const Flags& f) {
  const std::pair<const std::string*, const char*> values[] = {
      {&f.partition, "--slurm-partition"}, {&f.account, "--slurm-account"}, {&f.time, "--slurm-time"}};
  for (const auto& [value, flag] : values)
    for (char c : *value)
      if (static_cast<unsigned char>(c) <= ' ')
        throw Error(std::string(flag) + ": must not hold spaces or control characters ('" + shorten(*value) + "')");
  if (f.nodes > f.ntasks)
    throw Error("--slurm-nodes " + std::to_string(f.nodes) + " exceeds --slurm-ntasks " + std::to_string(f.ntasks) +
                ": every node runs at least one training process");
}

bool is_scheduling_option(const std::string& name) {
  return name.rfind("slurm", 0) == 0 || name == "dry-run" || name == "out" || name == "json" || name == "help";
}

std::string sh_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  const std::string dirs = path != nullptr ? path : "";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      const fs::path candidate = fs::path(dir) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return fs::absolute(candidate).string();
    }
    start = end + 1;
  }
  return "";
}

std::string require_sbatch(const std::string& flag) {
  const std::string sbatch = find_on_path("sbatch");
  if (sbatch.empty())
    throw Error(flag + ": sbatch not found on PATH (Slurm's client); nothing written or submitted" +
                (flag == "--slurm" ? " (--dry-run prints the scripts)" : ""));
  return sbatch;
}

std::string job_command(const CLI::App& sub, const std::string& subcommand, const std::set<std::string>& skip) {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find the tinynas binary (/proc/self/exe): " + ec.message());
  // tinynas-torch (train, search) is reached through tinynas beside it.
  if (self.filename() == "tinynas-torch") self = self.parent_path() / "tinynas";
  std::string cmd = sh_quote(self.string()) + " " + subcommand;
  for (const CLI::Option* opt : sub.get_options()) {
    if (opt->count() == 0 || opt->get_lnames().empty()) continue;
    const std::string& name = opt->get_lnames()[0];
    if (is_scheduling_option(name) || skip.count(name) != 0) continue;
    // A flag's value (from --config: "true", "false") must be attached.
    const bool flag = opt->get_type_size() == 0 || opt->get_expected_max() == 0;
    for (const std::string& value : opt->results())
      cmd += " --" + name + (flag ? "=" : " ") + sh_quote(value);
  }
  return cmd;
}

std::string sbatch_header(const std::string& job_name, const fs::path& log_file, const Flags& f, bool tasks) {
  std::error_code ec;
  const std::string cwd = fs::current_path(ec).string();
  std::string s = "#SBATCH --job-name=" + job_name + "\n";
  s += "#SBATCH --chdir=" + cwd + "\n";
  s += "#SBATCH --output=" + log_file.string() + "\n";
  s += "#SBATCH --requeue\n";
  s += "#SBATCH --open-mode=append\n";  // a requeued job's log keeps the earlier runs
  s += "#SBATCH --signal=TERM@120\n";
  if (!f.partition.empty()) s += "#SBATCH --partition=" + f.partition + "\n";
  if (!f.account.empty()) s += "#SBATCH --account=" + f.account + "\n";
  if (!f.time.empty()) s += "#SBATCH --time=" + f.time + "\n";
  s += "#SBATCH --nodes=" + std::to_string(tasks ? f.nodes : 1) + "\n";
  s += "#SBATCH --ntasks=" + std::to_string(tasks ? f.ntasks : 1) + "\n";
  s += "#SBATCH --cpus-per-task=" + std::to_string(f.cpus) + "\n";
  if (tasks && f.gpus > 0) s += "#SBATCH --gpus-per-task=" + std::to_string(f.gpus) + "\n";
  return s;
}

std::string srun_and_requeue(const std::string& command, int32_t ntasks) {
  // srun (since Slurm 22) does not inherit --cpus-per-task from the batch
  // job; it is passed on. --kill-on-bad-exit: a rank that dies ends the
  // others at once instead of at the rendezvous timeout.
  return "srun --kill-on-bad-exit=1 --ntasks=" + std::to_string(ntasks) +
         " --cpus-per-task=\"${SLURM_CPUS_PER_TASK:-1}\" " + command +
         "\n"
         "status=$?\n"
         "# 143: stopped by SIGTERM with the checkpoint saved (time limit near, or\n"
         "# preempted): run again from it. A requeue by Slurm itself ends this script first.\n"
         "if [ \"$status\" -eq 143 ]; then\n"
         "  scontrol requeue \"$SLURM_JOB_ID\" && exit 0\n"
         "fi\n"
         "exit \"$status\"\n";
}

std::pair<int32_t, int32_t> parse_shard(const std::string& text, const std::string& flag) {
  const auto slash = text.find('/');
  auto number = [](const std::string& s, int32_t& v) {
    if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    v = std::stoi(s);
    return true;
  };
  int32_t i = 0, n = 0;
  if (slash == std::string::npos || !number(text.substr(0, slash), i) || !number(text.substr(slash + 1), n) ||
      n < 1 || i >= n)
    throw Error(flag + ": expected I/N with 0 <= I < N, like 2/4, not '" + shorten(text) + "'");
  return {i, n};
}

std::string run_command(const std::string& command_line, int& status) {
  FILE* pipe = ::popen(command_line.c_str(), "r");
  if (pipe == nullptr) throw Error("cannot run " + one_line(command_line, 100) + ": " + std::strerror(errno));
  std::string output;
  char buf[512];
  while (size_t got = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, got);
  status = ::pclose(pipe);
  return output;
}

std::string submit(const std::string& sbatch, const std::vector<std::string>& args) {
  std::string cmd = sh_quote(sbatch) + " --parsable";
  for (const auto& a : args) cmd += " " + sh_quote(a);
  int status = 0;
  const std::string output = run_command(cmd + " 2>&1", status);
  // --parsable prints "JOBID" or "JOBID;CLUSTER" as its last line.
  std::string last;
  for (size_t pos = 0; pos < output.size();) {
    const size_t end = std::min(output.find('\n', pos), output.size());
    if (end > pos) last = output.substr(pos, end - pos);
    pos = end + 1;
  }
  const std::string id = last.substr(0, last.find(';'));
  if (status != 0 || id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw Error("sbatch failed (" + one_line(output, 300) + ")");
  return id;
}

nlohmann::json recorded_jobs(const fs::path& dir) {
  const fs::path file = dir / kFolder / "jobs.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return nlohmann::json::array();
  try {
    nlohmann::json j = nlohmann::json::parse(read_file(file.string()));
    if (j.is_array()) return j;
  } catch (const nlohmann::json::exception&) {
  }
  throw Error(file.string() + ": not a list of submitted jobs (written by --slurm)");
}

void record_jobs(const fs::path& dir, const nlohmann::json& jobs) {
  nlohmann::json all = recorded_jobs(dir);
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  for (nlohmann::json j : jobs) {
    j["submitted"] = static_cast<int64_t>(now);
    all.push_back(std::move(j));
  }
  write_file_atomic((dir / kFolder / "jobs.json").string(), all.dump(2) + "\n");
}

}  // namespace tinynas::cli::slurm
