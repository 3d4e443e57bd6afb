// tinynas search: the whole pipeline for one MCU budget, in one run folder.
//
//   DIR/space/     width and resolution for the budget (space.json, plot)
//   DIR/supernet/  the trained weight-shared supernet (tinynas train's folder)
//   DIR/search/    evolution (checkpoint.json while running), history,
//                  Pareto fronts, the board-measured top-k (topk/)
//   DIR/finetune/  the winner extracted and fine-tuned (weights.bin, finetune.json)
//   DIR/deploy/    its int8 firmware, run on the board with test images
//   DIR/best.json, history.jsonl, pareto.json, pareto.svg, pareto_sram.svg,
//   summary.json   copies and the summary at the top
//   DIR/pipeline.json  one marker per finished stage with the options it ran
//                  with, written after the stage's output is complete
//
// A rerun skips finished stages whose options are unchanged and refuses,
// naming the option, when they changed; a killed run resumes where it
// stopped (training and evolution from their own checkpoints).
#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/slurm.h"
#include "cli/stop_signals.h"
#include "core/arch_io.h"
#include "core/doc.h"
#include "core/error.h"
#include "core/io.h"
#include "core/output_dir.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/size.h"
#include "datasets/dataset.h"
#include "deploy/calibrate.h"
#include "deploy/deploy.h"
#include "evaluator/accuracy.h"
#include "evaluator/cost_model.h"
#include "evaluator/latency_fit.h"
#include "search/evolution.h"
#include "space_optimizer/space_optimizer.h"
#include "supernet/distributed.h"
#include "supernet/trainer.h"

namespace tinynas::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Options {
  std::string mcu, out, space = "mcunet", dataset, test_dataset, train_config, supernet;
  BudgetFlags budget;
  int64_t space_samples = 1000;
  // training (besides train_config)
  int32_t epochs = 0;
  int64_t max_train_images = 0;
  // evolution
  std::string strategy = "evolution";
  int32_t population = 100, parents = 20, mutation_count = 50, crossover_count = 50, generations = 30;
  double mutation_prob = 0.1;
  int32_t predictor_screen = 1;
  int64_t evaluations = 0;
  uint64_t seed = 0;
  // accuracy
  int32_t bn_batches = 20;
  int64_t bn_batch_size = 64, val_images = 5000;
  // board in the loop and deploy
  std::string hil = "qemu";
  int32_t hil_top = 3;
  int32_t hil_every = 0;
  int32_t finetune_epochs = 2;
  double finetune_lr = 0.01;
  int32_t eval_count = 200;
  int32_t timeout_s = 900;
  int32_t threads = 0;
  // cluster
  bool slurm = false, dry_run = false;
  slurm::Flags slurm_flags;
  int32_t eval_shards = 0;             // > 0: each generation's candidates as a job array
  std::string stop_after;              // a stage name: end the run after it
  std::string eval_shard, eval_dir;    // an array task: shard I/S of DIR's candidates
};

std::string fmt_pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * v);
  return b;
}

// ---- stage markers ------------------------------------------------------------

class Pipeline {
 public:
  explicit Pipeline(fs::path dir) : dir_(std::move(dir)), marker_(dir_ / "pipeline.json") {
    if (fs::exists(marker_)) state_ = json::parse(read_file(marker_.string()));
  }
  // True when `stage` finished with exactly these inputs; throws naming the
  // first input that differs from the finished run's.
  bool done(const std::string& stage, const json& inputs) const {
    if (!state_.contains(stage)) return false;
    const json& was = state_[stage];
    for (const auto& [key, value] : inputs.items()) {
      const json old = was.value(key, json());
      if (old != value)
        throw Error(dir_.string() + " holds a search whose " + stage + " stage ran with " + key + " " +
                    shorten(old.dump()) + ", not " + shorten(value.dump()) +
                    "; use another --out, or remove the folder to start over");
    }
    return true;
  }
  void finish(const std::string& stage, const json& inputs) {
    state_[stage] = inputs;
    write_file_atomic(marker_.string(), state_.dump(2) + "\n");
  }

 private:
  fs::path dir_, marker_;
  json state_ = json::object();
};

// The run folder must be new, empty, or a search's (it holds pipeline.json).
void check_run_folder(const fs::path& dir) {
  check_output_dir(dir.string(), "--out", false);  // not ".", not a file, not the root
  if (!fs::exists(dir) || fs::is_empty(dir) || fs::exists(dir / "pipeline.json") ||
      fs::exists(dir / slurm::kFolder / "search.sbatch"))  // submitted by --slurm, no stage finished yet
    return;
  throw Error("--out: " + dir.string() + " holds files that are not a tinynas search (no pipeline.json); "
              "choose a new or empty folder");
}

// A data set for the final accuracy: --test-dataset, or for generated data
// the same generator with other images.
std::string default_test_dataset(const std::string& train) {
  const datasets::DatasetSpec s = datasets::parse_dataset_spec(train);
  if (s.kind != "generated") return "";
  const int64_t per_class = std::max<int64_t>(10, s.per_class / 4);
  return "generated:" + std::to_string(s.classes) + "x" + std::to_string(per_class) + ",res=" +
         std::to_string(s.resolution) + ",seed=" + std::to_string(s.seed + 7919);
}

void write_floats(std::string& out, const std::vector<float>& v) {
  const uint64_t n = v.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  if (!v.empty()) out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

std::vector<float> read_floats(const std::string& in, size_t& pos, const std::string& where) {
  uint64_t n = 0;
  if (pos + sizeof n > in.size()) throw Error(where + ": truncated");
  std::memcpy(&n, in.data() + pos, sizeof n);
  pos += sizeof n;
  if (n > (in.size() - pos) / sizeof(float)) throw Error(where + ": truncated");
  std::vector<float> v(n);
  if (n > 0) std::memcpy(v.data(), in.data() + pos, n * sizeof(float));
  pos += n * sizeof(float);
  return v;
}

// The supernet's accuracy as the search's evaluator, a batch per generation
// with a progress bar.
//
// Patch-based execution computes the same outputs as layer by layer, so the
// patch setting of a candidate (a gene of spaces with `patch:`) does not
// change its accuracy: a network is scored once, whatever settings it comes
// with.
class SupernetEvaluator : public AccuracyEvaluator {
 public:
  explicit SupernetEvaluator(SubnetAccuracy& accuracy) : accuracy_(accuracy) {}
  std::vector<double> evaluate(const std::vector<ArchSpec>& archs) override {
    ProgressBar bar("accuracy of " + std::to_string(archs.size()) + " subnets", static_cast<int64_t>(archs.size()),
                    archs.size() > 1);
    std::vector<double> out;
    for (const ArchSpec& a : archs) {
      const ArchSpec network = layer_by_layer(a);
      const std::string key = arch_to_json(network).dump();
      auto it = scored_.find(key);
      if (it == scored_.end()) it = scored_.emplace(key, accuracy_.top1({network}).front()).first;
      out.push_back(it->second);
      bar.tick();
    }
    return out;
  }

 private:
  SubnetAccuracy& accuracy_;
  std::map<std::string, double> scored_;  // by the network without its patch setting
};

// ---- the search on a Slurm cluster --------------------------------------------
//
// `--slurm` submits one job per stage, each after the previous one succeeds
// (afterok): space, supernet (--slurm-ntasks processes over c10d), search,
// then fine-tuning + deploy + results. Every job runs this command with the
// same options and --stop-after its stage; finished stages are skipped
// (pipeline.json), so a requeued job resumes where it stopped.
//
// `--eval-shards S` (the search job gets it from --slurm, or any run inside
// an allocation): each generation's new candidates are written to
// DIR/search/evals/<digest>/candidates.json and scored by a job array of S
// tasks (`--eval-shard I/S --eval-dir D`, candidates I, I+S, ...), each
// writing shard-I-of-S.json atomically; the search waits for the array
// (sbatch --wait), then reads the scores back in order. A candidate's score
// is a pure function of (checkpoint, options, architecture), so the merged
// scores are exactly those one process computes. Shard files that exist are
// not computed again: a requeued search or a failed task reruns only the
// missing shards.

constexpr const char* kEvalScript = "eval-array.sbatch";

std::string shard_file_name(int32_t index, int32_t count) {
  return "shard-" + std::to_string(index) + "-of-" + std::to_string(count) + ".json";
}

// The candidates file of a batch and its digest (the folder's name).
struct CandidateBatch {
  std::string digest;
  json candidates;  // array of arch JSON
};

CandidateBatch candidate_batch(const std::vector<ArchSpec>& archs) {
  CandidateBatch b;
  b.candidates = json::array();
  for (const ArchSpec& a : archs) b.candidates.push_back(arch_to_json(a));
  char hex[24];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(b.candidates.dump()));
  b.digest = hex;
  return b;
}

