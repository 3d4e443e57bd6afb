// bench_depthwise: supernet/depthwise.h's depthwise convolution against
// at::conv2d (groups = C; oneDNN in this LibTorch) at shapes of the MCUNet
// space at width 0.5, resolutions 32..96, batch 128, on --threads threads
// (at::set_num_threads), in both memory layouts: channels-last (what the
// supernet keeps on the CPU, where oneDNN runs without reorders) and NCHW.
//
// Per shape: forward alone (no grad) and forward + backward (grad_input and
// grad_weight, the weight a view of a 7x7 parameter as in the supernet), the
// fastest of --reps timed runs after one warm-up. GMAC/s count the forward's
// N*C*OH*OW*k*k multiply-adds, 3x for forward + backward. Each shape is checked
// first: output and both gradients against at::conv2d's.
//
// OpenMP threads run with OMP_WAIT_POLICY=PASSIVE unless the environment sets
// a policy (the bench re-executes itself to set it before libgomp loads), as
// `tinynas train` runs them: spinning threads are ruinous on shared cores, for
// at::conv2d's oneDNN and for this op alike.
//
// Target: forward + backward >= 2x faster than at::conv2d on each of the first
// six rows. Exits 1 when missed or when a check fails.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "bench/bench_common.h"
#include "supernet/depthwise.h"

namespace tinynas::bench {
namespace {

constexpr double kTargetSpeedup = 2.0;

struct Shape {
  int64_t c, h, k, s;
  bool target;  // the 2x target applies (the other rows are for information)
};

// Depthwise layers of the MCUNet space at width 0.5 (channels = in * expand),
// resolutions 32..96: first the six with the target, then more for reference
// (k = 3, where LibTorch's oneDNN has JIT kernels for all three passes).
const std::vector<Shape> kShapes = {
    {48, 48, 3, 1, true},   {96, 16, 7, 1, true},   {96, 16, 7, 2, true},
    {144, 8, 7, 1, true},   {288, 4, 5, 1, true},   {576, 2, 7, 1, true},
    {48, 48, 7, 2, false},  {288, 8, 5, 2, false},  {96, 16, 3, 1, false},
    {144, 8, 3, 1, false},  {144, 8, 3, 2, false},  {960, 2, 3, 1, false},
};

using Conv = at::Tensor (*)(const at::Tensor&, const at::Tensor&, int64_t);

at::Tensor theirs(const at::Tensor& x, const at::Tensor& w, int64_t s) {
  const int64_t k = w.size(2);
  return at::conv2d(x, w, {}, {s, s}, {k / 2, k / 2}, {1, 1}, x.size(1));
}
at::Tensor ours(const at::Tensor& x, const at::Tensor& w, int64_t s) {
  return supernet::depthwise_conv2d(x, w, s);
}

// The weight as the supernet has it: centre crop of a 7x7 parameter.
at::Tensor crop(const at::Tensor& big, int64_t k) {
  const int64_t o = (7 - k) / 2;
  return big.narrow(2, o, k).narrow(3, o, k);
}

// Fastest of reps runs after one warm-up, in seconds: on a shared machine the
// minimum is the measurement least disturbed by the neighbours.
template <typename F>
double time_it(int reps, F&& f) {
  f();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const double t0 = now_seconds();
    f();
    best = std::min(best, now_seconds() - t0);
  }
  return best;
}

double fwd_time(Conv conv, const at::Tensor& x, const at::Tensor& big, const Shape& sh, int reps) {
  torch::NoGradGuard no_grad;
  const at::Tensor w = crop(big, sh.k);
  return time_it(reps, [&] { conv(x, w, sh.s); });
}

double train_time(Conv conv, const at::Tensor& x0, const at::Tensor& big0, const at::Tensor& gy,
                  const Shape& sh, int reps) {
  const at::Tensor x = x0.clone().requires_grad_(true);
  const at::Tensor big = big0.clone().requires_grad_(true);
  return time_it(reps, [&] {
    const at::Tensor y = conv(x, crop(big, sh.k), sh.s);
    y.backward(gy);
  });
}

// Largest |a - b| relative to max |b|.
double rel_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1e-30, b.abs().max().item<double>());
}

double check(const at::Tensor& x0, const at::Tensor& big0, const at::Tensor& gy, const Shape& sh) {
  double worst = 0;
  std::vector<at::Tensor> out, gx, gw;
  for (Conv conv : {&ours, &theirs}) {
    const at::Tensor x = x0.clone().requires_grad_(true);
    const at::Tensor big = big0.clone().requires_grad_(true);
    const at::Tensor y = conv(x, crop(big, sh.k), sh.s);
    y.backward(gy);
    out.push_back(y.detach());
    gx.push_back(x.grad());
    gw.push_back(big.grad());
  }
  worst = std::max(worst, rel_diff(out[0], out[1]));
  worst = std::max(worst, rel_diff(gx[0], gx[1]));
  worst = std::max(worst, rel_diff(gw[0], gw[1]));
  return worst;
}

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

