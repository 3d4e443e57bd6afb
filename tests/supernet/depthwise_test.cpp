// supernet/depthwise.h against at::conv2d (groups = C): outputs, grad_input and
// grad_weight, through a cropped / leading-channel view of a bigger parameter,
// for every instruction set the CPU has.
#include "supernet/depthwise.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace tinynas::supernet {
namespace {

struct Case {
  int64_t n, c, h, w, k, s;
  bool channels_last = false;  // NHWC strides (as the supernet keeps activations)
  std::string str() const {
    char buf[112];
    std::snprintf(buf, sizeof buf, "n%lld c%lld %lldx%lld k%lld s%lld %s", static_cast<long long>(n),
                  static_cast<long long>(c), static_cast<long long>(h), static_cast<long long>(w),
                  static_cast<long long>(k), static_cast<long long>(s),
                  channels_last ? "NHWC" : "NCHW");
    return buf;
  }
};

constexpr auto kChannelsLast = at::MemoryFormat::ChannelsLast;

at::Tensor reference(const at::Tensor& x, const at::Tensor& w, int64_t s) {
  const int64_t k = w.size(2);
  return at::conv2d(x, w, {}, {s, s}, {k / 2, k / 2}, {1, 1}, x.size(1));
}

void expect_close(const at::Tensor& got, const at::Tensor& want, const std::string& what,
                  double atol = 1e-5) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  EXPECT_TRUE(at::allclose(got, want.to(got.scalar_type()), 1e-4, atol))
      << what << ": max abs diff " << (got - want).abs().max().item<double>();
}

// grad_weight sums N * OH * OW products per tap, with cancellation: in float
// neither at::conv2d nor this op gets every entry within rtol 1e-4 of the
// exact sum (both are off by ~1e-4 of the largest entry on 7 x 48 x 48
// planes). So it is checked against the float64 result, with atol scaled by
// the largest entry; outputs and grad_input against at::conv2d, plainly.
void expect_close_gw(const at::Tensor& got, const at::Tensor& exact, const std::string& what) {
  const double scale = std::max(1.0, exact.abs().max().item<double>());
  expect_close(got, exact, what, 1e-5 * scale);
}

// The weight is the centre k x k crop of the first c channels of a
// [c + 3, 1, 7, 7] parameter: not contiguous, and its gradient must reach the
// parameter (zero outside the crop).
void check(const Case& t) {
  SCOPED_TRACE(t.str());
  at::Tensor x0 = torch::randn({t.n, t.c, t.h, t.w});
  if (t.channels_last) x0 = x0.contiguous(kChannelsLast);
  const at::Tensor big0 = torch::randn({t.c + 3, 1, 7, 7});
  const int64_t o = (7 - t.k) / 2;
  auto crop = [&](const at::Tensor& big) {
    return big.narrow(0, 0, t.c).narrow(2, o, t.k).narrow(3, o, t.k);
  };

  const at::Tensor x = x0.clone().requires_grad_(true);
  const at::Tensor big = big0.clone().requires_grad_(true);
  const at::Tensor wv = crop(big);
  if (t.k < 7) {
    ASSERT_FALSE(wv.is_contiguous());
  }
  const at::Tensor y = depthwise_conv2d(x, wv, t.s);

  const at::Tensor xr = x0.clone().requires_grad_(true);
  const at::Tensor bigr = big0.clone().requires_grad_(true);
  const at::Tensor yr = reference(xr, crop(bigr), t.s);
  expect_close(y, yr, "output");
  // The layout follows the input's (at::conv2d's does too).
  EXPECT_EQ(y.suggest_memory_format(), x.suggest_memory_format());

  at::Tensor gy = torch::randn(yr.sizes());
  if (t.channels_last) gy = gy.contiguous(kChannelsLast);
  y.backward(gy);
  yr.backward(gy);
  expect_close(x.grad(), xr.grad(), "grad_input");
  EXPECT_EQ(x.grad().suggest_memory_format(), x.suggest_memory_format());
  // float64 reference for grad_weight.
  const at::Tensor bigd = big0.to(at::kDouble).requires_grad_(true);
  reference(x0.to(at::kDouble), crop(bigd), t.s).backward(gy.to(at::kDouble));
  expect_close_gw(big.grad(), bigd.grad(), "grad_weight");
  expect_close_gw(bigr.grad(), bigd.grad(), "grad_weight of at::conv2d (the tolerance is fair)");
  // Outside the view nothing.
  EXPECT_EQ(big.grad().narrow(0, t.c, 3).abs().max().item<float>(), 0.0f);
  if (t.k < 7) {
    EXPECT_EQ(big.grad().select(3, 0).abs().max().item<float>(), 0.0f);
  }
}

