// Deterministic stand-ins for the supernet in the search tests: a synthetic
// accuracy with a clear optimum under a budget, and an evaluator that counts
// what it is asked.
#pragma once

#include <cstdint>
#include <vector>

#include "core/arch.h"
#include "core/rng.h"
#include "search/evolution.h"

namespace tinynas::test {

// Grows with resolution, depth, kernel and expand (so the budget binds), plus
// fixed pseudo-random bonuses per (stage, slot, kernel) and (stage, slot,
// expand), so that which of the fitting subnets is best is not just "the
// largest". Additive in the genes: a linear predictor can learn it exactly.
inline double synthetic_accuracy(const ArchSpec& a) {
  double acc = 0.3 + 0.0005 * a.resolution;
  for (size_t s = 1; s < a.stages.size(); ++s) {
    for (size_t j = 0; j < a.stages[s].blocks.size(); ++j) {
      const BlockSpec& b = a.stages[s].blocks[j];
      const uint64_t hk = derive_seed(7, s * 16 + j, static_cast<uint64_t>(b.kernel));
      const uint64_t he = derive_seed(8, s * 16 + j, static_cast<uint64_t>(b.expand));
      acc += 0.004 * b.kernel / 7.0 + 0.004 * b.expand / 6.0 +
             0.005 * static_cast<double>(hk >> 11) * 0x1.0p-53 +
             0.005 * static_cast<double>(he >> 11) * 0x1.0p-53;
    }
  }
  return acc;
}

// A shorter search than MCUNet's (its defaults are tested separately).
inline SearchOptions small_search(uint64_t seed = 1) {
  SearchOptions o;
  o.population = 40;
  o.parents = 10;
  o.mutation_count = 20;
  o.crossover_count = 20;
  o.generations = 8;
  o.seed = seed;
  return o;
}

// Counts calls and architectures; remembers every architecture it saw.
class CountingEvaluator : public AccuracyEvaluator {
 public:
  std::vector<double> evaluate(const std::vector<ArchSpec>& archs) override {
    ++calls;
    std::vector<double> out;
    for (const ArchSpec& a : archs) {
      seen.push_back(a);
      out.push_back(synthetic_accuracy(a));
    }
    return out;
  }
  int64_t calls = 0;
  std::vector<ArchSpec> seen;
};

}  // namespace tinynas::test
