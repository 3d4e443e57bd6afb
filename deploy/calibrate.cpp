#include "deploy/calibrate.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <numeric>

#include <spdlog/spdlog.h>

#include "core/arch_io.h"
#include "core/error.h"
#include "core/rng.h"
#include "deploy/board/board_runner.h"
#include "deploy/deploy.h"
#include "evaluator/cost_model.h"

namespace tinynas::deploy {
namespace {

namespace fs = std::filesystem;
using evaluator::OpSample;
using nlohmann::json;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <typename T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i)
    std::swap(v[i - 1], v[rng.uniform(static_cast<uint32_t>(i))]);
}

// Indices of `values` in increasing order of value.
template <typename T>
std::vector<int32_t> ascending(const std::vector<T>& values) {
  std::vector<int32_t> idx(values.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int32_t a, int32_t b) { return values[a] < values[b]; });
  return idx;
}

// Deploy's own progress lines (quantising, building, running) would triple
// the log; they show with -v.
class QuietInfo {
 public:
  QuietInfo() : old_(spdlog::get_level()) {
    if (old_ == spdlog::level::info) spdlog::set_level(spdlog::level::warn);
  }
  ~QuietInfo() { spdlog::set_level(old_); }
  QuietInfo(const QuietInfo&) = delete;
  QuietInfo& operator=(const QuietInfo&) = delete;

 private:
  spdlog::level::level_enum old_;
};

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// 45678901 -> "45.68M", 12345 -> "12.35K".
std::string count_cell(double v) {
  if (std::fabs(v) >= 1e6) return fmt("%.2fM", v / 1e6);
  if (std::fabs(v) >= 1e3) return fmt("%.2fK", v / 1e3);
  return fmt("%.0f", v);
}

struct ErrorSummary {
  double mean = 0, max = 0;
};

ErrorSummary summarise(const std::vector<double>& errors_pct) {
  ErrorSummary s;
  for (double e : errors_pct) {
    s.mean += std::fabs(e);
    s.max = std::max(s.max, std::fabs(e));
  }
  if (!errors_pct.empty()) s.mean /= static_cast<double>(errors_pct.size());
  return s;
}

std::vector<double> errors_before(const LatencyMeasurements& c) {
  std::vector<double> e;
  for (const CalibrationNetwork& n : c.networks)
    if (n.measured > 0) e.push_back((n.predicted_before - n.measured) / n.measured * 100);
  return e;
}

std::vector<double> errors_after(const evaluator::LatencyFit& fit) {
  std::vector<double> e;
  for (const auto& n : fit.networks)
    if (std::isfinite(n.error_pct)) e.push_back(n.error_pct);
  return e;
}

// The per-op mean |error| over all rows of the fitted kinds.
double mean_op_error(const LatencyMeasurements& c, const evaluator::LatencyFit& fit) {
  double sum = 0;
  int n = 0;
  for (const OpSample& r : c.rows) {
    if (!(r.measured > 0)) continue;
    sum += std::fabs(evaluator::predict(fit.kinds[static_cast<size_t>(r.kind)].coeffs, r) -
                     r.measured) /
           r.measured * 100;
    ++n;
  }
  return n > 0 ? sum / n : 0;
}

std::string backend_words(const LatencyMeasurements& c) {
  return c.run + (c.machine.empty() ? "" : " " + c.machine) + " (" + c.unit + ")";
}

std::string qemu_note(const LatencyMeasurements& c) {
  return "QEMU has no timing model: these are instruction counts, so the fitted model predicts "
         "instructions at 1 cycle each; refit on the board with `tinynas calibrate --mcu " +
         c.mcu.name + " --run pyocd` for cycles";
}

}  // namespace

