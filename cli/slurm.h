// What `--slurm` shares across commands (space, train, search): the #SBATCH
// options (flags or the YAML config's `slurm:` mapping), the job scripts'
// command lines, submission with sbatch, and the record of submitted jobs
// (DIR/slurm/jobs.json) that `tinynas status DIR` reads.
//
// Every job script runs its tinynas command through srun, so that Slurm's
// signals reach it: SIGTERM (a preemption, `scontrol requeue`, or
// --signal=TERM@120 before the time limit) makes train and search finish the
// step or generation, save their checkpoint and exit with 143; the script
// then requeues the job, which resumes from the checkpoint.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace tinynas::cli::slurm {

// The folder inside a run folder that holds the scripts, logs/ and jobs.json.
inline constexpr const char* kFolder = "slurm";

struct Flags {
  std::string partition, account, time;
  int32_t cpus = 1;    // --cpus-per-task
  int32_t ntasks = 1;  // processes (c10d ranks) of a training job
  int32_t nodes = 1;
  int32_t gpus = 0;    // --gpus-per-task (0: none)
};

// Registers --slurm-partition, --slurm-account, --slurm-time, --slurm-cpus,
// and with `tasks` also --slurm-ntasks, --slurm-nodes and --slurm-gpus.
void add_flags(CLI::App& sub, Flags& flags, bool tasks);
// Throws tinynas::Error naming the flag for a value sbatch would misread.
void check_flags(const Flags& flags);
// True for the options that say how to run rather than what to compute
// (--slurm*, --dry-run, --out, --json, --help): job command lines leave them
// out and add their own.
bool is_scheduling_option(const std::string& long_name);

std::string sh_quote(const std::string& s);
// The absolute path of an executable named `name` on PATH, or "".
std::string find_on_path(const std::string& name);
// The absolute path of sbatch; throws naming `flag` when it is not on PATH.
std::string require_sbatch(const std::string& flag = "--slurm");

// This binary, `subcommand`, and every option given to `sub` (on the command
// line or in --config) that is neither a scheduling option nor in `skip`,
// each value shell-quoted.
std::string job_command(const CLI::App& sub, const std::string& subcommand, const std::set<std::string>& skip = {});

// The #SBATCH lines of a job: name, working folder (the current one, so that
// relative paths in the command mean what they meant here), log file under
// `logs`, --requeue, SIGTERM 120 s before the time limit, and the resources
// of `flags` (ntasks/nodes/gpus only when `tasks`).
std::string sbatch_header(const std::string& job_name, const std::filesystem::path& log_file, const Flags& flags,
                          bool tasks);
// Lines that run `command` as a job step and requeue the job when it was
// stopped by SIGTERM (exit 143) with its checkpoint saved.
std::string srun_and_requeue(const std::string& command, int32_t ntasks);

// "I/N" (0 <= I < N) of an array task's --shard-style flag; throws naming
// `flag` otherwise.
std::pair<int32_t, int32_t> parse_shard(const std::string& text, const std::string& flag);

// Runs a shell command line; its stdout (add "2>&1" for stderr too), and its
// exit status (pclose's) in `status`. Throws when it cannot be started.
std::string run_command(const std::string& command_line, int& status);

// Runs `sbatch --parsable ARGS...`; the job id, or throws with sbatch's words.
std::string submit(const std::string& sbatch, const std::vector<std::string>& args);

// Appends {stage, job, script, ...} records to DIR/slurm/jobs.json (written
// atomically).
void record_jobs(const std::filesystem::path& dir, const nlohmann::json& jobs);
nlohmann::json recorded_jobs(const std::filesystem::path& dir);

}  // namespace tinynas::cli::slurm
