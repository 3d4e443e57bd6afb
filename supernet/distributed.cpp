#include "supernet/distributed.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>

#include "core/error.h"

namespace tinynas::supernet {
namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

int64_t env_int(const char* name, int64_t lo, int64_t hi) {
  const char* v = env(name);
  if (v == nullptr) throw Error(std::string("distributed training: ") + name + " is not set");
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi)
    throw Error(std::string("distributed training: ") + name + "=" + shorten(v) + " is not an integer in " +
                std::to_string(lo) + ".." + std::to_string(hi));
  return x;
}

// What went wrong in a c10d call, as one line.
template <typename F>
auto c10d_call(const std::string& what, const std::string& address, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw Error("distributed training (" + address + "): " + what + ": " + one_line(e.what_without_backtrace(), 300));
  } catch (const std::exception& e) {
    if (dynamic_cast<const Error*>(&e) != nullptr) throw;
    throw Error("distributed training (" + address + "): " + what + ": " + one_line(e.what(), 300));
  }
}

}  // namespace

struct ProcessGroup::Impl {
  int32_t rank = 0, world = 1;
  std::string address;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::chrono::milliseconds timeout{120000};
  double seconds = 0;  // in all-reduces so far (waiting for the other ranks included)
  int64_t count = 0;

  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) {
    c10d_call(what, address, [&] { return work->wait(timeout); });
  }
};

std::unique_ptr<ProcessGroup> ProcessGroup::from_environment() {
  int64_t rank = 0, world = 1;
  std::string host;
  int64_t port = 0;
  if (env("RANK") != nullptr || env("WORLD_SIZE") != nullptr) {
    world = env_int("WORLD_SIZE", 1, 65536);
    rank = env_int("RANK", 0, world - 1);
    if (world == 1) return nullptr;
    if (env("TINYNAS_DIST_STORE") == nullptr) {
      if (env("MASTER_ADDR") == nullptr)
        throw Error("distributed training: RANK and WORLD_SIZE are set, MASTER_ADDR is not");
      host = env("MASTER_ADDR");
      port = env_int("MASTER_PORT", 1, 65535);
    }
  } else if (env("SLURM_NTASKS") != nullptr && env("SLURM_PROCID") != nullptr) {
    world = env_int("SLURM_NTASKS", 1, 65536);
    rank = env_int("SLURM_PROCID", 0, world - 1);
    if (world == 1) return nullptr;
    if (env("TINYNAS_DIST_STORE") == nullptr) {
      host = env("MASTER_ADDR") != nullptr ? std::string(env("MASTER_ADDR"))
                                          : first_slurm_host(env("SLURM_JOB_NODELIST") != nullptr
                                                                 ? env("SLURM_JOB_NODELIST")
                                                                 : "");
      port = env("MASTER_PORT") != nullptr ? env_int("MASTER_PORT", 1, 65535)
                                           : 20000 + env_int("SLURM_JOB_ID", 0, INT64_MAX) % 20000;
    }
  } else {
    return nullptr;
  }

  auto impl = std::make_unique<Impl>();
  impl->rank = static_cast<int32_t>(rank);
  impl->world = static_cast<int32_t>(world);
  if (env("TINYNAS_DIST_TIMEOUT") != nullptr)
    impl->timeout = std::chrono::seconds(env_int("TINYNAS_DIST_TIMEOUT", 1, 86400));
  if (const char* path = env("TINYNAS_DIST_STORE")) {
    impl->address = std::string("file:") + path;
    impl->store = c10d_call("opening the file store", impl->address, [&] {
      return c10::make_intrusive<c10d::FileStore>(path, static_cast<int>(world));
    });
  } else {
    impl->address = host + ":" + std::to_string(port);
    impl->store = c10d_call("rendezvous", impl->address, [&] {
      c10d::TCPStoreOptions o;
      o.port = static_cast<uint16_t>(port);
      o.isServer = rank == 0;
      o.numWorkers = static_cast<size_t>(world);
      o.waitWorkers = true;
      o.timeout = impl->timeout;
      return c10::make_intrusive<c10d::TCPStore>(host, o);
    });
  }
  impl->store->setTimeout(impl->timeout);
  impl->pg = c10d_call("creating the Gloo process group", impl->address, [&] {
    auto opts = c10d::ProcessGroupGloo::Options::create();
    opts->timeout = impl->timeout;
    // One host (or a file store, which the tests use): the loopback device;
    // several: the interface this machine's hostname resolves to.
    const bool local = host.empty() || host == "localhost" || host == "127.0.0.1";
    opts->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                  : c10d::ProcessGroupGloo::createDefaultDevice());
    return c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, static_cast<int>(rank), static_cast<int>(world),
                                                       opts);
  });
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
}

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

int32_t ProcessGroup::rank() const { return impl_->rank; }
int32_t ProcessGroup::world_size() const { return impl_->world; }
const std::string& ProcessGroup::address() const { return impl_->address; }

