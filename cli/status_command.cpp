// tinynas status DIR: where a run stands, from its folder alone (and Slurm's
// queue when the run was submitted with --slurm):
// - a search (pipeline.json or DIR/slurm/search.sbatch): each stage done,
//   running (training epochs from train_log.jsonl, the search's generation
//   from its checkpoint) or not started;
// - a training run (train_log.jsonl, checkpoint.pt): epochs done, finished;
// - a space run (space.json, shards/): done, or shards done of N;
// - the jobs DIR/slurm/jobs.json records, with their state from squeue
//   (sacct for jobs that left the queue, where accounting is kept).
// Reads only; never writes.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/slurm.h"
#include "core/error.h"
#include "core/io.h"

namespace tinynas::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const fs::path& file) {
  try {
    return json::parse(read_file(file.string()));
  } catch (const std::exception&) {
    return json();
  }
}

// The last line of a JSON-lines file that parses, and the number of lines.
std::pair<json, int64_t> last_line(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return {json(), 0};
  std::istringstream in(read_file(file.string()));
  json last;
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    try {
      last = json::parse(line);
      ++n;
    } catch (const json::exception&) {
    }
  }
  return {last, n};
}

std::string pct(const json& v) {
  if (!v.is_number()) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * v.get<double>());
  return b;
}

// A training folder's state in a few words.
std::string training_state(const fs::path& dir) {
  std::error_code ec;
  const json summary = read_json(dir / "summary.json");
  const auto [last, epochs] = last_line(dir / "train_log.jsonl");
  if (summary.is_object() && summary.contains("final"))
    return "done: " + std::to_string(summary.value("steps", 0)) + " steps, val top-1 largest " +
           pct(summary["final"].value("val_top1_largest", json()));
  if (epochs > 0) {
    std::string s = "training: epoch " + std::to_string(last.value("epoch", epochs)) + " done (" +
                    last.value("phase", std::string("?")) + " phase, val top-1 largest " +
                    pct(last.value("val_top1_largest", json())) + ")";
    if (last.contains("world_size")) s += ", " + std::to_string(last["world_size"].get<int>()) + " process(es)";
    return s;
  }
  if (fs::exists(dir / "checkpoint.pt", ec)) return "training: first epoch (checkpoint saved)";
  return "";
}

struct Row {
  std::string what, state;
};

std::vector<Row> search_rows(const fs::path& dir) {
  const json pipe = read_json(dir / "pipeline.json");
  auto done = [&](const char* s) { return pipe.is_object() && pipe.contains(s); };
  std::vector<Row> rows;
  std::error_code ec;
  // space
  if (done("space")) {
    const json sp = read_json(dir / "space" / "space.json");
    const json chosen = sp.is_object() ? sp.value("chosen", json()) : json();
    char b[96] = "done";
    if (chosen.is_object())
      std::snprintf(b, sizeof b, "done: width %g, resolution %d", chosen.value("width", 0.0),
                    chosen.value("resolution", 0));
    rows.push_back({"space", b});
  } else {
    rows.push_back({"space", "not started"});
  }
  // supernet
  if (done("supernet")) {
    rows.push_back({"supernet", training_state(dir / "supernet")});
    if (rows.back().state.empty()) rows.back().state = "done";
  } else {
    const std::string t = training_state(dir / "supernet");
    rows.push_back({"supernet", t.empty() ? (done("search") ? "given (--supernet)" : "not started") : t});
  }
  // search
  if (done("search")) {
    const json best = read_json(dir / "search" / "best.json");
    std::string s = "done";
    if (best.is_object() && best.contains("winner"))
      s += ": winner id " + std::to_string(best.value("winner_id", -1)) + ", val top-1 " +
           pct(best["winner"].value("accuracy", json()));
    rows.push_back({"search", s});
  } else if (const json ck = read_json(dir / "search" / "checkpoint.json"); ck.is_object()) {
    const json cfg = ck.value("config", json::object());
    std::string s = "generation " + std::to_string(ck.value("next_generation", 0)) + " next";
    if (cfg.is_object() && cfg.contains("generations"))
      s += " of " + std::to_string(cfg["generations"].get<int>());
    s += " (" + std::to_string(ck.value("history", json::array()).size()) + " candidates evaluated)";
    rows.push_back({"search", s});
  } else {
    rows.push_back({"search", fs::exists(dir / "search", ec) ? "started" : "not started"});
  }
  rows.push_back({"finetune", done("finetune") ? "done" : "not started"});
  if (done("deploy")) {
    const json summary = read_json(dir / "summary.json");
    std::string s = "done";
    if (summary.is_object() && summary.value("test_top1_int8_board", json()).is_number())
      s += ": int8 test top-1 on the board " + pct(summary["test_top1_int8_board"]);
    else if (summary.is_object() && summary.value("test_top1_float", json()).is_number())
      s += ": float test top-1 " + pct(summary["test_top1_float"]) + " (no board run)";
    rows.push_back({"deploy", s});
  } else {
    rows.push_back({"deploy", "not started"});
  }
  return rows;
}

// The output of a shell command, "" when it fails or cannot be started.
std::string capture(const std::string& cmd) {
  try {
    int status = 0;
    const std::string out = slurm::run_command(cmd + " 2>/dev/null", status);
    return status == 0 ? out : "";
  } catch (const Error&) {
    return "";
  }
}

