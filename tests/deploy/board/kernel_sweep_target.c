/*
 * On-target kernel sweep: every optimised kernel against its reference kernel
 * on the board itself (real DSP instructions on Cortex-M4/M7 under QEMU), over
 * the space's kernel/expand/stride choices and odd shapes. Data come from an
 * LCG, so the board needs no inputs. Prints "SWEEP <cases> <mismatches>" (and
 * one MISMATCH line per failing case) over semihosting and exits 0 or 1.
 * Built by board_tests (kernel_sweep_board_test.cpp); not part of any model.
 */
#include <stdint.h>
#include <string.h>

#include "semihosting.h"
#include "tn_runtime.h"

#define MAX_ACT (16 * 16 * 48)
#define MAX_C 160
#define MAX_W (MAX_C * 48)
#define MAX_SCRATCH 4096

static int8_t input[MAX_ACT], ref_out[MAX_ACT], opt_out[MAX_ACT], inplace[MAX_ACT], input2[MAX_ACT];
static int8_t weights[MAX_W > 7 * 7 * MAX_C ? MAX_W : 7 * 7 * MAX_C];
/* conv2d and pointwise weights as the optimised kernels take them (tn_pair_weights) */
static int8_t paired[MAX_W > 7 * 7 * MAX_C ? MAX_W : 7 * 7 * MAX_C] __attribute__((aligned(4)));
static int32_t bias[MAX_C], mult[MAX_C], shift[MAX_C];
static int8_t scratch[MAX_SCRATCH] __attribute__((aligned(8)));
static uint32_t state = 12345u;
static int cases, mismatches;

static uint32_t rnd(void) {
  state = state * 1664525u + 1013904223u;
  return state >> 8;
}
static int32_t rnd_range(int32_t lo, int32_t hi) { return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1)); }
static void fill8(int8_t* p, int n) {
  for (int i = 0; i < n; ++i) p[i] = (int8_t)(rnd() & 0xff);
}

static void put_int(int v) {
  char buf[16];
  int n = 0;
  unsigned u = v < 0 ? (unsigned)(-v) : (unsigned)v;
  do { buf[n++] = (char)('0' + u % 10u); u /= 10u; } while (u);
  if (v < 0) tn_sh_writec('-');
  while (n) tn_sh_writec(buf[--n]);
}

/* Shifts in [-10, -1] keep the fast paths' parameters (tn_rqf_init takes
 * [-22, -1]); one call in four also draws 0, which sends most layers of
 * several channels to the general path. */
