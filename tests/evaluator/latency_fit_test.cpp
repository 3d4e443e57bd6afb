// The latency fit (evaluator/latency_fit.h) on synthetic measurements made
// from known coefficients, the NNLS solver against brute force, and writing
// coefficients back into an MCU YAML (core/mcu_yaml.h) on a copy of f412.yaml.
#include "evaluator/latency_fit.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <Eigen/QR>

#include "core/io.h"
#include "core/mcu.h"
#include "core/mcu_yaml.h"
#include "core/rng.h"
#include "tests/test_util.h"

namespace tinynas::evaluator {
namespace {

namespace fs = std::filesystem;
using test_nets::error_of;

constexpr int kConv = static_cast<int>(OpKind::kConv2d);
constexpr int kDw = static_cast<int>(OpKind::kDepthwiseConv2d);
constexpr int kPw = static_cast<int>(OpKind::kPointwiseConv2d);
constexpr int kAdd = static_cast<int>(OpKind::kAdd);
constexpr int kPool = static_cast<int>(OpKind::kAvgPool);
constexpr int kFc = static_cast<int>(OpKind::kFullyConnected);

// Gaussian-ish noise from the project's RNG: the mean of four uniforms.
double noise(Rng& rng) {
  double s = 0;
  for (int i = 0; i < 4; ++i) s += rng.uniform01() - 0.5;
  return s / 2;  // in about [-1, 1], sd ~0.29
}

int64_t pick(Rng& rng, std::initializer_list<int64_t> values) {
  return *(values.begin() + rng.uniform(static_cast<uint32_t>(values.size())));
}

// Rows shaped like the real ops of MobileNetV2-style networks (so each kind
// has the feature structure it has in practice), measured with the given
// coefficients and `rel_noise` multiplicative noise.
std::vector<OpSample> synthetic_rows(const std::array<OpLatencyCoeffs, kNumOpKinds>& truth,
                                     int networks, double rel_noise, uint64_t seed) {
  Rng rng(seed);
  std::vector<OpSample> rows;
  for (int n = 0; n < networks; ++n) {
    int32_t index = 0;
    auto add = [&](OpKind kind, int64_t macs, int64_t inputs, int64_t outputs, int64_t channels) {
      OpSample s{kind, macs, inputs, outputs, 0, n, index++, channels};
      s.measured = predict(truth[static_cast<size_t>(kind)], s) * (1 + rel_noise * noise(rng));
      rows.push_back(s);
    };
    const int64_t res = pick(rng, {48, 64, 80, 96, 112, 128});
    const int64_t c0 = pick(rng, {8, 16, 24, 32});
    add(OpKind::kConv2d, (res / 2) * (res / 2) * c0 * 27, res * res * 3,
        (res / 2) * (res / 2) * c0, c0);
    int64_t hw = res / 2, c = c0;
    for (int b = 0; b < 12; ++b) {
      const int64_t stride = b % 3 == 0 ? 2 : 1;
      const int64_t k = pick(rng, {3, 5, 7});
      const int64_t mid = c * pick(rng, {3, 4, 6});
      const int64_t out_hw = std::max<int64_t>(1, hw / stride);
      const int64_t cout = stride == 2 ? c + pick(rng, {8, 16}) : c;
      add(OpKind::kPointwiseConv2d, hw * hw * c * mid, hw * hw * c, hw * hw * mid, mid);
      add(OpKind::kDepthwiseConv2d, out_hw * out_hw * mid * k * k, hw * hw * mid,
          out_hw * out_hw * mid, mid);
      add(OpKind::kPointwiseConv2d, out_hw * out_hw * mid * cout, out_hw * out_hw * mid,
          out_hw * out_hw * cout, cout);
      if (stride == 1) add(OpKind::kAdd, 0, 2 * hw * hw * c, hw * hw * c, c);
      hw = out_hw;
      c = cout;
    }
    add(OpKind::kAvgPool, 0, hw * hw * c, c, c);
    add(OpKind::kFullyConnected, c * 1000, c, 1000, 1000);
  }
  return rows;
}

std::array<OpLatencyCoeffs, kNumOpKinds> true_coeffs() {
  std::array<OpLatencyCoeffs, kNumOpKinds> t{};
  t[kConv] = {2.8, 0, 50, 6000};
  t[kDw] = {2.2, 20, 2.5, 1500, 230};
  t[kPw] = {1.4, 35, 4.5, 2800};
  t[kAdd] = {0, 90, 0, 300};
  t[kPool] = {0, 23, 2.3, 75};
  t[kFc] = {1.9, 0, 0, 48000};
  return t;
}

void expect_near_rel(double got, double want, double rel, double abs_floor,
                     const std::string& what) {
  EXPECT_NEAR(got, want, std::max(rel * std::fabs(want), abs_floor)) << what;
}

// --- NNLS -------------------------------------------------------------------

// The exact NNLS optimum by trying every support (fine for a few columns).
double brute_force_nnls_residual(const Eigen::MatrixXd& a, const Eigen::VectorXd& b) {
  const auto n = static_cast<int>(a.cols());
  double best = b.squaredNorm();  // x = 0
  for (int mask = 1; mask < (1 << n); ++mask) {
    std::vector<Eigen::Index> cols;
    for (int j = 0; j < n; ++j)
      if (mask & (1 << j)) cols.push_back(j);
    Eigen::MatrixXd sub(a.rows(), static_cast<Eigen::Index>(cols.size()));
    for (size_t k = 0; k < cols.size(); ++k) sub.col(static_cast<Eigen::Index>(k)) = a.col(cols[k]);
    const Eigen::VectorXd z = sub.completeOrthogonalDecomposition().solve(b);
    if ((z.array() < -1e-12).any()) continue;
    best = std::min(best, (sub * z - b).squaredNorm());
  }
  return best;
}

TEST(Nnls, MatchesBruteForceOnRandomProblems) {
  Rng rng(42);
  for (int trial = 0; trial < 300; ++trial) {
    const int m = 2 + static_cast<int>(rng.uniform(12));
    const int n = 1 + static_cast<int>(rng.uniform(5));
    Eigen::MatrixXd a(m, n);
    Eigen::VectorXd b(m);
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) a(i, j) = rng.uniform01() * 2 - 1;
      b[i] = rng.uniform01() * 4 - 2;
    }
    if (trial % 5 == 0 && n >= 2) a.col(n - 1) = 2 * a.col(0);  // rank-deficient
    const Eigen::VectorXd x = nnls(a, b);
    ASSERT_EQ(x.size(), n);
    EXPECT_TRUE((x.array() >= 0).all()) << "trial " << trial << ": " << x.transpose();
    const double got = (a * x - b).squaredNorm();
    const double want = brute_force_nnls_residual(a, b);
    EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, want)) << "trial " << trial;
  }
}

