// The `generated` kind: procedural images for tests, smoke runs and
// benchmarks that must not depend on downloaded data.
//
// A class is a fixed combination of four attributes, each visible on its own:
// shape (ellipse, bar, triangle, open ring, L), orientation (0/45/90/135
// degrees; no shape is symmetric under those turns, and stripes show the
// angle too), hue (6) and stripe count across the shape (solid, 2, 4): 360
// classes at most. The combination of class c is entry c of a fixed shuffle
// of all 360, so even 2 classes differ in several attributes at once.
//
// Each image draws from its own stream derive_seed(seed, index): position,
// size, +-20 degree turn, hue +-20 degrees, saturation, brightness, stripe
// phase, a background grey with a tint and a gradient, 70% of the time a
// smaller distractor shape of any look, and pixel noise. Colour alone or shape
// alone does not tell the classes apart, so a small CNN has to learn the
// combination, but it can (the attributes are large at 32x32).
#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "core/rng.h"
#include "datasets/internal/readers.h"

namespace tinynas::datasets::internal {

namespace {

constexpr int kShapes = 5, kAngles = 4, kHues = 6, kStripes = 3;
constexpr int kCombinations = kShapes * kAngles * kHues * kStripes;

struct ClassLook {
  int shape = 0;
  double angle = 0;  // radians
  double hue = 0;    // degrees
  int stripes = 0;   // cycles across the shape; 0 = solid
};

// Class c's look: the c-th entry of a shuffle with a fixed seed, so it does
// not depend on the data set's seed (train and test sets share classes).
ClassLook class_look(int32_t c) {
  static const std::array<int, kCombinations> order = [] {
    std::array<int, kCombinations> o{};
    for (int i = 0; i < kCombinations; ++i) o[static_cast<size_t>(i)] = i;
    Rng rng(0x6C6F6F6Bull);  // "look"
    for (int i = kCombinations - 1; i > 0; --i)
      std::swap(o[static_cast<size_t>(i)], o[rng.uniform(static_cast<uint32_t>(i + 1))]);
    return o;
  }();
  int k = order[static_cast<size_t>(c)];
  ClassLook look;
  look.shape = k % kShapes;
  k /= kShapes;
  look.angle = (k % kAngles) * std::numbers::pi / 4;
  k /= kAngles;
  look.hue = (k % kHues) * 60.0;
  k /= kHues;
  look.stripes = std::array<int, 3>{0, 2, 4}[static_cast<size_t>(k)];
  return look;
}

double box(double u, double v, double cu, double cv, double hu, double hv) {
  return std::max(std::abs(u - cu) - hu, std::abs(v - cv) - hv);
}

// Signed distance (negative inside) of a shape in its own frame, where the
// shape spans about [-1, 1]; scaled by the radius later for anti-aliasing.
double shape_distance(int shape, double u, double v) {
  switch (shape) {
    case 0:  // ellipse, long axis along u
      return (std::hypot(u, v / 0.55) - 1.0) * 0.55;
    case 1:  // bar
      return box(u, v, 0, 0, 1.0, 0.45);
    case 2: {  // triangle pointing along +u
      const double d = std::max(-u, 0.5 * u + 0.8660254 * std::abs(v));
      return d - 0.55;
    }
    case 3: {  // ring open towards +u
      const double r = std::hypot(u, v);
      const double ring = std::abs(r - 0.72) - 0.24;
      const double gap = (0.65 - std::abs(std::atan2(v, u))) * r;  // > 0 inside the gap
      return std::max(ring, gap);
    }
    default:  // L: a vertical and a horizontal bar
      return std::min(box(u, v, -0.6, 0.0, 0.28, 0.9), box(u, v, 0.0, -0.62, 0.9, 0.28));
  }
}

std::array<double, 3> hsv_to_rgb(double hue, double sat, double val) {
  hue = std::fmod(hue + 360.0, 360.0) / 60.0;
  const int sector = static_cast<int>(hue) % 6;
  const double f = hue - std::floor(hue);
  const double p = val * (1 - sat), q = val * (1 - sat * f), t = val * (1 - sat * (1 - f));
  switch (sector) {
    case 0: return {val, t, p};
    case 1: return {q, val, p};
    case 2: return {p, val, t};
    case 3: return {p, q, val};
    case 4: return {t, p, val};
    default: return {val, p, q};
  }
}

struct Placed {
  int shape;
  double cx, cy, radius, cos_a, sin_a;
  std::array<double, 3> colour;
  int stripes;
  double phase;
};

Placed place(int shape, double cx, double cy, double radius, double angle, std::array<double, 3> colour,
             int stripes, double phase) {
  return {shape, cx, cy, radius, std::cos(angle), std::sin(angle), colour, stripes, phase};
}

// Paints `p` over `rgb` (floats in [0, 1], HWC) with one-pixel anti-aliasing.
void paint(const Placed& p, int32_t res, std::vector<double>& rgb) {
  for (int32_t y = 0; y < res; ++y) {
    for (int32_t x = 0; x < res; ++x) {
      const double dx = (x + 0.5 - p.cx) / p.radius, dy = (y + 0.5 - p.cy) / p.radius;
      const double u = dx * p.cos_a + dy * p.sin_a, v = -dx * p.sin_a + dy * p.cos_a;
      const double alpha = std::clamp(0.5 - shape_distance(p.shape, u, v) * p.radius, 0.0, 1.0);
      if (alpha <= 0) continue;
      double shade = 1.0;
      if (p.stripes > 0)
        shade = 0.55 + 0.45 * std::cos(2 * std::numbers::pi * (p.stripes * (u + 1) / 2 + p.phase));
      double* px = &rgb[(static_cast<size_t>(y) * res + x) * 3];
      for (int c = 0; c < 3; ++c) px[c] += alpha * (p.colour[static_cast<size_t>(c)] * shade - px[c]);
    }
  }
}

Image render(int32_t label, int32_t res, Rng& rng) {
  const ClassLook look = class_look(label);
  std::vector<double> rgb(static_cast<size_t>(res) * res * 3);

  // Background: a grey with a slight tint and a linear gradient.
  const double grey = 0.25 + 0.5 * rng.uniform01();
  std::array<double, 3> tint{};
  for (double& t : tint) t = (rng.uniform01() - 0.5) * 0.16;
  const double g_angle = rng.uniform01() * 2 * std::numbers::pi, g_amp = (rng.uniform01() - 0.5) * 0.3;
  for (int32_t y = 0; y < res; ++y)
    for (int32_t x = 0; x < res; ++x) {
      const double t = ((x + 0.5) / res - 0.5) * std::cos(g_angle) + ((y + 0.5) / res - 0.5) * std::sin(g_angle);
      for (int c = 0; c < 3; ++c)
        rgb[(static_cast<size_t>(y) * res + x) * 3 + c] = grey + tint[static_cast<size_t>(c)] + g_amp * t;
    }

  // Most images carry a smaller distractor of any shape, colour and stripes.
  if (rng.uniform01() < 0.7) {
    const int shape = static_cast<int>(rng.uniform(kShapes));
    const double cx = res * (0.1 + 0.8 * rng.uniform01()), cy = res * (0.1 + 0.8 * rng.uniform01());
    const double radius = res * (0.08 + 0.08 * rng.uniform01());
    const double angle = rng.uniform01() * 2 * std::numbers::pi;
    const auto colour = hsv_to_rgb(rng.uniform01() * 360, 0.3 + 0.7 * rng.uniform01(), 0.3 + 0.7 * rng.uniform01());
    const int stripes = std::array<int, 3>{0, 2, 4}[rng.uniform(3)];
    paint(place(shape, cx, cy, radius, angle, colour, stripes, rng.uniform01()), res, rgb);
  }

  // The class's shape.
  const double cx = res * (0.32 + 0.36 * rng.uniform01()), cy = res * (0.32 + 0.36 * rng.uniform01());
  const double radius = res * (0.16 + 0.14 * rng.uniform01());
  // +-20 degrees of turn and hue: neighbouring orientations (45 apart) and
  // hues (60 apart) come close at the extremes.
  const double angle = look.angle + (rng.uniform01() - 0.5) * (std::numbers::pi * 2 / 9);
  const double hue = look.hue + (rng.uniform01() - 0.5) * 40;
  const auto colour = hsv_to_rgb(hue, 0.4 + 0.6 * rng.uniform01(), 0.45 + 0.55 * rng.uniform01());
  paint(place(look.shape, cx, cy, radius, angle, colour, look.stripes, rng.uniform01()), res, rgb);

  // Pixel noise: triangular, amplitude drawn per image.
  const double noise = 0.03 + 0.07 * rng.uniform01();
  Image image;
  image.height = image.width = res;
  image.channels = 3;
  image.data.resize(rgb.size());
  for (size_t i = 0; i < rgb.size(); ++i) {
    const double v = rgb[i] + noise * (rng.uniform01() + rng.uniform01() - 1.0);
    image.data[i] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
  }
  return image;
}

class GeneratedDataset final : public Dataset {
 public:
  GeneratedDataset(const DatasetSpec& spec, const DatasetOptions& options)
      : Dataset(options.skip_bad), spec_(spec) {
    for (int32_t c = 0; c < spec.classes; ++c) {
      const ClassLook look = class_look(c);
      static const char* kShapeNames[kShapes] = {"ellipse", "bar", "triangle", "ring", "L"};
      names_.push_back(std::to_string(c) + "-" + kShapeNames[look.shape] + "-" +
                       std::to_string(static_cast<int>(std::lround(look.angle * 180 / std::numbers::pi))) + "deg-hue" +
                       std::to_string(static_cast<int>(look.hue)) + "-stripes" + std::to_string(look.stripes));
    }
  }

