#include "core/config_dir.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"

namespace tinynas {

namespace fs = std::filesystem;

std::string config_dir() {
  if (const char* env = std::getenv("TINYNAS_CONFIG_DIR"); env != nullptr && *env != '\0')
    return env;
  return TINYNAS_DEFAULT_CONFIG_DIR;
}

std::vector<std::string> list_configs(const std::string& subdir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(config_dir()) / subdir, ec))
    if (e.path().extension() == ".yaml") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string resolve_config(const std::string& name_or_path, const std::string& subdir,
                           const std::string& what) {
  if (name_or_path.find('/') != std::string::npos || name_or_path.ends_with(".yaml") ||
      name_or_path.ends_with(".yml"))
    return name_or_path;
  const fs::path path = fs::path(config_dir()) / subdir / (name_or_path + ".yaml");
  if (fs::exists(path)) return path.string();
  std::string known;
  for (const auto& n : list_configs(subdir)) known += (known.empty() ? "" : ", ") + n;
  if (known.empty()) known = "none in " + (fs::path(config_dir()) / subdir).string();
  throw Error("unknown " + what + " '" + name_or_path + "'; known " + what + "s: " + known +
              " (or give the path of a YAML file)");
}

}  // namespace tinynas
