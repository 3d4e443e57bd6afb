// Fitting the cost model's latency coefficients to measured per-op counts.
//
// Per op kind the cost model predicts
//   count = per_mac * MACs + per_output * outputs + per_input * inputs
//         + per_channel * channels + per_op
// (evaluator/cost_model.h, op_cycles, on latency_features(): MACs the kernel
// executes, output channels). Given measured ops (from firmware built
// with profiling, deploy/calibrate.h), fit_latency() finds, for each kind, the
// non-negative coefficients with the least squared error:
//
// - rows are weighted by 1 / measured by default, so the fit minimises the
//   relative error of every op (a 300-instruction add counts as much as a
//   3M-instruction pointwise conv); FitOptions::relative = false minimises
//   absolute error instead;
// - columns are scaled to unit norm for conditioning;
// - a feature that is identically zero for the kind (MACs of add and avgpool)
//   or proportional to a feature kept before it (add: inputs = 2 * outputs;
//   the first conv: MACs = 27 * outputs; the classifier: outputs constant, so
//   a multiple of per_op; average pooling: channels = outputs) is left at 0.
//   The order of preference is per_mac, per_op, per_output, per_input,
//   per_channel;
// - with fewer rows than usable features only the first `rows` of them (in
//   that order) are fitted;
// - the rest is a Lawson-Hanson active-set NNLS on the remaining columns.
// Kinds with fewer than FitOptions::min_rows rows are reported as not fitted
// and keep the prior coefficients. Nothing here throws for data it cannot fit.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "core/mcu.h"
#include "core/op_graph.h"

namespace tinynas::evaluator {

// One measured op, with the figures of latency_features().
struct OpSample {
  OpKind kind = OpKind::kConv2d;
  int64_t macs = 0;     // MACs the kernel executes
  int64_t inputs = 0;   // input elements (both operands of an add)
  int64_t outputs = 0;  // output elements
  double measured = 0;  // instructions (QEMU) or cycles (a board)
  int32_t network = 0;  // index of the network it came from
  int32_t index = 0;    // op index within that network
  int64_t channels = 0;  // output channels
};

// The features of the model, in OpLatencyCoeffs order.
inline constexpr int kNumFeatures = 5;
// "per_mac", "per_output", "per_input", "per_op", "per_channel"
const char* feature_name(int feature);
std::array<double, kNumFeatures> features(const OpSample& sample);
double coefficient(const OpLatencyCoeffs& c, int feature);
double& coefficient(OpLatencyCoeffs& c, int feature);
// The model's prediction for one op (op_cycles on the sample's figures).
double predict(const OpLatencyCoeffs& c, const OpSample& sample);

struct FitOptions {
  int32_t min_rows = 2;            // fewer rows: the kind is not fitted
  bool relative = true;            // least squares on relative (not absolute) residuals
  int32_t significant_digits = 5;  // coefficients are rounded to this many (0: not rounded)
};

struct KindFit {
  OpKind kind = OpKind::kConv2d;
  bool fitted = false;
  int32_t rows = 0;
  OpLatencyCoeffs coeffs;                 // the fit, or the prior when not fitted
  std::array<bool, kNumFeatures> used{};  // features the fit was free to use
  std::string note;                       // dropped features, or why it was not fitted
  // Per-op |predicted - measured| / measured, in percent (NaN when not fitted).
  double mean_abs_pct_error = 0;
  double max_abs_pct_error = 0;
  double measured_sum = 0;  // the kind's share of all measured counts
};

struct NetworkFit {
  int32_t network = 0;
  double measured = 0;   // the whole inference as measured
  double predicted = 0;  // the sum of the model's per-op predictions
  double error_pct = 0;  // (predicted - measured) / measured * 100
};

struct LatencyFit {
  std::array<KindFit, kNumOpKinds> kinds;
  std::vector<NetworkFit> networks;

  bool complete() const;  // every kind fitted
  std::array<OpLatencyCoeffs, kNumOpKinds> coefficients() const;
};

// min ||a x - b||_2 subject to x >= 0 (Lawson & Hanson, 1974). Handles
// rank-deficient a (least squares on the passive set by a complete orthogonal
// decomposition). Exposed for tests.
Eigen::VectorXd nnls(const Eigen::MatrixXd& a, const Eigen::VectorXd& b);

// Fits every kind. `prior`: the coefficients kinds without enough rows keep.
// network_totals[i]: network i's measured whole-inference count; a network
// without one (index out of range, or <= 0) is compared with the sum of its
// measured ops.
LatencyFit fit_latency(const std::vector<OpSample>& rows,
                       const std::array<OpLatencyCoeffs, kNumOpKinds>& prior,
                       const std::vector<double>& network_totals = {},
                       const FitOptions& options = {});

// Whole-network errors of any coefficients on the rows (networks in order of
// their index; totals as in fit_latency).
std::vector<NetworkFit> network_errors(const std::array<OpLatencyCoeffs, kNumOpKinds>& coeffs,
                                       const std::vector<OpSample>& rows,
                                       const std::vector<double>& network_totals = {});

// v rounded to `digits` significant digits (v unchanged when digits <= 0).
double round_significant(double v, int32_t digits);

// The per-kind table: rows, coefficients, mean and max |% error|, share of
// the measured total. `unit` names the counts ("instructions" or "cycles").
std::string format_kind_table(const LatencyFit& fit, const std::string& unit);

nlohmann::json sample_to_json(const OpSample& sample);
nlohmann::json kind_fit_to_json(const KindFit& fit);
nlohmann::json coeffs_to_json(const OpLatencyCoeffs& c);

}  // namespace tinynas::evaluator