std::vector<ArchSpec> sample_calibration_archs(const SearchSpace& space, const McuTarget& mcu,
                                               int32_t count, uint64_t seed) {
  if (count < 1) throw Error("--networks: must be at least 1");
  Rng rng(seed);
  // Within 90% of the budget: calibration needs no network at the edge, and
  // one whose predicted flash is a few KB under the part's would fail to link
  // whenever the cost model's code sizes lag behind the kernels.
  Budget budget = budget_for(mcu);
  budget.flash_bytes = budget.flash_bytes * 9 / 10;
  budget.sram_bytes = budget.sram_bytes * 9 / 10;
  const auto widths = ascending(space.widths);
  const auto resolutions = ascending(space.resolutions);
  const auto nw = static_cast<int32_t>(widths.size());
  const auto nr = static_cast<int32_t>(resolutions.size());
  size_t max_k = 1, max_e = 1;
  for (const StageChoices& st : space.stages) {
    max_k = std::max(max_k, st.kernels.size());
    max_e = std::max(max_e, st.expands.size());
  }
  const auto pairs = static_cast<int32_t>(max_k * max_e);

  // Latin hypercube over (width, resolution): network i takes the i-th
  // stratum of the resolution quantile (squared, so small resolutions come
  // more often) and a shuffled stratum of the width quantile.
  std::vector<int32_t> width_strata(static_cast<size_t>(count));
  std::iota(width_strata.begin(), width_strata.end(), 0);
  shuffle(width_strata, rng);

  std::vector<ArchSpec> out;
  for (int32_t i = 0; i < count; ++i) {
    const double uw = (width_strata[static_cast<size_t>(i)] + rng.uniform01()) / count;
    const double ur = (i + rng.uniform01()) / count;
    int32_t wpos = std::min(nw - 1, static_cast<int32_t>(uw * nw));
    int32_t rpos = std::min(nr - 1, static_cast<int32_t>(ur * ur * nr));
    std::vector<int32_t> order(static_cast<size_t>(pairs));
    std::iota(order.begin(), order.end(), 0);
    shuffle(order, rng);

    bool found = false;
    CostReport last;
    for (int attempt = 0; attempt < 400 && !found; ++attempt) {
      Genome g;
      g.genes.assign(genome_length(space), 0);
      g.genes[0] = widths[static_cast<size_t>(wpos)];
      g.genes[1] = resolutions[static_cast<size_t>(rpos)];
      // Genome layout (core/search_space.h): per stage a depth index, then a
      // (kernel, expand) index pair per block slot up to the largest depth.
      size_t off = 2;
      auto block = static_cast<int32_t>(rng.uniform(static_cast<uint32_t>(pairs)));
      for (const StageChoices& st : space.stages) {
        const auto di = static_cast<int32_t>(rng.uniform(static_cast<uint32_t>(st.depths.size())));
        g.genes[off] = di;
        const int32_t max_depth = *std::max_element(st.depths.begin(), st.depths.end());
        for (int32_t j = 0; j < st.depths[static_cast<size_t>(di)]; ++j) {
          const int32_t pair = order[static_cast<size_t>(block++ % pairs)];
          g.genes[off + 1 + 2 * static_cast<size_t>(j)] =
              static_cast<int32_t>(static_cast<size_t>(pair) % max_k % st.kernels.size());
          g.genes[off + 2 + 2 * static_cast<size_t>(j)] =
              static_cast<int32_t>(static_cast<size_t>(pair) / max_k % st.expands.size());
        }
        off += 1 + 2 * static_cast<size_t>(max_depth);
      }
      ArchSpec arch = decode(space, g);
      last = estimate_cost(arch, mcu, budget);
      if (last.fits) {
        out.push_back(std::move(arch));
        found = true;
        break;
      }
      // Too big: after a few draws at this size, step down what does not fit.
      if (attempt % 4 == 3) {
        if (!last.fits_sram && rpos > 0) --rpos;
        else if (!last.fits_flash && wpos > 0) --wpos;
        else if (rpos > 0) --rpos;
        else if (wpos > 0) --wpos;
      }
    }
    if (!found)
      throw Error("no subnet of search space '" + space.name + "' fits in 90% of " + mcu.name +
                  "'s budget (flash " + std::to_string(budget.flash_bytes) + " B, SRAM " +
                  std::to_string(budget.sram_bytes) + " B): the smallest tried needs " +
                  std::to_string(last.flash_bytes) + " B flash and " +
                  std::to_string(last.peak_sram_bytes) + " B SRAM");
  }
  return out;
}

