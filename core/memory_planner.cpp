#include "core/memory_planner.h"

#include <algorithm>
#include <cstdio>

namespace tinynas {
namespace {

inline int64_t align_up(int64_t v) { return (v + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

// First op at which a tensor exists.
inline int32_t first_use(const Tensor& t) { return t.producer < 0 ? 0 : t.producer; }

// The input a given op overwrites in place, or -1. This is the runtime's rule
// (see the header); the code generator calls the kernels accordingly.
int32_t in_place_input(const OpGraph& g, int32_t op_index, bool enabled = true) {
  if (!enabled) return -1;
  const Op& op = g.ops[op_index];
  // A patch's tile of the assembled map: the map outlives the patch, and the
  // other patches' tiles are in it.
  if (op.patch >= 0 && g.tensors[op.output].patch < 0) return -1;
  if (op.kind == OpKind::kDepthwiseConv2d) {
    return g.tensors[op.input].last_use == op_index ? op.input : -1;
  }
  if (op.kind == OpKind::kAdd) {
    if (g.tensors[op.input].last_use == op_index) return op.input;
    if (g.tensors[op.input2].last_use == op_index) return op.input2;
  }
  return -1;
}

// Adds the graph's buffers to the planner; fills tensor_buffer when given.
// Returns the buffer index of the scratch buffer, or -1.
int32_t add_graph_buffers(const OpGraph& g, MemoryPlanner& planner,
                          std::vector<int32_t>* tensor_buffer_out, int64_t* scratch_bytes_out) {
  thread_local std::vector<int32_t> local;
  std::vector<int32_t>& tb = tensor_buffer_out != nullptr ? *tensor_buffer_out : local;
  tb.assign(g.tensors.size(), -1);
  const Tensor& in = g.tensors[g.input];
  tb[g.input] = planner.add_buffer(in.bytes, 0, in.last_use);
  int64_t scratch = 0;
  const auto n = static_cast<int32_t>(g.ops.size());
  for (int32_t i = 0; i < n; ++i) {
    const Op& op = g.ops[i];
    const Tensor& out = g.tensors[op.output];
    scratch = std::max(scratch, op.scratch_bytes);
    // A later patch writing its tile into the assembled map, which has its
    // buffer since the first patch's write.
    if (tb[op.output] >= 0) continue;
    const int32_t alias = in_place_input(g, i, planner.in_place());
    if (alias >= 0) {
      tb[op.output] = tb[alias];
      planner.add_segment(tb[alias], out.bytes, i, out.last_use);
    } else {
      tb[op.output] = planner.add_buffer(out.bytes, i, out.last_use);
    }
  }
  if (scratch_bytes_out != nullptr) *scratch_bytes_out = scratch;
  return scratch > 0 ? planner.add_buffer(scratch, 0, n - 1) : -1;
}

}  // namespace

void MemoryPlanner::reset() {
  buffers_.clear();
  segments_.clear();
  peak_ = 0;
}

int32_t MemoryPlanner::add_buffer(int64_t size, int32_t first_use, int32_t last_use) {
  Buffer b;
  b.max_size = align_up(size);
  b.first = first_use;
  b.last = last_use;
  b.seg_begin = static_cast<int32_t>(segments_.size());
  b.seg_count = 1;
  segments_.push_back({b.max_size, first_use, last_use});
  buffers_.push_back(b);
  return static_cast<int32_t>(buffers_.size() - 1);
}

void MemoryPlanner::add_segment(int32_t buffer, int64_t size, int32_t first_use,
                                int32_t last_use) {
  Buffer& b = buffers_[buffer];
  // Segments of one buffer are kept contiguous: in-place chains are added in
  // op order, so the chained buffer is always the most recent one to grow, or
  // its segments are moved to the end (rare: an add aliasing an older tensor).
  if (b.seg_begin + b.seg_count != static_cast<int32_t>(segments_.size())) {
    const int32_t begin = static_cast<int32_t>(segments_.size());
    for (int32_t s = 0; s < b.seg_count; ++s) segments_.push_back(segments_[b.seg_begin + s]);
    b.seg_begin = begin;
  }
  segments_.push_back({align_up(size), first_use, last_use});
  ++b.seg_count;
  b.max_size = std::max(b.max_size, align_up(size));
  b.first = std::min(b.first, first_use);
  b.last = std::max(b.last, last_use);
}

void MemoryPlanner::plan() {
  const auto n = static_cast<int32_t>(buffers_.size());
  peak_ = 0;
  if (strategy_ == PlannerStrategy::kNaive) {
    int64_t offset = 0;
    for (auto& b : buffers_) {
      b.offset = offset;
      offset += b.max_size;
    }
    peak_ = offset;
    return;
  }
  order_.resize(n);
  for (int32_t i = 0; i < n; ++i) order_[i] = i;
  std::sort(order_.begin(), order_.end(), [this](int32_t a, int32_t b) {
    const Buffer& x = buffers_[a];
    const Buffer& y = buffers_[b];
    if (x.max_size != y.max_size) return x.max_size > y.max_size;
    if (x.first != y.first) return x.first < y.first;
    return a < b;
  });
  placed_.clear();
  for (const int32_t bi : order_) {
    Buffer& b = buffers_[bi];
    forbidden_.clear();
    for (const int32_t pi : placed_) {
      const Buffer& p = buffers_[pi];
      if (p.last < b.first || b.last < p.first) continue;
      for (int32_t s = b.seg_begin; s < b.seg_begin + b.seg_count; ++s) {
        const Segment& sb = segments_[s];
        for (int32_t t = p.seg_begin; t < p.seg_begin + p.seg_count; ++t) {
          const Segment& sp = segments_[t];
          if (sp.last < sb.first || sb.last < sp.first) continue;
          // b at offset o overlaps sp unless o + sb.size <= p.offset or o >= p.offset + sp.size.
          forbidden_.push_back({p.offset - sb.size, p.offset + sp.size});
        }
      }
    }
    std::sort(forbidden_.begin(), forbidden_.end(),
              [](const Forbidden& x, const Forbidden& y) { return x.lo < y.lo; });
    int64_t offset = 0;
    for (const Forbidden& f : forbidden_) {
      if (offset <= f.lo) break;
      offset = std::max(offset, f.hi);
    }
    b.offset = offset;
    peak_ = std::max(peak_, offset + b.max_size);
    placed_.push_back(bi);
  }
}

int64_t plan_arena_bytes(const OpGraph& graph, MemoryPlanner& planner) {
  planner.reset();
  add_graph_buffers(graph, planner, nullptr, nullptr);
  planner.plan();
  return planner.peak_bytes();
}

void plan_memory(const OpGraph& g, MemoryPlanner& planner, MemoryPlan& plan) {
  planner.reset();
  int64_t scratch = 0;
  const int32_t scratch_buffer = add_graph_buffers(g, planner, &plan.tensor_buffer, &scratch);
  planner.plan();

  const auto num_ops = static_cast<int32_t>(g.ops.size());
  plan.tensor_offset.assign(g.tensors.size(), 0);
  for (size_t t = 0; t < g.tensors.size(); ++t)
    plan.tensor_offset[t] = planner.offset_of(plan.tensor_buffer[t]);
  plan.op_in_place.assign(g.ops.size(), 0);
  for (int32_t i = 0; i < num_ops; ++i)
    plan.op_in_place[i] = in_place_input(g, i, planner.in_place()) >= 0;

  plan.buffers.assign(static_cast<size_t>(planner.num_buffers()), BufferPlan{});
  for (int32_t b = 0; b < planner.num_buffers(); ++b) {
    plan.buffers[b].offset = planner.offset_of(b);
    plan.buffers[b].size = planner.size_of(b);
    plan.buffers[b].first_use = num_ops;
    plan.buffers[b].last_use = 0;
  }
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    BufferPlan& bp = plan.buffers[plan.tensor_buffer[t]];
    bp.tensors.push_back(static_cast<int32_t>(t));
    bp.first_use = std::min(bp.first_use, first_use(g.tensors[t]));
    bp.last_use = std::max(bp.last_use, g.tensors[t].last_use);
  }
  plan.scratch_bytes = scratch_buffer >= 0 ? planner.size_of(scratch_buffer) : 0;
  plan.scratch_offset = scratch_buffer >= 0 ? planner.offset_of(scratch_buffer) : 0;
  if (scratch_buffer >= 0) {
    plan.buffers[scratch_buffer].first_use = 0;
    plan.buffers[scratch_buffer].last_use = num_ops - 1;
  }
  plan.arena_bytes = planner.peak_bytes();

  // Lower bound: at each op, the live bytes (the largest live tensor of each
  // in-place chain counts once).
  std::vector<int64_t> live(static_cast<size_t>(num_ops), plan.scratch_bytes);
  for (const BufferPlan& bp : plan.buffers) {
    if (bp.tensors.empty()) continue;
    for (int32_t i = bp.first_use; i <= bp.last_use; ++i) {
      int64_t here = 0;
      for (const int32_t t : bp.tensors) {
        const Tensor& tt = g.tensors[t];
        if (first_use(tt) <= i && i <= tt.last_use) here = std::max(here, align_up(tt.bytes));
      }
      live[i] += here;
    }
  }
  plan.lower_bound_bytes = live.empty() ? 0 : *std::max_element(live.begin(), live.end());
}

MemoryPlan plan_memory(const OpGraph& graph, PlannerStrategy strategy, bool in_place) {
  MemoryPlanner planner(strategy, in_place);
  MemoryPlan plan;
  plan_memory(graph, planner, plan);
  return plan;
}

std::string check_plan(const OpGraph& g, const MemoryPlan& plan) {
  char msg[256];
  if (plan.tensor_offset.size() != g.tensors.size()) return "plan does not match the graph";
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const int64_t off = plan.tensor_offset[t];
    if (off % kArenaAlignment != 0 || off < 0 || off + g.tensors[t].bytes > plan.arena_bytes) {
      std::snprintf(msg, sizeof msg, "tensor %zu at %lld (+%lld) is misaligned or outside the arena of %lld",
                    t, static_cast<long long>(off), static_cast<long long>(g.tensors[t].bytes),
                    static_cast<long long>(plan.arena_bytes));
      return msg;
    }
  }
  if (plan.scratch_bytes > 0 && plan.scratch_offset + plan.scratch_bytes > plan.arena_bytes)
    return "scratch buffer lies outside the arena";
  const auto num_ops = static_cast<int32_t>(g.ops.size());
  std::vector<int32_t> alive;
  for (int32_t i = 0; i < num_ops; ++i) {
    alive.clear();
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      const Tensor& tt = g.tensors[t];
      if (first_use(tt) <= i && i <= tt.last_use) alive.push_back(static_cast<int32_t>(t));
    }
    const Op& op = g.ops[i];
    const int32_t replaced = plan.op_in_place[i] ? in_place_input(g, i) : -1;
    for (size_t a = 0; a < alive.size(); ++a) {
      const int32_t ta = alive[a];
      const int64_t a0 = plan.tensor_offset[ta], a1 = a0 + g.tensors[ta].bytes;
      if (plan.scratch_bytes > 0 && a0 < plan.scratch_offset + plan.scratch_bytes &&
          plan.scratch_offset < a1) {
        std::snprintf(msg, sizeof msg, "op %d: tensor %d overlaps the scratch buffer", i, ta);
        return msg;
      }
      for (size_t b = a + 1; b < alive.size(); ++b) {
        const int32_t tb = alive[b];
        const int64_t b0 = plan.tensor_offset[tb], b1 = b0 + g.tensors[tb].bytes;
        if (a0 >= b1 || b0 >= a1) continue;
        const bool allowed = plan.op_in_place[i] && replaced >= 0 &&
                             ((ta == replaced && tb == op.output) ||
                              (tb == replaced && ta == op.output));
        if (!allowed) {
          std::snprintf(msg, sizeof msg,
                        "op %d: tensors %d [%lld, %lld) and %d [%lld, %lld) overlap while both are alive",
                        i, ta, static_cast<long long>(a0), static_cast<long long>(a1), tb,
                        static_cast<long long>(b0), static_cast<long long>(b1));
          return msg;
        }
      }
    }
  }
  return "";
}

