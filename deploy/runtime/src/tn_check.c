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
static int tn_window_ok(int32_t in, int32_t out, int32_t kernel, int32_t stride, int32_t padding) {
  return (int64_t)(out - 1) * stride + kernel <= (int64_t)in + 2 * (int64_t)padding;
}

static tn_status tn_check_window(const tn_dims* in, const tn_dims* out, int32_t kernel,
                                 int32_t stride, int32_t padding) {
  if (!tn_dims_ok(in) || !tn_dims_ok(out)) return TN_ERROR_ARGUMENT;
  if (kernel < 1 || stride < 1 || padding < 0) return TN_ERROR_ARGUMENT;
  if (!tn_window_ok(in->h, out->h, kernel, stride, padding) ||
      !tn_window_ok(in->w, out->w, kernel, stride, padding)) {
    return TN_ERROR_ARGUMENT;
  }
  return TN_OK;
}

tn_status tn_conv2d_check(const tn_conv_params* p) {
  if (p == 0 || p->weights == 0) return TN_ERROR_ARGUMENT;
  const tn_status s = tn_check_window(&p->in, &p->out, p->kernel, p->stride, p->padding);
  return s != TN_OK ? s : tn_check_requant(&p->q);
}

tn_status tn_depthwise_check(const tn_depthwise_params* p, int in_place) {
  if (p == 0 || p->weights == 0) return TN_ERROR_ARGUMENT;
  const tn_status s = tn_check_window(&p->in, &p->out, p->kernel, p->stride, p->padding);
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
  return tn_check_requant(&p->q);
}

tn_status tn_fully_connected_check(const tn_fc_params* p) {
  if (p == 0 || p->weights == 0 || p->in_c < 1 || p->out_c < 1) return TN_ERROR_ARGUMENT;
  return tn_check_requant(&p->q);
}

tn_status tn_add_check(const tn_add_params* p) {
  if (p == 0 || p->size < 0) return TN_ERROR_ARGUMENT;
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
