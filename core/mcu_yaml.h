// Writing fitted latency coefficients back into an MCU's YAML file
// (configs/mcus/<name>.yaml), as `tinynas calibrate` does.
//
// Only the top-level `latency:` block changes: from its key line through its
// last indented line. Every other line (comments, blank lines, the order and
// spelling of the other keys) stays byte for byte, so the file remains the
// hand-written description it was. The new block is
//
//   latency:
//     # <comment lines>
//     fitted: true
//     conv2d: {per_mac: 4.1, per_output: 0, per_input: 0.52, per_channel: 30, per_op: 812}
//     ...  (every op kind, all five coefficients)
//
// indented like the block it replaces. The file's own key line is kept when
// it carries no inline value (a trailing comment survives).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/mcu.h"
#include "core/op_graph.h"

namespace tinynas {

struct LatencyBlock {
  std::array<OpLatencyCoeffs, kNumOpKinds> coeffs{};
  bool fitted = true;
  std::vector<std::string> comments;  // one "# ..." line each, at the top of the block
};

// `text` with its top-level latency block replaced by `block`. Throws
// tinynas::Error naming `name` when the text has no top-level `latency:` key
// or more than one, or a coefficient is negative or not finite.
std::string replace_latency_block(const std::string& text, const LatencyBlock& block,
                                  const std::string& name);

// Reads the MCU YAML at `path`, replaces its latency block, checks that the
// result loads (load_mcu) with exactly these coefficients, and writes it
// atomically (a temporary file renamed over it). Throws tinynas::Error.
void write_mcu_latency(const std::string& path, const LatencyBlock& block);

// A coefficient as the YAML carries it: the shortest text that reads back as
// the same double ("0", "1.25", "3.1e-05").
std::string format_coefficient(double v);

}  // namespace tinynas
