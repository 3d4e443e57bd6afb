#include "supernet/supernet.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/op_graph.h"
#include "core/rng.h"
#include "core/search_space.h"
#include "datasets/loader.h"
#include "deploy/quantize.h"

namespace tinynas::supernet {
namespace {

// The MCUNet space at one width, two resolutions, 10 classes; optionally a
// feature-mix layer (OFA has one, MCUNet's zoo does not).
SearchSpace test_space(double width, int32_t feature_mix) {
  SearchSpace s = restrict_space(load_search_space("mcunet"), width, 48);
  s.resolutions = {48, 64};
  s.num_classes = 10;
  s.feature_mix_channels = feature_mix;
  return s;
}

SupernetOptions opts(uint64_t seed = 1) {
  SupernetOptions o;
  o.seed = seed;
  o.threads = 2;
  return o;
}

at::Tensor param(Supernet& net, const std::string& name) {
  for (const auto& p : net.module().named_parameters())
    if (p.key() == name) return p.value();
  for (const auto& p : net.module().named_buffers())
    if (p.key() == name) return p.value();
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

at::Tensor named(const torch::nn::Module& m, const std::string& name) {
  for (const auto& p : m.named_parameters())
    if (p.key() == name) return p.value();
  ADD_FAILURE() << "no parameter " << name;
  return {};
}

// Non-trivial BN affine parameters and classifier, then BN statistics of the
// largest subnet from a few random batches; leaves the net in eval mode.
void randomize(Supernet& net) {
  torch::manual_seed(7);
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : net.module().named_parameters()) {
      const std::string& n = p.key();
      if (n.ends_with("_bn_w")) p.value().uniform_(0.5, 1.5);
      else if (n.ends_with("_bn_b")) p.value().normal_(0.0, 0.2);
      else if (n.starts_with("classifier")) p.value().normal_(0.0, 0.2);
    }
  }
  net.set_active(net.largest());
  std::vector<at::Tensor> batches;
  for (int i = 0; i < 3; ++i) batches.push_back(torch::randn({4, 3, 48, 48}));
  net.recalibrate_bn(batches);
  net.eval();
}

std::vector<ArchSpec> some_archs(const Supernet& net, int random, uint64_t seed) {
  std::vector<ArchSpec> archs{net.smallest(), net.largest()};
  Rng rng(seed);
  for (int i = 0; i < random; ++i) archs.push_back(decode(net.space(), sample(net.space(), rng)));
  return archs;
}

float max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<float>();
}

TEST(Supernet, ExtractedModuleMatchesSupernetInEval) {
  for (const int32_t fmix : {0, 64}) {
    Supernet net(test_space(0.3, fmix), opts());
    randomize(net);
    torch::manual_seed(11);
    for (ArchSpec arch : some_archs(net, 4, 3 + fmix)) {
      for (const int32_t r : {48, 64}) {
        arch.resolution = r;
        net.set_active(arch);
        const at::Tensor x = torch::randn({2, 3, r, r});
        const at::Tensor a = net.forward(x);
        auto seq = torch::nn::Sequential(net.extract(arch));
        seq->eval();
        const at::Tensor b = seq->forward(x);
        ASSERT_EQ(a.sizes(), b.sizes());
        EXPECT_EQ(a.size(1), 10);
        EXPECT_LT(max_abs_diff(a, b), 1e-5f) << "fmix " << fmix << " resolution " << r;
        EXPECT_GT(a.abs().max().item<float>(), 1e-3f);  // not trivially zero
      }
    }
  }
}

