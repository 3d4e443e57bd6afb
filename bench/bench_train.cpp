// bench_train: training throughput (images/s) on the CPU of the largest
// subnet of the MCUNet space at the width the space optimiser chooses for the
// F412 at 1M/256K (0.5) and r=96, batch 64, 10 classes, against the same
// network trained in PyTorch Python (bench/train_peer.py, run by this
// benchmark with /usr/bin/python3: Debian's python3-torch is the same torch
// build as the LibTorch we link).
//
// Engines, each: zero_grad, forward, cross entropy with label smoothing,
// backward, SGD (momentum 0.9, weight decay) step, loss.item():
//   (a) tinynas Supernet with the largest subnet active (the weight-shared
//       forward: weights and BN entries sliced to the active subnet; on the
//       CPU it keeps activations channels-last, see supernet.cpp);
//   (b) the standalone module Supernet::extract(largest) returns;
//   (c) the peer: train_peer.py --serve, a child process, plain torch.nn layers
//       built from the arch JSON this benchmark writes, same threads
//       (torch.set_num_threads), batch, optimiser and loss, PyTorch's default
//       (NCHW) tensors; its timed reps are requested one by one, interleaved
//       with ours (a, b, c, c', a, b, c, c', ...);
//   (c') for information: the same peer with model and input converted to
//       torch.channels_last (what a PyTorch user tuning for CPU would do);
//   (d) for information: Supernet::train_step, the sandwich rule (largest +
//       smallest + 2 random subnets, one optimiser step per batch of 64).
// Input of (a)-(d) is one synthetic batch (random floats, random labels)
// reused every step; data loading is measured apart (bench_dataloader), and
// here once more, to show it is not the bottleneck:
//   (e) the loader alone: DataLoader on CIFAR-10's train.tar (random resized
//       crop to r, flip, normalise; --loader-workers threads), batches taken
//       as fast as they come, from the start of the first epoch (every image
//       JPEG-decoded: the slow epoch);
//   (f) (a)'s step fed by that loader (its workers share the cores with the
//       training threads).
//
// Target: (a) >= 1.0x the peer's images/s (best of --reps timed runs of
// --steps steps each, after --warmup steps). Exit 0 when met (or when the
// peer could not run: then nothing is checked), 1 when missed or when the
// peer's network has a different parameter count, 2 on a bad config.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "bench/bench_common.h"
#include "bench/peer_process.h"
#include "core/arch_io.h"
#include "core/error.h"
#include "core/search_space.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "supernet/supernet.h"

