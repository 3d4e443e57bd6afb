// Depthwise convolution: see depthwise.h. Two implementations, one per memory
// layout; both are compiled three times (SSE2, AVX2+FMA, AVX-512: the loops
// are in depthwise_kernels.inc) and the best the CPU has runs. Work is split
// by at::parallel_for (OpenMP, LibTorch's intra-op threads) into items that
// do not depend on the thread count, and no sum crosses items except in a
// fixed order, so results are the same bits on any number of threads.
//
// NCHW: vectorised along the image. Per channel, a chunk of planes
// (n0 .. n0 + cap) is copied into a zero-padded buffer, all planes one after
// another, and the convolution becomes a sum of "rects" over one flat index q:
//   out[q] = sum_{r, c} w[r][c] * buf[q + base + r * rs + c]
// Stride 1: buf is the padded plane, q = n * plane + oh * rs + ow (the columns
// ow >= OW of the grid are garbage); neighbouring rows and planes share their
// zero padding. Stride 2: buf is split into four polyphase sub-planes
// (even/odd rows x even/odd columns), so the stride-2 taps become four
// stride-1 rects. Taps that can only read padding (spatial size < k) are
// dropped and the padding shrinks with them, so 2x2 or 1x1 planes cost what
// their real taps cost.
//   grad_input, stride 1: the same convolution of the padded grad_output with
//     the flipped kernel. Stride 2: four output phases (image row 2a + ry,
//     column 2b + rx), each a stride-1 rect over the padded grad_output,
//     interleaved at the end.
//   grad_weight: dot products of grad_output (on the forward's output grid,
//     zero at the garbage positions) with the forward's rects, summed over the
//     batch, per channel (one item per channel).
//
// Channels-last (NHWC): vectorised across channels. Per image, every block of
// one vector's worth of channels goes into a zero-padded [rows][cols][lanes]
// buffer; each output pixel is a sum of k x k weight-vector x input-vector
// products, a few neighbouring pixels at a time so that the sums stay in
// registers and each input vector serves several outputs. grad_input as
// above (flipped kernel; four phases for stride 2); grad_weight per group of
// images, the groups' partial sums added in order at the end.
#include "supernet/depthwise.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <utility>
#include <vector>

namespace tinynas::supernet {
namespace {

constexpr int kMaxTaps = 7;  // largest kernel with its own loops
// Floats per buffer for one chunk of planes: a few buffers of this size stay in
// L2 while a chunk is worked on.
constexpr int64_t kChunkFloats = 8192;

// Where planes go in a buffer: plain (row stride rs, plane stride plane) or
// polyphase (four sub-planes of rs x plane each, `phase` floats apart).
struct Layout {
  bool poly = false;
  int64_t top = 0, left = 0;  // zero rows above / columns left of the image
  int64_t rs = 0, plane = 0, phase = 0;
  int64_t total = 0;  // floats to allocate (with slack for reads past the end)
};

// kr x kc taps: buf[q + base + a * rs + b] is multiplied by the channel's
// weight w[i0 + a * di][j0 + b * dj].
struct Rect {
  int kr = 0, kc = 0;
  int64_t base = 0, rs = 0;
  int i0 = 0, di = 1, j0 = 0, dj = 1, k = 0;
  int weight_index(int a, int b) const { return (i0 + a * di) * k + (j0 + b * dj); }
};

// One output grid: the sum of its rects; rows x cols valid outputs per plane,
// at q = n * plane + row * rs + col.
struct Stage {
  std::array<Rect, 4> rects{};
  int nrects = 0;
  int64_t plane = 0, rs = 0, rows = 0, cols = 0;
  void add(const Rect& r) {
    if (r.kr > 0 && r.kc > 0) rects[nrects++] = r;
  }
};

struct Plan {
  int64_t n = 0, c = 0, h = 0, w = 0, k = 0, s = 1, p = 0, oh = 0, ow = 0;
  int64_t cap = 1;  // planes per chunk
  Layout xlay;      // input, for the forward and grad_weight
  Layout glay;      // grad_output padded, for grad_input
  Layout gridlay;   // grad_output on the forward's output grid (stride 2)
  Stage fwd;        // forward; grad_weight uses its rects
  Stage bwd[4];     // grad_input: one stage (stride 1) or four phases (stride 2)
};

struct Scratch {
  std::vector<float> storage;
  float* xbuf = nullptr;
  float* gbuf = nullptr;
  float* ggrid = nullptr;
  float* grid = nullptr;
  float* phase[4] = {};

