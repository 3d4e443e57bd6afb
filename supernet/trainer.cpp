#include "supernet/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>

#include "core/arch_io.h"
#include "core/error.h"
#include "core/io.h"
#include "core/progress.h"
#include "core/rng.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "supernet/checkpoint.h"
#include "supernet/distributed.h"
#include "supernet/supernet.h"

namespace tinynas::supernet {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Streams of derive_seed(config.seed, stream, i).
constexpr uint64_t kSubnetStream = 0x5B1E7;  // random subnets of step i
constexpr uint64_t kEvalStream = 0xE7A1;     // the validated random subnets
constexpr uint64_t kBnStream = 0xB7CA1;      // BN recalibration batches
constexpr uint64_t kSubsetStream = 0x5B5E7;  // max_train_images

constexpr const char* kCheckpointName = "checkpoint.pt";
constexpr const char* kLogName = "train_log.jsonl";
constexpr const char* kSummaryName = "summary.json";

template <typename F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    std::string m = e.what_without_backtrace();
    if (size_t nl = m.find('\n'); nl != std::string::npos) m.resize(nl);
    throw Error(std::string(what) + ": " + m);
  }
}

std::string join(const std::vector<int32_t>& v) {
  std::string s;
  for (int32_t x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
  return s;
}

std::string join(const std::vector<double>& v) {
  std::string s;
  for (double x : v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", x);
    s += (s.empty() ? "" : ", ") + std::string(buf);
  }
  return s;
}

std::string fmt_g(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

// ---- data -------------------------------------------------------------------

// KIND:PATH with a relative PATH made absolute (a checkpoint is read from
// anywhere); `generated` specs are not paths.
std::string absolute_spec(const std::string& spec) {
  const datasets::DatasetSpec s = datasets::parse_dataset_spec(spec);
  if (s.kind == "generated" || s.path.empty() || s.path.front() == '/') return spec;
  return s.kind + ":" + (fs::current_path() / s.path).lexically_normal().string();
}

struct TrainingData {
  std::shared_ptr<const datasets::Dataset> all, train, val;
};

// The data set as the trainer uses it: the max_train_images subset, then the
// stratified split.
TrainingData open_training_data(const std::string& spec, const TrainConfig& c) {
  TrainingData d;
  datasets::DatasetOptions options;
  options.skip_bad = c.skip_bad;
  d.all = datasets::open_dataset(spec, options);
  if (c.max_train_images > 0 && c.max_train_images < d.all->size()) {
    std::vector<int64_t> order =
        datasets::epoch_order(d.all->size(), derive_seed(c.split_seed, kSubsetStream), 0, true);
    order.resize(static_cast<size_t>(c.max_train_images));
    std::sort(order.begin(), order.end());
    d.all = datasets::make_subset(d.all, std::move(order),
                                  "first " + std::to_string(c.max_train_images) + " of a seeded order");
  }
  const auto split = datasets::split_train_val(d.all, c.val_fraction, c.split_seed);
  d.train = split.train;
  d.val = split.val;
  return d;
}

void check_channels(const datasets::Dataset& data, const SearchSpace& space, const std::string& spec) {
  if (data.channels() != space.in_channels)
    throw Error("data set '" + spec + "' has " + std::to_string(data.channels()) +
                " channel(s) per image but search space '" + space.name + "' takes " +
                std::to_string(space.in_channels) + " (set in_channels in the space)");
}

at::Tensor images_of(datasets::Batch& b, const torch::Device& device) {
  return torch::from_blob(b.images.data(), {b.size, b.channels, b.height, b.width}, torch::kFloat)
      .to(device);
}

// A loader of seeded, shuffled batches with the training transform (random
// resized crop from scale_min, flip) at `resolution`.
datasets::LoaderOptions train_batches(int64_t batch_size, int32_t workers, uint64_t seed, double scale_min,
                                      int32_t resolution) {
  datasets::LoaderOptions lo;
  lo.batch_size = batch_size;
  lo.workers = workers;
  lo.seed = seed;
  lo.shuffle = true;
  lo.transform.train = true;
  lo.transform.scale_min = scale_min;
  lo.transform.height = lo.transform.width = resolution;
  return lo;
}

at::Tensor labels_of(datasets::Batch& b, const torch::Device& device) {
  return torch::from_blob(b.labels.data(), {b.size}, torch::kInt64).to(device);
}

// ---- SGD ------------------------------------------------------------------------

// PyTorch's SGD (dampening 0) with a per-parameter weight-decay switch; the
// momentum buffers are plain tensors so a checkpoint can hold them by name.
struct Sgd {
  std::vector<std::string> names;
  std::vector<at::Tensor> params;
  std::vector<bool> decay;
  std::vector<at::Tensor> momentum;  // undefined until a parameter's first step
  double beta = 0.9;
  bool nesterov = false;
  double weight_decay = 0;

  void add(const std::string& name, const at::Tensor& p, bool decays) {
    names.push_back(name);
    params.push_back(p);
    decay.push_back(decays);
    momentum.emplace_back();
  }

  void zero_grad() {
    for (auto& p : params) p.mutable_grad() = at::Tensor();
  }

  void clear_momentum() {
    for (auto& m : momentum) m = at::Tensor();
  }

  void step(double lr) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      const at::Tensor& g = params[i].grad();
      if (!g.defined()) continue;
      at::Tensor d = decay[i] && weight_decay != 0 ? g.add(params[i], weight_decay) : g;
      if (beta != 0) {
        if (!momentum[i].defined()) momentum[i] = d.clone();
        else momentum[i].mul_(beta).add_(d);
        d = nesterov ? d.add(momentum[i], beta) : momentum[i];
      }
      params[i].add_(d, -lr);
    }
  }

  NamedTensors state() const {
    NamedTensors out;
    for (size_t i = 0; i < params.size(); ++i)
      if (momentum[i].defined()) out.emplace_back(names[i], momentum[i]);
    return out;
  }

  void load_state(const NamedTensors& state, const std::string& where) {
    clear_momentum();
    for (const auto& [name, t] : state) {
      const auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end()) throw Error(where + ": momentum buffer for unknown parameter '" + name + "'");
      const size_t i = static_cast<size_t>(it - names.begin());
      if (!t.sizes().equals(params[i].sizes()))
        throw Error(where + ": momentum buffer '" + name + "' has the wrong shape");
      momentum[i] = t.to(params[i].device(), params[i].scalar_type()).clone();
    }
  }
};

