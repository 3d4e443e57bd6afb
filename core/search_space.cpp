#include "core/search_space.h"

#include <algorithm>
#include <cmath>

#include "core/doc.h"
#include "core/error.h"
#include "core/config_dir.h"

namespace tinynas {
namespace {

using nlohmann::json;

std::vector<int32_t> get_int_list(const Document& doc, const json& obj, const std::string& pointer,
                                  const std::string& key, const std::vector<int32_t>& fallback) {
  const json* v = find_member(doc, obj, pointer, key);
  if (v == nullptr || v->is_null()) {
    if (fallback.empty()) doc.fail(child(pointer, key), "missing (required)");
    return fallback;
  }
  if (!v->is_array() || v->empty()) doc.fail(child(pointer, key), "expected a non-empty list");
  std::vector<int32_t> out;
  for (size_t i = 0; i < v->size(); ++i) {
    const json& e = (*v)[i];
    if (!e.is_number_integer()) doc.fail(child(child(pointer, key), i), "expected an integer");
    out.push_back(e.get<int32_t>());
  }
  return out;
}

std::vector<double> get_number_list(const Document& doc, const json& obj,
                                    const std::string& pointer, const std::string& key) {
  const json* v = find_member(doc, obj, pointer, key);
  if (v == nullptr || !v->is_array() || v->empty())
    doc.fail(child(pointer, key), "expected a non-empty list of numbers");
  std::vector<double> out;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_number()) doc.fail(child(child(pointer, key), i), "expected a number");
    out.push_back((*v)[i].get<double>());
  }
  return out;
}

SearchSpace parse_space(const Document& doc) {
  const json& r = doc.root;
  if (!r.is_object()) doc.fail("", "a search space must be a mapping");
  SearchSpace s;
  s.source = doc.path;
  s.name = get_string(doc, r, "", "name");
  s.widths = get_number_list(doc, r, "", "widths");
  s.resolutions = get_int_list(doc, r, "", "resolutions", {});
  s.channel_divisor = static_cast<int32_t>(get_int_or(doc, r, "", "channel_divisor", 8));
  s.in_channels = static_cast<int32_t>(get_int_or(doc, r, "", "in_channels", 3));
  const std::string act = get_string_or(doc, r, "", "activation", "relu6");
  if (act == "relu6") s.activation = Activation::kRelu6;
  else if (act == "relu") s.activation = Activation::kRelu;
  else doc.fail("/activation", "expected relu6 or relu");
  const json& fc = get_object(doc, r, "", "first_conv");
  s.first_conv_channels = static_cast<int32_t>(get_int(doc, fc, "/first_conv", "channels"));
  s.first_conv_kernel = static_cast<int32_t>(get_int_or(doc, fc, "/first_conv", "kernel", 3));
  s.first_conv_stride = static_cast<int32_t>(get_int_or(doc, fc, "/first_conv", "stride", 2));
  const json& fb = get_object(doc, r, "", "first_block");
  s.first_block_channels = static_cast<int32_t>(get_int(doc, fb, "/first_block", "channels"));
  s.first_block_kernel = static_cast<int32_t>(get_int_or(doc, fb, "/first_block", "kernel", 3));
  const auto depths = get_int_list(doc, r, "", "depths", {1});
  const auto kernels = get_int_list(doc, r, "", "kernels", {3});
  const auto expands = get_int_list(doc, r, "", "expands", {1});
  const json& st = get_array(doc, r, "", "stages");
  if (st.empty()) doc.fail("/stages", "expected a non-empty list");
  for (size_t i = 0; i < st.size(); ++i) {
    const std::string p = child("/stages", i);
    const json& sj = st[i];
    if (!sj.is_object()) doc.fail(p, "expected a mapping");
    StageChoices c;
    c.base_channels = static_cast<int32_t>(get_int(doc, sj, p, "channels"));
    c.stride = static_cast<int32_t>(get_int_or(doc, sj, p, "stride", 1));
    c.depths = get_int_list(doc, sj, p, "depths", depths);
    c.kernels = get_int_list(doc, sj, p, "kernels", kernels);
    c.expands = get_int_list(doc, sj, p, "expands", expands);
    s.stages.push_back(std::move(c));
  }
  s.feature_mix_channels = static_cast<int32_t>(get_int_or(doc, r, "", "feature_mix_channels", 0));
  s.num_classes = static_cast<int32_t>(get_int_or(doc, r, "", "num_classes", 1000));
  if (const json* pj = find_member(doc, r, "", "patch"); pj != nullptr && !pj->is_null()) {
    const json& p = get_object(doc, r, "", "patch");
    s.patch.grids = get_int_list(doc, p, "/patch", "patches", {});
    s.patch.max_split_block = static_cast<int32_t>(get_int(doc, p, "/patch", "max_split_block"));
  }
  try {
    validate(s);
  } catch (const Error& e) {
    throw Error(at(doc.path, e.what()));
  }
  return s;
}

