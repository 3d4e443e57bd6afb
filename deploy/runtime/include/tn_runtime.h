/*
 * tinynas runtime: the int8 kernels that generated model code calls.
 *
 * C99, no heap, no libc beyond <stdint.h>/<string.h>; builds for the host
 * (tests) and for arm-none-eabi. Every kernel returns a tn_status; parameters
 * are validated when code is generated (and by tn_*_check on the host), never
 * inside the inference loop.
 *
 * Layout: activations NHWC (batch 1), int8, one byte per element.
 * Weights:  conv2d     [out_c][k][k][in_c]   (OHWI)
 *           depthwise  [c][k][k]              (channel-major: the in-place kernel
 *                                              walks one channel at a time)
 *           pointwise  [out_c][in_c]
 *           fully conn [out_c][in_c]
 * Biases int32 per output channel. Requantisation exactly as TFLite defines it:
 *   acc = bias[oc] + sum((x + input_offset) * w)
 *   y   = MultiplyByQuantizedMultiplier(acc, multiplier[oc], shift[oc]) + output_offset
 *   y   = clamp(y, act_min, act_max)
 * with shift > 0 a left shift and shift <= 0 a rounding right shift, the
 * saturating rounding doubling high multiply and round-half-away-from-zero
 * divide by a power of two (gemmlowp), so outputs are bit-exact with TFLite
 * Micro's reference kernels.
 *
 * Variants (CMSIS-NN naming, <op>[_<variant>]_s8):
 *   *_ref_s8   plain loops, never optimised: the definition of the right answer
 *   *_s8       the dispatching entry point: the DSP SIMD path (SXTB16/SMLAD) when
 *              __ARM_FEATURE_DSP is defined (Cortex-M4/M7/M33) or the host
 *              build sets TN_EMULATE_DSP (C emulation of the same intrinsics, so
 *              the SIMD code is tested bit-exact on the host), else the portable
 *              path for cores without DSP (Cortex-M0+)
 * Each kernel that needs scratch has a *_get_buffer_size; the core's memory
 * planner (core/op_graph.h, op_scratch_bytes) sizes the shared scratch buffer
 * with the same formulas, and deploy's tests check that they agree.
 */
#ifndef TN_RUNTIME_H
#define TN_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  TN_OK = 0,
  TN_ERROR_ARGUMENT = 1,      /* a parameter the kernel does not support */
  TN_ERROR_SCRATCH = 2,       /* scratch buffer missing */
} tn_status;

typedef struct {
  int32_t h, w, c;
} tn_dims;

/* Per-output-channel requantisation, shared by conv/depthwise/pointwise/fc. */
typedef struct {
  int32_t input_offset;   /* -input zero point */
  int32_t output_offset;  /* output zero point */
  int32_t act_min, act_max;
  const int32_t* bias;        /* [out_c] */
  const int32_t* multiplier;  /* [out_c], Q31 */
  const int32_t* shift;       /* [out_c] */
} tn_requant;

/* Full k x k convolution (the network's first layer), im2col into scratch.
 * Patch-based inference computes one tile of the output at a time: the input
 * is the whole map, and output pixel (y, x) of `out` is pixel (out_y0 + y,
 * out_x0 + x) of the layer's full output (whose padding is `padding`), so a
 * patch reads its window of the image in place, zero-padded only at the
 * image's border. out_y0 = out_x0 = 0 is the whole layer. */
typedef struct {
  tn_dims in, out;
  int32_t kernel, stride, padding;
  const int8_t* weights;  /* [out.c][kernel][kernel][in.c], each row padded with zeros to
                             tn_conv2d_depth, then paired (see tn_conv2d_weights); the
                             reference kernel takes them plain */
  tn_requant q;
  int32_t out_y0, out_x0;  /* the tile's origin in the full output (>= 0) */
} tn_conv_params;

/* k x k depthwise convolution, channel multiplier 1. The zero padding on
 * each side is `padding` plus that side's pad_*: a whole layer has `padding`
 * (kernel / 2) all round; a patch sets padding 0 and pads only the sides that
 * lie on the image's border (per-side values in [0, kernel)). */
