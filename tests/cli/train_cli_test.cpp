// `tinynas train` and `tinynas eval` through the real binary: a tiny space
// (written by the test) on generated images, one torch thread; a run killed
// with SIGKILL and resumed ends with the uninterrupted run's weights (the
// summary's weights digest); SIGINT saves and exits non-zero; bad input fails
// with a clear message and writes nothing; one tiny epoch on each real data
// set of ../shared/data when it is there; deploy --checkpoint runs the trained
// subnet on QEMU.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_process.h"
#include "tests/cli/tiny_runs.h"
#include "tests/tiny_space.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <memory>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kSource = TINYNAS_SOURCE_DIR;

using tinynas::test::contains;
using tinynas::test::kTinySpace;
using tinynas::test::kTinyTrainRun;
using tinynas::test::kTinynasBinary;
using tinynas::test::Process;
using tinynas::test::RunResult;
using tinynas::test::slurp;

std::string data_dir() {
  if (const char* env = std::getenv("TINYNAS_DATA_DIR"); env != nullptr && *env != '\0')
    return fs::is_directory(env) ? env : "";
  const std::string dir = kSource + "/../shared/data";
  return fs::is_directory(dir) ? dir : "";
}

class TrainCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kTinynasBinary)) << kTinynasBinary;
    std::string tmpl = (fs::temp_directory_path() / "tinynas_train_cli_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
    std::ofstream(dir_ / "tiny.yaml") << kTinySpace;
    std::ofstream(dir_ / "run.yaml") << kTinyTrainRun;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  RunResult run(const std::vector<std::string>& args) { return Process(args, dir_).wait(); }

  // tinynas train --config run.yaml --out OUT, plus extra flags.
  std::vector<std::string> train_args(const std::string& out, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> a = {"train", "--config", "run.yaml", "--out", out};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  json summary(const std::string& out) { return json::parse(slurp(dir_ / out / "summary.json")); }

  // Waits (up to 60 s) until OUT/checkpoint.pt exists.
  bool wait_for_checkpoint(Process& p, const std::string& out) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (fs::exists(dir_ / out / "checkpoint.pt")) return true;
      if (!p.running()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  fs::path dir_;
};

TEST_F(TrainCliTest, TrainThenEval) {
  const RunResult r = run(train_args("r"));
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(r.out, "val top-1 largest")) << r;
  EXPECT_TRUE(contains(r.err, "epoch 3/3 (elastic)")) << r;
  std::ifstream log(dir_ / "r" / "train_log.jsonl");
  int lines = 0;
  for (std::string line; std::getline(log, line); ++lines) {
    const json j = json::parse(line);
    for (const char* key : {"epoch", "phase", "loss", "lr", "images_per_second", "val_top1_largest",
                            "val_top1_smallest", "val_top1_random"})
      EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(lines, 3);
  const json s = summary("r");
  EXPECT_EQ(s["steps"], 27);
  EXPECT_EQ(s["classes"], 4);
  EXPECT_GT(s["images_per_second"].get<double>(), 0);

  // eval: the largest subnet, an arch file of the space, JSON output.
  RunResult e = run({"eval", "--arch", "largest", "--checkpoint", "r/checkpoint.pt", "--dataset",
                     "generated:4x10,res=24,seed=1", "--threads", "1", "--json"});
  ASSERT_EQ(e.status, 0) << e;
  const json ej = json::parse(e.out);
  EXPECT_EQ(ej["count"], 40);
  EXPECT_EQ(ej["resolution"], 24);
  EXPECT_GE(ej["top1"].get<double>(), 0.0);
  EXPECT_GT(ej["bn_images"].get<int64_t>(), 0);
  std::ofstream(dir_ / "small.json") << s["smallest"].dump(2);
  e = run({"eval", "--arch", "small.json", "--checkpoint", "r/checkpoint.pt", "--dataset",
           "generated:4x10,res=24,seed=1", "--bn-dataset", "generated:4x8,res=24,seed=2", "--threads", "1"});
  ASSERT_EQ(e.status, 0) << e;
  // "top-1 P% (N/40) on ...", with P = 100 N / 40 to the printed precision.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(e.out, m, std::regex(R"(^top-1 (\d+\.\d\d)% \((\d+)/40\) on )"))) << e;
  EXPECT_NEAR(std::stod(m[1].str()), 100.0 * std::stoi(m[2].str()) / 40, 0.006) << e;
  EXPECT_TRUE(contains(e.out, "/40) on generated:4x10,res=24,seed=1: small.json at resolution 16")) << e;

  // median: the subnet of median MACs among 101 seeded samples, between the
  // smallest's and the largest's MACs, the same subnet every time.
  auto eval_json = [&](const char* which) {
    RunResult m = run({"eval", "--arch", which, "--resolution", "24", "--checkpoint", "r/checkpoint.pt",
                       "--dataset", "generated:4x10,res=24,seed=1", "--threads", "1", "--json"});
    EXPECT_EQ(m.status, 0) << m;
    return m.status == 0 ? json::parse(m.out) : json::object();
  };
  const json lo = eval_json("smallest"), mid = eval_json("median"), mid2 = eval_json("median"),
             hi = eval_json("largest");
  ASSERT_TRUE(mid.contains("macs") && lo.contains("macs") && hi.contains("macs"));
  EXPECT_LE(lo["macs"].get<int64_t>(), mid["macs"].get<int64_t>());
  EXPECT_LE(mid["macs"].get<int64_t>(), hi["macs"].get<int64_t>());
  EXPECT_LT(lo["macs"].get<int64_t>(), hi["macs"].get<int64_t>());
  EXPECT_EQ(mid["arch_spec"], mid2["arch_spec"]);
  EXPECT_EQ(mid["top1"], mid2["top1"]);
}

// SIGKILL after the first checkpoint, then --resume: the same final weights as
// an uninterrupted run (bit for bit, by the summary's digest of every tensor).
TEST_F(TrainCliTest, KilledRunResumesToTheSameWeights) {
  RunResult a = run(train_args("a", {"--checkpoint-every", "2", "--eval-random", "0"}));
  ASSERT_EQ(a.status, 0) << a;
  Process p(train_args("b", {"--checkpoint-every", "2", "--eval-random", "0"}), dir_);
  ASSERT_TRUE(wait_for_checkpoint(p, "b")) << p.wait();
  kill(p.pid(), SIGKILL);
  const RunResult killed = p.wait();
  ASSERT_EQ(killed.status, 128 + SIGKILL) << killed;
  EXPECT_FALSE(fs::exists(dir_ / "b" / "summary.json"));
  // Without --resume the folder is refused.
  RunResult again = run(train_args("b"));
  EXPECT_EQ(again.status, 1) << again;
  EXPECT_TRUE(contains(again.err, "already holds a training run")) << again;
  // A resumed run may not change what decides the weights.
  again = run({"train", "--out", "b", "--resume", "--lr", "0.1"});
  EXPECT_EQ(again.status, 1) << again;
  EXPECT_TRUE(contains(again.err, "--resume: lr 0.1 differs from the checkpoint's 0.05")) << again;
  // The README's command, exactly: the run's whole configuration (threads: 1,
  // checkpoint_every: 2 among it) comes back from the checkpoint. On this
  // 2-core machine a resume that fell back to the default thread count
  // (all cores) ends with different weights.
  const RunResult b = run({"train", "--out", "b", "--resume"});
  ASSERT_EQ(b.status, 0) << b;
  EXPECT_TRUE(contains(b.err, "resuming at step")) << b;
  EXPECT_TRUE(contains(b.err, " 1 torch threads")) << b;
  EXPECT_FALSE(contains(b.err, "overrides the run's")) << b;
  EXPECT_EQ(summary("b")["weights_digest"], summary("a")["weights_digest"]);
  EXPECT_EQ(summary("b")["final"]["val_top1_largest"], summary("a")["final"]["val_top1_largest"]);
}

// A free TCP port on 127.0.0.1 (bound once by the kernel's choice, then freed).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return 29500 + static_cast<int>(getpid() % 1000);
  const int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// `world` ranks of one command, torchrun-style environment, over c10d.
std::vector<RunResult> run_ranks(const fs::path& dir, const std::vector<std::vector<std::string>>& args) {
  const std::string port = std::to_string(free_port());
  std::vector<std::unique_ptr<Process>> ps;
  for (size_t r = 0; r < args.size(); ++r)
    ps.push_back(std::make_unique<Process>(
        args[r], dir,
        std::vector<std::pair<std::string, std::string>>{{"RANK", std::to_string(r)},
                                                         {"WORLD_SIZE", std::to_string(args.size())},
                                                         {"MASTER_ADDR", "127.0.0.1"},
                                                         {"MASTER_PORT", port},
                                                         {"TINYNAS_DIST_TIMEOUT", "60"}}));
  std::vector<RunResult> out;
  for (auto& p : ps) out.push_back(p->wait());
  return out;
}

std::vector<json> log_of(const fs::path& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

// Two processes with half of every batch each (c10d, Gloo, synchronised
// BN, all-reduced gradients) train what one process trains on the whole
// batch: the same loss every epoch (largest and elastic, with distillation)
// within float rounding, and the same validation accuracy. At lr 0.01: with
// the recipe's 0.05 this 96-image toy run amplifies float rounding so much
// that one process with 2 threads leaves one with 1 thread at step 8 just as
// 2 ranks do (measured: both reach loss 1.50520 there against 1.50516); at
// 0.01 the 2-rank losses stay within 1e-7 relative of the 1-process ones.
// A 2-rank run stopped by SIGINT on one rank stops on both, and resumes to
// the weights of the uninterrupted 2-rank run.
TEST_F(TrainCliTest, TwoRanksTrainLikeOneProcess) {
  const std::vector<std::string> extra = {"--eval-random", "0", "--lr", "0.01"};
  const RunResult one = run(train_args("one", extra));
  ASSERT_EQ(one.status, 0) << one;
  const auto two = run_ranks(dir_, {train_args("two", extra), train_args("two", extra)});
  for (const RunResult& r : two) ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(two[0].err, "distributed training: 2 ranks over 127.0.0.1:")) << two[0];
  const auto a = log_of(dir_ / "one" / "train_log.jsonl");
  const auto b = log_of(dir_ / "two" / "train_log.jsonl");
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t e = 0; e < a.size(); ++e) {
    EXPECT_EQ(a[e]["world_size"], 1);
    EXPECT_EQ(b[e]["world_size"], 2);
    EXPECT_EQ(a[e]["images"], b[e]["images"]);  // the same global batches
    const double la = a[e]["loss"].get<double>(), lb = b[e]["loss"].get<double>();
    EXPECT_NEAR(la, lb, 1e-5 * std::abs(la)) << "epoch " << e + 1;
    EXPECT_EQ(a[e]["val_top1_largest"], b[e]["val_top1_largest"]) << "epoch " << e + 1;
    EXPECT_EQ(a[e]["val_top1_smallest"], b[e]["val_top1_smallest"]) << "epoch " << e + 1;
  }

  // Stopped on rank 1 only (SIGINT): both ranks stop after the same step,
  // rank 0 saves; both resume to the uninterrupted run's weights.
  const std::string port = std::to_string(free_port());
  std::vector<std::unique_ptr<Process>> ps;
  for (int r = 0; r < 2; ++r)
    ps.push_back(std::make_unique<Process>(
        train_args("s", {"--eval-random", "0", "--lr", "0.01", "--checkpoint-every", "1"}), dir_,
        std::vector<std::pair<std::string, std::string>>{{"RANK", std::to_string(r)}, {"WORLD_SIZE", "2"},
                                                         {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port},
                                                         {"TINYNAS_DIST_TIMEOUT", "60"}}));
  ASSERT_TRUE(wait_for_checkpoint(*ps[0], "s")) << ps[0]->wait();
  kill(ps[1]->pid(), SIGINT);
  const RunResult s0 = ps[0]->wait(), s1 = ps[1]->wait();
  if (s0.status == 0 && s1.status == 0) GTEST_SKIP() << "the run finished before the signal arrived";
  EXPECT_EQ(s1.status, 128 + SIGINT) << s1;
  EXPECT_NE(s0.status, 0) << s0;
  EXPECT_FALSE(fs::exists(dir_ / "s" / "summary.json"));
  const auto resumed = run_ranks(dir_, {{"train", "--out", "s", "--resume"}, {"train", "--out", "s", "--resume"}});
  for (const RunResult& r : resumed) ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(contains(resumed[0].err, "resuming at step")) << resumed[0];
  EXPECT_EQ(summary("s")["weights_digest"], summary("two")["weights_digest"]);
}

// Ranks must agree: a batch the world size does not divide, and ranks with
// different configurations, are refused at the rendezvous by name.
TEST_F(TrainCliTest, DistributedBadInput) {
  auto r = run_ranks(dir_, {train_args("x"), train_args("x"), train_args("x")});
  for (const RunResult& x : r) {
    EXPECT_EQ(x.status, 1) << x;
    EXPECT_TRUE(contains(x.err, "batch_size 8 is not divisible by the world size 3")) << x;
  }
  r = run_ranks(dir_, {train_args("y"), train_args("y", {"--lr", "0.1"})});
  for (const RunResult& x : r) {
    EXPECT_EQ(x.status, 1) << x;
    EXPECT_TRUE(contains(x.err, "the 2 ranks disagree on the training configuration")) << x;
  }
  EXPECT_FALSE(fs::exists(dir_ / "y" / "checkpoint.pt"));
  // Half a torchrun environment.
  Process p(train_args("z"), dir_, {{"RANK", "0"}, {"WORLD_SIZE", "2"}});
  const RunResult z = p.wait();
  EXPECT_EQ(z.status, 1) << z;
  EXPECT_TRUE(contains(z.err, "RANK and WORLD_SIZE are set, MASTER_ADDR is not")) << z;
}

// SIGINT finishes the step, saves, says how to continue and exits non-zero.
TEST_F(TrainCliTest, SigintSavesAndStops) {
  Process p(train_args("s", {"--checkpoint-every", "1", "--eval-random", "0"}), dir_);
  ASSERT_TRUE(wait_for_checkpoint(p, "s")) << p.wait();
  kill(p.pid(), SIGINT);
  const RunResult r = p.wait();
  if (r.status == 0) GTEST_SKIP() << "the run finished before the signal arrived";
  EXPECT_EQ(r.status, 128 + SIGINT) << r;
  EXPECT_TRUE(contains(r.err, "interrupted by SIGINT")) << r;
  EXPECT_TRUE(contains(r.err, "--resume")) << r;
  // An operational option given again overrides the stored one, and says so.
  const RunResult b = run({"train", "--out", "s", "--resume", "--workers", "2"});
  ASSERT_EQ(b.status, 0) << b;
  EXPECT_TRUE(contains(b.err, "--resume: --workers 2 overrides the run's 1")) << b;
  EXPECT_EQ(summary("s")["steps"], 27);
}

TEST_F(TrainCliTest, BadInput) {
  // Missing data set, resolution not in the space, unknown config key, CUDA.
  RunResult r = run(train_args("x", {"--dataset", "tar:nowhere/train.tar"}));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "nowhere/train.tar")) << r;
  r = run(train_args("x", {"--resolutions", "24,40"}));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "resolution 40 is not in search space 'tiny' (resolutions: 16, 24, 32)")) << r;
  std::ofstream(dir_ / "bad.yaml") << kTinyTrainRun << "learning_rate: 0.1\n";
  r = run({"train", "--config", "bad.yaml", "--out", "x"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "learning_rate")) << r;
  EXPECT_TRUE(contains(r.err, "not an option of 'tinynas train'")) << r;
  r = run(train_args("x", {"--device", "cuda", "--epochs", "1"}));
  if (r.status != 0) {  // a CPU-only LibTorch (Debian's)
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_TRUE(contains(r.err, "no CUDA")) << r;
    EXPECT_FALSE(fs::exists(dir_ / "x")) << "a refused run wrote its folder";
  } else {  // a CUDA build: the run trained on the GPU
    EXPECT_TRUE(contains(r.err, "cuda")) << r;
    EXPECT_EQ(summary("x")["steps"], 9) << r;
    fs::remove_all(dir_ / "x");
  }
  r = run({"train", "--out", "x", "--resume"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "holds no checkpoint")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "x" / "checkpoint.pt"));

  // eval: corrupt checkpoint, arch of another space, resolution not trained,
  // label count mismatch.
  std::ofstream(dir_ / "junk.pt") << "not a checkpoint";
  r = run({"eval", "--arch", "largest", "--checkpoint", "junk.pt", "--dataset", "generated:4x4"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "junk.pt: not a tinynas supernet checkpoint")) << r;
  ASSERT_EQ(run(train_args("t", {"--epochs", "1", "--eval-random", "0"})).status, 0);
  const std::string in2 = kSource + "/configs/zoo/mcunet-in2.json";
  r = run({"eval", "--arch", in2, "--checkpoint", "t/checkpoint.pt", "--dataset", "generated:4x4,res=24"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "not a subnet of checkpoint t/checkpoint.pt (search space 'tiny' at width 1")) << r;
  r = run({"eval", "--arch", "largest", "--resolution", "32", "--checkpoint", "t/checkpoint.pt", "--dataset",
           "generated:4x4,res=24"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "--resolution 32 is not one of checkpoint t/checkpoint.pt's resolutions (16, 24)")) << r;
  r = run({"eval", "--arch", "largest", "--checkpoint", "t/checkpoint.pt", "--dataset", "generated:5x4,res=24"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "has 5 classes, but checkpoint t/checkpoint.pt was trained on 4")) << r;
}

