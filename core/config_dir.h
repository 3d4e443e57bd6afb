// Where the shipped configs live (configs/mcus, configs/spaces, ...) and how a
// command-line name ("f412", "mcunet") or a path resolves to a file.
#pragma once

#include <string>
#include <vector>

namespace tinynas {

// $TINYNAS_CONFIG_DIR, else the configs/ directory of the source tree.
std::string config_dir();
// Stems of <config_dir>/<subdir>/*.yaml, sorted.
std::vector<std::string> list_configs(const std::string& subdir);
// A path (contains '/' or ends in .yaml/.yml) is returned as is; a name must
// be one of list_configs(subdir), else an Error says "unknown <what> 'name';
// known <what>s: a, b, c (or give the path of a YAML file)".
std::string resolve_config(const std::string& name_or_path, const std::string& subdir,
                           const std::string& what);

}  // namespace tinynas
