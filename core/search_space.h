// SearchSpace: the elastic MobileNetV2-style space of MCUNet (TinyNAS), read
// from configs/spaces/<name>.yaml.
//
// A first conv and a fixed first block (expand 1, kernel 3), then elastic
// stages: per stage a depth from `depths`, per block a kernel from `kernels`
// and an expand ratio from `expands`. Widths scale every channel count
// (make_divisible by channel_divisor); the input resolution is chosen from
// `resolutions`. A residual shortcut joins every block with stride 1 and equal
// in/out channels.
//
// A Genome is the space's encoding of one subnet, a fixed-length vector:
//   [width index, resolution index,
//    for each stage: depth index, then for each block slot up to the stage's
//    largest depth: kernel index, expand index]
// Slots beyond the chosen depth are kept (evolution may switch them back on).
//
// Patch-based inference (MCUNetV2) as genes: a space with a `patch:` setting
//   patch:
//     patches: [0, 2, 3, 4]   # grid sides n (n x n patches); 0 = layer by layer
//     max_split_block: 6      # split blocks 0..6 (0-based over all blocks)
// appends two genes to the genome: [patch grid index, split block]. Decoding
// resolves them against the decoded network (PatchSpec, core/arch.h): n == 0
// gives no patching; otherwise the split block nearest the gene (ties to the
// earlier block) among 0..max_split_block that patch_problem() accepts for
// n x n patches, and no patching when none does. So every genome decodes to
// a setting the network can run, and the same genome always to the same one.
// Patching leaves the network (and so its accuracy) unchanged and trades
// MACs (the overlap) for peak SRAM, which the budget check then sees.
// Without the setting the genome and every seeded draw are as before.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/rng.h"

namespace tinynas {

struct StageChoices {
  int32_t base_channels = 0;
  int32_t stride = 1;
  std::vector<int32_t> depths;
  std::vector<int32_t> kernels;
  std::vector<int32_t> expands;
};

struct PatchChoices {
  std::vector<int32_t> grids;      // must hold 0; empty: no patch genes
  int32_t max_split_block = 0;
  bool enabled() const { return !grids.empty(); }
};

struct SearchSpace {
  std::string name;
  std::string source;  // the YAML file it came from
  std::vector<double> widths;
  std::vector<int32_t> resolutions;
  int32_t channel_divisor = 8;
  int32_t in_channels = 3;
  Activation activation = Activation::kRelu6;
  int32_t first_conv_channels = 32;
  int32_t first_conv_kernel = 3;
  int32_t first_conv_stride = 2;
  int32_t first_block_channels = 16;
  int32_t first_block_kernel = 3;
  std::vector<StageChoices> stages;
  int32_t feature_mix_channels = 0;  // absolute, not scaled; 0 for none
  int32_t num_classes = 1000;
  PatchChoices patch;  // patch genes (see above); empty: none
};

struct Genome {
  std::vector<int32_t> genes;
  bool operator==(const Genome&) const = default;
};

// A name from configs/spaces (e.g. "mcunet") or a path to a YAML file.
SearchSpace load_search_space(const std::string& name_or_path);
std::vector<std::string> known_search_spaces();
// Throws tinynas::Error when a list is empty or a choice is impossible.
void validate(const SearchSpace& space);

// The same space with a single width and resolution (what the supernet trains).
SearchSpace restrict_space(const SearchSpace& space, double width, int32_t resolution);
// Index of a width/resolution in the space, or -1.
int32_t width_index(const SearchSpace& space, double width);
int32_t resolution_index(const SearchSpace& space, int32_t resolution);

size_t genome_length(const SearchSpace& space);
// Index of the patch grid gene (the split block gene follows it); only for a
// space whose patch setting is enabled.
size_t patch_gene_offset(const SearchSpace& space);
// The patch setting genes (grid index, split block) give on `network` (the
// decoded architecture; its own patch is ignored), as described above.
PatchSpec resolve_patch(const SearchSpace& space, const ArchSpec& network, int32_t grid_gene,
                        int32_t split_gene);
// Number of choices for gene i (for mutation and encoding checks).
int32_t gene_cardinality(const SearchSpace& space, size_t i);

Genome sample(const SearchSpace& space, Rng& rng);
// Samples a subnet at a fixed width/resolution straight into `out`, reusing
// its capacity (the space optimiser's hot loop).
void sample_arch(const SearchSpace& space, int32_t width_idx, int32_t resolution_idx, Rng& rng,
                 ArchSpec& out);
ArchSpec decode(const SearchSpace& space, const Genome& genome);
void decode(const SearchSpace& space, const Genome& genome, ArchSpec& out);
// Throws tinynas::Error saying why the architecture is not in the space.
Genome encode(const SearchSpace& space, const ArchSpec& arch);
bool contains(const SearchSpace& space, const ArchSpec& arch, std::string* why = nullptr);
// Each gene is resampled with probability `prob`.
Genome mutate(const SearchSpace& space, const Genome& parent, double prob, Rng& rng);
// Each gene from either parent with equal probability.
Genome crossover(const SearchSpace& space, const Genome& a, const Genome& b, Rng& rng);

// Smallest / largest subnet at a width and resolution index.
ArchSpec smallest_arch(const SearchSpace& space, int32_t width_idx, int32_t resolution_idx);
ArchSpec largest_arch(const SearchSpace& space, int32_t width_idx, int32_t resolution_idx);

}  // namespace tinynas
