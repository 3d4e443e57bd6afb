#include "core/arch.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace tinynas {

int32_t ArchSpec::num_blocks() const {
  int32_t n = 0;
  for (const auto& s : stages) n += static_cast<int32_t>(s.blocks.size());
  return n;
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::kNone: return "none";
    case Activation::kRelu: return "relu";
    case Activation::kRelu6: return "relu6";
  }
  return "?";
}

int32_t make_divisible(double v, int32_t divisor) {
  int32_t rounded = static_cast<int32_t>(v + divisor / 2.0) / divisor * divisor;
  if (rounded < divisor) rounded = divisor;
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

std::vector<int32_t> block_input_channels(const ArchSpec& arch) {
  std::vector<int32_t> in;
  in.reserve(static_cast<size_t>(arch.num_blocks()));
  int32_t c = arch.first_conv.out_channels;
  for (const auto& stage : arch.stages) {
    for (const auto& b : stage.blocks) {
      in.push_back(c);
      c = b.out_channels;
    }
  }
  return in;
}

namespace {

[[noreturn]] void invalid(const std::string& where, const std::string& what) {
  throw Error("invalid architecture: " + at(where, what));
}

void check_kernel(const std::string& where, int32_t k) {
  if (k < 1 || k > 11 || k % 2 == 0)
    invalid(where, "kernel " + std::to_string(k) + " must be odd and in 1..11");
}

void check_stride(const std::string& where, int32_t s) {
  if (s != 1 && s != 2) invalid(where, "stride " + std::to_string(s) + " must be 1 or 2");
}

void check_channels(const std::string& where, const char* what, int32_t c) {
  if (c < 1) invalid(where, std::string(what) + " must be positive");
  if (c > kMaxArchChannels)
    invalid(where, std::string(what) + " " + std::to_string(c) + " exceeds the limit of " +
                       std::to_string(kMaxArchChannels) + " channels");
}

}  // namespace

void validate_head(const ArchSpec& arch) {
  if (arch.resolution < 8 || arch.resolution > 1024)
    invalid("resolution", std::to_string(arch.resolution) + " is outside 8..1024");
  if (arch.in_channels < 1 || arch.in_channels > 16)
    invalid("in_channels", std::to_string(arch.in_channels) + " is outside 1..16");
  if (!(arch.width_mult > 0.0 && arch.width_mult <= 4.0))
    invalid("width_mult", "must be in (0, 4]");
  check_channels("first_conv", "out_channels", arch.first_conv.out_channels);
  check_kernel("first_conv", arch.first_conv.kernel);
  check_stride("first_conv", arch.first_conv.stride);
}

void validate_block(const BlockSpec& b, int32_t c, size_t stage, size_t index) {
  const std::string where = "stage " + std::to_string(stage) + " block " + std::to_string(index);
  check_kernel(where, b.kernel);
  check_stride(where, b.stride);
  check_channels(where, "out_channels", b.out_channels);
  if (b.expand < 1) invalid(where, "expand must be at least 1");
  if (b.expand == 1 && b.mid_channels != c)
    invalid(where, "expand 1 (no expansion conv) needs mid_channels == input channels (" +
                       std::to_string(c) + "), got " + std::to_string(b.mid_channels));
  check_channels(where, "mid_channels", b.mid_channels);
  if (b.residual && (b.stride != 1 || b.out_channels != c))
    invalid(where, "a residual block needs stride 1 and out_channels == input channels (" +
                       std::to_string(c) + "), got stride " + std::to_string(b.stride) +
                       " and out_channels " + std::to_string(b.out_channels));
}

void validate(const ArchSpec& arch) {
  validate_head(arch);
  if (arch.stages.empty()) invalid("stages", "at least one stage is needed");
  if (arch.num_blocks() > kMaxArchBlocks)
    invalid("stages", std::to_string(arch.num_blocks()) + " blocks exceed the limit of " +
                          std::to_string(kMaxArchBlocks) + " blocks");

  int32_t c = arch.first_conv.out_channels;
  int32_t hw = (arch.resolution - 1) / arch.first_conv.stride + 1;
  for (size_t si = 0; si < arch.stages.size(); ++si) {
    const auto& stage = arch.stages[si];
    if (stage.blocks.empty()) invalid("stage " + std::to_string(si), "has no blocks");
    for (size_t bi = 0; bi < stage.blocks.size(); ++bi) {
      const auto& b = stage.blocks[bi];
      validate_block(b, c, si, bi);
      hw = (hw - 1) / b.stride + 1;
      c = b.out_channels;
    }
  }
  if (arch.feature_mix_channels < 0) invalid("feature_mix", "channels must be >= 0");
  if (arch.feature_mix_channels > kMaxArchChannels)
    invalid("feature_mix", "channels " + std::to_string(arch.feature_mix_channels) +
                               " exceed the limit of " + std::to_string(kMaxArchChannels) + " channels");
  if (arch.num_classes < 1) invalid("classifier", "num_classes must be positive");
  if (arch.num_classes > kMaxArchClasses)
    invalid("classifier", "num_classes " + std::to_string(arch.num_classes) + " exceeds the limit of " +
                              std::to_string(kMaxArchClasses));
  if (hw < 1) invalid("resolution", "too small for the network's strides");
  const std::string patch = patch_problem(arch);
  if (!patch.empty()) invalid("patch", patch);
}

std::vector<int32_t> block_output_sizes(const ArchSpec& arch) {
  std::vector<int32_t> sizes;
  sizes.reserve(static_cast<size_t>(arch.num_blocks()));
  int32_t hw = (arch.resolution - 1) / arch.first_conv.stride + 1;
  for (const auto& stage : arch.stages) {
    for (const auto& b : stage.blocks) {
      hw = (hw - 1) / b.stride + 1;
      sizes.push_back(hw);
    }
  }
  return sizes;
}

std::string block_name(const ArchSpec& arch, int32_t block) {
  std::string name = "block " + std::to_string(block);
  int32_t first = 0;
  for (size_t si = 0; si < arch.stages.size(); ++si) {
    const auto count = static_cast<int32_t>(arch.stages[si].blocks.size());
    if (block >= first && block < first + count)
      return name + " (stage " + std::to_string(si) + " block " + std::to_string(block - first) + ")";
    first += count;
  }
  return name;
}

int32_t receptive_field(const ArchSpec& arch, int32_t block) {
  int64_t field = 1 + int64_t{arch.first_conv.kernel - 1};
  int64_t jump = arch.first_conv.stride;
  int32_t index = 0;
  for (const auto& stage : arch.stages) {
    for (const auto& b : stage.blocks) {
      if (index++ > block) return static_cast<int32_t>(field);
      field += int64_t{b.kernel - 1} * jump;
      jump *= b.stride;
      // Past any input size: saturate rather than overflow on deep networks.
      if (field > (int64_t{1} << 30)) field = int64_t{1} << 30;
      if (jump > (int64_t{1} << 20)) jump = int64_t{1} << 20;
    }
  }
  return static_cast<int32_t>(field);
}

std::string patch_setting(const PatchSpec& patch) {
  if (!patch.enabled()) return "none";
  return std::to_string(patch.n) + "x" + std::to_string(patch.n) + ":" + std::to_string(patch.split_block);
}

std::string patch_problem(const ArchSpec& arch) {
  const PatchSpec& p = arch.patch;
  if (!p.enabled() && p.split_block == -1) return "";
  const std::string n = std::to_string(p.n);
  if (p.n < 2 || p.n > kMaxPatchGrid)
    return n + "x" + n + " patches: the grid must be 2x2 to " + std::to_string(kMaxPatchGrid) + "x" +
           std::to_string(kMaxPatchGrid);
  const int32_t blocks = arch.num_blocks();
  if (p.split_block < 0 || p.split_block >= blocks)
    return "split block " + std::to_string(p.split_block) + " is not a block of the network (0.." +
           std::to_string(blocks - 1) + ")";
  const std::string where = "split " + block_name(arch, p.split_block);
  const int32_t out = block_output_sizes(arch)[static_cast<size_t>(p.split_block)];
  if (out % p.n != 0)
    return where + ": its " + std::to_string(out) + "x" + std::to_string(out) +
           " output map does not divide into " + n + "x" + n + " equal tiles";
  const int32_t share = arch.resolution / p.n;
  const int32_t field = receptive_field(arch, p.split_block);
  if (share < field)
    return where + ": each of the " + n + "x" + n + " patches owns " + std::to_string(share) +
           " input pixels per side, fewer than the " + std::to_string(field) +
           "-pixel receptive field of one output pixel of that block (use fewer patches or an "
           "earlier split block)";
  return "";
}

bool operator==(const ConvSpec& a, const ConvSpec& b) {
  return a.out_channels == b.out_channels && a.kernel == b.kernel && a.stride == b.stride;
}
bool operator==(const BlockSpec& a, const BlockSpec& b) {
  return a.kernel == b.kernel && a.expand == b.expand && a.mid_channels == b.mid_channels &&
         a.out_channels == b.out_channels && a.stride == b.stride && a.residual == b.residual;
}
bool operator==(const StageSpec& a, const StageSpec& b) { return a.blocks == b.blocks; }
bool operator==(const ArchSpec& a, const ArchSpec& b) {
  return a.resolution == b.resolution && a.in_channels == b.in_channels &&
         a.width_mult == b.width_mult && a.activation == b.activation &&
         a.first_conv == b.first_conv && a.stages == b.stages &&
         a.feature_mix_channels == b.feature_mix_channels && a.num_classes == b.num_classes &&
         a.patch == b.patch;
}

}  // namespace tinynas
