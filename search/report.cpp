// The search's outputs: Pareto fronts, JSON files, the SVG plot, the table.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "core/arch_io.h"
#include "core/error.h"
#include "core/size.h"
#include "core/svg_plot.h"
#include "search/evolution.h"

namespace tinynas {
namespace {

using nlohmann::json;

double cost_of(const EvaluatedCandidate& c, CostAxis axis) {
  return axis == CostAxis::kMacs ? static_cast<double>(c.cost.macs)
                                 : static_cast<double>(c.cost.peak_sram_bytes);
}

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// The figures a front or a plot point needs, without the architecture.
json summary(const EvaluatedCandidate& c) {
  return {{"id", c.id},
          {"generation", c.generation},
          {"accuracy", c.accuracy},
          {"macs", c.cost.macs},
          {"flash_bytes", c.cost.flash_bytes},
          {"peak_sram_bytes", c.cost.peak_sram_bytes},
          {"latency_ms", c.cost.latency_ms},
          {"genome", c.genome.genes}};
}

json search_summary(const SearchResult& r) {
  return {{"strategy", strategy_name(r.strategy)},
          {"space", r.space},
          {"mcu", r.mcu},
          {"budget",
           {{"flash_bytes", r.budget.flash_bytes},
            {"sram_bytes", r.budget.sram_bytes},
            {"latency_ms", r.budget.latency_ms}}},
          {"width", r.width},
          {"resolutions", r.resolutions},
          {"seed", r.seed},
          {"generations", r.generations.size()},
          {"evaluations", r.evaluations},
          {"redraws", r.redraws},
          {"cache_hits", r.cache_hits},
          {"completed", r.completed},
          {"latency_refits", latency_refits_to_json(r.refits)}};
}

// render_svg_plot draws a line through each series and only a marker for a
// series of one point, and colours series by position (palette of 7 in
// core/svg_plot.cpp). A scatter plot is therefore one single-point series per
// point, padded with empty series so that every point gets palette slot `slot`.
constexpr size_t kPaletteSize = 7;
void add_in_slot(std::vector<PlotSeries>& series, PlotSeries s, size_t slot) {
  while (series.size() % kPaletteSize != slot) series.emplace_back();
  series.push_back(std::move(s));
}

}  // namespace

json latency_refits_to_json(const std::vector<LatencyRefit>& refits) {
  json out = json::array();
  for (const LatencyRefit& f : refits) {
    json kinds = json::object();
    for (size_t k = 0; k < f.coeffs.size(); ++k) {
      const OpLatencyCoeffs& c = f.coeffs[k];
      kinds[op_kind_name(static_cast<OpKind>(k))] = {c.per_mac, c.per_output, c.per_input, c.per_op,
                                                     c.per_channel};
    }
    out.push_back({{"first_generation", f.first_generation}, {"coefficients", std::move(kinds)}});
  }
  return out;
}

std::vector<LatencyRefit> latency_refits_from_json(const json& j, const std::string& where) {
  std::vector<LatencyRefit> out;
  if (!j.is_array()) throw Error(where + ": latency_refits is not a list");
  for (const json& f : j) {
    LatencyRefit r;
    r.first_generation = f.at("first_generation").get<int32_t>();
    if (!out.empty() && r.first_generation <= out.back().first_generation)
      throw Error(where + ": latency_refits out of order");
    const json& kinds = f.at("coefficients");
    for (size_t k = 0; k < r.coeffs.size(); ++k) {
      const std::vector<double> v = kinds.at(op_kind_name(static_cast<OpKind>(k))).get<std::vector<double>>();
      if (v.size() != 5) throw Error(where + ": latency_refits: 5 coefficients per op kind expected");
      for (double x : v)
        if (!(x >= 0 && x <= 1e9)) throw Error(where + ": latency_refits: coefficient out of range");
      r.coeffs[k] = {v[0], v[1], v[2], v[3], v[4]};
    }
    out.push_back(r);
  }
  return out;
}

std::vector<int64_t> pareto_front(const std::vector<EvaluatedCandidate>& history, CostAxis axis) {
  std::vector<size_t> order;  // dropped by the board: not candidates any more
  for (size_t i = 0; i < history.size(); ++i)
    if (!history[i].dropped) order.push_back(i);
  // Cheapest first; at equal cost the most accurate, then the earliest.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double ca = cost_of(history[a], axis), cb = cost_of(history[b], axis);
    if (ca != cb) return ca < cb;
    return history[a].accuracy > history[b].accuracy;
  });
  std::vector<int64_t> front;
  double best = -std::numeric_limits<double>::infinity();
  for (size_t i : order) {
    if (history[i].accuracy > best) {
      best = history[i].accuracy;
      front.push_back(history[i].id);
    }
  }
  return front;
}

