#include "supernet/supernet.h"
#include "supernet/depthwise.h"
#include "supernet/distributed.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <thread>
#include <utility>

#include "core/error.h"
#include "core/rng.h"
#include "datasets/loader.h"

namespace tinynas::supernet {
namespace {

constexpr double kBnEps = 1e-5;
constexpr double kBnMomentum = 0.1;

// Runs f, turning LibTorch's c10::Error into tinynas::Error.
template <typename F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw Error(std::string("supernet: ") + what + ": " + e.what_without_backtrace());
  }
}

// In place: every activation follows a BN, whose output nothing else holds
// (BN's backward needs its input, not its output), and the in-place
// hardtanh_/relu_ backward needs only the result. Saves one activation-sized
// allocation and pass per layer (torch.nn.ReLU6(inplace=True), as OFA/MCUNet).
at::Tensor activate_(at::Tensor x, Activation a) {
  switch (a) {
    case Activation::kRelu6: return at::hardtanh_(x, 0.0, 6.0);
    case Activation::kRelu: return at::relu_(x);
    case Activation::kNone: return x;
  }
  return x;
}

// On the CPU every activation is kept channels-last (NHWC strides; the tensors
// stay logically NCHW). LibTorch 1.13 hands convolutions to oneDNN; with
// NCHW (contiguous) tensors it reorders activations to and from oneDNN's
// blocked layout around every conv, forward and backward, and its backward
// for depthwise and 1x1 convs is several times slower than with NHWC, which
// oneDNN runs directly. BN, hardtanh, add and the global average pool all
// have channels-last CPU kernels. A no-op for tensors already channels-last,
// and on other devices.
at::Tensor to_channels_last(const at::Tensor& x) {
  if (!x.device().is_cpu() || x.dim() != 4) return x;
  return x.contiguous(at::MemoryFormat::ChannelsLast);
}

// Depthwise layers go to our own kernels (supernet/depthwise.h: 4-70x faster
// forward + backward than LibTorch 1.13's on the CPU); the rest to at::conv2d.
at::Tensor conv(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t groups) {
  if (groups > 1 && groups == x.size(1) && w.size(1) == 1) return depthwise_conv2d(x, w, stride);
  const int64_t k = w.size(2);
  return at::conv2d(x, w.contiguous(), {}, {stride, stride}, {k / 2, k / 2}, {1, 1}, groups);
}

// The leading c entries of a parameter along dim; the parameter itself when
// that is all of it (no view: no slice in the autograd graph, whose backward
// would allocate and zero a parameter-sized gradient).
at::Tensor lead(const at::Tensor& t, int64_t dim, int64_t c) {
  return c == t.size(dim) ? t : t.narrow(dim, 0, c);
}

struct BnParams {
  at::Tensor w, b, mean, var;
};

struct ConvLayer {
  at::Tensor w;  // [out, in / groups, k, k]
  BnParams bn;
};

struct BlockParams {
  bool has_expand = false;
  int32_t in = 0, out = 0, stride = 1, mid_max = 0, kmax = 3;
  ConvLayer expand, dw, proj;
};

// ---- the standalone modules extract() builds --------------------------------

struct ConvBnImpl : torch::nn::Module {
  ConvBnImpl(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups, Activation a)
      : act(a) {
    conv = register_module(
        "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k)
                                      .stride(stride)
                                      .padding(k / 2)
                                      .groups(groups)
                                      .bias(false)));
    bn = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out).eps(kBnEps)));
  }
  at::Tensor forward(at::Tensor x) {
    x = to_channels_last(x);
    const auto& o = conv->options;
    // The same depthwise kernels as the supernet (same results, same speed).
    at::Tensor y = o.groups() > 1 && o.groups() == o.in_channels()
                       ? depthwise_conv2d(x, conv->weight, (*o.stride())[0])
                       : conv(x);
    return activate_(bn(y), act);
  }
  Activation act;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(ConvBn);