// Slurm's word for each recorded job: squeue while it is queued or running,
// else sacct where accounting is kept, else "left the queue".
std::map<std::string, std::string> job_states(const json& jobs) {
  std::map<std::string, std::string> states;
  std::string ids;
  for (const json& j : jobs) ids += (ids.empty() ? "" : ",") + j.value("job", std::string());
  if (ids.empty()) return states;
  const std::string squeue = slurm::find_on_path("squeue");
  if (squeue.empty()) return states;
  // Array tasks print as JOB_TASK; the job's state is the "most active" one.
  std::istringstream q(capture(slurm::sh_quote(squeue) + " -h -o '%F|%T|%r' -j " + ids));
  for (std::string line; std::getline(q, line);) {
    const auto a = line.find('|'), b = line.rfind('|');
    if (a == std::string::npos || b == a) continue;
    const std::string id = line.substr(0, a);
    std::string state = line.substr(a + 1, b - a - 1);
    const std::string reason = line.substr(b + 1);
    if (state == "PENDING" && !reason.empty() && reason != "None") state += " (" + reason + ")";
    if (!states.count(id) || state.rfind("RUNNING", 0) == 0) states[id] = state;
  }
  const std::string sacct = slurm::find_on_path("sacct");
  for (const json& j : jobs) {
    const std::string id = j.value("job", std::string());
    if (states.count(id)) continue;
    std::string state;
    if (!sacct.empty()) {
      std::istringstream a(capture(slurm::sh_quote(sacct) + " -n -P -X -o State,ExitCode -j " + id));
      std::getline(a, state);
    }
    states[id] = state.empty() ? "not in the queue (finished or cancelled)" : state;
  }
  return states;
}

}  // namespace

Command add_status_command(CLI::App& app) {
  struct Options {
    std::string dir;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("status", "Where a run stands: stages, training epochs, search generation, "
                                               "Slurm jobs (from the run folder and squeue)");
  sub->add_option("DIR", o->dir, "A run folder (search, train or space --out)")->required();
  sub->add_flag("--json", o->json, "Print the state as JSON");
  return [o]() {
    const fs::path dir = o->dir;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw Error(o->dir + ": no such folder");
    std::string kind;
    std::vector<Row> rows;
    if (fs::exists(dir / "pipeline.json", ec) || fs::exists(dir / slurm::kFolder / "search.sbatch", ec)) {
      kind = "search";
      rows = search_rows(dir);
    } else if (fs::exists(dir / "train_log.jsonl", ec) || fs::exists(dir / "checkpoint.pt", ec) ||
               fs::exists(dir / slurm::kFolder / "train.sbatch", ec)) {
      kind = "train";
      const std::string t = training_state(dir);
      rows.push_back({"supernet", t.empty() ? "not started" : t});
    } else if (fs::exists(dir / "space.json", ec) || fs::exists(dir / "shards", ec) ||
               fs::exists(dir / slurm::kFolder / "space-array.sbatch", ec)) {
      kind = "space";
      if (fs::exists(dir / "space.json", ec)) {
        rows.push_back({"space", "done (space.json)"});
      } else {
        int64_t n = 0;
        std::set<std::string> counts;
        for (const auto& e : fs::directory_iterator(dir / "shards", ec)) {
          const std::string name = e.path().filename().string();
          if (name.rfind("shard-", 0) != 0) continue;
          ++n;
          const auto of = name.rfind("-of-");
          if (of != std::string::npos) counts.insert(name.substr(of + 4, name.size() - of - 9));
        }
        std::string s = std::to_string(n) + " shard(s) done";
        if (counts.size() == 1) s += " of " + *counts.begin();
        rows.push_back({"space", s + ", not merged"});
      }
    } else {
      throw Error(o->dir + ": not a tinynas run folder (no pipeline.json, train_log.jsonl, space.json or slurm/)");
    }
    const json jobs = slurm::recorded_jobs(dir);
    const auto states = job_states(jobs);
    if (o->json) {
      json out = {{"dir", fs::absolute(dir).string()}, {"kind", kind}, {"stages", json::array()},
                  {"jobs", json::array()}};
      for (const Row& r : rows) out["stages"].push_back({{"stage", r.what}, {"state", r.state}});
      for (const json& j : jobs) {
        json row = j;
        const std::string id = j.value("job", std::string());
        row["state"] = states.count(id) ? json(states.at(id)) : json();
        out["jobs"].push_back(row);
      }
      std::cout << out.dump(2) << "\n";
      return kExitOk;
    }
    std::printf("%s: a tinynas %s run\n", fs::absolute(dir).string().c_str(), kind.c_str());
    for (const Row& r : rows) std::printf("  %-10s %s\n", r.what.c_str(), r.state.c_str());
    if (!jobs.empty()) {
      std::printf("Slurm jobs (%s):\n", (dir / slurm::kFolder / "jobs.json").string().c_str());
      for (const json& j : jobs) {
        const std::string id = j.value("job", std::string());
        std::printf("  %-14s %-10s %s\n", j.value("stage", std::string()).c_str(), id.c_str(),
                    states.count(id) ? states.at(id).c_str() : "(squeue not found)");
      }
    }
    return kExitOk;
  };
}

}  // namespace tinynas::cli