TEST(Nnls, UnconstrainedWhenTheSolutionIsPositive) {
  Eigen::MatrixXd a(4, 2);
  a << 1, 1, 2, 1, 3, 1, 4, 1;
  const Eigen::VectorXd b = a * Eigen::Vector2d(2, 5);
  const Eigen::VectorXd x = nnls(a, b);
  EXPECT_NEAR(x[0], 2, 1e-12);
  EXPECT_NEAR(x[1], 5, 1e-12);
}

TEST(Nnls, EmptyProblems) {
  EXPECT_EQ(nnls(Eigen::MatrixXd(0, 3), Eigen::VectorXd(0)).size(), 3);
  EXPECT_EQ(nnls(Eigen::MatrixXd(5, 0), Eigen::VectorXd::Ones(5)).size(), 0);
}

// --- fit_latency ---------------------------------------------------------------

TEST(LatencyFit, RecoversKnownCoefficientsWithSmallNoise) {
  const auto truth = true_coeffs();
  const auto rows = synthetic_rows(truth, 8, 0.005, 7);  // +-0.5% noise
  const LatencyFit fit = fit_latency(rows, {}, {});
  ASSERT_TRUE(fit.complete());
  for (int k = 0; k < kNumOpKinds; ++k) {
    const KindFit& f = fit.kinds[static_cast<size_t>(k)];
    const OpLatencyCoeffs& t = truth[static_cast<size_t>(k)];
    const std::string kind = op_kind_name(static_cast<OpKind>(k));
    EXPECT_TRUE(f.fitted) << kind;
    EXPECT_LT(f.mean_abs_pct_error, 0.5) << kind;
    EXPECT_LT(f.max_abs_pct_error, 2.0) << kind;
    // The dominant term within 2%; the smaller ones within what the noise
    // lets through, measured against the size of their contribution.
    if (k != kAdd && k != kPool)
      expect_near_rel(f.coeffs.per_mac, t.per_mac, 0.02, 0, kind + " per_mac");
    if (k == kDw || k == kPw || k == kAdd || k == kPool)
      expect_near_rel(f.coeffs.per_output, t.per_output, 0.15, 0.5, kind + " per_output");
    if (k == kConv || k == kPool)
      expect_near_rel(f.coeffs.per_input, t.per_input, 0.1, 0.2, kind + " per_input");
    if (k == kDw) expect_near_rel(f.coeffs.per_channel, t.per_channel, 0.25, 0, kind + " per_channel");
  }
  EXPECT_NEAR(fit.kinds[kFc].coeffs.per_op, truth[kFc].per_op, 0.05 * truth[kFc].per_op);
  EXPECT_NEAR(fit.kinds[kAdd].coeffs.per_op, truth[kAdd].per_op, 0.3 * truth[kAdd].per_op);
  ASSERT_EQ(fit.networks.size(), 8u);
  for (const NetworkFit& n : fit.networks) EXPECT_LT(std::fabs(n.error_pct), 0.5) << n.network;
}

