// bench_accuracy: how many candidate subnets per minute the search can rank
// by accuracy on the CPU (2 threads), against the same procedure written
// plainly in PyTorch Python (bench/accuracy_peer.py, run by this benchmark
// with /usr/bin/python3: Debian's python3-torch is the same torch build as the
// LibTorch we link).
//
// The procedure (MCUNet/OFA; evaluator/accuracy.h): the supernet with the
// subnet active, BN statistics recomputed on 20 batches of 64 training images
// (cumulative average), then top-1 on 5,000 images of the validation split
// held out of CIFAR-10's training set; mcunet-cifar at width 0.5, r=48.
//
//   ours: SubnetAccuracy::top1({arch}), one call per subnet (bn_batches 20,
//         bn_batch_size 64, val_images 5000, batch_size 250, threads 2). Its
//         first call also decodes the BN and validation images (once per
//         search); it is reported apart, the steady state is every call after.
//   peer: accuracy_peer.py --serve, a child process: train_peer.py's torch.nn
//         network of each subnet with the very weights of ours (the extracted
//         subnet's parameters, in order), BN reset with momentum=None, train-
//         mode forwards of the same 20 x 64 images under no_grad, eval-mode
//         forwards of the same 5,000 in batches of 250, top-1 counted; images
//         pre-decoded (written here as raw float32 NCHW, decoded exactly as
//         evaluator/accuracy.cpp does), modules built before timing, NCHW
//         (PyTorch's default). Its calls are requested one by one, interleaved
//         with ours: ours(s0), peer(s0), ours(s1), peer(s1), ...
//
// Because both engines see the same weights and images, their top-1 must
// agree (to a few images of float rounding); a disagreement fails the run.
//
// The checkpoint: a freshly initialised supernet written with
// save_checkpoint() as `tinynas train` would have (config, space, class names,
// data set, weights), with val_fraction 0.1 of all 50,000 training images, so
// the validation split is the real 5,000-image one. Untrained weights cost the
// same forward passes as trained ones; the accuracies are ~10% (chance).
// --checkpoint takes a trained one instead (bench/cifar10_recipe.sh's).
//
// Target: ours >= 2x the peer's subnets/minute in the steady state. Exit 0
// when met (or when the peer or the data cannot be had: then nothing is
// checked), 1 when missed or when the top-1 of the two engines disagree, 2 on
// a bad config.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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
#include "core/op_graph.h"
#include "core/rng.h"
#include "core/search_space.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "evaluator/accuracy.h"
#include "supernet/checkpoint.h"
#include "supernet/supernet.h"
#include "supernet/trainer.h"

namespace tinynas::bench {
namespace {

namespace fs = std::filesystem;

constexpr double kTargetRatio = 2.0;
// Top-1 of the two engines on the same weights and images: float rounding
// may flip a near-tie or two, nothing more.
constexpr int64_t kMaxCorrectDiff = 5;
constexpr uint64_t kSubnetStream = 0xACC;

std::string default_data() {
  if (const char* env = std::getenv("TINYNAS_DATA_DIR"); env != nullptr && *env != '\0')
    return std::string(env) + "/cifar10/train.tar";
  return std::string(TINYNAS_SOURCE_DIR) + "/../shared/data/cifar10/train.tar";
}

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

// The benchmark's scratch folder (checkpoint, images for the peer), removed
// at the end unless kept.
struct WorkDir {
  fs::path path;
  bool keep = false;
  ~WorkDir() {
    std::error_code ec;
    if (!keep && !path.empty()) fs::remove_all(path, ec);
  }
};

struct CheckpointSpec {
  std::string dataset;  // KIND:PATH, absolute
  std::string space;
  double width = 0.5;
  int32_t resolution = 48;
  double val_fraction = 0.1;
  uint64_t seed = 0;
};

// A checkpoint of a freshly initialised supernet, as `tinynas train` writes
// one (position 0): what SubnetAccuracy and open_supernet read.
void write_fresh_checkpoint(const CheckpointSpec& spec, const std::string& path) {
  supernet::TrainConfig config;
  config.space = spec.space;
  config.width = spec.width;
  config.resolutions = {spec.resolution};
  config.dataset = spec.dataset;
  config.val_fraction = spec.val_fraction;
  config.seed = spec.seed;
  const auto data = datasets::open_dataset(spec.dataset);
  supernet::Checkpoint ck;
  ck.config = supernet::to_json(config);
  ck.space = supernet::training_space(config, static_cast<int32_t>(data->num_classes()));
  ck.class_names = data->class_names();
  ck.dataset = spec.dataset;
  supernet::SupernetOptions so;
  so.seed = spec.seed;
  supernet::Supernet net(ck.space, so);
  for (const auto& p : net.module().named_parameters()) ck.model.emplace_back(p.key(), p.value());
  for (const auto& b : net.module().named_buffers()) ck.model.emplace_back(b.key(), b.value());
  supernet::save_checkpoint(ck, path);
}

std::vector<ArchSpec> random_subnets(const SearchSpace& space, int32_t n, uint64_t seed) {
  std::vector<ArchSpec> out;
  for (int32_t i = 0; i < n; ++i) {
    Rng rng(derive_seed(seed, kSubnetStream, static_cast<uint64_t>(i)));
    out.push_back(decode(space, sample(space, rng)));
  }
  return out;
}

void write_raw(std::ofstream& f, const at::Tensor& t, const std::string& path) {
  const at::Tensor c = t.detach().contiguous();
  f.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.nbytes()));
  if (!f) throw Error("cannot write " + path);
}

