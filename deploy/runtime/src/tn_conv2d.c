/* Full k x k convolution (the network's first layer): im2col of two output
 * pixels' patches into the int16 scratch columns (padding as 0, since the
 * columns already hold x + input_offset), then the GEMM core that pointwise
 * uses, with depth k*k*in.c in the weights' OHWI order. */
#include "tn_internal.h"

int32_t tn_conv2d_s8_get_buffer_size(const tn_conv_params* p) {
  return 2 * p->kernel * p->kernel * p->in.c * (int32_t)sizeof(int16_t);
}

/* The patch of output pixel (oy, ox) into column px. A kernel row that lies
 * wholly inside the input is one contiguous run of k*in.c bytes. */
static void tn_im2col(const tn_conv_params* p, const int8_t* input, int32_t oy, int32_t ox,
                      int16_t* cols, int32_t px) {
  const int32_t k = p->kernel, cin = p->in.c, depth = k * k * cin;
  const int32_t offset = p->q.input_offset;
  const int32_t ix0 = ox * p->stride - p->padding;
  for (int32_t ky = 0; ky < k; ++ky) {
    const int32_t iy = oy * p->stride - p->padding + ky;
    const int32_t k0 = ky * k * cin;
    if (iy < 0 || iy >= p->in.h) {
      tn_widen_column(0, k * cin, offset, cols, depth, px, k0);
    } else if (ix0 >= 0 && ix0 + k <= p->in.w) {
      tn_widen_column(input + (iy * p->in.w + ix0) * cin, k * cin, offset, cols, depth, px, k0);
    } else {
      for (int32_t kx = 0; kx < k; ++kx) {
        const int32_t ix = ix0 + kx;
        const int8_t* src = (ix >= 0 && ix < p->in.w) ? input + (iy * p->in.w + ix) * cin : 0;
        tn_widen_column(src, cin, offset, cols, depth, px, k0 + kx * cin);
      }
    }
  }
}

static void tn_next_pixel(int32_t* oy, int32_t* ox, int32_t out_w) {
  if (++*ox == out_w) {
    *ox = 0;
    ++*oy;
  }
}

tn_status tn_conv2d_s8(const tn_conv_params* p, const int8_t* input, int8_t* output,
                       int16_t* scratch) {
  const tn_status s = tn_conv2d_check(p);
  if (s != TN_OK) return s;
  if (input == 0 || output == 0) return TN_ERROR_ARGUMENT;
  if (scratch == 0) return TN_ERROR_SCRATCH;
  const int32_t pixels = p->out.h * p->out.w, cout = p->out.c;
  const int32_t depth = p->kernel * p->kernel * p->in.c;
  int32_t oy = 0, ox = 0;  /* of the next patch, advanced without dividing */
  for (int32_t i = 0; i < pixels; i += 2) {
    tn_im2col(p, input, oy, ox, scratch, 0);
    int8_t* out1 = 0;
    if (i + 1 < pixels) {
      tn_next_pixel(&oy, &ox, p->out.w);
      out1 = output + (i + 1) * cout;
    }
    /* Odd pixel count: the last patch fills both columns, one result is kept. */
    tn_im2col(p, input, oy, ox, scratch, 1);
    tn_gemm_s8_s16(p->weights, cout, depth, &p->q, scratch, output + i * cout, out1);
    tn_next_pixel(&oy, &ox, p->out.w);
  }
  return TN_OK;
}
