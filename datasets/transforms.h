// Transforms: one decoded image -> the float CHW tensor a network takes.
// Training draws a random resized crop (Inception-style: area fraction and
// aspect ratio) and a horizontal flip; evaluation takes a centre crop. Both
// then resize bilinearly to the output size (resolution is a searched
// parameter, so any size) and normalise per channel, in one pass over the
// output (crop, resize, flip and normalisation are fused; no intermediate
// image). Cost: about 8 multiply-adds per output element.
//
// Value convention: element v becomes x = v / 255 (uint8) or v / 128 (int8),
// then (x - mean[c]) / std[c]. The default normalisation maps uint8 v to
// (v - 128) / 127.5 in [-1.004, 1], which is exactly the float meaning of an
// int8 input q = v - 128 with scale 1/127.5 and zero point 0: what firmware
// feeds a quantised model from a camera's uint8 pixels, per tensor, so deploy
// needs no per-channel input arithmetic. int8 data (KWS) defaults to v / 128.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/rng.h"
#include "datasets/dataset.h"

namespace tinynas::datasets {

// Per channel; a single value applies to every channel.
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;
};

// (v - 128) / 127.5 for uint8 images; v / 128 for int8 (see above).
Normalization default_normalization(PixelType type);
// torchvision's ImageNet statistics (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225).
Normalization imagenet_normalization();

struct TransformOptions {
  bool train = true;  // random resized crop + flip; false: centre crop
  int32_t height = 32;
  int32_t width = 32;
  // Random resized crop: area fraction of the source and aspect ratio (w/h,
  // drawn log-uniformly), up to 10 tries, then the centre crop of the
  // clamped ratio (as torchvision does).
  double scale_min = 0.08;
  double scale_max = 1.0;
  double ratio_min = 3.0 / 4.0;
  double ratio_max = 4.0 / 3.0;
  bool flip = true;  // train: mirror with probability 1/2
  // Eval: the crop is the largest region of the output's aspect ratio times
  // this fraction of it (0.875 is the ImageNet habit; 1 keeps the whole image
  // of a square source).
  double center_crop = 1.0;
  std::optional<Normalization> normalization;  // unset: default_normalization
};

// Throws tinynas::Error("transform: ...") for an empty or huge output size, a
// scale or ratio range that is empty or out of bounds, or a bad crop fraction.
void validate_transform(const TransformOptions& options);

// A crop of the source in whole pixels, and whether the output is mirrored.
struct CropBox {
  int32_t x = 0;
  int32_t y = 0;
  int32_t width = 0;
  int32_t height = 0;
  bool flip = false;
};

// Draws the crop from rng (always the same number of draws per attempt, in a
// fixed order, so a seed gives the same crop anywhere).
CropBox random_resized_crop(int32_t src_height, int32_t src_width, const TransformOptions& options, Rng& rng);
CropBox center_crop(int32_t src_height, int32_t src_width, int32_t out_height, int32_t out_width,
                    double fraction);

// Resizes `box` of `image` bilinearly to out_height x out_width (pixel centres
// aligned, samples clamped to the box), mirrors it when box.flip, normalises,
// and writes channels x out_height x out_width floats to `out`. A mirrored
// output is exactly the unmirrored one reversed along x. Throws tinynas::Error
// when the box is not inside the image or the normalisation has the wrong
// number of channels.
void crop_resize_normalize(const Image& image, const CropBox& box, int32_t out_height, int32_t out_width,
                           const Normalization& normalization, float* out);

// The whole transform: the crop (random or centre) from options, then
// crop_resize_normalize. out holds image.channels x options.height x options.width.
void apply_transform(const Image& image, const TransformOptions& options, Rng& rng, float* out);

}  // namespace tinynas::datasets
