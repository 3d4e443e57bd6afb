/* Full k x k convolution (the network's first layer).
 *
 * Its GEMM depth is k*k*in.c rounded up to a multiple of 4 (tn_conv2d_depth:
 * the stem's 27 becomes 28, with zero weights for the extra column), so the
 * rows are whole groups of 4 and run on pointwise's kernels.
 *
 * The general path: im2col of two output pixels' patches into the int16
 * scratch columns (padding as 0, since the columns already hold
 * x + input_offset), then the GEMM core that pointwise uses, in the weights'
 * OHWI order.
 *
 * The fast path (tn_rqf parameters, patches of at most 64 bytes): each output
 * row's patches are gathered raw into stack buffers, padding as the input zero
 * point (which widens to 0); where the Arm asm takes them (SSAT mode, an even
 * channel count, patches of at most 28 bytes) three pixels at a time through
 * pointwise's three-pixel tiles, which widen the patches themselves, three
 * triples per call; the rest (and any other k / in.c) in pairs, widened
 * here, then one alone. */
#include "tn_internal.h"

/* The three-pixel path: triples per call (their raw patches on the stack,
 * which keeps the planner's scratch at the columns; the firmware's deepest
 * call path stays under 1 KiB), and the largest patch it takes. */
#define TN_CONV_TRIPLES 3
#define TN_CONV_TRIPLE_DEPTH 28

int32_t tn_conv2d_s8_get_buffer_size(const tn_conv_params* p) {
  /* Three pixels' int16 columns (the fast path's triples; two elsewhere). */
  return 3 * tn_conv2d_depth(p->kernel * p->kernel * p->in.c) * (int32_t)sizeof(int16_t);
}

/* Output pixel (oy, ox) counts from the full output's origin (a tile starts
 * at out_y0, out_x0). */

/* The patch of output pixel (oy, ox) into column px. A kernel row that lies
 * wholly inside the input is one contiguous run of k*in.c bytes. */
static void tn_im2col(const tn_conv_params* p, const int8_t* input, int32_t oy, int32_t ox,
                      int16_t* cols, int32_t px) {
  const int32_t k = p->kernel, cin = p->in.c, real = k * k * cin;
  const int32_t depth = tn_conv2d_depth(real), offset = p->q.input_offset;
  const int32_t ix0 = ox * p->stride - p->padding;
  /* The padding columns (zero weights) as 0. */
  tn_widen_column(0, depth - real, offset, cols, depth, px, real);
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
 * MCUNet's 3x3x3 stem) gathered raw into stack buffers, padding as the input
 * zero point (which widens to 0), then widened and doubled for the fast GEMM
 * core (tn_rqf requantisation). */
#define TN_CONV_FAST_MAX_DEPTH 64

/* n bytes, word copies first (any alignment). */
TN_ALWAYS_INLINE void tn_copy_small(int8_t* dst, const int8_t* src, int32_t n) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) tn_write_u32(dst + i, tn_read_u32(src + i));
  for (; i < n; ++i) dst[i] = src[i];
}

/* A 3x3x3 patch that lies inside the input: its three runs of 9 bytes,
 * `pitch` apart, as 2 word loads and a byte each. */
TN_ALWAYS_INLINE void tn_copy_stem_patch(int8_t* d, const int8_t* src, int32_t pitch) {
  const int8_t* r1 = src + pitch;
  const int8_t* r2 = r1 + pitch;
  const uint32_t a0 = tn_read_u32(src), a1 = tn_read_u32(src + 4);
  const uint32_t b0 = tn_read_u32(r1), b1 = tn_read_u32(r1 + 4);
  const uint32_t c0 = tn_read_u32(r2), c1 = tn_read_u32(r2 + 4);
  const int8_t a8 = src[8], b8 = r1[8], c8 = r2[8];
  tn_write_u32(d, a0);
  tn_write_u32(d + 4, a1);
  d[8] = a8;
  tn_write_u32(d + 9, b0);
  tn_write_u32(d + 13, b1);
  d[17] = b8;
  tn_write_u32(d + 18, c0);
  tn_write_u32(d + 22, c1);
  d[26] = c8;
}

/* The patch of output pixel (oy, ox) (full-output coordinates), `depth`
 * bytes: k*k*in.c, then the input zero point up to the GEMM depth. */