// Biases and BN parameters (tensors of one dimension) are not decayed
// unless asked (the usual ImageNet recipe, also OFA's no_decay_keys).
template <typename Named>
Sgd make_sgd(const Named& named_parameters, double beta, bool nesterov, double weight_decay,
             bool decay_1d) {
  Sgd sgd;
  sgd.beta = beta;
  sgd.nesterov = nesterov;
  sgd.weight_decay = weight_decay;
  for (const auto& p : named_parameters) sgd.add(p.key(), p.value(), decay_1d || p.value().dim() > 1);
  return sgd;
}

double cosine_lr(double peak, int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double t = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  return 0.5 * peak * (1.0 + std::cos(M_PI * std::min(1.0, t)));
}

// ---- the supernet's tensors -----------------------------------------------------

NamedTensors model_tensors(Supernet& net) {
  NamedTensors out;
  for (const auto& p : net.module().named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : net.module().named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

void load_model(Supernet& net, const NamedTensors& stored, const std::string& where) {
  torch::NoGradGuard no_grad;
  const NamedTensors mine = model_tensors(net);
  if (stored.size() != mine.size())
    throw Error(where + ": holds " + std::to_string(stored.size()) + " tensors, the supernet of its space has " +
                std::to_string(mine.size()) + " (corrupt checkpoint?)");
  for (const auto& [name, t] : mine) {
    const auto it = std::find_if(stored.begin(), stored.end(), [&](const auto& s) { return s.first == name; });
    if (it == stored.end()) throw Error(where + ": no tensor '" + name + "' (corrupt checkpoint?)");
    if (!it->second.sizes().equals(t.sizes()))
      throw Error(where + ": tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                  ", the supernet of its space needs " + c10::str(t.sizes()) + " (corrupt checkpoint?)");
    t.copy_(it->second);
  }
}

std::string weights_digest(Supernet& net) {
  // FNV-1a 64 over names and raw bytes: an equality check for runs, not security.
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  };
  for (const auto& [name, t] : model_tensors(net)) {
    mix(name.data(), name.size());
    const at::Tensor c = t.detach().to(torch::kCPU).contiguous();
    mix(c.data_ptr(), c.nbytes());
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return buf;
}

at::Tensor torch_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_torch_rng_state(const at::Tensor& state) {
  if (!state.defined()) return;
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

// ---- config -------------------------------------------------------------------------

void validate_config(const TrainConfig& c) {
  auto bad = [](const std::string& key, const std::string& why) { throw Error(key + ": " + why); };
  if (c.dataset.empty()) bad("dataset", "required (KIND:PATH, e.g. generated:10x500 or tar:train.tar)");
  if (c.batch_size < 2) bad("batch_size", "must be at least 2 (batch normalisation)");
  if (c.workers < 0) bad("workers", "must be >= 0");
  if (!(c.lr > 0)) bad("lr", "must be positive");
  if (!(c.momentum >= 0 && c.momentum < 1)) bad("momentum", "must be in [0, 1)");
  if (!(c.warmup_epochs >= 0)) bad("warmup_epochs", "must be >= 0");
  if (!(c.weight_decay >= 0)) bad("weight_decay", "must be >= 0");
  if (!(c.label_smoothing >= 0 && c.label_smoothing < 1)) bad("label_smoothing", "must be in [0, 1)");
  if (c.largest_epochs < 0) bad("largest_epochs", "must be >= 0");
  if (c.elastic_epochs < 0) bad("elastic_epochs", "must be >= 0");
  if (c.largest_epochs + c.elastic_epochs < 1) bad("epochs", "largest_epochs + elastic_epochs must be at least 1");
  if (c.subnets_per_step < 0) bad("subnets_per_step", "must be >= 0");
  if (!(c.scale_min > 0 && c.scale_min <= 1)) bad("scale_min", "must be in (0, 1]");
  if (c.checkpoint_every < 0) bad("checkpoint_every", "must be >= 0");
  if (c.eval_random < 0) bad("eval_random", "must be >= 0");
  if (c.bn_batches < 0) bad("bn_batches", "must be >= 0");
  if (c.eval_batch_size < 0) bad("eval_batch_size", "must be >= 0");
  if (!(c.val_fraction >= 0 && c.val_fraction < 1)) bad("val_fraction", "must be in [0, 1)");
  if (c.max_train_images < 0) bad("max_train_images", "must be >= 0");
  if (c.threads < 0) bad("threads", "must be >= 0");
  check_device(c.device);
}

template <typename T>
void read_key(const json& j, const char* key, T& out, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;  // older checkpoints: the default
  try {
    out = it->get<T>();
  } catch (const json::exception&) {
    throw Error(where + ": " + key + ": expected " + std::string(typeid(T) == typeid(std::string) ? "a string" : "a number"));
  }
}

// ---- the run --------------------------------------------------------------------------

struct EvalArch {
  std::string name;
  ArchSpec arch;
};

class Run {
 public:
  Run(const TrainConfig& config, const std::string& out_dir, bool resume, bool force, const TrainHooks& hooks)
      : config_(config), dir_(out_dir), resume_(resume), force_(force), hooks_(hooks) {}

  TrainResult go();

 private:
  void setup();
  void save(bool quiet = false);
  void write_log();
  json summary();
  double step_largest(const at::Tensor& x, const at::Tensor& y, const ArchSpec& arch);
  double step_elastic(const at::Tensor& x, const at::Tensor& y, int32_t resolution_index);
  json evaluate_epoch();
  std::string path(const char* name) const { return (fs::path(dir_) / name).string(); }
  // Rank 0 of a distributed run, or the only process: it writes the files.
  bool lead() const { return !group_ || group_->rank() == 0; }
  int32_t world() const { return group_ ? group_->world_size() : 1; }
  // The loss scale of this rank's shard (its share of the global batch) and,
  // after the step, the global mean loss and whether any rank must stop.
  double shard_scale(int64_t local_images);
  double finish_step(double scaled_loss);
  double epoch_allreduce_seconds_ = 0;  // in finish_step, this epoch (not checkpointed)
  double epoch_collective_seconds_ = 0;  // the group's totals at the epoch's start
  int64_t epoch_collectives_ = 0;
  bool any_rank(bool flag);  // true when `flag` is true on some rank
  bool stop_requested() { return any_rank(hooks_.stop != nullptr && hooks_.stop->load()); }
  int64_t step_images_ = 0;  // the global batch of the current step

  TrainConfig config_;
  std::string dir_;
  bool resume_, force_;
  TrainHooks hooks_;

  SearchSpace space_;
  std::string dataset_abs_;
  TrainingData data_;
  std::unique_ptr<ProcessGroup> group_;  // null: one process
  std::unique_ptr<Supernet> net_;
  std::unique_ptr<datasets::DataLoader> loader_;
  Sgd sgd_;
  torch::Device device_{torch::kCPU};
  TrainPosition pos_;
  json history_ = json::array();
  std::vector<EvalArch> eval_archs_;
  int64_t steps_per_epoch_ = 0, total_steps_ = 0, warmup_steps_ = 0;
  double last_lr_ = 0;
};

void Run::setup() {
  std::optional<Checkpoint> ck;
  if (resume_) {
    ck = load_checkpoint(checkpoint_path(dir_));
    // The checkpoint's configuration, except what does not change results.
    TrainConfig stored = train_config_from_json(ck->config, checkpoint_path(dir_));
    stored.workers = config_.workers;
    stored.threads = config_.threads;
    stored.device = config_.device;
    stored.checkpoint_every = config_.checkpoint_every;
    stored.eval_batch_size = config_.eval_batch_size;
    config_ = stored;
    validate_config(config_);
    dataset_abs_ = ck->dataset;
  } else {
    validate_config(config_);
    dataset_abs_ = absolute_spec(config_.dataset);
  }
  set_threads(config_.threads);
  device_ = torch::Device(config_.device == "cuda" ? torch::kCUDA : torch::kCPU);

  // Data-parallel: one rank per process; the rendezvous (and the check that
  // every rank runs the same configuration) before any long work.
  group_ = ProcessGroup::from_environment();
  if (group_) {
    if (config_.batch_size % group_->world_size() != 0)
      throw Error("distributed training: batch_size " + std::to_string(config_.batch_size) +
                  " is not divisible by the world size " + std::to_string(group_->world_size()) +
                  " (each rank takes an equal share of every batch)");
    group_->check_same("the training configuration",
                       std::hash<std::string>{}(to_json(config_).dump() + "\n" + dataset_abs_ + "\n" +
                                                (resume_ ? "resume" : "start")));
    if (group_->rank() != 0) spdlog::set_level(spdlog::level::warn);
    spdlog::info("distributed training: {} ranks over {} (Gloo), this is rank {}", group_->world_size(),
                 group_->address(), group_->rank());
  }

  data_ = open_training_data(dataset_abs_, config_);
  space_ = resume_ ? ck->space : training_space(config_, data_.all->num_classes());
  if (resume_ && data_.all->num_classes() != space_.num_classes)
    throw Error("data set '" + dataset_abs_ + "' now has " + std::to_string(data_.all->num_classes()) +
                " classes, the checkpoint was trained on " + std::to_string(space_.num_classes));
  check_channels(*data_.all, space_, config_.dataset);

  datasets::LoaderOptions lo = train_batches(config_.batch_size, config_.workers, config_.seed, config_.scale_min,
                                             space_.resolutions.front());
  lo.drop_last = true;  // a batch of one breaks batch normalisation
  lo.resolutions = space_.resolutions;
  if (group_) {
    lo.shard = group_->rank();
    lo.num_shards = group_->world_size();
  }
  loader_ = std::make_unique<datasets::DataLoader>(data_.train, lo);
  steps_per_epoch_ = loader_->batches_per_epoch();
  if (steps_per_epoch_ < 1)
    throw Error("data set '" + config_.dataset + "': the training split has " + std::to_string(data_.train->size()) +
                " images, fewer than one batch of " + std::to_string(config_.batch_size));
  total_steps_ = steps_per_epoch_ * (config_.largest_epochs + config_.elastic_epochs);
  warmup_steps_ = std::llround(config_.warmup_epochs * static_cast<double>(steps_per_epoch_));

  SupernetOptions so;
  so.seed = config_.seed;
  so.threads = config_.threads;
  net_ = std::make_unique<Supernet>(space_, so);
  guarded("supernet", [&] { net_->module().to(device_); });
  if (group_) net_->set_sync_group(group_.get());
  sgd_ = make_sgd(net_->module().named_parameters(), config_.momentum, config_.nesterov, config_.weight_decay,
                  config_.bn_weight_decay);

  eval_archs_ = {{"largest", largest_subnet(space_)}, {"smallest", smallest_subnet(space_)}};
  for (int32_t i = 0; i < config_.eval_random; ++i) {
    Rng rng(derive_seed(config_.seed, kEvalStream, static_cast<uint64_t>(i)));
    eval_archs_.push_back({"random" + std::to_string(i), decode(space_, sample(space_, rng))});
  }

  if (ck) {
    guarded("loading the checkpoint", [&] {
      load_model(*net_, ck->model, checkpoint_path(dir_));
      sgd_.load_state(ck->momentum, checkpoint_path(dir_));
      set_torch_rng_state(ck->torch_rng);
    });
    pos_ = ck->position;
    history_ = ck->history;
    if (group_) group_->check_same("the checkpoint's weights", std::hash<std::string>{}(weights_digest(*net_)));
    if (!pos_.finished && (pos_.step != pos_.epoch * steps_per_epoch_ + pos_.batch || pos_.batch > steps_per_epoch_))
      throw Error(checkpoint_path(dir_) + ": position (step " + std::to_string(pos_.step) + ", epoch " +
                  std::to_string(pos_.epoch) + ", batch " + std::to_string(pos_.batch) +
                  ") does not match " + std::to_string(steps_per_epoch_) +
                  " batches per epoch of its data set (has the data set changed?)");
  } else {
    pos_ = {};
  }
}

void Run::save(bool quiet) {
  if (!lead()) return;
  Checkpoint c;
  c.config = to_json(config_);
  c.space = space_;
  c.class_names = data_.all->class_names();
  c.dataset = dataset_abs_;
  c.position = pos_;
  c.history = history_;
  c.model = model_tensors(*net_);
  c.momentum = sgd_.state();
  c.torch_rng = torch_rng_state();
  save_checkpoint(c, path(kCheckpointName));
  if (!quiet) spdlog::debug("checkpoint at step {} (epoch {}, batch {}): {}", pos_.step, pos_.epoch, pos_.batch,
                            path(kCheckpointName));
}

void Run::write_log() {
  if (!lead()) return;
  std::string text;
  for (const auto& r : history_) text += r.dump() + "\n";
  write_file_atomic(path(kLogName), text);
}

double Run::shard_scale(int64_t local_images) {
  step_images_ = local_images;
  if (!group_) return 1;
  at::Tensor n = torch::full({1}, static_cast<double>(local_images), torch::TensorOptions().dtype(torch::kDouble));
  group_->allreduce_sum(n);
  step_images_ = std::llround(n.item<double>());
  return static_cast<double>(local_images) / n.item<double>();
}

// Gradients summed over the ranks (bucketed), and the global batch's loss.
double Run::finish_step(double scaled_loss) {
  if (!group_) return scaled_loss;
  const auto t0 = std::chrono::steady_clock::now();
  group_->allreduce_gradients(sgd_.params);
  at::Tensor v = torch::full({1}, scaled_loss, torch::TensorOptions().dtype(torch::kDouble));
  group_->allreduce_sum(v);
  epoch_allreduce_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return v.item<double>();
}

bool Run::any_rank(bool flag) {
  if (!group_) return flag;
  at::Tensor v = torch::full({1}, flag ? 1.0 : 0.0);
  group_->allreduce_sum(v);
  return v.item<float>() > 0;
}

// With several ranks each loss is its shard's mean times the shard's share of
// the global batch, and the gradients are summed over the ranks: the global
// batch's mean gradient. One process: scale 1, exactly as before.
double Run::step_largest(const at::Tensor& x, const at::Tensor& y, const ArchSpec& arch) {
  const double scale = shard_scale(x.size(0));
  net_->train();
  sgd_.zero_grad();
  net_->set_active(arch);
  at::Tensor loss = torch::nn::functional::cross_entropy(
      net_->forward(x), y, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(config_.label_smoothing));
  if (group_) loss = loss * scale;
  loss.backward();
  return loss.item<double>();
}

double Run::step_elastic(const at::Tensor& x, const at::Tensor& y, int32_t ri) {
  std::vector<ArchSpec> archs{largest_arch(space_, 0, ri), smallest_arch(space_, 0, ri)};
  Rng rng(derive_seed(config_.seed, kSubnetStream, static_cast<uint64_t>(pos_.step)));
  for (int32_t i = 0; i < config_.subnets_per_step; ++i) {
    ArchSpec a;
    sample_arch(space_, 0, ri, rng, a);
    archs.push_back(std::move(a));
  }
  const double scale = shard_scale(x.size(0));
  net_->train();
  sgd_.zero_grad();
  at::Tensor soft;  // the largest's predictions, the others' targets with distill
  double total = 0;
  const auto ce = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(config_.label_smoothing);
  for (size_t i = 0; i < archs.size(); ++i) {
    net_->set_active(archs[i]);
    const at::Tensor logits = net_->forward(x);
    at::Tensor loss;
    if (i > 0 && config_.distill) {
      loss = -(soft * torch::log_softmax(logits, 1)).sum(1).mean();
    } else {
      loss = torch::nn::functional::cross_entropy(logits, y, ce);
      if (i == 0 && config_.distill) soft = torch::softmax(logits.detach(), 1);
    }
    if (group_) loss = loss * scale;
    loss.backward();
    total += loss.item<double>();
  }
  return total / static_cast<double>(archs.size());
}

json Run::evaluate_epoch() {
  json r = json::object();
  if (data_.val->size() == 0) return r;
  // Recalibration rewrites BN running statistics; training must not see it.
  std::vector<at::Tensor> saved;
  for (const auto& b : net_->module().named_buffers()) saved.push_back(b.value().clone());
  EvalOptions eo;
  eo.bn_batches = config_.bn_batches;
  eo.bn_batch_size = config_.batch_size;
  eo.batch_size = config_.eval_batch_size > 0 ? config_.eval_batch_size : 2 * config_.batch_size;
  eo.workers = config_.workers;
  eo.seed = derive_seed(config_.seed, kBnStream);
  eo.scale_min = config_.scale_min;
  json random = json::array();
  double random_sum = 0;
  for (const auto& e : eval_archs_) {
    const EvalResult res = evaluate_subnet(*net_, e.arch, data_.val, data_.train, eo);
    if (e.name == "largest") r["val_top1_largest"] = res.top1();
    else if (e.name == "smallest") r["val_top1_smallest"] = res.top1();
    else {
      random.push_back(res.top1());
      random_sum += res.top1();
    }
    r["val_images"] = res.count;
  }
  r["val_top1_random"] = random;
  if (!random.empty()) r["val_top1_random_mean"] = random_sum / static_cast<double>(random.size());
  {
    torch::NoGradGuard no_grad;
    size_t i = 0;
    for (const auto& b : net_->module().named_buffers()) b.value().copy_(saved[i++]);
  }
  return r;
}

json Run::summary() {
  json s;
  s["format"] = "tinynas-train-summary-v1";
  s["checkpoint"] = kCheckpointName;
  s["space"] = space_.name;
  s["width"] = space_.widths.front();
  s["resolutions"] = space_.resolutions;
  s["dataset"] = config_.dataset;
  s["classes"] = space_.num_classes;
  s["class_names"] = data_.all->class_names();
  s["train_images"] = data_.train->size();
  s["val_images"] = data_.val->size();
  s["epochs"] = config_.largest_epochs + config_.elastic_epochs;
  s["steps"] = pos_.step;
  double seconds = 0, images = 0;
  for (const auto& r : history_) {
    seconds += r.value("seconds", 0.0);
    images += static_cast<double>(r.value("images", int64_t{0}));
  }
  s["train_seconds"] = seconds;
  s["images_per_second"] = seconds > 0 ? images / seconds : 0.0;
  if (!history_.empty()) s["final"] = history_.back();
  s["weights_digest"] = weights_digest(*net_);
  s["largest"] = arch_to_json(largest_subnet(space_));
  s["smallest"] = arch_to_json(smallest_subnet(space_));
  s["config"] = to_json(config_);
  return s;
}

TrainResult Run::go() {
  // Everything that can fail on bad input happens before the first write.
  const bool has_run = fs::exists(path(kCheckpointName)) || fs::exists(path(kLogName)) || fs::exists(path(kSummaryName));
  if (resume_) {
    if (!fs::exists(path(kCheckpointName)))
      throw Error("--resume: " + dir_ + " holds no checkpoint (" + path(kCheckpointName) + ")");
  } else if (has_run && !force_) {
    throw Error("output directory " + dir_ + " already holds a training run (" +
                (fs::exists(path(kCheckpointName)) ? std::string(kCheckpointName) : std::string(kLogName) + "/" + kSummaryName) +
                "); continue it with --resume, or start over with --force");
  }
  setup();
  if (!resume_ && has_run && lead()) {
    for (const char* f : {kCheckpointName, kLogName, kSummaryName}) fs::remove(path(f));
    spdlog::info("--force: removed the previous run's files in {}", dir_);
  }
  // Temporary files of a process killed while writing (write_file_atomic's
  // ".NAME.tmp-PID-N" beside NAME).
  if (std::error_code ec; lead() && fs::is_directory(dir_, ec)) {
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      const std::string name = entry.path().filename().string();
      for (const char* f : {kCheckpointName, kLogName, kSummaryName})
        if (name.starts_with("." + std::string(f) + ".tmp-")) fs::remove(entry.path(), ec);
    }
  }

  TrainResult result;
  result.total_steps = total_steps_;
  const int64_t epochs = config_.largest_epochs + config_.elastic_epochs;
  spdlog::info("training supernet of '{}' (width {}, resolutions {}, {} classes) on {}: {} train / {} val images, "
               "{} + {} epochs x {} steps, batch {}, {} torch threads, {}",
               space_.name, fmt_g(space_.widths.front()), join(space_.resolutions), space_.num_classes,
               config_.dataset, data_.train->size(), data_.val->size(), config_.largest_epochs,
               config_.elastic_epochs, steps_per_epoch_, config_.batch_size, at::get_num_threads(),
               config_.device);
  if (resume_) {
    if (pos_.finished) {
      spdlog::info("{} is a finished run ({} steps); nothing to do", dir_, pos_.step);
      result.finished = true;
      result.steps = pos_.step;
      result.summary = summary();
      if (lead()) write_file_atomic(path(kSummaryName), result.summary.dump(2) + "\n");
      return result;
    }
    spdlog::info("resuming at step {} of {} (epoch {}, batch {})", pos_.step, total_steps_, pos_.epoch + 1,
                 pos_.batch);
    write_log();
  }

  double run_seconds = 0;
  int64_t run_images = 0;
  while (pos_.epoch < epochs) {
    const bool elastic = pos_.epoch >= config_.largest_epochs;
    if (elastic && !pos_.channels_sorted) {
      // The largest subnet is trained: order every block's channels by
      // importance so that narrower subnets keep the most important ones.
      // Momentum buffers are not permuted; they start afresh.
      guarded("sort_channels", [&] { net_->sort_channels(); });
      sgd_.clear_momentum();
      pos_.channels_sorted = true;
      spdlog::debug("channels sorted; momentum reset");
    }
    const std::string label = "epoch " + std::to_string(pos_.epoch + 1) + "/" + std::to_string(epochs) +
                              (elastic ? " elastic" : " largest");
    loader_->start_epoch(pos_.epoch, pos_.batch);
    {
      ProgressBar bar(label, steps_per_epoch_ - pos_.batch, hooks_.progress && lead());
      while (true) {
        auto batch = loader_->next();
        if (!batch) break;
        const auto t0 = Clock::now();
        const double loss = guarded("training step", [&] {
          const at::Tensor x = images_of(*batch, device_);
          const at::Tensor y = labels_of(*batch, device_);
          const int32_t ri = resolution_index(space_, batch->height);
          const double l =
              finish_step(elastic ? step_elastic(x, y, ri) : step_largest(x, y, largest_arch(space_, 0, ri)));
          last_lr_ = cosine_lr(config_.lr, pos_.step, warmup_steps_, total_steps_);
          sgd_.step(last_lr_);
          return l;
        });
        const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
        if (!std::isfinite(loss))
          throw Error("training diverged: loss " + std::to_string(loss) + " at step " + std::to_string(pos_.step) +
                      " (lower lr?)");
        ++pos_.step;
        ++pos_.batch;
        pos_.epoch_loss_sum += loss * static_cast<double>(step_images_);
        pos_.epoch_images += step_images_;
        pos_.epoch_seconds += dt;
        run_seconds += dt;
        run_images += step_images_;
        ++result.steps_this_run;
        char status[96];
        std::snprintf(status, sizeof status, "loss %.4f %.0f img/s", pos_.epoch_loss_sum / static_cast<double>(pos_.epoch_images),
                      static_cast<double>(pos_.epoch_images) / std::max(1e-9, pos_.epoch_seconds));
        bar.set_status(status);
        bar.tick();
        if (hooks_.after_step) hooks_.after_step(pos_.step);
        if (stop_requested()) {  // every rank stops after the same step
          bar.finish();
          save(true);
          spdlog::info("stopped after step {} of {}; checkpoint written: {}", pos_.step, total_steps_,
                       path(kCheckpointName));
          result.interrupted = true;
          result.steps = pos_.step;
          result.images_per_second = run_seconds > 0 ? static_cast<double>(run_images) / run_seconds : 0;
          return result;
        }
        if (config_.checkpoint_every > 0 && pos_.step % config_.checkpoint_every == 0 && pos_.batch < steps_per_epoch_)
          save();
      }
    }
    // End of the epoch: validate, record, checkpoint, log.
    json rec;
    rec["epoch"] = pos_.epoch + 1;
    rec["phase"] = elastic ? "elastic" : "largest";
    rec["steps"] = pos_.step;
    rec["loss"] = pos_.epoch_images > 0 ? pos_.epoch_loss_sum / static_cast<double>(pos_.epoch_images) : 0.0;
    rec["lr"] = cosine_lr(config_.lr, pos_.step - 1, warmup_steps_, total_steps_);
    rec["images"] = pos_.epoch_images;
    rec["seconds"] = pos_.epoch_seconds;
    rec["images_per_second"] = pos_.epoch_seconds > 0 ? static_cast<double>(pos_.epoch_images) / pos_.epoch_seconds : 0.0;
    rec["world_size"] = world();
    if (group_) {
      // The gradients' all-reduce (the synchronised BN's is inside the
      // forward pass), this process's share of the epoch's step time.
      rec["allreduce_seconds"] = epoch_allreduce_seconds_;
      epoch_allreduce_seconds_ = 0;
      // Every all-reduce since the previous entry (the synchronised BN's
      // two per BN layer and step among them).
      rec["collective_seconds"] = group_->collective_seconds() - epoch_collective_seconds_;
      rec["collectives"] = group_->collectives() - epoch_collectives_;
      epoch_collective_seconds_ = group_->collective_seconds();
      epoch_collectives_ = group_->collectives();
    }
    const auto te = Clock::now();
    // Rank 0 validates (on its own: no synchronised BN while it
    // recalibrates); the others wait for it at their next collective.
    json val = json::object();
    if (lead()) {
      net_->set_sync_group(nullptr);
      val = guarded("validation", [&] { return evaluate_epoch(); });
      net_->set_sync_group(group_.get());
    }
    rec.update(val);
    rec["eval_seconds"] = std::chrono::duration<double>(Clock::now() - te).count();
    if (config_.skip_bad) {
      const datasets::BadSamples bad_images = data_.all->bad_samples();
      rec["bad_images"] = bad_images.count;
      if (bad_images.count > 0) {
        std::string first;
        for (const std::string& m : bad_images.first) first += "\n  " + m;
        spdlog::warn("--skip-bad: {} corrupt image(s) skipped so far; the first:{}", bad_images.count, first);
      }
    }
    history_.push_back(rec);
    pos_.epoch += 1;
    pos_.batch = 0;
    pos_.epoch_loss_sum = 0;
    pos_.epoch_images = 0;
    pos_.epoch_seconds = 0;
    pos_.finished = pos_.epoch >= epochs;
    save();
    write_log();
    std::string val_text;
    if (rec.contains("val_top1_largest")) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "; val top-1 largest %.2f%%, smallest %.2f%%",
                    100 * rec["val_top1_largest"].get<double>(), 100 * rec["val_top1_smallest"].get<double>());
      val_text = buf;
      if (rec.contains("val_top1_random_mean"))
        val_text += ", random " + fmt_g(std::round(1000 * rec["val_top1_random_mean"].get<double>()) / 10) + "% (mean of " +
                    std::to_string(rec["val_top1_random"].size()) + ")";
    }
    spdlog::info("epoch {}/{} ({}): loss {:.4f}, lr {:.4g}, {:.0f} img/s{}", pos_.epoch, epochs,
                 rec["phase"].get<std::string>(), rec["loss"].get<double>(), rec["lr"].get<double>(),
                 rec["images_per_second"].get<double>(), val_text);
    if (stop_requested() && pos_.epoch < epochs) {
      spdlog::info("stopped after step {} of {}; checkpoint written: {}", pos_.step, total_steps_, path(kCheckpointName));
      result.interrupted = true;
      result.steps = pos_.step;
      result.images_per_second = run_seconds > 0 ? static_cast<double>(run_images) / run_seconds : 0;
      return result;
    }
  }
  result.finished = true;
  result.steps = pos_.step;
  result.images_per_second = run_seconds > 0 ? static_cast<double>(run_images) / run_seconds : 0;
  result.summary = summary();
  if (lead()) write_file_atomic(path(kSummaryName), result.summary.dump(2) + "\n");
  return result;
}

}  // namespace