TEST(LatencyFit, ExactDataIsFitExactly) {
  const auto truth = true_coeffs();
  const LatencyFit fit = fit_latency(synthetic_rows(truth, 6, 0, 3), {}, {}, {2, true, 0});
  for (int k = 0; k < kNumOpKinds; ++k) {
    EXPECT_LT(fit.kinds[static_cast<size_t>(k)].max_abs_pct_error, 1e-6)
        << op_kind_name(static_cast<OpKind>(k));
  }
  EXPECT_NEAR(fit.kinds[kPw].coeffs.per_mac, 1.4, 1e-9);
  EXPECT_NEAR(fit.kinds[kPw].coeffs.per_op, 2800, 1e-5);
  EXPECT_NEAR(fit.kinds[kDw].coeffs.per_input, 2.5, 1e-9);
  EXPECT_NEAR(fit.kinds[kDw].coeffs.per_channel, 230, 1e-6);
  // Average pooling's channels are its outputs: per_channel is left at 0.
  EXPECT_EQ(fit.kinds[kPool].coeffs.per_channel, 0);
  EXPECT_FALSE(fit.kinds[kPool].used[4]);
}

TEST(LatencyFit, CoefficientsStayNonNegativeWhenTheTruthIsZero) {
  // Pointwise with no per-op cost and no per-input cost, noisy: an
  // unconstrained fit would put small negative values on those terms half
  // the time. Over many seeds every coefficient must stay >= 0 and near 0.
  auto truth = true_coeffs();
  truth[kPw] = {1.4, 35, 0, 0};
  truth[kDw] = {2.2, 0, 0, 0};
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const LatencyFit fit = fit_latency(synthetic_rows(truth, 4, 0.01, seed), {}, {});
    for (int k = 0; k < kNumOpKinds; ++k)
      for (int f = 0; f < kNumFeatures; ++f)
        EXPECT_GE(coefficient(fit.kinds[static_cast<size_t>(k)].coeffs, f), 0)
            << op_kind_name(static_cast<OpKind>(k)) << " " << feature_name(f) << " seed " << seed;
    const OpLatencyCoeffs& pw = fit.kinds[kPw].coeffs;
    EXPECT_NEAR(pw.per_mac, 1.4, 0.03);
    EXPECT_LT(pw.per_op, 300) << "per_op should be ~0, a pointwise op costs ~1e5";
    EXPECT_LT(pw.per_input, 1.0);
    EXPECT_NEAR(fit.kinds[kDw].coeffs.per_mac, 2.2, 0.05);
  }
}

