// Reading and writing ArchSpec.
//
// Two formats are read, chosen by content:
// - tinynas's own JSON ("format": "tinynas-arch-v1", stages of blocks), which
//   arch_to_json() writes and which round-trips exactly;
// - the `net.config` JSON that MCUNet's model zoo and once-for-all publish
//   (first_conv, blocks of mobile_inverted_conv + shortcut, feature_mix_layer,
//   classifier, resolution), so published networks can be costed and deployed.
// Errors name the file, the line and the key (via Document).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "core/arch.h"
#include "core/doc.h"

namespace tinynas {

inline constexpr const char* kArchFormat = "tinynas-arch-v1";

nlohmann::json arch_to_json(const ArchSpec& arch);
// Parses either format; the result is validated. resolution_override > 0
// replaces (or supplies, for net.configs without one) the input resolution.
ArchSpec arch_from_document(const Document& doc, int32_t resolution_override = 0);
// load_document + arch_from_document.
ArchSpec load_arch(const std::string& path, int32_t resolution_override = 0);
// True when the document looks like an MCUNet/OFA net.config.
bool is_net_config(const nlohmann::json& root);

}  // namespace tinynas