typedef struct {
  tn_dims in, out;  /* in.c == out.c */
  int32_t kernel, stride, padding;
  const int8_t* weights;  /* [c][kernel][kernel] */
  tn_requant q;
  int32_t pad_top, pad_left, pad_bottom, pad_right;
} tn_depthwise_params;

/* 1 x 1 convolution, stride 1. A row stride lets a patch read a window of a
 * larger map or write its tile into the assembled output map in place:
 * pixel (y, x) is at y * row_stride + x * c; 0 means w * c (contiguous). */
typedef struct {
  tn_dims in, out;  /* in.h == out.h, in.w == out.w */
  const int8_t* weights;  /* [out.c][in.c], paired (see tn_pair_weights); the reference
                             kernel takes them plain */
  tn_requant q;
  int32_t in_row_stride, out_row_stride;  /* bytes; 0: contiguous */
  /* Bytes the scratch buffer holds; 0 means get_buffer_size's 4 * in.c. With
   * 6 * in.c or more (the model's one scratch is sized for its largest user,
   * often a depthwise layer), the Arm asm takes three pixels per pass. */
  int32_t scratch_bytes;
} tn_pointwise_params;

typedef struct {
  int32_t in_c, out_c;
  const int8_t* weights;  /* [out_c][in_c] */
  tn_requant q;
} tn_fc_params;

/* Elementwise add as TFLite's int8 ADD: each input rescaled to a common scale
 * with left_shift headroom, summed, then rescaled to the output. rows = 0 (or
 * 1): `size` contiguous elements; rows > 1: `rows` runs of `size` elements,
 * run r of each operand at r times its row stride (bytes): a patch's tile
 * read from a larger window or written into the assembled map in place. */
typedef struct {
  int32_t size;  /* elements (per row when rows > 1) */
  int32_t input1_offset, input2_offset, output_offset;
  int32_t input1_multiplier, input1_shift;
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift;
  int32_t left_shift;
  int32_t act_min, act_max;
  int32_t rows;
  int32_t input1_row_stride, input2_row_stride, output_row_stride;
} tn_add_params;

/* Global average pool (H x W x C -> 1 x 1 x C); input and output share one
 * scale and zero point (as TFLite requires), so the result is the rounded
 * mean: (sum + count/2) / count for sum >= 0, (sum - count/2) / count else. */
typedef struct {
  tn_dims in;
  int32_t act_min, act_max;
} tn_avgpool_params;

/* ---- argument checks: what every kernel (reference and optimised alike)
 * checks at entry, before its loops, and what code generation can call once.
 * TN_ERROR_ARGUMENT for a NULL parameter block, weights, multiplier or shift
 * array, non-positive dims, kernel or stride, negative padding, output dims
 * that would read past the padded input, input_offset outside [-127, 128]
 * (an int8 zero point: the optimised kernels widen x + input_offset to int16
 * and pad depthwise inputs with the int8 zero point), or an activation range
 * outside int8. The caller also keeps each shift in [-31, 30]. bias may be
 * NULL (all zeros). The in-place depthwise also needs out.h*out.w <= in.h*in.w.
 * Patch parameters: a conv tile must lie inside the layer's output (out_y0,
 * out_x0 >= 0), depthwise pads per side >= 0 and covering the kernel, a
 * pointwise row stride 0 or at least a row, an add's row strides at least
 * `size` when rows > 1.
 * Add: size >= 0, both input offsets in [-127, 128] and left_shift in [0, 22]
 * (so (x + offset) << left_shift fits int32), activation range inside int8. */
tn_status tn_conv2d_check(const tn_conv_params* p);
tn_status tn_depthwise_check(const tn_depthwise_params* p, int in_place);
tn_status tn_pointwise_check(const tn_pointwise_params* p);
tn_status tn_fully_connected_check(const tn_fc_params* p);
tn_status tn_add_check(const tn_add_params* p);
tn_status tn_avgpool_check(const tn_avgpool_params* p);

/* Which path the dispatching *_s8 entry points were compiled for: "dsp" (Arm
 * DSP SIMD), "dsp-emulated" (the same code on the host via TN_EMULATE_DSP) or
 * "portable". For logs and tests. */
const char* tn_kernel_path(void);

