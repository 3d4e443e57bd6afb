// bench_deploy: the deploy pipeline on the emulated boards.
//
//   - bit-exact: firmware outputs == host reference interpreter on every input,
//     for N random subnets of the F412 space (at the width/resolution the
//     space optimiser chooses for 1 MB / 256 KB, those that fit) and for the
//     mcunet-in2 and mcunet-vww1 zoo networks;
//   - the arena the firmware declares == the cost model's arena, to the byte;
//     the ELF's flash within 5% of the prediction; the cost model's latency
//     (fitted to QEMU's instruction counts) against the count;
//   - flash and SRAM of in2 and vww1 beside TinyEngine's published figures;
//   - instructions per inference of vww1 on the emulated Cortex-M4 beside
//     TensorFlow Lite Micro + CMSIS-NN on the same emulator (48.53M, from
//     ../shared/DESIGN.md); target <= 0.30x (issue 11; 0.45x before);
//   - patch-based inference (MCUNetV2): in2 and vww1 again with the patch
//     setting choose_patch picks for the MCU (`--patch auto`), against
//     themselves layer by layer: arena (planned and the ELF's), MACs,
//     instructions, bit-exact; targets arena <= 0.5x, instructions <= 1.15x.
#include <cmath>
#include <map>
#include <filesystem>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "bench/bench_common.h"
#include "core/arch_io.h"
#include "core/io.h"
#include "core/search_space.h"
#include "deploy/deploy.h"
#include "evaluator/cost_model.h"

namespace tinynas::bench {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::string name;
  std::string arch_path;
  std::string mcu;
};