// Scores of a shard file, or nullopt when it is absent or not this batch's.
std::optional<std::vector<std::pair<int64_t, double>>> read_shard(const fs::path& file, const std::string& digest,
                                                                   int32_t shards) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  try {
    const json j = json::parse(read_file(file.string()));
    if (j.value("digest", "") != digest || j.value("shards", 0) != shards) return std::nullopt;
    std::vector<std::pair<int64_t, double>> scores;
    for (const json& s : j.at("scores")) scores.emplace_back(s.at(0).get<int64_t>(), s.at(1).get<double>());
    return scores;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// An array task: scores its share of D/candidates.json into D/shard-I-of-S.json.
int run_eval_shard(const Options& o, const std::string& checkpoint, const SubnetAccuracyOptions& ao) {
  const auto [index, count] = slurm::parse_shard(o.eval_shard, "--eval-shard");
  const fs::path d = o.eval_dir;
  const fs::path cfile = d / "candidates.json";
  if (!fs::exists(cfile)) throw Error("--eval-dir: " + d.string() + " holds no candidates.json");
  const json batch = json::parse(read_file(cfile.string()));
  const json& cands = batch.at("candidates");
  std::vector<ArchSpec> archs;
  std::vector<int64_t> ids;
  for (size_t i = static_cast<size_t>(index); i < cands.size(); i += static_cast<size_t>(count)) {
    archs.push_back(arch_from_document(parse_document(cands[i].dump(), cfile.string())));
    ids.push_back(static_cast<int64_t>(i));
  }
  SubnetAccuracy accuracy(checkpoint, ao);
  SupernetEvaluator evaluator(accuracy);
  const std::vector<double> top1 = evaluator.evaluate(archs);
  json scores = json::array();
  for (size_t k = 0; k < ids.size(); ++k) scores.push_back({ids[k], top1[k]});
  const fs::path file = d / shard_file_name(index, count);
  write_file_atomic(file.string(), json{{"digest", batch.at("digest")}, {"shard", index}, {"shards", count},
                                        {"scores", scores}}.dump() + "\n");
  spdlog::info("shard {} of {}: {} of {} candidates scored; wrote {}", index, count, ids.size(), cands.size(),
               file.string());
  return kExitOk;
}

// Thrown when a stop signal arrived while an evaluation array ran.
struct EvalInterrupted : Error {
  using Error::Error;
};

// The search's evaluator on a cluster: every batch as a job array.
class ArrayEvaluator : public AccuracyEvaluator {
 public:
  ArrayEvaluator(fs::path evals, fs::path script, int32_t shards)
      : evals_(std::move(evals)), script_(std::move(script)), shards_(shards),
        sbatch_(slurm::require_sbatch("--eval-shards")) {}

  std::vector<double> evaluate(const std::vector<ArchSpec>& archs) override {
    const CandidateBatch b = candidate_batch(archs);
    const fs::path d = evals_ / b.digest;
    if (!fs::exists(d / "candidates.json"))
      write_file_atomic((d / "candidates.json").string(),
                        json{{"digest", b.digest}, {"candidates", b.candidates}}.dump() + "\n");
    const int32_t tasks = std::min<int32_t>(shards_, static_cast<int32_t>(archs.size()));
    auto missing = [&] {
      std::string list;
      for (int32_t i = 0; i < tasks; ++i)
        if (!read_shard(d / shard_file_name(i, tasks), b.digest, tasks))
          list += (list.empty() ? "" : ",") + std::to_string(i);
      return list;
    };
    std::string todo = missing();
    std::string job;
    if (!todo.empty()) {
      spdlog::info("{} candidates as a job array of {} tasks ({}); waiting", archs.size(), tasks, d.string());
      std::string output;
      try {
        job = slurm::submit(sbatch_, {"--wait", "--array=" + todo, script_.string(), d.string(),
                                      std::to_string(tasks)});
      } catch (const Error& e) {
        output = e.what();
      }
      todo = missing();
      if (!todo.empty()) {
        if (g_stop_requested.load())
          throw EvalInterrupted("stopped while the evaluation array ran; finished shards are kept in " + d.string());
        throw Error("candidate evaluation: shards " + todo + " of " + std::to_string(tasks) + " in " + d.string() +
                    " did not finish" + (job.empty() ? "" : " (array job " + job + ")") +
                    (output.empty() ? "" : ": " + one_line(output, 300)) + "; logs in " +
                    (script_.parent_path() / "logs").string() +
                    "; run the search again: finished shards are kept");
      }
    }
    std::vector<double> top1(archs.size(), std::numeric_limits<double>::quiet_NaN());
    for (int32_t i = 0; i < tasks; ++i) {
      const auto scores = read_shard(d / shard_file_name(i, tasks), b.digest, tasks);
      if (!scores) throw Error(d.string() + ": " + shard_file_name(i, tasks) + " vanished while merging");
      for (const auto& [id, score] : *scores)
        if (id >= 0 && static_cast<size_t>(id) < top1.size()) top1[static_cast<size_t>(id)] = score;
    }
    for (size_t i = 0; i < top1.size(); ++i)
      if (!std::isfinite(top1[i]))
        throw Error(d.string() + ": the shards hold no score for candidate " + std::to_string(i));
    return top1;
  }

 private:
  fs::path evals_, script_;
  int32_t shards_;
  std::string sbatch_;
};

// The job scripts of `search --slurm`, by file name, in submission order
// (eval-array.sbatch last: the search job submits it, not --slurm).
std::vector<std::pair<std::string, std::string>> slurm_scripts(const Options& o, const CLI::App& sub,
                                                               const fs::path& dir, bool train) {
  const std::string cmd = slurm::job_command(sub, "search", {"stop-after", "eval-shard", "eval-dir"}) + " --out " +
                          slurm::sh_quote(dir.string());
  const fs::path logs = dir / slurm::kFolder / "logs";
  auto script = [&](const std::string& stage, const std::string& what, const std::string& body, bool tasks) {
    return "#!/bin/bash\n# Written by `tinynas search --slurm`: " + what + "\n" +
           slurm::sbatch_header("tinynas-" + stage, logs / (stage + "-%j.out"), o.slurm_flags, tasks) + body;
  };
  std::vector<std::pair<std::string, std::string>> s;
  s.emplace_back("space.sbatch", script("space", "the width and resolution for the budget (DIR/space).",
                                        slurm::srun_and_requeue(cmd + " --stop-after space", 1), false));
  if (train)
    s.emplace_back("supernet.sbatch",
                   script("supernet",
                          "the supernet, trained by " + std::to_string(o.slurm_flags.ntasks) +
                              " process(es) over c10d\n# (DIR/supernet); SIGTERM saves a checkpoint and requeues.",
                          slurm::srun_and_requeue(cmd + " --stop-after supernet", o.slurm_flags.ntasks), true));
  s.emplace_back("search.sbatch",
                 script("search",
                        "the evolutionary search (DIR/search)" +
                            std::string(o.eval_shards > 0 ? ";\n# each generation's candidates are scored by "
                                                            "eval-array.sbatch as a job array."
                                                          : "."),
                        slurm::srun_and_requeue(cmd + " --stop-after search", 1), false));
  s.emplace_back("deploy.sbatch", script("deploy", "fine-tuning, int8 firmware on the board, results at the top.",
                                         slurm::srun_and_requeue(cmd, 1), false));
  if (o.eval_shards > 0) {
    slurm::Flags one = o.slurm_flags;
    one.ntasks = one.nodes = 1;
    s.emplace_back(kEvalScript,
                   "#!/bin/bash\n# Written by `tinynas search`: array task I scores candidates I, I+S, ... of\n"
                   "# $1/candidates.json into $1/shard-I-of-S.json (S = $2). The search job submits it\n"
                   "# with --wait for every generation; a shard writes its file whole or not at all.\n" +
                       slurm::sbatch_header("tinynas-eval", logs / "eval-%A_%a.out", one, false) + "exec " + cmd +
                       " --eval-dir \"$1\" --eval-shard \"${SLURM_ARRAY_TASK_ID}/$2\"\n");
  }
  return s;
}

// Writes the scripts into DIR/slurm and submits the stage jobs, each after
// the one before succeeds.
int submit_search(const Options& o, const CLI::App& sub, const fs::path& dir, bool train) {
  slurm::check_flags(o.slurm_flags);
  const auto scripts = slurm_scripts(o, sub, dir, train);
  const fs::path sdir = dir / slurm::kFolder;
  if (o.dry_run) {
    for (const auto& [name, text] : scripts) std::cout << "# " << (sdir / name).string() << "\n" << text << "\n";
    std::cout << "# not submitted (--dry-run): each stage's script with --dependency=afterok on the one before\n";
    return kExitOk;
  }
  const std::string sbatch = slurm::require_sbatch();
  fs::create_directories(sdir / "logs");
  for (const auto& [name, text] : scripts) write_file_atomic((sdir / name).string(), text);
  json jobs = json::array();
  std::string previous;
  for (const auto& [name, text] : scripts) {
    if (name == kEvalScript) continue;
    std::vector<std::string> args;
    if (!previous.empty()) args = {"--dependency=afterok:" + previous, "--kill-on-invalid-dep=yes"};
    args.push_back((sdir / name).string());
    try {
      previous = slurm::submit(sbatch, args);
    } catch (const Error& e) {
      if (!jobs.empty()) slurm::record_jobs(dir, jobs);
      throw Error(std::string(e.what()) + (jobs.empty() ? "; nothing submitted" : "; the jobs before it run") +
                  "; the scripts are in " + sdir.string());
    }
    jobs.push_back({{"stage", name.substr(0, name.find('.'))}, {"job", previous}, {"script", (sdir / name).string()}});
    std::cout << name.substr(0, name.find('.')) << " job " << previous << "\n";
  }
  slurm::record_jobs(dir, jobs);
  spdlog::info("submitted {} jobs (each after the one before succeeds); logs in {}; follow with: tinynas status {}",
               jobs.size(), (sdir / "logs").string(), dir.string());
  return kExitOk;
}

// Non-zero ranks of a multi-process run take part in training only.
void wait_for_stage(const fs::path& dir, const std::string& stage, int32_t rank) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    if (fs::exists(dir / "pipeline.json", ec)) {
      try {
        if (json::parse(read_file((dir / "pipeline.json").string())).contains(stage)) return;
      } catch (const std::exception&) {
      }
    }
    if (g_stop_requested.load()) throw Error("rank " + std::to_string(rank) + ": stopped");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  throw Error("rank " + std::to_string(rank) + ": rank 0 did not finish the " + stage + " stage within 10 minutes");
}

