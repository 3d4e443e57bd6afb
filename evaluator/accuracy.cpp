#include "evaluator/accuracy.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/rng.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "supernet/trainer.h"

namespace tinynas {

namespace {

// Validation images at one resolution, as forward-ready tensors.
struct ValSet {
  std::vector<at::Tensor> images;  // [n, c, r, r] batches
  std::vector<at::Tensor> labels;  // int64 [n]
  int64_t count = 0;
};

}  // namespace

struct SubnetAccuracy::Impl {
  SubnetAccuracyOptions options;
  supernet::OpenedSupernet opened;
  std::shared_ptr<const datasets::Dataset> val;  // the subset evaluated
  std::map<int32_t, std::vector<datasets::Batch>> bn;  // per resolution
  std::map<int32_t, ValSet> valsets;
  int64_t bn_images = 0;

  const std::vector<datasets::Batch>& bn_batches(int32_t resolution) {
    auto it = bn.find(resolution);
    if (it != bn.end()) return it->second;
    supernet::EvalOptions eo;
    eo.bn_batches = options.bn_batches;
    eo.bn_batch_size = options.bn_batch_size;
    eo.workers = options.workers;
    eo.seed = derive_seed(options.seed, 0x626e);
    eo.scale_min = opened.config.scale_min;
    std::vector<datasets::Batch> batches = supernet::bn_recalibration_batches(opened.train, resolution, eo);
    bn_images = 0;
    for (const auto& b : batches) bn_images += b.size;
    return bn.emplace(resolution, std::move(batches)).first->second;
  }

  const ValSet& val_set(int32_t resolution) {
    auto it = valsets.find(resolution);
    if (it != valsets.end()) return it->second;
    datasets::LoaderOptions lo;
    lo.batch_size = options.batch_size;
    lo.workers = options.workers;
    lo.shuffle = false;
    lo.transform.train = false;
    lo.transform.height = lo.transform.width = resolution;
    datasets::DataLoader loader(val, lo);
    loader.start_epoch(0);
    ValSet set;
    while (auto b = loader.next()) {
      set.images.push_back(
          torch::from_blob(b->images.data(), {b->size, b->channels, b->height, b->width}, torch::kFloat).clone());
      set.labels.push_back(torch::from_blob(b->labels.data(), {b->size}, torch::kInt64).clone());
      set.count += b->size;
    }
    return valsets.emplace(resolution, std::move(set)).first->second;
  }
};

SubnetAccuracy::SubnetAccuracy(const std::string& checkpoint, const SubnetAccuracyOptions& options)
    : impl_(std::make_unique<Impl>()) {
  if (options.bn_batches < 0 || options.bn_batch_size < 2 || options.val_images < 0 || options.batch_size < 1)
    throw Error("accuracy: bn_batches >= 0, bn_batch_size >= 2, val_images >= 0, batch_size >= 1");
  impl_->options = options;
  impl_->opened = supernet::open_supernet(checkpoint, options.device, options.threads);
  const auto& v = impl_->opened.val;
  if (v->size() == 0)
    throw Error("checkpoint " + checkpoint + ": its run held out no validation images (val_fraction " +
                std::to_string(impl_->opened.config.val_fraction) + "); the search ranks subnets on them");
  impl_->val = validation_subset(v, options.val_images, options.seed);
}

std::shared_ptr<const datasets::Dataset> validation_subset(std::shared_ptr<const datasets::Dataset> val,
                                                           int64_t images, uint64_t seed) {
  if (images <= 0 || images >= val->size()) return val;
  std::vector<int64_t> order = datasets::epoch_order(val->size(), derive_seed(seed, 0x76616c), 0, true);
  order.resize(static_cast<size_t>(images));
  std::sort(order.begin(), order.end());
  return datasets::make_subset(std::move(val), std::move(order), "a seeded " + std::to_string(images));
}

SubnetAccuracy::~SubnetAccuracy() = default;

std::vector<double> SubnetAccuracy::top1(const std::vector<ArchSpec>& archs) {
  std::vector<double> out;
  out.reserve(archs.size());
  supernet::Supernet& net = *impl_->opened.net;
  const torch::Device device = net.module().parameters().front().device();
  for (const ArchSpec& arch : archs) {
    if (std::string why; !contains(impl_->opened.space, arch, &why))
      throw Error("accuracy: the architecture is not a subnet of the trained supernet: " + why);
    net.set_active(arch);
    if (impl_->options.bn_batches > 0) net.recalibrate_bn(impl_->bn_batches(arch.resolution));
    const ValSet& vs = impl_->val_set(arch.resolution);
    int64_t correct = 0;
    try {
      net.eval();
      torch::NoGradGuard no_grad;
      // The recalibrated subnet with its BNs folded into the convs: the same
      // predictions (within float rounding) in fewer passes over the images.
      const auto folded = supernet::fold_for_inference(*net.extract(arch));
      for (size_t i = 0; i < vs.images.size(); ++i) {
        const at::Tensor pred = folded->forward(vs.images[i].to(device)).argmax(1).to(torch::kCPU);
        correct += pred.eq(vs.labels[i]).sum().item<int64_t>();
      }
    } catch (const c10::Error& e) {
      throw Error(std::string("accuracy: LibTorch: ") + e.what_without_backtrace());
    }
    out.push_back(vs.count > 0 ? static_cast<double>(correct) / static_cast<double>(vs.count) : 0.0);
  }
  return out;
}

const SearchSpace& SubnetAccuracy::space() const { return impl_->opened.space; }
int64_t SubnetAccuracy::val_images() const { return impl_->val->size(); }
int64_t SubnetAccuracy::bn_images() const {
  return impl_->bn_images > 0 ? impl_->bn_images : impl_->options.bn_batches * impl_->options.bn_batch_size;
}
const std::string& SubnetAccuracy::dataset() const { return impl_->opened.dataset; }

}  // namespace tinynas