inline int32_t scaled(const SearchSpace& s, int32_t base, double w) {
  return make_divisible(base * w, s.channel_divisor);
}

inline int32_t mid_channels(const SearchSpace& s, int32_t in, int32_t expand) {
  return expand == 1 ? in : make_divisible(static_cast<double>(in) * expand, s.channel_divisor);
}

int32_t max_depth(const StageChoices& c) { return *std::max_element(c.depths.begin(), c.depths.end()); }

// Builds the architecture for explicit choices; `pick` returns, for stage s
// and slot j, the (kernel, expand) and for stage s the depth.
template <typename DepthFn, typename BlockFn>
void build(const SearchSpace& s, int32_t wi, int32_t ri, DepthFn depth_of, BlockFn block_of,
           ArchSpec& a) {
  const double w = s.widths[wi];
  a.resolution = s.resolutions[ri];
  a.in_channels = s.in_channels;
  a.width_mult = w;
  a.activation = s.activation;
  a.first_conv = {scaled(s, s.first_conv_channels, w), s.first_conv_kernel, s.first_conv_stride};
  a.stages.resize(s.stages.size() + 1);
  int32_t c = a.first_conv.out_channels;
  {
    auto& blocks = a.stages[0].blocks;
    blocks.resize(1);
    BlockSpec& b = blocks[0];
    b.kernel = s.first_block_kernel;
    b.expand = 1;
    b.mid_channels = c;
    b.out_channels = scaled(s, s.first_block_channels, w);
    b.stride = 1;
    b.residual = b.out_channels == c;
    c = b.out_channels;
  }
  for (size_t si = 0; si < s.stages.size(); ++si) {
    const StageChoices& sc = s.stages[si];
    const int32_t depth = depth_of(si);
    const int32_t out = scaled(s, sc.base_channels, w);
    auto& blocks = a.stages[si + 1].blocks;
    blocks.resize(static_cast<size_t>(depth));
    for (int32_t j = 0; j < depth; ++j) {
      const auto [k, e] = block_of(si, j);
      BlockSpec& b = blocks[j];
      b.kernel = k;
      b.expand = e;
      b.mid_channels = mid_channels(s, c, e);
      b.out_channels = out;
      b.stride = j == 0 ? sc.stride : 1;
      b.residual = b.stride == 1 && c == out;
      c = out;
    }
  }
  a.feature_mix_channels = s.feature_mix_channels;
  a.num_classes = s.num_classes;
  a.patch = PatchSpec{};
}

// Offset of stage si's depth gene in the genome.
size_t stage_offset(const SearchSpace& s, size_t si) {
  size_t off = 2;
  for (size_t i = 0; i < si; ++i) off += 1 + 2 * static_cast<size_t>(max_depth(s.stages[i]));
  return off;
}

}  // namespace

void validate(const SearchSpace& s) {
  auto bad = [&](const std::string& m) { throw Error("invalid search space '" + s.name + "': " + m); };
  if (s.widths.empty()) bad("no widths");
  for (double w : s.widths)
    if (!(w > 0 && w <= 4)) bad("width " + std::to_string(w) + " outside (0, 4]");
  if (s.resolutions.empty()) bad("no resolutions");
  for (int32_t r : s.resolutions)
    if (r < 8 || r > 1024) bad("resolution " + std::to_string(r) + " outside 8..1024");
  if (s.channel_divisor < 1) bad("channel_divisor must be positive");
  if (s.stages.empty()) bad("no stages");
  for (size_t i = 0; i < s.stages.size(); ++i) {
    const auto& c = s.stages[i];
    const std::string where = "stage " + std::to_string(i) + ": ";
    if (c.base_channels < 1) bad(where + "channels must be positive");
    if (c.stride != 1 && c.stride != 2) bad(where + "stride must be 1 or 2");
    if (c.depths.empty() || c.kernels.empty() || c.expands.empty())
      bad(where + "depths, kernels and expands must be non-empty");
    for (int32_t d : c.depths) if (d < 1 || d > 16) bad(where + "depth outside 1..16");
    for (int32_t k : c.kernels) if (k < 1 || k > 11 || k % 2 == 0) bad(where + "kernels must be odd, 1..11");
    for (int32_t e : c.expands) if (e < 1 || e > 16) bad(where + "expand ratios must be in 1..16");
  }
  if (s.num_classes < 1) bad("num_classes must be positive");
  if (s.patch.enabled()) {
    const auto& g = s.patch.grids;
    if (std::find(g.begin(), g.end(), 0) == g.end())
      bad("patch: patches must hold 0 (layer by layer), which settings a network cannot run decode to");
    for (size_t i = 0; i < g.size(); ++i) {
      if (g[i] != 0 && (g[i] < 2 || g[i] > kMaxPatchGrid))
        bad("patch: patches must be 0 or 2.." + std::to_string(kMaxPatchGrid) + ", not " +
            std::to_string(g[i]));
      if (std::find(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(i), g[i]) !=
          g.begin() + static_cast<std::ptrdiff_t>(i))
        bad("patch: patches lists " + std::to_string(g[i]) + " twice");
    }
    if (s.patch.max_split_block < 0 || s.patch.max_split_block > 63)
      bad("patch: max_split_block must be in 0..63");
  }
  if (s.feature_mix_channels < 0) bad("feature_mix_channels must be >= 0");
}

