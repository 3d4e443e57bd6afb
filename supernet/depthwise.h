// Depthwise 2-D convolution for CPU training: forward and backward written by
// hand (LibTorch 1.13's oneDNN depthwise backward is slow here: weight gradient
// through GEMM for k > 3, reorders), as a torch::autograd::Function. Same
// result as
//   at::conv2d(input, weight, {}, stride, weight.size(2) / 2, 1, input.size(1))
// within float rounding.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace tinynas::supernet {

// input [N, C, H, W], weight [C, 1, k, k]; padding k / 2, no bias.
//
// Our own loops for float32 CPU tensors, odd k <= 7 and stride 1 or 2; any
// other case (other dtype or device, even or bigger k, other stride) goes to
// at::conv2d. Both memory layouts: a channels-last input (NHWC strides, as the
// supernet keeps its CPU activations) gives a channels-last output and
// grad_input, anything else is made NCHW-contiguous. Neither tensor needs to
// be contiguous: the weight may be a view of a bigger parameter (a centre crop
// of a 7x7 kernel, the leading channels), and its gradient reaches that
// parameter through autograd as for any view. Works with and without grad
// mode; double backward is not supported. Results do not depend on the number
// of threads (bit for bit); they differ from at::conv2d's by float rounding.
at::Tensor depthwise_conv2d(const at::Tensor& input, const at::Tensor& weight, int64_t stride);

// The instruction set the loops run with: "avx512", "avx2" or "sse2" (the
// best this CPU has, chosen at the first call). For tests and benchmarks:
// depthwise_set_isa forces one ("" = back to the best); it returns false, and
// changes nothing, for a name this build or CPU does not have.
std::string depthwise_isa();
bool depthwise_set_isa(const std::string& name);

// Threads the loops run on now: at::get_num_threads() when the file was built
// with OpenMP, as at::parallel_for needs here (1 otherwise: a build problem).
int depthwise_threads();

}  // namespace tinynas::supernet
