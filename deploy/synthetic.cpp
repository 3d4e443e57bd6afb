// Seeded synthetic images: what calibration and board runs use when no data
// set is given (e.g. `tinynas deploy --random-weights` on any architecture).
#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/rng.h"
#include "deploy/deploy.h"

namespace tinynas::deploy {

std::vector<std::vector<float>> synthetic_images(const ArchSpec& arch, int32_t count,
                                                 uint64_t seed) {
  // Each channel is a sum of a few random low-frequency waves plus a little
  // noise: image-like spatial correlation, so activations have realistic
  // ranges, unlike white noise.
  constexpr int kWaves = 3;
  const int32_t r = arch.resolution, channels = arch.in_channels;
  std::vector<std::vector<float>> images(static_cast<size_t>(count));
  for (int32_t n = 0; n < count; ++n) {
    Rng rng(derive_seed(seed, 0x51A7u, static_cast<uint64_t>(n)));
    struct Wave {
      double fx, fy, phase, amplitude;
    };
    std::vector<Wave> waves(static_cast<size_t>(channels) * kWaves);
    for (auto& w : waves) {
      w.fx = 0.5 + 3.0 * rng.uniform01();
      w.fy = 0.5 + 3.0 * rng.uniform01();
      w.phase = 2 * std::numbers::pi * rng.uniform01();
      w.amplitude = 0.2 + 0.3 * rng.uniform01();
    }
    auto& img = images[static_cast<size_t>(n)];
    img.resize(static_cast<size_t>(r) * r * channels);
    for (int32_t y = 0; y < r; ++y) {
      for (int32_t x = 0; x < r; ++x) {
        for (int32_t c = 0; c < channels; ++c) {
          double v = 0;
          for (int k = 0; k < kWaves; ++k) {
            const Wave& w = waves[static_cast<size_t>(c) * kWaves + k];
            v += w.amplitude * std::sin(2 * std::numbers::pi * (w.fx * x + w.fy * y) / r + w.phase);
          }
          v += 0.1 * (rng.uniform01() - 0.5);
          img[(static_cast<size_t>(y) * r + x) * channels + c] =
              static_cast<float>(std::clamp(v, -1.0, 1.0));
        }
      }
    }
  }
  return images;
}

}  // namespace tinynas::deploy