// ---- config ---------------------------------------------------------------------------

json to_json(const TrainConfig& c) {
  return {{"space", c.space},
          {"width", c.width},
          {"resolutions", c.resolutions},
          {"dataset", c.dataset},
          {"max_train_images", c.max_train_images},
          {"skip_bad", c.skip_bad},
          {"val_fraction", c.val_fraction},
          {"split_seed", c.split_seed},
          {"batch_size", c.batch_size},
          {"workers", c.workers},
          {"lr", c.lr},
          {"momentum", c.momentum},
          {"nesterov", c.nesterov},
          {"warmup_epochs", c.warmup_epochs},
          {"weight_decay", c.weight_decay},
          {"bn_weight_decay", c.bn_weight_decay},
          {"label_smoothing", c.label_smoothing},
          {"largest_epochs", c.largest_epochs},
          {"elastic_epochs", c.elastic_epochs},
          {"subnets_per_step", c.subnets_per_step},
          {"distill", c.distill},
          {"scale_min", c.scale_min},
          {"seed", c.seed},
          {"checkpoint_every", c.checkpoint_every},
          {"eval_random", c.eval_random},
          {"bn_batches", c.bn_batches},
          {"eval_batch_size", c.eval_batch_size},
          {"device", c.device},
          {"threads", c.threads}};
}