// The board in the loop: a candidate built and run with random weights
// (latency, arena and flash do not depend on the weights).
struct BoardMeasurement {
  bool ok = false;
  std::string error;
  int64_t flash_bytes = 0, sram_bytes = 0, arena_bytes = 0;
  double measured = 0;  // instructions (QEMU) or cycles per inference
  std::string unit;
  double latency_ms = 0;
  bool fits = false;
  std::vector<evaluator::OpSample> ops;  // per op, when built with profiling
};

// One inference's latency as the board measured it: the board's own figure
// (cycles at its clock) where it gives one; on QEMU, which counts
// instructions, one instruction per cycle at the MCU's clock, as
// `tinynas calibrate` fits them.
double board_latency_ms(std::optional<double> reported_ms, double per_inference, const McuTarget& mcu) {
  return reported_ms.value_or(per_inference / static_cast<double>(mcu.clock_hz) * 1e3);
}

// The same from a deploy report.json (null when nothing ran).
json board_latency_ms(const json& report, const McuTarget& mcu) {
  std::optional<double> ms;
  if (report.contains("latency_ms") && report["latency_ms"].is_number()) ms = report["latency_ms"].get<double>();
  for (const char* unit : {"instructions", "cycles"})
    if (report.contains(unit) && report[unit].is_number()) return board_latency_ms(ms, report[unit].get<double>(), mcu);
  return ms ? json(*ms) : json();
}

