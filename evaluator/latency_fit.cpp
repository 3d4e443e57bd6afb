#include "evaluator/latency_fit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include <Eigen/QR>

#include "evaluator/cost_model.h"

namespace tinynas::evaluator {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Features in the order the fit prefers to keep them when two are
// proportional: MACs first (the dominant term), then the fixed cost.
constexpr int kPreference[kNumFeatures] = {0, 3, 1, 2, 4};

// Least squares on the columns marked in `passive`; zero elsewhere.
Eigen::VectorXd solve_passive(const Eigen::MatrixXd& a, const Eigen::VectorXd& b,
                              const std::vector<bool>& passive) {
  const Eigen::Index n = a.cols();
  std::vector<Eigen::Index> cols;
  for (Eigen::Index j = 0; j < n; ++j)
    if (passive[static_cast<size_t>(j)]) cols.push_back(j);
  Eigen::VectorXd x = Eigen::VectorXd::Zero(n);
  if (cols.empty()) return x;
  Eigen::MatrixXd sub(a.rows(), static_cast<Eigen::Index>(cols.size()));
  for (size_t k = 0; k < cols.size(); ++k) sub.col(static_cast<Eigen::Index>(k)) = a.col(cols[k]);
  const Eigen::VectorXd z = sub.completeOrthogonalDecomposition().solve(b);
  for (size_t k = 0; k < cols.size(); ++k) x[cols[k]] = z[static_cast<Eigen::Index>(k)];
  return x;
}

struct ErrorStats {
  double mean = kNaN;
  double max = kNaN;
};

ErrorStats pct_errors(const OpLatencyCoeffs& c, const std::vector<const OpSample*>& rows) {
  ErrorStats s;
  double sum = 0, worst = 0;
  int n = 0;
  for (const OpSample* r : rows) {
    if (!(r->measured > 0)) continue;
    const double e = std::fabs(predict(c, *r) - r->measured) / r->measured * 100;
    sum += e;
    worst = std::max(worst, e);
    ++n;
  }
  if (n > 0) {
    s.mean = sum / n;
    s.max = worst;
  }
  return s;
}

KindFit fit_kind(OpKind kind, const std::vector<const OpSample*>& rows,
                 const OpLatencyCoeffs& prior, const FitOptions& o) {
  KindFit f;
  f.kind = kind;
  f.rows = static_cast<int32_t>(rows.size());
  f.coeffs = prior;
  f.mean_abs_pct_error = f.max_abs_pct_error = kNaN;
  for (const OpSample* r : rows) f.measured_sum += r->measured;
  const int32_t min_rows = std::max(o.min_rows, 1);
  if (f.rows < min_rows) {
    f.note = std::to_string(f.rows) + (f.rows == 1 ? " row" : " rows") + ", needs at least " +
             std::to_string(min_rows) + "; kept the prior coefficients";
    return f;
  }

  // Weighted design matrix: row i scaled by 1 / measured (relative) or 1.
  const Eigen::Index m = f.rows;
  Eigen::MatrixXd x(m, kNumFeatures);
  Eigen::VectorXd b(m);
  for (Eigen::Index i = 0; i < m; ++i) {
    const OpSample& r = *rows[static_cast<size_t>(i)];
    const double w = o.relative ? 1.0 / std::max(r.measured, 1.0) : 1.0;
    const auto feat = features(r);
    for (int j = 0; j < kNumFeatures; ++j) x(i, j) = feat[static_cast<size_t>(j)] * w;
    b[i] = r.measured * w;
  }

  // Which features the fit may use, in order of preference.
  Eigen::Matrix<double, kNumFeatures, 1> norm;
  for (int j = 0; j < kNumFeatures; ++j) norm[j] = x.col(j).norm();
  std::vector<int> kept;
  std::string dropped;
  auto add_note = [&](const std::string& s) { dropped += (dropped.empty() ? "" : "; ") + s; };
  for (int j : kPreference) {
    if (!(norm[j] > 0)) continue;  // identically zero for this kind: left at 0
    int proportional_to = -1;
    for (int k : kept) {
      const double cosine = std::fabs(x.col(j).dot(x.col(k))) / (norm[j] * norm[k]);
      if (cosine > 1 - 1e-9) {
        proportional_to = k;
        break;
      }
    }
    if (proportional_to >= 0) {
      add_note(std::string(feature_name(j)) + " left at 0 (proportional to " +
               feature_name(proportional_to) + " here)");
      continue;
    }
    kept.push_back(j);
  }
  if (static_cast<int32_t>(kept.size()) > f.rows) {
    std::string names;
    for (size_t k = static_cast<size_t>(f.rows); k < kept.size(); ++k)
      names += std::string(names.empty() ? "" : ", ") + feature_name(kept[k]);
    add_note("underdetermined (" + std::to_string(f.rows) + " rows): " + names + " left at 0");
    kept.resize(static_cast<size_t>(f.rows));
  }

  Eigen::MatrixXd a(m, static_cast<Eigen::Index>(kept.size()));
  for (size_t k = 0; k < kept.size(); ++k)
    a.col(static_cast<Eigen::Index>(k)) = x.col(kept[k]) / norm[kept[k]];
  const Eigen::VectorXd sol = nnls(a, b);

  OpLatencyCoeffs c;  // all zero
  for (size_t k = 0; k < kept.size(); ++k) {
    const int j = kept[k];
    f.used[static_cast<size_t>(j)] = true;
    coefficient(c, j) =
        round_significant(sol[static_cast<Eigen::Index>(k)] / norm[j], o.significant_digits);
  }
  f.coeffs = c;
  f.fitted = true;
  f.note = dropped;
  const ErrorStats e = pct_errors(c, rows);
  f.mean_abs_pct_error = e.mean;
  f.max_abs_pct_error = e.max;
  return f;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A coefficient in the table: 0 as "0", otherwise 5 significant digits.
std::string coeff_cell(double v) { return v == 0 ? "0" : fmt("%.5g", v); }

std::string pct_cell(double v) { return std::isnan(v) ? "-" : fmt("%.1f%%", v); }

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

}  // namespace

const char* feature_name(int feature) {
  switch (feature) {
    case 0:
      return "per_mac";
    case 1:
      return "per_output";
    case 2:
      return "per_input";
    case 3:
      return "per_op";
    case 4:
      return "per_channel";
  }
  return "?";
}

std::array<double, kNumFeatures> features(const OpSample& s) {
  return {static_cast<double>(s.macs), static_cast<double>(s.outputs),
          static_cast<double>(s.inputs), 1.0, static_cast<double>(s.channels)};
}

double coefficient(const OpLatencyCoeffs& c, int feature) {
  switch (feature) {
    case 0:
      return c.per_mac;
    case 1:
      return c.per_output;
    case 2:
      return c.per_input;
    case 4:
      return c.per_channel;
    default:
      return c.per_op;
  }
}

double& coefficient(OpLatencyCoeffs& c, int feature) {
  switch (feature) {
    case 0:
      return c.per_mac;
    case 1:
      return c.per_output;
    case 2:
      return c.per_input;
    case 4:
      return c.per_channel;
    default:
      return c.per_op;
  }
}

double predict(const OpLatencyCoeffs& c, const OpSample& s) {
  // The same expression as op_cycles.
  return latency_cycles(c, static_cast<double>(s.macs), static_cast<double>(s.outputs),
                        static_cast<double>(s.inputs), static_cast<double>(s.channels));
}

bool LatencyFit::complete() const {
  return std::all_of(kinds.begin(), kinds.end(), [](const KindFit& k) { return k.fitted; });
}

std::array<OpLatencyCoeffs, kNumOpKinds> LatencyFit::coefficients() const {
  std::array<OpLatencyCoeffs, kNumOpKinds> c;
  for (int k = 0; k < kNumOpKinds; ++k)
    c[static_cast<size_t>(k)] = kinds[static_cast<size_t>(k)].coeffs;
  return c;
}

Eigen::VectorXd nnls(const Eigen::MatrixXd& a, const Eigen::VectorXd& b) {
  const Eigen::Index n = a.cols();
  Eigen::VectorXd x = Eigen::VectorXd::Zero(n);
  if (n == 0 || a.rows() == 0) return x;
  const double scale = std::max(1.0, (a.transpose() * b).cwiseAbs().maxCoeff());
  const double tol = 1e-12 * scale * static_cast<double>(std::max(a.rows(), n));
  std::vector<bool> passive(static_cast<size_t>(n), false);
  std::vector<bool> blocked(static_cast<size_t>(n), false);  // would re-enter at once
  Eigen::VectorXd w = a.transpose() * (b - a * x);
  const int max_iterations = 3 * static_cast<int>(n) + 10;
  for (int outer = 0; outer < max_iterations; ++outer) {
    // The zero variable whose increase lowers the residual the most.
    Eigen::Index t = -1;
    double best = tol;
    for (Eigen::Index j = 0; j < n; ++j) {
      const auto u = static_cast<size_t>(j);
      if (!passive[u] && !blocked[u] && w[j] > best) {
        best = w[j];
        t = j;
      }
    }
    if (t < 0) break;
    passive[static_cast<size_t>(t)] = true;
    for (int inner = 0; inner < max_iterations; ++inner) {
      const Eigen::VectorXd z = solve_passive(a, b, passive);
      bool feasible = true;
      for (Eigen::Index j = 0; j < n; ++j)
        if (passive[static_cast<size_t>(j)] && !(z[j] > 0)) feasible = false;
      if (feasible) {
        x = z;
        break;
      }
      // Step from x towards z as far as the constraints allow, then release
      // the variables that reached zero.
      double alpha = 1;
      Eigen::Index limit = -1;
      for (Eigen::Index j = 0; j < n; ++j) {
        if (!passive[static_cast<size_t>(j)] || z[j] > 0) continue;
        const double d = x[j] - z[j];  // >= 0: x[j] >= 0 >= z[j]
        const double step = d > 0 ? x[j] / d : 0;
        if (limit < 0 || step < alpha) {
          alpha = std::min(alpha, step);
          limit = j;
        }
      }
      x += alpha * (z - x);
      if (limit >= 0) x[limit] = 0;
      const double tiny = 1e-14 * std::max(1.0, x.cwiseAbs().maxCoeff());
      for (Eigen::Index j = 0; j < n; ++j) {
        if (passive[static_cast<size_t>(j)] && x[j] <= tiny) {
          passive[static_cast<size_t>(j)] = false;
          x[j] = 0;
        }
      }
    }
    // A variable that left again without x moving would be picked forever.
    const bool t_stayed = passive[static_cast<size_t>(t)];
    std::fill(blocked.begin(), blocked.end(), false);
    if (!t_stayed) blocked[static_cast<size_t>(t)] = true;
    w = a.transpose() * (b - a * x);
  }
  for (Eigen::Index j = 0; j < n; ++j) x[j] = std::max(x[j], 0.0);
  return x;
}

double round_significant(double v, int32_t digits) {
  if (digits <= 0 || v == 0 || !std::isfinite(v)) return v;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
  return std::strtod(buf, nullptr);
}

std::vector<NetworkFit> network_errors(const std::array<OpLatencyCoeffs, kNumOpKinds>& coeffs,
                                       const std::vector<OpSample>& rows,
                                       const std::vector<double>& network_totals) {
  std::map<int32_t, NetworkFit> by_network;
  std::map<int32_t, double> ops_sum;
  for (const OpSample& r : rows) {
    NetworkFit& n = by_network[r.network];
    n.network = r.network;
    n.predicted += predict(coeffs[static_cast<size_t>(r.kind)], r);
    ops_sum[r.network] += r.measured;
  }
  std::vector<NetworkFit> out;
  for (auto& [id, n] : by_network) {
    const bool has_total = id >= 0 && static_cast<size_t>(id) < network_totals.size() &&
                           network_totals[static_cast<size_t>(id)] > 0;
    n.measured = has_total ? network_totals[static_cast<size_t>(id)] : ops_sum[id];
    n.error_pct = n.measured > 0 ? (n.predicted - n.measured) / n.measured * 100 : kNaN;
    out.push_back(n);
  }
  return out;
}

LatencyFit fit_latency(const std::vector<OpSample>& rows,
                       const std::array<OpLatencyCoeffs, kNumOpKinds>& prior,
                       const std::vector<double>& network_totals, const FitOptions& options) {
  std::array<std::vector<const OpSample*>, kNumOpKinds> by_kind;
  for (const OpSample& r : rows) {
    const auto k = static_cast<size_t>(r.kind);
    if (k < by_kind.size()) by_kind[k].push_back(&r);
  }
  LatencyFit fit;
  for (int k = 0; k < kNumOpKinds; ++k) {
    const auto u = static_cast<size_t>(k);
    fit.kinds[u] = fit_kind(static_cast<OpKind>(k), by_kind[u], prior[u], options);
  }
  fit.networks = network_errors(fit.coefficients(), rows, network_totals);
  return fit;
}

std::string format_kind_table(const LatencyFit& fit, const std::string& unit) {
  double total = 0;
  for (const KindFit& k : fit.kinds) total += k.measured_sum;
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "  %-16s %5s %10s %10s %10s %11s %10s %9s %9s %7s\n", "kind",
                "rows", "per_mac", "per_output", "per_input", "per_channel", "per_op", "mean|err|",
                "max|err|", "share");
  out += line;
  for (const KindFit& k : fit.kinds) {
    const std::string share = total > 0 ? fmt("%.1f%%", k.measured_sum / total * 100) : "-";
    if (k.fitted) {
      std::snprintf(line, sizeof line, "  %-16s %5d %10s %10s %10s %11s %10s %9s %9s %7s\n",
                    op_kind_name(k.kind), k.rows, coeff_cell(k.coeffs.per_mac).c_str(),
                    coeff_cell(k.coeffs.per_output).c_str(), coeff_cell(k.coeffs.per_input).c_str(),
                    coeff_cell(k.coeffs.per_channel).c_str(), coeff_cell(k.coeffs.per_op).c_str(), pct_cell(k.mean_abs_pct_error).c_str(),
                    pct_cell(k.max_abs_pct_error).c_str(), share.c_str());
    } else {
      std::snprintf(line, sizeof line, "  %-16s %5d  NOT FITTED: %s\n", op_kind_name(k.kind),
                    k.rows, k.note.c_str());
    }
    out += line;
  }
  for (const KindFit& k : fit.kinds)
    if (k.fitted && !k.note.empty())
      out += "  " + std::string(op_kind_name(k.kind)) + ": " + k.note + "\n";
  out += "  (coefficients in " + unit +
         " per MAC executed / output / input element / output channel / op; errors per op)\n";
  return out;
}