std::vector<std::string> isas() {
  std::vector<std::string> out;
  for (const char* name : {"sse2", "avx2", "avx512"})
    if (depthwise_set_isa(name)) out.emplace_back(name);
  depthwise_set_isa("");
  return out;
}

class Depthwise : public ::testing::TestWithParam<std::string> {
 protected:
  // One thread: OpenMP's spinning threads make these slow on a busy machine,
  // and the work split does not depend on the thread count (checked bit for
  // bit by SameBitsOnOneAndTwoThreads).
  void SetUp() override {
    at::set_num_threads(1);
    ASSERT_TRUE(depthwise_set_isa(GetParam()));
  }
  void TearDown() override {
    depthwise_set_isa("");
    at::set_num_threads(2);
  }
};

TEST_P(Depthwise, MatchesConv2dOutputAndBothGradients) {
  torch::manual_seed(1);
  for (int64_t k : {3, 5, 7})
    for (int64_t s : {1, 2})
      for (int64_t hw : {1, 2, 3, 7, 15, 16})
        for (int64_t n : {1, 5})
          for (int64_t c : {1, 17})
            for (bool cl : {false, true}) check({n, c, hw, hw, k, s, cl});
}

// Bigger planes and batches than one chunk holds (several chunks per channel,
// the last one partial), and non-square planes.
TEST_P(Depthwise, ManyChunksAndNonSquarePlanes) {
  torch::manual_seed(2);
  for (int64_t k : {3, 5, 7})
    for (int64_t s : {1, 2})
      for (bool cl : {false, true}) {
        check({7, 3, 48, 48, k, s, cl});
        check({37, 2, 8, 8, k, s, cl});
        check({3, 4, 33, 20, k, s, cl});
        check({3, 4, 5, 12, k, s, cl});
        check({2, 3, 1, 9, k, s, cl});
        check({2, 3, 10, 2, k, s, cl});
        check({19, 40, 6, 6, k, s, cl});  // several channel blocks and image groups
      }
}

// Random shapes (odd and even, square or not, planes smaller than the kernel):
// the padding each shape needs is computed, not tabulated.
TEST_P(Depthwise, RandomShapes) {
  torch::manual_seed(6);
  const int cases = std::getenv("TINYNAS_DW_FUZZ") != nullptr ? std::atoi(std::getenv("TINYNAS_DW_FUZZ")) : 40;
  for (int i = 0; i < cases; ++i) {
    const auto r = torch::randint(1, 1 << 20, {6}, at::kLong);
    const auto v = [&](int j, int64_t lo, int64_t hi) { return lo + r[j].item<int64_t>() % (hi - lo + 1); };
    for (bool cl : {false, true})
      check({v(0, 1, 6), v(1, 1, 37), v(2, 1, 21), v(3, 1, 21), 3 + 2 * v(4, 0, 2), v(5, 1, 2), cl});
  }
}