// The accuracy evaluator's module: every BN folded into its conv gives the
// supernet's eval-mode logits within float rounding, and the same
// predictions; the fold copies, so the extracted module is unchanged.
TEST(Supernet, BnFoldedModuleMatchesSupernetInEval) {
  for (const int32_t fmix : {0, 64}) {
    Supernet net(test_space(0.3, fmix), opts());
    randomize(net);
    torch::manual_seed(13);
    for (ArchSpec arch : some_archs(net, 4, 5 + fmix)) {
      for (const int32_t r : {48, 64}) {
        arch.resolution = r;
        net.set_active(arch);
        torch::NoGradGuard no_grad;
        const at::Tensor x = torch::randn({8, 3, r, r});
        const at::Tensor a = net.forward(x);
        auto extracted = net.extract(arch);
        extracted->eval();
        const auto folded = fold_for_inference(*extracted);
        const at::Tensor b = folded->forward(x);
        ASSERT_EQ(a.sizes(), b.sizes());
        const float scale = a.abs().max().item<float>();
        EXPECT_GT(scale, 1e-3f);
        EXPECT_LT(max_abs_diff(a, b), 1e-4f * std::max(1.0f, scale)) << "fmix " << fmix << " resolution " << r;
        EXPECT_TRUE(a.argmax(1).equal(b.argmax(1)));
        EXPECT_LT(max_abs_diff(a, extracted->forward(x)), 1e-5f);
      }
    }
  }
}

// In training mode BN normalises with the batch statistics of the active
// channels only: the extracted module (its own BNs of exactly those channels)
// computes the same.
TEST(Supernet, TrainModeUsesBatchStatisticsOfTheActiveChannels) {
  Supernet net(test_space(0.3, 0), opts(2));
  randomize(net);
  torch::manual_seed(19);
  const at::Tensor x = torch::randn({4, 3, 48, 48});
  for (const ArchSpec& arch : some_archs(net, 2, 8)) {
    auto seq = torch::nn::Sequential(net.extract(arch));
    seq->train();
    net.set_active(arch);
    net.train();
    torch::NoGradGuard no_grad;
    EXPECT_LT(max_abs_diff(net.forward(x), seq->forward(x)), 1e-4f);
  }
}

TEST(Supernet, ExtractedLayersFollowTheOneLowering) {
  for (const int32_t fmix : {0, 64}) {
    Supernet net(test_space(0.5, fmix), opts());
    for (const ArchSpec& arch : some_archs(net, 5, 17)) {
      const auto seq = net.extract(arch);
      const std::vector<LayerShape> shapes = layer_shapes(*seq);
      const OpGraph g = lower(arch);
      ASSERT_EQ(shapes.size(), g.ops.size());
      for (size_t i = 0; i < shapes.size(); ++i) {
        const Op& op = g.ops[i];
        SCOPED_TRACE("op " + std::to_string(i) + " " + op_kind_name(op.kind));
        EXPECT_EQ(shapes[i].kind, op.kind);
        EXPECT_EQ(shapes[i].kernel, op.kernel);
        EXPECT_EQ(shapes[i].stride, op.stride);
        EXPECT_EQ(shapes[i].in_channels, g.tensors[op.input].shape.c);
        EXPECT_EQ(shapes[i].out_channels, g.tensors[op.output].shape.c);
      }
    }
  }
}

TEST(Supernet, SmallerChoicesAreSlicesOfTheSharedWeights) {
  Supernet net(test_space(0.5, 0), opts());
  ArchSpec arch = net.smallest();  // kernel 3, expand 3, depth 2 everywhere
  const BlockSpec& b = arch.stages[1].blocks[0];
  ASSERT_EQ(b.kernel, 3);
  const int64_t mid = b.mid_channels;
  EXPECT_EQ(mid, make_divisible(arch.stages[0].blocks[0].out_channels * 3.0, 8));
  const auto seq = net.extract(arch);
  const at::Tensor dw = param(net, "s1b0_dw_w");
  EXPECT_EQ(dw.size(2), 7);
  EXPECT_TRUE(named(*seq, "2.dw.conv.weight").equal(dw.narrow(0, 0, mid).narrow(2, 2, 3).narrow(3, 2, 3)));
  EXPECT_TRUE(named(*seq, "2.expand.conv.weight").equal(param(net, "s1b0_expand_w").narrow(0, 0, mid)));
  EXPECT_TRUE(named(*seq, "2.proj.conv.weight").equal(param(net, "s1b0_proj_w").narrow(1, 0, mid)));
  EXPECT_TRUE(named(*seq, "2.dw.bn.weight").equal(param(net, "s1b0_dw_bn_w").narrow(0, 0, mid)));
  // Depth 2 of 4: stage 1's blocks are children 2 and 3, stage 2 starts at 4
  // with the stride-2 block whose input is stage 1's output.
  EXPECT_TRUE(named(*seq, "4.proj.conv.weight").equal(param(net, "s2b0_proj_w").narrow(1, 0, arch.stages[2].blocks[0].mid_channels)));
  // The extracted module owns copies.
  {
    torch::NoGradGuard no_grad;
    named(*seq, "2.dw.conv.weight").fill_(0.0);
  }
  EXPECT_GT(dw.abs().sum().item<float>(), 0.0f);
}