// One table: every shape in one memory layout. Returns false when a target
// row misses or a check fails.
bool run_layout(bool channels_last, int64_t batch, int reps, int threads) {
  const auto fmt = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  std::printf("%s\n\n", channels_last
                             ? "channels-last (NHWC strides; the supernet's CPU activations)"
                             : "NCHW (contiguous)");
  Table table;
  for (const char* h : {"C", "HxW", "k", "s", "MMAC", "fwd conv2d ms", "fwd ours ms",
                        "fwd conv2d GMAC/s", "fwd ours GMAC/s", "f+b conv2d ms", "f+b ours ms",
                        "f+b conv2d GMAC/s", "f+b ours GMAC/s", "f+b speedup", "max rel diff"})
    table.add_column(h);
  bool ok = true;
  const double w0 = now_seconds(), c0 = cpu_seconds();
  torch::manual_seed(0);
  for (const Shape& sh : kShapes) {
    const at::Tensor x = torch::randn({batch, sh.c, sh.h, sh.h}).contiguous(fmt);
    const at::Tensor big = torch::randn({sh.c, 1, 7, 7}) * 0.1;
    const int64_t oh = (sh.h - 1) / sh.s + 1;
    const at::Tensor gy = torch::randn({batch, sh.c, oh, oh}).contiguous(fmt);
    const double macs = static_cast<double>(batch * sh.c * oh * oh * sh.k * sh.k);

    const double diff = check(x, big, gy, sh);
    const double ft = fwd_time(&theirs, x, big, sh, reps);
    const double fo = fwd_time(&ours, x, big, sh, reps);
    const double bt = train_time(&theirs, x, big, gy, sh, reps);
    const double bo = train_time(&ours, x, big, gy, sh, reps);
    const double speedup = bt / bo;
    const bool good = (!sh.target || speedup >= kTargetSpeedup) && diff < 1e-4;
    ok = ok && good;
    table.add_row({strf("%lld", static_cast<long long>(sh.c)),
                   strf("%lldx%lld", static_cast<long long>(sh.h), static_cast<long long>(sh.h)),
                   strf("%lld", static_cast<long long>(sh.k)), strf("%lld", static_cast<long long>(sh.s)),
                   strf("%.1f", macs * 1e-6), strf("%.2f", ft * 1e3), strf("%.2f", fo * 1e3),
                   strf("%.1f", macs / ft * 1e-9), strf("%.1f", macs / fo * 1e-9),
                   strf("%.2f", bt * 1e3), strf("%.2f", bo * 1e3), strf("%.1f", 3 * macs / bt * 1e-9),
                   strf("%.1f", 3 * macs / bo * 1e-9),
                   strf("%.1fx%s", speedup, !sh.target ? "" : good ? " (>= 2x)" : " MISS"),
                   strf("%.1e", diff)});
  }
  table.print();
  const double wall = now_seconds() - w0, cpu = cpu_seconds() - c0;
  std::printf("\nCPU time / (wall x threads): %.2f; load average %s\n\n", cpu / (wall * threads),
              load_average().c_str());
  return ok;
}

int run(int argc, char** argv) {
  int threads = 2;
  int64_t batch = 128;
  int reps = 10;
  std::string isa, layout = "both";
  CLI::App app{"bench_depthwise: depthwise conv forward / forward+backward, ours vs at::conv2d"};
  app.add_option("--threads", threads, "at::set_num_threads")->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "batch size")->check(CLI::PositiveNumber);
  app.add_option("--reps", reps, "timed runs per measurement (fastest counts)")->check(CLI::PositiveNumber);
  app.add_option("--isa", isa, "force sse2 / avx2 / avx512 (default: the best the CPU has)");
  app.add_option("--layout", layout, "nhwc, nchw or both")
      ->check(CLI::IsMember({"nhwc", "nchw", "both"}));
  CLI11_PARSE(app, argc, argv);
  if (!supernet::depthwise_set_isa(isa)) {
    std::fprintf(stderr, "error: instruction set '%s' not available\n", isa.c_str());
    return 2;
  }
  at::set_num_threads(threads);
  std::printf(
      "bench_depthwise: batch %lld, %d threads (%d in the op's loops), OMP_WAIT_POLICY=%s, "
      "GLIBC_TUNABLES=%s, isa %s, reps %d (fastest counts), load average %s\n\n",
      static_cast<long long>(batch), threads, supernet::depthwise_threads(),
      env_or("OMP_WAIT_POLICY", "(unset)"), env_or("GLIBC_TUNABLES", "(unset)"),
      supernet::depthwise_isa().c_str(), reps, load_average().c_str());
  bool ok = true;
  if (layout != "nchw") ok = run_layout(true, batch, reps, threads) && ok;
  if (layout != "nhwc") ok = run_layout(false, batch, reps, threads) && ok;
  std::printf("target: f+b >= %.1fx at::conv2d on the rows marked, both layouts: %s\n",
              kTargetSpeedup, ok ? "met" : "MISSED");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace tinynas::bench

int main(int argc, char** argv) {
  // libgomp reads the policy when it loads: set it and start again.
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: go on as we are
  }
  return tinynas::bench::run_main(tinynas::bench::run, argc, argv);
}
