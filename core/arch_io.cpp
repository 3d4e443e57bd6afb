#include "core/arch_io.h"

#include <cmath>

#include "core/error.h"

namespace tinynas {
namespace {

using nlohmann::json;

Activation parse_activation(const Document& doc, const std::string& pointer,
                            const std::string& name) {
  if (name == "relu6") return Activation::kRelu6;
  if (name == "relu") return Activation::kRelu;
  doc.fail(pointer, "activation '" + name + "' is not supported (relu6 or relu)");
}

int32_t get_i32(const Document& doc, const json& obj, const std::string& pointer,
                const std::string& key) {
  const int64_t v = get_int(doc, obj, pointer, key);
  if (v < -(int64_t{1} << 30) || v > (int64_t{1} << 30))
    doc.fail(child(pointer, key), "value " + std::to_string(v) + " is out of range");
  return static_cast<int32_t>(v);
}

int32_t get_i32_or(const Document& doc, const json& obj, const std::string& pointer,
                   const std::string& key, int32_t fallback) {
  if (find_member(doc, obj, pointer, key) == nullptr || obj.at(key).is_null()) return fallback;
  return get_i32(doc, obj, pointer, key);
}

// Runs validate() and, when it fails, reports the error at the document's
// location of the offending part.
void validate_in(const Document& doc, const ArchSpec& arch, const std::string& pointer) {
  try {
    validate(arch);
  } catch (const Error& e) {
    throw Error(at(doc.where(pointer), e.what()));
  }
}

void validate_in_head(const Document& doc, const ArchSpec& arch, const std::string& pointer) {
  try {
    validate_head(arch);
  } catch (const Error& e) {
    throw Error(at(doc.where(pointer), e.what()));
  }
}

// Checks a block as soon as it is read, so that an error points at the
// block's line rather than the file's; constant cost per block (the whole
// network is validated once at the end). Refuses networks past the block
// limit before reading the rest of them.
void validate_new_block(const Document& doc, const ArchSpec& done, const StageSpec& open,
                        int32_t in_channels, const std::string& block_pointer) {
  const int64_t blocks = static_cast<int64_t>(done.num_blocks()) + static_cast<int64_t>(open.blocks.size());
  if (blocks > kMaxArchBlocks)
    doc.fail(block_pointer, "more than " + std::to_string(kMaxArchBlocks) +
                                " blocks (the limit of an architecture)");
  try {
    validate_block(open.blocks.back(), in_channels, done.stages.size(), open.blocks.size() - 1);
  } catch (const Error& e) {
    throw Error(at(doc.where(block_pointer), e.what()));
  }
}

// The optional "patch": {"patches": N, "split_block": B} of either format,
// read and checked once the network itself is known to be valid.
void read_patch(const Document& doc, ArchSpec& a) {
  const json* pj = find_member(doc, doc.root, "", "patch");
  if (pj == nullptr || pj->is_null()) return;
  const json& p = get_object(doc, doc.root, "", "patch");
  a.patch.n = get_i32(doc, p, "/patch", "patches");
  a.patch.split_block = get_i32(doc, p, "/patch", "split_block");
  const std::string problem = patch_problem(a);
  if (!problem.empty()) doc.fail("/patch", problem);
}

ArchSpec from_tinynas(const Document& doc, int32_t resolution_override) {
  const json& root = doc.root;
  ArchSpec a;
  a.resolution = resolution_override > 0 ? resolution_override : get_i32(doc, root, "", "resolution");
  a.in_channels = get_i32_or(doc, root, "", "in_channels", 3);
  a.width_mult = get_number_or(doc, root, "", "width_mult", 1.0);
  a.activation = parse_activation(doc, "/activation",
                                  get_string_or(doc, root, "", "activation", "relu6"));
  const json& fc = get_object(doc, root, "", "first_conv");
  a.first_conv.out_channels = get_i32(doc, fc, "/first_conv", "out_channels");
  a.first_conv.kernel = get_i32_or(doc, fc, "/first_conv", "kernel", 3);
  a.first_conv.stride = get_i32_or(doc, fc, "/first_conv", "stride", 2);
  validate_in_head(doc, a, "/resolution");
  const json& stages = get_array(doc, root, "", "stages");
  int32_t c = a.first_conv.out_channels;
  for (size_t si = 0; si < stages.size(); ++si) {
    const std::string sp = child("/stages", si);
    const json& blocks = get_array(doc, stages[si], sp, "blocks");
    StageSpec stage;
    for (size_t bi = 0; bi < blocks.size(); ++bi) {
      const std::string bp = child(child(sp, "blocks"), bi);
      const json& bj = blocks[bi];
      if (!bj.is_object()) doc.fail(bp, "expected an object");
      BlockSpec b;
      b.kernel = get_i32(doc, bj, bp, "kernel");
      b.expand = get_i32_or(doc, bj, bp, "expand", 1);
      b.out_channels = get_i32(doc, bj, bp, "out_channels");
      b.mid_channels = get_i32_or(doc, bj, bp, "mid_channels", b.expand == 1 ? c : 0);
      if (b.mid_channels == 0) doc.fail(child(bp, "mid_channels"), "missing (required when expand > 1)");
      b.stride = get_i32_or(doc, bj, bp, "stride", 1);
      b.residual = get_bool_or(doc, bj, bp, "residual", false);
      stage.blocks.push_back(b);
      validate_new_block(doc, a, stage, c, bp);
      c = b.out_channels;
    }
    a.stages.push_back(std::move(stage));
  }
  a.feature_mix_channels = get_i32_or(doc, root, "", "feature_mix_channels", 0);
  a.num_classes = get_i32(doc, root, "", "num_classes");
  validate_in(doc, a, "");
  read_patch(doc, a);
  return a;
}

// One MBInvertedConvLayer (MCUNet: "mobile_inverted_conv", OFA: "conv").
ArchSpec from_net_config(const Document& doc, int32_t resolution_override) {
  const json& root = doc.root;
  ArchSpec a;
  if (resolution_override > 0) {
    a.resolution = resolution_override;
  } else {
    if (find_member(doc, root, "", "resolution") == nullptr)
      doc.fail("/resolution",
               "missing: this net.config has no 'resolution'; add one or pass --resolution");
    a.resolution = get_i32(doc, root, "", "resolution");
  }
  const json& fc = get_object(doc, root, "", "first_conv");
  a.in_channels = get_i32_or(doc, fc, "/first_conv", "in_channels", 3);
  a.first_conv.out_channels = get_i32(doc, fc, "/first_conv", "out_channels");
  a.first_conv.kernel = get_i32_or(doc, fc, "/first_conv", "kernel_size", 3);
  a.first_conv.stride = get_i32_or(doc, fc, "/first_conv", "stride", 2);
  if (get_i32_or(doc, fc, "/first_conv", "groups", 1) != 1)
    doc.fail("/first_conv/groups", "grouped first conv is not supported");
  a.activation = parse_activation(doc, "/first_conv/act_func",
                                  get_string_or(doc, fc, "/first_conv", "act_func", "relu6"));

  validate_in_head(doc, a, "/resolution");
  const json& blocks = get_array(doc, root, "", "blocks");
  int32_t c = a.first_conv.out_channels;
  StageSpec stage;
  for (size_t bi = 0; bi < blocks.size(); ++bi) {
    const std::string bp = child("/blocks", bi);
    const json& bj = blocks[bi];
    if (!bj.is_object()) doc.fail(bp, "expected an object");
    std::string conv_key = "mobile_inverted_conv";
    if (find_member(doc, bj, bp, conv_key) == nullptr) conv_key = "conv";
    const json& conv = get_object(doc, bj, bp, conv_key);
    const std::string cp = child(bp, conv_key);
    const std::string layer = get_string_or(doc, conv, cp, "name", "MBInvertedConvLayer");
    if (layer == "ZeroLayer") continue;  // a skipped block: identity, no ops
    if (layer != "MBInvertedConvLayer" && layer != "MBConvLayer")
      doc.fail(child(cp, "name"), "layer '" + layer + "' is not supported (MBInvertedConvLayer)");
    if (get_bool_or(doc, conv, cp, "use_se", false))
      doc.fail(child(cp, "use_se"), "squeeze-and-excitation is not supported");
    const std::string act = get_string_or(doc, conv, cp, "act_func", activation_name(a.activation));
    if (parse_activation(doc, child(cp, "act_func"), act) != a.activation)
      doc.fail(child(cp, "act_func"), "mixed activations are not supported");

    BlockSpec b;
    const int32_t in = get_i32(doc, conv, cp, "in_channels");
    if (in != c)
      doc.fail(child(cp, "in_channels"), std::to_string(in) +
                                             " does not match the previous layer's " +
                                             std::to_string(c) + " output channels");
    b.kernel = get_i32(doc, conv, cp, "kernel_size");
    b.stride = get_i32_or(doc, conv, cp, "stride", 1);
    b.out_channels = get_i32(doc, conv, cp, "out_channels");
    const double ratio = get_number_or(doc, conv, cp, "expand_ratio", 1.0);
    const json* mid = find_member(doc, conv, cp, "mid_channels");
    if (ratio == 1.0) {
      b.expand = 1;
      b.mid_channels = in;
      if (mid != nullptr && !mid->is_null() && get_i32(doc, conv, cp, "mid_channels") != in)
        doc.fail(child(cp, "mid_channels"), "must equal in_channels when expand_ratio is 1");
    } else {
      b.mid_channels = (mid != nullptr && !mid->is_null())
                           ? get_i32(doc, conv, cp, "mid_channels")
                           : static_cast<int32_t>(std::lround(in * ratio));
      b.expand = std::max<int32_t>(2, static_cast<int32_t>(std::lround(ratio)));
    }
    const json* sc = find_member(doc, bj, bp, "shortcut");
    b.residual = sc != nullptr && !sc->is_null();
    if (b.residual) {
      const std::string sname = get_string_or(doc, *sc, child(bp, "shortcut"), "name", "IdentityLayer");
      if (sname != "IdentityLayer")
        doc.fail(child(child(bp, "shortcut"), "name"), "shortcut '" + sname + "' is not supported");
    }
    // A new stage starts where the resolution or the width changes.
    if (!stage.blocks.empty() && (b.stride != 1 || b.out_channels != c)) {
      a.stages.push_back(std::move(stage));
      stage = StageSpec{};
    }
    stage.blocks.push_back(b);
    validate_new_block(doc, a, stage, c, bp);
    c = b.out_channels;
  }
  if (!stage.blocks.empty()) a.stages.push_back(std::move(stage));

  const json* mix = find_member(doc, root, "", "feature_mix_layer");
  if (mix != nullptr && !mix->is_null()) {
    if (!mix->is_object()) doc.fail("/feature_mix_layer", "expected an object or null");
    const int32_t in = get_i32(doc, *mix, "/feature_mix_layer", "in_channels");
    if (in != c)
      doc.fail("/feature_mix_layer/in_channels",
               std::to_string(in) + " does not match the last block's " + std::to_string(c) +
                   " output channels");
    if (get_i32_or(doc, *mix, "/feature_mix_layer", "kernel_size", 1) != 1)
      doc.fail("/feature_mix_layer/kernel_size", "only a 1x1 feature-mix conv is supported");
    a.feature_mix_channels = get_i32(doc, *mix, "/feature_mix_layer", "out_channels");
    c = a.feature_mix_channels;
  }
  const json& cls = get_object(doc, root, "", "classifier");
  const int32_t in_features = get_i32(doc, cls, "/classifier", "in_features");
  if (in_features != c)
    doc.fail("/classifier/in_features", std::to_string(in_features) +
                                            " does not match the " + std::to_string(c) +
                                            " channels before the classifier");
  a.num_classes = get_i32(doc, cls, "/classifier", "out_features");
  validate_in(doc, a, "");
  read_patch(doc, a);
  return a;
}

}  // namespace

bool is_net_config(const json& root) {
  return root.is_object() && root.contains("blocks") && root.contains("first_conv") &&
         !root.contains("stages");
}

json arch_to_json(const ArchSpec& arch) {
  json stages = json::array();
  for (const auto& s : arch.stages) {
    json blocks = json::array();
    for (const auto& b : s.blocks) {
      blocks.push_back({{"kernel", b.kernel},
                        {"expand", b.expand},
                        {"mid_channels", b.mid_channels},
                        {"out_channels", b.out_channels},
                        {"stride", b.stride},
                        {"residual", b.residual}});
    }
    stages.push_back({{"blocks", std::move(blocks)}});
  }
  json j = json::object();
  j["format"] = kArchFormat;
  j["resolution"] = arch.resolution;
  j["in_channels"] = arch.in_channels;
  j["width_mult"] = arch.width_mult;
  j["activation"] = activation_name(arch.activation);
  j["first_conv"] = {{"out_channels", arch.first_conv.out_channels},
                     {"kernel", arch.first_conv.kernel},
                     {"stride", arch.first_conv.stride}};
  j["stages"] = std::move(stages);
  j["feature_mix_channels"] = arch.feature_mix_channels;
  j["num_classes"] = arch.num_classes;
  if (arch.patch.enabled())
    j["patch"] = {{"patches", arch.patch.n}, {"split_block", arch.patch.split_block}};
  return j;
}

ArchSpec arch_from_document(const Document& doc, int32_t resolution_override) {
  if (!doc.root.is_object()) doc.fail("", "an architecture must be a JSON object");
  if (is_net_config(doc.root)) return from_net_config(doc, resolution_override);
  const std::string format = get_string_or(doc, doc.root, "", "format", kArchFormat);
  if (format != kArchFormat)
    doc.fail("/format", "unknown format '" + format + "' (expected " + kArchFormat +
                            " or an MCUNet/OFA net.config)");
  return from_tinynas(doc, resolution_override);
}

ArchSpec load_arch(const std::string& path, int32_t resolution_override) {
  return arch_from_document(load_document(path), resolution_override);
}

}  // namespace tinynas
