#include "supernet/checkpoint.h"

#include <torch/serialize.h>
#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/io.h"

namespace tinynas::supernet {
namespace {

using nlohmann::json;

// The first line of a LibTorch message (they carry C++ backtraces).
std::string first_line(const std::string& s) {
  const size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

json position_to_json(const TrainPosition& p) {
  return {{"step", p.step},
          {"epoch", p.epoch},
          {"batch", p.batch},
          {"channels_sorted", p.channels_sorted},
          {"finished", p.finished},
          {"epoch_loss_sum", p.epoch_loss_sum},
          {"epoch_images", p.epoch_images},
          {"epoch_seconds", p.epoch_seconds}};
}

TrainPosition position_from_json(const json& j) {
  TrainPosition p;
  p.step = j.at("step").get<int64_t>();
  p.epoch = j.at("epoch").get<int64_t>();
  p.batch = j.at("batch").get<int64_t>();
  p.channels_sorted = j.at("channels_sorted").get<bool>();
  p.finished = j.at("finished").get<bool>();
  p.epoch_loss_sum = j.at("epoch_loss_sum").get<double>();
  p.epoch_images = j.at("epoch_images").get<int64_t>();
  p.epoch_seconds = j.at("epoch_seconds").get<double>();
  if (p.step < 0 || p.epoch < 0 || p.batch < 0 || p.epoch_images < 0)
    throw Error("negative step, epoch, batch or image count");
  return p;
}

// Tensors are stored under t0, t1, ... (archive keys are attribute names);
// their names are in the meta, in order.
void write_tensors(torch::serialize::OutputArchive& archive, const NamedTensors& tensors, json& names) {
  names = json::array();
  for (size_t i = 0; i < tensors.size(); ++i) {
    names.push_back(tensors[i].first);
    archive.write("t" + std::to_string(i), tensors[i].second.detach().to(torch::kCPU).contiguous());
  }
}

NamedTensors read_tensors(torch::serialize::InputArchive& archive, const json& names) {
  NamedTensors out;
  for (size_t i = 0; i < names.size(); ++i) {
    at::Tensor t;
    archive.read("t" + std::to_string(i), t);
    out.emplace_back(names[i].get<std::string>(), t);
  }
  return out;
}

}  // namespace

json space_to_json(const SearchSpace& s) {
  json stages = json::array();
  for (const auto& c : s.stages)
    stages.push_back({{"channels", c.base_channels},
                      {"stride", c.stride},
                      {"depths", c.depths},
                      {"kernels", c.kernels},
                      {"expands", c.expands}});
  return {{"name", s.name},
          {"widths", s.widths},
          {"resolutions", s.resolutions},
          {"channel_divisor", s.channel_divisor},
          {"in_channels", s.in_channels},
          {"activation", s.activation == Activation::kRelu ? "relu" : "relu6"},
          {"first_conv",
           {{"channels", s.first_conv_channels}, {"kernel", s.first_conv_kernel}, {"stride", s.first_conv_stride}}},
          {"first_block", {{"channels", s.first_block_channels}, {"kernel", s.first_block_kernel}}},
          {"stages", stages},
          {"feature_mix_channels", s.feature_mix_channels},
          {"num_classes", s.num_classes}};
}

SearchSpace space_from_json(const json& j, const std::string& where) {
  SearchSpace s;
  try {
    s.name = j.at("name").get<std::string>();
    s.source = where;
    s.widths = j.at("widths").get<std::vector<double>>();
    s.resolutions = j.at("resolutions").get<std::vector<int32_t>>();
    s.channel_divisor = j.at("channel_divisor").get<int32_t>();
    s.in_channels = j.at("in_channels").get<int32_t>();
    const std::string act = j.at("activation").get<std::string>();
    if (act == "relu") s.activation = Activation::kRelu;
    else if (act == "relu6") s.activation = Activation::kRelu6;
    else throw Error("activation '" + act + "' is not relu or relu6");
    s.first_conv_channels = j.at("first_conv").at("channels").get<int32_t>();
    s.first_conv_kernel = j.at("first_conv").at("kernel").get<int32_t>();
    s.first_conv_stride = j.at("first_conv").at("stride").get<int32_t>();
    s.first_block_channels = j.at("first_block").at("channels").get<int32_t>();
    s.first_block_kernel = j.at("first_block").at("kernel").get<int32_t>();
    for (const auto& st : j.at("stages")) {
      StageChoices c;
      c.base_channels = st.at("channels").get<int32_t>();
      c.stride = st.at("stride").get<int32_t>();
      c.depths = st.at("depths").get<std::vector<int32_t>>();
      c.kernels = st.at("kernels").get<std::vector<int32_t>>();
      c.expands = st.at("expands").get<std::vector<int32_t>>();
      s.stages.push_back(std::move(c));
    }
    s.feature_mix_channels = j.at("feature_mix_channels").get<int32_t>();
    s.num_classes = j.at("num_classes").get<int32_t>();
    validate(s);
  } catch (const json::exception& e) {
    throw Error(where + ": search space: " + e.what());
  } catch (const Error& e) {
    throw Error(where + ": search space: " + e.what());
  }
  return s;
}

void save_checkpoint(const Checkpoint& c, const std::string& path) {
  std::string bytes;
  try {
    json meta = {{"config", c.config},
                 {"space", space_to_json(c.space)},
                 {"class_names", c.class_names},
                 {"dataset", c.dataset},
                 {"position", position_to_json(c.position)},
                 {"history", c.history}};
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(std::string(kCheckpointFormat)));
    archive.write("version", c10::IValue(c.version));
    torch::serialize::OutputArchive model, momentum;
    write_tensors(model, c.model, meta["model_names"]);
    write_tensors(momentum, c.momentum, meta["momentum_names"]);
    archive.write("model", model);
    archive.write("momentum", momentum);
    if (c.torch_rng.defined()) archive.write("torch_rng", c.torch_rng);
    archive.write("meta", c10::IValue(meta.dump()));
    std::ostringstream out;
    archive.save_to(out);
    bytes = out.str();
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot write checkpoint: " + first_line(e.what_without_backtrace()));
  }
  write_file_atomic(path, bytes);
}

Checkpoint load_checkpoint(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(path + ": cannot read checkpoint: " +
                (std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
  auto bad = [&](const std::string& why) -> Error {
    return Error(path + ": not a tinynas supernet checkpoint (" + why + ")");
  };
  Checkpoint c;
  json meta;
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw bad("unreadable: " + first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw bad(std::string("unreadable: ") + e.what());
  }
  try {
    c10::IValue format, version, meta_text;
    if (!archive.try_read("format", format) || !format.isString() ||
        format.toStringRef() != kCheckpointFormat)
      throw bad("no '" + std::string(kCheckpointFormat) + "' format tag");
    if (!archive.try_read("version", version) || !version.isInt()) throw bad("no format version");
    c.version = version.toInt();
    if (c.version < 1 || c.version > kCheckpointVersion)
      throw Error(path + ": checkpoint format version " + std::to_string(c.version) +
                  " is not supported by this tinynas (it reads versions 1.." +
                  std::to_string(kCheckpointVersion) + ")");
    if (!archive.try_read("meta", meta_text) || !meta_text.isString()) throw bad("no meta data");
    meta = json::parse(meta_text.toStringRef());
    c.config = meta.at("config");
    c.space = space_from_json(meta.at("space"), path);
    c.class_names = meta.at("class_names").get<std::vector<std::string>>();
    c.dataset = meta.at("dataset").get<std::string>();
    c.position = position_from_json(meta.at("position"));
    c.history = meta.at("history");
    torch::serialize::InputArchive model, momentum;
    archive.read("model", model);
    archive.read("momentum", momentum);
    c.model = read_tensors(model, meta.at("model_names"));
    c.momentum = read_tensors(momentum, meta.at("momentum_names"));
    at::Tensor rng;
    if (archive.try_read("torch_rng", rng)) c.torch_rng = rng;
  } catch (const c10::Error& e) {
    throw bad(first_line(e.what_without_backtrace()));
  } catch (const json::exception& e) {
    throw bad(std::string("meta data: ") + e.what());
  }
  if (static_cast<int32_t>(c.class_names.size()) != c.space.num_classes)
    throw bad(std::to_string(c.class_names.size()) + " class names for " +
              std::to_string(c.space.num_classes) + " classes");
  return c;
}

}  // namespace tinynas::supernet