json candidate_to_json(const EvaluatedCandidate& c) {
  json j = {{"id", c.id},
            {"generation", c.generation},
            {"genome", c.genome.genes},
            {"accuracy", c.accuracy},
            {"screened", c.screened},
            {"predicted_accuracy", c.screened ? number_or_null(c.predicted_accuracy) : json(nullptr)},
            {"cost", cost_to_json(c.cost)},
            {"arch", arch_to_json(c.arch)}};
  if (!c.board.is_null()) j["board"] = c.board;
  if (c.dropped) j["dropped"] = c.drop_reason;
  return j;
}

std::string history_jsonl(const SearchResult& r) {
  std::string out;
  for (const auto& c : r.history) out += candidate_to_json(c).dump() + "\n";
  return out;
}

json best_to_json(const SearchResult& r) {
  if (r.best < 0) throw Error("search result has no measured candidate");
  json j = candidate_to_json(r.history[static_cast<size_t>(r.best)]);
  j["search"] = search_summary(r);
  return j;
}

json pareto_to_json(const SearchResult& r) {
  auto front = [&](CostAxis axis) {
    json out = json::array();
    for (int64_t id : pareto_front(r.history, axis)) out.push_back(summary(r.history[static_cast<size_t>(id)]));
    return out;
  };
  return {{"search", search_summary(r)},
          {"best", r.best},
          {"accuracy_vs_macs", front(CostAxis::kMacs)},
          {"accuracy_vs_peak_sram", front(CostAxis::kPeakSram)}};
}

json generations_to_json(const SearchResult& r) {
  json out = json::array();
  for (const auto& s : r.generations) {
    out.push_back({{"generation", s.generation},
                   {"candidates", s.candidates},
                   {"redraws", s.redraws},
                   {"evaluations", s.evaluations},
                   {"cache_hits", s.cache_hits},
                   {"screened_out", s.screened_out},
                   {"best_accuracy", s.best_accuracy},
                   {"best_id", s.best_id},
                   {"mean_accuracy", s.mean_accuracy},
                   {"predictor_kendall", number_or_null(s.predictor_kendall)},
                   {"predictor_spearman", number_or_null(s.predictor_spearman)},
                   {"board_measured", s.board_measured},
                   {"board_dropped", s.board_dropped},
                   {"refit_dropped", s.refit_dropped}});
  }
  return out;
}

