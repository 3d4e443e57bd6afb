// The trainer, checkpoints, evaluation and fine-tuning on a tiny space (two
// stages, resolutions 16-32) and generated images, one torch thread.
#include "supernet/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/search_space.h"
#include "datasets/dataset.h"
#include "supernet/checkpoint.h"
#include "supernet/supernet.h"
#include "tests/test_util.h"
#include "tests/tiny_space.h"

namespace tinynas::supernet {
namespace {

namespace fs = std::filesystem;
using test_nets::error_of;

using tinynas::test::kTinySpace;

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("tinynas_trainer_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tiny.yaml") << kTinySpace;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // 4 classes x 24 images at 24x24; 18 train / 6 val per... 72 / 24 images;
  // batch 8: 9 steps per epoch, 1 + 2 epochs = 27 steps.
  TrainConfig config() const {
    TrainConfig c;
    c.space = (dir_ / "tiny.yaml").string();
    c.width = 1.0;
    c.resolutions = {16, 24};
    c.dataset = "generated:4x24,res=24";
    c.val_fraction = 0.25;
    c.batch_size = 8;
    c.workers = 1;
    c.lr = 0.05;
    c.warmup_epochs = 0.5;
    c.largest_epochs = 1;
    c.elastic_epochs = 2;
    c.subnets_per_step = 1;
    c.distill = true;
    c.seed = 3;
    c.checkpoint_every = 4;
    c.eval_random = 1;
    c.bn_batches = 2;
    c.threads = 1;
    return c;
  }

  std::string out(const std::string& name) const { return (dir_ / name).string(); }

  static TrainHooks quiet() {
    TrainHooks h;
    h.progress = false;
    return h;
  }

