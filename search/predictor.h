// Accuracy predictor for the search: ridge regression on a one-hot encoding of
// the genome, fitted on the (architecture, accuracy) pairs measured so far, so
// that evolution can pre-screen children and spend the evaluator (supernet
// inference, seconds per subnet) only on promising ones. Plus the two rank
// correlations used to judge it (Kendall's tau-b, Spearman's rho).
//
// Features (num_features() columns): for every gene with more than one choice
// (width, resolution, each stage's depth, each slot's kernel and expand) one
// column per choice, 1 for the chosen one. The kernel and expand columns of a
// slot beyond its stage's depth are all 0, so the inactive genes never matter
// and two genomes of the same architecture get the same features. The patch
// genes (a space with a `patch:` setting) get none: patching changes the
// memory schedule, not the network.
//
// Fit: columns and targets are centred, then (X'X + ridge I) w = X'y is solved
// by Eigen's LDLT; the intercept is the mean. Cost: O(n f^2 + f^3) for n
// pairs and f features (f ~ 150 for the MCUNet space: a few ms for n = 3000);
// a prediction is O(f).
#pragma once

#include <cstdint>
#include <vector>

#include "core/search_space.h"

namespace tinynas {

class AccuracyPredictor {
 public:
  explicit AccuracyPredictor(const SearchSpace& space, double ridge = 1.0);

  int32_t num_features() const { return num_features_; }
  // The one-hot row of `genome` (num_features() values).
  std::vector<double> features(const Genome& genome) const;

  // Throws tinynas::Error when the sizes differ or there are no pairs.
  void fit(const std::vector<Genome>& genomes, const std::vector<double>& accuracies);
  bool fitted() const { return fitted_; }
  // Throws tinynas::Error before fit().
  double predict(const Genome& genome) const;
  std::vector<double> predict(const std::vector<Genome>& genomes) const;

 private:
  struct Gene {
    int32_t column = -1;    // first column; -1 when the gene has one choice
    int32_t depth_gene = -1;  // for a slot's gene: its stage's depth gene
    int32_t slot = 0;       // for a slot's gene: its position in the stage
  };
  // Calls f(column) for each active one-hot column of `genome`.
  template <typename F>
  void for_each_column(const Genome& genome, F&& f) const;

  SearchSpace space_;
  double ridge_;
  std::vector<Gene> genes_;
  int32_t num_features_ = 0;
  std::vector<double> weights_;
  double intercept_ = 0;
  bool fitted_ = false;
};

// Kendall's tau-b of two equally long samples (ties in either counted as
// neither concordant nor discordant; tau-b's correction). NaN when n < 2 or a
// sample is constant. O(n^2).
double kendall_tau(const std::vector<double>& a, const std::vector<double>& b);
// Spearman's rho: Pearson correlation of the ranks (ties get their mean
// rank). NaN when n < 2 or a sample is constant. O(n log n).
double spearman_rho(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace tinynas