struct BlockImpl : torch::nn::Module {
  at::Tensor forward(at::Tensor x) {
    at::Tensor y = expand.is_empty() ? x : expand(x);
    y = proj(dw(y));
    return residual ? y + x : y;
  }
  ConvBn expand{nullptr}, dw{nullptr}, proj{nullptr};
  bool residual = false;
};
TORCH_MODULE(Block);

struct PoolImpl : torch::nn::Module {
  at::Tensor forward(at::Tensor x) { return x.mean({2, 3}); }
};
TORCH_MODULE(Pool);

void copy_conv(ConvBnImpl& m, const at::Tensor& w, const BnParams& bn, int64_t c) {
  m.conv->weight.copy_(w);
  m.bn->weight.copy_(bn.w.narrow(0, 0, c));
  m.bn->bias.copy_(bn.b.narrow(0, 0, c));
  m.bn->running_mean.copy_(bn.mean.narrow(0, 0, c));
  m.bn->running_var.copy_(bn.var.narrow(0, 0, c));
}

LayerShape shape_of(const ConvBnImpl& m) {
  const auto& o = m.conv->options;
  LayerShape s;
  s.kernel = static_cast<int32_t>((*o.kernel_size())[0]);
  s.stride = static_cast<int32_t>((*o.stride())[0]);
  s.out_channels = static_cast<int32_t>(m.conv->weight.size(0));
  s.in_channels = static_cast<int32_t>(m.conv->weight.size(1) * o.groups());
  if (o.groups() > 1 && o.groups() == o.in_channels()) s.kind = OpKind::kDepthwiseConv2d;
  else if (s.kernel == 1) s.kind = OpKind::kPointwiseConv2d;
  else s.kind = OpKind::kConv2d;
  return s;
}

// Folds the module's BN into its conv; returns the weights in runtime layout.
OpWeights fold(const ConvBnImpl& m, OpKind kind) {
  const at::Tensor w = m.conv->weight.detach().to(torch::kCPU, torch::kFloat);
  const at::Tensor scale = (m.bn->weight.detach() /
                            (m.bn->running_var.detach() + m.bn->options.eps()).sqrt())
                               .to(torch::kCPU, torch::kFloat);
  at::Tensor fw = w * scale.view({-1, 1, 1, 1});
  if (kind == OpKind::kConv2d) fw = fw.permute({0, 2, 3, 1});  // OIHW -> OHWI
  fw = fw.contiguous();
  const at::Tensor bias = (m.bn->bias.detach().to(torch::kCPU, torch::kFloat) -
                           m.bn->running_mean.detach().to(torch::kCPU, torch::kFloat) * scale)
                              .contiguous();
  OpWeights out;
  out.weights.assign(fw.data_ptr<float>(), fw.data_ptr<float>() + fw.numel());
  out.bias.assign(bias.data_ptr<float>(), bias.data_ptr<float>() + bias.numel());
  return out;
}

// ---- BN folded into the convs, for inference ----------------------------------

// A conv whose BN is folded into its weight and a bias (eval mode only): one
// pass over the output fewer than conv + BN, and the bias is fused into
// oneDNN's conv. The depthwise kernel has no bias: it is added in place.
struct FoldedConvImpl : torch::nn::Module {
  explicit FoldedConvImpl(const ConvBnImpl& m) : act(m.act) {
    torch::NoGradGuard no_grad;
    const auto& o = m.conv->options;
    stride = (*o.stride())[0];
    padding = (*o.kernel_size())[0] / 2;
    groups = o.groups();
    depthwise = groups > 1 && groups == o.in_channels();
    const at::Tensor scale = m.bn->weight / (m.bn->running_var + m.bn->options.eps()).sqrt();
    weight = register_buffer("weight", (m.conv->weight * scale.view({-1, 1, 1, 1})).contiguous());
    bias = register_buffer("bias", (m.bn->bias - m.bn->running_mean * scale).contiguous());
    if (!depthwise) weight = weight.contiguous(at::MemoryFormat::ChannelsLast);
  }
  at::Tensor forward(at::Tensor x) {
    x = to_channels_last(x);
    at::Tensor y;
    if (depthwise) {
      y = depthwise_conv2d(x, weight, stride);
      y.add_(bias.view({1, -1, 1, 1}));
    } else {
      y = at::conv2d(x, weight, bias, stride, padding, 1, groups);
    }
    return activate_(y, act);
  }
  Activation act;
  int64_t stride = 1, padding = 0, groups = 1;
  bool depthwise = false;
  at::Tensor weight, bias;
};
TORCH_MODULE(FoldedConv);