static tn_requant requant(int out_c) {
  tn_requant q;
  const int top = (rnd() & 3) == 0 ? 0 : -1;
  for (int c = 0; c < out_c; ++c) {
    bias[c] = rnd_range(-4000, 4000);
    mult[c] = (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
    shift[c] = rnd_range(-10, top);
  }
  q.input_offset = rnd_range(-127, 128);
  q.output_offset = rnd_range(-128, 127);
  if (rnd() & 1) {
    q.act_min = -128;
    q.act_max = 127;
  } else {  /* a ReLU6-like clamp */
    q.act_min = q.output_offset;
    q.act_max = q.output_offset + 100 > 127 ? 127 : q.output_offset + 100;
  }
  q.bias = bias;
  q.multiplier = mult;
  q.shift = shift;
  return q;
}

static void compare(const char* kernel, const int8_t* a, const int8_t* b, int n) {
  ++cases;
  for (int i = 0; i < n; ++i) {
    if (a[i] != b[i]) {
      ++mismatches;
      tn_sh_write0("MISMATCH ");
      tn_sh_write0(kernel);
      tn_sh_writec(' ');
      put_int(cases);
      tn_sh_writec(' ');
      put_int(i);
      tn_sh_writec(' ');
      put_int(a[i]);
      tn_sh_writec(' ');
      put_int(b[i]);
      tn_sh_writec('\n');
      return;
    }
  }
}

static void depthwise_cases(void) {
  static const int ks[] = {3, 5, 7}, strides[] = {1, 2}, chans[] = {8, 13, 24, 48}, sizes[] = {3, 5, 9, 12};
  for (int ki = 0; ki < 3; ++ki)
    for (int si = 0; si < 2; ++si)
      for (int ci = 0; ci < 4; ++ci)
        for (int hi = 0; hi < 4; ++hi) {
          tn_depthwise_params p;
          memset(&p, 0, sizeof p);
          const int k = ks[ki], s = strides[si], c = chans[ci], h = sizes[hi];
          p.in.h = p.in.w = h;
          p.in.c = p.out.c = c;
          p.out.h = p.out.w = (h - 1) / s + 1;
          p.kernel = k;
          p.stride = s;
          p.padding = k / 2;
          fill8(weights, c * k * k);
          p.weights = weights;
          p.q = requant(c);
          fill8(input, h * h * c);
          const int n = p.out.h * p.out.w * c;
          tn_depthwise_ref_s8(&p, input, ref_out);
          tn_depthwise_s8(&p, input, opt_out, scratch);
          compare("depthwise", ref_out, opt_out, n);
          memcpy(inplace, input, (size_t)(h * h * c));
          tn_depthwise_inplace_s8(&p, inplace, scratch);
          compare("depthwise_inplace", ref_out, inplace, n);
        }
}

/* Maps of 9, 36 and 20 pixels (triples with no rest, and with a pair left),
 * each with the minimal scratch (two pixels per pass) and with room for
 * three pixels' columns. */
static void pointwise_cases(void) {
  static const int ins[] = {3, 8, 13, 16, 24, 48}, outs[] = {7, 16, 48}, sizes[] = {3, 6, 4};
  for (int ii = 0; ii < 6; ++ii)
    for (int oi = 0; oi < 3; ++oi)
      for (int hi = 0; hi < 6; ++hi) {
        tn_pointwise_params p;
        memset(&p, 0, sizeof p);
        const int h = sizes[hi % 3], w = h == 4 ? 5 : h;
        p.in.h = p.out.h = h;
        p.in.w = p.out.w = w;
        p.scratch_bytes = hi >= 3 ? 6 * ins[ii] : 0;
        p.in.c = ins[ii];
        p.out.c = outs[oi];
        fill8(weights, p.in.c * p.out.c);
        p.weights = weights;
        p.q = requant(p.out.c);
        fill8(input, h * w * p.in.c);
        tn_pointwise_ref_s8(&p, input, ref_out);
        tn_pair_weights(weights, p.out.c, p.in.c, paired);
        p.weights = paired;
        tn_pointwise_s8(&p, input, opt_out, (int16_t*)scratch);
        compare("pointwise", ref_out, opt_out, h * w * p.out.c);
      }
}

static void conv2d_cases(void) {
  static const int sizes[] = {9, 16}, outs[] = {8, 13}, ks[] = {3, 5};
  for (int hi = 0; hi < 2; ++hi)
    for (int oi = 0; oi < 2; ++oi)
      for (int ki = 0; ki < 2; ++ki) {
        tn_conv_params p;
        memset(&p, 0, sizeof p);
        const int h = sizes[hi], k = ks[ki];
        p.in.h = p.in.w = h;
        p.in.c = 3;
        p.out.h = p.out.w = (h - 1) / 2 + 1;
        p.out.c = outs[oi];
        p.kernel = k;
        p.stride = 2;
        p.padding = k / 2;
        fill8(weights, p.out.c * k * k * 3);
        p.weights = weights;
        p.q = requant(p.out.c);
        fill8(input, h * h * 3);
        tn_conv2d_ref_s8(&p, input, ref_out);
        tn_conv2d_weights(weights, p.out.c, k * k * 3, paired);
        p.weights = paired;
        tn_conv2d_s8(&p, input, opt_out, (int16_t*)scratch);
        compare("conv2d", ref_out, opt_out, p.out.h * p.out.w * p.out.c);
      }
  /* 3x3x3 tiles as a patch stage runs them (out_y0, out_x0 inside the full
   * output), stride 1 and 2: at the top-left border, in the interior, and
   * reaching the bottom-right border; tile pixel counts with no rest, one
   * and two left over from the triples. */
  static const int tiles[][4] = {{0, 0, 4, 3}, {2, 3, 3, 5}, {3, 1, 5, 4}, {1, 2, 4, 4}};
  for (int s = 1; s <= 2; ++s)
    for (int ti = 0; ti < 4; ++ti) {
      tn_conv_params p;
      memset(&p, 0, sizeof p);
      const int h = 11;
      p.in.h = p.in.w = h;
      p.in.c = 3;
      p.kernel = 3;
      p.stride = s;
      p.padding = 1;
      p.out.c = 16;
      const int full = (h - 1) / s + 1;
      p.out_y0 = tiles[ti][0];
      p.out_x0 = tiles[ti][1];
      p.out.h = tiles[ti][2];
      p.out.w = tiles[ti][3];
      if (p.out_y0 + p.out.h > full) p.out_y0 = full - p.out.h;
      if (p.out_x0 + p.out.w > full) p.out_x0 = full - p.out.w;
      if (ti == 2) { /* to the bottom-right corner */
        p.out_y0 = full - p.out.h;
        p.out_x0 = full - p.out.w;
      }
      fill8(weights, p.out.c * 27);
      p.weights = weights;
      p.q = requant(p.out.c);
      fill8(input, h * h * 3);
      tn_conv2d_ref_s8(&p, input, ref_out);
      tn_conv2d_weights(weights, p.out.c, 27, paired);
      p.weights = paired;
      tn_conv2d_s8(&p, input, opt_out, (int16_t*)scratch);
      compare("conv2d tile", ref_out, opt_out, p.out.h * p.out.w * p.out.c);
    }
}

static void small_kernel_cases(void) {
  for (int round = 0; round < 4; ++round) {
    tn_fc_params f;
    f.in_c = round & 1 ? 13 : 160;
    f.out_c = round & 2 ? 7 : 10;
    fill8(weights, f.in_c * f.out_c);
    f.weights = weights;
    f.q = requant(f.out_c);
    fill8(input, f.in_c);
    tn_fully_connected_ref_s8(&f, input, ref_out);
    tn_fully_connected_s8(&f, input, opt_out);
    compare("fully_connected", ref_out, opt_out, f.out_c);

    tn_add_params a;
    memset(&a, 0, sizeof a);
    a.size = round & 1 ? 37 : 400;
    a.input1_offset = rnd_range(-127, 128);
    a.input2_offset = rnd_range(-127, 128);
    a.output_offset = rnd_range(-128, 127);
    a.input1_multiplier = (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
    a.input2_multiplier = (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
    a.output_multiplier = (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
    a.input1_shift = rnd_range(-3, 0);
    a.input2_shift = rnd_range(-3, 0);
    a.output_shift = rnd_range(-22, -18);
    a.left_shift = 20;
    a.act_min = -128;
    a.act_max = 127;
    fill8(input, a.size);
    fill8(input2, a.size);
    tn_add_ref_s8(&a, input, input2, ref_out);
    tn_add_s8(&a, input, input2, opt_out);
    compare("add", ref_out, opt_out, a.size);
    memcpy(inplace, input, (size_t)a.size);
    tn_add_s8(&a, inplace, input2, inplace);  /* output over input1, as the planner allows */
    compare("add_inplace", ref_out, inplace, a.size);

    tn_avgpool_params g;
    g.in.h = g.in.w = round & 1 ? 3 : 7;
    g.in.c = round & 2 ? 5 : 48;
    g.act_min = -128;
    g.act_max = 127;
    fill8(input, g.in.h * g.in.w * g.in.c);
    tn_avgpool_ref_s8(&g, input, ref_out);
    tn_avgpool_s8(&g, input, opt_out);
    compare("avgpool", ref_out, opt_out, g.in.c);
  }
}

int main(void) {
  depthwise_cases();
  pointwise_cases();
  conv2d_cases();
  small_kernel_cases();
  tn_sh_write0("SWEEP ");
  put_int(cases);
  tn_sh_writec(' ');
  put_int(mismatches);
  tn_sh_write0(" ");
  tn_sh_write0(tn_kernel_path());
  tn_sh_writec('\n');
  tn_sh_exit(mismatches ? 1 : 0);
}
