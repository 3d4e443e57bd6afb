// YAML files for CLI options: `tinynas <command> --config run.yaml` reads the
// command's options from a flat YAML mapping (keys are the long option names,
// `latency_ms` or `latency-ms`), and flags on the command line override them.
// A mapping groups options by prefix: `slurm: {partition: gpu, time: "1:00:00"}`
// sets --slurm-partition and --slurm-time. Unknown keys and deeper nesting are
// rejected with file:line: key.
#pragma once

#include <CLI/CLI.hpp>

namespace tinynas::cli {

class YamlConfig : public CLI::Config {
 public:
  explicit YamlConfig(const CLI::App* root) : root_(root) {}
  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override;
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  const CLI::App* root_;
};

}  // namespace tinynas::cli