struct FoldedBlockImpl : torch::nn::Module {
  at::Tensor forward(at::Tensor x) {
    at::Tensor y = expand.is_empty() ? x : expand(x);
    y = proj(dw(y));
    return residual ? y.add_(x) : y;
  }
  FoldedConv expand{nullptr}, dw{nullptr}, proj{nullptr};
  bool residual = false;
};
TORCH_MODULE(FoldedBlock);

}  // namespace

std::shared_ptr<torch::nn::SequentialImpl> fold_for_inference(const torch::nn::SequentialImpl& extracted) {
  return guarded("fold_for_inference", [&] {
    auto seq = std::make_shared<torch::nn::SequentialImpl>();
    for (const auto& child : extracted.children()) {
      if (auto* m = dynamic_cast<ConvBnImpl*>(child.get())) {
        seq->push_back(FoldedConv(*m));
      } else if (auto* b = dynamic_cast<BlockImpl*>(child.get())) {
        FoldedBlock f;
        if (!b->expand.is_empty()) f->expand = f->register_module("expand", FoldedConv(*b->expand));
        f->dw = f->register_module("dw", FoldedConv(*b->dw));
        f->proj = f->register_module("proj", FoldedConv(*b->proj));
        f->residual = b->residual;
        seq->push_back(f);
      } else if (dynamic_cast<PoolImpl*>(child.get()) != nullptr) {
        seq->push_back(Pool());
      } else if (auto* fc = dynamic_cast<torch::nn::LinearImpl*>(child.get())) {
        torch::NoGradGuard no_grad;
        torch::nn::Linear copy(fc->weight.size(1), fc->weight.size(0));
        copy->to(fc->weight.device());
        copy->weight.copy_(fc->weight);
        copy->bias.copy_(fc->bias);
        seq->push_back(copy);
      } else {
        throw Error("supernet: fold_for_inference: '" + child->name() + "' is not a layer extract() makes");
      }
    }
    seq->eval();
    return seq;
  });
}

void set_threads(int32_t threads) {
  int32_t n = threads;
  if (n <= 0) n = static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
}

// ---- the supernet -------------------------------------------------------------

class SupernetImpl : public torch::nn::Module {
 public:
  SupernetImpl(const SearchSpace& space, const SupernetOptions& options) : space_(space) {
    validate(space_);
    if (space_.widths.size() != 1)
      throw Error("supernet: search space '" + space_.name + "' has " +
                  std::to_string(space_.widths.size()) +
                  " widths; restrict it to one (restrict_space) first");
    set_threads(options.threads);
    guarded("building the supernet", [&] { build(options.seed); });
  }

  const SearchSpace& space() const { return space_; }
  const ArchSpec& active() const { return active_; }

  void set_active(const ArchSpec& arch) {
    std::string why;
    if (!contains(space_, arch, &why)) throw Error("supernet: cannot activate: " + why);
    active_ = arch;
  }

