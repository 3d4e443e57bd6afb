// The memory planner: tensor lifetimes -> offsets in one static arena.
//
// ONE implementation serves the cost model (peak SRAM), the search (its SRAM
// constraint) and the code generator (the arena the firmware declares), so the
// predicted arena is, to the byte, the arena that ships.
//
// It models what the TinyEngine-style runtime does:
// - a depthwise conv runs in place when its input dies at it: the kernel copies
//   one input channel to scratch and writes that channel's output over it, so
//   the output takes the input's buffer (it is never larger);
// - a residual add writes over the operand that dies at it;
// - a residual block's input stays alive until its add;
// - one scratch buffer (im2col etc.), sized for the largest need of any op, is
//   live for the whole inference;
// - every buffer starts at a 4-byte aligned offset (the SIMD kernels load
//   words);
// - patch-based inference (op_graph.h) needs no rule of its own: a patch's
//   tensors live only while its ops run, so the planner reuses one patch's
//   working set for the next; the assembled output map is one buffer, live
//   from the first patch's write to its last reader, and an op writing its
//   tile into it never runs in place.
//
// A buffer is a chain of tensors sharing one offset; its size may change over
// time (a stride-2 depthwise output is smaller than its input), so it is kept
// as segments {size, first_use, last_use}. Two buffers conflict when any of
// their segments overlap both in time and in bytes.
//
// Greedy-by-size (after TFLM's greedy_memory_planner):
// - order buffers by largest size, then by first use;
// - place each at the lowest offset where it conflicts with no buffer placed
//   so far (a sweep over the forbidden offset intervals);
// - peak = max(offset + size) over buffers.
// Naive baseline: every buffer at its own offset, no reuse (sum of sizes).
// Cost: O(B^2 log B) for B buffers, B ~ 60 for the MCUNet space.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/op_graph.h"

namespace tinynas {

enum class PlannerStrategy : uint8_t { kGreedyBySize, kNaive };

inline constexpr int64_t kArenaAlignment = 4;

class MemoryPlanner {
 public:
  // in_place = false turns the runtime's in-place rules off when planning a
  // graph (an ablation for benchmarks; the runtime always runs in place).
  explicit MemoryPlanner(PlannerStrategy strategy = PlannerStrategy::kGreedyBySize,
                         bool in_place = true)
      : strategy_(strategy), in_place_(in_place) {}
  bool in_place() const { return in_place_; }

  void reset();  // forget all buffers, keep capacity
  // A new buffer live over [first_use, last_use] (op indices, inclusive).
  int32_t add_buffer(int64_t size, int32_t first_use, int32_t last_use);
  // Extends a buffer with another live range at the same offset (in-place ops).
  void add_segment(int32_t buffer, int64_t size, int32_t first_use, int32_t last_use);
  // Computes the offsets; called once after all buffers are added.
  void plan();
  int64_t offset_of(int32_t buffer) const { return buffers_[buffer].offset; }
  int64_t size_of(int32_t buffer) const { return buffers_[buffer].max_size; }
  int64_t peak_bytes() const { return peak_; }
  int32_t num_buffers() const { return static_cast<int32_t>(buffers_.size()); }

 private:
  struct Segment {
    int64_t size;
    int32_t first, last;
  };
  struct Buffer {
    int64_t offset = -1;
    int64_t max_size = 0;
    int32_t first = 0, last = 0;
    int32_t seg_begin = 0, seg_count = 0;  // into segments_ (contiguous per buffer)
  };
  struct Forbidden {
    int64_t lo, hi;  // offsets strictly between lo and hi are not allowed
  };

  PlannerStrategy strategy_;
  bool in_place_;
  std::vector<Buffer> buffers_;
  std::vector<Segment> segments_;
  std::vector<int32_t> order_;
  std::vector<int32_t> placed_;
  std::vector<Forbidden> forbidden_;
  int64_t peak_ = 0;
};

struct BufferPlan {
  int64_t offset = 0;
  int64_t size = 0;          // largest size over its lifetime (aligned)
  int32_t first_use = 0, last_use = 0;
  std::vector<int32_t> tensors;  // chained in place, in order
};

struct MemoryPlan {
  std::vector<int32_t> tensor_buffer;  // tensor -> buffer index
  std::vector<int64_t> tensor_offset;  // tensor -> arena offset
  std::vector<uint8_t> op_in_place;    // op writes its output over an input
  std::vector<BufferPlan> buffers;
  int64_t scratch_offset = 0;
  int64_t scratch_bytes = 0;    // 0: no op needs scratch
  int64_t arena_bytes = 0;      // what the firmware declares
  int64_t lower_bound_bytes = 0;  // max over ops of the live bytes: no plan beats it
};

// Builds the buffers of `graph` (with the in-place rules above) and plans them.
// `planner` is reset and reused, so hot loops keep its capacity.
void plan_memory(const OpGraph& graph, MemoryPlanner& planner, MemoryPlan& plan);
MemoryPlan plan_memory(const OpGraph& graph,
                       PlannerStrategy strategy = PlannerStrategy::kGreedyBySize,
                       bool in_place = true);

// Only the arena size, without filling a MemoryPlan (the cost model's hot path).
int64_t plan_arena_bytes(const OpGraph& graph, MemoryPlanner& planner);

// Independent check used by tests and by the code generator before it emits:
// every two tensors alive at the same op occupy disjoint bytes, except an
// in-place op's output over the input it replaces; the scratch buffer overlaps
// nothing; everything lies inside the arena and is aligned. Returns "" when the
// plan is sound, else a description of the first violation.
std::string check_plan(const OpGraph& graph, const MemoryPlan& plan);

// Text dump: one line per buffer ("buffer 3: 0..12288 (12288 B), ops 4-6,
// tensors 5 6 [in place]") and an ASCII picture of the arena per op (with a
// patch column and a line where the patch stage ends, for a patched graph).
std::string dump_plan(const OpGraph& graph, const MemoryPlan& plan);

}  // namespace tinynas
