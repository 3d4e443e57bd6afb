/* Pointwise (1 x 1) convolution: the input is already a matrix (pixels x in.c),
 * so each pair of pixels is widened into the scratch columns and handed to the
 * GEMM core; no im2col. The fast path (tn_rqf parameters, a word-aligned
 * scratch) gives the Arm asm the whole layer at once where it applies (SSAT
 * mode, in.c a multiple of 4 and >= 8, even out.c): three pixels per pass
 * where scratch_bytes says the scratch holds their columns (6 * in.c), the
 * rest two per pass; else it runs pixel pairs
 * through the fast GEMM core; an odd pixel count's last pixel takes the
 * one-pixel core. Other parameters take the general path. */
#include "tn_internal.h"

int32_t tn_pointwise_s8_get_buffer_size(const tn_pointwise_params* p) {
  return 2 * p->in.c * (int32_t)sizeof(int16_t);
}

/* `pixels` contiguous input pixels to as many contiguous output pixels. */
__attribute__((noinline)) static void tn_pointwise_run(const tn_pointwise_params* p, const tn_rqf* f, int32_t pixels,
                             const int8_t* input, int8_t* output, int16_t* scratch) {
  const int32_t cin = p->in.c, cout = p->out.c;
  const int32_t offset = p->q.input_offset;
  if (f != 0) {
    int32_t px = 0;
    if (p->scratch_bytes >= 6 * cin &&
        tn_pointwise_fast_layer3(input, pixels / 3, p->weights, cout, cin, &p->q, f, scratch,
                                 output)) {
      px = pixels / 3 * 3;
    }
    if (tn_pointwise_fast_layer(input + px * cin, (pixels - px) >> 1, p->weights, cout, cin,
                                &p->q, f, scratch, output + px * cout)) {
      px += (pixels - px) & ~1;
    }
    for (; px + 2 <= pixels; px += 2) {
      const int8_t* a = input + px * cin;
      tn_widen_pair2(a, a + cin, cin, offset, scratch);
      tn_gemm_fast_s8_s16(p->weights, cout, cin, &p->q, f, scratch, output + px * cout,
                          output + (px + 1) * cout);
    }
    if (px < pixels) {
      const int8_t* a = input + px * cin;
      tn_widen_one2(a, cin, offset, scratch);
      tn_gemm1_fast_s8_s16(p->weights, cout, cin, &p->q, f, scratch, output + px * cout);
    }
    return;
  }
  int32_t px = 0;
  for (; px + 2 <= pixels; px += 2) {
    const int8_t* a = input + px * cin;
    tn_widen_column(a, cin, offset, scratch, cin, 0, 0);
    tn_widen_column(a + cin, cin, offset, scratch, cin, 1, 0);
    tn_gemm_s8_s16(p->weights, cout, cin, &p->q, scratch, output + px * cout,
                   output + (px + 1) * cout);
  }
  if (px < pixels) {
    /* Odd pixel count: the last pixel fills both columns, one result is kept. */
    const int8_t* a = input + px * cin;
    tn_widen_column(a, cin, offset, scratch, cin, 0, 0);
    tn_widen_column(a, cin, offset, scratch, cin, 1, 0);
    tn_gemm_s8_s16(p->weights, cout, cin, &p->q, scratch, output + px * cout, 0);
  }
}

tn_status tn_pointwise_s8(const tn_pointwise_params* p, const int8_t* input, int8_t* output,
                          int16_t* scratch) {
  const tn_status s = tn_pointwise_check(p);
  if (s != TN_OK) return s;
  if (input == 0 || output == 0) return TN_ERROR_ARGUMENT;
  if (scratch == 0) return TN_ERROR_SCRATCH;
  const int32_t cin = p->in.c, cout = p->out.c;
  tn_rqf f;
  const int fast =
      ((uintptr_t)scratch & 3) == 0 && tn_rqf_init(&f, &p->q, cout, (int64_t)cin * 255 * 128);
  const int32_t in_row = p->in.w * cin, out_row = p->out.w * cout;
  const int32_t in_stride = p->in_row_stride != 0 ? p->in_row_stride : in_row;
  const int32_t out_stride = p->out_row_stride != 0 ? p->out_row_stride : out_row;
  if (in_stride == in_row && out_stride == out_row) {
    tn_pointwise_run(p, fast ? &f : 0, p->in.h * p->in.w, input, output, scratch);
    return TN_OK;
  }
  /* A window or a tile of a larger map: row by row, the layer prepared once. */
  for (int32_t y = 0; y < p->in.h; ++y) {
    tn_pointwise_run(p, fast ? &f : 0, p->in.w, input + y * in_stride, output + y * out_stride,
                     scratch);
  }
  return TN_OK;
}
