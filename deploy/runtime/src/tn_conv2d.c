/* Full k x k convolution (the network's first layer).
 *
 * The general path: im2col of two output pixels' patches into the int16
 * scratch columns (padding as 0, since the columns already hold
 * x + input_offset), then the GEMM core that pointwise uses, with depth
 * k*k*in.c in the weights' OHWI order.
 *
 * The fast path (tn_rqf parameters, patches of at most 64 bytes): each output
 * row's pixels whose 3x3x3 patches lie inside the input go to the GEMM asm in
 * pairs, which widens them straight from the three 9-byte runs of each patch
 * (tn_gemm_plan_conv3); the border pixels (and any other k / in.c) are
 * gathered raw into stack patches, padding as the input zero point (which
 * widens to 0), then widened and run through the same prepared GEMM. */
#include "tn_internal.h"

int32_t tn_conv2d_s8_get_buffer_size(const tn_conv_params* p) {
  return 2 * p->kernel * p->kernel * p->in.c * (int32_t)sizeof(int16_t);
}

/* Output pixel (oy, ox) counts from the full output's origin (a tile starts
 * at out_y0, out_x0). */

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

/* ---- the fast path: small patches (the first layer's k*k*in.c, 27 for
 * MCUNet's 3x3x3 stem) gathered raw into two stack buffers, padding as the
 * input zero point (which widens to 0), then widened and doubled for the fast
 * GEMM core (tn_rqf requantisation; its asm tile handles depth 27 as six
 * groups of 4 and a 3-tail). */
#define TN_CONV_FAST_MAX_DEPTH 64

/* n bytes, word copies first (any alignment). */
TN_ALWAYS_INLINE void tn_copy_small(int8_t* dst, const int8_t* src, int32_t n) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) tn_write_u32(dst + i, tn_read_u32(src + i));
  for (; i < n; ++i) dst[i] = src[i];
}

static void tn_conv_patch(const tn_conv_params* p, const int8_t* input, int32_t oy, int32_t ox,
                          int8_t zp, int8_t* patch) {
  const int32_t k = p->kernel, cin = p->in.c, row = k * cin;
  const int32_t ix0 = ox * p->stride - p->padding;
  const int32_t iy0 = oy * p->stride - p->padding;
  const int inside_x = ix0 >= 0 && ix0 + k <= p->in.w;
  if (k == 3 && cin == 3 && inside_x && iy0 >= 0 && iy0 + 3 <= p->in.h) {
    /* The stem's interior: three runs of 9 bytes. */
    const int32_t pitch = p->in.w * 3;
    const int8_t* src = input + (iy0 * p->in.w + ix0) * 3;
    tn_copy_small(patch, src, 9);
    tn_copy_small(patch + 9, src + pitch, 9);
    tn_copy_small(patch + 18, src + 2 * pitch, 9);
    return;
  }
  for (int32_t ky = 0; ky < k; ++ky, patch += row) {
    const int32_t iy = iy0 + ky;
    if (iy < 0 || iy >= p->in.h) {
      for (int32_t i = 0; i < row; ++i) patch[i] = zp;
    } else if (inside_x) {
      tn_copy_small(patch, input + (iy * p->in.w + ix0) * cin, row);
    } else {
      for (int32_t kx = 0; kx < k; ++kx) {
        const int32_t ix = ix0 + kx;
        if (ix < 0 || ix >= p->in.w) {
          for (int32_t c = 0; c < cin; ++c) patch[kx * cin + c] = zp;
        } else {
          tn_copy_small(patch + kx * cin, input + (iy * p->in.w + ix) * cin, cin);
        }
      }
    }
  }
}

typedef struct {
  const tn_conv_params* p;
  const int8_t* input;
  const tn_rqf* f;
  int16_t* cols;
  tn_gemm_plan* plan;  /* NULL: no asm plan */
  int32_t depth;
  int8_t zp;
} tn_conv_fast_ctx;

/* Output pixels [x, x_end) (tile columns) of full output row oy, in pairs
 * (then one alone), through the raw patches: the border pixels and whatever
 * the asm row path leaves. */
