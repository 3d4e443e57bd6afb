// The searches' accuracy stand-in of bench_search and bench_space: trivial
// and additive, growing with resolution, depth, kernel and expand, so the
// budget binds and evolution has something to climb; a hashed bonus per
// (stage, slot, kernel) and (stage, slot, expand) keeps distinct
// architectures from tying, so rankings by evaluation order and by first
// evaluation agree. It sees the network only: patching never changes it.
// Header-only; benchmarks only.
#pragma once

#include <cstdint>

#include "core/arch.h"
#include "core/rng.h"

namespace tinynas::bench {

inline double trivial_accuracy(const ArchSpec& a) {
  double acc = 0.0005 * a.resolution;
  for (size_t s = 1; s < a.stages.size(); ++s)
    for (size_t j = 0; j < a.stages[s].blocks.size(); ++j) {
      const BlockSpec& b = a.stages[s].blocks[j];
      const uint64_t hk = derive_seed(1, s * 16 + j, static_cast<uint64_t>(b.kernel));
      const uint64_t he = derive_seed(2, s * 16 + j, static_cast<uint64_t>(b.expand));
      acc += 0.004 * b.kernel / 7.0 + 0.004 * b.expand / 6.0 +
             0.005 * static_cast<double>(hk >> 11) * 0x1.0p-53 +
             0.005 * static_cast<double>(he >> 11) * 0x1.0p-53;
    }
  return acc;
}

}  // namespace tinynas::bench