nlohmann::json coeffs_to_json(const OpLatencyCoeffs& c) {
  return {{"per_mac", c.per_mac},
          {"per_output", c.per_output},
          {"per_input", c.per_input},
          {"per_channel", c.per_channel},
          {"per_op", c.per_op}};
}

nlohmann::json sample_to_json(const OpSample& s) {
  return {{"network", s.network},  {"index", s.index},   {"kind", op_kind_name(s.kind)},
          {"macs", s.macs},        {"inputs", s.inputs}, {"outputs", s.outputs},
          {"channels", s.channels}, {"measured", s.measured}};
}

nlohmann::json kind_fit_to_json(const KindFit& k) {
  nlohmann::json used = nlohmann::json::array();
  for (int j = 0; j < kNumFeatures; ++j)
    if (k.used[static_cast<size_t>(j)]) used.push_back(feature_name(j));
  return {{"kind", op_kind_name(k.kind)},
          {"fitted", k.fitted},
          {"rows", k.rows},
          {"coefficients", coeffs_to_json(k.coeffs)},
          {"features_used", used},
          {"note", k.note},
          {"mean_abs_pct_error", number_or_null(k.mean_abs_pct_error)},
          {"max_abs_pct_error", number_or_null(k.max_abs_pct_error)},
          {"measured_sum", k.measured_sum}};
}

}  // namespace tinynas::evaluator
