#include "search/predictor.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include <Eigen/Dense>

#include "core/error.h"

namespace tinynas {

AccuracyPredictor::AccuracyPredictor(const SearchSpace& space, double ridge)
    : space_(space), ridge_(ridge) {
  if (!(ridge >= 0)) throw Error("predictor: ridge must be >= 0");
  genes_.resize(genome_length(space));
  // Layout (core/search_space.h): width, resolution, then per stage its depth
  // gene and (kernel, expand) per slot.
  int32_t column = 0;
  auto place = [&](size_t i) {
    const int32_t n = gene_cardinality(space, i);
    if (n > 1) {
      genes_[i].column = column;
      column += n;
    }
  };
  place(0);
  place(1);
  size_t i = 2;
  for (const StageChoices& stage : space.stages) {
    const size_t depth_gene = i;
    place(i++);
    const int32_t max_depth = *std::max_element(stage.depths.begin(), stage.depths.end());
    for (int32_t slot = 0; slot < max_depth; ++slot) {
      for (int g = 0; g < 2; ++g, ++i) {
        genes_[i].depth_gene = static_cast<int32_t>(depth_gene);
        genes_[i].slot = slot;
        place(i);
      }
    }
  }
  // The patch genes, when the space has them, get no columns: patching
  // leaves the network, and so its accuracy, unchanged.
  num_features_ = column;
}

template <typename F>
void AccuracyPredictor::for_each_column(const Genome& genome, F&& f) const {
  if (genome.genes.size() != genes_.size())
    throw Error("predictor: genome of length " + std::to_string(genome.genes.size()) +
                ", the space's is " + std::to_string(genes_.size()));
  int32_t depth = 0;
  size_t stage = 0;
  for (size_t i = 0; i < genes_.size(); ++i) {
    const Gene& g = genes_[i];
    if (i >= 2 && g.depth_gene < 0 && stage < space_.stages.size()) {  // a stage's depth gene
      depth = space_.stages[stage++].depths[static_cast<size_t>(genome.genes[i])];
    }
    if (g.column < 0) continue;
    if (g.depth_gene >= 0 && g.slot >= depth) continue;  // inactive slot: all zero
    f(g.column + genome.genes[i]);
  }
}

std::vector<double> AccuracyPredictor::features(const Genome& genome) const {
  std::vector<double> row(static_cast<size_t>(num_features_), 0.0);
  for_each_column(genome, [&](int32_t c) { row[static_cast<size_t>(c)] = 1.0; });
  return row;
}

void AccuracyPredictor::fit(const std::vector<Genome>& genomes,
                            const std::vector<double>& accuracies) {
  if (genomes.size() != accuracies.size())
    throw Error("predictor: " + std::to_string(genomes.size()) + " genomes but " +
                std::to_string(accuracies.size()) + " accuracies");
  if (genomes.empty()) throw Error("predictor: nothing to fit");
  const Eigen::Index n = static_cast<Eigen::Index>(genomes.size());
  const Eigen::Index f = num_features_;
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(n, f);
  for (Eigen::Index r = 0; r < n; ++r)
    for_each_column(genomes[static_cast<size_t>(r)], [&](int32_t c) { x(r, c) = 1.0; });
  const Eigen::VectorXd y = Eigen::Map<const Eigen::VectorXd>(accuracies.data(), n);
  const Eigen::RowVectorXd x_mean = x.colwise().mean();
  const double y_mean = y.mean();
  x.rowwise() -= x_mean;
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(f, f);
  gram.selfadjointView<Eigen::Lower>().rankUpdate(x.transpose());
  gram.diagonal().array() += std::max(ridge_, 1e-12);  // keep it solvable at ridge 0
  const Eigen::VectorXd rhs = x.transpose() * (y.array() - y_mean).matrix();
  const Eigen::VectorXd w = gram.selfadjointView<Eigen::Lower>().ldlt().solve(rhs);
  weights_.assign(w.data(), w.data() + f);
  intercept_ = y_mean - x_mean.dot(w);
  fitted_ = true;
}

double AccuracyPredictor::predict(const Genome& genome) const {
  if (!fitted_) throw Error("predictor: predict() before fit()");
  double v = intercept_;
  for_each_column(genome, [&](int32_t c) { v += weights_[static_cast<size_t>(c)]; });
  return v;
}

std::vector<double> AccuracyPredictor::predict(const std::vector<Genome>& genomes) const {
  std::vector<double> out;
  out.reserve(genomes.size());
  for (const Genome& g : genomes) out.push_back(predict(g));
  return out;
}

namespace {

void check_pair(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
  if (a.size() != b.size())
    throw Error(std::string(what) + ": samples of different lengths (" +
                std::to_string(a.size()) + " and " + std::to_string(b.size()) + ")");
}

int sign(double v) { return (v > 0) - (v < 0); }

// Ranks 1..n, ties sharing their mean rank.
std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return v[i] < v[j]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double mean_rank = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) r[order[k]] = mean_rank;
    i = j + 1;
  }
  return r;
}

}  // namespace

double kendall_tau(const std::vector<double>& a, const std::vector<double>& b) {
  check_pair(a, b, "kendall_tau");
  const size_t n = a.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (n < 2) return nan;
  int64_t concordant_minus_discordant = 0, untied_a = 0, untied_b = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const int sa = sign(a[i] - a[j]);
      const int sb = sign(b[i] - b[j]);
      concordant_minus_discordant += sa * sb;
      untied_a += sa != 0;
      untied_b += sb != 0;
    }
  }
  if (untied_a == 0 || untied_b == 0) return nan;
  return static_cast<double>(concordant_minus_discordant) /
         std::sqrt(static_cast<double>(untied_a) * static_cast<double>(untied_b));
}

double spearman_rho(const std::vector<double>& a, const std::vector<double>& b) {
  check_pair(a, b, "spearman_rho");
  const size_t n = a.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (n < 2) return nan;
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double mean = 0.5 * static_cast<double>(n + 1);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    const double da = ra[i] - mean, db = rb[i] - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa == 0 || sbb == 0) return nan;
  return sab / std::sqrt(saa * sbb);
}

}  // namespace tinynas