static void tn_conv_pixels(const tn_conv_fast_ctx* c, int32_t oy, int32_t x, int32_t x_end,
                           int8_t* row_out) {
  const tn_conv_params* p = c->p;
  const int32_t cout = p->out.c, offset = p->q.input_offset;
  const int32_t ox0 = p->out_x0;
  int8_t patch[2][TN_CONV_FAST_MAX_DEPTH];
  for (; x + 2 <= x_end; x += 2) {
    tn_conv_patch(p, c->input, oy, ox0 + x, c->zp, patch[0]);
    tn_conv_patch(p, c->input, oy, ox0 + x + 1, c->zp, patch[1]);
    tn_widen_pair2(patch[0], patch[1], c->depth, offset, c->cols);
    int8_t* out0 = row_out + x * cout;
    if (c->plan != 0) {
      tn_gemm_plan_run(c->plan, out0);
    } else {
      tn_gemm_fast_s8_s16(p->weights, cout, c->depth, &p->q, c->f, c->cols, out0, out0 + cout);
    }
  }
  if (x < x_end) {
    tn_conv_patch(p, c->input, oy, ox0 + x, c->zp, patch[0]);
    tn_widen_one2(patch[0], c->depth, offset, c->cols);
    tn_gemm1_fast_s8_s16(p->weights, cout, c->depth, &p->q, c->f, c->cols, row_out + x * cout);
  }
}

static int tn_conv2d_fast(const tn_conv_params* p, const int8_t* input, int8_t* output,
                          int16_t* scratch) {
  const int32_t depth = p->kernel * p->kernel * p->in.c, cout = p->out.c;
  if (depth > TN_CONV_FAST_MAX_DEPTH || ((uintptr_t)scratch & 3) != 0) return 0;
  tn_rqf f;
  if (!tn_rqf_init(&f, &p->q, cout, (int64_t)depth * 255 * 128)) return 0;
  tn_gemm_plan plan;
  tn_conv_fast_ctx c;
  c.p = p;
  c.input = input;
  c.f = &f;
  c.cols = scratch;
  c.plan = tn_gemm_plan_init(&plan, p->weights, cout, depth, &p->q, &f, scratch, cout) ? &plan : 0;
  c.depth = depth;
  c.zp = (int8_t)(-p->q.input_offset);
  const int32_t s = p->stride, pad = p->padding, w = p->in.w, out_w = p->out.w;
  /* The stem's rows: the pixels whose patches lie inside the input go to the
   * asm in pairs, widened there from the input itself. */
  const int conv3 = c.plan != 0 && p->kernel == 3 && p->in.c == 3 && (cout & 1) == 0;
  const int32_t ox0 = p->out_x0;
  /* In tile columns: the first with (ox0 + x) * s - pad >= 0, the last with
   * (ox0 + x) * s - pad + 3 <= w. */
  int32_t x0 = (pad + s - 1) / s - ox0;
  if (x0 < 0) x0 = 0;
  int32_t x1 = w + pad - 3 >= 0 ? (w + pad - 3) / s - ox0 : -1;
  if (x1 > out_w - 1) x1 = out_w - 1;
  for (int32_t oy = 0; oy < p->out.h; ++oy) {
    int8_t* row_out = output + oy * out_w * cout;
    const int32_t oyf = p->out_y0 + oy, iy0 = oyf * s - pad;
    int32_t x = 0;
    if (conv3 && iy0 >= 0 && iy0 + 3 <= p->in.h && x1 >= x0 + 1) {
      const int32_t pairs = (x1 - x0 + 1) >> 1;
      tn_conv_pixels(&c, oyf, 0, x0, row_out);
      tn_gemm_plan_conv3(&plan, input + (iy0 * w + (ox0 + x0) * s - pad) * 3, pairs, 3 * s, 3 * w,
                         row_out + x0 * cout);
      x = x0 + 2 * pairs;
    }
    tn_conv_pixels(&c, oyf, x, out_w, row_out);
  }
  return 1;
}

tn_status tn_conv2d_s8(const tn_conv_params* p, const int8_t* input, int8_t* output,
                       int16_t* scratch) {
  const tn_status s = tn_conv2d_check(p);
  if (s != TN_OK) return s;
  if (input == 0 || output == 0) return TN_ERROR_ARGUMENT;
  if (scratch == 0) return TN_ERROR_SCRATCH;
  if (tn_conv2d_fast(p, input, output, scratch)) return TN_OK;
  const int32_t pixels = p->out.h * p->out.w, cout = p->out.c;
  const int32_t depth = p->kernel * p->kernel * p->in.c;
  int32_t oy = 0, ox = 0;  /* of the next patch, advanced without dividing */
  const int32_t oy0 = p->out_y0, ox0 = p->out_x0;
  for (int32_t i = 0; i < pixels; i += 2) {
    tn_im2col(p, input, oy0 + oy, ox0 + ox, scratch, 0);
    int8_t* out1 = 0;
    if (i + 1 < pixels) {
      tn_next_pixel(&oy, &ox, p->out.w);
      out1 = output + (i + 1) * cout;
    }
    /* Odd pixel count: the last patch fills both columns, one result is kept. */
    tn_im2col(p, input, oy0 + oy, ox0 + ox, scratch, 1);
    tn_gemm_s8_s16(p->weights, cout, depth, &p->q, scratch, output + i * cout, out1);
    tn_next_pixel(&oy, &ox, p->out.w);
  }
  return TN_OK;
}