std::vector<std::string> known_search_spaces() { return list_configs("spaces"); }

SearchSpace load_search_space(const std::string& name_or_path) {
  return parse_space(load_document(resolve_config(name_or_path, "spaces", "search space")));
}

int32_t width_index(const SearchSpace& s, double width) {
  for (size_t i = 0; i < s.widths.size(); ++i)
    if (std::fabs(s.widths[i] - width) < 1e-9) return static_cast<int32_t>(i);
  return -1;
}

int32_t resolution_index(const SearchSpace& s, int32_t resolution) {
  for (size_t i = 0; i < s.resolutions.size(); ++i)
    if (s.resolutions[i] == resolution) return static_cast<int32_t>(i);
  return -1;
}

SearchSpace restrict_space(const SearchSpace& space, double width, int32_t resolution) {
  if (width_index(space, width) < 0)
    throw Error("width " + std::to_string(width) + " is not in search space '" + space.name + "'");
  if (resolution_index(space, resolution) < 0)
    throw Error("resolution " + std::to_string(resolution) + " is not in search space '" +
                space.name + "'");
  SearchSpace s = space;
  s.widths = {width};
  s.resolutions = {resolution};
  return s;
}

size_t genome_length(const SearchSpace& s) {
  return stage_offset(s, s.stages.size()) + (s.patch.enabled() ? 2 : 0);
}

size_t patch_gene_offset(const SearchSpace& s) {
  if (!s.patch.enabled()) throw Error("search space '" + s.name + "' has no patch genes");
  return stage_offset(s, s.stages.size());
}

PatchSpec resolve_patch(const SearchSpace& s, const ArchSpec& network, int32_t grid_gene,
                        int32_t split_gene) {
  const int32_t n = s.patch.grids[static_cast<size_t>(grid_gene)];
  if (n == 0) return {};
  ArchSpec a = network;
  const int32_t last = std::min(s.patch.max_split_block, network.num_blocks() - 1);
  // Nearest first, the earlier block on ties: split, split-1, split+1, ...
  for (int32_t d = 0; d <= s.patch.max_split_block; ++d) {
    const int32_t candidates[2] = {split_gene - d, split_gene + d};
    for (int32_t k = 0; k < (d == 0 ? 1 : 2); ++k) {
      const int32_t block = candidates[k];
      if (block < 0 || block > last) continue;
      a.patch = {n, block};
      if (patch_problem(a).empty()) return a.patch;
    }
  }
  return {};
}

int32_t gene_cardinality(const SearchSpace& s, size_t i) {
  if (i == 0) return static_cast<int32_t>(s.widths.size());
  if (i == 1) return static_cast<int32_t>(s.resolutions.size());
  if (s.patch.enabled()) {
    const size_t p = stage_offset(s, s.stages.size());
    if (i == p) return static_cast<int32_t>(s.patch.grids.size());
    if (i == p + 1) return s.patch.max_split_block + 1;
  }
  for (size_t si = 0; si < s.stages.size(); ++si) {
    const size_t off = stage_offset(s, si);
    const size_t end = stage_offset(s, si + 1);
    if (i < off || i >= end) continue;
    if (i == off) return static_cast<int32_t>(s.stages[si].depths.size());
    return static_cast<int32_t>((i - off - 1) % 2 == 0 ? s.stages[si].kernels.size()
                                                       : s.stages[si].expands.size());
  }
  throw Error("gene index " + std::to_string(i) + " is outside the genome");
}

