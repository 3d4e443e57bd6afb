#include "cli/yaml_config.h"

#include <sstream>

#include "core/doc.h"
#include "core/error.h"

namespace tinynas::cli {

std::string YamlConfig::to_config(const CLI::App* app, bool default_also, bool, std::string) const {
  std::ostringstream out;
  for (const CLI::Option* opt : app->get_options()) {
    if (opt->get_lnames().empty() || opt->get_lnames()[0] == "config" ||
        opt->get_lnames()[0] == "help")
      continue;
    const auto results = opt->results();
    std::string value = results.empty() ? (default_also ? opt->get_default_str() : "") : results.back();
    if (value.empty()) continue;
    out << opt->get_lnames()[0] << ": " << value << "\n";
  }
  return out.str();
}

std::vector<CLI::ConfigItem> YamlConfig::from_config(std::istream& input) const {
  const std::string text{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  std::string path = "config";
  if (const CLI::Option* c = root_->get_config_ptr(); c != nullptr && !c->results().empty())
    path = c->results().back();
  if (path.ends_with(".json") == false && path.ends_with(".yml") == false &&
      path.ends_with(".yaml") == false)
    path += ".yaml";  // parse as YAML whatever the name; only used for messages
  const Document doc = parse_document(text, path);
  std::vector<CLI::ConfigItem> items;
  if (doc.root.is_null()) return items;  // an empty file sets nothing
  if (!doc.root.is_object()) doc.fail("", "a config file must be a mapping of option: value");

  const auto subs = root_->get_subcommands();
  const CLI::App* target = subs.empty() ? root_ : subs.front();
  // One option: `key: value`, or one entry of a mapping `group: {key: value}`
  // (named group-key: `slurm: {partition: gpu}` is --slurm-partition).
  auto add = [&](const std::string& raw_key, const nlohmann::json& value, const std::string& pointer) {
    std::string key = raw_key;
    for (char& ch : key) if (ch == '_') ch = '-';
    const CLI::Option* opt = target->get_option_no_throw("--" + key);
    if (opt == nullptr || key == "config" || key == "help") {
      std::string known;
      for (const CLI::Option* o : target->get_options()) {
        if (o->get_lnames().empty()) continue;
        const std::string& n = o->get_lnames()[0];
        if (n == "help" || n == "config") continue;
        known += (known.empty() ? "" : ", ") + n;
      }
      doc.fail(pointer, "not an option of 'tinynas " + target->get_name() + "' (options: " + known + ")");
    }
    CLI::ConfigItem item;
    if (target != root_) item.parents = {target->get_name()};
    item.name = key;
    auto scalar = [&](const nlohmann::json& v, const std::string& p) -> std::string {
      if (v.is_string()) return v.get<std::string>();
      if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
      if (v.is_number()) return v.dump();
      doc.fail(p, "expected a value (string, number or true/false)");
    };
    if (value.is_array()) {
      for (size_t i = 0; i < value.size(); ++i) item.inputs.push_back(scalar(value[i], child(pointer, i)));
    } else if (value.is_null()) {
      return;
    } else {
      item.inputs.push_back(scalar(value, pointer));
    }
    items.push_back(std::move(item));
  };
  for (const auto& [raw_key, value] : doc.root.items()) {
    const std::string pointer = child("", raw_key);
    if (!value.is_object()) {
      add(raw_key, value, pointer);
      continue;
    }
    for (const auto& [sub_key, sub_value] : value.items()) {
      if (sub_value.is_object()) doc.fail(child(pointer, sub_key), "expected a value (string, number or true/false)");
      add(raw_key + "-" + sub_key, sub_value, child(pointer, sub_key));
    }
  }
  return items;
}

}  // namespace tinynas::cli