void ProcessGroup::allreduce_sum(at::Tensor& tensor) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<at::Tensor> t{tensor};
  impl_->wait(impl_->pg->allreduce(t), "all-reduce");
  impl_->seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ++impl_->count;
}

double ProcessGroup::collective_seconds() const { return impl_->seconds; }
int64_t ProcessGroup::collectives() const { return impl_->count; }

void ProcessGroup::allreduce_gradients(const std::vector<at::Tensor>& params, int64_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  int64_t bytes = 0;
  auto flush = [&] {
    if (grads.empty()) return;
    std::vector<at::Tensor> flat_parts;
    flat_parts.reserve(grads.size());
    for (const at::Tensor& g : grads) flat_parts.push_back(g.reshape({-1}));
    at::Tensor flat = at::cat(flat_parts);
    allreduce_sum(flat);
    int64_t off = 0;
    for (at::Tensor& g : grads) {
      const int64_t n = g.numel();
      g.copy_(flat.narrow(0, off, n).view(g.sizes()));
      off += n;
    }
    grads.clear();
    bytes = 0;
  };
  for (const at::Tensor& p : params) {
    at::Tensor g = p.grad();
    if (!g.defined()) continue;
    grads.push_back(g);
    bytes += g.numel() * static_cast<int64_t>(g.element_size());
    if (bytes >= bucket_bytes) flush();
  }
  flush();
}

void ProcessGroup::check_same(const std::string& what, uint64_t value) {
  // Two int64 halves of the value: the minimum and the maximum over the ranks
  // differ exactly when some rank disagrees (min = -max of the negation).
  at::Tensor v = torch::tensor({static_cast<int64_t>(value >> 32), static_cast<int64_t>(value & 0xffffffffu),
                                -static_cast<int64_t>(value >> 32), -static_cast<int64_t>(value & 0xffffffffu)},
                               torch::kLong);
  std::vector<at::Tensor> t{v};
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::MAX;
  impl_->wait(impl_->pg->allreduce(t, o), "checking " + what);
  const auto a = v.accessor<int64_t, 1>();
  const uint64_t max_hi = static_cast<uint64_t>(a[0]), max_lo = static_cast<uint64_t>(a[1]);
  const uint64_t min_hi = static_cast<uint64_t>(-a[2]), min_lo = static_cast<uint64_t>(-a[3]);
  if (max_hi != min_hi || max_lo != min_lo)
    throw Error("distributed training (" + impl_->address + "): the " + std::to_string(impl_->world) +
                " ranks disagree on " + what + "; start every rank with the same command and files");
}

void ProcessGroup::barrier() {
  at::Tensor one = torch::ones({1});
  allreduce_sum(one);
}

namespace {

struct AllreduceSum : torch::autograd::Function<AllreduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, ProcessGroup* group) {
    ctx->saved_data["group"] = reinterpret_cast<int64_t>(group);
    at::Tensor y = x.clone();
    group->allreduce_sum(y);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* group = reinterpret_cast<ProcessGroup*>(ctx->saved_data["group"].toInt());
    at::Tensor g = grads[0].contiguous().clone();
    group->allreduce_sum(g);
    return {g, at::Tensor()};
  }
};

}  // namespace

at::Tensor allreduce_sum_differentiable(const at::Tensor& x, ProcessGroup& group) {
  return AllreduceSum::apply(x, &group);
}

int32_t rank_from_environment() {
  if (env("RANK") != nullptr || env("WORLD_SIZE") != nullptr) {
    const int64_t world = env_int("WORLD_SIZE", 1, 65536);
    return static_cast<int32_t>(env_int("RANK", 0, world - 1));
  }
  if (env("SLURM_NTASKS") != nullptr && env("SLURM_PROCID") != nullptr) {
    const int64_t world = env_int("SLURM_NTASKS", 1, 65536);
    return static_cast<int32_t>(env_int("SLURM_PROCID", 0, world - 1));
  }
  return 0;
}

std::string first_slurm_host(const std::string& nodelist) {
  if (nodelist.empty()) throw Error("distributed training: SLURM_JOB_NODELIST is empty or not set (set MASTER_ADDR)");
  const size_t comma = nodelist.find(',');
  const size_t bracket = nodelist.find('[');
  if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket))
    return nodelist.substr(0, comma);
  const size_t close = nodelist.find(']', bracket);
  if (close == std::string::npos || close == bracket + 1)
    throw Error("distributed training: SLURM_JOB_NODELIST '" + shorten(nodelist) + "' is malformed");
  const std::string inside = nodelist.substr(bracket + 1, close - bracket - 1);
  const size_t end = inside.find_first_of(",-");
  std::string suffix = nodelist.substr(close + 1);
  if (const size_t c = suffix.find(','); c != std::string::npos) suffix.resize(c);
  return nodelist.substr(0, bracket) + inside.substr(0, end) + suffix;
}

}  // namespace tinynas::supernet