std::string dump_plan(const OpGraph& g, const MemoryPlan& plan) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "arena %lld B (lower bound %lld B), scratch %lld B at %lld\n",
                static_cast<long long>(plan.arena_bytes),
                static_cast<long long>(plan.lower_bound_bytes),
                static_cast<long long>(plan.scratch_bytes),
                static_cast<long long>(plan.scratch_offset));
  out += line;
  for (size_t b = 0; b < plan.buffers.size(); ++b) {
    const BufferPlan& bp = plan.buffers[b];
    std::snprintf(line, sizeof line, "buffer %zu: %lld..%lld (%lld B), ops %d-%d, ", b,
                  static_cast<long long>(bp.offset), static_cast<long long>(bp.offset + bp.size),
                  static_cast<long long>(bp.size), bp.first_use, bp.last_use);
    out += line;
    if (bp.tensors.empty()) {
      out += "scratch\n";
      continue;
    }
    out += "tensors";
    for (const int32_t t : bp.tensors) out += " " + std::to_string(t);
    if (bp.tensors.size() > 1) out += " [in place]";
    out += "\n";
  }
  // One row per op: the arena scaled to kCols columns; a letter per live tensor
  // (tensor index mod 26), '#' scratch, '.' free.
  constexpr int kCols = 64;
  const double scale = plan.arena_bytes > 0 ? static_cast<double>(kCols) / plan.arena_bytes : 0;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    std::string row(kCols, '.');
    auto paint = [&](int64_t off, int64_t bytes, char ch) {
      int c0 = static_cast<int>(off * scale);
      int c1 = static_cast<int>((off + bytes) * scale + 0.999);
      for (int c = std::max(0, c0); c < std::min(kCols, c1); ++c) row[c] = ch;
    };
    if (plan.scratch_bytes > 0) paint(plan.scratch_offset, plan.scratch_bytes, '#');
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      const Tensor& tt = g.tensors[t];
      if (first_use(tt) <= static_cast<int32_t>(i) && static_cast<int32_t>(i) <= tt.last_use)
        paint(plan.tensor_offset[t], tt.bytes, static_cast<char>('a' + t % 26));
    }
    const Op& op = g.ops[i];
    if (g.patch_ops > 0 && static_cast<int32_t>(i) == g.patch_ops) {
      std::snprintf(line, sizeof line, "    -- %dx%d patches end (assembled map: tensor %d); layer by layer --\n",
                    g.patch.n, g.patch.n, g.assembled);
      out += line;
    }
    if (g.patch_ops > 0) {  // a column with the op's patch
      char patch[16] = "";
      if (op.patch >= 0) std::snprintf(patch, sizeof patch, "p%d", op.patch);
      std::snprintf(line, sizeof line, "%3zu %-4s %-15s |%s|\n", i, patch, op_kind_name(op.kind),
                    row.c_str());
    } else {
      std::snprintf(line, sizeof line, "%3zu %-15s |%s|\n", i, op_kind_name(op.kind), row.c_str());
    }
    out += line;
  }
  return out;
}

}  // namespace tinynas