Genome sample(const SearchSpace& s, Rng& rng) {
  Genome g;
  g.genes.resize(genome_length(s));
  for (size_t i = 0; i < g.genes.size(); ++i)
    g.genes[i] = static_cast<int32_t>(rng.uniform(static_cast<uint32_t>(gene_cardinality(s, i))));
  return g;
}

void sample_arch(const SearchSpace& s, int32_t wi, int32_t ri, Rng& rng, ArchSpec& out) {
  // Depths first, then per block; the draw order is part of the seed contract.
  thread_local std::vector<int32_t> depth;
  depth.resize(s.stages.size());
  for (size_t si = 0; si < s.stages.size(); ++si)
    depth[si] = s.stages[si].depths[rng.uniform(static_cast<uint32_t>(s.stages[si].depths.size()))];
  build(
      s, wi, ri, [&](size_t si) { return depth[si]; },
      [&](size_t si, int32_t) {
        const StageChoices& c = s.stages[si];
        const int32_t k = c.kernels[rng.uniform(static_cast<uint32_t>(c.kernels.size()))];
        const int32_t e = c.expands[rng.uniform(static_cast<uint32_t>(c.expands.size()))];
        return std::pair<int32_t, int32_t>{k, e};
      },
      out);
}

void decode(const SearchSpace& s, const Genome& g, ArchSpec& out) {
  if (g.genes.size() != genome_length(s))
    throw Error("genome of length " + std::to_string(g.genes.size()) + " does not fit space '" +
                s.name + "' (length " + std::to_string(genome_length(s)) + ")");
  for (size_t i = 0; i < g.genes.size(); ++i)
    if (g.genes[i] < 0 || g.genes[i] >= gene_cardinality(s, i))
      throw Error("gene " + std::to_string(i) + " = " + std::to_string(g.genes[i]) +
                  " is out of range");
  build(
      s, g.genes[0], g.genes[1],
      [&](size_t si) { return s.stages[si].depths[g.genes[stage_offset(s, si)]]; },
      [&](size_t si, int32_t j) {
        const size_t off = stage_offset(s, si) + 1 + 2 * static_cast<size_t>(j);
        return std::pair<int32_t, int32_t>{s.stages[si].kernels[g.genes[off]],
                                           s.stages[si].expands[g.genes[off + 1]]};
      },
      out);
  if (s.patch.enabled()) {
    const size_t p = patch_gene_offset(s);
    out.patch = resolve_patch(s, out, g.genes[p], g.genes[p + 1]);
  }
}

ArchSpec decode(const SearchSpace& s, const Genome& g) {
  ArchSpec a;
  decode(s, g, a);
  return a;
}