struct PeerInputs {
  std::string manifest;
  int64_t bn_images = 0;
  int64_t val_images = 0;
  std::vector<int64_t> params;  // per subnet, of the extracted module
};

// What the peer needs, in `dir`: the BN and validation images decoded exactly
// as evaluator/accuracy.cpp decodes them (same loaders, seeds and subset; a
// change there shows up as disagreeing top-1), each subnet's arch JSON and
// its extracted parameters as raw float32, and a manifest.
PeerInputs write_peer_inputs(const std::string& checkpoint, const std::vector<ArchSpec>& archs,
                             const SubnetAccuracyOptions& o, const fs::path& dir) {
  supernet::OpenedSupernet opened = supernet::open_supernet(checkpoint, "cpu", o.threads);
  const int32_t r = archs.front().resolution;
  PeerInputs out;
  const std::string images_path = (dir / "images.f32").string(), labels_path = (dir / "labels.i64").string();
  std::ofstream images(images_path, std::ios::binary), labels(labels_path, std::ios::binary);

  datasets::LoaderOptions bn;
  bn.batch_size = o.bn_batch_size;
  bn.workers = o.workers;
  bn.seed = derive_seed(o.seed, 0x626e);
  bn.shuffle = true;
  bn.transform.train = true;
  bn.transform.scale_min = opened.config.scale_min;
  bn.transform.height = bn.transform.width = r;
  {
    datasets::DataLoader loader(opened.train, bn);
    loader.start_epoch(0);
    for (int32_t i = 0; i < o.bn_batches;) {
      auto b = loader.next();
      if (!b) throw Error("the training split has fewer than " + std::to_string(o.bn_batches) + " BN batches");
      if (b->size < 2) continue;
      if (b->size != o.bn_batch_size) throw Error("a short BN batch: the peer takes whole ones");
      write_raw(images, torch::from_blob(b->images.data(), {static_cast<int64_t>(b->images.size())}), images_path);
      out.bn_images += b->size;
      ++i;
    }
    loader.stop();
  }

  const std::shared_ptr<const datasets::Dataset> val = validation_subset(opened.val, o.val_images, o.seed);
  datasets::LoaderOptions vo;
  vo.batch_size = o.batch_size;
  vo.workers = o.workers;
  vo.shuffle = false;
  vo.transform.train = false;
  vo.transform.height = vo.transform.width = r;
  {
    datasets::DataLoader loader(val, vo);
    loader.start_epoch(0);
    while (auto b = loader.next()) {
      write_raw(images, torch::from_blob(b->images.data(), {static_cast<int64_t>(b->images.size())}), images_path);
      write_raw(labels, torch::from_blob(b->labels.data(), {b->size}, torch::kInt64), labels_path);
      out.val_images += b->size;
    }
  }

  nlohmann::json manifest = {{"resolution", r},
                             {"channels", opened.space.in_channels},
                             {"bn_batches", o.bn_batches},
                             {"bn_batch_size", o.bn_batch_size},
                             {"val_images", out.val_images},
                             {"batch_size", o.batch_size},
                             {"images", images_path},
                             {"labels", labels_path},
                             {"subnets", nlohmann::json::array()}};
  for (size_t i = 0; i < archs.size(); ++i) {
    const std::string arch_path = (dir / ("subnet" + std::to_string(i) + ".json")).string();
    const std::string weights_path = (dir / ("subnet" + std::to_string(i) + ".f32")).string();
    {
      std::ofstream f(arch_path);
      f << arch_to_json(archs[i]).dump(2) << "\n";
      if (!f) throw Error("cannot write " + arch_path);
    }
    std::ofstream w(weights_path, std::ios::binary);
    nlohmann::json shapes = nlohmann::json::array();
    int64_t params = 0;
    for (const auto& p : opened.net->extract(archs[i])->parameters()) {
      write_raw(w, p, weights_path);
      shapes.push_back(p.sizes().vec());
      params += p.numel();
    }
    out.params.push_back(params);
    manifest["subnets"].push_back({{"arch", arch_path}, {"weights", weights_path}, {"shapes", shapes}});
  }
  out.manifest = (dir / "manifest.json").string();
  std::ofstream f(out.manifest);
  f << manifest.dump() << "\n";
  if (!f || !images || !labels) throw Error("cannot write the peer's inputs in " + dir.string());
  return out;
}