BoardMeasurement measure_on_board(const ArchSpec& arch, const std::string& mcu_name, const McuTarget& mcu,
                                  const Budget& budget, const std::string& run, const fs::path& out,
                                  int32_t timeout_s, bool profile = false) {
  BoardMeasurement m;
  deploy::DeployOptions d;
  d.arch_path = out.filename().string();
  d.arch = arch;
  d.mcu = mcu_name;
  d.out_dir = out.string();
  d.random_weights = true;
  d.run = run;
  d.eval_count = 1;
  d.profile = profile && run != "none";
  d.timeout_s = timeout_s;
  d.flash_budget = budget.flash_bytes;
  d.sram_budget = budget.sram_bytes;
  try {
    const deploy::DeployReport r = deploy::deploy_model(d);
    m.flash_bytes = r.flash_bytes;
    m.sram_bytes = r.sram_bytes;
    m.arena_bytes = r.elf_arena_bytes.value_or(-1);
    if (r.board) {
      m.unit = r.board->unit;
      m.measured = r.board->per_inference;
      m.latency_ms = board_latency_ms(r.board->latency_ms, m.measured, mcu);
      for (const deploy::OpProfile& op : r.board->ops) m.ops.push_back(deploy::op_sample(op, 0));
    }
    m.ok = r.board ? r.board->bit_exact : run == "none";
    m.fits = m.flash_bytes <= budget.flash_bytes && m.sram_bytes <= budget.sram_bytes &&
             (budget.latency_ms <= 0 || run == "none" || m.latency_ms <= budget.latency_ms);
  } catch (const Error& e) {
    m.error = e.what();
  }
  return m;
}

json measurement_to_json(const BoardMeasurement& m) {
  if (!m.error.empty()) return {{"error", m.error}};
  json j = {{"flash_bytes", m.flash_bytes}, {"sram_bytes", m.sram_bytes}, {"arena_bytes", m.arena_bytes},
            {m.unit.empty() ? "measured" : m.unit, m.measured}, {"latency_ms", m.latency_ms},
            {"bit_exact", m.ok}, {"fits", m.fits}};
  if (!m.ops.empty()) {  // compact rows: [kind, MACs, inputs, outputs, channels, measured]
    json ops = json::array();
    for (const evaluator::OpSample& s : m.ops)
      ops.push_back({static_cast<int>(s.kind), s.macs, s.inputs, s.outputs, s.channels, s.measured});
    j["profiled"] = true;
    j["ops"] = std::move(ops);
  }
  return j;
}

// The latency fit's rows from every board measurement of the search so far
// (network i: the i-th measured candidate, its whole inference its total).
void board_rows(const json& measurement, int32_t network, std::vector<evaluator::OpSample>& rows,
                std::vector<double>& totals) {
  if (!measurement.contains("ops") || !measurement.contains("latency_ms")) return;
  int32_t index = 0;
  double sum = 0;
  for (const json& r : measurement.at("ops")) {
    const int kind = r.at(0).get<int>();
    if (kind < 0 || kind >= kNumOpKinds) throw Error("board measurement: op kind " + std::to_string(kind));
    evaluator::OpSample s;
    s.kind = static_cast<OpKind>(kind);
    s.macs = r.at(1).get<int64_t>();
    s.inputs = r.at(2).get<int64_t>();
    s.outputs = r.at(3).get<int64_t>();
    s.channels = r.at(4).get<int64_t>();
    s.measured = r.at(5).get<double>();
    s.network = network;
    s.index = index++;
    sum += s.measured;
    rows.push_back(s);
  }
  totals.push_back(sum);
}

}  // namespace