  fs::path dir_;
};

// Every tensor of two checkpoints, bit for bit.
void expect_same_weights(const Checkpoint& a, const Checkpoint& b) {
  ASSERT_EQ(a.model.size(), b.model.size());
  for (size_t i = 0; i < a.model.size(); ++i) {
    EXPECT_EQ(a.model[i].first, b.model[i].first);
    EXPECT_TRUE(torch::equal(a.model[i].second, b.model[i].second)) << a.model[i].first;
  }
  ASSERT_EQ(a.momentum.size(), b.momentum.size());
  for (size_t i = 0; i < a.momentum.size(); ++i)
    EXPECT_TRUE(torch::equal(a.momentum[i].second, b.momentum[i].second)) << a.momentum[i].first;
}

struct Crash : std::runtime_error {
  Crash() : std::runtime_error("simulated kill") {}
};

TEST_F(TrainerTest, RunWritesCheckpointLogAndSummary) {
  const TrainResult r = train(config(), out("run"), false, false, quiet());
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.steps, 27);
  EXPECT_EQ(r.total_steps, 27);
  ASSERT_TRUE(fs::exists(out("run") + "/checkpoint.pt"));
  ASSERT_TRUE(fs::exists(out("run") + "/summary.json"));
  std::ifstream log(out("run") + "/train_log.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(log, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["phase"], "largest");
  EXPECT_EQ(lines[1]["phase"], "elastic");
  EXPECT_EQ(lines[2]["epoch"], 3);
  for (const auto& l : lines) {
    for (const char* key : {"loss", "lr", "images_per_second", "val_top1_largest", "val_top1_smallest"})
      EXPECT_TRUE(l.contains(key)) << key << " in " << l.dump();
    EXPECT_EQ(l["val_top1_random"].size(), 1u);
    EXPECT_EQ(l["val_images"], 24);
    EXPECT_GT(l["loss"].get<double>(), 0);
  }
  // The cosine schedule ends near zero.
  EXPECT_LT(lines[2]["lr"].get<double>(), 0.01 * 0.05);
  const Checkpoint ck = load_checkpoint(out("run") + "/checkpoint.pt");
  EXPECT_TRUE(ck.position.finished);
  EXPECT_TRUE(ck.position.channels_sorted);
  EXPECT_EQ(ck.space.num_classes, 4);
  EXPECT_EQ(ck.space.widths, std::vector<double>{1.0});
  EXPECT_EQ(ck.space.resolutions, (std::vector<int32_t>{16, 24}));
  EXPECT_EQ(ck.history.size(), 3u);
  EXPECT_FALSE(ck.momentum.empty());
}

// A run killed (here: an exception out of the step hook, so nothing is saved
// after the last periodic checkpoint) and resumed, twice, and a run stopped
// by the stop flag (as SIGINT does) and resumed, end with exactly the
// weights, BN statistics and momentum of an uninterrupted run.
TEST_F(TrainerTest, ResumedRunsEndBitIdentical) {
  const TrainConfig c = config();
  ASSERT_TRUE(train(c, out("a"), false, false, quiet()).finished);
  const Checkpoint a = load_checkpoint(out("a") + "/checkpoint.pt");

  // Killed at step 10 (last checkpoint: the end of epoch 1, step 9, before
  // the channels are sorted) and at step 23 (last checkpoint: step 20).
  for (int64_t kill_at : {10, 23}) {
    TrainHooks h = quiet();
    h.after_step = [kill_at](int64_t step) {
      if (step == kill_at) throw Crash();
    };
    EXPECT_THROW(train(c, out("b"), kill_at != 10, false, h), Crash);
    ASSERT_TRUE(fs::exists(out("b") + "/checkpoint.pt"));
    EXPECT_LT(load_checkpoint(out("b") + "/checkpoint.pt").position.step, kill_at);
  }
  const TrainResult rb = train(c, out("b"), true, false, quiet());
  EXPECT_TRUE(rb.finished);
  EXPECT_EQ(rb.steps_this_run, 27 - 20);
  const Checkpoint b = load_checkpoint(out("b") + "/checkpoint.pt");
  expect_same_weights(a, b);
  // The validation results are the same too (evaluation restores BN statistics).
  for (size_t e = 0; e < 3; ++e)
    EXPECT_EQ(a.history[e]["val_top1_random"], b.history[e]["val_top1_random"]) << "epoch " << e + 1;

  std::atomic<bool> stop{false};
  TrainHooks h = quiet();
  h.stop = &stop;
  h.after_step = [&](int64_t step) {
    if (step == 5) stop = true;
  };
  const TrainResult r1 = train(c, out("c"), false, false, h);
  EXPECT_TRUE(r1.interrupted);
  EXPECT_FALSE(r1.finished);
  EXPECT_EQ(load_checkpoint(out("c") + "/checkpoint.pt").position.step, 5);
  stop = false;
  EXPECT_TRUE(train(c, out("c"), true, false, quiet()).finished);
  expect_same_weights(a, load_checkpoint(out("c") + "/checkpoint.pt"));
  // Resuming a finished run does nothing.
  EXPECT_EQ(train(c, out("c"), true, false, quiet()).steps_this_run, 0);
}

TEST_F(TrainerTest, OutputDirectoryRules) {
  TrainConfig c = config();
  c.largest_epochs = 1;
  c.elastic_epochs = 0;
  c.eval_random = 0;
  EXPECT_NE(error_of([&] { train(c, out("r"), true, false, quiet()); }).find("holds no checkpoint"),
            std::string::npos);
  ASSERT_TRUE(train(c, out("r"), false, false, quiet()).finished);
  const std::string e = error_of([&] { train(c, out("r"), false, false, quiet()); });
  EXPECT_NE(e.find("already holds a training run"), std::string::npos) << e;
  EXPECT_NE(e.find("--resume"), std::string::npos) << e;
  EXPECT_TRUE(train(c, out("r"), false, true, quiet()).finished);
}

TEST_F(TrainerTest, BadInputFailsBeforeWriting) {
  TrainConfig c = config();
  c.resolutions = {24, 40};
  std::string e = error_of([&] { train(c, out("x"), false, false, quiet()); });
  EXPECT_NE(e.find("resolution 40 is not in search space 'tiny' (resolutions: 16, 24, 32)"), std::string::npos) << e;
  c = config();
  c.width = 0.7;
  e = error_of([&] { train(c, out("x"), false, false, quiet()); });
  EXPECT_NE(e.find("width 0.7 is not in search space 'tiny' (widths: 0.5, 1)"), std::string::npos) << e;
  c = config();
  c.dataset = "tar:" + out("missing.tar");
  e = error_of([&] { train(c, out("x"), false, false, quiet()); });
  EXPECT_NE(e.find("missing.tar"), std::string::npos) << e;
  c = config();
  c.batch_size = 100;
  e = error_of([&] { train(c, out("x"), false, false, quiet()); });
  EXPECT_NE(e.find("fewer than one batch"), std::string::npos) << e;
  c = config();
  c.dataset = "";
  EXPECT_NE(error_of([&] { train(c, out("x"), false, false, quiet()); }).find("dataset: required"), std::string::npos);
  EXPECT_FALSE(fs::exists(out("x")));
}

TEST_F(TrainerTest, CheckpointsAndEvaluation) {
  TrainConfig c = config();
  c.elastic_epochs = 1;
  ASSERT_TRUE(train(c, out("r"), false, false, quiet()).finished);
  const std::string ck = out("r") + "/checkpoint.pt";
  const SearchSpace space = checkpoint_space(ck);
  CheckpointEvalOptions o;
  o.threads = 1;
  o.eval.bn_batches = 2;
  o.eval.bn_batch_size = 8;
  const CheckpointEval r = evaluate_checkpoint(ck, largest_subnet(space), "largest", "generated:4x10,res=24,seed=1", o);
  EXPECT_EQ(r.result.count, 40);
  EXPECT_EQ(r.result.bn_images, 16);
  EXPECT_GE(r.result.top1(), 0.0);
  EXPECT_LE(r.result.top1(), 1.0);
  // Evaluation is deterministic.
  EXPECT_EQ(evaluate_checkpoint(ck, largest_subnet(space), "largest", "generated:4x10,res=24,seed=1", o).result.correct,
            r.result.correct);

  ArchSpec wrong = smallest_subnet(space);
  wrong.resolution = 32;  // in the tiny space, but not trained
  std::string e = error_of([&] { evaluate_checkpoint(ck, wrong, "a.json", "generated:4x10,res=24", o); });
  EXPECT_NE(e.find("a.json: not a subnet of checkpoint"), std::string::npos) << e;
  EXPECT_NE(e.find("resolution 32"), std::string::npos) << e;
  e = error_of([&] { evaluate_checkpoint(ck, largest_subnet(space), "largest", "generated:3x10", o); });
  EXPECT_NE(e.find("has 3 classes, but checkpoint"), std::string::npos) << e;

  // A checkpoint whose training images moved: BN recalibration names the
  // way out; --bn-dataset works.
  Checkpoint moved = load_checkpoint(ck);
  moved.dataset = "tar:" + out("gone.tar");
  save_checkpoint(moved, out("moved.pt"));
  e = error_of([&] { evaluate_checkpoint(out("moved.pt"), largest_subnet(space), "largest", "generated:4x10,res=24", o); });
  EXPECT_NE(e.find("gone.tar"), std::string::npos) << e;
  EXPECT_NE(e.find("--bn-dataset"), std::string::npos) << e;
  CheckpointEvalOptions with_bn = o;
  with_bn.bn_dataset = "generated:4x8,res=24,seed=2";
  EXPECT_EQ(evaluate_checkpoint(out("moved.pt"), largest_subnet(space), "largest", "generated:4x10,res=24", with_bn)
                .result.count,
            40);

  // Corrupt and foreign files.
  const std::string bytes = [&] {
    std::ifstream in(ck, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  std::ofstream(out("half.pt"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::ofstream(out("text.pt")) << "hello";
  for (const char* f : {"half.pt", "text.pt"}) {
    e = error_of([&] { load_checkpoint(out(f)); });
    EXPECT_NE(e.find("not a tinynas supernet checkpoint"), std::string::npos) << f << ": " << e;
  }
  e = error_of([&] { load_checkpoint(out("none.pt")); });
  EXPECT_NE(e.find("none.pt: cannot read checkpoint"), std::string::npos) << e;
}

TEST_F(TrainerTest, SpaceJsonRoundTrips) {
  const SearchSpace s = load_search_space("mcunet");
  const SearchSpace back = space_from_json(space_to_json(s), "x");
  EXPECT_EQ(space_to_json(back), space_to_json(s));
  // The JSON is a valid space file too.
  std::ofstream(dir_ / "s.yaml") << space_to_json(s).dump();
  EXPECT_EQ(space_to_json(load_search_space((dir_ / "s.yaml").string())), space_to_json(s));
}

TEST_F(TrainerTest, FinetuneLowersTrainingLoss) {
  SearchSpace s = training_space(config(), 4);
  SupernetOptions so;
  so.seed = 1;
  so.threads = 1;
  Supernet net(s, so);
  torch::nn::Sequential m(net.extract(net.largest()));
  FinetuneOptions o;
  o.epochs = 4;
  o.batch_size = 16;
  o.lr = 0.1;
  o.workers = 1;
  o.scale_min = 0.5;
  const auto data = datasets::open_dataset("generated:4x32,res=16");
  const std::vector<double> losses = finetune(*m, data, o);
  ASSERT_EQ(losses.size(), 4u);
  EXPECT_LT(losses.back(), losses.front() - 0.05);
  EXPECT_FALSE(m->is_training());
}

TEST_F(TrainerTest, ConfigJsonAndDevice) {
  TrainConfig c = config();
  c.nesterov = true;
  c.distill = false;
  const TrainConfig back = train_config_from_json(to_json(c), "x");
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_TRUE(affects_results("lr"));
  EXPECT_FALSE(affects_results("threads"));
  EXPECT_NE(error_of([] { check_device("tpu"); }).find("'tpu' is not cpu or cuda"), std::string::npos);
  if (!cuda_available())
    EXPECT_NE(error_of([] { check_device("cuda"); }).find("no CUDA"), std::string::npos);
}

}  // namespace
}  // namespace tinynas::supernet