// tinynas deploy --checkpoint: the trained subnet goes through int8, the
// generated C and the firmware on QEMU with labelled images fed by
// semihosting; the board's answers equal the host's int8 reference, and the
// float network deploy quantises is the supernet's subnet (its top-1 on the
// same images equals tinynas eval's, after the same BN recalibration).
TEST_F(TrainCliTest, DeployTrainedCheckpoint) {
  if (std::system("command -v arm-none-eabi-gcc > /dev/null 2>&1 && command -v qemu-system-arm > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm is not installed";
  ASSERT_EQ(run(train_args("r", {"--eval-random", "0"})).status, 0);
  const std::vector<std::string> images = {"--eval-dataset", "generated:4x10,res=24,seed=1"};
  std::vector<std::string> args = {"deploy", "--arch", "largest", "--resolution", "24", "--checkpoint",
                                   "r/checkpoint.pt", "--mcu", "f412", "--out", "d", "--run", "qemu",
                                   "--eval-count", "40", "--threads", "1"};
  args.insert(args.end(), images.begin(), images.end());
  const RunResult d = run(args);
  ASSERT_EQ(d.status, 0) << d;
  const json report = json::parse(slurp(dir_ / "d" / "report.json"));
  EXPECT_TRUE(report["bit_exact"].get<bool>()) << report.dump(2);
  EXPECT_TRUE(report["arena_matches_prediction"].get<bool>()) << report.dump(2);
  EXPECT_EQ(report["inputs"], 40);
  EXPECT_EQ(report["checkpoint"], "r/checkpoint.pt");
  EXPECT_EQ(report["arch_spec"]["resolution"], 24);
  EXPECT_EQ(report["test_inputs_flash_bytes"], 0);
  EXPECT_EQ(fs::file_size(dir_ / "d" / "tn_inputs.bin"), 40u * 24 * 24 * 3);
  for (const char* key : {"float_top1", "int8_top1_host", "int8_top1"}) {
    ASSERT_TRUE(report[key].is_number()) << key << "\n" << report.dump(2);
    EXPECT_GE(report[key].get<double>(), 0.0) << key;
    EXPECT_LE(report[key].get<double>(), 1.0) << key;
  }
  EXPECT_EQ(report["int8_top1"], report["int8_top1_host"]);  // bit-exact
  EXPECT_TRUE(contains(d.err, "top-1 on 40 images of generated:4x10,res=24,seed=1")) << d;

  const RunResult e = run({"eval", "--arch", "largest", "--resolution", "24", "--checkpoint", "r/checkpoint.pt",
                           "--dataset", "generated:4x10,res=24,seed=1", "--threads", "1", "--json"});
  ASSERT_EQ(e.status, 0) << e;
  const json ej = json::parse(e.out);
  EXPECT_EQ(report["arch_spec"], ej["arch_spec"]);
  // Float rounding differs (LibTorch vs plain loops): allow one near-tie to flip.
  EXPECT_NEAR(report["float_top1"].get<double>(), ej["top1"].get<double>(), 1.0 / 40 + 1e-9) << report.dump(2);

  // Bad input: an architecture outside the checkpoint's space, both weight
  // sources, a named subnet without a checkpoint, an evaluation set with
  // other classes. Nothing written.
  const std::string in2 = kSource + "/configs/zoo/mcunet-in2.json";
  RunResult r = run({"deploy", "--arch", in2, "--checkpoint", "r/checkpoint.pt", "--mcu", "f746", "--out", "x"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "not a subnet of checkpoint r/checkpoint.pt (search space 'tiny'")) << r;
  r = run({"deploy", "--arch", "largest", "--checkpoint", "r/checkpoint.pt", "--random-weights", "--mcu", "f412",
           "--out", "x"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "exclude each other")) << r;
  r = run({"deploy", "--arch", "largest", "--random-weights", "--mcu", "f412", "--out", "x"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "give --checkpoint")) << r;
  r = run({"deploy", "--arch", "largest", "--checkpoint", "r/checkpoint.pt", "--mcu", "f412", "--out", "x",
           "--threads", "1", "--eval-dataset", "generated:5x4,res=24"});
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "--eval-dataset generated:5x4,res=24: 5 classes, but the model has 4 outputs")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

// The shipped configs stay valid: train-quick.yaml (and train-cifar10.yaml
// where the data is) on a few images for one epoch.
TEST_F(TrainCliTest, ShippedConfigs) {
  RunResult r = run({"train", "--config", kSource + "/configs/experiments/train-quick.yaml", "--max-train-images",
                     "80", "--epochs", "1", "--eval-random", "0", "--bn-batches", "1", "--out", "quick"});
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(summary("quick")["space"], "mcunet");
  const std::string data = data_dir();
  if (data.empty() || !fs::exists(data + "/cifar10/train.tar")) GTEST_SKIP() << "no CIFAR-10 in ../shared/data";
  r = run({"train", "--config", kSource + "/configs/experiments/train-cifar10.yaml", "--dataset",
           "tar:" + data + "/cifar10/train.tar", "--max-train-images", "300", "--resolutions", "48", "--batch-size",
           "32", "--epochs", "1", "--eval-random", "0", "--bn-batches", "1", "--threads", "1", "--out", "c10"});
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_EQ(summary("c10")["classes"], 10);
}

// One tiny epoch on each real data set (a few hundred images through the tiny
// space at 32x32), then eval; skipped where ../shared/data is absent.
TEST_F(TrainCliTest, RealDataSets) {
  const std::string data = data_dir();
  if (data.empty()) GTEST_SKIP() << "real data not found (set TINYNAS_DATA_DIR to the folder of cifar10/ and mlperf-tiny/)";
  struct Case {
    std::string train, eval;
  };
  const std::vector<Case> cases = {
      {"tar:" + data + "/cifar10/train.tar", "mlperf-ic:" + data + "/mlperf-tiny/ic01.tar"},
      {"mlperf-vww:" + data + "/mlperf-tiny/vww01.tar", "mlperf-vww:" + data + "/mlperf-tiny/vww01.tar"},
  };
  int i = 0;
  for (const auto& c : cases) {
    if (!fs::exists(c.train.substr(c.train.find(':') + 1))) continue;
    const std::string out = "real" + std::to_string(i++);
    const RunResult r = run({"train", "--space", "tiny.yaml", "--width", "1", "--resolutions", "32", "--dataset",
                             c.train, "--max-train-images", "160", "--val-fraction", "0.2", "--batch-size", "16",
                             "--epochs", "1", "--eval-random", "1", "--bn-batches", "2", "--threads", "1",
                             "--out", out});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(summary(out)["train_images"].get<int64_t>() + summary(out)["val_images"].get<int64_t>(), 160);
    const RunResult e = run({"eval", "--arch", "smallest", "--checkpoint", out + "/checkpoint.pt", "--dataset", c.eval,
                             "--bn-batches", "2", "--json"});
    ASSERT_EQ(e.status, 0) << e;
    EXPECT_GT(json::parse(e.out)["count"].get<int64_t>(), 0);
  }
}

}  // namespace

// A corrupt input (an MLPerf IC .bin of the wrong size) fails the run, naming
// the file; with --skip-bad it is skipped and counted in the log.
TEST_F(TrainCliTest, SkipBadImages) {
  const fs::path ic = dir_ / "ic";
  fs::create_directories(ic);
  std::ofstream csv(ic / "y_labels.csv");
  std::mt19937 gen(5);
  for (int i = 0; i < 40; ++i) {
    const std::string name = "img" + std::to_string(i) + ".bin";
    std::string bytes(i == 7 ? 100 : 32 * 32 * 3, '\0');
    for (char& b : bytes) b = static_cast<char>(gen() & 0xff);
    std::ofstream(ic / name, std::ios::binary) << bytes;
    csv << name << ",10," << i % 10 << "\n";
  }
  csv.close();
  const std::vector<std::string> opts = {"--dataset", "mlperf-ic:ic", "--resolutions", "16", "--val-fraction", "0.25",
                                         "--largest-epochs", "1", "--elastic-epochs", "0", "--eval-random", "0"};
  RunResult r = run(train_args("b", opts));
  EXPECT_EQ(r.status, 1) << r;
  EXPECT_TRUE(contains(r.err, "img7.bin")) << r;
  EXPECT_FALSE(fs::exists(dir_ / "b" / "checkpoint.pt"));
  std::vector<std::string> skip = opts;
  skip.push_back("--skip-bad");
  r = run(train_args("s", skip));
  ASSERT_EQ(r.status, 0) << r;
  std::ifstream log(dir_ / "s" / "train_log.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(log, line));
  EXPECT_EQ(json::parse(line)["bad_images"], 1) << line;
}