  Scratch(const Plan& p, bool backward) {
    const int64_t grid_n = p.cap * p.fwd.plane + p.fwd.plane + 64;
    const int64_t ph = p.cap * p.glay.plane + 64;
    int64_t total = p.xlay.total + grid_n;
    if (backward) total += p.glay.total + p.gridlay.total + (p.s == 2 ? 4 * ph : 0);
    storage.assign(static_cast<size_t>(total), 0.0f);
    float* at = storage.data();
    xbuf = at, at += p.xlay.total;
    grid = at, at += grid_n;
    if (backward) {
      gbuf = at, at += p.glay.total;
      ggrid = at, at += p.gridlay.total;
      if (p.s == 2)
        for (float*& f : phase) f = at, at += ph;
    }
  }
};

// ---- channels-last -----------------------------------------------------------

// A zero-padded buffer of one image's channel block: [rows][cols][lanes], the
// image at (top, left).
struct NhwcBuf {
  int64_t top = 0, left = 0, rows = 0, cols = 0;
};

// kr x kc taps; output pixel (a, b) of a rows x cols grid reads buffer pixel
// base + (a * s + r) * cols + (b * s + c) with weight w[i0 + r * di][j0 + c * dj];
// grad_input phases write image pixel (ry + a * s, rx + b * s).
struct NhwcRect {
  int kr = 0, kc = 0;
  int64_t base = 0;
  int i0 = 0, di = 1, j0 = 0, dj = 1;
  int64_t rows = 0, cols = 0, ry = 0, rx = 0;
};

struct NhwcPlan {
  int64_t n = 0, c = 0, h = 0, w = 0, k = 0, s = 1, p = 0, oh = 0, ow = 0;
  int64_t lanes = 1, nb = 0;  // channels per block (the vector), blocks
  NhwcBuf x, g;               // input (forward, grad_weight); padded grad_output
  NhwcRect fwd;               // forward and grad_weight
  NhwcRect bwd[4];            // grad_input: 1 (stride 1) or 4 phases
  int nbwd = 0;
};

struct NhwcScratch {
  std::vector<float> storage;
  float* xbuf = nullptr;
  float* gbuf = nullptr;
  NhwcScratch(const NhwcPlan& p, bool backward) {
    const int64_t xs = p.nb * p.x.rows * p.x.cols * p.lanes;
    const int64_t gs = backward ? p.nb * p.g.rows * p.g.cols * p.lanes : 0;
    storage.assign(static_cast<size_t>(xs + gs), 0.0f);
    xbuf = storage.data();
    gbuf = storage.data() + xs;
  }
};

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// Stride of one axis of a buffer (row stride in columns, plane stride in rows)
// where the image occupies [lo, lo + size) and the outputs read [0, rmax] of
// the padded coordinate: a read past the end of a row (plane) wraps into the
// leading zeros [0, lo) of the next one, so neighbours share their padding.
int64_t shared_stride(int64_t lo, int64_t size, int64_t rmax) {
  return std::max(lo + size, rmax + 1 - lo);
}

Layout plain_layout(int64_t top, int64_t left, int64_t rows, int64_t cols, int64_t cap) {
  Layout l;
  l.top = top, l.left = left, l.rs = cols, l.plane = rows * cols;
  l.total = (cap + 1) * l.plane + cols + 64;
  return l;
}

// Image pixels of parity r (padded coordinate X = x + pad_lo, X % 2 == r) of an
// axis of `size` pixels: the first sub-index X / 2 and how many.
std::pair<int64_t, int64_t> phase_span(int64_t pad_lo, int64_t size, int64_t r) {
  const int64_t first = pad_lo + ((r - pad_lo) & 1), last = pad_lo + size - 1;
  if (first > last) return {0, 0};
  const int64_t lo = first >> 1;
  return {lo, ((last - first) >> 1) + 1};
}

Plan make_plan(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t s) {
  Plan p;
  p.n = n, p.c = c, p.h = h, p.w = w, p.k = k, p.s = s, p.p = k / 2;
  const int64_t pad = p.p;
  p.oh = (h + 2 * pad - k) / s + 1;
  p.ow = (w + 2 * pad - k) / s + 1;
  // Taps that read the image for some output: i in [i0, i1].
  const int64_t i0 = std::max<int64_t>(0, pad - (p.oh - 1) * s), i1 = std::min(k - 1, pad + h - 1);
  const int64_t j0 = std::max<int64_t>(0, pad - (p.ow - 1) * s), j1 = std::min(k - 1, pad + w - 1);
  // Padding those taps need (padded coordinates: row y + pt, column x + pl).
  const int64_t pt = pad - i0, pb = std::max<int64_t>(0, (p.oh - 1) * s + i1 - pad - (h - 1));
  const int64_t pl = pad - j0, pr = std::max<int64_t>(0, (p.ow - 1) * s + j1 - pad - (w - 1));
  const int64_t hb = pt + h + pb, wb = pl + w + pr;
  const int kk = static_cast<int>(k);

  if (s == 1) {
    const int64_t rs = shared_stride(pl, w, wb - 1), rows = shared_stride(pt, h, hb - 1);
    p.cap = std::clamp<int64_t>(kChunkFloats / (rows * rs), 1, n);
    p.xlay = plain_layout(pt, pl, rows, rs, p.cap);
    p.fwd.plane = rows * rs, p.fwd.rs = rs, p.fwd.rows = p.oh, p.fwd.cols = p.ow;
    Rect r;
    r.kr = static_cast<int>(i1 - i0 + 1), r.kc = static_cast<int>(j1 - j0 + 1);
    r.rs = rs, r.k = kk;
    r.i0 = static_cast<int>(i0), r.j0 = static_cast<int>(j0);
    p.fwd.add(r);
    // grad_input: forward of grad_output (same size, same padding) with the
    // kernel flipped; the tap range is symmetric about the centre.
    p.glay = p.xlay;
    p.bwd[0] = p.fwd;
    p.bwd[0].rows = h, p.bwd[0].cols = w;
    Rect& f = p.bwd[0].rects[0];
    f.i0 = static_cast<int>(k - 1 - i0), f.di = -1;
    f.j0 = static_cast<int>(k - 1 - j0), f.dj = -1;
    return p;
  }

  // Stride 2. Input: four polyphase sub-planes (row parity ry, column parity
  // rx of the padded coordinates); output (oh, ow) reads sub-row oh + a and
  // sub-column ow + b of each, for the taps i = i0 + ry + 2a, j = j0 + rx + 2b.
  int kr[2], kc[2];
  for (int r = 0; r < 2; ++r) {
    kr[r] = i0 + r <= i1 ? static_cast<int>((i1 - i0 - r) / 2 + 1) : 0;
    kc[r] = j0 + r <= j1 ? static_cast<int>((j1 - j0 - r) / 2 + 1) : 0;
  }
  int64_t rs = p.ow, rows = p.oh;
  for (int r = 0; r < 2; ++r) {
    const auto [clo, cn] = phase_span(pl, w, r);
    if (cn > 0 && kc[r] > 0) rs = std::max(rs, shared_stride(clo, cn, p.ow - 1 + kc[r] - 1));
    const auto [rlo, rn] = phase_span(pt, h, r);
    if (rn > 0 && kr[r] > 0) rows = std::max(rows, shared_stride(rlo, rn, p.oh - 1 + kr[r] - 1));
  }
  p.cap = std::clamp<int64_t>(kChunkFloats / (4 * rows * rs), 1, n);
  p.xlay.poly = true;
  p.xlay.top = pt, p.xlay.left = pl, p.xlay.rs = rs, p.xlay.plane = rows * rs;
  p.xlay.phase = (p.cap + 1) * rows * rs;  // a spare zero plane between phases
  p.xlay.total = 4 * p.xlay.phase + rs + 64;
  p.fwd.plane = rows * rs, p.fwd.rs = rs, p.fwd.rows = p.oh, p.fwd.cols = p.ow;
  for (int ry = 0; ry < 2; ++ry)
    for (int rx = 0; rx < 2; ++rx) {
      Rect r;
      r.kr = kr[ry], r.kc = kc[rx];
      r.base = (ry * 2 + rx) * p.xlay.phase, r.rs = rs, r.k = kk;
      r.i0 = static_cast<int>(i0 + ry), r.di = 2, r.j0 = static_cast<int>(j0 + rx), r.dj = 2;
      p.fwd.add(r);
    }
  p.gridlay = plain_layout(0, 0, rows, rs, p.cap);

  // grad_input phase ry: image row y = 2a + ry, a < len, gets the taps
  // i = ry + pad - 2d from grad_output row a + d, d in [dmin, dmax].
  struct Range {
    int64_t len = 0, dmin = 0, dmax = -1;
    bool used() const { return len > 0 && dmin <= dmax; }
  };
  auto ranges = [&](int64_t size, int64_t out, int64_t r) {
    Range g;
    g.len = (size - r + 1) / 2;
    g.dmin = std::max(ceil_div(r + pad - (k - 1), 2), 1 - g.len);
    g.dmax = std::min(floor_div(r + pad, 2), out - 1);
    return g;
  };
  Range rg[2], cg[2];
  int64_t gt = 0, gl = 0;
  for (int r = 0; r < 2; ++r) {
    rg[r] = ranges(h, p.oh, r);
    cg[r] = ranges(w, p.ow, r);
    if (rg[r].used()) gt = std::max(gt, -rg[r].dmin);
    if (cg[r].used()) gl = std::max(gl, -cg[r].dmin);
  }
  // Padded grad_output: row oh + gt, column ow + gl.
  int64_t grows = std::max(rg[0].len, rg[1].len), grs = std::max(cg[0].len, cg[1].len);
  grows = std::max(grows, gt + p.oh);
  grs = std::max(grs, gl + p.ow);
  for (int r = 0; r < 2; ++r) {
    if (rg[r].used()) grows = std::max(grows, shared_stride(gt, p.oh, rg[r].len - 1 + rg[r].dmax + gt));
    if (cg[r].used()) grs = std::max(grs, shared_stride(gl, p.ow, cg[r].len - 1 + cg[r].dmax + gl));
  }
  p.glay = plain_layout(gt, gl, grows, grs, p.cap);
  for (int ry = 0; ry < 2; ++ry)
    for (int rx = 0; rx < 2; ++rx) {
      Stage& st = p.bwd[ry * 2 + rx];
      st.plane = grows * grs, st.rs = grs, st.rows = rg[ry].len, st.cols = cg[rx].len;
      if (st.rows <= 0 || st.cols <= 0) continue;
      Rect r;
      r.kr = static_cast<int>(std::max<int64_t>(0, rg[ry].dmax - rg[ry].dmin + 1));
      r.kc = static_cast<int>(std::max<int64_t>(0, cg[rx].dmax - cg[rx].dmin + 1));
      r.base = (rg[ry].dmin + gt) * grs + (cg[rx].dmin + gl), r.rs = grs, r.k = kk;
      r.i0 = static_cast<int>(ry + pad - 2 * rg[ry].dmin), r.di = -2;
      r.j0 = static_cast<int>(rx + pad - 2 * cg[rx].dmin), r.dj = -2;
      st.add(r);
    }
  return p;
}

NhwcPlan make_nhwc_plan(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t s,
                        int64_t lanes) {
  NhwcPlan p;
  p.n = n, p.c = c, p.h = h, p.w = w, p.k = k, p.s = s, p.p = k / 2, p.lanes = lanes;
  p.nb = (c + lanes - 1) / lanes;
  const int64_t pad = p.p;
  p.oh = (h + 2 * pad - k) / s + 1;
  p.ow = (w + 2 * pad - k) / s + 1;
  // Taps that read the image for some output, and the padding they need.
  const int64_t i0 = std::max<int64_t>(0, pad - (p.oh - 1) * s), i1 = std::min(k - 1, pad + h - 1);
  const int64_t j0 = std::max<int64_t>(0, pad - (p.ow - 1) * s), j1 = std::min(k - 1, pad + w - 1);
  const int64_t pt = pad - i0, pb = std::max<int64_t>(0, (p.oh - 1) * s + i1 - pad - (h - 1));
  const int64_t pl = pad - j0, pr = std::max<int64_t>(0, (p.ow - 1) * s + j1 - pad - (w - 1));
  p.x = {pt, pl, pt + h + pb, pl + w + pr};
  const int kk = static_cast<int>(k);
  NhwcRect& f = p.fwd;
  f.kr = static_cast<int>(i1 - i0 + 1), f.kc = static_cast<int>(j1 - j0 + 1);
  f.i0 = static_cast<int>(i0), f.j0 = static_cast<int>(j0);
  f.rows = p.oh, f.cols = p.ow;
  (void)kk;

  if (s == 1) {
    // grad_input: the forward of grad_output (same size and padding) with the
    // kernel flipped.
    p.g = p.x;
    p.nbwd = 1;
    NhwcRect& b = p.bwd[0];
    b = f;
    b.i0 = static_cast<int>(k - 1 - i0), b.di = -1;
    b.j0 = static_cast<int>(k - 1 - j0), b.dj = -1;
    b.rows = h, b.cols = w;
    return p;
  }
  // Stride 2, grad_input phase ry: image row 2a + ry, a < len, gets the taps
  // i = ry + pad - 2d from grad_output row a + d, d in [dmin, dmax].
  struct Range {
    int64_t len = 0, dmin = 0, dmax = -1;
    bool used() const { return len > 0 && dmin <= dmax; }
  };
  auto ranges = [&](int64_t size, int64_t out, int64_t r) {
    Range g;
    g.len = (size - r + 1) / 2;
    g.dmin = std::max(ceil_div(r + pad - (k - 1), 2), 1 - g.len);
    g.dmax = std::min(floor_div(r + pad, 2), out - 1);
    return g;
  };
  Range rg[2], cg[2];
  int64_t gt = 0, gb = 0, gl = 0, gr = 0;
  for (int r = 0; r < 2; ++r) {
    rg[r] = ranges(h, p.oh, r);
    cg[r] = ranges(w, p.ow, r);
    if (rg[r].used()) {
      gt = std::max(gt, -rg[r].dmin);
      gb = std::max(gb, rg[r].len - 1 + rg[r].dmax - (p.oh - 1));
    }
    if (cg[r].used()) {
      gl = std::max(gl, -cg[r].dmin);
      gr = std::max(gr, cg[r].len - 1 + cg[r].dmax - (p.ow - 1));
    }
  }
  p.g = {gt, gl, gt + p.oh + gb, gl + p.ow + gr};
  p.nbwd = 4;
  for (int ry = 0; ry < 2; ++ry)
    for (int rx = 0; rx < 2; ++rx) {
      NhwcRect& b = p.bwd[ry * 2 + rx];
      b.rows = rg[ry].len, b.cols = cg[rx].len, b.ry = ry, b.rx = rx;
      b.kr = static_cast<int>(std::max<int64_t>(0, rg[ry].dmax - rg[ry].dmin + 1));
      b.kc = static_cast<int>(std::max<int64_t>(0, cg[rx].dmax - cg[rx].dmin + 1));
      b.base = (rg[ry].dmin + gt) * p.g.cols + (cg[rx].dmin + gl);
      b.i0 = static_cast<int>(ry + pad - 2 * rg[ry].dmin), b.di = -2;
      b.j0 = static_cast<int>(rx + pad - 2 * cg[rx].dmin), b.dj = -2;
    }
  return p;
}

// The rect's weights per channel block: [nb][kr * kc][lanes], zero past C.
std::vector<float> block_weights(const NhwcPlan& p, const NhwcRect& r, const float* w) {
  std::vector<float> out(static_cast<size_t>(p.nb * std::max(0, r.kr * r.kc) * p.lanes), 0.0f);
  const int64_t kk = p.k * p.k;
  for (int64_t ch = 0; ch < p.c; ++ch) {
    const int64_t cb = ch / p.lanes, l = ch % p.lanes;
    for (int a = 0; a < r.kr; ++a)
      for (int b = 0; b < r.kc; ++b)
        out[static_cast<size_t>(((cb * r.kr + a) * r.kc + b) * p.lanes + l)] =
            w[ch * kk + (r.i0 + a * r.di) * p.k + (r.j0 + b * r.dj)];
  }
  return out;
}

}  // namespace

// ---- the loops, once per instruction set -----------------------------------

#define TINYNAS_DW_LANES 4
#define TINYNAS_DW_BLOCK 4
namespace dw_sse2 {
namespace {
#include "supernet/depthwise_kernels.inc"
}  // namespace
}  // namespace dw_sse2
#undef TINYNAS_DW_LANES
#undef TINYNAS_DW_BLOCK

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TINYNAS_DW_MULTI_ISA 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define TINYNAS_DW_LANES 8
#define TINYNAS_DW_BLOCK 4
namespace dw_avx2 {
namespace {
#include "supernet/depthwise_kernels.inc"
}  // namespace
}  // namespace dw_avx2
#undef TINYNAS_DW_LANES
#undef TINYNAS_DW_BLOCK
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
#define TINYNAS_DW_LANES 16
#define TINYNAS_DW_BLOCK 8
namespace dw_avx512 {
namespace {
#include "supernet/depthwise_kernels.inc"
}  // namespace
}  // namespace dw_avx512
#undef TINYNAS_DW_LANES
#undef TINYNAS_DW_BLOCK
#pragma GCC pop_options
#endif

namespace {

struct Isa {
  const char* name;
  void (*forward_chunk)(const Plan&, const float*, const float*, float*, int64_t, int64_t, int64_t,
                        Scratch&);
  void (*backward_channel)(const Plan&, const float*, const float*, const float*, float*, float*,
                           int64_t, Scratch&);
  void (*nhwc_forward_item)(const NhwcPlan&, const float*, const float*, float*, int64_t,
                            NhwcScratch&);
  void (*nhwc_backward_item)(const NhwcPlan&, const float*, const float*, const float* const*,
                             float*, float*, int64_t, int64_t, NhwcScratch&);
  int lanes;
  bool (*supported)();
};

bool always() { return true; }
#ifdef TINYNAS_DW_MULTI_ISA
bool has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool has_avx512() {
  return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
}
#endif

// Best first.
const Isa kIsas[] = {
#ifdef TINYNAS_DW_MULTI_ISA
    {"avx512", &dw_avx512::forward_chunk, &dw_avx512::backward_channel,
     &dw_avx512::nhwc_forward_item, &dw_avx512::nhwc_backward_item, dw_avx512::kL, &has_avx512},
    {"avx2", &dw_avx2::forward_chunk, &dw_avx2::backward_channel, &dw_avx2::nhwc_forward_item,
     &dw_avx2::nhwc_backward_item, dw_avx2::kL, &has_avx2},
#endif
    {"sse2", &dw_sse2::forward_chunk, &dw_sse2::backward_channel, &dw_sse2::nhwc_forward_item,
     &dw_sse2::nhwc_backward_item, dw_sse2::kL, &always},
};

const Isa* best_isa() {
  for (const Isa& i : kIsas)
    if (i.supported()) return &i;
  return &kIsas[std::size(kIsas) - 1];
}

std::atomic<const Isa*> g_isa{nullptr};

const Isa& isa() {
  const Isa* i = g_isa.load(std::memory_order_relaxed);
  if (i == nullptr) {
    i = best_isa();
    g_isa.store(i, std::memory_order_relaxed);
  }
  return *i;
}

// A new activation-sized tensor. Tensors this big come fresh from mmap, and
// the first touch of every 4 KiB page faults (about a fifth of the time of a
// 48x48 layer); where transparent huge pages are on "madvise", asking for them
// makes that one fault per 2 MiB. Only a hint: nothing changes where it is
// refused.
at::Tensor new_activation(at::IntArrayRef sizes, const at::TensorOptions& options) {
  at::Tensor t = at::empty(sizes, options);
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t{1} << 21;
  const auto begin = reinterpret_cast<uintptr_t>(t.data_ptr());
  const uintptr_t end = begin + static_cast<uintptr_t>(t.nbytes());
  const uintptr_t a = (begin + kHuge - 1) & ~(kHuge - 1), b = end & ~(kHuge - 1);
  if (b > a) madvise(reinterpret_cast<void*>(a), b - a, MADV_HUGEPAGE);
#endif
  return t;
}

// Work items of about this many multiply-adds or more are worth a thread.
int64_t grain(int64_t macs_per_item) {
  return std::max<int64_t>(1, 65536 / std::max<int64_t>(1, macs_per_item));
}

at::Tensor forward_impl(const at::Tensor& x, const at::Tensor& w, int64_t stride) {
  const Plan p = make_plan(x.size(0), x.size(1), x.size(2), x.size(3), w.size(2), stride);
  at::Tensor y = new_activation({p.n, p.c, p.oh, p.ow}, x.options());
  const int64_t chunks = (p.n + p.cap - 1) / p.cap;
  const float* xp = x.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const Isa& is = isa();
  const int64_t macs = p.cap * p.oh * p.ow * p.k * p.k;
  at::parallel_for(0, p.c * chunks, grain(macs), [&](int64_t begin, int64_t end) {
    Scratch s(p, false);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t c = item / chunks, n0 = (item % chunks) * p.cap;
      is.forward_chunk(p, xp, wp, yp, c, n0, std::min(p.cap, p.n - n0), s);
    }
  });
  return y;
}

// grad_input and/or grad_weight (undefined where not wanted).
std::pair<at::Tensor, at::Tensor> backward_impl(const at::Tensor& x, const at::Tensor& w,
                                                const at::Tensor& gy, int64_t stride,
                                                bool want_x, bool want_w) {
  const Plan p = make_plan(x.size(0), x.size(1), x.size(2), x.size(3), w.size(2), stride);
  at::Tensor gx = want_x ? new_activation(x.sizes(), x.options()) : at::Tensor();
  at::Tensor gw = want_w ? at::empty_like(w) : at::Tensor();
  const float* xp = x.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  const float* gyp = gy.data_ptr<float>();
  float* gxp = want_x ? gx.data_ptr<float>() : nullptr;
  float* gwp = want_w ? gw.data_ptr<float>() : nullptr;
  const Isa& is = isa();
  const int64_t macs = 2 * p.n * p.oh * p.ow * p.k * p.k;
  at::parallel_for(0, p.c, grain(macs), [&](int64_t begin, int64_t end) {
    Scratch s(p, true);
    for (int64_t c = begin; c < end; ++c) is.backward_channel(p, xp, wp, gyp, gxp, gwp, c, s);
  });
  return {gx, gw};
}

// ---- channels-last entry points ---------------------------------------------

at::Tensor nhwc_forward_impl(const at::Tensor& x, const at::Tensor& w, int64_t stride) {
  const Isa& is = isa();
  const NhwcPlan p =
      make_nhwc_plan(x.size(0), x.size(1), x.size(2), x.size(3), w.size(2), stride, is.lanes);
  at::Tensor y =
      new_activation({p.n, p.c, p.oh, p.ow}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  const std::vector<float> wb = block_weights(p, p.fwd, w.data_ptr<float>());
  const float* xp = x.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const int64_t macs = p.oh * p.ow * p.fwd.kr * p.fwd.kc * p.c;
  at::parallel_for(0, p.n, grain(macs), [&](int64_t begin, int64_t end) {
    NhwcScratch s(p, false);
    for (int64_t n = begin; n < end; ++n) is.nhwc_forward_item(p, xp, wb.data(), yp, n, s);
  });
  return y;
}

std::pair<at::Tensor, at::Tensor> nhwc_backward_impl(const at::Tensor& x, const at::Tensor& w,
                                                     const at::Tensor& gy, int64_t stride,
                                                     bool want_x, bool want_w) {
  const Isa& is = isa();
  const NhwcPlan p =
      make_nhwc_plan(x.size(0), x.size(1), x.size(2), x.size(3), w.size(2), stride, is.lanes);
  at::Tensor gx = want_x ? new_activation(x.sizes(), x.options().memory_format(at::MemoryFormat::ChannelsLast))
                         : at::Tensor();
  at::Tensor gw = want_w ? at::zeros_like(w) : at::Tensor();
  std::vector<float> wb[4];
  const float* wbp[4] = {};
  for (int ph = 0; ph < p.nbwd && want_x; ++ph) {
    wb[ph] = block_weights(p, p.bwd[ph], w.data_ptr<float>());
    wbp[ph] = wb[ph].data();
  }
  // grad_weight: per group of kGroup images a partial sum, added up in a fixed
  // order afterwards (the same bits on any thread count).
  constexpr int64_t kGroup = 4;
  const int64_t groups = (p.n + kGroup - 1) / kGroup, taps = p.fwd.kr * p.fwd.kc;
  const int64_t part_size = p.nb * taps * p.lanes;
  std::vector<float> part(want_w ? static_cast<size_t>(groups * part_size) : 0, 0.0f);
  const float* xp = x.data_ptr<float>();
  const float* gyp = gy.data_ptr<float>();
  float* gxp = want_x ? gx.data_ptr<float>() : nullptr;
  const int64_t macs = 2 * kGroup * p.oh * p.ow * taps * p.c;
  at::parallel_for(0, groups, grain(macs), [&](int64_t begin, int64_t end) {
    NhwcScratch s(p, true);
    for (int64_t grp = begin; grp < end; ++grp)
      is.nhwc_backward_item(p, xp, gyp, wbp, gxp, want_w ? part.data() + grp * part_size : nullptr,
                            grp * kGroup, std::min(p.n, (grp + 1) * kGroup), s);
  });
  if (want_w) {
    // Group 0's partial sums += the others', in order; then into [C][k][k].
    float* sum = part.data();
    for (int64_t grp = 1; grp < groups; ++grp) {
      const float* other = part.data() + grp * part_size;
      for (int64_t i = 0; i < part_size; ++i) sum[i] += other[i];
    }
    float* gwp = gw.data_ptr<float>();
    const int64_t kk = p.k * p.k;
    for (int64_t ch = 0; ch < p.c; ++ch) {
      const int64_t cb = ch / p.lanes, l = ch % p.lanes;
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t a = t / p.fwd.kc, b = t % p.fwd.kc;
        gwp[ch * kk + (p.fwd.i0 + a) * p.k + (p.fwd.j0 + b)] = sum[(cb * taps + t) * p.lanes + l];
      }
    }
  }
  return {gx, gw};
}

// Channels-last when the input is (as the supernet keeps activations on the
// CPU): the output and grad_input then are too.
bool channels_last(const at::Tensor& x) {
  return x.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
}

class DepthwiseFunction : public torch::autograd::Function<DepthwiseFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input,
                            const at::Tensor& weight, int64_t stride) {
    const bool cl = channels_last(input);
    const at::Tensor x =
        input.contiguous(cl ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
    const at::Tensor w = weight.contiguous();
    ctx->save_for_backward({x, w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["channels_last"] = cl;
    return cl ? nhwc_forward_impl(x, w, stride) : forward_impl(x, w, stride);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const int64_t stride = ctx->saved_data["stride"].toInt();
    const bool cl = ctx->saved_data["channels_last"].toBool();
    const bool want_x = ctx->needs_input_grad(0), want_w = ctx->needs_input_grad(1);
    const at::Tensor gy =
        grads[0].contiguous(cl ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
    auto [gx, gw] = cl ? nhwc_backward_impl(saved[0], saved[1], gy, stride, want_x, want_w)
                       : backward_impl(saved[0], saved[1], gy, stride, want_x, want_w);
    return {gx, gw, at::Tensor()};
  }
};

bool ours(const at::Tensor& x, const at::Tensor& w, int64_t stride) {
  if (x.dim() != 4 || w.dim() != 4) return false;
  if (!x.device().is_cpu() || !w.device().is_cpu()) return false;
  if (x.scalar_type() != at::kFloat || w.scalar_type() != at::kFloat) return false;
  const int64_t k = w.size(2);
  if (w.size(0) != x.size(1) || w.size(1) != 1 || w.size(3) != k) return false;
  if (k % 2 == 0 || k > kMaxTaps || (stride != 1 && stride != 2)) return false;
  return x.numel() > 0;
}

}  // namespace

at::Tensor depthwise_conv2d(const at::Tensor& input, const at::Tensor& weight, int64_t stride) {
  if (!ours(input, weight, stride)) {
    const int64_t k = weight.size(2);
    return at::conv2d(input, weight, {}, {stride, stride}, {k / 2, k / 2}, {1, 1}, input.size(1));
  }
  return DepthwiseFunction::apply(input, weight, stride);
}

std::string depthwise_isa() { return isa().name; }

int depthwise_threads() {
  std::atomic<int> seen{0};
  std::vector<std::atomic<bool>> used(static_cast<size_t>(std::max(1, at::get_num_threads())));
  at::parallel_for(0, 1024, 1, [&](int64_t, int64_t) {
    const size_t t = static_cast<size_t>(at::get_thread_num());
    if (t < used.size() && !used[t].exchange(true)) seen.fetch_add(1);
  });
  return seen.load();
}

bool depthwise_set_isa(const std::string& name) {
  if (name.empty()) {
    g_isa.store(best_isa());
    return true;
  }
  for (const Isa& i : kIsas)
    if (name == i.name && i.supported()) {
      g_isa.store(&i);
      return true;
    }
  return false;
}

}  // namespace tinynas::supernet
