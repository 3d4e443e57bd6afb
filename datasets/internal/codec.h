// JPEG (libjpeg-turbo) and PNG (libpng) decoding to 8-bit RGB HWC, for the
// image-file kinds. The format is recognised by its signature, not by the file
// name. Internal to datasets/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/dataset.h"

namespace tinynas::datasets::internal {

// Decodes a JPEG or PNG held in memory to RGB (grey and palette images are
// expanded, alpha is composited on black, 16-bit is reduced to 8). Throws
// tinynas::Error("<where>: corrupt JPEG: <reason>") and the like; libjpeg's
// corrupt-data warnings (a truncated file) count as errors.
Image decode_image(const uint8_t* data, size_t size, const std::string& where);

// Reads only the header: height and width. Throws like decode_image.
void probe_image(const uint8_t* data, size_t size, const std::string& where, int32_t* height, int32_t* width);

// True for the extensions the image-file kinds accept (.jpg .jpeg .png, any case).
bool is_image_name(const std::string& name);

}  // namespace tinynas::datasets::internal