TEST(LatencyFit, ANegativeLeastSquaresTermIsClampedToZero) {
  // measured = 2 * MACs - 500: the best non-negative model has per_op = 0.
  std::vector<OpSample> rows;
  for (int i = 1; i <= 10; ++i) {
    OpSample s{OpKind::kFullyConnected, 1000 * i, 100, 10, 0, 0, i};
    s.measured = 2.0 * static_cast<double>(s.macs) - 500;
    rows.push_back(s);
  }
  const LatencyFit fit = fit_latency(rows, {}, {}, {2, false, 0});
  const KindFit& fc = fit.kinds[kFc];
  ASSERT_TRUE(fc.fitted);
  EXPECT_EQ(fc.coeffs.per_op, 0);
  EXPECT_GT(fc.coeffs.per_mac, 1.9);
  EXPECT_LT(fc.coeffs.per_mac, 2.0);
}

TEST(LatencyFit, ZeroAndProportionalFeaturesAreLeftAtZero) {
  const LatencyFit fit = fit_latency(synthetic_rows(true_coeffs(), 5, 0.002, 11), {}, {});
  // add: no MACs, and inputs = 2 * outputs.
  const KindFit& add = fit.kinds[kAdd];
  EXPECT_FALSE(add.used[0]);
  EXPECT_FALSE(add.used[2]);
  EXPECT_TRUE(add.used[1]);
  EXPECT_EQ(add.coeffs.per_mac, 0);
  EXPECT_EQ(add.coeffs.per_input, 0);
  EXPECT_NE(add.note.find("per_input left at 0 (proportional to per_output"), std::string::npos)
      << add.note;
  // The first conv: MACs = 27 * outputs, so per_output goes.
  EXPECT_FALSE(fit.kinds[kConv].used[1]);
  // The classifier: 1000 outputs everywhere, a multiple of per_op.
  EXPECT_FALSE(fit.kinds[kFc].used[1]);
  EXPECT_TRUE(fit.kinds[kFc].used[3]);
}

TEST(LatencyFit, KindsWithTooFewRowsAreReportedNotFitted) {
  const auto truth = true_coeffs();
  std::vector<OpSample> rows;
  for (const OpSample& s : synthetic_rows(truth, 3, 0, 5)) {
    if (s.kind == OpKind::kAvgPool) continue;                          // none at all
    if (s.kind == OpKind::kFullyConnected && s.network > 0) continue;  // one
    rows.push_back(s);
  }
  std::array<OpLatencyCoeffs, kNumOpKinds> prior{};
  prior[kPool] = {0, 20, 2, 300};
  prior[kFc] = {1.1, 20, 0, 400};
  LatencyFit fit;
  ASSERT_EQ(error_of([&] { fit = fit_latency(rows, prior, {}); }), "");
  EXPECT_FALSE(fit.complete());
  const KindFit& pool = fit.kinds[kPool];
  EXPECT_FALSE(pool.fitted);
  EXPECT_EQ(pool.rows, 0);
  EXPECT_EQ(pool.coeffs.per_output, 20);  // the prior, untouched
  EXPECT_TRUE(std::isnan(pool.mean_abs_pct_error));
  EXPECT_NE(pool.note.find("0 rows, needs at least 2"), std::string::npos) << pool.note;
  const KindFit& fc = fit.kinds[kFc];
  EXPECT_FALSE(fc.fitted);
  EXPECT_EQ(fc.rows, 1);
  EXPECT_EQ(fc.coeffs.per_op, 400);
  EXPECT_NE(fc.note.find("1 row,"), std::string::npos) << fc.note;
  EXPECT_TRUE(fit.kinds[kPw].fitted);
  // The table says so instead of printing numbers.
  const std::string table = format_kind_table(fit, "instructions");
  EXPECT_NE(table.find("NOT FITTED: 0 rows"), std::string::npos) << table;
  // Network errors still come out, with the prior for the missing kinds.
  EXPECT_EQ(fit.networks.size(), 3u);
  // And no rows at all is not a crash either.
  const LatencyFit empty = fit_latency({}, prior, {});
  EXPECT_FALSE(empty.complete());
  EXPECT_TRUE(empty.networks.empty());
}