LatencyMeasurements measure_latency(const CalibrateOptions& o) {
  if (o.run != "qemu" && o.run != "pyocd")
    throw Error("--run: '" + o.run + "' is not a board back end for calibration (qemu or pyocd)");
  if (o.networks < 1 || o.networks > 1000) throw Error("--networks: must be in 1..1000");
  const auto t0 = std::chrono::steady_clock::now();
  LatencyMeasurements c;
  c.mcu = load_mcu(o.mcu);
  c.run = o.run;
  c.machine = o.run == "qemu" ? c.mcu.qemu_machine : pyocd_target_for(c.mcu);
  c.seed = o.seed;
  const SearchSpace space = load_search_space(o.space);
  c.space = space.name;
  const std::vector<ArchSpec> archs = sample_calibration_archs(space, c.mcu, o.networks, o.seed);

  fs::path work = o.work_dir;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      if (!dir.empty()) fs::remove_all(dir, ec);
    }
  } cleanup;
  if (work.empty()) {
    work = fs::temp_directory_path() / ("tinynas_calibrate_" + std::to_string(::getpid()));
    fs::remove_all(work);
    cleanup.dir = work;
  }
  fs::create_directories(work);

  const Budget budget = budget_for(c.mcu);
  for (size_t i = 0; i < archs.size(); ++i) {
    const ArchSpec& arch = archs[i];
    CalibrationNetwork n;
    n.index = static_cast<int32_t>(i);
    n.arch = arch;
    const CostReport before = estimate_cost(arch, c.mcu, budget);
    n.macs = before.macs;
    n.predicted_before = before.cycles;
    const std::string name = "net" + std::to_string(i);
    spdlog::info("network {}/{}: width {:g}, resolution {}, {:.2f}M MACs", i + 1, archs.size(),
                 arch.width_mult, arch.resolution, static_cast<double>(n.macs) / 1e6);

    DeployOptions d;
    d.arch_path = name;
    d.arch = arch;
    d.mcu = o.mcu;
    d.out_dir = (work / name).string();
    d.random_weights = true;
    d.seed = derive_seed(o.seed, i, 1);
    d.run = o.run;
    d.eval_count = 1;
    d.profile = true;
    d.timeout_s = o.timeout_s;
    const auto t1 = std::chrono::steady_clock::now();
    const DeployReport report = [&] {
      QuietInfo quiet;
      return deploy_model(d);
    }();
    n.seconds = seconds_since(t1);
    if (!report.board || !report.board->bit_exact)
      throw Error(
          "network " + std::to_string(i + 1) + "/" + std::to_string(archs.size()) + " (" + name +
          "): the board's outputs " +
          "differ from the host reference interpreter, so its kernels are broken; fix them " +
          "before calibrating (tinynas deploy --arch ... shows the details)");
    const BoardFigures& board = *report.board;
    const std::string& unit = board.unit;
    if (!c.unit.empty() && c.unit != unit)
      throw Error("the board reported " + unit + " after " + c.unit + " for earlier networks");
    c.unit = unit;
    c.counter_source = board.counter_source;
    n.measured = board.per_inference;
    for (const OpProfile& op : board.ops) {
      const OpSample s = op_sample(op, n.index);
      n.measured_ops += s.measured;
      ++n.ops;
      c.rows.push_back(s);
    }
    spdlog::info("  {:.2f}M {} over {} ops, {:.1f} s", n.measured / 1e6, unit, n.ops, n.seconds);
    c.networks.push_back(std::move(n));
    if (!cleanup.dir.empty()) {  // a work dir of the caller's keeps the deploys
      std::error_code ec;
      fs::remove_all(d.out_dir, ec);
    }
  }
  c.seconds = seconds_since(t0);
  return c;
}

OpSample op_sample(const OpProfile& op, int32_t network) {
  OpSample s;
  s.kind = op.kind;
  s.macs = op.features.macs;
  s.inputs = op.features.inputs;
  s.outputs = op.features.outputs;
  s.channels = op.features.channels;
  s.measured = op.measured;
  s.network = network;
  s.index = op.index;
  return s;
}

evaluator::LatencyFit fit_calibration(const LatencyMeasurements& c,
                                      const evaluator::FitOptions& options) {
  std::vector<double> totals(c.networks.size());
  for (const CalibrationNetwork& n : c.networks) totals[static_cast<size_t>(n.index)] = n.measured;
  return evaluator::fit_latency(c.rows, c.mcu.latency, totals, options);
}

std::string today_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

LatencyBlock calibrated_block(const LatencyMeasurements& c, const evaluator::LatencyFit& fit,
                              const std::string& date) {
  if (!fit.complete()) {
    std::string missing;
    for (const auto& k : fit.kinds)
      if (!k.fitted)
        missing += std::string(missing.empty() ? "" : "; ") + op_kind_name(k.kind) + ": " + k.note;
    throw Error("not every op kind could be fitted (" + missing +
                "); calibrate with more --networks or a space whose subnets have every kind");
  }
  LatencyBlock b;
  b.coeffs = fit.coefficients();
  b.fitted = true;
  const ErrorSummary net = summarise(errors_after(fit));
  b.comments.push_back("fitted by tinynas calibrate on " + backend_words(c) + ", " +
                       std::to_string(c.networks.size()) + " networks of " + c.space + " (seed " +
                       std::to_string(c.seed) + "), " + date);
  b.comments.push_back("per-op mean |error| " + fmt("%.1f%%", mean_op_error(c, fit)) +
                       "; whole-network |error| mean " + fmt("%.1f%%", net.mean) + ", max " +
                       fmt("%.1f%%", net.max));
  if (c.run == "qemu") {
    b.comments.push_back(
        "QEMU has no timing model: these count instructions, taken as 1 cycle each,");
    b.comments.push_back("until refitted on the board with --run pyocd");
  }
  return b;
}

