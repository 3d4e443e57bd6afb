// bench_dataloader: images/s of the training data loader on CIFAR-10's
// train.tar (50,000 32x32 JPEGs, ../shared/data/cifar10/train.tar): random
// resized crop to 32 and to 48, flip, normalise, batches of 128, with 2 worker
// threads against 1. Each configuration opens the tar afresh (the open reads
// the shard's members into memory), then runs the first epoch (every image is
// JPEG-decoded and enters the decoded cache) and --cached-epochs more (decoded
// images from the cache; only crop, resize and normalise remain).
//
// Target: >= 5,000 images/s with 2 workers on this project's 2-core machine,
// first epoch included. The batches must not depend on the worker count; a
// sparse checksum of every epoch is compared across worker counts. CPU time
// counts the whole process (workers and the consuming thread).
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/bench_common.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"

namespace tinynas::bench {
namespace {

constexpr double kTargetImagesPerSecond = 5000;

std::string default_data() {
  if (const char* env = std::getenv("TINYNAS_DATA_DIR"); env != nullptr && *env != '\0')
    return std::string(env) + "/cifar10/train.tar";
  return std::string(TINYNAS_SOURCE_DIR) + "/../shared/data/cifar10/train.tar";
}

// FNV-1a over the indices, labels and every 61st float of each batch: cheap
// enough not to slow the consumer, enough to catch a different order,
// crop or flip.
struct Checksum {
  uint64_t h = 0xcbf29ce484222325ull;
  void add(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  }
  void add(const datasets::Batch& batch) {
    add(batch.indices.data(), batch.indices.size() * sizeof(int64_t));
    add(batch.labels.data(), batch.labels.size() * sizeof(int64_t));
    for (size_t i = 0; i < batch.images.size(); i += 61) add(&batch.images[i], sizeof(float));
  }
};

struct EpochRun {
  int64_t images = 0;
  double wall = 0;
  double cpu = 0;
  uint64_t checksum = 0;
};

EpochRun run_epoch(datasets::DataLoader& loader, int64_t epoch) {
  EpochRun run;
  Checksum sum;
  const double t0 = now_seconds(), c0 = cpu_seconds();
  loader.start_epoch(epoch);
  while (auto batch = loader.next()) {
    run.images += batch->size;
    sum.add(*batch);
  }
  run.wall = now_seconds() - t0;
  run.cpu = cpu_seconds() - c0;
  run.checksum = sum.h;
  return run;
}

int run(int argc, char** argv) {
  std::string data = default_data();
  std::vector<int> workers = {2, 1};
  std::vector<int> resolutions = {32, 48};
  int64_t batch_size = 128;
  int cached_epochs = 1;
  uint64_t seed = 0;
  CLI::App app("images/s of the data loader on CIFAR-10 train.tar against the 5,000 images/s target");
  app.add_option("--data", data, "tar of <class>/<image>.jpg (default ../shared/data/cifar10/train.tar)");
  app.add_option("--workers", workers, "Worker counts, in order")->delimiter(',')->check(CLI::Range(1, 64));
  app.add_option("--resolutions", resolutions, "Output sizes")->delimiter(',')->check(CLI::Range(8, 1024));
  app.add_option("--batch", batch_size, "Batch size")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  app.add_option("--cached-epochs", cached_epochs, "Epochs after the first")->check(CLI::Range(0, 100));
  app.add_option("--seed", seed, "Loader seed");
  CLI11_PARSE(app, argc, argv);
  if (!std::filesystem::exists(data)) {
    std::printf("bench_dataloader: %s not found; skipped (set TINYNAS_DATA_DIR or --data)\n", data.c_str());
    return 0;
  }

  std::printf("bench_dataloader: tar:%s, batch %" PRId64
              ", random resized crop (0.08..1, 3/4..4/3) + flip + normalise, float NCHW; %u hardware threads; load "
              "average %s\n\n",
              data.c_str(), batch_size, std::thread::hardware_concurrency(), load_average().c_str());

  Table table;
  table.add_column("resolution");
  table.add_column("workers");
  table.add_column("epoch", true);
  table.add_column("images");
  table.add_column("open s");
  table.add_column("wall s");
  table.add_column("images/s");
  table.add_column("vs 1 worker");
  table.add_column("cpu/(wall x workers)");
  table.add_column("target", true);
  table.add_column("result", true);

  bool all_pass = true, identical = true;
  // (resolution, epoch) -> checksum of the first worker count, and the 1-worker rate.
  std::map<std::pair<int, int>, uint64_t> reference;
  std::map<std::pair<int, int>, double> one_worker_rate;
  struct Row {
    int res, workers, epoch;
    EpochRun run;
    double open;
  };
  std::vector<Row> rows;
  for (const int res : resolutions) {
    for (const int w : workers) {
      const double t0 = now_seconds();
      const auto ds = datasets::open_dataset("tar:" + data);
      const double open = now_seconds() - t0;
      datasets::LoaderOptions o;
      o.batch_size = batch_size;
      o.workers = w;
      o.seed = seed;
      o.transform.height = o.transform.width = res;
      datasets::DataLoader loader(ds, o);
      for (int e = 0; e <= cached_epochs; ++e) {
        const EpochRun r = run_epoch(loader, e);
        const auto key = std::make_pair(res, e);
        if (!reference.count(key)) reference[key] = r.checksum;
        identical = identical && reference[key] == r.checksum;
        if (w == 1) one_worker_rate[key] = static_cast<double>(r.images) / r.wall;
        rows.push_back({res, w, e, r, e == 0 ? open : -1});
      }
    }
  }
  for (const Row& row : rows) {
    const double rate = static_cast<double>(row.run.images) / row.run.wall;
    const auto key = std::make_pair(row.res, row.epoch);
    const bool targeted = row.workers == 2;
    const bool pass = rate >= kTargetImagesPerSecond;
    if (targeted) all_pass = all_pass && pass;
    table.add_row({std::to_string(row.res), std::to_string(row.workers),
                   row.epoch == 0 ? "first (decode)" : "cached " + std::to_string(row.epoch),
                   std::to_string(row.run.images), row.open >= 0 ? strf("%.2f", row.open) : "",
                   strf("%.2f", row.run.wall), strf("%.0f", rate),
                   one_worker_rate.count(key) ? strf("%.2fx", rate / one_worker_rate[key]) : "-",
                   strf("%.2f", row.run.cpu / (row.run.wall * row.workers)),
                   targeted ? strf(">= %.0f/s", kTargetImagesPerSecond) : "-",
                   targeted ? (pass ? "PASS" : "FAIL") : ""});
  }
  table.print();
  std::printf("\nbatches identical across worker counts (sparse checksum per epoch): %s\n", identical ? "yes" : "NO");
  return all_pass && identical ? 0 : 1;
}

}  // namespace
}  // namespace tinynas::bench

int main(int argc, char** argv) { return tinynas::bench::run_main(tinynas::bench::run, argc, argv); }