// One engine's calls: wall and CPU seconds and correct counts.
struct Calls {
  std::vector<double> seconds;
  std::vector<int64_t> correct;
  double cpu = 0;
  double total() const {
    double s = 0;
    for (double x : seconds) s += x;
    return s;
  }
  double per_minute() const { return seconds.empty() ? 0 : 60.0 * static_cast<double>(seconds.size()) / total(); }
  double cpu_over_wall(int threads) const { return total() > 0 ? cpu / (total() * threads) : 0; }
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

int run(int argc, char** argv) {
  std::string data = default_data();
  std::string checkpoint;
  std::string space_name = "mcunet-cifar";
  double width = 0.5;
  int32_t resolution = 48;
  double val_fraction = 0.1;
  int32_t subnets = 8;
  int32_t reps = 1;
  uint64_t seed = 0;
  int threads = 2;
  SubnetAccuracyOptions ao;  // 20 x 64 BN images, 5,000 validation images, batches of 250
  ao.threads = threads;
  std::string python = "/usr/bin/python3";
  std::string script = std::string(TINYNAS_SOURCE_DIR) + "/bench/accuracy_peer.py";
  bool no_peer = false, peer_channels_last = false;
  std::string keep;
  CLI::App app("subnets/minute of the search's accuracy evaluation (BN recalibration + validation top-1) against "
               "the same procedure in PyTorch Python");
  app.add_option("--data", data, "CIFAR-10 train.tar (default ../shared/data/cifar10/train.tar)");
  app.add_option("--checkpoint", checkpoint,
                 "A `tinynas train` checkpoint to evaluate (default: a freshly initialised supernet of --space)");
  app.add_option("--space", space_name, "Search space of the fresh checkpoint");
  app.add_option("--width", width, "Width of the fresh checkpoint");
  app.add_option("--resolution", resolution, "Resolution of the fresh checkpoint")->check(CLI::Range(16, 512));
  app.add_option("--val-fraction", val_fraction, "Held-out validation fraction of the fresh checkpoint")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("-n,--subnets", subnets, "Seeded random subnets")->check(CLI::Range(1, 1000));
  app.add_option("--reps", reps, "Steady-state passes over the subnets")->check(CLI::Range(1, 100));
  app.add_option("--seed", seed, "Subnets, BN batches, validation subset, fresh weights");
  app.add_option("--threads", threads, "Torch intra-op threads of both engines")->check(CLI::Range(1, 256));
  app.add_option("--bn-batches", ao.bn_batches, "BN recalibration batches")->check(CLI::Range(1, 1000));
  app.add_option("--bn-batch-size", ao.bn_batch_size, "BN recalibration batch size")
      ->check(CLI::Range(int64_t{2}, int64_t{4096}));
  app.add_option("--val-images", ao.val_images, "Validation images per subnet")
      ->check(CLI::Range(int64_t{1}, int64_t{10000000}));
  app.add_option("--batch-size", ao.batch_size, "Validation forward batch")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  app.add_option("--python", python, "Python with torch for the peer");
  app.add_option("--peer-script", script, "The peer (bench/accuracy_peer.py)");
  app.add_flag("--no-peer", no_peer, "Do not run the PyTorch Python peer");
  app.add_flag("--peer-channels-last", peer_channels_last,
               "Also time the peer with channels-last model and images (information)");
  app.add_option("--keep", keep, "Keep the checkpoint and the peer's inputs in this folder (created)");
  CLI11_PARSE(app, argc, argv);
  ao.threads = threads;
  ao.seed = seed;

  std::printf("bench_accuracy: subnets/minute of the search's accuracy evaluation, CPU, %d torch threads (torch %s, "
              "%u hardware threads); OMP_WAIT_POLICY=%s, GLIBC_TUNABLES=%s; load average %s\n",
              threads, TORCH_VERSION, std::thread::hardware_concurrency(),
              env_or("OMP_WAIT_POLICY", "(unset)").c_str(), env_or("GLIBC_TUNABLES", "(unset)").c_str(),
              load_average().c_str());
  if (checkpoint.empty() && !fs::exists(data)) {
    std::printf("skipped: %s not found (set TINYNAS_DATA_DIR or --data)\n", data.c_str());
    return 0;
  }

  WorkDir work;
  if (!keep.empty()) {
    work.path = keep;
    work.keep = true;
  } else {
    work.path = fs::temp_directory_path() / ("bench_accuracy_" + std::to_string(getpid()));
  }
  fs::create_directories(work.path);

  // The checkpoint.
  double t0 = now_seconds();
  if (checkpoint.empty()) {
    CheckpointSpec spec;
    spec.dataset = "tar:" + fs::absolute(data).lexically_normal().string();
    spec.space = space_name;
    spec.width = width;
    spec.resolution = resolution;
    spec.val_fraction = val_fraction;
    spec.seed = seed;
    checkpoint = (work.path / "checkpoint.pt").string();
    write_fresh_checkpoint(spec, checkpoint);
    std::printf("checkpoint: freshly initialised supernet (%s, width %g, r=%d, seed %" PRIu64
                ") written with save_checkpoint in %.2f s; its data split: val_fraction %g of %s\n",
                space_name.c_str(), width, resolution, seed, now_seconds() - t0, val_fraction, data.c_str());
  } else {
    std::printf("checkpoint: %s\n", checkpoint.c_str());
  }

  // Ours, opened (checkpoint, data set index, split); no image decoded yet.
  t0 = now_seconds();
  SubnetAccuracy accuracy(checkpoint, ao);
  const double open_s = now_seconds() - t0;
  const SearchSpace& space = accuracy.space();
  if (space.resolutions.size() != 1)
    std::printf("note: the checkpoint has %zu resolutions; the subnets are drawn at all of them\n",
                space.resolutions.size());
  const std::vector<ArchSpec> archs = random_subnets(space, subnets, seed);
  std::printf("procedure: BN recalibration on %d x %" PRId64 " training images, then top-1 on %" PRId64
              " validation images (batches of %" PRId64 "); %d seeded random subnets of %s (width %g); "
              "%d steady-state pass(es)\n",
              ao.bn_batches, ao.bn_batch_size, accuracy.val_images(), ao.batch_size, subnets, space.name.c_str(),
              space.widths.front(), reps);
  if (accuracy.val_images() < ao.val_images)
    std::printf("note: the validation split has only %" PRId64 " images\n", accuracy.val_images());
  std::fflush(stdout);

  // The peer.
  PeerProcess peer;
  std::string peer_why = "--no-peer";
  bool peer_ok = false;
  PeerInputs inputs;
  double inputs_s = 0;
  if (!no_peer) {
    t0 = now_seconds();
    inputs = write_peer_inputs(checkpoint, archs, ao, work.path);
    inputs_s = now_seconds() - t0;
    peer_ok = peer.start({python, script, "--serve", "--manifest", inputs.manifest, "--threads",
                          std::to_string(threads), "--formats", peer_channels_last ? "nchw,channels_last" : "nchw"},
                         &peer_why);
    if (peer_ok && peer.info.value("params", nlohmann::json::array()) != nlohmann::json(inputs.params)) {
      peer_why = "the peer's networks have other parameter counts than ours";
      peer.stop();
      peer_ok = false;
      std::printf("peer: %s\n", peer_why.c_str());
      return 1;
    }
  }

  Calls ours, py, py_cl, ours_first, py_first, py_cl_first;
  auto ours_call = [&](const ArchSpec& arch, Calls& c) {
    const double w0 = now_seconds(), c0 = cpu_seconds();
    const double top1 = accuracy.top1({arch}).front();
    c.seconds.push_back(now_seconds() - w0);
    c.cpu += cpu_seconds() - c0;
    c.correct.push_back(std::llround(top1 * static_cast<double>(accuracy.val_images())));
  };
  auto peer_call = [&](size_t i, const char* format, Calls& c) {
    if (!peer_ok) return;
    const auto r = peer.request("run " + std::to_string(i) + " " + format);
    if (!r) {
      peer_ok = false;
      peer_why = "the peer stopped" + (peer.last_line().empty() ? "" : ": " + peer.last_line());
      return;
    }
    c.seconds.push_back(r->at("seconds").get<double>());
    c.cpu += r->at("cpu_s").get<double>();
    c.correct.push_back(r->at("correct").get<int64_t>());
  };

  // First calls (ours decodes the images here), then the steady state,
  // interleaved subnet by subnet.
  ours_call(archs[0], ours_first);
  peer_call(0, "nchw", py_first);
  if (peer_channels_last) peer_call(0, "channels_last", py_cl_first);
  for (int32_t rep = 0; rep < reps; ++rep) {
    for (size_t i = 0; i < archs.size(); ++i) {
      ours_call(archs[i], ours);
      peer_call(i, "nchw", py);
      if (peer_channels_last) peer_call(i, "channels_last", py_cl);
    }
  }
  peer.stop();
  const bool have_peer = peer_ok && py.seconds.size() == ours.seconds.size();

  // Per subnet (the mean over the steady-state passes).
  Table per;
  per.add_column("subnet", true);
  per.add_column("blocks");
  per.add_column("MMACs");
  per.add_column("ours s");
  per.add_column("peer s");
  per.add_column("peer/ours");
  per.add_column("top-1 ours");
  per.add_column("top-1 peer");
  per.add_column("same", true);
  int64_t worst_diff = 0;
  for (size_t i = 0; i < archs.size(); ++i) {
    double so = 0, sp = 0;
    int64_t co = -1, cp = -1;
    for (int32_t rep = 0; rep < reps; ++rep) {
      const size_t k = static_cast<size_t>(rep) * archs.size() + i;
      so += ours.seconds[k];
      co = ours.correct[k];
      if (have_peer) {
        sp += py.seconds[k];
        cp = py.correct[k];
        worst_diff = std::max(worst_diff, std::abs(co - cp));
      }
    }
    so /= reps;
    sp /= reps;
    const double n = static_cast<double>(accuracy.val_images());
    per.add_row({strf("%zu (r%d)", i, archs[i].resolution), strf("%d", archs[i].num_blocks()),
                 strf("%.2f", static_cast<double>(lower(archs[i]).total_macs()) / 1e6), strf("%.2f", so),
                 have_peer ? strf("%.2f", sp) : "-", have_peer ? strf("%.2fx", sp / so) : "-",
                 strf("%.2f%%", 100.0 * static_cast<double>(co) / n),
                 have_peer ? strf("%.2f%%", 100.0 * static_cast<double>(cp) / n) : "-",
                 have_peer ? (std::abs(co - cp) <= kMaxCorrectDiff ? strf("yes (%+" PRId64 ")", cp - co) : "NO")
                           : "-"});
  }
  std::printf("\n");
  per.print();

  // Summary.
  Table table;
  table.add_column("engine", true);
  table.add_column("first call s");
  table.add_column("steady s/subnet");
  table.add_column("(median)");
  table.add_column("subnets/min");
  table.add_column("cpu/(wall x threads)");
  table.add_column("vs PyTorch");
  table.add_column("target", true);
  table.add_column("result", true);
  const double peer_rate = have_peer ? py.per_minute() : 0;
  bool pass = true;
  auto row = [&](const std::string& name, const Calls& c, const Calls& first, bool targeted) {
    const bool has_ratio = have_peer && peer_rate > 0;
    const double ratio = has_ratio ? c.per_minute() / peer_rate : 0;
    std::string result;
    if (targeted) {
      result = has_ratio ? (ratio >= kTargetRatio ? "PASS" : "FAIL") : "not checked";
      pass = pass && (!has_ratio || ratio >= kTargetRatio);
    }
    table.add_row({name, first.seconds.empty() ? "-" : strf("%.2f", first.seconds.front()),
                   strf("%.2f", c.total() / static_cast<double>(c.seconds.size())), strf("(%.2f)", median(c.seconds)),
                   strf("%.1f", c.per_minute()), strf("%.2f", c.cpu_over_wall(threads)),
                   has_ratio ? strf("%.2fx", ratio) : "-", targeted ? strf(">= %.1fx", kTargetRatio) : "-", result});
  };
  const std::string torch_py =
      "PyTorch Python " + (peer.info.is_object() ? peer.info.value("torch", std::string("?")) : "?");
  row("ours: SubnetAccuracy::top1 (LibTorch supernet)", ours, ours_first, true);
  if (have_peer) row("peer: " + torch_py + ", torch.nn, NCHW", py, py_first, false);
  if (have_peer && peer_channels_last && py_cl.seconds.size() == ours.seconds.size())
    row("peer: " + torch_py + ", channels_last (information)", py_cl, py_cl_first, false);
  std::printf("\n");
  table.print();

  std::printf("\nours: opening the checkpoint and the data set %.2f s; the first call decodes %" PRId64
              " BN + %" PRId64 " validation images once, then evaluates subnet 0.\n",
              open_s, accuracy.bn_images(), accuracy.val_images());
  if (!have_peer) {
    std::printf("peer: %s; the %.1fx target is not checked. Load average %s.\n", peer_why.c_str(), kTargetRatio,
                load_average().c_str());
    return pass ? 0 : 1;
  }
  std::vector<double> paired;
  for (size_t k = 0; k < ours.seconds.size(); ++k) paired.push_back(py.seconds[k] / ours.seconds[k]);
  std::printf("peer: inputs written in %.2f s (decoding as accuracy.cpp does, extracted weights), loaded and "
              "%zu modules built in %.2f s (untimed); %d threads, mkldnn %s.\n"
              "paired per subnet (peer s / ours s): median %.2fx, min %.2fx, max %.2fx\n",
              inputs_s, archs.size(), peer.info.value("load_s", 0.0), peer.info.value("threads", 0),
              peer.info.value("mkldnn", false) ? "yes" : "no", median(paired),
              *std::min_element(paired.begin(), paired.end()), *std::max_element(paired.begin(), paired.end()));
  const bool same = worst_diff <= kMaxCorrectDiff;
  std::printf("top-1, same weights and images: largest difference %" PRId64 " of %" PRId64 " images (%s, at most %" PRId64
              "). A search of 2,290 evaluations (bench_search's evolution) ranks for %.1f min here, %.1f min in "
              "the peer. Load average %s.\n",
              worst_diff, accuracy.val_images(), same ? "agree" : "DISAGREE", kMaxCorrectDiff,
              2290.0 / ours.per_minute(), 2290.0 / peer_rate, load_average().c_str());
  return pass && same ? 0 : 1;
}

}  // namespace
}  // namespace tinynas::bench

int main(int argc, char** argv) {
  // The search runs in `tinynas`'s torch helper, which sets these unless the
  // environment does (cli/main.cpp): passive OpenMP waits and malloc huge
  // pages. They are read when the libraries load: set them and start again.
  // The peer inherits them.
  if (std::getenv("OMP_WAIT_POLICY") == nullptr || std::getenv("GLIBC_TUNABLES") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 0);
    execv("/proc/self/exe", argv);  // returns only on failure: go on as we are
  }
  return tinynas::bench::run_main(tinynas::bench::run, argc, argv);
}