  at::Tensor forward(const at::Tensor& images) {
    if (images.dim() != 4 || images.size(1) != space_.in_channels)
      throw Error("supernet: expected an NCHW batch with " + std::to_string(space_.in_channels) +
                  " channels, got " + std::to_string(images.dim()) + " dimensions");
    const Activation act = space_.activation;
    at::Tensor x = to_channels_last(images.to(first_conv_.w.device(), torch::kFloat));
    x = activate_(bn(conv(x, first_conv_.w, first_stride_, 1), first_conv_.bn,
                     first_conv_.w.size(0)),
                  act);
    for (size_t si = 0; si < active_.stages.size(); ++si) {
      const auto& blocks = active_.stages[si].blocks;
      for (size_t j = 0; j < blocks.size(); ++j) {
        const BlockSpec& spec = blocks[j];
        const BlockParams& p = blocks_[si][j];
        const int64_t mid = spec.mid_channels;
        at::Tensor y = x;
        if (spec.expand != 1) {
          y = conv(y, lead(p.expand.w, 0, mid), 1, 1);
          y = activate_(bn(y, p.expand.bn, mid), act);
        }
        at::Tensor dw = lead(p.dw.w, 0, mid);
        if (spec.kernel != p.kmax) {
          const int64_t off = (p.kmax - spec.kernel) / 2;
          dw = dw.narrow(2, off, spec.kernel).narrow(3, off, spec.kernel);
        }
        y = activate_(bn(conv(y, dw, spec.stride, mid), p.dw.bn, mid), act);
        y = bn(conv(y, lead(p.proj.w, 1, mid), 1, 1), p.proj.bn, p.out);
        x = spec.residual ? y + x : y;
      }
    }
    if (space_.feature_mix_channels > 0)
      x = activate_(bn(conv(x, feature_mix_.w, 1, 1), feature_mix_.bn, feature_mix_.w.size(0)),
                    act);
    x = x.mean({2, 3});
    return at::linear(x, classifier_w_, classifier_b_);
  }

  // (BN, active channels) of the active subnet, in forward order.
  std::vector<std::pair<const BnParams*, int64_t>> active_bns() const {
    std::vector<std::pair<const BnParams*, int64_t>> out;
    out.emplace_back(&first_conv_.bn, first_conv_.w.size(0));
    for (size_t si = 0; si < active_.stages.size(); ++si) {
      for (size_t j = 0; j < active_.stages[si].blocks.size(); ++j) {
        const BlockSpec& spec = active_.stages[si].blocks[j];
        const BlockParams& p = blocks_[si][j];
        if (spec.expand != 1) out.emplace_back(&p.expand.bn, spec.mid_channels);
        out.emplace_back(&p.dw.bn, spec.mid_channels);
        out.emplace_back(&p.proj.bn, p.out);
      }
    }
    if (space_.feature_mix_channels > 0)
      out.emplace_back(&feature_mix_.bn, feature_mix_.w.size(0));
    return out;
  }

  void recalibrate_bn(const std::vector<at::Tensor>& batches) {
    if (batches.empty()) throw Error("supernet: recalibrate_bn needs at least one batch");
    torch::NoGradGuard no_grad;
    const bool was_training = is_training();
    for (const auto& [p, c] : active_bns()) {
      p->mean.narrow(0, 0, c).zero_();
      p->var.narrow(0, 0, c).fill_(1.0);
    }
    train(true);
    try {
      for (size_t i = 0; i < batches.size(); ++i) {
        momentum_ = 1.0 / static_cast<double>(i + 1);  // cumulative average
        forward(batches[i]);
      }
    } catch (...) {
      momentum_ = kBnMomentum;
      train(was_training);
      throw;
    }
    momentum_ = kBnMomentum;
    train(was_training);
  }

