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

// Patch-based inference (MCUNetV2): the input is split into n x n spatially
// overlapping windows, and each is carried alone through the first conv and
// blocks 0..split_block (counted from 0 over all stages) to its tile of that
// block's output map; the assembled map then runs layer by layer. Only the
// execution order and the recomputed overlap change, never an output value.
// n == 0: no patching (layer by layer throughout).
struct PatchSpec {
  int32_t n = 0;             // n x n patches; 0: none
  int32_t split_block = -1;  // the last block run per patch
  bool enabled() const { return n > 0; }
  bool operator==(const PatchSpec&) const = default;
};
// "NxN:B", as --patch takes it; "none" when patching is off.
std::string patch_setting(const PatchSpec& patch);

struct ArchSpec {
  int32_t resolution = 0;    // square input, H = W = resolution
  int32_t in_channels = 3;
  double width_mult = 1.0;   // informational: channels are stored already scaled
  Activation activation = Activation::kRelu6;
  ConvSpec first_conv;
  std::vector<StageSpec> stages;
  int32_t feature_mix_channels = 0;  // 0: no feature-mix layer
  int32_t num_classes = 0;
  PatchSpec patch;                   // n == 0: layer by layer

  int32_t num_blocks() const;
};

// The same network without its patch setting: what the supernet, training,
// quantisation and the host reference see (patching never changes an output).
inline ArchSpec layer_by_layer(ArchSpec arch) {
  arch.patch = PatchSpec{};
  return arch;
}

// Size limits validate() enforces. Real networks have tens of blocks and at
// most a few thousand channels; the limits keep every figure the lowering and
// the cost model compute (MACs, parameters, bytes: at most ~2^58) inside
// int64, so overflow is refused here rather than computed wrong later.
inline constexpr int32_t kMaxArchBlocks = 512;
inline constexpr int32_t kMaxArchChannels = 16384;
inline constexpr int32_t kMaxArchClasses = 100000;
// The largest patch grid (n x n patches): each patch repeats the ops of the
// patch stage, so the op count grows with n^2.
inline constexpr int32_t kMaxPatchGrid = 16;

// Throws tinynas::Error naming the first inconsistency (channels that do not
// chain, residual on a stride-2 block, even kernels, non-positive sizes, a
// limit above, a patch setting patch_problem() refuses, ...). Linear in the
// number of blocks.
void validate(const ArchSpec& arch);
// The checks validate() makes of the input size and the first conv, and of
// one block whose input has in_channels channels ("stage S block B" in
// messages): readers call them as they go, so an error names the line of the
// part that is wrong, at constant cost per block.
void validate_head(const ArchSpec& arch);
void validate_block(const BlockSpec& block, int32_t in_channels, size_t stage, size_t index);
// The patch setting of an otherwise valid network: "" when the network can run
// it, else why not (naming the split block). A setting is refused when
// - n is outside 2..kMaxPatchGrid, or split_block is not a block of the network;
// - the split block's output map (H = W) is not a multiple of n, so the tiles
//   would differ in size;
// - the receptive field does not fit a patch's share of the input: each patch
//   owns resolution / n (rounded down) input rows and columns, and that share
//   must be at least the receptive field R of one output pixel of the split
//   block (R = 1 + sum over the first conv and the depthwise convs of blocks
//   0..split_block of (kernel - 1) * the product of the strides before it).
//   Beyond that the halo recomputed on each side would exceed the patch's own
//   area: every input pixel would be computed for more than the 3 x 3 patches
//   around it, and the overlap, not the patch, would set the cost.
// validate() throws it; the patch search uses it to skip settings. O(blocks).
std::string patch_problem(const ArchSpec& arch);
// The receptive field R above, in input pixels, of one output pixel of block
// `block` (0-based over all stages).
int32_t receptive_field(const ArchSpec& arch, int32_t block);
// Side of the square output map of each block, in order over all stages.
std::vector<int32_t> block_output_sizes(const ArchSpec& arch);
// "block 5 (stage 1 block 2)"; "block 99" when out of range.
std::string block_name(const ArchSpec& arch, int32_t block);

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
