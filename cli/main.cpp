// tinynas: find, train and ship neural networks for microcontrollers.
//
// train and eval (LibTorch) run in a second binary, tinynas-torch, built
// beside this one: LibTorch's static initialisation takes about half a second,
// which every other command would otherwise pay. `tinynas train|eval ...`
// execs `tinynas-torch train|eval ...` with the same arguments, and so does
// `tinynas deploy` once it has parsed a --checkpoint (loading trained supernet
// weights needs LibTorch); both binaries are built from this file
// (TINYNAS_TORCH_HELPER selects the commands).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string_view>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/yaml_config.h"
#include "core/error.h"

namespace {

// An option given an empty value ("--arch ''", "--out ''") names no file, no
// size, nothing: refuse it by name before any command starts.
void check_no_empty_values(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) {
    for (const CLI::Option* opt : sub->get_options()) {
      if (opt->count() == 0 || opt->get_type_size() == 0) continue;  // flags take no value
      for (const std::string& value : opt->results())
        if (value.empty()) throw tinynas::Error(opt->get_name() + ": empty value");
    }
  }
}

}  // namespace

#ifndef TINYNAS_TORCH_HELPER
namespace {

// The subcommand named by argv (skipping the global options), or "".
std::string_view subcommand_of(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--config") {
      ++i;
      continue;
    }
    if (!a.empty() && a.front() == '-') continue;
    return a;
  }
  return "";
}

char** program_argv = nullptr;

}  // namespace

namespace tinynas::cli {

int exec_torch_helper() {
  char** argv = program_argv;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::filesystem::path helper = (ec ? std::filesystem::path(argv[0]) : self).parent_path() / "tinynas-torch";
  // OpenMP threads that spin at barriers are ruinous when other processes
  // share the cores (measured on 2 busy cores, mcunet w0.3 at 48, 2 torch
  // threads: 8 img/s spinning, 60 img/s passive; 1 thread: 256 img/s).
  // libgomp reads this when LibTorch loads; an explicit setting wins.
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  // Transparent huge pages for malloc (glibc >= 2.35): fresh activation and
  // gradient tensors otherwise pay a page fault per 4 KiB; measured 1.3-2.3x
  // on a 48x48 conv's forward + backward. An explicit setting wins.
  setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", /*overwrite=*/0);
  execv(helper.c_str(), argv);
  spdlog::error("cannot run {}: {} (train, eval and deploy --checkpoint run there; it is built with the tinynas target)",
                helper.string(), std::strerror(errno));
  return tinynas::cli::kExitError;
}

}  // namespace tinynas::cli
#endif

int main(int argc, char** argv) {
  using namespace tinynas::cli;
  // Logs go to stderr so that stdout carries only results (tables, --json).
  auto logger = spdlog::stderr_color_mt("tinynas");
  logger->set_pattern("%^[%l]%$ %v");
  spdlog::set_default_logger(logger);
#ifndef TINYNAS_TORCH_HELPER
  program_argv = argv;
  if (const std::string_view sub = subcommand_of(argc, argv); sub == "train" || sub == "eval" || sub == "search")
    return exec_torch_helper();
#endif

  CLI::App app{"tinynas: find, train and ship neural networks for microcontrollers"};
  app.set_version_flag("--version", "tinynas 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();
  app.set_config("--config", "", "Read the command's options from a YAML file (flags override it)");
  app.config_formatter(std::make_shared<YamlConfig>(&app));
  app.option_defaults()->always_capture_default();
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "More logging");
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors");

  std::map<std::string, Command> commands;
#ifdef TINYNAS_TORCH_HELPER
  for (auto add : {add_train_command, add_eval_command, add_deploy_command, add_search_command}) {
#else
  for (auto add : {add_cost_command, add_space_command, add_deploy_command,
                    add_calibrate_command, add_status_command}) {
#endif
    Command run = add(app);
    commands[app.get_subcommands({}).back()->get_name()] = std::move(run);
  }
#ifndef TINYNAS_TORCH_HELPER
  // Listed in --help; never reached (exec_torch_helper runs them).
  app.add_subcommand("search", "The whole pipeline for an MCU budget: space, supernet, evolution, fine-tuning, "
                               "firmware measured on the board (tinynas search --help)")
      ->allow_extras();
  app.add_subcommand("train", "Train the weight-shared supernet (tinynas train --help)")->allow_extras();
  app.add_subcommand("eval", "Top-1 of a subnet of a trained supernet checkpoint (tinynas eval --help)")
      ->allow_extras();
#endif
  for (CLI::App* sub : app.get_subcommands({})) sub->fallthrough();

  // Every rejection is one line: user values in messages are escaped and
  // shortened (tinynas::one_line), whatever their length or bytes.
  try {
    app.parse(argc, argv);
    check_no_empty_values(app);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e) == 0 ? kExitOk : kExitUsage;  // --help, --version
    const CLI::App* sub = app.get_subcommands().empty() ? nullptr : app.get_subcommands().front();
    spdlog::error("{} (tinynas {}--help)", tinynas::one_line(e.what()), sub ? sub->get_name() + " " : "");
    return kExitUsage;
  } catch (const tinynas::Error& e) {
    spdlog::error("{}", tinynas::one_line(e.what()));
    return kExitError;
  }
  spdlog::set_level(quiet ? spdlog::level::warn : verbose ? spdlog::level::debug : spdlog::level::info);
  try {
    return commands.at(app.get_subcommands().front()->get_name())();
  } catch (const tinynas::Error& e) {
    spdlog::error("{}", tinynas::one_line(e.what()));
    return kExitError;
  } catch (const std::bad_alloc&) {
    spdlog::error("out of memory (an input far larger than expected?)");
    return kExitError;
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", tinynas::one_line(e.what()));
    return kExitError;
  }
}
