// --patch and --patch-max-overhead (cli/options.h). Apart from options.cpp:
// `auto` asks the cost model (evaluator), which the fuzz build of the option
// readers does not link.
#include <string>

#include "cli/options.h"
#include "core/error.h"
#include "evaluator/cost_model.h"

namespace tinynas::cli {

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
