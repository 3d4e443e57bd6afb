#include "datasets/internal/codec.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>
#include <png.h>

#include "core/error.h"

namespace tinynas::datasets::internal {

namespace {

// libjpeg reports errors through a callback that must not return. The
// documented way out is longjmp back to the decoding function; throwing a C++
// exception through libjpeg's C frames is not guaranteed to unwind. So the
// functions that call setjmp hold only plain C data, and the Image they fill
// lives in the caller's frame.
struct JpegErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Level -1 is a corrupt-data warning ("Premature end of JPEG file"): libjpeg
// would fill the rest with grey and carry on. A training image that is half
// grey is a corrupt image, so it is an error here. Trace messages are ignored.
void jpeg_emit_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level < 0) jpeg_error_exit(cinfo);
}

void setup_jpeg_errors(JpegErrorManager* err) {
  jpeg_std_error(&err->base);
  err->base.error_exit = jpeg_error_exit;
  err->base.emit_message = jpeg_emit_message;
  err->message[0] = '\0';
}

// Returns false with err->message set on failure.
bool decode_jpeg_raw(const uint8_t* data, size_t size, Image* out, JpegErrorManager* err) {
  jpeg_decompress_struct cinfo;
  cinfo.err = &err->base;
  if (setjmp(err->jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  // Grey and CMYK are converted to RGB so every image-file data set has 3 channels.
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const size_t row = static_cast<size_t>(cinfo.output_width) * 3;
  out->height = static_cast<int32_t>(cinfo.output_height);
  out->width = static_cast<int32_t>(cinfo.output_width);
  out->channels = 3;
  out->type = PixelType::kUint8;
  // resize() may throw bad_alloc; that would skip jpeg_destroy, but only leaks
  // libjpeg's pool on a process that is out of memory anyway.
  out->data.resize(row * cinfo.output_height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[1] = {out->data.data() + row * cinfo.output_scanline};
    jpeg_read_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

bool probe_jpeg_raw(const uint8_t* data, size_t size, int32_t* height, int32_t* width, JpegErrorManager* err) {
  jpeg_decompress_struct cinfo;
  cinfo.err = &err->base;
  if (setjmp(err->jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  *height = static_cast<int32_t>(cinfo.image_height);
  *width = static_cast<int32_t>(cinfo.image_width);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

bool is_jpeg(const uint8_t* data, size_t size) { return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF; }

bool is_png(const uint8_t* data, size_t size) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return size >= 8 && std::memcmp(data, kSignature, 8) == 0;
}

[[noreturn]] void fail_format(const std::string& where) {
  throw Error(at(where, "not a JPEG or PNG image (unrecognised signature)"));
}

// libpng's simplified API catches its own errors and reports them in
// image.message, so no setjmp is needed here.
void decode_png(const uint8_t* data, size_t size, const std::string& where, Image* out) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, data, size))
    throw Error(at(where, std::string("corrupt PNG: ") + png.message));
  png.format = PNG_FORMAT_RGB;
  out->height = static_cast<int32_t>(png.height);
  out->width = static_cast<int32_t>(png.width);
  out->channels = 3;
  out->type = PixelType::kUint8;
  out->data.assign(PNG_IMAGE_SIZE(png), 0);
  const png_color black = {0, 0, 0};
  if (!png_image_finish_read(&png, &black, out->data.data(), 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    throw Error(at(where, "corrupt PNG: " + message));
  }
}

}  // namespace

Image decode_image(const uint8_t* data, size_t size, const std::string& where) {
  Image image;
  if (is_jpeg(data, size)) {
    JpegErrorManager err;
    setup_jpeg_errors(&err);
    if (!decode_jpeg_raw(data, size, &image, &err))
      throw Error(at(where, std::string("corrupt JPEG: ") + err.message));
    return image;
  }
  if (is_png(data, size)) {
    decode_png(data, size, where, &image);
    return image;
  }
  if (size == 0) throw Error(at(where, "empty file"));
  fail_format(where);
}

void probe_image(const uint8_t* data, size_t size, const std::string& where, int32_t* height, int32_t* width) {
  if (is_jpeg(data, size)) {
    JpegErrorManager err;
    setup_jpeg_errors(&err);
    if (!probe_jpeg_raw(data, size, height, width, &err))
      throw Error(at(where, std::string("corrupt JPEG: ") + err.message));
    return;
  }
  if (is_png(data, size)) {
    png_image png;
    std::memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&png, data, size))
      throw Error(at(where, std::string("corrupt PNG: ") + png.message));
    *height = static_cast<int32_t>(png.height);
    *width = static_cast<int32_t>(png.width);
    png_image_free(&png);
    return;
  }
  if (size == 0) throw Error(at(where, "empty file"));
  fail_format(where);
}

bool is_image_name(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return ext == "jpg" || ext == "jpeg" || ext == "png";
}

}  // namespace tinynas::datasets::internal
