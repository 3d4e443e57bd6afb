/* Argument checks (see tn_runtime.h). O(1): no per-channel loops, so kernels
 * can afford them at every entry. */
#include "tn_internal.h"

static int tn_dims_ok(const tn_dims* d) { return d->h > 0 && d->w > 0 && d->c > 0; }

static int tn_act_ok(int32_t act_min, int32_t act_max) {
  return act_min >= INT8_MIN && act_min <= act_max && act_max <= INT8_MAX;
}

/* An int8 zero point negated: the range the int16 widening and the depthwise
 * padding value rely on. */
static int tn_input_offset_ok(int32_t offset) { return offset >= -127 && offset <= 128; }

tn_status tn_check_requant(const tn_requant* q) {
  if (q->multiplier == 0 || q->shift == 0) return TN_ERROR_ARGUMENT;
  if (!tn_input_offset_ok(q->input_offset) || !tn_act_ok(q->act_min, q->act_max)) {
    return TN_ERROR_ARGUMENT;
  }
  return TN_OK;
}

/* The last output reads rows (out-1)*stride .. (out-1)*stride + kernel - 1 of
 * the padded input; they must exist. Computed in 64 bits so absurd sizes fail
 * instead of wrapping. */
static int tn_window_ok(int32_t in, int32_t out, int32_t kernel, int32_t stride, int32_t pad_lo,
                        int32_t pad_hi) {
  return (int64_t)(out - 1) * stride + kernel <= (int64_t)in + pad_lo + pad_hi;
}

/* `out` counts from the full output's origin (a conv tile's out_y0 + out.h). */
static tn_status tn_check_window(const tn_dims* in, int32_t out_h, int32_t out_w, int32_t kernel,
                                 int32_t stride, int32_t top, int32_t left, int32_t bottom,
                                 int32_t right) {
  if (!tn_dims_ok(in) || out_h < 1 || out_w < 1) return TN_ERROR_ARGUMENT;
  if (kernel < 1 || stride < 1 || top < 0 || left < 0 || bottom < 0 || right < 0) {
    return TN_ERROR_ARGUMENT;
  }
  if (!tn_window_ok(in->h, out_h, kernel, stride, top, bottom) ||
      !tn_window_ok(in->w, out_w, kernel, stride, left, right)) {
    return TN_ERROR_ARGUMENT;
  }
  return TN_OK;
}

tn_status tn_conv2d_check(const tn_conv_params* p) {
  if (p == 0 || p->weights == 0) return TN_ERROR_ARGUMENT;
  if (!tn_dims_ok(&p->out) || p->out_y0 < 0 || p->out_x0 < 0) return TN_ERROR_ARGUMENT;
  const int32_t pad = p->padding;
  const tn_status s =
      tn_check_window(&p->in, (int32_t)((int64_t)p->out_y0 + p->out.h),
                      (int32_t)((int64_t)p->out_x0 + p->out.w), p->kernel, p->stride, pad, pad,
                      pad, pad);
  return s != TN_OK ? s : tn_check_requant(&p->q);
}

tn_status tn_depthwise_check(const tn_depthwise_params* p, int in_place) {
  if (p == 0 || p->weights == 0) return TN_ERROR_ARGUMENT;
  if (!tn_dims_ok(&p->out) || p->padding < 0) return TN_ERROR_ARGUMENT;
  const int32_t pad = p->padding;
  const tn_status s = tn_check_window(&p->in, p->out.h, p->out.w, p->kernel, p->stride,
                                      pad + p->pad_top, pad + p->pad_left, pad + p->pad_bottom,
                                      pad + p->pad_right);
  if (s != TN_OK) return s;
  if (p->in.c != p->out.c) return TN_ERROR_ARGUMENT;
  /* In place, output pixel i overwrites input pixel i of the same channel,
   * which is only safe while the output is no larger than the input. */
  if (in_place && (int64_t)p->out.h * p->out.w > (int64_t)p->in.h * p->in.w) {
    return TN_ERROR_ARGUMENT;
  }
  return tn_check_requant(&p->q);
}

tn_status tn_pointwise_check(const tn_pointwise_params* p) {
  if (p == 0 || p->weights == 0) return TN_ERROR_ARGUMENT;
  if (!tn_dims_ok(&p->in) || !tn_dims_ok(&p->out)) return TN_ERROR_ARGUMENT;
  if (p->in.h != p->out.h || p->in.w != p->out.w) return TN_ERROR_ARGUMENT;
  if (p->in_row_stride != 0 && p->in_row_stride < p->in.w * p->in.c) return TN_ERROR_ARGUMENT;
  if (p->out_row_stride != 0 && p->out_row_stride < p->out.w * p->out.c) return TN_ERROR_ARGUMENT;
  return tn_check_requant(&p->q);
}

tn_status tn_fully_connected_check(const tn_fc_params* p) {
  if (p == 0 || p->weights == 0 || p->in_c < 1 || p->out_c < 1) return TN_ERROR_ARGUMENT;
  return tn_check_requant(&p->q);
}

tn_status tn_add_check(const tn_add_params* p) {
  if (p == 0 || p->size < 0 || p->rows < 0) return TN_ERROR_ARGUMENT;
  if (p->rows > 1 && (p->input1_row_stride < p->size || p->input2_row_stride < p->size ||
                      p->output_row_stride < p->size)) {
    return TN_ERROR_ARGUMENT;
  }
  if (!tn_input_offset_ok(p->input1_offset) || !tn_input_offset_ok(p->input2_offset)) {
    return TN_ERROR_ARGUMENT;
  }
  if (p->left_shift < 0 || p->left_shift > 22) return TN_ERROR_ARGUMENT;
  return tn_act_ok(p->act_min, p->act_max) ? TN_OK : TN_ERROR_ARGUMENT;
}

tn_status tn_avgpool_check(const tn_avgpool_params* p) {
  if (p == 0 || !tn_dims_ok(&p->in)) return TN_ERROR_ARGUMENT;
  /* The sum of H*W int8 values must fit int32. */
  if ((int64_t)p->in.h * p->in.w > (INT64_C(1) << 24)) return TN_ERROR_ARGUMENT;
  return tn_act_ok(p->act_min, p->act_max) ? TN_OK : TN_ERROR_ARGUMENT;
}

const char* tn_kernel_path(void) {
#if defined(TN_DSP_EMULATED)
  return "dsp-emulated";
#elif defined(TN_USE_DSP)
  return "dsp";
#else
  return "portable";
#endif
}