/* ---- gemmlowp fixed-point helpers (exposed for tests and the host reference) */
int32_t tn_saturating_rounding_doubling_high_mul(int32_t a, int32_t b);
int32_t tn_rounding_divide_by_pot(int32_t x, int32_t exponent);
int32_t tn_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift);

/* ---- the weight layout of conv2d and pointwise (the GEMM core's): rows of
 * `depth` bytes (depth = k*k*in.c or in.c) in pairs of output channels. The
 * pair (2i, 2i+1) takes the same 2 * depth bytes as the two plain rows, with
 * each group of 4 bytes of row 2i followed by the same group of row 2i+1, then
 * the depth % 4 tail of row 2i, then that of row 2i+1; an odd last row stays
 * plain. So one 8-byte load feeds both channels of a 2 x 2 tile. The code
 * generator writes the weights this way; tn_pair_weights converts plain
 * (OHWI) weights, e.g. for calls that also go to the reference kernels. */
void tn_pair_weights(const int8_t* plain, int32_t out_c, int32_t depth, int8_t* paired);

/* conv2d's GEMM depth: k*k*in.c rounded up to a multiple of 4 (the stem's 27
 * becomes 28), so that its rows are whole groups of 4 like pointwise's and
 * take the same kernels. Its weights are the plain rows each padded with zeros
 * to that depth, then paired: out_c * tn_conv2d_depth(depth) bytes, which
 * tn_conv2d_weights writes from plain OHWI weights of `depth` per row. */
static inline int32_t tn_conv2d_depth(int32_t depth) { return (depth + 3) & ~3; }
void tn_conv2d_weights(const int8_t* plain, int32_t out_c, int32_t depth, int8_t* out);

/* ---- conv2d */
int32_t tn_conv2d_s8_get_buffer_size(const tn_conv_params* p); /* bytes: 6 * tn_conv2d_depth(k*k*in.c) */
tn_status tn_conv2d_ref_s8(const tn_conv_params* p, const int8_t* input, int8_t* output);
tn_status tn_conv2d_s8(const tn_conv_params* p, const int8_t* input, int8_t* output,
                       int16_t* scratch);

/* ---- depthwise. `_inplace` writes the output over the input buffer (the
 * output occupies its first out.h*out.w*c bytes); the other form has separate
 * buffers. */
int32_t tn_depthwise_s8_get_buffer_size(const tn_depthwise_params* p);
/* bytes: (in.h + pad top + bottom) * (in.w + pad left + right) + 2 * out.w * 4 */
tn_status tn_depthwise_ref_s8(const tn_depthwise_params* p, const int8_t* input, int8_t* output);
tn_status tn_depthwise_s8(const tn_depthwise_params* p, const int8_t* input, int8_t* output,
                          int8_t* scratch);
tn_status tn_depthwise_inplace_s8(const tn_depthwise_params* p, int8_t* buffer, int8_t* scratch);

/* ---- pointwise */
int32_t tn_pointwise_s8_get_buffer_size(const tn_pointwise_params* p); /* bytes: 2 * in.c * 2 */
tn_status tn_pointwise_ref_s8(const tn_pointwise_params* p, const int8_t* input, int8_t* output);
tn_status tn_pointwise_s8(const tn_pointwise_params* p, const int8_t* input, int8_t* output,
                          int16_t* scratch);

/* ---- fully connected (no scratch) */
tn_status tn_fully_connected_ref_s8(const tn_fc_params* p, const int8_t* input, int8_t* output);
tn_status tn_fully_connected_s8(const tn_fc_params* p, const int8_t* input, int8_t* output);

/* ---- add (no scratch; output may alias either input) */
tn_status tn_add_ref_s8(const tn_add_params* p, const int8_t* input1, const int8_t* input2,
                        int8_t* output);
tn_status tn_add_s8(const tn_add_params* p, const int8_t* input1, const int8_t* input2,
                    int8_t* output);

/* ---- global average pool (no scratch) */
tn_status tn_avgpool_ref_s8(const tn_avgpool_params* p, const int8_t* input, int8_t* output);
tn_status tn_avgpool_s8(const tn_avgpool_params* p, const int8_t* input, int8_t* output);

#ifdef __cplusplus
}
#endif

#endif /* TN_RUNTIME_H */