int run(int argc, char** argv) {
  CLI::App app{"bench_deploy: bit-exactness, arena/flash predictions and speed on QEMU"};
  int subnets = 20;
  uint64_t seed = 0;
  int eval_count = 2;
  std::string mcu_name = "f412";
  app.add_option("-n,--subnets", subnets, "Random subnets of the F412 space")->check(CLI::Range(0, 1000));
  app.add_option("--seed", seed, "Seed for the subnets and their weights");
  app.add_option("--eval-count", eval_count, "Inputs per network")->check(CLI::Range(1, 100));
  app.add_option("--mcu", mcu_name, "MCU (a Cortex-M4/M7 with a QEMU machine)");
  CLI11_PARSE(app, argc, argv);

  const fs::path work = fs::temp_directory_path() / ("tinynas_bench_deploy_" + std::to_string(::getpid()));
  fs::create_directories(work);
  const McuTarget mcu = load_mcu(mcu_name);
  const Budget budget = budget_for(mcu, 1 << 20, 256 << 10);

  std::vector<Case> cases;
  const std::string zoo = std::string(TINYNAS_SOURCE_DIR) + "/configs/zoo/";
  cases.push_back({"mcunet-vww1", zoo + "mcunet-vww1.json", mcu_name});
  cases.push_back({"mcunet-in2", zoo + "mcunet-in2.json", mcu_name});
  // The same two with their best patch setting (skipped where none helps).
  std::vector<std::string> patched_names;
  for (const char* net : {"mcunet-vww1", "mcunet-in2"}) {
    ArchSpec a = load_arch(zoo + net + ".json");
    a.patch = choose_patch(a, mcu, budget_for(mcu), 15.0).patch;
    if (!a.patch.enabled()) continue;
    const std::string path = (work / (std::string(net) + "-patched.json")).string();
    write_file_atomic(path, arch_to_json(a).dump(2));
    const std::string name = std::string(net) + " " + patch_setting(a.patch);
    cases.push_back({name, path, mcu_name});
    patched_names.push_back(name);
  }
  const int zoo_cases = static_cast<int>(cases.size());
  // Subnets of the space at the F412 choice (w0.5, r176), kept when they fit.
  const SearchSpace space = restrict_space(load_search_space("mcunet"), 0.5, 176);
  Rng rng(seed);
  for (int tries = 0; static_cast<int>(cases.size()) < subnets + zoo_cases && tries < subnets * 20; ++tries) {
    const ArchSpec a = decode(space, sample(space, rng));
    if (!estimate_cost(a, mcu, budget).fits) continue;
    const int index = static_cast<int>(cases.size()) - zoo_cases;
    const std::string path = (work / ("subnet" + std::to_string(index) + ".json")).string();
    write_file_atomic(path, arch_to_json(a).dump(2));
    cases.push_back({"subnet " + std::to_string(index), path, mcu_name});
  }
  struct Figures {
    int64_t arena = 0, elf_arena = 0, macs = 0;
    double instructions = 0;
    bool exact = false;
  };
  std::map<std::string, Figures> figures;

  Table t;
  for (const char* h : {"network", "MACs M", "arena pred", "arena ELF", "flash pred", "flash ELF",
                        "ELF-pred", "ratio", "SRAM ELF", "instr M", "model M", "model err",
                        "MAC/instr", "bit-exact"})
    t.add_column(h, std::string(h) == "network" || std::string(h) == "bit-exact");
  int exact = 0, arena_equal = 0, flash_ok = 0, failed = 0;
  double worst_model_err = 0, sum_model_err = 0;
  double vww1_instructions = 0;
  int64_t in2_flash = 0, in2_sram = 0, vww1_flash = 0, vww1_sram = 0;
  const double t0 = now_seconds();
  for (const Case& c : cases) {
    deploy::DeployOptions o;
    o.arch_path = c.arch_path;
    o.mcu = c.mcu;
    o.out_dir = (work / "out").string();
    o.random_weights = true;
    o.seed = seed;
    o.eval_count = eval_count;
    deploy::DeployReport r;
    try {
      r = deploy::deploy_model(o);
    } catch (const std::exception& e) {
      ++failed;
      std::fprintf(stderr, "%s (%s): %s\n", c.name.c_str(), c.arch_path.c_str(), e.what());
      t.add_row({c.name, "", "", "", "", "", "", "", "", "", "", "", "", "FAILED"});
      continue;
    }
    const bool be = r.board && r.board->bit_exact;
    figures[c.name] = {r.arena_bytes, r.elf_arena_bytes.value_or(-1), r.macs,
                       r.board && r.board->unit == "instructions" ? r.board->per_inference : 0.0, be};
    const bool ae = r.arena_matches_prediction;
    const double ratio = r.flash_vs_predicted;
    exact += be;
    arena_equal += ae;
    flash_ok += ratio <= 1.05 && ratio >= 0.95;
    const double instr = r.board && r.board->unit == "instructions" ? r.board->per_inference : 0.0;
    // The cost model's latency in the same unit: its cycles are fitted to
    // QEMU's instruction counts (configs/mcus/*.yaml, latency block).
    const double model = r.predicted.latency_ms * static_cast<double>(mcu.clock_hz) / 1e3;
    const double model_err = instr > 0 ? (model - instr) / instr * 100 : 0;
    worst_model_err = std::max(worst_model_err, std::fabs(model_err));
    sum_model_err += std::fabs(model_err);
    if (c.name == "mcunet-vww1") {
      vww1_instructions = instr;
      vww1_flash = r.flash_bytes;
      vww1_sram = r.sram_bytes;
    }
    if (c.name == "mcunet-in2") {
      in2_flash = r.flash_bytes;
      in2_sram = r.sram_bytes;
    }
    t.add_row({c.name, strf("%.2f", static_cast<double>(r.macs) / 1e6), std::to_string(r.predicted.arena_bytes),
               std::to_string(r.elf_arena_bytes.value_or(-1)), std::to_string(r.predicted.flash_bytes),
               std::to_string(r.flash_bytes), std::to_string(r.flash_bytes - r.predicted.flash_bytes),
               strf("%.4f", ratio), std::to_string(r.sram_bytes), strf("%.2f", instr / 1e6),
               strf("%.2f", model / 1e6), strf("%+.1f%%", model_err),
               strf("%.3f", instr > 0 ? r.board->macs_per_count : 0.0), be ? "yes" : "NO"});
    std::fflush(stdout);
  }
  if (failed == 0) fs::remove_all(work);
  else std::fprintf(stderr, "%d networks failed; their architectures are in %s\n", failed, work.c_str());
  std::printf("bench_deploy on %s (%s, QEMU %s, -icount shift=0), %zu networks x %d inputs, %.1f s\n\n",
              mcu.name.c_str(), mcu.core.c_str(), mcu.qemu_machine.c_str(), cases.size(), eval_count,
              now_seconds() - t0);
  t.print();
  const int n = static_cast<int>(cases.size());
  std::printf("\nbit-exact: %d/%d   arena == prediction: %d/%d   flash within 5%%: %d/%d\n", exact, n,
              arena_equal, n, flash_ok, n);
  const int ran = n - failed;
  std::printf("latency model (%s, instructions as cycles) vs QEMU's count: mean |error| %.1f%%, max %.1f%%\n",
              mcu.latency_fitted ? "fitted" : "UNFITTED", ran > 0 ? sum_model_err / ran : 0.0, worst_model_err);

  Table p;
  for (const char* h : {"figure", "ours", "peer", "ratio", "target", "result"})
    p.add_column(h, std::string(h) == "figure" || std::string(h) == "result" || std::string(h) == "target");
  auto row = [&](const std::string& name, double ours, double peer, double target) {
    const double ratio = ours / peer;
    p.add_row({name, strf("%.0f", ours), strf("%.0f", peer), strf("%.3f", ratio), strf("<= %.2fx", target),
               ratio <= target ? "PASS" : "FAIL"});
    return ratio <= target;
  };
  bool pass = exact == n && arena_equal == n && flash_ok == n;
  // TinyEngine's kB read as 1024 bytes, the project's size convention (MCU
  // datasheets use kB so); the ratio against 1000-byte kB is printed too.
  auto tinyengine = [&](const std::string& name, int64_t ours, double kb) {
    const bool ok = row(name + " vs TinyEngine " + strf("%.0f", kb) + " kB (KiB)",
                        static_cast<double>(ours), kb * 1024, 1.0);
    p.add_row({"  same, kB = 1000 B", "", strf("%.0f", kb * 1000),
               strf("%.3f", static_cast<double>(ours) / (kb * 1000)), "", ""});
    return ok;
  };
  pass &= tinyengine("in2 flash (B)", in2_flash, 878);
  pass &= tinyengine("in2 SRAM (B)", in2_sram, 242);
  pass &= tinyengine("vww1 flash (B)", vww1_flash, 521);
  pass &= tinyengine("vww1 SRAM (B)", vww1_sram, 92);
  if (mcu.core == "cortex-m4")
    pass &= row("vww1 instructions vs TFLM+CMSIS-NN 48.53M", vww1_instructions, 48.53e6, 0.30);
  std::printf("\n");
  p.print();

  // Patch-based vs layer by layer, the same network and weights.
  Table pt;
  for (const char* h : {"network", "patches", "arena plan", "arena ELF", "arena ratio", "MACs M", "MACs +%",
                        "instr M", "instr +%", "bit-exact", "targets"})
    pt.add_column(h, std::string(h) == "network" || std::string(h) == "patches" ||
                         std::string(h) == "bit-exact" || std::string(h) == "targets");
  for (const std::string& name : patched_names) {
    const std::string net = name.substr(0, name.find(' '));
    if (!figures.count(net) || !figures.count(name)) continue;
    const Figures& l = figures[net];
    const Figures& q = figures[name];
    const double arena_ratio = static_cast<double>(q.arena) / static_cast<double>(l.arena);
    const double extra = l.instructions > 0 ? (q.instructions / l.instructions - 1) * 100 : 0;
    const bool ok = arena_ratio <= 0.5 && extra <= 15 && q.exact && l.exact;
    pass &= ok;
    for (int patched = 0; patched < 2; ++patched) {
      const Figures& f = patched ? q : l;
      pt.add_row({net, patched ? name.substr(net.size() + 1) : "layer by layer", std::to_string(f.arena),
                  std::to_string(f.elf_arena),
                  patched ? strf("%.3f", arena_ratio) : "1", strf("%.2f", static_cast<double>(f.macs) / 1e6),
                  patched ? strf("%+.1f%%", (static_cast<double>(q.macs) / static_cast<double>(l.macs) - 1) * 100)
                          : "",
                  strf("%.2f", f.instructions / 1e6), patched ? strf("%+.1f%%", extra) : "", f.exact ? "yes" : "NO",
                  patched ? std::string("arena <= 0.5x, instr <= +15%: ") + (ok ? "PASS" : "FAIL") : ""});
    }
  }
  std::printf("\npatch-based inference (the setting --patch auto picks for %s) vs layer by layer:\n",
              mcu.name.c_str());
  pt.print();
  return pass ? 0 : 1;
}

}  // namespace
}  // namespace tinynas::bench

int main(int argc, char** argv) { return tinynas::bench::run_main(tinynas::bench::run, argc, argv); }