TEST(LatencyFit, UnderdeterminedKindsKeepThePreferredTerms) {
  // Two conv rows: only per_mac and per_op (the first two by preference) are
  // fitted, and they go through both points.
  std::vector<OpSample> rows;
  for (int i = 0; i < 2; ++i) {
    OpSample s{OpKind::kConv2d, 27000 * (i + 1), 3000 * (i + 2), 1000 * (i + 1) * (i + 1), 0, i, 0};
    s.measured = 3.0 * static_cast<double>(s.macs) + 5000;
    rows.push_back(s);
  }
  const LatencyFit fit = fit_latency(rows, {}, {}, {2, true, 0});
  const KindFit& conv = fit.kinds[kConv];
  ASSERT_TRUE(conv.fitted);
  EXPECT_NE(conv.note.find("underdetermined"), std::string::npos) << conv.note;
  EXPECT_NEAR(conv.coeffs.per_mac, 3.0, 1e-9);
  EXPECT_NEAR(conv.coeffs.per_op, 5000, 1e-6);
  EXPECT_EQ(conv.coeffs.per_output, 0);
  EXPECT_EQ(conv.coeffs.per_input, 0);
}

TEST(LatencyFit, NetworkErrorsUseTheMeasuredTotals) {
  std::array<OpLatencyCoeffs, kNumOpKinds> c{};
  c[kAdd] = {0, 1, 0, 0};
  std::vector<OpSample> rows = {{OpKind::kAdd, 0, 200, 100, 100, 0, 0},
                                {OpKind::kAdd, 0, 200, 100, 100, 1, 0}};
  const auto e = network_errors(c, rows, {110});  // network 1 has no total: its ops' sum
  ASSERT_EQ(e.size(), 2u);
  EXPECT_DOUBLE_EQ(e[0].measured, 110);
  EXPECT_NEAR(e[0].error_pct, (100.0 - 110) / 110 * 100, 1e-12);
  EXPECT_DOUBLE_EQ(e[1].measured, 100);
  EXPECT_DOUBLE_EQ(e[1].error_pct, 0);
}

TEST(LatencyFit, RoundsToSignificantDigits) {
  EXPECT_EQ(round_significant(3.14159265, 5), 3.1416);
  EXPECT_EQ(round_significant(141327.9, 5), 141330);
  EXPECT_EQ(round_significant(2.345678e-5, 3), 2.35e-5);
  EXPECT_EQ(round_significant(0, 5), 0);
  EXPECT_EQ(round_significant(1.23456, 0), 1.23456);
}

// --- writing back into the MCU YAML ------------------------------------------

class McuYamlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tinynas_latency_fit_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// Lines before the latency key, and from the first top-level line after it.
std::pair<std::vector<std::string>, std::vector<std::string>> outside_latency(
    const std::string& text) {
  const auto lines = lines_of(text);
  size_t key = 0;
  while (key < lines.size() && !lines[key].starts_with("latency:")) ++key;
  size_t after = key + 1;
  while (after < lines.size() && (lines[after].empty() || lines[after][0] == ' ')) ++after;
  return {std::vector<std::string>(lines.begin(), lines.begin() + static_cast<long>(key)),
          std::vector<std::string>(lines.begin() + static_cast<long>(after), lines.end())};
}

