// Transforms: output shapes, exact flips, bilinear resizing (constant images
// stay exactly constant), normalisation and the crop draws.
#include "datasets/transforms.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/datasets/test_data.h"

namespace tinynas::datasets {
namespace {

using test::error_of;

Image constant(int32_t h, int32_t w, int32_t c, uint8_t v, PixelType type = PixelType::kUint8) {
  Image img;
  img.height = h, img.width = w, img.channels = c, img.type = type;
  img.data.assign(static_cast<size_t>(h) * w * c, v);
  return img;
}

const Normalization kIdentity = {{0.0f}, {1.0f}};

TEST(Transforms, OutputShapes) {
  Rng rng(1);
  const Image rgb = test::test_image(40, 30, 1);
  TransformOptions t;
  t.height = 20, t.width = 36;
  std::vector<float> out(3 * 20 * 36 + 1, -99.0f);
  apply_transform(rgb, t, rng, out.data());
  EXPECT_EQ(out.back(), -99.0f);  // wrote exactly C x H x W
  EXPECT_NE(out[3 * 20 * 36 - 1], -99.0f);
  // KWS features: 49x10x1 int8 through the eval transform at their own size.
  Image kws = constant(49, 10, 1, 0, PixelType::kInt8);
  for (size_t i = 0; i < kws.data.size(); ++i) kws.data[i] = static_cast<uint8_t>(i * 13);
  TransformOptions e;
  e.train = false;
  e.height = 49, e.width = 10;
  std::vector<float> f(490);
  apply_transform(kws, e, rng, f.data());
  for (size_t i = 0; i < f.size(); ++i) EXPECT_EQ(f[i], kws.value(i) * (1.0f / 128.0f)) << i;  // default: v / 128
}

TEST(Transforms, SameSizeWholeImageIsExactAndChw) {
  const Image img = test::test_image(5, 7, 3);
  std::vector<float> out(3 * 5 * 7);
  crop_resize_normalize(img, {0, 0, 7, 5, false}, 5, 7, kIdentity, out.data());
  for (int32_t c = 0; c < 3; ++c)
    for (int32_t y = 0; y < 5; ++y)
      for (int32_t x = 0; x < 7; ++x)
        EXPECT_EQ(out[(c * 5 + y) * 7 + x], img.at(y, x, c) * (1.0f / 255.0f));
}

TEST(Transforms, FlipIsExactlyTheMirror) {
  const Image img = test::test_image(37, 29, 5);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Rng rng(seed);
    TransformOptions t;
    CropBox box = random_resized_crop(img.height, img.width, t, rng);
    const int32_t oh = 13, ow = 17;
    std::vector<float> plain(3 * oh * ow), mirrored(3 * oh * ow);
    box.flip = false;
    crop_resize_normalize(img, box, oh, ow, imagenet_normalization(), plain.data());
    box.flip = true;
    crop_resize_normalize(img, box, oh, ow, imagenet_normalization(), mirrored.data());
    for (int32_t c = 0; c < 3; ++c)
      for (int32_t y = 0; y < oh; ++y)
        for (int32_t x = 0; x < ow; ++x)
          ASSERT_EQ(mirrored[(c * oh + y) * ow + x], plain[(c * oh + y) * ow + (ow - 1 - x)]) << seed;
  }
}

TEST(Transforms, ResizingAConstantImageKeepsItConstant) {
  struct Case {
    int32_t h, w, oh, ow;
    CropBox box;
  };
  for (const Case& k : {Case{7, 5, 32, 32, {0, 0, 5, 7}}, Case{64, 48, 13, 17, {0, 0, 48, 64}},
                        Case{96, 96, 48, 48, {10, 3, 61, 40, true}}, Case{3, 3, 224, 160, {1, 1, 2, 2}}}) {
    const Image img = constant(k.h, k.w, 3, 173);
    std::vector<float> out(3 * static_cast<size_t>(k.oh) * k.ow);
    crop_resize_normalize(img, k.box, k.oh, k.ow, kIdentity, out.data());
    for (const float v : out) ASSERT_EQ(v, 173.0f * (1.0f / 255.0f));
  }
  const Image i8 = constant(49, 10, 1, static_cast<uint8_t>(-37), PixelType::kInt8);
  std::vector<float> out(32 * 32);
  crop_resize_normalize(i8, {2, 5, 7, 30, false}, 32, 32, kIdentity, out.data());
  for (const float v : out) ASSERT_EQ(v, -37.0f * (1.0f / 128.0f));
}

TEST(Transforms, BilinearWithCentresAligned) {
  Image row = constant(1, 2, 1, 0);
  row.data = {0, 100};
  std::vector<float> up(4);
  crop_resize_normalize(row, {0, 0, 2, 1, false}, 1, 4, {{0.0f}, {1.0f / 255.0f}}, up.data());
  EXPECT_EQ(up, (std::vector<float>{0, 25, 75, 100}));
  Image four = constant(1, 4, 1, 0);
  four.data = {0, 40, 80, 120};
  std::vector<float> down(2);
  crop_resize_normalize(four, {0, 0, 4, 1, false}, 1, 2, {{0.0f}, {1.0f / 255.0f}}, down.data());
  EXPECT_EQ(down, (std::vector<float>{20, 100}));
}

TEST(Transforms, Normalisation) {
  std::vector<float> out(3);
  crop_resize_normalize(constant(1, 1, 3, 255), {0, 0, 1, 1, false}, 1, 1, {{0.5f}, {0.25f}}, out.data());
  for (const float v : out) EXPECT_NEAR(v, 2.0f, 1e-6);
  Image px = constant(1, 1, 3, 0);
  px.data = {0, 128, 255};
  crop_resize_normalize(px, {0, 0, 1, 1, false}, 1, 1, imagenet_normalization(), out.data());
  EXPECT_NEAR(out[0], (0.0 - 0.485) / 0.229, 1e-5);
  EXPECT_NEAR(out[1], (128 / 255.0 - 0.456) / 0.224, 1e-5);
  EXPECT_NEAR(out[2], (1.0 - 0.406) / 0.225, 1e-5);
  // The default maps uint8 v to (v - 128) / 127.5: the int8 input q = v - 128.
  crop_resize_normalize(px, {0, 0, 1, 1, false}, 1, 1, default_normalization(PixelType::kUint8), out.data());
  EXPECT_NEAR(out[0], -128 / 127.5, 1e-6);
  EXPECT_NEAR(out[1], 0.0, 1e-6);
  EXPECT_NEAR(out[2], 127 / 127.5, 1e-6);
}

TEST(Transforms, RandomResizedCropDraws) {
  TransformOptions t;
  int flips = 0;
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    Rng a(seed), b(seed);
    const CropBox box = random_resized_crop(100, 80, t, a);
    const CropBox again = random_resized_crop(100, 80, t, b);
    EXPECT_EQ(box.x, again.x);
    EXPECT_EQ(box.width, again.width);
    EXPECT_EQ(box.flip, again.flip);
    ASSERT_GE(box.x, 0);
    ASSERT_GE(box.y, 0);
    ASSERT_LE(box.x + box.width, 80);
    ASSERT_LE(box.y + box.height, 100);
    const double area = static_cast<double>(box.width) * box.height / (100.0 * 80.0);
    EXPECT_GE(area, 0.07);
    const double ratio = static_cast<double>(box.width) / box.height;
    if (area < 0.999) {  // not the fallback
      EXPECT_GE(ratio, 0.75 * 0.85) << seed;  // rounding to whole pixels
      EXPECT_LE(ratio, 4.0 / 3.0 / 0.85) << seed;
    }
    flips += box.flip;
  }
  EXPECT_GT(flips, 900);
  EXPECT_LT(flips, 1100);
  // No crop of the allowed ratios fits a 10x100 strip at full area: the
  // fallback takes the widest allowed ratio, centred.
  t.scale_min = t.scale_max = 1.0;
  Rng rng(3);
  const CropBox strip = random_resized_crop(10, 100, t, rng);
  EXPECT_EQ(strip.height, 10);
  EXPECT_EQ(strip.width, 13);
  EXPECT_EQ(strip.x, 43);
  EXPECT_EQ(strip.y, 0);
  t.flip = false;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Rng r(seed);
    EXPECT_FALSE(random_resized_crop(50, 50, t, r).flip);
  }
}

