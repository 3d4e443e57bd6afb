/*
 * Reference kernels: the definition of the right answer. Plain loops written
 * straight from the formulas in tn_runtime.h, requantising through the public
 * fixed-point helpers; never optimised, so any optimised variant that differs
 * from them by one bit is wrong.
 */
#include "tn_internal.h"

static int8_t tn_ref_requant(int32_t acc, const tn_requant* q, int32_t oc) {
  int32_t y = tn_multiply_by_quantized_multiplier(acc, q->multiplier[oc], q->shift[oc]);
  y += q->output_offset;
  if (y < q->act_min) y = q->act_min;
  if (y > q->act_max) y = q->act_max;
  return (int8_t)y;
}

static int32_t tn_ref_bias(const tn_requant* q, int32_t oc) { return q->bias ? q->bias[oc] : 0; }

tn_status tn_conv2d_ref_s8(const tn_conv_params* p, const int8_t* input, int8_t* output) {
  const tn_status s = tn_conv2d_check(p);
  if (s != TN_OK) return s;
  if (input == 0 || output == 0) return TN_ERROR_ARGUMENT;
  const int32_t k = p->kernel, cin = p->in.c;
  for (int32_t oy = 0; oy < p->out.h; ++oy) {
    for (int32_t ox = 0; ox < p->out.w; ++ox) {
      for (int32_t oc = 0; oc < p->out.c; ++oc) {
        int32_t acc = tn_ref_bias(&p->q, oc);
        for (int32_t ky = 0; ky < k; ++ky) {
          const int32_t iy = (p->out_y0 + oy) * p->stride - p->padding + ky;
          if (iy < 0 || iy >= p->in.h) continue;
          for (int32_t kx = 0; kx < k; ++kx) {
            const int32_t ix = (p->out_x0 + ox) * p->stride - p->padding + kx;
            if (ix < 0 || ix >= p->in.w) continue;
            for (int32_t ic = 0; ic < cin; ++ic) {
              const int32_t x = input[(iy * p->in.w + ix) * cin + ic];
              const int32_t w = p->weights[((oc * k + ky) * k + kx) * cin + ic];
              acc += (x + p->q.input_offset) * w;
            }
          }
        }
        output[(oy * p->out.w + ox) * p->out.c + oc] = tn_ref_requant(acc, &p->q, oc);
      }
    }
  }
  return TN_OK;
}

tn_status tn_depthwise_ref_s8(const tn_depthwise_params* p, const int8_t* input, int8_t* output) {
  const tn_status s = tn_depthwise_check(p, 0);
  if (s != TN_OK) return s;
  if (input == 0 || output == 0) return TN_ERROR_ARGUMENT;
  const int32_t k = p->kernel, c = p->in.c;
  const int32_t top = p->padding + p->pad_top, left = p->padding + p->pad_left;
  for (int32_t oy = 0; oy < p->out.h; ++oy) {
    for (int32_t ox = 0; ox < p->out.w; ++ox) {
      for (int32_t ch = 0; ch < c; ++ch) {
        int32_t acc = tn_ref_bias(&p->q, ch);
        for (int32_t ky = 0; ky < k; ++ky) {
          const int32_t iy = oy * p->stride - top + ky;
          if (iy < 0 || iy >= p->in.h) continue;
          for (int32_t kx = 0; kx < k; ++kx) {
            const int32_t ix = ox * p->stride - left + kx;
            if (ix < 0 || ix >= p->in.w) continue;
            const int32_t x = input[(iy * p->in.w + ix) * c + ch];
            acc += (x + p->q.input_offset) * p->weights[(ch * k + ky) * k + kx];
          }
        }
        output[(oy * p->out.w + ox) * c + ch] = tn_ref_requant(acc, &p->q, ch);
      }
    }
  }
  return TN_OK;
}