TrainConfig train_config_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": training config: expected a mapping");
  TrainConfig c;
  read_key(j, "space", c.space, where);
  read_key(j, "width", c.width, where);
  read_key(j, "resolutions", c.resolutions, where);
  read_key(j, "dataset", c.dataset, where);
  read_key(j, "max_train_images", c.max_train_images, where);
  read_key(j, "skip_bad", c.skip_bad, where);
  read_key(j, "val_fraction", c.val_fraction, where);
  read_key(j, "split_seed", c.split_seed, where);
  read_key(j, "batch_size", c.batch_size, where);
  read_key(j, "workers", c.workers, where);
  read_key(j, "lr", c.lr, where);
  read_key(j, "momentum", c.momentum, where);
  read_key(j, "nesterov", c.nesterov, where);
  read_key(j, "warmup_epochs", c.warmup_epochs, where);
  read_key(j, "weight_decay", c.weight_decay, where);
  read_key(j, "bn_weight_decay", c.bn_weight_decay, where);
  read_key(j, "label_smoothing", c.label_smoothing, where);
  read_key(j, "largest_epochs", c.largest_epochs, where);
  read_key(j, "elastic_epochs", c.elastic_epochs, where);
  read_key(j, "subnets_per_step", c.subnets_per_step, where);
  read_key(j, "distill", c.distill, where);
  read_key(j, "scale_min", c.scale_min, where);
  read_key(j, "seed", c.seed, where);
  read_key(j, "checkpoint_every", c.checkpoint_every, where);
  read_key(j, "eval_random", c.eval_random, where);
  read_key(j, "bn_batches", c.bn_batches, where);
  read_key(j, "eval_batch_size", c.eval_batch_size, where);
  read_key(j, "device", c.device, where);
  read_key(j, "threads", c.threads, where);
  return c;
}