Command add_search_command(CLI::App& app) {
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "search", "The whole pipeline: space -> supernet -> evolution -> fine-tuning -> int8 firmware on the board");
  sub->add_option("--mcu", o->mcu, "MCU name (configs/mcus) or YAML path")->required();
  add_budget_flags(*sub, o->budget);
  sub->add_option("--out", o->out, "Run folder (stages, best.json, history.jsonl, pareto.*, summary.json)")
      ->required();
  sub->add_option("--space", o->space, "Search space name (configs/spaces) or YAML path");
  sub->add_option("--dataset", o->dataset, "Training data set KIND:PATH (validation split held out of it)");
  sub->add_option("--test-dataset", o->test_dataset,
                  "Labelled images for the final accuracy on the board (default for generated data: new images)");
  sub->add_option("--train-config", o->train_config, "tinynas train YAML for the supernet (width, resolutions, "
                  "dataset and space come from the search)");
  sub->add_option("--supernet", o->supernet, "Reuse this trained checkpoint instead of training");
  sub->add_option("--epochs", o->epochs, "Supernet epochs (split as the train config splits them)")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--max-train-images", o->max_train_images, "Train on a seeded subset of this many images");
  sub->add_option("--space-samples", o->space_samples, "Subnets sampled per width/resolution")
      ->check(CLI::Range(1, 10000000));
  sub->add_option("--strategy", o->strategy, "evolution or random")->check(CLI::IsMember({"evolution", "random"}));
  sub->add_option("--population", o->population, "Initial population")->check(CLI::Range(2, 100000));
  sub->add_option("--parents", o->parents, "Top candidates kept as parents")->check(CLI::Range(1, 100000));
  sub->add_option("--mutation-count", o->mutation_count, "Children by mutation per generation")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--crossover-count", o->crossover_count, "Children by crossover per generation")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--generations", o->generations, "Generations after the initial population")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--mutation-prob", o->mutation_prob, "Per-gene mutation probability")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--predictor-screen", o->predictor_screen,
                  "Draw k x the children and evaluate the best predicted (1: off)")
      ->check(CLI::Range(1, 100));
  sub->add_option("--evaluations", o->evaluations, "Random search: subnets to evaluate (0: evolution's maximum)");
  sub->add_option("--seed", o->seed, "Seed of the space sampling, training, search and images");
  sub->add_option("--bn-batches", o->bn_batches, "BN recalibration batches per candidate")
      ->check(CLI::Range(0, 10000));
  sub->add_option("--bn-batch-size", o->bn_batch_size, "BN recalibration batch size")->check(CLI::Range(2, 100000));
  sub->add_option("--val-images", o->val_images, "Validation images per candidate (0: the whole split)")
      ->check(CLI::Range(int64_t{0}, int64_t{10000000}));
  sub->add_option("--hil", o->hil, "Board in the loop: qemu, pyocd or none")
      ->check(CLI::IsMember({"qemu", "pyocd", "none"}));
  sub->add_option("--hil-top", o->hil_top, "Candidates of the final population measured on the board")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--hil-every", o->hil_every,
                  "Also measure the top --hil-top on the board every N generations and refit the latency model "
                  "(0: only the final population)")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--finetune-epochs", o->finetune_epochs, "Fine-tuning epochs of the winner (0: none)")
      ->check(CLI::Range(0, 10000));
  sub->add_option("--finetune-lr", o->finetune_lr, "Fine-tuning learning rate");
  sub->add_option("--eval-count", o->eval_count, "Test images run on the board")->check(CLI::Range(1, 100000));
  sub->add_option("--timeout", o->timeout_s, "Seconds each board run may take");
  sub->add_option("--threads", o->threads, "Torch intra-op threads (0: all cores)")->check(CLI::Range(0, 1024));
  sub->add_option("--stop-after", o->stop_after, "End the run after this stage (space, supernet, search, finetune)")
      ->check(CLI::IsMember({"space", "supernet", "search", "finetune"}));
  CLI::Option* slurm = sub->add_flag(
      "--slurm", o->slurm, "Submit the pipeline to Slurm: one job per stage, each after the one before (DIR/slurm)");
  sub->add_flag("--dry-run", o->dry_run, "With --slurm: print the sbatch scripts, submit nothing")->needs(slurm);
  slurm::add_flags(*sub, o->slurm_flags, true);
  sub->add_option("--eval-shards", o->eval_shards,
                  "Score each generation's candidates as a Slurm job array of this many tasks (0: in this process)")
      ->check(CLI::Range(0, 10000));
  // An array task of --eval-shards (written into eval-array.sbatch).
  sub->add_option("--eval-shard", o->eval_shard, "Array task: score shard I/S of --eval-dir's candidates")->group("");
  sub->add_option("--eval-dir", o->eval_dir, "Array task: the folder of candidates.json")->group("");

  return [o, sub]() -> int {
    // ---- checks before any long work ----------------------------------------
    if (o->eval_shard.empty() != o->eval_dir.empty()) throw Error("--eval-shard and --eval-dir go together");
    // Each generation's array is submitted with sbatch: refuse now, not after training.
    if (o->eval_shards > 0 && o->eval_shard.empty() && !o->dry_run) slurm::require_sbatch(o->slurm ? "--slurm" : "--eval-shards");
    if (o->dataset.empty() && o->supernet.empty())
      throw Error("--dataset: give the training data set (KIND:PATH), or --supernet CHECKPOINT");
    const fs::path dir = check_output_dir(o->out, "--out", false);
    check_run_folder(dir);
    // A run refused before its first stage finished leaves no folder behind.
    struct RemoveIfUnfinished {
      fs::path dir;
      bool existed;
      ~RemoveIfUnfinished() {
        std::error_code ec;
        if (!existed && !fs::exists(dir / "pipeline.json", ec) && !fs::exists(dir / slurm::kFolder / "search.sbatch", ec))
          fs::remove_all(dir, ec);
      }
    } unfinished{dir, fs::exists(dir)};
    const McuTarget mcu = load_mcu(o->mcu);
    const Budget budget = resolve_budget(mcu, o->budget);
    SearchSpace space = load_search_space(o->space);
    supernet::TrainConfig train;
    if (!o->train_config.empty()) {
      const Document doc = load_document(o->train_config);
      json j = doc.root.is_null() ? json::object() : doc.root;
      if (!j.is_object()) throw Error(o->train_config + ": expected a mapping of tinynas train options");
      j.erase("out");
      train = supernet::train_config_from_json(j, o->train_config);
    }
    if (!o->dataset.empty()) train.dataset = o->dataset;
    if (o->max_train_images > 0) train.max_train_images = o->max_train_images;
    if (o->epochs > 0) {
      const int32_t sum = train.largest_epochs + train.elastic_epochs;
      train.largest_epochs = sum > 0 ? static_cast<int32_t>(std::lround(1.0 * o->epochs * train.largest_epochs / sum)) : 0;
      train.elastic_epochs = o->epochs - train.largest_epochs;
    }
    if (o->threads > 0) train.threads = o->threads;
    if (!o->supernet.empty() && !fs::exists(o->supernet))
      throw Error("--supernet: " + o->supernet + ": no such checkpoint");
    // The classifier's size is part of the cost: take the data set's classes.
    // A given supernet's space, read once (the checkpoint holds its weights too).
    std::optional<SearchSpace> given_space;
    if (!o->supernet.empty()) given_space = supernet::checkpoint_space(o->supernet);
    if (given_space) {
      const SearchSpace& ck = *given_space;
      space.num_classes = ck.num_classes;
      if (!o->dataset.empty()) {
        const int32_t classes = datasets::open_dataset(o->dataset)->num_classes();
        if (classes != ck.num_classes)
          throw Error("--dataset " + o->dataset + " has " + std::to_string(classes) + " classes, but --supernet " +
                      o->supernet + " was trained on " + std::to_string(ck.num_classes));
      }
    } else {
      space.num_classes = datasets::open_dataset(train.dataset)->num_classes();
    }
    const std::string test_dataset =
        !o->test_dataset.empty() ? o->test_dataset : train.dataset.empty() ? "" : default_test_dataset(train.dataset);
    if (!test_dataset.empty()) datasets::parse_dataset_spec(test_dataset);  // a syntax error is named now
    if (o->slurm) {
      if (!o->dry_run) fs::create_directories(dir);
      return submit_search(*o, *sub, dir, o->supernet.empty());
    }
    // Ranks beyond 0 of a multi-process run (srun -n N, torchrun) train the
    // supernet with rank 0 and leave the rest of the pipeline to it.
    const int32_t rank = supernet::rank_from_environment();
    if (rank > 0 && !o->eval_shard.empty()) throw Error("--eval-shard runs as one process, not " +
                                                         std::string("rank ") + std::to_string(rank));
    fs::create_directories(dir);
    Pipeline pipe(dir);
    auto stop_here = [&](const std::string& stage) {
      if (o->stop_after != stage) return false;
      spdlog::info("stopped after the {} stage (--stop-after); the same command without it goes on", stage);
      return true;
    };
    // Ctrl-C / SIGTERM during training or evolution: finish the step or the
    // generation, save, exit; later stages are short and stop at once.
    std::optional<StopSignals> signals(std::in_place);
    const auto start = std::chrono::steady_clock::now();

    // ---- 1. space ---------------------------------------------------------------
    json space_inputs = {{"mcu", mcu.name}, {"flash", budget.flash_bytes}, {"sram", budget.sram_bytes},
                               {"latency_ms", budget.latency_ms}, {"space", space.name},
                               {"samples", o->space_samples}, {"seed", o->seed}};
    if (space.patch.enabled()) space_inputs["patches"] = true;  // absent: no patches (older runs)
    if (given_space) {
      // A given supernet fixes width and resolutions; the space must hold them.
      const SearchSpace& ck = *given_space;
      if (ck.name != space.name)
        throw Error("--supernet " + o->supernet + " was trained on search space '" + ck.name + "', not '" + space.name +
                    "' (--space)");
    }
    if (rank > 0 && !pipe.done("space", space_inputs)) wait_for_stage(dir, "space", rank);
    if (rank > 0) pipe = Pipeline(dir);
    if (!pipe.done("space", space_inputs)) {
      StagedOutput out((dir / "space").string(), "--out", "search:space");
      SpaceOptimizerOptions so;
      so.samples = o->space_samples;
      so.seed = o->seed;
      // A space with patch genes searches patched subnets: count them too.
      so.allow_patches = space.patch.enabled();
      const SpaceOptimizerResult r = optimize_space(space, mcu, budget, so);
      out.write("space.json", space_result_to_json(r).dump(2) + "\n");
      out.write("space_cdf.svg", space_cdf_svg(r));
      out.commit();
      pipe.finish("space", space_inputs);
    }
    const json space_json = json::parse(read_file((dir / "space" / "space.json").string()));
    const double width = space_json.at("chosen").at("width").get<double>();
    const int32_t resolution = space_json.at("chosen").at("resolution").get<int32_t>();
    spdlog::info("space: width {} and resolution {} for {} ({} flash, {} SRAM)", width, resolution, mcu.name,
                 format_size(budget.flash_bytes), format_size(budget.sram_bytes));

    if (given_space) {
      const SearchSpace& ck = *given_space;
      if (std::abs(ck.widths.front() - width) > 1e-9)
        throw Error("--supernet " + o->supernet + " was trained at width " + shorten(json(ck.widths.front()).dump()) +
                    ", but the space stage chose width " + shorten(json(width).dump()) + " for this budget");
      if (resolution_index(ck, resolution) < 0)
        throw Error("--supernet " + o->supernet + " was not trained at resolution " + std::to_string(resolution) +
                    ", which the space stage chose for this budget");
    }

    if (stop_here("space")) return kExitOk;

    // ---- 2. supernet ------------------------------------------------------------
    std::string checkpoint = o->supernet;
    if (checkpoint.empty()) {
      train.space = space.source.empty() ? space.name : space.source;
      train.width = width;
      if (train.resolutions.empty()) train.resolutions = {resolution};
      for (int32_t r : train.resolutions)
        if (resolution_index(space, r) < 0)
          throw Error(o->train_config + ": resolution " + std::to_string(r) + " is not in search space '" + space.name +
                      "'");
      const json train_inputs = supernet::to_json(train);
      const fs::path sdir = dir / "supernet";
      checkpoint = supernet::checkpoint_path(sdir.string());
      if (!pipe.done("supernet", train_inputs)) {
        const bool resume = fs::exists(checkpoint);
        spdlog::info("supernet: {} on {} ({})", resume ? "resuming training" : "training", train.dataset,
                     sdir.string());
        supernet::TrainHooks hooks;
        hooks.stop = &g_stop_requested;
        const supernet::TrainResult tr = supernet::train(train, sdir.string(), resume, false, hooks);
        if (tr.interrupted) {
          spdlog::error("interrupted; continue with the same command");
          return 128 + (g_stop_signal != 0 ? static_cast<int>(g_stop_signal) : SIGINT);
        }
        if (rank > 0) {
          spdlog::info("rank {}: training done; rank 0 runs the rest of the pipeline", rank);
          return kExitOk;
        }
        pipe.finish("supernet", train_inputs);
      }
    }
    if (rank > 0) return kExitOk;
    if (stop_here("supernet")) return kExitOk;

    // ---- 3. search --------------------------------------------------------------
    SubnetAccuracyOptions ao;
    ao.bn_batches = o->bn_batches;
    ao.bn_batch_size = o->bn_batch_size;
    ao.val_images = o->val_images;
    ao.seed = o->seed;
    ao.threads = o->threads > 0 ? o->threads : train.threads;
    SearchOptions so;
    so.strategy = parse_strategy(o->strategy);
    so.population = o->population;
    so.parents = o->parents;
    so.mutation_count = o->mutation_count;
    so.crossover_count = o->crossover_count;
    so.generations = o->generations;
    so.mutation_prob = o->mutation_prob;
    so.seed = o->seed;
    so.predictor_screen = o->predictor_screen;
    so.evaluations = o->evaluations;
    json search_inputs = {{"checkpoint", fs::absolute(checkpoint).string()}, {"strategy", o->strategy},
                                {"population", o->population}, {"parents", o->parents},
                                {"mutation_count", o->mutation_count}, {"crossover_count", o->crossover_count},
                                {"generations", o->generations}, {"mutation_prob", o->mutation_prob},
                                {"predictor_screen", o->predictor_screen}, {"evaluations", o->evaluations},
                                {"seed", o->seed}, {"bn_batches", o->bn_batches}, {"bn_batch_size", o->bn_batch_size},
                                {"val_images", o->val_images}, {"hil", o->hil}, {"hil_top", o->hil_top},
                                {"budget", {budget.flash_bytes, budget.sram_bytes, budget.latency_ms}}};
    if (o->hil_every > 0) search_inputs["hil_every"] = o->hil_every;  // absent: 0 (older runs)
    if (space.patch.enabled())  // absent: no patch genes (older runs)
      search_inputs["patch"] = {{"patches", space.patch.grids}, {"max_split_block", space.patch.max_split_block}};
    const fs::path sdir = dir / "search";
    if (!o->eval_shard.empty()) return run_eval_shard(*o, checkpoint, ao);
    if (!pipe.done("search", search_inputs)) {
      SubnetAccuracy accuracy(checkpoint, ao);
      const SearchSpace& trained = accuracy.space();
      if (std::abs(trained.widths.front() - width) > 1e-9)
        spdlog::warn("the supernet was trained at width {}, the space stage chose {}: searching at {}",
                     trained.widths.front(), width, trained.widths.front());
      fs::create_directories(sdir);
      so.checkpoint_path = (sdir / "checkpoint.json").string();
      so.on_generation = [&](const SearchResult& r, const GenerationStats& g) {
        spdlog::info("generation {}: {} evaluated ({} cached, {} redraws), best {} mean {}", g.generation,
                     g.evaluations, g.cache_hits, g.redraws, fmt_pct(g.best_accuracy), fmt_pct(g.mean_accuracy));
        return !g_stop_requested.load();
      };
      spdlog::info("search: {} on {} validation images per subnet (BN on {} training images)", o->strategy,
                   accuracy.val_images(), accuracy.bn_images());
      so.hil_every = o->hil_every;
      so.hil_top = o->hil_top;
      if (o->hil_every > 0) {
        // The board during the search: the top of every hil_every-th
        // population, built with per-op profiling; every measurement so far
        // refits the latency model the later generations are checked with.
        so.on_board = [&](const SearchResult& r, int32_t g, const std::vector<int64_t>& ids) {
          BoardFeedback fb;
          std::vector<evaluator::OpSample> rows;
          std::vector<double> totals;
          for (const EvaluatedCandidate& e : r.history)
            if (!e.board.is_null()) board_rows(e.board, static_cast<int32_t>(totals.size()), rows, totals);
          for (int64_t id : ids) {
            const EvaluatedCandidate& c = r.history[static_cast<size_t>(id)];
            const fs::path bdir = sdir / "board" / ("gen" + std::to_string(g) + "-id" + std::to_string(id));
            spdlog::info("board in the loop (generation {}): candidate {} ({} val top-1, {:.1f} ms predicted) on {}",
                         g, id, fmt_pct(c.accuracy), c.cost.latency_ms, o->hil);
            const BoardMeasurement m =
                measure_on_board(c.arch, o->mcu, mcu, budget, o->hil, bdir, o->timeout_s, true);
            json mj = measurement_to_json(m);
            mj["predicted_latency_ms"] = c.cost.latency_ms;
            if (!m.error.empty() || !m.fits) {
              spdlog::warn("candidate {} dropped: {}", id,
                           !m.error.empty() ? one_line(m.error, 200) : "its measurement breaks the budget");
              fb.dropped.push_back(id);
            } else {
              spdlog::info("  measured {:.1f} ms, flash {}, SRAM {}", m.latency_ms, format_size(m.flash_bytes),
                           format_size(m.sram_bytes));
            }
            board_rows(mj, static_cast<int32_t>(totals.size()), rows, totals);
            fb.measured.emplace_back(id, std::move(mj));
          }
          if (!rows.empty()) {
            const evaluator::LatencyFit fit = evaluator::fit_latency(rows, mcu.latency, totals);
            fb.latency = fit.coefficients();
            double worst = 0;
            for (const evaluator::NetworkFit& n : fit.networks) worst = std::max(worst, std::abs(n.error_pct));
            spdlog::info("latency model refitted on {} board measurements ({} ops): worst network error {:.1f}%",
                         totals.size(), rows.size(), worst);
          }
          return fb;
        };
      }
      SupernetEvaluator local(accuracy);
      std::optional<ArrayEvaluator> array;
      if (o->eval_shards > 0) {
        // The array's script: this command's options, as --slurm writes it.
        const fs::path script = dir / slurm::kFolder / kEvalScript;
        for (const auto& [name, text] : slurm_scripts(*o, *sub, dir, false))
          if (name == kEvalScript) write_file_atomic(script.string(), text);
        fs::create_directories(dir / slurm::kFolder / "logs");
        array.emplace(sdir / "evals", script, o->eval_shards);
      }
      AccuracyEvaluator& evaluator = array ? static_cast<AccuracyEvaluator&>(*array) : local;
      // Patch genes are the space's, not the supernet's (training ignores
      // them; a checkpoint's space does not hold them).
      SearchSpace searched = trained;
      searched.patch = space.patch;
      SearchResult result;
      try {
        result = run_search(searched, mcu, budget, evaluator, so);
      } catch (const EvalInterrupted& e) {
        spdlog::error("interrupted: {}; continue with the same command", e.what());
        return 128 + (g_stop_signal != 0 ? static_cast<int>(g_stop_signal) : SIGTERM);
      }
      if (!result.completed) {
        spdlog::error("interrupted after generation {}; continue with the same command",
                      result.generations.empty() ? 0 : result.generations.back().generation);
        return 128 + (g_stop_signal != 0 ? static_cast<int>(g_stop_signal) : SIGINT);
      }
      // The board in the loop: the top of the final population, measured.
      json topk = json::array();
      int64_t winner = result.best;
      {
        // Population members that decode to the same architecture share an id.
        std::vector<int64_t> ranked = result.population;
        std::sort(ranked.begin(), ranked.end());
        ranked.erase(std::unique(ranked.begin(), ranked.end()), ranked.end());
        std::stable_sort(ranked.begin(), ranked.end(), [&](int64_t a, int64_t b) {
          return result.history[static_cast<size_t>(a)].accuracy > result.history[static_cast<size_t>(b)].accuracy;
        });
        if (static_cast<int32_t>(ranked.size()) > o->hil_top) ranked.resize(static_cast<size_t>(o->hil_top));
        winner = -1;
        for (size_t k = 0; k < ranked.size(); ++k) {
          const EvaluatedCandidate& c = result.history[static_cast<size_t>(ranked[k])];
          const fs::path tdir = sdir / "topk" / ("rank" + std::to_string(k) + "-id" + std::to_string(c.id));
          spdlog::info("board in the loop: candidate {} (rank {}, {} val top-1) on {}", c.id, k, fmt_pct(c.accuracy),
                       o->hil);
          const BoardMeasurement m = measure_on_board(c.arch, o->mcu, mcu, budget, o->hil, tdir, o->timeout_s);
          json row = {{"rank", k}, {"id", c.id}, {"accuracy", c.accuracy}, {"predicted", cost_to_json(c.cost)},
                      {"measured", measurement_to_json(m)}};
          topk.push_back(row);
          if (!m.error.empty() || !m.fits) {
            spdlog::warn("candidate {} dropped: {}", c.id,
                         !m.error.empty() ? one_line(m.error, 200) : "its measurement breaks the budget");
            continue;
          }
          if (winner < 0) winner = c.id;
        }
        if (winner < 0) throw Error("no candidate of the final population passed the board check (" + o->hil + ")");
      }
      json best = best_to_json(result);
      best["winner_id"] = winner;
      best["winner"] = candidate_to_json(result.history[static_cast<size_t>(winner)]);
      best["topk"] = topk;
      write_file_atomic((sdir / "history.jsonl").string(), history_jsonl(result));
      write_file_atomic((sdir / "pareto.json").string(), pareto_to_json(result).dump(2) + "\n");
      write_file_atomic((sdir / "pareto.svg").string(), pareto_svg(result, CostAxis::kMacs));
      write_file_atomic((sdir / "pareto_sram.svg").string(), pareto_svg(result, CostAxis::kPeakSram));
      write_file_atomic((sdir / "generations.json").string(), generations_to_json(result).dump(2) + "\n");
      write_file_atomic((sdir / "best.json").string(), best.dump(2) + "\n");
      std::cerr << format_generations(result);
      pipe.finish("search", search_inputs);
    }
    if (stop_here("search")) return kExitOk;
    signals.reset();
    const json best = json::parse(read_file((sdir / "best.json").string()));
    const json& winner_json = best.at("winner");
    const Document winner_doc = parse_document(winner_json.at("arch").dump(), (sdir / "best.json").string());
    const ArchSpec winner = arch_from_document(winner_doc);
    // The supernet's subnet; the winner may add a patch setting (a gene of
    // spaces with `patch:`), which only the firmware uses.
    const ArchSpec network = layer_by_layer(winner);

    // ---- 4. fine-tuning ---------------------------------------------------------
    const json ft_inputs = {{"search", search_inputs}, {"epochs", o->finetune_epochs}, {"lr", o->finetune_lr},
                            {"seed", o->seed}, {"test_dataset", test_dataset}};
    const fs::path fdir = dir / "finetune";
    if (!pipe.done("finetune", ft_inputs)) {
      supernet::OpenedSupernet opened = supernet::open_supernet(checkpoint, "cpu", ao.threads);
      // The winner's BN statistics recalibrated on training batches (as the
      // search measured it), then extracted with them.
      supernet::EvalOptions eo;
      eo.bn_batches = o->bn_batches;
      eo.bn_batch_size = o->bn_batch_size;
      eo.seed = o->seed;
      const supernet::EvalResult before = supernet::evaluate_subnet(*opened.net, network, opened.val, opened.train, eo);
      auto module = opened.net->extract(network);
      std::vector<double> losses;
      if (o->finetune_epochs > 0) {
        supernet::FinetuneOptions fo;
        fo.epochs = o->finetune_epochs;
        fo.lr = o->finetune_lr;
        fo.resolution = winner.resolution;
        fo.batch_size = opened.config.batch_size;
        fo.scale_min = opened.config.scale_min;
        fo.seed = o->seed;
        spdlog::info("fine-tuning the winner for {} epoch(s) on {}", o->finetune_epochs, opened.dataset);
        losses = supernet::finetune(*module, opened.train, fo);
      }
      supernet::EvalOptions plain;
      const supernet::EvalResult after = supernet::evaluate_module(*module, opened.val, winner.resolution, plain);
      json ft = {{"val_top1_inherited", before.top1()}, {"val_top1", after.top1()}, {"val_images", after.count},
                 {"epochs", o->finetune_epochs}, {"losses", losses}};
      if (!test_dataset.empty()) {
        const auto test = datasets::open_dataset(test_dataset);
        if (test->num_classes() != opened.space.num_classes)
          throw Error("--test-dataset " + test_dataset + " has " + std::to_string(test->num_classes()) +
                      " classes, the supernet " + std::to_string(opened.space.num_classes));
        const supernet::EvalResult t = supernet::evaluate_module(*module, test, winner.resolution, plain);
        ft["test_top1_float"] = t.top1();
        ft["test_images"] = t.count;
      }
      std::string weights;
      for (const auto& w : supernet::extracted_float_weights(*module, network)) {
        write_floats(weights, w.weights);
        write_floats(weights, w.bias);
      }
      StagedOutput out(fdir.string(), "--out", "search:finetune");
      out.write("weights.bin", weights);
      out.write("finetune.json", ft.dump(2) + "\n");
      out.commit();
      pipe.finish("finetune", ft_inputs);
    }
    if (stop_here("finetune")) return kExitOk;
    const json ft = json::parse(read_file((fdir / "finetune.json").string()));

    // ---- 5. deploy --------------------------------------------------------------
    const json deploy_inputs = {{"finetune", ft_inputs}, {"eval_count", o->eval_count}, {"run", o->hil}};
    const fs::path ddir = dir / "deploy";
    if (!pipe.done("deploy", deploy_inputs)) {
      const std::string bytes = read_file((fdir / "weights.bin").string());
      deploy::TrainedWeights t;
      size_t pos = 0;
      const OpGraph g = lower(network);  // weights.bin: one entry per layer
      for (size_t i = 0; i < g.ops.size(); ++i) {
        std::vector<float> w = read_floats(bytes, pos, (fdir / "weights.bin").string());
        std::vector<float> b = read_floats(bytes, pos, (fdir / "weights.bin").string());
        t.ops.push_back({std::move(w), std::move(b)});
      }
      supernet::OpenedSupernet opened = supernet::open_supernet(checkpoint, "cpu", ao.threads);
      t.calibration_images = supernet::calibration_images(opened.train, winner.resolution, 64, derive_seed(o->seed, 7));
      t.class_names = opened.class_names;
      t.description = "the searched subnet, fine-tuned " + std::to_string(o->finetune_epochs) + " epoch(s) from " +
                      checkpoint;
      deploy::DeployOptions d;
      d.arch_path = "best.json";
      d.arch = winner;
      d.mcu = o->mcu;
      d.out_dir = ddir.string();
      d.checkpoint = checkpoint;
      d.trained = std::move(t);
      d.eval_dataset = test_dataset;
      d.eval_count = test_dataset.empty() ? 4 : o->eval_count;
      d.seed = o->seed;
      d.run = o->hil;
      d.timeout_s = o->timeout_s;
      d.flash_budget = budget.flash_bytes;
      d.sram_budget = budget.sram_bytes;
      const deploy::DeployReport report = deploy::deploy_model(d);
      if (report.board && !report.board->bit_exact)
        throw Error("the board's outputs differ from the host reference (" + ddir.string() + "/report.json)");
      pipe.finish("deploy", deploy_inputs);
    }
    const json report = json::parse(read_file((ddir / "report.json").string()));

    // ---- results at the top of the run folder --------------------------------------
    json out_best = best;
    out_best["finetune"] = ft;
    out_best["deploy"] = report;
    const CostReport predicted = estimate_cost(winner, mcu, budget);
    json summary = {{"mcu", mcu.name},
                    {"budget", {{"flash_bytes", budget.flash_bytes}, {"sram_bytes", budget.sram_bytes},
                                {"latency_ms", budget.latency_ms}}},
                    {"width", width},
                    {"resolution", winner.resolution},
                    {"arch", winner_json.at("arch")},
                    {"predicted", cost_to_json(predicted)},
                    {"measured", {{"flash_bytes", report.value("flash_bytes", json())},
                                  {"sram_bytes", report.value("sram_bytes", json())},
                                  {"arena_bytes", report.value("elf_arena_bytes", json())},
                                  {"latency_ms", board_latency_ms(report, mcu)},
                                  {"bit_exact", report.value("bit_exact", json())}}},
                    {"val_top1_search", winner_json.at("accuracy")},
                    {"val_top1_finetuned", ft.value("val_top1", json())},
                    {"test_top1_float", report.value("float_top1", json())},
                    {"test_top1_int8_board", report.value("int8_top1", json())},
                    {"test_dataset", test_dataset},
                    {"evaluations", best.contains("search") ? best["search"].value("evaluations", json()) : json()},
                    {"files", {{"best", "best.json"}, {"history", "history.jsonl"}, {"pareto", "pareto.json"},
                               {"plot", "pareto.svg"}, {"firmware", "deploy/firmware.elf"}}}};
    write_file_atomic((dir / "best.json").string(), out_best.dump(2) + "\n");
    fs::copy_file(sdir / "history.jsonl", dir / "history.jsonl", fs::copy_options::overwrite_existing);
    fs::copy_file(sdir / "pareto.json", dir / "pareto.json", fs::copy_options::overwrite_existing);
    fs::copy_file(sdir / "pareto.svg", dir / "pareto.svg", fs::copy_options::overwrite_existing);
    fs::copy_file(sdir / "pareto_sram.svg", dir / "pareto_sram.svg", fs::copy_options::overwrite_existing);
    write_file_atomic((dir / "summary.json").string(), summary.dump(2) + "\n");

    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
    auto num = [](const json& j, double scale, const char* f) {
      if (!j.is_number()) return std::string("-");
      char b[48];
      std::snprintf(b, sizeof b, f, j.get<double>() * scale);
      return std::string(b);
    };
    const json& m = summary["measured"];
    std::printf("tinynas search: %s, budget %s flash / %s SRAM%s (%.1f min)\n", mcu.name.c_str(),
                format_size(budget.flash_bytes).c_str(), format_size(budget.sram_bytes).c_str(),
                budget.latency_ms > 0 ? (", " + num(json(budget.latency_ms), 1, "%.0f ms")).c_str() : "", minutes);
    std::printf("  network    width %g, resolution %d, %.2fM MACs, %d blocks\n", width, winner.resolution,
                static_cast<double>(predicted.macs) / 1e6, winner.num_blocks());
    std::printf("  %-10s %12s %12s\n", "", "predicted", "measured");
    std::printf("  %-10s %12s %12s\n", "flash", format_size(predicted.flash_bytes).c_str(),
                m["flash_bytes"].is_number() ? format_size(m["flash_bytes"].get<int64_t>()).c_str() : "-");
    std::printf("  %-10s %12s %12s\n", "SRAM", format_size(predicted.peak_sram_bytes).c_str(),
                m["sram_bytes"].is_number() ? format_size(m["sram_bytes"].get<int64_t>()).c_str() : "-");
    std::printf("  %-10s %12s %12s\n", "latency", num(json(predicted.latency_ms), 1, "%.1f ms").c_str(),
                num(m["latency_ms"], 1, "%.1f ms").c_str());
    std::printf("  accuracy   val %s (search) %s (fine-tuned); test float %s, int8 on the board %s%s\n",
                num(summary["val_top1_search"], 100, "%.2f%%").c_str(),
                num(summary["val_top1_finetuned"], 100, "%.2f%%").c_str(),
                num(summary["test_top1_float"], 100, "%.2f%%").c_str(),
                num(summary["test_top1_int8_board"], 100, "%.2f%%").c_str(),
                m["bit_exact"] == true ? " (bit-exact)" : "");
    std::printf("  files      %s/{best.json, summary.json, history.jsonl, pareto.svg}, firmware %s/deploy/\n",
                dir.string().c_str(), dir.string().c_str());
    return kExitOk;
  };
}

}  // namespace tinynas::cli
