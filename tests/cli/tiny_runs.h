// The tiny runs the CLI and cluster tests share (with tests/tiny_space.h's
// space written as tiny.yaml): a training run, and a search pipeline with
// the training options it reads from train.yaml.
#pragma once

namespace tinynas::test {

// 4 classes x 24 images at 24x24, 72 train / 24 val, batch 8: 9 steps per
// epoch, 1 + 2 epochs.
constexpr const char* kTinyTrainRun = R"(space: tiny.yaml
width: 1.0
resolutions: [16, 24]
dataset: generated:4x24,res=24
val_fraction: 0.25
batch_size: 8
workers: 1
lr: 0.05
warmup_epochs: 0.5
largest_epochs: 1
elastic_epochs: 2
subnets_per_step: 1
distill: true
seed: 3
eval_random: 1
bn_batches: 2
threads: 1
)";

// 4 classes x 30 images at 32x32; the supernet trains 1 + 1 epochs.
constexpr const char* kTinySearchTrain = R"(val_fraction: 0.25
batch_size: 8
workers: 1
lr: 0.05
warmup_epochs: 0.5
largest_epochs: 1
elastic_epochs: 1
subnets_per_step: 1
distill: true
seed: 3
eval_random: 0
bn_batches: 2
threads: 1
)";

constexpr const char* kTinySearch = R"(mcu: f412
flash: 1M
sram: 256K
space: tiny.yaml
dataset: generated:4x30,res=32
train_config: train.yaml
space_samples: 200
population: 6
parents: 2
mutation_count: 3
crossover_count: 3
generations: 2
bn_batches: 2
bn_batch_size: 8
val_images: 0
hil: qemu
hil_top: 2
finetune_epochs: 1
eval_count: 8
threads: 1
)";

}  // namespace tinynas::test