tn_status tn_pointwise_ref_s8(const tn_pointwise_params* p, const int8_t* input, int8_t* output) {
  const tn_status s = tn_pointwise_check(p);
  if (s != TN_OK) return s;
  if (input == 0 || output == 0) return TN_ERROR_ARGUMENT;
  const int32_t cin = p->in.c, cout = p->out.c;
  const int32_t in_stride = p->in_row_stride != 0 ? p->in_row_stride : p->in.w * cin;
  const int32_t out_stride = p->out_row_stride != 0 ? p->out_row_stride : p->out.w * cout;
  for (int32_t y = 0; y < p->in.h; ++y) {
    for (int32_t x = 0; x < p->in.w; ++x) {
      const int8_t* in = input + y * in_stride + x * cin;
      int8_t* out = output + y * out_stride + x * cout;
      for (int32_t oc = 0; oc < cout; ++oc) {
        int32_t acc = tn_ref_bias(&p->q, oc);
        for (int32_t ic = 0; ic < cin; ++ic) {
          acc += (in[ic] + p->q.input_offset) * p->weights[oc * cin + ic];
        }
        out[oc] = tn_ref_requant(acc, &p->q, oc);
      }
    }
  }
  return TN_OK;
}

tn_status tn_fully_connected_ref_s8(const tn_fc_params* p, const int8_t* input, int8_t* output) {
  const tn_status s = tn_fully_connected_check(p);
  if (s != TN_OK) return s;
  if (input == 0 || output == 0) return TN_ERROR_ARGUMENT;
  for (int32_t oc = 0; oc < p->out_c; ++oc) {
    int32_t acc = tn_ref_bias(&p->q, oc);
    for (int32_t ic = 0; ic < p->in_c; ++ic) {
      acc += (input[ic] + p->q.input_offset) * p->weights[oc * p->in_c + ic];
    }
    output[oc] = tn_ref_requant(acc, &p->q, oc);
  }
  return TN_OK;
}

tn_status tn_add_ref_s8(const tn_add_params* p, const int8_t* input1, const int8_t* input2,
                        int8_t* output) {
  const tn_status s = tn_add_check(p);
  if (s != TN_OK) return s;
  if (p->size > 0 && (input1 == 0 || input2 == 0 || output == 0)) return TN_ERROR_ARGUMENT;
  const int32_t rows = p->rows > 1 ? p->rows : 1;
  for (int32_t e = 0; e < rows * p->size; ++e) {
    const int32_t r = e / p->size, i = e % p->size;
    const int32_t v1 = input1[r * p->input1_row_stride + i] + p->input1_offset;
    const int32_t v2 = input2[r * p->input2_row_stride + i] + p->input2_offset;
    const int32_t shifted1 = v1 * (1 << p->left_shift);
    const int32_t shifted2 = v2 * (1 << p->left_shift);
    const int32_t scaled1 =
        tn_multiply_by_quantized_multiplier(shifted1, p->input1_multiplier, p->input1_shift);
    const int32_t scaled2 =
        tn_multiply_by_quantized_multiplier(shifted2, p->input2_multiplier, p->input2_shift);
    const int32_t raw = scaled1 + scaled2;
    int32_t y = tn_multiply_by_quantized_multiplier(raw, p->output_multiplier, p->output_shift) +
                p->output_offset;
    if (y < p->act_min) y = p->act_min;
    if (y > p->act_max) y = p->act_max;
    output[r * p->output_row_stride + i] = (int8_t)y;
  }
  return TN_OK;
}

tn_status tn_avgpool_ref_s8(const tn_avgpool_params* p, const int8_t* input, int8_t* output) {
  const tn_status s = tn_avgpool_check(p);
  if (s != TN_OK) return s;
  if (input == 0 || output == 0) return TN_ERROR_ARGUMENT;
  const int32_t count = p->in.h * p->in.w, c = p->in.c;
  for (int32_t ch = 0; ch < c; ++ch) {
    int32_t sum = 0;
    for (int32_t i = 0; i < count; ++i) sum += input[i * c + ch];
    int32_t y = sum >= 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    if (y < p->act_min) y = p->act_min;
    if (y > p->act_max) y = p->act_max;
    output[ch] = (int8_t)y;
  }
  return TN_OK;
}
