#include "datasets/loader.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/rng.h"

namespace tinynas::datasets {

namespace {

// Streams of their own, so the epoch order and the batch resolution never
// share numbers with the per-sample augmentation streams.
constexpr uint64_t kOrderSalt = 0x4F52444552ull;       // "ORDER"
constexpr uint64_t kResolutionSalt = 0x5245534F4Cull;  // "RESOL"

}  // namespace

std::vector<int64_t> epoch_order(int64_t size, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> order(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) order[static_cast<size_t>(i)] = i;
  if (!shuffle) return order;
  Rng rng(derive_seed(seed ^ kOrderSalt, static_cast<uint64_t>(epoch)));
  for (int64_t i = size - 1; i > 0; --i)
    std::swap(order[static_cast<size_t>(i)], order[rng.uniform(static_cast<uint32_t>(i + 1))]);
  return order;
}

struct DataLoader::Impl {
  std::shared_ptr<const Dataset> dataset;
  LoaderOptions opt;
  int64_t num_batches = 0;

  std::mutex mutex;
  std::condition_variable work_cv;   // workers: a batch may be claimed, or shutdown
  std::condition_variable ready_cv;  // consumer: a batch is done, or shutdown
  bool shutdown = false;
  bool active = false;  // an epoch is being delivered
  uint64_t generation = 0;
  // Read by workers between samples without the lock: a change cancels what
  // they are making (start_epoch mid-epoch, stop()).
  std::atomic<uint64_t> live_generation{0};
  int64_t epoch = 0;
  std::shared_ptr<const std::vector<int64_t>> order;
  int64_t next_claim = 0;    // next batch a worker may make
  int64_t next_deliver = 0;  // next batch next() returns
  struct Done {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };
  std::map<int64_t, Done> done;  // made, not yet delivered (at most the window)
  std::vector<std::thread> threads;

  int64_t window() const { return std::max<int64_t>(opt.prefetch, opt.workers); }

  // nullopt when cancelled. Throws tinynas::Error for a bad item (without
  // skip_bad); the error reaches the consumer with this batch.
  std::optional<Batch> make_batch(int64_t ep, int64_t b, const std::vector<int64_t>& ord, uint64_t gen) {
    Batch out;
    out.epoch = ep;
    out.index = b;
    out.channels = dataset->channels();
    out.height = opt.transform.height;
    out.width = opt.transform.width;
    if (!opt.resolutions.empty()) {
      Rng rng(derive_seed(opt.seed ^ kResolutionSalt, static_cast<uint64_t>(ep), static_cast<uint64_t>(b)));
      out.height = out.width = opt.resolutions[rng.uniform(static_cast<uint32_t>(opt.resolutions.size()))];
    }
    TransformOptions t = opt.transform;
    t.height = out.height;
    t.width = out.width;
    const int64_t global_begin = b * opt.batch_size;
    const int64_t len = std::min<int64_t>(opt.batch_size, static_cast<int64_t>(ord.size()) - global_begin);
    const int64_t begin = global_begin + len * opt.shard / opt.num_shards;
    const int64_t end = global_begin + len * (opt.shard + 1) / opt.num_shards;
    const size_t per_sample = static_cast<size_t>(out.channels) * static_cast<size_t>(out.height) *
                              static_cast<size_t>(out.width);
    out.images.resize(static_cast<size_t>(end - begin) * per_sample);
    out.labels.reserve(static_cast<size_t>(end - begin));
    out.indices.reserve(static_cast<size_t>(end - begin));
    for (int64_t pos = begin; pos < end; ++pos) {
      if (live_generation.load(std::memory_order_relaxed) != gen) return std::nullopt;
      const int64_t index = ord[static_cast<size_t>(pos)];
      Sample sample;
      try {
        sample = dataset->get(index);
      } catch (const Error& e) {
        if (!dataset->skip_bad()) throw;
        // Dropped from its batch; which items are bad depends only on the
        // data, so batches stay the same whatever the number of workers.
        dataset->record_bad(e.what());
        continue;
      }
      if (sample.image.channels != out.channels)
        throw Error(dataset->item_name(index) + ": " + std::to_string(sample.image.channels) +
                    " channels where the data set has " + std::to_string(out.channels));
      Rng rng(derive_seed(opt.seed, static_cast<uint64_t>(ep), static_cast<uint64_t>(index)));
      try {
        apply_transform(sample.image, t, rng, out.images.data() + out.labels.size() * per_sample);
      } catch (const Error& e) {
        throw Error(dataset->item_name(index) + ": " + e.what());
      }
      out.labels.push_back(sample.label);
      out.indices.push_back(index);
    }
    out.size = static_cast<int64_t>(out.labels.size());
    out.images.resize(out.labels.size() * per_sample);
    return out;
  }