std::string pareto_svg(const SearchResult& r, CostAxis axis) {
  const bool macs = axis == CostAxis::kMacs;
  // MACs in millions, SRAM in KiB.
  const double scale = macs ? 1e-6 : 1.0 / 1024;
  auto x_of = [&](const EvaluatedCandidate& c) { return cost_of(c, axis) * scale; };
  std::vector<PlotSeries> series;
  double acc_lo = std::numeric_limits<double>::infinity(), acc_hi = -acc_lo;
  for (const auto& c : r.history) {
    PlotSeries p;
    if (c.id == 0) {
      p.label = "evaluated (" + std::to_string(r.history.size()) + ")";
      p.markers = true;
    }
    p.x = {x_of(c)};
    p.y = {c.accuracy};
    add_in_slot(series, std::move(p), 5);  // sky blue, drawn first: underneath
    acc_lo = std::min(acc_lo, c.accuracy);
    acc_hi = std::max(acc_hi, c.accuracy);
  }
  const std::vector<int64_t> front = pareto_front(r.history, axis);
  PlotSeries f;
  f.label = "Pareto front (" + std::to_string(front.size()) + ")";
  f.step = true;
  f.markers = true;
  for (int64_t id : front) {
    f.x.push_back(x_of(r.history[static_cast<size_t>(id)]));
    f.y.push_back(r.history[static_cast<size_t>(id)].accuracy);
  }
  add_in_slot(series, std::move(f), 0);
  if (!macs && r.budget.sram_bytes > 0 && !r.history.empty()) {
    PlotSeries b;
    b.label = "SRAM budget " + format_size(r.budget.sram_bytes);
    const double x = static_cast<double>(r.budget.sram_bytes) * scale;
    b.x = {x, x};
    b.y = {acc_lo, acc_hi};
    add_in_slot(series, std::move(b), 6);
  }
  if (r.best >= 0) {
    const auto& w = r.history[static_cast<size_t>(r.best)];
    PlotSeries p;
    char label[160];
    std::snprintf(label, sizeof label, "winner #%lld: %.4g at %.4g %s", static_cast<long long>(w.id),
                  w.accuracy, x_of(w), macs ? "M MACs" : "KiB");
    p.label = label;
    p.markers = true;
    p.x = {x_of(w)};
    p.y = {w.accuracy};
    add_in_slot(series, std::move(p), 1);
  }
  PlotSpec spec;
  char title[256];
  std::snprintf(title, sizeof title, "%s search on %s (flash %s, SRAM %s): accuracy vs %s",
                strategy_name(r.strategy), r.mcu.c_str(), format_size(r.budget.flash_bytes).c_str(),
                format_size(r.budget.sram_bytes).c_str(), macs ? "MACs" : "peak SRAM");
  spec.title = title;
  spec.x_label = macs ? "MACs (millions)" : "peak SRAM (KiB, arena + reserved)";
  spec.y_label = "accuracy";
  return render_svg_plot(spec, series);
}

std::string format_generations(const SearchResult& r) {
  // "board": measured on the board after the generation / dropped by the
  // board / dropped by the refitted latency model (hil_every only).
  bool board = false;
  for (const auto& s : r.generations) board = board || s.board_measured > 0;
  std::string out;
  char line[240];
  std::snprintf(line, sizeof line, "%4s %10s %8s %6s %6s %9s %10s %10s %8s%s\n", "gen", "candidates",
                "redraws", "evals", "hits", "screened", "best", "mean", "kendall", board ? "    board m/d/r" : "");
  out += line;
  for (const auto& s : r.generations) {
    char kendall[16] = "-";
    if (std::isfinite(s.predictor_kendall)) std::snprintf(kendall, sizeof kendall, "%.3f", s.predictor_kendall);
    char hil[48] = "";
    if (board)
      std::snprintf(hil, sizeof hil, " %15s",
                    (std::to_string(s.board_measured) + "/" + std::to_string(s.board_dropped) + "/" +
                     std::to_string(s.refit_dropped)).c_str());
    std::snprintf(line, sizeof line, "%4d %10lld %8lld %6lld %6lld %9lld %10.5g %10.5g %8s%s\n",
                  s.generation, static_cast<long long>(s.candidates),
                  static_cast<long long>(s.redraws), static_cast<long long>(s.evaluations),
                  static_cast<long long>(s.cache_hits), static_cast<long long>(s.screened_out),
                  s.best_accuracy, s.mean_accuracy, kendall, hil);
    out += line;
  }
  return out;
}

}  // namespace tinynas