namespace tinynas::bench {
namespace {

constexpr double kTargetRatio = 1.0;

struct Timing {
  std::vector<double> rates;  // images/s per timed rep
  double cpu_over_wall = 0;   // process CPU time / (wall x threads), all reps
  double best() const { return rates.empty() ? 0 : *std::max_element(rates.begin(), rates.end()); }
  double median() const {
    if (rates.empty()) return 0;
    std::vector<double> r = rates;
    std::sort(r.begin(), r.end());
    return r.size() % 2 ? r[r.size() / 2] : 0.5 * (r[r.size() / 2 - 1] + r[r.size() / 2]);
  }
};

// `images` images per call of step; warm-up, then one timed rep.
void time_rep(const std::function<void()>& step, int64_t images, int steps, Timing& t,
              double& cpu, double& wall) {
  const double t0 = now_seconds(), c0 = cpu_seconds();
  for (int i = 0; i < steps; ++i) step();
  const double w = now_seconds() - t0;
  cpu += cpu_seconds() - c0;
  wall += w;
  t.rates.push_back(static_cast<double>(images) * steps / w);
}

std::string default_data() {
  if (const char* env = std::getenv("TINYNAS_DATA_DIR"); env != nullptr && *env != '\0')
    return std::string(env) + "/cifar10/train.tar";
  return std::string(TINYNAS_SOURCE_DIR) + "/../shared/data/cifar10/train.tar";
}

int64_t count_params(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

int run(int argc, char** argv) {
  double width = 0.5;
  int32_t resolution = 96;
  int64_t batch = 64;
  int32_t classes = 10;
  int threads = 2;
  int warmup = 3, steps = 10, reps = 3, sandwich_steps = 3;
  double lr = 0.05, wd = 4e-5, label_smoothing = 0.1;
  uint64_t seed = 0;
  std::string space_name = "mcunet";
  std::string python = "/usr/bin/python3";
  std::string script = std::string(TINYNAS_SOURCE_DIR) + "/bench/train_peer.py";
  bool no_peer = false, no_peer_channels_last = false;
  std::string arch_out;
  std::string data = default_data();
  int loader_workers = 2;
  bool no_data = false;
  CLI::App app("training images/s of the largest subnet (LibTorch) against the same network in PyTorch Python");
  app.add_option("--space", space_name, "Search space (name or YAML)");
  app.add_option("--width", width, "Width multiplier (the space optimiser's choice for f412 1M/256K)");
  app.add_option("--resolution", resolution, "Input resolution")->check(CLI::Range(16, 512));
  app.add_option("--batch", batch, "Batch size")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  app.add_option("--classes", classes, "Classifier outputs")->check(CLI::Range(2, 100000));
  app.add_option("--threads", threads, "Intra-op threads of both engines")->check(CLI::Range(1, 256));
  app.add_option("--warmup", warmup, "Untimed steps first")->check(CLI::Range(0, 1000));
  app.add_option("--steps", steps, "Steps per timed rep")->check(CLI::Range(1, 100000));
  app.add_option("--reps", reps, "Timed reps (best is compared)")->check(CLI::Range(1, 100));
  app.add_option("--sandwich-steps", sandwich_steps, "Steps per timed rep of the sandwich (d); 0 skips it")
      ->check(CLI::Range(0, 100000));
  app.add_option("--lr", lr, "SGD learning rate");
  app.add_option("--wd", wd, "SGD weight decay");
  app.add_option("--label-smoothing", label_smoothing, "Cross-entropy label smoothing");
  app.add_option("--seed", seed, "Weights and synthetic batch");
  app.add_option("--python", python, "Python with torch for the peer");
  app.add_option("--peer-script", script, "The peer (bench/train_peer.py)");
  app.add_flag("--no-peer", no_peer, "Do not run the PyTorch Python peer");
  app.add_flag("--no-peer-channels-last", no_peer_channels_last,
               "Do not also time the peer with channels-last tensors (information)");
  app.add_option("--data", data, "tar of <class>/<image>.jpg for (e) and (f) (default ../shared/data/cifar10/train.tar)");
  app.add_option("--loader-workers", loader_workers, "Data loader threads of (e) and (f)")->check(CLI::Range(0, 64));
  app.add_flag("--no-data", no_data, "Skip (e) and (f)");
  app.add_option("--arch-out", arch_out, "Keep the arch JSON the peer builds here (default: a temporary file)");
  CLI11_PARSE(app, argc, argv);

  SearchSpace space = load_search_space(space_name);
  if (width_index(space, width) < 0)
    throw tinynas::Error(strf("width %g is not one of the space's widths", width));
  space = restrict_space(space, width, resolution);
  space.resolutions = {resolution};
  space.num_classes = classes;
  supernet::SupernetOptions options;
  options.seed = seed;
  options.threads = threads;
  supernet::Supernet net(space, options);
  supernet::set_threads(threads);
  const ArchSpec arch = net.largest();

  // The arch the peer builds.
  const std::string arch_path =
      !arch_out.empty()
          ? arch_out
          : (std::filesystem::temp_directory_path() / ("bench_train_arch_" + std::to_string(getpid()) + ".json"))
                .string();
  {
    std::ofstream f(arch_path);
    f << arch_to_json(arch).dump(2) << "\n";
    if (!f) throw tinynas::Error("cannot write " + arch_path);
  }

  std::printf(
      "bench_train: space %s, width %g, r=%d, largest subnet (%d blocks), %d classes, batch %" PRId64
      ", CPU, %d intra-op threads (torch %s, %u hardware threads); load average %s\n"
      "step: zero_grad, forward, cross entropy (label smoothing %g), backward, SGD (lr %g, momentum 0.9, "
      "wd %g), loss.item()\n"
      "input: one synthetic batch (random floats, random labels) reused every step; data loading "
      "apart, (e) and (f)\n"
      "timing: %d warm-up steps, then %d reps of %d steps; images/s of the best rep (median in brackets)\n\n",
      space_name.c_str(), width, resolution, arch.num_blocks(), classes, batch, threads, TORCH_VERSION,
      std::thread::hardware_concurrency(), load_average().c_str(), label_smoothing, lr, wd, warmup, reps,
      steps);
  std::fflush(stdout);

  torch::manual_seed(static_cast<uint64_t>(seed));
  const at::Tensor images = torch::randn({batch, space.in_channels, resolution, resolution});
  const at::Tensor labels = torch::randint(0, classes, {batch}, torch::kLong);
  const auto ce = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(label_smoothing);
  const auto sgd = torch::optim::SGDOptions(lr).momentum(0.9).weight_decay(wd);

  // (a) the supernet, largest active.
  net.set_active(arch);
  net.train();
  torch::optim::SGD opt_a(net.module().parameters(), sgd);
  auto step_a = [&] {
    opt_a.zero_grad();
    const at::Tensor loss = torch::nn::functional::cross_entropy(net.forward(images), labels, ce);
    loss.backward();
    opt_a.step();
    (void)loss.item<double>();
  };
  // (b) the extracted standalone module.
  torch::nn::Sequential extracted(net.extract(arch));
  extracted->train();
  torch::optim::SGD opt_b(extracted->parameters(), sgd);
  auto step_b = [&] {
    opt_b.zero_grad();
    const at::Tensor loss = torch::nn::functional::cross_entropy(extracted->forward(images), labels, ce);
    loss.backward();
    opt_b.step();
    (void)loss.item<double>();
  };
  const int64_t params = count_params(*extracted);

  // (c) the peer, started (and warmed up) before our warm-up.
  PeerProcess peer;
  std::string peer_why = "--no-peer";
  bool peer_ok = false;
  if (!no_peer) {
    peer_ok = peer.start({python, script, "--serve", "--arch", arch_path, "--batch", std::to_string(batch),
                          "--threads", std::to_string(threads), "--warmup", std::to_string(warmup), "--lr",
                          strf("%.17g", lr), "--wd", strf("%.17g", wd), "--label-smoothing",
                          strf("%.17g", label_smoothing), "--seed", std::to_string(seed), "--formats",
                          no_peer_channels_last ? "nchw" : "nchw,channels_last"},
                         &peer_why);
  }

  Timing ta, tb, tc, tcl;
  double cpu_a = 0, wall_a = 0, cpu_b = 0, wall_b = 0, cpu_c = 0, wall_c = 0, cpu_cl = 0, wall_cl = 0;
  // One timed rep of the peer in `format`; false when it stopped.
  auto peer_rep = [&](const std::string& format, Timing& t, double& cpu, double& wall) {
    const auto r = peer.request("run " + std::to_string(steps) + " " + format);
    if (!r) {
      peer_ok = false;
      peer_why = "the peer stopped" + (peer.last_line().empty() ? "" : ": " + peer.last_line());
      return false;
    }
    const double rate = r->at("images_per_s").get<double>();
    t.rates.push_back(rate);
    cpu += r->at("cpu_s").get<double>();
    wall += static_cast<double>(batch) * steps / rate;
    return true;
  };
  for (int i = 0; i < warmup; ++i) step_a();
  for (int i = 0; i < warmup; ++i) step_b();
  for (int rep = 0; rep < reps; ++rep) {  // interleaved, so that drift hits every engine
    time_rep(step_a, batch, steps, ta, cpu_a, wall_a);
    time_rep(step_b, batch, steps, tb, cpu_b, wall_b);
    if (peer_ok && peer_rep("nchw", tc, cpu_c, wall_c) && !no_peer_channels_last)
      peer_rep("channels_last", tcl, cpu_cl, wall_cl);
  }
  peer.stop();
  if (arch_out.empty()) std::filesystem::remove(arch_path);
  ta.cpu_over_wall = cpu_a / (wall_a * threads);
  tb.cpu_over_wall = cpu_b / (wall_b * threads);
  if (peer_ok) tc.cpu_over_wall = cpu_c / (wall_c * threads);
  if (peer_ok && !no_peer_channels_last) tcl.cpu_over_wall = cpu_cl / (wall_cl * threads);

  // (d) the sandwich rule, for information.
  Timing td;
  if (sandwich_steps > 0) {
    torch::optim::SGD opt_d(net.module().parameters(), sgd);
    uint64_t step_seed = seed;
    auto step_d = [&] { net.train_step(images, labels, opt_d, 2, step_seed++, label_smoothing); };
    for (int i = 0; i < std::min(warmup, 1); ++i) step_d();
    double cpu_d = 0, wall_d = 0;
    for (int rep = 0; rep < reps; ++rep) time_rep(step_d, batch, sandwich_steps, td, cpu_d, wall_d);
    td.cpu_over_wall = cpu_d / (wall_d * threads);
  }

  // (e) the loader alone and (f) (a) fed by it.
  Timing te, tf;
  std::string data_note;
  if (no_data) {
    data_note = "--no-data";
  } else if (!std::filesystem::exists(data)) {
    data_note = data + " not found (set TINYNAS_DATA_DIR or --data)";
  } else {
    const double t0 = now_seconds();
    const auto ds = datasets::open_dataset("tar:" + data);
    const double open_s = now_seconds() - t0;
    datasets::LoaderOptions o;
    o.batch_size = batch;
    o.workers = loader_workers;
    o.seed = seed;
    o.drop_last = true;
    o.transform.height = o.transform.width = resolution;
    datasets::DataLoader loader(ds, o);
    int64_t epoch = 0;
    loader.start_epoch(epoch);
    auto next = [&] {
      auto b = loader.next();
      if (!b) {
        loader.start_epoch(++epoch);
        b = loader.next();
      }
      return std::move(*b);
    };
    std::optional<datasets::Batch> held;  // the batch the step reads (from_blob)
    at::Tensor x, y;
    auto fetch = [&] {
      held = next();
      x = torch::from_blob(held->images.data(), {held->size, held->channels, held->height, held->width},
                           torch::kFloat);
      y = torch::from_blob(held->labels.data(), {held->size}, torch::kLong).remainder(classes);
    };
    double cpu_e = 0, wall_e = 0, cpu_f = 0, wall_f = 0;
    for (int rep = 0; rep < reps; ++rep) time_rep(fetch, batch, steps, te, cpu_e, wall_e);
    auto step_f = [&] {
      fetch();
      opt_a.zero_grad();
      const at::Tensor loss = torch::nn::functional::cross_entropy(net.forward(x), y, ce);
      loss.backward();
      opt_a.step();
      (void)loss.item<double>();
    };
    net.set_active(arch);
    for (int rep = 0; rep < reps; ++rep) time_rep(step_f, batch, steps, tf, cpu_f, wall_f);
    te.cpu_over_wall = cpu_e / (wall_e * threads);
    tf.cpu_over_wall = cpu_f / (wall_f * threads);
    data_note = strf("%s: %" PRId64 " images, opened in %.2f s; %d loader workers; (e) and (f) ran epoch 0 "
                     "(JPEG decode), from its first batch",
                     data.c_str(), ds->size(), open_s, loader_workers);
  }

  Table table;
  table.add_column("engine", true);
  table.add_column("images/s");
  table.add_column("(median)");
  table.add_column("ms/step");
  table.add_column("cpu/(wall x threads)");
  table.add_column("vs PyTorch");
  table.add_column("target", true);
  table.add_column("result", true);
  const double peer_rate = peer_ok ? tc.best() : 0;
  auto row = [&](const std::string& name, const Timing& t, bool targeted, bool compare = true) {
    const bool has_ratio = compare && peer_ok && peer_rate > 0;
    const double ratio = has_ratio ? t.best() / peer_rate : 0;
    std::string result;
    if (targeted) result = has_ratio ? (ratio >= kTargetRatio ? "PASS" : "FAIL") : "not checked";
    table.add_row({name, strf("%.1f", t.best()), strf("(%.1f)", t.median()),
                   strf("%.1f", 1000.0 * static_cast<double>(batch) / t.best()),
                   t.cpu_over_wall > 0 ? strf("%.2f", t.cpu_over_wall) : "-",
                   has_ratio ? strf("%.2fx", ratio) : "-", targeted ? strf(">= %.1fx", kTargetRatio) : "-",
                   result});
    return !targeted || !has_ratio || ratio >= kTargetRatio;
  };
  bool pass = row("(a) tinynas Supernet, largest active (LibTorch)", ta, true);
  row("(b) tinynas extract(largest), standalone (LibTorch)", tb, false);
  const std::string torch_py =
      "PyTorch Python " + (peer.info.is_object() ? peer.info.value("torch", std::string("?")) : "?");
  if (peer_ok) row("(c) peer: " + torch_py + ", torch.nn, NCHW (default)", tc, false);
  if (peer_ok && !no_peer_channels_last)
    row("(c') " + torch_py + ", torch.nn, channels_last (information)", tcl, false);
  if (sandwich_steps > 0) row("(d) tinynas sandwich train_step (4 subnets/step)", td, false);
  if (!te.rates.empty()) {
    row(strf("(e) data loader alone, train.tar -> %dx%d, augmented", resolution, resolution), te, false, false);
    row("(f) (a) fed by the data loader (e)", tf, false);
  }
  table.print();
  std::printf("\n(d) counts the %" PRId64 " images of one optimiser step; each step runs forward/backward on them "
              "for the largest, the smallest and 2 random subnets.\n",
              batch);
  if (!te.rates.empty())
    std::printf("data: %s. The loader delivers %.1fx what (a) consumes; (f)/(a) = %.2f.\n", data_note.c_str(),
                te.best() / ta.best(), tf.best() / ta.best());
  else
    std::printf("data: (e), (f) skipped: %s\n", data_note.c_str());
  if (!peer_ok) {
    std::printf("peer: %s; PyTorch Python unavailable, the %.1fx target is not checked\n", peer_why.c_str(),
                kTargetRatio);
    return pass ? 0 : 1;
  }
  // Paired: each rep of ours against the peer's rep right after it.
  auto paired = [&](const char* name, const Timing& peer_timing) {
    std::vector<double> r;
    for (size_t i = 0; i < ta.rates.size() && i < peer_timing.rates.size(); ++i)
      r.push_back(ta.rates[i] / peer_timing.rates[i]);
    if (r.empty()) return;
    std::sort(r.begin(), r.end());
    std::printf("(a)/%s per interleaved rep: median %.2fx, min %.2fx, max %.2fx\n", name, r[r.size() / 2],
                r.front(), r.back());
  };
  paired("(c)", tc);
  paired("(c')", tcl);
  const int64_t peer_params = peer.info.value("params", int64_t{0});
  const bool same = peer_params == params;
  std::printf("parameters: extracted %" PRId64 ", peer %" PRId64 " (%s); threads: ours %d, peer %d; mkldnn (oneDNN) "
              "convolutions: ours %s, peer %s\n",
              params, peer_params, same ? "same network" : "MISMATCH", at::get_num_threads(),
              peer.info.value("threads", 0), at::hasMKLDNN() && at::globalContext().userEnabledMkldnn() ? "yes" : "no",
              peer.info.value("mkldnn", false) ? "yes" : "no");
  return pass && same ? 0 : 1;
}

}  // namespace
}  // namespace tinynas::bench

int main(int argc, char** argv) { return tinynas::bench::run_main(tinynas::bench::run, argc, argv); }
