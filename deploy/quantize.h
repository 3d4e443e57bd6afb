// deploy: from a float network to the int8 model the firmware runs.
//
// FloatModel   float weights for every op of lower(arch), BatchNorm already
//              folded into the conv weights and biases (so the float and int8
//              graphs are the same graph); from a checkpoint (later) or seeded
//              random weights (`--random-weights`) so any architecture can be
//              deployed and measured.
// quantize()   int8 weights per output channel (symmetric), int8 activations
//              per tensor (asymmetric), int32 biases, and TFLite's fixed-point
//              requantisation (int32 multiplier + shift per output channel);
//              activation ranges from calibration inputs (min/max or a
//              percentile).
// The weight layouts are the runtime's (deploy/runtime/include/tn_runtime.h):
// conv2d OHWI, depthwise [c][k][k], pointwise and fully connected [out][in].
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/arch.h"
#include "core/op_graph.h"

namespace tinynas::deploy {

struct FloatOpWeights {
  std::vector<float> weights;  // runtime layout; empty for add/avgpool
  std::vector<float> bias;     // [out_c] after BN folding; empty for add/avgpool
};

struct FloatModel {
  ArchSpec arch;
  OpGraph graph;                    // lower(arch)
  std::vector<FloatOpWeights> ops;  // one per graph op
};

// BatchNorm statistics of one conv's output channels (PyTorch's eps default).
struct BatchNorm {
  std::vector<float> gamma, beta, running_mean, running_var;  // [out_c]
  float eps = 1e-5f;
};

// Folds `bn` into a bias-free conv: w[oc][...] *= gamma / sqrt(var + eps) and
// bias[oc] = beta - mean * gamma / sqrt(var + eps). `w.weights` is in any of
// the output-channel-major runtime layouts; `w.bias` is overwritten.
void fold_batch_norm(const BatchNorm& bn, FloatOpWeights& w);

// He-initialised conv/fc weights and random BatchNorm statistics (gamma,
// beta, running mean/var), folded; deterministic for a seed.
FloatModel random_float_model(const ArchSpec& arch, uint64_t seed);

// Float forward pass of the graph on one NHWC image (resolution^2 x in_c).
// Returns the logits; when `activations` is given, fills it with every
// tensor's values (index = tensor index), for calibration.
std::vector<float> float_forward(const FloatModel& model, const std::vector<float>& input,
                                 std::vector<std::vector<float>>* activations = nullptr);

struct TensorQuant {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

struct QuantOp {
  // conv2d / depthwise / pointwise / fully connected
  std::vector<int8_t> weights;
  std::vector<int32_t> bias, multiplier, shift;
  std::vector<float> weight_scale;  // per output channel
  int32_t input_offset = 0, output_offset = 0;
  int32_t act_min = -128, act_max = 127;
  // add (TFLite int8 ADD)
  int32_t input1_offset = 0, input2_offset = 0;
  int32_t input1_multiplier = 0, input1_shift = 0;
  int32_t input2_multiplier = 0, input2_shift = 0;
  int32_t output_multiplier = 0, output_shift = 0;
  int32_t left_shift = 20;
};

struct QuantizedModel {
  ArchSpec arch;
  OpGraph graph;
  std::vector<TensorQuant> tensors;  // one per graph tensor
  std::vector<QuantOp> ops;          // one per graph op
};

enum class Calibration { kMinMax, kPercentile };

struct QuantizeOptions {
  Calibration calibration = Calibration::kMinMax;
  double percentile = 99.99;  // for kPercentile: keep this share of values inside the range
  // The input's quantisation fixed instead of calibrated: for images from a
  // data set, the loader's convention (datasets/transforms.h: uint8 pixel v
  // is (v - 128) / 127.5), so firmware feeds camera pixels as q = v - 128.
  std::optional<TensorQuant> input;
};

// The data sets' default input convention as an int8 quantisation.
inline constexpr TensorQuant kPixelInputQuant{1.0f / 127.5f, 0};

// Quantises with activation ranges observed on `calibration_inputs` (each an
// NHWC float image). Throws tinynas::Error on an empty calibration set.
QuantizedModel quantize(const FloatModel& model,
                        const std::vector<std::vector<float>>& calibration_inputs,
                        const QuantizeOptions& options = {});

// TFLite's QuantizeMultiplier: real multiplier -> (Q31 multiplier, shift).
void quantize_multiplier(double real, int32_t* multiplier, int32_t* shift);

// The input image in the model's input quantisation.
std::vector<int8_t> quantize_input(const QuantizedModel& model, const std::vector<float>& image);

// The same int8 network run patch by patch (core/op_graph.h): lower(arch)
// with arch.patch = `patch`, each op with the parameters of its layer's op in
// `model` (a model lowered without patches) and each tensor with its layer
// tensor's quantisation, so the values are the layer-by-layer network's. The
// ops of later patches keep the scalars only; their weight, bias, multiplier
// and shift arrays are their patch-0 op's (first_patch_op). Throws
// tinynas::Error for a patched `model` or a patch setting patch_problem()
// refuses.
QuantizedModel with_patches(const QuantizedModel& model, const PatchSpec& patch);

// Host reference interpreter: the definition of the right answer. Plain loops
// over the quantised graph, independent of the C runtime; returns the int8
// logits (and every tensor when `tensors` is given). A patched model runs
// layer by layer (its layers' parameters from the ops that own them; the
// tensors are then those of the graph lowered without patches): patches must
// not change a bit.
std::vector<int8_t> run_reference(const QuantizedModel& model, const std::vector<int8_t>& input,
                                  std::vector<std::vector<int8_t>>* tensors = nullptr);

}  // namespace tinynas::deploy