LatencyBlock fitted_block() {
  LatencyBlock b;
  b.coeffs[kConv] = {2.8544, 0, 51.577, 6479.3};
  b.coeffs[kDw] = {2.1888, 21.94, 2.4333, 141330, 228.6};
  b.coeffs[kPw] = {1.3599, 36.889, 4.5169, 2809.1};
  b.coeffs[kAdd] = {0, 90.955, 0, 303.62};
  b.coeffs[kPool] = {0, 23.098, 2.2586, 7.4298e-05};
  b.coeffs[kFc] = {1.8748, 0, 0, 48655};
  b.fitted = true;
  b.comments = {
      "fitted by tinynas calibrate on qemu mps2-an386 (instructions), 8 networks, 2026-01-01",
      "QEMU has no timing model: these count instructions"};
  return b;
}

TEST_F(McuYamlTest, WriteBackKeepsEveryOtherLineAndReloads) {
  const std::string shipped = std::string(TINYNAS_SOURCE_DIR) + "/configs/mcus/f412.yaml";
  const std::string shipped_text = read_file(shipped);
  const std::string path = (dir_ / "f412.yaml").string();
  write_file_atomic(path, shipped_text);
  const McuTarget before = load_mcu(path);

  const LatencyBlock block = fitted_block();
  write_mcu_latency(path, block);
  const std::string written = read_file(path);
  EXPECT_EQ(outside_latency(written), outside_latency(shipped_text));
  // Byte for byte: the text before the block and after it.
  const size_t key = shipped_text.find("\nlatency:\n") + 1;
  const size_t after = shipped_text.find("\nqemu:") + 1;
  ASSERT_NE(key, 0u);
  ASSERT_NE(after, 0u);
  EXPECT_EQ(written.substr(0, key), shipped_text.substr(0, key));
  EXPECT_TRUE(written.ends_with(shipped_text.substr(after)));
  EXPECT_NE(written.find(
                "\n  # fitted by tinynas calibrate on qemu mps2-an386 (instructions), 8 networks, "
                "2026-01-01\n  # QEMU has no timing model: these count instructions\n"
                "  fitted: true\n"),
            std::string::npos)
      << written;
  EXPECT_NE(written.find("  depthwise: {per_mac: 2.1888, per_output: 21.94, per_input: 2.4333, "
                         "per_channel: 228.6, per_op: 141330}\n"),
            std::string::npos)
      << written;

  const McuTarget after_mcu = load_mcu(path);
  EXPECT_TRUE(after_mcu.latency_fitted);
  for (int k = 0; k < kNumOpKinds; ++k) {
    const OpLatencyCoeffs& a = after_mcu.latency[static_cast<size_t>(k)];
    const OpLatencyCoeffs& b = block.coeffs[static_cast<size_t>(k)];
    EXPECT_EQ(a.per_mac, b.per_mac) << k;
    EXPECT_EQ(a.per_output, b.per_output) << k;
    EXPECT_EQ(a.per_input, b.per_input) << k;
    EXPECT_EQ(a.per_op, b.per_op) << k;
    EXPECT_EQ(a.per_channel, b.per_channel) << k;
  }
  EXPECT_EQ(after_mcu.name, before.name);
  EXPECT_EQ(after_mcu.clock_hz, before.clock_hz);
  EXPECT_EQ(after_mcu.kernel_code_bytes, before.kernel_code_bytes);
  EXPECT_EQ(after_mcu.qemu_machine, before.qemu_machine);

  // A second calibration replaces the first block (its comments included).
  LatencyBlock again = block;
  again.coeffs[kAdd].per_op = 250;
  again.comments = {"fitted again"};
  write_mcu_latency(path, again);
  const std::string rewritten = read_file(path);
  EXPECT_EQ(rewritten.find("2026-01-01"), std::string::npos);
  EXPECT_NE(rewritten.find("  # fitted again\n  fitted: true\n"), std::string::npos);
  EXPECT_EQ(outside_latency(rewritten), outside_latency(shipped_text));
  EXPECT_EQ(load_mcu(path).latency[kAdd].per_op, 250);
  // The shipped file is never touched.
  EXPECT_EQ(read_file(shipped), shipped_text);
  // No temporary files are left beside it.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST_F(McuYamlTest, ReplacesOddlyShapedBlocks) {
  LatencyBlock b;
  b.fitted = true;
  b.comments = {"x"};
  // CRLF, a key-line comment, a column-0 comment inside the block, four-space
  // indentation, a trailing comment block and no final newline.
  const std::string text =
      "name: t\r\n# about latency\r\nlatency:   # the model\r\n    fitted: false\r\n# inside\r\n"
      "    conv2d: {per_mac: 1}\r\n\r\n# after\r\nqemu: {machine: m}";
  const std::string out = replace_latency_block(text, b, "t.yaml");
  EXPECT_TRUE(out.starts_with(
      "name: t\r\n# about latency\r\nlatency:   # the model\r\n    # x\r\n"
      "    fitted: true\r\n    conv2d: {per_mac: 0, per_output: 0, per_input: 0, per_channel: 0, "
      "per_op: 0}\r\n"))
      << out;
  EXPECT_TRUE(
      out.ends_with("    fully_connected: {per_mac: 0, per_output: 0, per_input: 0, per_channel: 0, "
                    "per_op: 0}\r\n"
                    "\r\n# after\r\nqemu: {machine: m}"))
      << out;
  EXPECT_EQ(out.find("# inside"), std::string::npos);
  // A flow-style block at the end of a file without a final newline.
  const std::string flow = replace_latency_block("a: 1\nlatency: {fitted: false}", b, "f.yaml");
  EXPECT_TRUE(flow.starts_with("a: 1\nlatency:\n  # x\n  fitted: true\n")) << flow;
  EXPECT_TRUE(flow.ends_with("per_op: 0}")) << flow;
  // A flow mapping continued at column 0 (found by the mcu_yaml fuzz target,
  // tests/fuzz/corpus/mcu_yaml/crash_multiline_flow_in_latency_block.yaml):
  // the continuation belongs to the block, the next key does not.
  const std::string cont = replace_latency_block("latency:\n  conv2d: {per_mac: 1,\nper_op: 2}\nqemu: {m: x}\n", b,
                                                 "c.yaml");
  EXPECT_EQ(cont.find("per_op: 2}"), std::string::npos) << cont;
  EXPECT_TRUE(cont.ends_with("per_op: 0}\nqemu: {m: x}\n")) << cont;
}