TEST_P(Depthwise, NonContiguousInputAndPartialGradients) {
  torch::manual_seed(3);
  // Leading channels of a bigger activation: a non-contiguous input.
  const at::Tensor act = torch::randn({4, 20, 9, 9});
  const at::Tensor w0 = torch::randn({12, 1, 5, 5});
  for (int64_t s : {1, 2}) {
    SCOPED_TRACE("stride " + std::to_string(s));
    {
      // Only the weight wants a gradient.
      const at::Tensor w = w0.clone().requires_grad_(true);
      const at::Tensor wr = w0.clone().requires_grad_(true);
      const at::Tensor x = act.narrow(1, 0, 12);
      const at::Tensor y = depthwise_conv2d(x, w, s);
      const at::Tensor yr = reference(x, wr, s);
      expect_close(y, yr, "output");
      const at::Tensor gy = torch::randn_like(yr);
      y.backward(gy);
      const at::Tensor wd = w0.to(at::kDouble).requires_grad_(true);
      reference(x.to(at::kDouble), wd, s).backward(gy.to(at::kDouble));
      expect_close_gw(w.grad(), wd.grad(), "grad_weight");
    }
    {
      // Only the input wants one; grad_output not contiguous (from a sum
      // over a broadcast).
      const at::Tensor x = act.narrow(1, 0, 12).clone().requires_grad_(true);
      const at::Tensor xr = act.narrow(1, 0, 12).clone().requires_grad_(true);
      depthwise_conv2d(x, w0, s).sum().backward();
      reference(xr, w0, s).sum().backward();
      expect_close(x.grad(), xr.grad(), "grad_input");
    }
  }
}

// The supernet's activations: channels-last, the depthwise reading the leading
// channels of a wider one (not contiguous in either layout), grad_output from
// a channels-last BN, or from a sum (expanded, no layout at all).
TEST_P(Depthwise, ChannelsLastViewsAndOddGradients) {
  torch::manual_seed(8);
  const at::Tensor act = torch::randn({4, 40, 9, 9}).contiguous(kChannelsLast);
  const at::Tensor w0 = torch::randn({24, 1, 7, 7});
  for (int64_t s : {1, 2}) {
    SCOPED_TRACE("stride " + std::to_string(s));
    const at::Tensor x = act.narrow(1, 0, 24).clone(kChannelsLast).requires_grad_(true);
    const at::Tensor xr = x.detach().clone().requires_grad_(true);
    const at::Tensor w = w0.clone().requires_grad_(true), wr = w0.clone().requires_grad_(true);
    const at::Tensor y = depthwise_conv2d(x, w, s), yr = reference(xr, wr, s);
    expect_close(y, yr, "output");
    const at::Tensor c = torch::randn(yr.sizes()).contiguous(kChannelsLast);
    (y * c).sum().backward();
    (yr * c).sum().backward();
    expect_close(x.grad(), xr.grad(), "grad_input");
    expect_close_gw(w.grad(), wr.grad().to(at::kDouble), "grad_weight");
    // Input only the narrow view (neither layout's contiguous): copied in.
    {
      torch::NoGradGuard no_grad;
      const at::Tensor v = act.narrow(1, 0, 24);
      expect_close(depthwise_conv2d(v, w0, s), reference(v, w0, s), "narrow input");
    }
  }
}

TEST_P(Depthwise, NoGradForwardAndFallbacks) {
  torch::manual_seed(4);
  const at::Tensor x = torch::randn({3, 6, 11, 11});
  const at::Tensor w = torch::randn({6, 1, 7, 7});
  {
    torch::NoGradGuard no_grad;
    for (int64_t s : {1, 2}) expect_close(depthwise_conv2d(x, w, s), reference(x, w, s), "no-grad");
  }
  // Not ours: double, stride 3, k = 9, k = 4 (all at::conv2d).
  const at::Tensor xd = x.to(at::kDouble), wd = w.to(at::kDouble);
  expect_close(depthwise_conv2d(xd, wd, 1), reference(xd, wd, 1), "double");
  expect_close(depthwise_conv2d(x, w, 3), reference(x, w, 3), "stride 3");
  const at::Tensor w9 = torch::randn({6, 1, 9, 9});
  expect_close(depthwise_conv2d(x, w9, 1), reference(x, w9, 1), "k 9");
}