  std::shared_ptr<torch::nn::SequentialImpl> extract(const ArchSpec& arch) const {
    std::string why;
    if (!contains(space_, arch, &why)) throw Error("supernet: cannot extract: " + why);
    torch::NoGradGuard no_grad;
    const Activation act = space_.activation;
    auto seq = std::make_shared<torch::nn::SequentialImpl>();
    {
      const int64_t c = first_conv_.w.size(0);
      ConvBn m(space_.in_channels, c, first_conv_.w.size(2), first_stride_, 1, act);
      copy_conv(*m, first_conv_.w, first_conv_.bn, c);
      seq->push_back(m);
    }
    for (size_t si = 0; si < arch.stages.size(); ++si) {
      const auto& blocks = arch.stages[si].blocks;
      for (size_t j = 0; j < blocks.size(); ++j) {
        const BlockSpec& spec = blocks[j];
        const BlockParams& p = blocks_[si][j];
        const int64_t mid = spec.mid_channels;
        Block b;
        if (spec.expand != 1) {
          b->expand = ConvBn(p.in, mid, 1, 1, 1, act);
          copy_conv(*b->expand, p.expand.w.narrow(0, 0, mid), p.expand.bn, mid);
          b->register_module("expand", b->expand);
        }
        const int64_t off = (p.kmax - spec.kernel) / 2;
        b->dw = ConvBn(mid, mid, spec.kernel, spec.stride, mid, act);
        copy_conv(*b->dw,
                  p.dw.w.narrow(0, 0, mid).narrow(2, off, spec.kernel).narrow(3, off, spec.kernel),
                  p.dw.bn, mid);
        b->register_module("dw", b->dw);
        b->proj = ConvBn(mid, p.out, 1, 1, 1, Activation::kNone);
        copy_conv(*b->proj, p.proj.w.narrow(1, 0, mid), p.proj.bn, p.out);
        b->register_module("proj", b->proj);
        b->residual = spec.residual;
        seq->push_back(b);
      }
    }
    if (space_.feature_mix_channels > 0) {
      const int64_t c = feature_mix_.w.size(0);
      ConvBn m(feature_mix_.w.size(1), c, 1, 1, 1, act);
      copy_conv(*m, feature_mix_.w, feature_mix_.bn, c);
      seq->push_back(m);
    }
    seq->push_back(Pool());
    torch::nn::Linear fc(classifier_w_.size(1), classifier_w_.size(0));
    fc->weight.copy_(classifier_w_);
    fc->bias.copy_(classifier_b_);
    seq->push_back(fc);
    seq->to(classifier_w_.device());
    seq->train(is_training());
    return seq;
  }

  void sort_channels() {
    torch::NoGradGuard no_grad;
    auto permute = [](const at::Tensor& t, int64_t dim, const at::Tensor& idx) {
      t.copy_(t.index_select(dim, idx));
    };
    auto permute_bn = [&](const BnParams& bn, const at::Tensor& idx) {
      permute(bn.w, 0, idx);
      permute(bn.b, 0, idx);
      permute(bn.mean, 0, idx);
      permute(bn.var, 0, idx);
    };
    for (auto& stage : blocks_) {
      for (auto& p : stage) {
        if (!p.has_expand) continue;
        const at::Tensor importance = p.expand.w.abs().sum({1, 2, 3});
        const at::Tensor idx = std::get<1>(importance.sort(0, /*descending=*/true));
        permute(p.expand.w, 0, idx);
        permute_bn(p.expand.bn, idx);
        permute(p.dw.w, 0, idx);
        permute_bn(p.dw.bn, idx);
        permute(p.proj.w, 1, idx);
      }
    }
  }

  at::Device device() const { return classifier_w_.device(); }

  double momentum_ = kBnMomentum;
  ProcessGroup* sync_ = nullptr;  // synchronised BN in training mode when set

 private:
  at::Tensor bn(const at::Tensor& x, const BnParams& p, int64_t c) const {
    if (sync_ != nullptr && is_training()) return synced_bn(x, p, c);
    return at::batch_norm(x, lead(p.w, 0, c), lead(p.b, 0, c), lead(p.mean, 0, c),
                          lead(p.var, 0, c), is_training(), momentum_, kBnEps,
                          /*cudnn_enabled=*/true);
  }

