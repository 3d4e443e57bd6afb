// A tiny search space (2 elastic stages, widths 0.5/1.0, resolutions
// 16-32) that the trainer and `tinynas train` tests write to tiny.yaml, so
// a whole supernet run takes seconds.
#pragma once

namespace tinynas::test {

inline constexpr const char* kTinySpace = R"(name: tiny
widths: [0.5, 1.0]
resolutions: [16, 24, 32]
channel_divisor: 8
first_conv: {channels: 8, kernel: 3, stride: 2}
first_block: {channels: 8, kernel: 3}
kernels: [3, 5]
expands: [2, 3]
depths: [1, 2]
stages:
  - {channels: 16, stride: 2}
  - {channels: 24, stride: 2}
num_classes: 10
)";

}  // namespace tinynas::test