  int64_t size() const override { return spec_.per_class * spec_.classes; }
  const std::vector<std::string>& class_names() const override { return names_; }
  int32_t height() const override { return spec_.resolution; }
  int32_t width() const override { return spec_.resolution; }
  int32_t channels() const override { return 3; }
  // Interleaved, so any prefix of the data set is balanced.
  int32_t label(int64_t i) const override { return static_cast<int32_t>(check(i) % spec_.classes); }
  Sample get(int64_t i) const override {
    constexpr uint64_t kImageStream = 0x47454E31ull;  // "GEN1"
    Rng rng(derive_seed(spec_.seed, kImageStream, static_cast<uint64_t>(check(i))));
    const int32_t c = label(i);
    return {render(c, spec_.resolution, rng), c};
  }
  std::string item_name(int64_t i) const override { return spec_.text + " #" + std::to_string(i); }
  std::string description() const override {
    return spec_.text + ": " + std::to_string(size()) + " generated images, " + std::to_string(spec_.classes) +
           " classes, " + std::to_string(spec_.resolution) + "x" + std::to_string(spec_.resolution) + "x3";
  }

 private:
  int64_t check(int64_t i) const {
    if (i < 0 || i >= size())
      throw Error(spec_.text + ": item " + std::to_string(i) + " out of range 0.." + std::to_string(size() - 1));
    return i;
  }
  DatasetSpec spec_;
  std::vector<std::string> names_;
};

}  // namespace

std::shared_ptr<const Dataset> open_generated(const DatasetSpec& spec, const DatasetOptions& options) {
  if (spec.classes > kCombinations)
    throw Error("data set '" + spec.text + "': at most " + std::to_string(kCombinations) +
                " generated classes (5 shapes x 4 angles x 6 hues x 3 stripe counts), got " +
                std::to_string(spec.classes));
  return maybe_cache(std::make_shared<GeneratedDataset>(spec, options), options.cache_bytes);
}

}  // namespace tinynas::datasets::internal