bool affects_results(const std::string& key) {
  static const std::set<std::string> operational = {"workers", "threads", "device", "checkpoint_every",
                                                    "eval_batch_size"};
  return operational.count(key) == 0;
}

SearchSpace training_space(const TrainConfig& c, int32_t num_classes) {
  const SearchSpace full = load_search_space(c.space);
  double width = c.width;
  if (width == 0) {
    if (full.widths.size() != 1)
      throw Error("width: required; search space '" + full.name + "' has widths " + join(full.widths));
    width = full.widths.front();
  }
  if (width_index(full, width) < 0)
    throw Error("width " + fmt_g(width) + " is not in search space '" + full.name + "' (widths: " +
                join(full.widths) + ")");
  std::vector<int32_t> res = c.resolutions.empty() ? full.resolutions : c.resolutions;
  for (int32_t r : res)
    if (resolution_index(full, r) < 0)
      throw Error("resolution " + std::to_string(r) + " is not in search space '" + full.name +
                  "' (resolutions: " + join(full.resolutions) + ")");
  std::sort(res.begin(), res.end());
  res.erase(std::unique(res.begin(), res.end()), res.end());
  if (num_classes < 1) throw Error("the data set has no classes");
  SearchSpace s = full;
  s.widths = {width};
  s.resolutions = res;
  s.num_classes = num_classes;
  validate(s);
  return s;
}