TEST(Supernet, RejectsWhatIsNotInItsSpace) {
  EXPECT_THROW(Supernet(load_search_space("mcunet"), opts()), Error);  // nine widths
  Supernet net(test_space(0.3, 0), opts());
  ArchSpec a = net.largest();
  a.stages[2].blocks[1].kernel = 9;
  EXPECT_THROW(net.set_active(a), Error);
  EXPECT_THROW(net.extract(a), Error);
  ArchSpec c = net.largest();
  c.num_classes = 11;
  EXPECT_THROW(net.set_active(c), Error);
  ArchSpec r = net.largest();
  r.resolution = 96;
  EXPECT_THROW(net.set_active(r), Error);
  EXPECT_EQ(net.active(), net.largest());
  EXPECT_THROW(net.forward(torch::randn({1, 4, 48, 48})), Error);
  EXPECT_THROW(net.forward(torch::randn({3, 48, 48})), Error);
  EXPECT_THROW(net.recalibrate_bn(std::vector<at::Tensor>{}), Error);
}

TEST(Supernet, RecalibrateBnAveragesBatchStatisticsOfTheActiveChannels) {
  Supernet net(test_space(0.3, 0), opts());
  const ArchSpec small = net.smallest();
  net.set_active(small);
  const int64_t mid = small.stages[1].blocks[0].mid_channels;
  const at::Tensor var = param(net, "s1b0_expand_bn_var");
  ASSERT_GT(var.size(0), mid);
  {
    torch::NoGradGuard no_grad;
    var.fill_(7.0);
  }
  torch::manual_seed(3);
  std::vector<at::Tensor> batches{torch::randn({4, 3, 48, 48}), torch::randn({4, 3, 48, 48})};
  net.eval();
  net.recalibrate_bn(batches);
  EXPECT_FALSE(net.module().is_training());
  // Inactive entries keep their values; active ones were recomputed.
  EXPECT_TRUE((var.narrow(0, mid, var.size(0) - mid) == 7.0).all().item<bool>());
  EXPECT_TRUE((var.narrow(0, 0, mid) != 7.0).all().item<bool>());
  // The first BN's running mean is the plain average of the per-batch means.
  at::Tensor expected = torch::zeros({param(net, "first_conv_w").size(0)});
  for (const auto& x : batches)
    expected += at::conv2d(x, param(net, "first_conv_w").detach(), {}, {2, 2}, {1, 1}).mean({0, 2, 3});
  expected /= 2.0;
  EXPECT_LT(max_abs_diff(param(net, "first_conv_bn_mean"), expected), 1e-5f);

  // The datasets::Batch overload gives the same statistics.
  const at::Tensor before = param(net, "s3b1_proj_bn_var").clone();
  std::vector<datasets::Batch> plain(2);
  for (size_t i = 0; i < 2; ++i) {
    plain[i].size = 4;
    plain[i].channels = 3;
    plain[i].height = plain[i].width = 48;
    const at::Tensor c = batches[i].contiguous();
    plain[i].images.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  net.recalibrate_bn(plain);
  EXPECT_LT(max_abs_diff(param(net, "s3b1_proj_bn_var"), before), 1e-6f);
  plain[1].images.pop_back();
  EXPECT_THROW(net.recalibrate_bn(plain), Error);
}

TEST(Supernet, SortingChannelsKeepsTheLargestSubnetAndPutsImportantFirst) {
  Supernet net(test_space(0.3, 64), opts(5));
  randomize(net);
  torch::manual_seed(13);
  const at::Tensor x = torch::randn({2, 3, 48, 48});
  const ArchSpec big = net.largest();
  net.set_active(big);
  const at::Tensor before = net.forward(x);
  const at::Tensor w_before = param(net, "s2b1_expand_w").clone();
  net.sort_channels();
  const at::Tensor after = net.forward(x);
  EXPECT_LT(max_abs_diff(before, after), 1e-4f * std::max(1.0f, before.abs().max().item<float>()));
  EXPECT_FALSE(param(net, "s2b1_expand_w").equal(w_before));  // something moved
  int checked = 0;
  for (const auto& p : net.module().named_parameters()) {
    if (!p.key().ends_with("_expand_w")) continue;
    const at::Tensor norms = p.value().detach().abs().sum({1, 2, 3});
    const at::Tensor diffs = norms.narrow(0, 1, norms.size(0) - 1) - norms.narrow(0, 0, norms.size(0) - 1);
    EXPECT_LE(diffs.max().item<float>(), 0.0f) << p.key();
    ++checked;
  }
  EXPECT_EQ(checked, big.num_blocks() - 1);  // every block but the fixed first one
}

TEST(Supernet, FoldedFloatWeightsReproduceTheExtractedModule) {
  for (const int32_t fmix : {0, 64}) {
    Supernet net(test_space(0.3, fmix), opts(9));
    randomize(net);
    torch::manual_seed(21);
    for (const ArchSpec& arch : some_archs(net, 2, 31)) {
      const std::vector<OpWeights> fw = net.float_weights(arch);
      const OpGraph g = lower(arch);
      ASSERT_EQ(fw.size(), g.ops.size());
      for (size_t i = 0; i < g.ops.size(); ++i) {
        const Op& op = g.ops[i];
        EXPECT_EQ(static_cast<int64_t>(fw[i].weights.size()), op.weights) << "op " << i;
        EXPECT_EQ(static_cast<int64_t>(fw[i].bias.size()), op.kind == OpKind::kAdd || op.kind == OpKind::kAvgPool ? 0 : op.biases) << "op " << i;
      }
      const int r = arch.resolution;
      const at::Tensor x = torch::randn({1, 3, r, r});
      auto seq = torch::nn::Sequential(net.extract(arch));
      seq->eval();
      const at::Tensor expected = seq->forward(x).reshape({-1}).contiguous();
      const at::Tensor nhwc = x.permute({0, 2, 3, 1}).contiguous();
      // deploy's float network (what int8 calibration runs) on the exported weights.
      deploy::FloatModel fm;
      fm.arch = arch;
      fm.graph = g;
      for (const OpWeights& w : fw) fm.ops.push_back({w.weights, w.bias});
      const std::vector<float> got = deploy::float_forward(
          fm, std::vector<float>(nhwc.data_ptr<float>(), nhwc.data_ptr<float>() + nhwc.numel()));
      ASSERT_EQ(static_cast<int64_t>(got.size()), expected.numel());
      const float scale = std::max(1.0f, expected.abs().max().item<float>());
      for (size_t j = 0; j < got.size(); ++j)
        EXPECT_NEAR(got[j], expected[static_cast<int64_t>(j)].item<float>(), 1e-4f * scale) << "logit " << j;
    }
  }
}

TEST(Supernet, SandwichTrainStepLowersTheLossOnAFixedBatch) {
  Supernet net(test_space(0.3, 0), opts(4));
  torch::manual_seed(5);
  const at::Tensor x = torch::randn({8, 3, 48, 48});
  const at::Tensor y = torch::randint(0, 10, {8}, torch::kLong);
  torch::optim::SGD sgd(net.module().parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  const double first = net.train_step(x, y, sgd, 1, 100, 0.0);
  double last = first;
  for (int i = 1; i < 12; ++i) last = net.train_step(x, y, sgd, 1, 100 + i, 0.0);
  EXPECT_TRUE(std::isfinite(last));
  EXPECT_LT(last, first);
  EXPECT_EQ(net.active(), net.largest());
}

}  // namespace
}  // namespace tinynas::supernet
