#include "cli/options.h"

#include <cmath>

#include <algorithm>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/op_graph.h"
#include "core/rng.h"
#include "core/size.h"
#include "evaluator/cost_model.h"

namespace tinynas::cli {

void add_budget_flags(CLI::App& sub, BudgetFlags& flags) {
  sub.add_option("--flash", flags.flash, "Flash budget, e.g. 1M, 896K, 2MB (default: the MCU's)");
  sub.add_option("--sram", flags.sram, "SRAM budget, e.g. 256K, 320KB (default: the MCU's)");
  sub.add_option("--latency-ms", flags.latency_ms, "Latency limit in ms (default: none)")
      ->check(CLI::NonNegativeNumber);
}

Budget resolve_budget(const McuTarget& mcu, const BudgetFlags& flags) {
  const int64_t flash = flags.flash.empty() ? 0 : parse_size(flags.flash, "--flash");
  const int64_t sram = flags.sram.empty() ? 0 : parse_size(flags.sram, "--sram");
  if (!flags.flash.empty() && flash <= 0) throw Error("--flash: must be more than 0 bytes");
  if (!flags.sram.empty() && sram <= 0) throw Error("--sram: must be more than 0 bytes");
  // CLI11's NonNegativeNumber lets "nan" and "inf" through (NaN < 0 is false).
  if (!std::isfinite(flags.latency_ms)) throw Error("--latency-ms: must be a finite number >= 0");
  return budget_for(mcu, flash, sram, flags.latency_ms);
}

bool is_subnet_name(const std::string& arch) {
  return arch == "largest" || arch == "smallest" || arch == "median";
}

ArchSpec named_subnet(const SearchSpace& space, const std::string& name, int32_t resolution, uint64_t seed,
                      const std::string& where) {
  int32_t ri = name == "largest" ? static_cast<int32_t>(space.resolutions.size()) - 1 : 0;
  if (resolution > 0) {
    ri = resolution_index(space, resolution);
    if (ri < 0) {
      std::string list;
      for (int32_t r : space.resolutions) list += (list.empty() ? "" : ", ") + std::to_string(r);
      throw Error("--resolution " + std::to_string(resolution) + " is not one of " + where + "'s resolutions (" +
                  list + ")");
    }
  }
  if (name == "median") {
    // 101 random subnets at this resolution, sorted by MACs; the middle one.
    // The same subnet for the same space and seed.
    Rng rng(derive_seed(seed, 0x6d656469616eull));
    std::vector<std::pair<int64_t, ArchSpec>> drawn;
    for (int i = 0; i < 101; ++i) {
      ArchSpec a;
      sample_arch(space, 0, ri, rng, a);
      drawn.emplace_back(lower(a).total_macs(), std::move(a));
    }
    std::stable_sort(drawn.begin(), drawn.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    return drawn[50].second;
  }
  if (name == "largest") return largest_arch(space, 0, ri);
  if (name == "smallest") return smallest_arch(space, 0, ri);
  throw Error("--arch " + name + ": not largest, smallest or median");
}

namespace {

// "NxN:B" -> {N, B}; throws naming the flag when it is not of that form.
PatchSpec parse_patch(const std::string& value) {
  const auto bad = [&](const std::string& why) {
    return Error("--patch " + shorten(value) + ": " + why);
  };
  int32_t fields[3] = {0, 0, 0};
  size_t field = 0, digits = 0;
  for (const char ch : value) {
    if (ch >= '0' && ch <= '9') {
      if (++digits > 6) throw bad("number too large");
      fields[field] = fields[field] * 10 + (ch - '0');
    } else if (digits > 0 && ((field == 0 && ch == 'x') || (field == 1 && ch == ':'))) {
      ++field;
      digits = 0;
    } else {
      field = 3;
      break;
    }
  }
  if (field != 2 || digits == 0)
    throw bad("expected NxN:B (n x n patches through block B, e.g. 4x4:5), auto or none");
  if (fields[0] != fields[1]) throw bad("patches must form a square grid (NxN)");
  return {fields[0], fields[2]};
}

}  // namespace

void add_patch_flags(CLI::App& sub, PatchFlags& flags) {
  sub.add_option("--patch", flags.patch,
                 "Patch-based inference: NxN:B (n x n patches through block B, counted from 0 over all "
                 "stages, e.g. 4x4:5), auto (the lowest peak SRAM within --patch-max-overhead) or none; "
                 "default: the architecture's own setting");
  sub.add_option("--patch-max-overhead", flags.max_overhead,
                 "Extra MACs --patch auto may spend on the patches' overlap, in % (default 15)");
}

void apply_patch_flags(const PatchFlags& flags, const McuTarget& mcu, const Budget& budget, ArchSpec& arch) {
  if (!(flags.max_overhead >= 0 && flags.max_overhead <= 1000))
    throw Error("--patch-max-overhead: must be a percentage in 0..1000");
  if (flags.patch == "auto") {
    arch.patch = choose_patch(arch, mcu, budget, flags.max_overhead).patch;
  } else if (flags.patch == "none") {
    arch.patch = PatchSpec{};
  } else if (!flags.patch.empty()) {
    arch.patch = parse_patch(flags.patch);
    const std::string problem = patch_problem(arch);
    if (!problem.empty()) throw Error("--patch " + flags.patch + ": " + problem);
  }
}

}  // namespace tinynas::cli