ArchSpec largest_subnet(const SearchSpace& s) {
  return largest_arch(s, 0, static_cast<int32_t>(s.resolutions.size()) - 1);
}

ArchSpec smallest_subnet(const SearchSpace& s) { return smallest_arch(s, 0, 0); }

std::string checkpoint_path(const std::string& out_dir) { return (fs::path(out_dir) / kCheckpointName).string(); }

TrainResult train(const TrainConfig& config, const std::string& out_dir, bool resume, bool force,
                  const TrainHooks& hooks) {
  Run run(config, out_dir, resume, force, hooks);
  return run.go();
}

bool cuda_available() { return torch::cuda::is_available(); }

void check_device(const std::string& device) {
  if (device == "cpu") return;
  if (device != "cuda") throw Error("device: '" + device + "' is not cpu or cuda");
  if (!cuda_available())
    throw Error("device cuda: this LibTorch build has no CUDA support or sees no GPU (Debian's libtorch "
                "package is CPU-only); use --device cpu, or build against a CUDA LibTorch");
}

// ---- evaluation --------------------------------------------------------------------------

std::vector<datasets::Batch> bn_recalibration_batches(std::shared_ptr<const datasets::Dataset> data,
                                                      int32_t resolution, const EvalOptions& o) {
  datasets::DataLoader loader(data, train_batches(o.bn_batch_size, o.workers, o.seed, o.scale_min, resolution));
  loader.start_epoch(0);
  std::vector<datasets::Batch> batches;
  while (static_cast<int32_t>(batches.size()) < o.bn_batches) {
    auto b = loader.next();
    if (!b) break;
    if (b->size < 2) continue;
    batches.push_back(std::move(*b));
  }
  loader.stop();
  if (batches.empty()) throw Error("no batch of at least 2 images for BN recalibration");
  return batches;
}

