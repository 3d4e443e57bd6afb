// The code generator: from the quantised graph and the core's memory plan
// (the same planner the cost model uses) to model-specific C for the runtime.
//
//   model.h    the API (tn_model_run, tn_model_input_buffer), sizes, input and
//              output quantisation
//   model.c    the arena (exactly MemoryPlan::arena_bytes), one named
//              designated-initialiser parameter struct per layer, each arena
//              offset commented, and the call sequence: only the kernels the
//              model uses, in place where the plan says so. A patched graph
//              (core/op_graph.h) runs its patch stage patch by patch through
//              the same kernels: each op addresses its input window and
//              output tile in place (a conv tile's origin, per-side depthwise
//              padding at the image border, row strides into larger windows
//              and into the assembled map), and a later patch's op uses its
//              patch-0 op's weight arrays
//   weights.h/.c  weights, biases and requantisation parameters as const
//              arrays (flash), 4-byte aligned as the cost model assumes
// A banner names the generator and its version. Output is deterministic: the
// same model and plan give the same bytes (CI diffs a checked-in example).
#pragma once

#include <string>
#include <vector>

#include "core/memory_planner.h"
#include "deploy/quantize.h"

namespace tinynas::deploy {

inline constexpr int kGeneratorVersion = 2;  // 2: patch-based inference

struct CodegenOptions {
  std::string description;  // one line for the banner, e.g. the architecture's name
};

struct GeneratedModel {
  std::string model_h, model_c, weights_h, weights_c;
  std::vector<OpKind> kernels_used;  // in OpKind order
  int64_t arena_bytes = 0;
};

// Throws tinynas::Error when the plan does not belong to the graph or fails
// check_plan (never emits code for an unsound plan).
GeneratedModel generate_c(const QuantizedModel& model, const MemoryPlan& plan,
                          const CodegenOptions& options = {});

// Writes model.h, model.c, weights.h, weights.c into dir (each atomically).
void write_generated(const GeneratedModel& generated, const std::string& dir);

// The runtime source files (deploy/runtime/src/*.c, relative names) a model
// that uses `kernels` needs, so firmware compiles only those.
std::vector<std::string> runtime_sources_for(const std::vector<OpKind>& kernels);

}  // namespace tinynas::deploy
