// The `tinynas` subcommands. Each add_*_command registers its options on the
// app and returns the function that runs it (after parsing) and returns the
// process exit status.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace tinynas::cli {

using Command = std::function<int()>;

Command add_cost_command(CLI::App& app);
Command add_space_command(CLI::App& app);
Command add_deploy_command(CLI::App& app);
Command add_calibrate_command(CLI::App& app);
Command add_train_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_search_command(CLI::App& app);
Command add_status_command(CLI::App& app);

#ifndef TINYNAS_TORCH_HELPER
// Replaces this process by tinynas-torch with the same arguments (see
// main.cpp); returns an exit status only when that fails.
int exec_torch_helper();
#endif

// Exit statuses shared by the commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;       // bad input or a failed operation
inline constexpr int kExitUsage = 2;       // command-line syntax
inline constexpr int kExitDoesNotFit = 3;  // `cost --require-fit` on a network that does not fit

}  // namespace tinynas::cli