json calibration_to_json(const LatencyMeasurements& c, const evaluator::LatencyFit& fit) {
  json j;
  j["mcu"] = c.mcu.name;
  j["mcu_file"] = c.mcu.source;
  j["core"] = c.mcu.core;
  j["run"] = c.run;
  j["machine"] = c.machine;
  j["unit"] = c.unit;
  j["counter_source"] = c.counter_source;
  j["space"] = c.space;
  j["seed"] = c.seed;
  j["seconds"] = c.seconds;
  if (c.run == "qemu") j["note"] = qemu_note(c);
  j["complete"] = fit.complete();
  json before = json::object(), after = json::object();
  for (int k = 0; k < kNumOpKinds; ++k) {
    const auto u = static_cast<size_t>(k);
    before[op_kind_name(static_cast<OpKind>(k))] = evaluator::coeffs_to_json(c.mcu.latency[u]);
    after[op_kind_name(static_cast<OpKind>(k))] = evaluator::coeffs_to_json(fit.kinds[u].coeffs);
  }
  j["coefficients_before"] = before;
  j["coefficients"] = after;
  j["kinds"] = json::array();
  for (const auto& k : fit.kinds) j["kinds"].push_back(evaluator::kind_fit_to_json(k));
  j["networks"] = json::array();
  for (const CalibrationNetwork& n : c.networks) {
    json nj = {{"index", n.index},
               {"width", n.arch.width_mult},
               {"resolution", n.arch.resolution},
               {"macs", n.macs},
               {"ops", n.ops},
               {"measured", n.measured},
               {"measured_ops_sum", n.measured_ops},
               {"predicted_before", n.predicted_before},
               {"seconds", n.seconds},
               {"arch", arch_to_json(n.arch)}};
    for (const auto& nf : fit.networks) {
      if (nf.network != n.index) continue;
      nj["predicted"] = nf.predicted;
      nj["error_pct"] = std::isfinite(nf.error_pct) ? json(nf.error_pct) : json(nullptr);
    }
    j["networks"].push_back(std::move(nj));
  }
  j["rows"] = json::array();
  for (const OpSample& r : c.rows) {
    json rj = evaluator::sample_to_json(r);
    rj["predicted_before"] = evaluator::predict(c.mcu.latency[static_cast<size_t>(r.kind)], r);
    rj["predicted"] = evaluator::predict(fit.kinds[static_cast<size_t>(r.kind)].coeffs, r);
    j["rows"].push_back(std::move(rj));
  }
  return j;
}

std::string format_calibration(const LatencyMeasurements& c, const evaluator::LatencyFit& fit) {
  std::string out;
  char line[256];
  out += "calibration of " + c.mcu.name + " (" + c.mcu.part + ", " + c.mcu.core + ") on " +
         backend_words(c) + ": " + std::to_string(c.networks.size()) + " networks of " + c.space +
         ", " + std::to_string(c.rows.size()) + " ops, " + fmt("%.0f s", c.seconds) + "\n";
  out += evaluator::format_kind_table(fit, c.unit);
  out += "\n";
  std::snprintf(line, sizeof line, "  %-7s %5s %4s %9s %4s %10s %10s %10s %8s\n", "network",
                "width", "res", "MACs", "ops", "measured", "before", "fitted", "error");
  out += line;
  for (const CalibrationNetwork& n : c.networks) {
    double predicted = 0, error = NAN;
    for (const auto& nf : fit.networks)
      if (nf.network == n.index) {
        predicted = nf.predicted;
        error = nf.error_pct;
      }
    std::snprintf(
        line, sizeof line, "  %-7d %5.2f %4d %9s %4d %10s %10s %10s %8s\n", n.index,
        n.arch.width_mult, n.arch.resolution, count_cell(static_cast<double>(n.macs)).c_str(),
        n.ops, count_cell(n.measured).c_str(), count_cell(n.predicted_before).c_str(),
        count_cell(predicted).c_str(), std::isfinite(error) ? fmt("%+.2f%%", error).c_str() : "-");
    out += line;
  }
  const ErrorSummary after = summarise(errors_after(fit));
  const ErrorSummary before = summarise(errors_before(c));
  out += "  whole-network |error|: mean " + fmt("%.2f%%", after.mean) + ", max " +
         fmt("%.2f%%", after.max) + " (with the coefficients before the fit: mean " +
         fmt("%.1f%%", before.mean) + ", max " + fmt("%.1f%%", before.max) + ")\n";
  out += "  per-op mean |error| over all " + std::to_string(c.rows.size()) +
         " ops: " + fmt("%.2f%%", mean_op_error(c, fit)) + "\n";
  if (c.run == "qemu") out += "note: " + qemu_note(c) + "\n";
  return out;
}

}  // namespace tinynas::deploy