namespace {

// BN recalibration of `arch` on bn_batches batches of `bn_data` (train
// transform, seeded order); returns the images used. Leaves `arch` active.
int64_t recalibrate_subnet_bn(Supernet& net, const ArchSpec& arch, std::shared_ptr<const datasets::Dataset> bn_data,
                              const EvalOptions& o) {
  net.set_active(arch);
  if (o.bn_batches <= 0) return 0;
  const torch::Device device = net.module().parameters().front().device();
  std::vector<datasets::Batch> drawn = bn_recalibration_batches(bn_data, arch.resolution, o);
  std::vector<at::Tensor> batches;
  int64_t images = 0;
  for (datasets::Batch& b : drawn) {
    batches.push_back(images_of(b, device).clone());
    images += b.size;
  }
  net.recalibrate_bn(batches);
  return images;
}

// A checkpoint's supernet rebuilt for one of its subnets, with the data set
// for BN recalibration. `device` has passed check_device.
struct OpenedCheckpoint {
  Checkpoint ck;
  std::shared_ptr<const datasets::Dataset> bn;
  std::string bn_dataset;
  std::optional<Supernet> net;
};

OpenedCheckpoint open_checkpoint_for(Checkpoint loaded, const std::string& checkpoint, const ArchSpec& arch,
                                     const std::string& arch_name, const std::string& bn_dataset,
                                     const std::string& device, int32_t threads) {
  OpenedCheckpoint out;
  out.ck = std::move(loaded);
  const Checkpoint& ck = out.ck;
  const TrainConfig config = train_config_from_json(ck.config, checkpoint);
  if (std::string why; !contains(ck.space, arch, &why))
    throw Error(arch_name + ": not a subnet of checkpoint " + checkpoint + " (search space '" + ck.space.name +
                "' at width " + fmt_g(ck.space.widths.front()) + ", resolutions " + join(ck.space.resolutions) + ", " +
                std::to_string(ck.space.num_classes) + " classes): " + why);
  if (bn_dataset.empty()) {
    out.bn_dataset = ck.dataset;
    try {
      out.bn = open_training_data(ck.dataset, config).train;
    } catch (const Error& e) {
      throw Error(std::string(e.what()) + " (the checkpoint's training set, for BN recalibration; name another "
                  "with --bn-dataset)");
    }
  } else {
    out.bn_dataset = bn_dataset;
    out.bn = datasets::open_dataset(bn_dataset);
  }
  check_channels(*out.bn, ck.space, out.bn_dataset);
  set_threads(threads);
  SupernetOptions so;
  so.seed = config.seed;
  so.threads = threads;
  out.net.emplace(ck.space, so);
  guarded("loading the checkpoint", [&] {
    out.net->module().to(torch::Device(device == "cuda" ? torch::kCUDA : torch::kCPU));
    load_model(*out.net, ck.model, checkpoint);
  });
  return out;
}

}  // namespace

namespace {

// Top-1 of `forward` (NCHW batch -> logits) on `data`, centre crop at
// `resolution`, in the given batches.
template <typename Forward>
EvalResult count_correct(Forward&& forward, const torch::Device& device, std::shared_ptr<const datasets::Dataset> data,
                         int32_t resolution, const EvalOptions& o) {
  EvalResult result;
  datasets::LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.workers = o.workers;
  lo.shuffle = false;
  lo.transform.train = false;
  lo.transform.height = lo.transform.width = resolution;
  datasets::DataLoader loader(data, lo);
  loader.start_epoch(0);
  torch::NoGradGuard no_grad;
  while (auto b = loader.next()) {
    const at::Tensor pred = forward(images_of(*b, device)).argmax(1).to(torch::kCPU);
    const at::Tensor y = torch::from_blob(b->labels.data(), {b->size}, torch::kInt64);
    result.correct += pred.eq(y).sum().item<int64_t>();
    result.count += b->size;
  }
  return result;
}

}  // namespace

EvalResult evaluate_subnet(Supernet& net, const ArchSpec& arch, std::shared_ptr<const datasets::Dataset> data,
                           std::shared_ptr<const datasets::Dataset> bn_data, const EvalOptions& o) {
  return guarded("evaluate", [&] {
    const int64_t bn_images = recalibrate_subnet_bn(net, arch, bn_data, o);
    net.eval();
    EvalResult result = count_correct([&](const at::Tensor& x) { return net.forward(x); },
                                      net.module().parameters().front().device(), data, arch.resolution, o);
    result.bn_images = bn_images;
    return result;
  });
}

SearchSpace checkpoint_space(const std::string& checkpoint) { return load_checkpoint(checkpoint).space; }

nlohmann::json checkpoint_config(const std::string& checkpoint) { return load_checkpoint(checkpoint).config; }

