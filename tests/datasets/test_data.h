// Helpers for the datasets tests: they make their own data (JPEG and PNG files
// written with libjpeg and libpng, tar shards with libarchive, CIFAR-10 batch
// files and MLPerf Tiny folders) in a per-test temporary folder, so the suite
// runs anywhere. Tests of the real files in ../shared/data use data_dir().
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <jpeglib.h>
#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/rng.h"
#include "datasets/dataset.h"
#include "tests/test_util.h"

namespace tinynas::datasets::test {

namespace fs = std::filesystem;

using tinynas::test_nets::error_of;

// A fresh folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("tinynas_datasets_" + std::to_string(::getpid()) + "_" +
                                         info->test_suite_name() + "_" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

// A smooth RGB image (JPEG keeps it close), different per seed.
inline Image test_image(int32_t height, int32_t width, uint64_t seed) {
  Rng rng(seed);
  const double base[3] = {40 + 170 * rng.uniform01(), 40 + 170 * rng.uniform01(), 40 + 170 * rng.uniform01()};
  const double gx = 30 * (rng.uniform01() - 0.5), gy = 30 * (rng.uniform01() - 0.5);
  Image image;
  image.height = height;
  image.width = width;
  image.channels = 3;
  image.data.resize(static_cast<size_t>(height) * width * 3);
  for (int32_t y = 0; y < height; ++y)
    for (int32_t x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        const double v = base[c] + gx * x / width + gy * y / height;
        image.data[(static_cast<size_t>(y) * width + x) * 3 + c] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
      }
  return image;
}

inline std::string encode_jpeg(const Image& image, int quality = 95) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = image.channels;
  cinfo.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  const size_t row = static_cast<size_t>(image.width) * image.channels;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW r[1] = {const_cast<uint8_t*>(image.data.data()) + row * cinfo.next_scanline};
    jpeg_write_scanlines(&cinfo, r, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return out;
}

// format: PNG_FORMAT_RGB, PNG_FORMAT_GRAY, PNG_FORMAT_RGBA ...
inline std::string encode_png(const Image& image, uint32_t format = PNG_FORMAT_RGB) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = format;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.data.data(), 0, nullptr))
    throw std::runtime_error(std::string("png size: ") + png.message);
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, image.data.data(), 0, nullptr))
    throw std::runtime_error(std::string("png write: ") + png.message);
  out.resize(size);
  return out;
}

struct TarMember {
  std::string name;
  std::string data;
  bool directory = false;
};

inline void write_tar(const std::string& path, const std::vector<TarMember>& members, bool gzip = false) {
  fs::create_directories(fs::path(path).parent_path());
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  if (archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK)
    throw std::runtime_error("cannot write tar " + path + ": " + archive_error_string(a));
  for (const auto& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_filetype(e, m.directory ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, m.directory ? 0755 : 0644);
    archive_entry_set_size(e, m.directory ? 0 : static_cast<la_int64_t>(m.data.size()));
    archive_write_header(a, e);
    if (!m.directory) archive_write_data(a, m.data.data(), m.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// The real data of ../shared/data, or "" when it is not there.
inline std::string data_dir() {
  if (const char* env = std::getenv("TINYNAS_DATA_DIR"); env != nullptr && *env != '\0')
    return fs::is_directory(env) ? env : "";
  const std::string dir = std::string(TINYNAS_SOURCE_DIR) + "/../shared/data";
  return fs::is_directory(dir) ? dir : "";
}

inline std::string raw(const Image& image) { return std::string(image.data.begin(), image.data.end()); }

}  // namespace tinynas::datasets::test