  // Batch norm over the global batch of all ranks (SyncBatchNorm): per
  // channel the sum and the sum of squares of every rank's shard (accumulated
  // in double), summed over the ranks in one differentiable all-reduce; the
  // running statistics move as at::batch_norm moves them (unbiased variance).
  at::Tensor synced_bn(const at::Tensor& x, const BnParams& p, int64_t c) const {
    const double local = static_cast<double>(x.numel() / c);
    const at::Tensor sum = x.sum({0, 2, 3}, false, at::kDouble);
    const at::Tensor sq = (x * x).sum({0, 2, 3}, false, at::kDouble);
    const at::Tensor count = torch::full({1}, local, torch::TensorOptions().dtype(at::kDouble));
    const at::Tensor total = allreduce_sum_differentiable(at::cat({sum, sq, count}), *sync_);
    const at::Tensor n = total.narrow(0, 2 * c, 1);
    const at::Tensor mean = total.narrow(0, 0, c) / n;
    const at::Tensor var = (total.narrow(0, c, c) / n - mean * mean).clamp_min(0);
    {
      torch::NoGradGuard no_grad;
      const double count_all = n.item<double>();
      at::Tensor rm = lead(p.mean, 0, c), rv = lead(p.var, 0, c);
      rm.mul_(1 - momentum_).add_(mean.detach().to(rm.scalar_type()), momentum_);
      rv.mul_(1 - momentum_).add_((var.detach() * (count_all / std::max(1.0, count_all - 1))).to(rv.scalar_type()),
                                  momentum_);
    }
    const at::Tensor scale = (var + kBnEps).rsqrt().to(x.scalar_type()) * lead(p.w, 0, c);
    const at::Tensor shift = lead(p.b, 0, c) - mean.to(x.scalar_type()) * scale;
    return x * scale.view({1, -1, 1, 1}) + shift.view({1, -1, 1, 1});
  }

  ConvLayer make_conv(const std::string& name, int64_t out, int64_t in_per_group, int64_t k,
                      at::Generator& gen) {
    ConvLayer c;
    // He normal, fan-out mode (OFA's init).
    at::Tensor w = torch::empty({out, in_per_group, k, k});
    w.normal_(0.0, std::sqrt(2.0 / static_cast<double>(out * k * k)), gen);
    c.w = register_parameter(name + "_w", w);
    c.bn.w = register_parameter(name + "_bn_w", torch::ones({out}));
    c.bn.b = register_parameter(name + "_bn_b", torch::zeros({out}));
    c.bn.mean = register_buffer(name + "_bn_mean", torch::zeros({out}));
    c.bn.var = register_buffer(name + "_bn_var", torch::ones({out}));
    return c;
  }

  void build(uint64_t seed) {
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const ArchSpec big = largest_arch(space_, 0, 0);
    validate(big);
    const std::vector<int32_t> inputs = block_input_channels(big);
    first_stride_ = big.first_conv.stride;
    first_conv_ = make_conv("first_conv", big.first_conv.out_channels, space_.in_channels,
                            big.first_conv.kernel, gen);
    blocks_.resize(big.stages.size());
    size_t flat = 0;
    int32_t last = big.first_conv.out_channels;
    for (size_t si = 0; si < big.stages.size(); ++si) {
      for (size_t j = 0; j < big.stages[si].blocks.size(); ++j, ++flat) {
        const BlockSpec& b = big.stages[si].blocks[j];
        BlockParams p;
        p.in = inputs[flat];
        p.out = b.out_channels;
        p.stride = b.stride;
        p.kmax = b.kernel;
        p.mid_max = b.mid_channels;
        std::string name = "s";
        name += std::to_string(si);
        name += 'b';
        name += std::to_string(j);
        if (si > 0) {
          const StageChoices& c = space_.stages[si - 1];
          for (int32_t e : c.expands) {
            const int32_t mid =
                e == 1 ? p.in : make_divisible(static_cast<double>(p.in) * e, space_.channel_divisor);
            if (mid > p.mid_max)
              throw Error("supernet: " + name + ": expand " + std::to_string(e) + " gives " +
                          std::to_string(mid) + " channels, more than the largest expand's " +
                          std::to_string(p.mid_max));
            if (e != 1) p.has_expand = true;
          }
        }
        if (p.has_expand) p.expand = make_conv(name + "_expand", p.mid_max, p.in, 1, gen);
        p.dw = make_conv(name + "_dw", p.mid_max, 1, p.kmax, gen);
        p.proj = make_conv(name + "_proj", p.out, p.mid_max, 1, gen);
        blocks_[si].push_back(std::move(p));
        last = b.out_channels;
      }
    }
    if (space_.feature_mix_channels > 0) {
      feature_mix_ = make_conv("feature_mix", space_.feature_mix_channels, last, 1, gen);
      last = space_.feature_mix_channels;
    }
    at::Tensor w = torch::empty({space_.num_classes, last});
    w.normal_(0.0, 0.01, gen);
    classifier_w_ = register_parameter("classifier_w", w);
    classifier_b_ = register_parameter("classifier_b", torch::zeros({space_.num_classes}));
    active_ = big;
  }