CheckpointEval evaluate_checkpoint(const std::string& checkpoint, const ArchSpec& arch, const std::string& arch_name,
                                   const std::string& dataset, const CheckpointEvalOptions& o) {
  check_device(o.device);
  // The evaluated data set is checked before the (slower) supernet is built.
  Checkpoint ck_meta = load_checkpoint(checkpoint);
  datasets::DatasetOptions data_options;
  data_options.skip_bad = o.skip_bad;
  const auto data = datasets::open_dataset(dataset, data_options);
  if (data->num_classes() != ck_meta.space.num_classes)
    throw Error("data set '" + dataset + "' has " + std::to_string(data->num_classes()) + " classes, but checkpoint " +
                checkpoint + " was trained on " + std::to_string(ck_meta.space.num_classes) + " (" + ck_meta.dataset +
                ")");
  if (data->class_names() != ck_meta.class_names)
    spdlog::warn("data set '{}' names its classes differently from the checkpoint's training set; labels are "
                 "compared by index", dataset);
  check_channels(*data, ck_meta.space, dataset);
  OpenedCheckpoint opened =
      open_checkpoint_for(std::move(ck_meta), checkpoint, arch, arch_name, o.bn_dataset, o.device, o.threads);
  CheckpointEval out;
  out.space = opened.ck.space;
  out.bn_dataset = opened.bn_dataset;
  out.result = evaluate_subnet(*opened.net, arch, data, opened.bn, o.eval);
  if (const datasets::BadSamples bad_images = data->bad_samples(); bad_images.count > 0) {
    std::string first;
    for (const std::string& m : bad_images.first) first += "\n  " + m;
    spdlog::warn("--skip-bad: {} corrupt image(s) of {} skipped (not counted in the top-1); the first:{}",
                 bad_images.count, dataset, first);
  }
  return out;
}

ExportedSubnet export_subnet(const std::string& checkpoint, const ArchSpec& arch, const std::string& arch_name,
                             const ExportOptions& o) {
  if (o.calibration_images < 1) throw Error("export: at least one calibration image");
  OpenedCheckpoint opened =
      open_checkpoint_for(load_checkpoint(checkpoint), checkpoint, arch, arch_name, o.bn_dataset, "cpu", o.threads);
  ExportedSubnet out;
  out.class_names = opened.ck.class_names;
  out.bn_dataset = opened.bn_dataset;
  guarded("export", [&] {
    out.bn_images = recalibrate_subnet_bn(*opened.net, arch, opened.bn, o.bn);
    opened.net->eval();
    out.weights = opened.net->float_weights(arch);
    // Calibration images: a seeded draw of the training split with the
    // evaluation transform (what the deployed model will see), NHWC.
    out.calibration_images = calibration_images(opened.bn, arch.resolution, o.calibration_images,
                                                derive_seed(o.bn.seed, 0x63616c6962ull), o.bn.workers);
    if (out.calibration_images.empty()) throw Error("export: no image for calibration in " + opened.bn_dataset);
  });
  return out;
}

std::vector<std::vector<float>> calibration_images(std::shared_ptr<const datasets::Dataset> data, int32_t resolution,
                                                   int32_t count, uint64_t seed, int32_t workers) {
  datasets::LoaderOptions lo;
  lo.batch_size = count;
  lo.workers = workers;
  lo.seed = seed;
  lo.shuffle = true;
  lo.transform.train = false;
  lo.transform.height = lo.transform.width = resolution;
  datasets::DataLoader loader(data, lo);
  loader.start_epoch(0);
  auto b = loader.next();
  loader.stop();
  std::vector<std::vector<float>> images;
  if (b)
    for (int64_t n = 0; n < b->size; ++n) images.push_back(datasets::image_nhwc(*b, n));
  return images;
}

OpenedSupernet open_supernet(const std::string& checkpoint, const std::string& device, int32_t threads) {
  check_device(device);
  Checkpoint ck = load_checkpoint(checkpoint);
  OpenedSupernet out;
  out.config = train_config_from_json(ck.config, checkpoint);
  out.space = ck.space;
  out.dataset = ck.dataset;
  out.class_names = ck.class_names;
  try {
    const TrainingData d = open_training_data(ck.dataset, out.config);
    out.train = d.train;
    out.val = d.val;
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (the training set of checkpoint " + checkpoint + ")");
  }
  check_channels(*out.train, ck.space, ck.dataset);
  if (out.train->num_classes() != ck.space.num_classes)
    throw Error("data set '" + ck.dataset + "' now has " + std::to_string(out.train->num_classes()) +
                " classes, checkpoint " + checkpoint + " was trained on " + std::to_string(ck.space.num_classes));
  set_threads(threads);
  SupernetOptions so;
  so.seed = out.config.seed;
  so.threads = threads;
  out.net = std::make_unique<Supernet>(ck.space, so);
  guarded("loading the checkpoint", [&] {
    out.net->module().to(torch::Device(device == "cuda" ? torch::kCUDA : torch::kCPU));
    load_model(*out.net, ck.model, checkpoint);
  });
  return out;
}

EvalResult evaluate_module(torch::nn::SequentialImpl& model, std::shared_ptr<const datasets::Dataset> data,
                           int32_t resolution, const EvalOptions& o) {
  return guarded("evaluate", [&] {
    model.eval();
    return count_correct([&](const at::Tensor& x) { return model.forward(x); }, model.parameters().front().device(),
                         data, resolution, o);
  });
}

// ---- fine-tuning -----------------------------------------------------------------------------

std::vector<double> finetune(torch::nn::SequentialImpl& model, std::shared_ptr<const datasets::Dataset> data,
                             const FinetuneOptions& o) {
  return guarded("finetune", [&] {
    if (o.epochs < 1 || o.batch_size < 2 || !(o.lr > 0)) throw Error("finetune: epochs >= 1, batch_size >= 2, lr > 0");
    const torch::Device device = model.parameters().front().device();
    Sgd sgd = make_sgd(model.named_parameters(), o.momentum, false, o.weight_decay, false);
    datasets::LoaderOptions lo = train_batches(o.batch_size, o.workers, o.seed, o.scale_min,
                                               o.resolution > 0 ? o.resolution : data->height());
    lo.drop_last = true;
    datasets::DataLoader loader(data, lo);
    const int64_t total = loader.batches_per_epoch() * o.epochs;
    if (total < 1) throw Error("finetune: fewer images than one batch");
    const auto ce = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(o.label_smoothing);
    std::vector<double> losses;
    int64_t step = 0;
    model.train();
    for (int32_t e = 0; e < o.epochs; ++e) {
      loader.start_epoch(e);
      double sum = 0;
      int64_t n = 0;
      while (auto b = loader.next()) {
        sgd.zero_grad();
        const at::Tensor loss = torch::nn::functional::cross_entropy(
            model.forward(images_of(*b, device)), labels_of(*b, device), ce);
        loss.backward();
        sgd.step(cosine_lr(o.lr, step++, 0, total));
        sum += loss.item<double>() * static_cast<double>(b->size);
        n += b->size;
      }
      losses.push_back(n > 0 ? sum / static_cast<double>(n) : 0);
    }
    model.eval();
    return losses;
  });
}

}  // namespace tinynas::supernet