// A few steps of SGD through the op and through at::conv2d stay together: the
// gradient really accumulates into the shared parameter.
TEST_P(Depthwise, TrainingStepsOnASharedParameter) {
  torch::manual_seed(5);
  const at::Tensor big0 = torch::randn({16, 1, 7, 7}) * 0.1;
  at::Tensor a = big0.clone().requires_grad_(true), b = big0.clone().requires_grad_(true);
  torch::optim::SGD oa({a}, torch::optim::SGDOptions(0.1)), ob({b}, torch::optim::SGDOptions(0.1));
  for (int step = 0; step < 4; ++step) {
    const int64_t k = 3 + 2 * (step % 3), c = 8 + 2 * step, s = 1 + step % 2, o = (7 - k) / 2;
    const at::Tensor x = torch::randn({4, c, 10, 10});
    auto view = [&](const at::Tensor& p) { return p.narrow(0, 0, c).narrow(2, o, k).narrow(3, o, k); };
    oa.zero_grad();
    ob.zero_grad();
    depthwise_conv2d(x, view(a), s).pow(2).mean().backward();
    reference(x, view(b), s).pow(2).mean().backward();
    oa.step();
    ob.step();
    EXPECT_TRUE(at::allclose(a, b, 1e-4, 1e-6)) << "step " << step;
  }
}

// No reduction crosses threads (grad_weight: one thread per channel), so the
// results are bit for bit the same on any number of threads.
TEST_P(Depthwise, SameBitsOnOneAndTwoThreads) {
  torch::manual_seed(7);
  const at::Tensor x0 = torch::randn({9, 24, 13, 13}), w0 = torch::randn({24, 1, 5, 5});
  for (int64_t s : {1, 2}) {
    const at::Tensor gy = torch::randn({9, 24, (13 - 1) / s + 1, (13 - 1) / s + 1});
    std::vector<at::Tensor> got[2];
    for (bool cl : {false, true}) {
      for (int threads : {1, 2}) {
        at::set_num_threads(threads);
        at::Tensor x = x0.clone();
        if (cl) x = x.contiguous(kChannelsLast);
        x.requires_grad_(true);
        const at::Tensor w = w0.clone().requires_grad_(true);
        const at::Tensor y = depthwise_conv2d(x, w, s);
        y.backward(gy);
        got[threads - 1] = {y.detach(), x.grad(), w.grad()};
      }
      for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(at::equal(got[0][i], got[1][i])) << "stride " << s << " tensor " << i << (cl ? " NHWC" : " NCHW");
    }
  }
  at::set_num_threads(2);
}

INSTANTIATE_TEST_SUITE_P(Isa, Depthwise, ::testing::ValuesIn(isas()),
                         [](const auto& info) { return info.param; });

// at::parallel_for is inline OpenMP: without -fopenmp on depthwise.cpp it is
// silently serial.
TEST(DepthwiseThreads, LoopsRunOnTheIntraOpThreads) {
  at::set_num_threads(2);
  EXPECT_EQ(depthwise_threads(), 2);
  at::set_num_threads(1);
  EXPECT_EQ(depthwise_threads(), 1);
  at::set_num_threads(2);
}

TEST(DepthwiseIsa, BestIsChosenAndUnknownRefused) {
  EXPECT_FALSE(depthwise_set_isa("neon9000"));
  EXPECT_TRUE(depthwise_set_isa(""));
  const std::string best = depthwise_isa();
  EXPECT_TRUE(best == "sse2" || best == "avx2" || best == "avx512") << best;
}

}  // namespace
}  // namespace tinynas::supernet