TEST(Transforms, CenterCrop) {
  CropBox b = center_crop(100, 200, 32, 32, 1.0);
  EXPECT_EQ(b.x, 50);
  EXPECT_EQ(b.y, 0);
  EXPECT_EQ(b.width, 100);
  EXPECT_EQ(b.height, 100);
  b = center_crop(100, 200, 32, 32, 0.875);
  EXPECT_EQ(b.x, 56);
  EXPECT_EQ(b.y, 6);
  EXPECT_EQ(b.width, 88);
  EXPECT_EQ(b.height, 88);
  b = center_crop(49, 10, 49, 10, 1.0);
  EXPECT_EQ(b.x, 0);
  EXPECT_EQ(b.y, 0);
  EXPECT_EQ(b.width, 10);
  EXPECT_EQ(b.height, 49);
}

TEST(Transforms, Errors) {
  TransformOptions t;
  t.scale_min = 0;
  EXPECT_EQ(error_of([&] { validate_transform(t); }),
            "transform: crop scale must satisfy 0 < min <= max <= 1, got 0.000000..1.000000");
  t = {};
  t.height = 0;
  EXPECT_EQ(error_of([&] { validate_transform(t); }), "transform: output size 0x32 is not in 1..4096");
  t = {};
  t.ratio_min = 2, t.ratio_max = 1;
  EXPECT_EQ(error_of([&] { validate_transform(t); }),
            "transform: crop ratio must satisfy 0 < min <= max, got 2.000000..1.000000");
  std::vector<float> out(3 * 4);
  EXPECT_EQ(error_of([&] { crop_resize_normalize(constant(4, 4, 3, 1), {2, 0, 3, 4, false}, 2, 2, kIdentity, out.data()); }),
            "transform: crop 3x4 at (2, 0) is not inside the 4x4 image");
  EXPECT_EQ(error_of([&] {
              crop_resize_normalize(constant(4, 4, 1, 1), {0, 0, 4, 4, false}, 2, 2, imagenet_normalization(),
                                    out.data());
            }),
            "transform: normalisation mean has 3 values for an image of 1 channels");
}

}  // namespace
}  // namespace tinynas::datasets