TEST_F(McuYamlTest, ErrorsNameTheFile) {
  LatencyBlock b;
  EXPECT_EQ(error_of([&] { replace_latency_block("name: x\nlatency_ms: 3\n", b, "x.yaml"); }),
            "x.yaml: no top-level `latency:` block to replace");
  EXPECT_NE(error_of([&] {
              replace_latency_block("latency:\n  a: 1\nlatency:\n  b: 2\n", b, "d.yaml");
            }).find("d.yaml:3: a second top-level `latency:` key"),
            std::string::npos);
  b.coeffs[kAdd].per_op = -1;
  EXPECT_NE(error_of([&] {
              replace_latency_block("latency:\n", b, "n.yaml");
            }).find("must be finite and >= 0"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              write_mcu_latency((dir_ / "missing.yaml").string(), LatencyBlock{});
            }).find("missing.yaml: cannot read"),
            std::string::npos);
}

TEST(McuYaml, FormatsCoefficientsShortAndExact) {
  EXPECT_EQ(format_coefficient(0), "0");
  EXPECT_EQ(format_coefficient(-0.0), "0");
  EXPECT_EQ(format_coefficient(1.25), "1.25");
  EXPECT_EQ(format_coefficient(141330), "141330");
  EXPECT_EQ(format_coefficient(3.1e-05), "3.1e-05");
}

}  // namespace
}  // namespace tinynas::evaluator
