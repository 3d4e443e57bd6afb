// ArchSpec: the one description of a network that every stage hands to the
// next (space optimiser -> supernet -> search -> deploy).
//
// A MobileNetV2/ProxylessNAS-style network: a first conv, stages of inverted-
// residual blocks (optional 1x1 expansion, k x k depthwise, 1x1 linear
// projection, optional identity shortcut), an optional 1x1 feature-mix conv,
// global average pooling and a fully connected classifier. ReLU6 (or ReLU)
// after every conv except the projection.
//
// The struct is plain data. It is not tied to a search space: published
// networks use expand ratios outside {3,4,6} and arbitrary mid channels, so a
// block stores its mid_channels explicitly and the lowering uses them as given.
// validate() is the only behaviour; it throws tinynas::Error with the block's
// position ("stage 2 block 1: ...").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tinynas {

enum class Activation : uint8_t { kNone, kRelu, kRelu6 };

struct ConvSpec {
  int32_t out_channels = 0;
  int32_t kernel = 3;
  int32_t stride = 2;
};

struct BlockSpec {
  int32_t kernel = 3;        // depthwise kernel (odd)
  int32_t expand = 1;        // expand ratio; 1 means no 1x1 expansion conv
  int32_t mid_channels = 0;  // channels of the depthwise conv (== in when expand == 1)
  int32_t out_channels = 0;
  int32_t stride = 1;        // depthwise stride
  bool residual = false;     // identity shortcut; needs stride 1 and in == out
};

struct StageSpec {
  std::vector<BlockSpec> blocks;
};

struct ArchSpec {
  int32_t resolution = 0;    // square input, H = W = resolution
  int32_t in_channels = 3;
  double width_mult = 1.0;   // informational: channels are stored already scaled
  Activation activation = Activation::kRelu6;
  ConvSpec first_conv;
  std::vector<StageSpec> stages;
  int32_t feature_mix_channels = 0;  // 0: no feature-mix layer
  int32_t num_classes = 0;

  int32_t num_blocks() const;
};

// Size limits validate() enforces. Real networks have tens of blocks and at
// most a few thousand channels; the limits keep every figure the lowering and
// the cost model compute (MACs, parameters, bytes: at most ~2^58) inside
// int64, so overflow is refused here rather than computed wrong later.
inline constexpr int32_t kMaxArchBlocks = 512;
inline constexpr int32_t kMaxArchChannels = 16384;
inline constexpr int32_t kMaxArchClasses = 100000;

// Throws tinynas::Error naming the first inconsistency (channels that do not
// chain, residual on a stride-2 block, even kernels, non-positive sizes, a
// limit above, ...). Linear in the number of blocks.
void validate(const ArchSpec& arch);
// The checks validate() makes of the input size and the first conv, and of
// one block whose input has in_channels channels ("stage S block B" in
// messages): readers call them as they go, so an error names the line of the
// part that is wrong, at constant cost per block.
void validate_head(const ArchSpec& arch);
void validate_block(const BlockSpec& block, int32_t in_channels, size_t stage, size_t index);

// Input channels of each block, in order over all stages (first block's input
// is first_conv.out_channels).
std::vector<int32_t> block_input_channels(const ArchSpec& arch);

const char* activation_name(Activation a);

// OFA/MCUNet's make_divisible: round v to the nearest multiple of divisor,
// at least divisor, and never more than 10% below v.
int32_t make_divisible(double v, int32_t divisor);

bool operator==(const BlockSpec& a, const BlockSpec& b);
bool operator==(const StageSpec& a, const StageSpec& b);
bool operator==(const ConvSpec& a, const ConvSpec& b);
bool operator==(const ArchSpec& a, const ArchSpec& b);

}  // namespace tinynas