  SearchSpace space_;
  ArchSpec active_;
  int64_t first_stride_ = 2;
  ConvLayer first_conv_;
  std::vector<std::vector<BlockParams>> blocks_;  // [stage][block]; stage 0: first block
  ConvLayer feature_mix_;
  at::Tensor classifier_w_, classifier_b_;
};

// ---- the public class ---------------------------------------------------------

Supernet::Supernet(const SearchSpace& space, SupernetOptions options)
    : impl_(std::make_shared<SupernetImpl>(space, options)) {}
Supernet::~Supernet() = default;
Supernet::Supernet(Supernet&&) noexcept = default;
Supernet& Supernet::operator=(Supernet&&) noexcept = default;

const SearchSpace& Supernet::space() const { return impl_->space(); }
ArchSpec Supernet::largest() const { return largest_arch(impl_->space(), 0, 0); }
ArchSpec Supernet::smallest() const { return smallest_arch(impl_->space(), 0, 0); }
void Supernet::set_active(const ArchSpec& arch) { impl_->set_active(arch); }
const ArchSpec& Supernet::active() const { return impl_->active(); }
torch::nn::Module& Supernet::module() { return *impl_; }
void Supernet::train(bool on) { impl_->train(on); }

at::Tensor Supernet::forward(const at::Tensor& images) {
  return guarded("forward", [&] { return impl_->forward(images); });
}

void Supernet::recalibrate_bn(const std::vector<at::Tensor>& batches) {
  guarded("recalibrate_bn", [&] { impl_->recalibrate_bn(batches); });
}

void Supernet::recalibrate_bn(const std::vector<datasets::Batch>& batches) {
  guarded("recalibrate_bn", [&] {
    std::vector<at::Tensor> tensors;
    for (const auto& b : batches) {
      const int64_t n = b.size, c = b.channels, h = b.height, w = b.width;
      if (static_cast<int64_t>(b.images.size()) != n * c * h * w)
        throw Error("supernet: batch " + std::to_string(b.index) + " holds " +
                    std::to_string(b.images.size()) + " floats, not size x channels x height x width");
      tensors.push_back(
          torch::from_blob(const_cast<float*>(b.images.data()), {n, c, h, w}, torch::kFloat).clone());
    }
    impl_->recalibrate_bn(tensors);
  });
}

void Supernet::set_sync_group(ProcessGroup* group) { impl_->sync_ = group; }

std::shared_ptr<torch::nn::SequentialImpl> Supernet::extract(const ArchSpec& arch) const {
  return guarded("extract", [&] { return impl_->extract(arch); });
}

void Supernet::sort_channels() {
  guarded("sort_channels", [&] { impl_->sort_channels(); });
}

std::vector<OpWeights> Supernet::float_weights(const ArchSpec& arch) const {
  return guarded("float_weights", [&] { return extracted_float_weights(*impl_->extract(arch), arch); });
}

