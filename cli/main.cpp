// tinynas: find, train and ship neural networks for microcontrollers.
#include <cstdio>
#include <map>
#include <memory>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/yaml_config.h"
#include "core/error.h"

int main(int argc, char** argv) {
  using namespace tinynas::cli;
  // Logs go to stderr so that stdout carries only results (tables, --json).
  auto logger = spdlog::stderr_color_mt("tinynas");
  logger->set_pattern("%^[%l]%$ %v");
  spdlog::set_default_logger(logger);

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
  for (auto add : {add_cost_command, add_space_command, add_deploy_command,
                    add_calibrate_command}) {
    Command run = add(app);
    commands[app.get_subcommands({}).back()->get_name()] = std::move(run);
  }
  for (CLI::App* sub : app.get_subcommands({})) sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  } catch (const tinynas::Error& e) {
    spdlog::error("{}", e.what());
    return kExitError;
  }
  spdlog::set_level(quiet ? spdlog::level::warn : verbose ? spdlog::level::debug : spdlog::level::info);
  try {
    return commands.at(app.get_subcommands().front()->get_name())();
  } catch (const tinynas::Error& e) {
    spdlog::error("{}", e.what());
    return kExitError;
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return kExitError;
  }
}