Genome encode(const SearchSpace& s, const ArchSpec& a) {
  auto reject = [&](const std::string& why) {
    throw Error("architecture is not in search space '" + s.name + "': " + why);
  };
  const int32_t ri = resolution_index(s, a.resolution);
  if (ri < 0) reject("resolution " + std::to_string(a.resolution) + " is not one of the space's");
  if (a.in_channels != s.in_channels) reject("input channels differ");
  if (a.activation != s.activation) reject("activation differs");
  if (a.stages.size() != s.stages.size() + 1)
    reject(std::to_string(a.stages.size()) + " stages, the space has " +
           std::to_string(s.stages.size() + 1) + " (first block + elastic stages)");
  if (a.num_classes != s.num_classes)
    reject(std::to_string(a.num_classes) + " classes, the space has " + std::to_string(s.num_classes));
  if (a.feature_mix_channels != s.feature_mix_channels) reject("feature-mix layer differs");
  int32_t grid_gene = 0, split_gene = 0;
  if (a.patch.enabled()) {
    if (!s.patch.enabled()) reject("it is patched and the space has no patch setting");
    const auto& grids = s.patch.grids;
    const auto n = std::find(grids.begin(), grids.end(), a.patch.n);
    if (n == grids.end()) reject(std::to_string(a.patch.n) + "x" + std::to_string(a.patch.n) +
                                 " patches are not one of the space's");
    if (a.patch.split_block < 0 || a.patch.split_block > s.patch.max_split_block)
      reject("split block " + std::to_string(a.patch.split_block) + " is beyond the space's " +
             std::to_string(s.patch.max_split_block));
    grid_gene = static_cast<int32_t>(n - grids.begin());
    split_gene = a.patch.split_block;
    if (const std::string problem = patch_problem(a); !problem.empty()) reject(problem);
  } else if (s.patch.enabled()) {
    grid_gene = static_cast<int32_t>(std::find(s.patch.grids.begin(), s.patch.grids.end(), 0) -
                                     s.patch.grids.begin());
  }
  // The width is identified by the channel counts; prefer the declared one.
  std::vector<int32_t> candidates;
  if (int32_t wi = width_index(s, a.width_mult); wi >= 0) candidates.push_back(wi);
  for (int32_t i = 0; i < static_cast<int32_t>(s.widths.size()); ++i) candidates.push_back(i);
  std::string last_reason = "no width of the space matches its channels";
  for (const int32_t wi : candidates) {
    Genome g;
    g.genes.assign(genome_length(s), 0);
    g.genes[0] = wi;
    g.genes[1] = ri;
    if (s.patch.enabled()) {
      g.genes[patch_gene_offset(s)] = grid_gene;
      g.genes[patch_gene_offset(s) + 1] = split_gene;
    }
    bool ok = true;
    for (size_t si = 0; si < s.stages.size() && ok; ++si) {
      const StageChoices& c = s.stages[si];
      const auto& blocks = a.stages[si + 1].blocks;
      const auto d = std::find(c.depths.begin(), c.depths.end(), static_cast<int32_t>(blocks.size()));
      if (d == c.depths.end()) {
        last_reason = "stage " + std::to_string(si + 1) + " has depth " +
                      std::to_string(blocks.size()) + ", not one of the space's";
        ok = false;
        break;
      }
      const size_t off = stage_offset(s, si);
      g.genes[off] = static_cast<int32_t>(d - c.depths.begin());
      for (size_t j = 0; j < blocks.size(); ++j) {
        const auto k = std::find(c.kernels.begin(), c.kernels.end(), blocks[j].kernel);
        const auto e = std::find(c.expands.begin(), c.expands.end(), blocks[j].expand);
        if (k == c.kernels.end() || e == c.expands.end()) {
          last_reason = "stage " + std::to_string(si + 1) + " block " + std::to_string(j) +
                        ": kernel " + std::to_string(blocks[j].kernel) + " / expand " +
                        std::to_string(blocks[j].expand) + " is not one of the space's choices";
          ok = false;
          break;
        }
        g.genes[off + 1 + 2 * j] = static_cast<int32_t>(k - c.kernels.begin());
        g.genes[off + 2 + 2 * j] = static_cast<int32_t>(e - c.expands.begin());
      }
    }
    if (!ok) continue;
    ArchSpec back = decode(s, g);
    back.width_mult = a.width_mult;
    if (back == a) return g;
    last_reason = "its channel counts or strides differ from the space's at every width";
  }
  reject(last_reason);
}

bool contains(const SearchSpace& s, const ArchSpec& a, std::string* why) {
  try {
    encode(s, a);
    return true;
  } catch (const Error& e) {
    if (why != nullptr) *why = e.what();
    return false;
  }
}

Genome mutate(const SearchSpace& s, const Genome& parent, double prob, Rng& rng) {
  Genome g = parent;
  for (size_t i = 0; i < g.genes.size(); ++i)
    if (rng.uniform01() < prob)
      g.genes[i] = static_cast<int32_t>(rng.uniform(static_cast<uint32_t>(gene_cardinality(s, i))));
  return g;
}

Genome crossover(const SearchSpace& s, const Genome& a, const Genome& b, Rng& rng) {
  if (a.genes.size() != b.genes.size() || a.genes.size() != genome_length(s))
    throw Error("crossover of genomes that do not fit the space");
  Genome g = a;
  for (size_t i = 0; i < g.genes.size(); ++i)
    if (rng.uniform(2) == 1) g.genes[i] = b.genes[i];
  return g;
}

ArchSpec smallest_arch(const SearchSpace& s, int32_t wi, int32_t ri) {
  ArchSpec a;
  build(
      s, wi, ri,
      [&](size_t si) { return *std::min_element(s.stages[si].depths.begin(), s.stages[si].depths.end()); },
      [&](size_t si, int32_t) {
        const auto& c = s.stages[si];
        return std::pair<int32_t, int32_t>{*std::min_element(c.kernels.begin(), c.kernels.end()),
                                           *std::min_element(c.expands.begin(), c.expands.end())};
      },
      a);
  return a;
}

ArchSpec largest_arch(const SearchSpace& s, int32_t wi, int32_t ri) {
  ArchSpec a;
  build(
      s, wi, ri, [&](size_t si) { return max_depth(s.stages[si]); },
      [&](size_t si, int32_t) {
        const auto& c = s.stages[si];
        return std::pair<int32_t, int32_t>{*std::max_element(c.kernels.begin(), c.kernels.end()),
                                           *std::max_element(c.expands.begin(), c.expands.end())};
      },
      a);
  return a;
}

}  // namespace tinynas