std::vector<OpWeights> extracted_float_weights(const torch::nn::SequentialImpl& seq, const ArchSpec& arch) {
  return guarded("float_weights", [&] {
    torch::NoGradGuard no_grad;
    std::vector<OpWeights> out;
    for (const auto& child : seq.children()) {
      if (auto* m = dynamic_cast<ConvBnImpl*>(child.get())) {
        out.push_back(fold(*m, shape_of(*m).kind));
      } else if (auto* b = dynamic_cast<BlockImpl*>(child.get())) {
        if (!b->expand.is_empty()) out.push_back(fold(*b->expand, OpKind::kPointwiseConv2d));
        out.push_back(fold(*b->dw, OpKind::kDepthwiseConv2d));
        out.push_back(fold(*b->proj, OpKind::kPointwiseConv2d));
        if (b->residual) out.emplace_back();
      } else if (dynamic_cast<PoolImpl*>(child.get()) != nullptr) {
        out.emplace_back();
      } else if (auto* fc = dynamic_cast<torch::nn::LinearImpl*>(child.get())) {
        const at::Tensor w = fc->weight.detach().to(torch::kCPU, torch::kFloat).contiguous();
        const at::Tensor bias = fc->bias.detach().to(torch::kCPU, torch::kFloat).contiguous();
        OpWeights o;
        o.weights.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
        o.bias.assign(bias.data_ptr<float>(), bias.data_ptr<float>() + bias.numel());
        out.push_back(std::move(o));
      }
    }
    const OpGraph g = lower(arch);
    if (out.size() != g.ops.size())
      throw Error("supernet: float_weights: " + std::to_string(out.size()) +
                  " layers, but lower() gives " + std::to_string(g.ops.size()) + " ops");
    return out;
  });
}

double Supernet::train_step(const at::Tensor& images, const at::Tensor& labels,
                            torch::optim::Optimizer& optimizer, int32_t random_subnets,
                            uint64_t seed, double label_smoothing) {
  return guarded("train_step", [&] {
    std::vector<ArchSpec> archs{largest(), smallest()};
    Rng rng(seed);
    for (int32_t i = 0; i < random_subnets; ++i) archs.push_back(decode(space(), sample(space(), rng)));
    impl_->train(true);
    optimizer.zero_grad();
    const at::Tensor target = labels.to(impl_->device(), torch::kLong);
    double total = 0;
    for (const auto& a : archs) {
      impl_->set_active(a);
      const at::Tensor loss = torch::nn::functional::cross_entropy(
          impl_->forward(images), target,
          torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(label_smoothing));
      loss.backward();
      total += loss.item<double>();
    }
    optimizer.step();
    impl_->set_active(largest());
    return total / static_cast<double>(archs.size());
  });
}

std::vector<LayerShape> layer_shapes(const torch::nn::SequentialImpl& extracted) {
  std::vector<LayerShape> out;
  for (const auto& child : extracted.children()) {
    if (auto* m = dynamic_cast<ConvBnImpl*>(child.get())) {
      out.push_back(shape_of(*m));
    } else if (auto* b = dynamic_cast<BlockImpl*>(child.get())) {
      if (!b->expand.is_empty()) out.push_back(shape_of(*b->expand));
      out.push_back(shape_of(*b->dw));
      out.push_back(shape_of(*b->proj));
      if (b->residual) {
        const LayerShape p = out.back();
        out.push_back({OpKind::kAdd, 1, 1, p.out_channels, p.out_channels});
      }
    } else if (dynamic_cast<PoolImpl*>(child.get()) != nullptr) {
      const int32_t c = out.empty() ? 0 : out.back().out_channels;
      out.push_back({OpKind::kAvgPool, 1, 1, c, c});
    } else if (auto* fc = dynamic_cast<torch::nn::LinearImpl*>(child.get())) {
      out.push_back({OpKind::kFullyConnected, 1, 1, static_cast<int32_t>(fc->weight.size(1)),
                     static_cast<int32_t>(fc->weight.size(0))});
    } else {
      throw Error("supernet: layer_shapes: '" + child->name() + "' is not a layer extract() makes");
    }
  }
  return out;
}

}  // namespace tinynas::supernet