  void worker() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      work_cv.wait(lock, [&] {
        return shutdown || (active && next_claim < num_batches && next_claim < next_deliver + window());
      });
      if (shutdown) return;
      const int64_t b = next_claim++;
      const uint64_t gen = generation;
      const int64_t ep = epoch;
      const auto ord = order;
      lock.unlock();
      Done result;
      try {
        result.batch = make_batch(ep, b, *ord, gen);
      } catch (...) {
        result.error = std::current_exception();
      }
      lock.lock();
      if (gen != generation || (!result.batch && !result.error)) continue;  // cancelled
      done[b] = std::move(result);
      ready_cv.notify_all();
    }
  }
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options) : impl_(new Impl) {
  if (!dataset) throw Error("data loader: no data set");
  if (options.batch_size < 1) throw Error("data loader: batch size " + std::to_string(options.batch_size) + " < 1");
  if (options.workers < 0 || options.workers > 256)
    throw Error("data loader: workers " + std::to_string(options.workers) + " not in 0..256");
  if (options.prefetch < 1) throw Error("data loader: prefetch " + std::to_string(options.prefetch) + " < 1");
  if (options.num_shards < 1 || options.shard < 0 || options.shard >= options.num_shards)
    throw Error("data loader: shard " + std::to_string(options.shard) + " of " + std::to_string(options.num_shards));
  validate_transform(options.transform);
  for (const int32_t r : options.resolutions)
    if (r < 1 || r > 4096) throw Error("data loader: resolution " + std::to_string(r) + " not in 1..4096");
  Impl& s = *impl_;
  s.dataset = std::move(dataset);
  s.opt = std::move(options);
  const int64_t n = s.dataset->size();
  s.num_batches = s.opt.drop_last ? n / s.opt.batch_size : (n + s.opt.batch_size - 1) / s.opt.batch_size;
  for (int32_t w = 0; w < s.opt.workers; ++w) s.threads.emplace_back([this] { impl_->worker(); });
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::batches_per_epoch() const { return impl_->num_batches; }

const LoaderOptions& DataLoader::options() const { return impl_->opt; }

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  Impl& s = *impl_;
  if (epoch < 0) throw Error("data loader: epoch " + std::to_string(epoch) + " < 0");
  if (first_batch < 0 || first_batch > s.num_batches)
    throw Error("data loader: batch " + std::to_string(first_batch) + " not in 0.." +
                std::to_string(s.num_batches) + " (batches per epoch)");
  auto order = std::make_shared<const std::vector<int64_t>>(
      epoch_order(s.dataset->size(), s.opt.seed, epoch, s.opt.shuffle));
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.shutdown) throw Error("data loader: start_epoch after stop()");
  ++s.generation;
  s.live_generation.store(s.generation);
  s.done.clear();
  s.epoch = epoch;
  s.order = std::move(order);
  s.next_claim = s.next_deliver = first_batch;
  s.active = true;
  s.work_cv.notify_all();
}

std::optional<Batch> DataLoader::next() {
  Impl& s = *impl_;
  std::unique_lock<std::mutex> lock(s.mutex);
  if (!s.active || s.shutdown) return std::nullopt;
  if (s.next_deliver >= s.num_batches) {
    s.active = false;
    return std::nullopt;
  }
  if (s.opt.workers == 0) {
    const int64_t b = s.next_deliver++;
    const auto order = s.order;
    const int64_t epoch = s.epoch;
    const uint64_t gen = s.generation;
    lock.unlock();
    return s.make_batch(epoch, b, *order, gen);
  }
  s.ready_cv.wait(lock, [&] { return s.shutdown || s.done.count(s.next_deliver) > 0; });
  if (s.shutdown) return std::nullopt;
  auto node = s.done.extract(s.next_deliver);
  ++s.next_deliver;
  s.work_cv.notify_all();
  lock.unlock();
  if (node.mapped().error) std::rethrow_exception(node.mapped().error);
  return std::move(node.mapped().batch);
}

void DataLoader::stop() {
  Impl& s = *impl_;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.shutdown && s.threads.empty()) return;
    s.shutdown = true;
    s.active = false;
    s.live_generation.fetch_add(1);
    s.work_cv.notify_all();
    s.ready_cv.notify_all();
  }
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  s.done.clear();
}

std::vector<float> image_nhwc(const Batch& b, int64_t i) {
  if (i < 0 || i >= b.size) throw Error("image_nhwc: image " + std::to_string(i) + " of a batch of " + std::to_string(b.size));
  const int64_t c = b.channels, hw = int64_t{b.height} * b.width;
  std::vector<float> out(static_cast<size_t>(c * hw));
  const float* src = b.images.data() + i * c * hw;
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t p = 0; p < hw; ++p) out[static_cast<size_t>(p * c + ch)] = src[ch * hw + p];
  return out;
}

}  // namespace tinynas::datasets
