#include "datasets/transforms.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace tinynas::datasets {

Normalization default_normalization(PixelType type) {
  if (type == PixelType::kInt8) return {{0.0f}, {1.0f}};
  // (v/255 - 128/255) / (127.5/255) = (v - 128) / 127.5.
  return {{128.0f / 255.0f}, {127.5f / 255.0f}};
}

Normalization imagenet_normalization() { return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}}; }

void validate_transform(const TransformOptions& o) {
  auto fail = [](const std::string& what) { throw Error("transform: " + what); };
  if (o.height < 1 || o.width < 1 || o.height > 4096 || o.width > 4096)
    fail("output size " + std::to_string(o.height) + "x" + std::to_string(o.width) + " is not in 1..4096");
  if (!(o.scale_min > 0 && o.scale_min <= o.scale_max && o.scale_max <= 1))
    fail("crop scale must satisfy 0 < min <= max <= 1, got " + std::to_string(o.scale_min) + ".." +
         std::to_string(o.scale_max));
  if (!(o.ratio_min > 0 && o.ratio_min <= o.ratio_max))
    fail("crop ratio must satisfy 0 < min <= max, got " + std::to_string(o.ratio_min) + ".." +
         std::to_string(o.ratio_max));
  if (!(o.center_crop > 0 && o.center_crop <= 1))
    fail("centre crop fraction must be in (0, 1], got " + std::to_string(o.center_crop));
}

CropBox random_resized_crop(int32_t src_height, int32_t src_width, const TransformOptions& o, Rng& rng) {
  CropBox box;
  const double area = static_cast<double>(src_height) * src_width;
  const double log_lo = std::log(o.ratio_min), log_hi = std::log(o.ratio_max);
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    const double target = area * (o.scale_min + (o.scale_max - o.scale_min) * rng.uniform01());
    const double ratio = std::exp(log_lo + (log_hi - log_lo) * rng.uniform01());
    const auto w = static_cast<int32_t>(std::lround(std::sqrt(target * ratio)));
    const auto h = static_cast<int32_t>(std::lround(std::sqrt(target / ratio)));
    if (w >= 1 && h >= 1 && w <= src_width && h <= src_height) {
      box.width = w;
      box.height = h;
      box.x = static_cast<int32_t>(rng.uniform(static_cast<uint32_t>(src_width - w + 1)));
      box.y = static_cast<int32_t>(rng.uniform(static_cast<uint32_t>(src_height - h + 1)));
      found = true;
    }
  }
  if (!found) {
    // Ten misses happen for extreme ratios on narrow images: fall back to the
    // whole image, cut to the nearest allowed ratio, centred.
    const double in_ratio = static_cast<double>(src_width) / src_height;
    int32_t w = src_width, h = src_height;
    if (in_ratio < o.ratio_min) h = std::clamp<int32_t>(static_cast<int32_t>(std::lround(w / o.ratio_min)), 1, src_height);
    else if (in_ratio > o.ratio_max) w = std::clamp<int32_t>(static_cast<int32_t>(std::lround(h * o.ratio_max)), 1, src_width);
    box = {(src_width - w) / 2, (src_height - h) / 2, w, h, false};
  }
  box.flip = rng.uniform01() < 0.5 && o.flip;  // always drawn: the stream's length does not depend on `flip`
  return box;
}

CropBox center_crop(int32_t src_height, int32_t src_width, int32_t out_height, int32_t out_width, double fraction) {
  const double aspect = static_cast<double>(out_width) / out_height;
  double w = src_width, h = src_height;
  if (w / h > aspect) w = h * aspect;
  else h = w / aspect;
  const int32_t cw = std::clamp<int32_t>(static_cast<int32_t>(std::lround(w * fraction)), 1, src_width);
  const int32_t ch = std::clamp<int32_t>(static_cast<int32_t>(std::lround(h * fraction)), 1, src_height);
  return {(src_width - cw) / 2, (src_height - ch) / 2, cw, ch, false};
}