static void tn_conv_patch(const tn_conv_params* p, const int8_t* input, int32_t oy, int32_t ox,
                          int8_t zp, int32_t depth, int8_t* patch) {
  const int32_t k = p->kernel, cin = p->in.c, row = k * cin;
  const int32_t ix0 = ox * p->stride - p->padding;
  const int32_t iy0 = oy * p->stride - p->padding;
  const int inside_x = ix0 >= 0 && ix0 + k <= p->in.w;
  for (int32_t i = k * row; i < depth; ++i) patch[i] = zp;
  if (k == 3 && cin == 3 && inside_x && iy0 >= 0 && iy0 + 3 <= p->in.h) {
    tn_copy_stem_patch(patch, input + (iy0 * p->in.w + ix0) * 3, p->in.w * 3);
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
  int32_t depth;       /* the GEMM depth */
  int32_t triples;     /* whether the three-pixel asm takes the layer */
  int8_t zp;
} tn_conv_fast_ctx;

/* Output pixels [x, x_end) (tile columns) of full output row oy, in pairs
 * (then one alone). */
static void tn_conv_pixels(const tn_conv_fast_ctx* c, int32_t oy, int32_t x, int32_t x_end,
                           int8_t* row_out) {
  const tn_conv_params* p = c->p;
  const int32_t cout = p->out.c, offset = p->q.input_offset;
  const int32_t ox0 = p->out_x0;
  int8_t patch[2][TN_CONV_FAST_MAX_DEPTH];
  for (; x + 2 <= x_end; x += 2) {
    tn_conv_patch(p, c->input, oy, ox0 + x, c->zp, c->depth, patch[0]);
    tn_conv_patch(p, c->input, oy, ox0 + x + 1, c->zp, c->depth, patch[1]);
    tn_widen_pair2(patch[0], patch[1], c->depth, offset, c->cols);
    int8_t* out0 = row_out + x * cout;
    if (c->plan != 0) {
      tn_gemm_plan_run(c->plan, out0);
    } else {
      tn_gemm_fast_s8_s16(p->weights, cout, c->depth, &p->q, c->f, c->cols, out0, out0 + cout);
    }
  }
  if (x < x_end) {
    tn_conv_patch(p, c->input, oy, ox0 + x, c->zp, c->depth, patch[0]);
    tn_widen_one2(patch[0], c->depth, offset, c->cols);
    tn_gemm1_fast_s8_s16(p->weights, cout, c->depth, &p->q, c->f, c->cols, row_out + x * cout);
  }
}

/* The three-pixel path: all of the tile's pixels in order (its output is
 * contiguous, so triples may span rows), gathered into stack patches, up to
 * TN_CONV_TRIPLES triples per call of the asm; the stem's interior patches
 * (three runs of 9 bytes) copied inline. Returns the pixels done (all but the
 * last pixel count % 3). */
static int32_t tn_conv_triples(const tn_conv_fast_ctx* c, int8_t* output) {
  const tn_conv_params* p = c->p;
  const int8_t* const input = c->input;
  const int8_t zp = c->zp;
  const int32_t cout = p->out.c, depth = c->depth, real = p->kernel * p->kernel * p->in.c;
  const int32_t s = p->stride, pad = p->padding, w = p->in.w, h = p->in.h;
  const int32_t out_w = p->out.w, pixels = p->out.h * out_w, pitch = 3 * w;
  const int32_t y0 = p->out_y0, x0 = p->out_x0;
  int8_t patches[3 * TN_CONV_TRIPLES * TN_CONV_TRIPLE_DEPTH] __attribute__((aligned(4)));
  /* The padding bytes: the inline copies never write them. */
  for (int32_t i = 0; i < 3 * TN_CONV_TRIPLES; ++i)
    for (int32_t j = real; j < depth; ++j) patches[i * depth + j] = zp;
  /* The tile columns whose 3x3x3 patches lie inside the input horizontally:
   * [xa, xb); none unless the kernel is 3x3x3. */
  int32_t xa = (pad + s - 1) / s - x0, xb = w + pad - 3 >= 0 ? (w + pad - 3) / s + 1 - x0 : 0;
  if (xa < 0) xa = 0;
  if (xb > out_w) xb = out_w;
  if (p->kernel != 3 || p->in.c != 3) xb = 0;
  int32_t done = 0, oy = 0, ox = 0;
  int32_t row_in = 0;  /* whether row oy's patches lie inside vertically */
  const int8_t* src = input;  /* pixel (oy, ox)'s patch where it is inside */
  while (pixels - done >= 3) {
    int32_t t = (pixels - done) / 3;
    if (t > TN_CONV_TRIPLES) t = TN_CONV_TRIPLES;
    int8_t* d = patches;
    for (int32_t i = 0; i < 3 * t;) {
      if (ox == 0) {
        const int32_t iy0 = (y0 + oy) * s - pad;
        row_in = iy0 >= 0 && iy0 + 3 <= h && xa < xb;
        if (row_in) src = input + (iy0 * w + (x0 + xa) * s - pad) * 3;
      }
      if (row_in && ox >= xa && ox < xb) {
        /* A run of interior pixels. */
        int32_t n = xb - ox;
        if (n > 3 * t - i) n = 3 * t - i;
        i += n;
        ox += n;
        for (const int8_t* end = src + n * 3 * s; src != end; src += 3 * s, d += depth)
          tn_copy_stem_patch(d, src, pitch);
      } else {
        tn_conv_patch(p, input, y0 + oy, x0 + ox, zp, depth, d);
        ++i;
        ++ox;
        d += depth;
      }
      if (ox == out_w) {
        ox = 0;
        ++oy;
      }
    }
    tn_pointwise_fast_layer3(patches, t, p->weights, cout, depth, &p->q, c->f, c->cols,
                             output + done * cout);
    done += 3 * t;
  }
  return done;
}

static int tn_conv2d_fast(const tn_conv_params* p, const int8_t* input, int8_t* output,
                          int16_t* scratch) {
  const int32_t depth = tn_conv2d_depth(p->kernel * p->kernel * p->in.c), cout = p->out.c;
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
  c.triples = depth <= TN_CONV_TRIPLE_DEPTH && tn_pointwise_layer3_ok(p->weights, cout, depth, &f);
  c.zp = (int8_t)(-p->q.input_offset);
  int32_t oy = 0, x = 0;
  if (c.triples) {
    const int32_t done = tn_conv_triples(&c, output);
    oy = done / p->out.w;
    x = done - oy * p->out.w;
  }
  for (; oy < p->out.h; ++oy, x = 0)
    tn_conv_pixels(&c, p->out_y0 + oy, x, p->out.w, output + oy * p->out.w * cout);
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
  const int32_t depth = tn_conv2d_depth(p->kernel * p->kernel * p->in.c);
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