namespace {

// Source position of each output column (or row): the two neighbours and the
// weight of the second. Pixel centres are aligned (torchvision's
// align_corners=False), and positions are clamped to the crop so its edge
// pixels repeat instead of pulling in what lies outside it.
struct Tap {
  int32_t lo, hi;
  float frac;
};

void make_taps(int32_t start, int32_t length, int32_t out, std::vector<Tap>* taps) {
  taps->resize(static_cast<size_t>(out));
  const double step = static_cast<double>(length) / out;
  const double last = start + length - 1;
  for (int32_t o = 0; o < out; ++o) {
    const double s = std::clamp(start + (o + 0.5) * step - 0.5, static_cast<double>(start), last);
    const double lo = std::floor(s);
    (*taps)[static_cast<size_t>(o)] = {static_cast<int32_t>(lo),
                                       static_cast<int32_t>(std::min(lo + 1, last)),
                                       static_cast<float>(s - lo)};
  }
}

template <typename T>
void resample(const Image& image, const std::vector<Tap>& xs, const std::vector<Tap>& ys, bool flip,
              const float* scale, const float* shift, float* out) {
  const auto* src = reinterpret_cast<const T*>(image.data.data());
  const int32_t c_count = image.channels;
  const size_t row_stride = static_cast<size_t>(image.width) * static_cast<size_t>(c_count);
  const int32_t ow = static_cast<int32_t>(xs.size()), oh = static_cast<int32_t>(ys.size());
  const size_t plane = static_cast<size_t>(ow) * static_cast<size_t>(oh);
  for (int32_t oy = 0; oy < oh; ++oy) {
    const Tap& ty = ys[static_cast<size_t>(oy)];
    const T* r0 = src + static_cast<size_t>(ty.lo) * row_stride;
    const T* r1 = src + static_cast<size_t>(ty.hi) * row_stride;
    float* row = out + static_cast<size_t>(oy) * static_cast<size_t>(ow);
    for (int32_t ox = 0; ox < ow; ++ox) {
      const Tap& tx = xs[static_cast<size_t>(ox)];
      const size_t a = static_cast<size_t>(tx.lo) * c_count, b = static_cast<size_t>(tx.hi) * c_count;
      // Mirroring writes column ox to ow-1-ox: the flipped output is exactly
      // the unflipped one reversed, with no second resampling.
      const size_t dst = static_cast<size_t>(flip ? ow - 1 - ox : ox);
      for (int32_t c = 0; c < c_count; ++c) {
        // a + f * (b - a) rather than (1-f) a + f b: exact when a == b, so a
        // constant image stays exactly constant.
        const float p00 = r0[a + c], p01 = r0[b + c], p10 = r1[a + c], p11 = r1[b + c];
        const float top = p00 + tx.frac * (p01 - p00);
        const float bottom = p10 + tx.frac * (p11 - p10);
        const float v = top + ty.frac * (bottom - top);
        row[static_cast<size_t>(c) * plane + dst] = v * scale[c] + shift[c];
      }
    }
  }
}

}  // namespace

void crop_resize_normalize(const Image& image, const CropBox& box, int32_t out_height, int32_t out_width,
                           const Normalization& norm, float* out) {
  if (box.width < 1 || box.height < 1 || box.x < 0 || box.y < 0 || box.x + box.width > image.width ||
      box.y + box.height > image.height)
    throw Error("transform: crop " + std::to_string(box.width) + "x" + std::to_string(box.height) + " at (" +
                std::to_string(box.x) + ", " + std::to_string(box.y) + ") is not inside the " +
                std::to_string(image.width) + "x" + std::to_string(image.height) + " image");
  if (out_height < 1 || out_width < 1) throw Error("transform: empty output size");
  const int32_t c_count = image.channels;
  if (c_count < 1 || c_count > 16) throw Error("transform: image with " + std::to_string(c_count) + " channels");
  if (image.data.size() != static_cast<size_t>(image.height) * image.width * c_count)
    throw Error("transform: image data does not match its size");
  auto per_channel = [&](const std::vector<float>& v, const char* what) {
    if (v.size() != 1 && v.size() != static_cast<size_t>(c_count))
      throw Error(std::string("transform: normalisation ") + what + " has " + std::to_string(v.size()) +
                  " values for an image of " + std::to_string(c_count) + " channels");
  };
  per_channel(norm.mean, "mean");
  per_channel(norm.std, "std");

  // x = v * unit; (x - mean) / std = v * (unit / std) - mean / std.
  const float unit = image.type == PixelType::kInt8 ? 1.0f / 128.0f : 1.0f / 255.0f;
  float scale[16], shift[16];
  for (int32_t c = 0; c < c_count; ++c) {
    const float m = norm.mean[norm.mean.size() == 1 ? 0 : static_cast<size_t>(c)];
    const float s = norm.std[norm.std.size() == 1 ? 0 : static_cast<size_t>(c)];
    if (!(s > 0)) throw Error("transform: normalisation std must be positive");
    scale[c] = unit / s;
    shift[c] = -m / s;
  }
  // Thread-local so that a worker reuses its tables across samples.
  thread_local std::vector<Tap> xs, ys;
  make_taps(box.x, box.width, out_width, &xs);
  make_taps(box.y, box.height, out_height, &ys);
  if (image.type == PixelType::kInt8) resample<int8_t>(image, xs, ys, box.flip, scale, shift, out);
  else resample<uint8_t>(image, xs, ys, box.flip, scale, shift, out);
}

void apply_transform(const Image& image, const TransformOptions& options, Rng& rng, float* out) {
  const CropBox box = options.train ? random_resized_crop(image.height, image.width, options, rng)
                                    : center_crop(image.height, image.width, options.height, options.width,
                                                  options.center_crop);
  static const Normalization kUint8Default = default_normalization(PixelType::kUint8);
  static const Normalization kInt8Default = default_normalization(PixelType::kInt8);
  const Normalization& norm = options.normalization ? *options.normalization
                              : image.type == PixelType::kInt8 ? kInt8Default
                                                                : kUint8Default;
  crop_resize_normalize(image, box, options.height, options.width, norm, out);
}

}  // namespace tinynas::datasets
