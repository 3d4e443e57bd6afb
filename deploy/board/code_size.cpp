#include "deploy/board/code_size.h"

#include <filesystem>
#include <vector>

#include "core/io.h"
#include "deploy/board/firmware_build.h"
#include "deploy/codegen.h"

namespace tinynas::deploy {
namespace {

namespace fs = std::filesystem;

constexpr int kInputBytes = 4;

// The entry points generated models call for each kind (depthwise: in place,
// and out of place where the input stays alive).
std::vector<const char*> entry_points(OpKind kind) {
  switch (kind) {
    case OpKind::kConv2d: return {"tn_conv2d_s8"};
    case OpKind::kDepthwiseConv2d: return {"tn_depthwise_inplace_s8", "tn_depthwise_s8"};
    case OpKind::kPointwiseConv2d: return {"tn_pointwise_s8"};
    case OpKind::kAdd: return {"tn_add_s8"};
    case OpKind::kAvgPool: return {"tn_avgpool_s8"};
    case OpKind::kFullyConnected: return {"tn_fully_connected_s8"};
  }
  return {};
}

const char kModelH[] = R"(#ifndef TN_MODEL_H
#define TN_MODEL_H
#include "tn_runtime.h"
#define TN_MODEL_INPUT_BYTES 4
#define TN_MODEL_OUTPUT_BYTES 4
int8_t* tn_model_output_buffer(void);
tn_status tn_model_run(const int8_t* input, int8_t* output);
#endif
)";

// A model that runs no kernel but keeps the given entry points linked.
std::string model_c(const std::vector<OpKind>& kinds) {
  std::string s =
      "#include \"model.h\"\n"
      "static int8_t tn_output[TN_MODEL_OUTPUT_BYTES];\n"
      "int8_t* tn_model_output_buffer(void) { return tn_output; }\n"
      "typedef void (*tn_any_fn)(void);\n"
      "volatile tn_any_fn tn_keep;\n"
      "tn_status tn_model_run(const int8_t* input, int8_t* output) {\n";
  for (OpKind k : kinds)
    for (const char* f : entry_points(k)) s += std::string("  tn_keep = (tn_any_fn)") + f + ";\n";
  s += "  for (int i = 0; i < TN_MODEL_OUTPUT_BYTES; ++i) output[i] = input[i];\n"
       "  return TN_OK;\n"
       "}\n";
  return s;
}

const char kInputsC[] =
    "#include \"inputs.h\"\n"
    "#include \"model.h\"\n"
    "const int8_t tn_inputs[][TN_MODEL_INPUT_BYTES] = {{1, 2, 3, 4}};\n"
    "const int tn_num_inputs = 1;\n";

int64_t link_flash(const McuTarget& mcu, const fs::path& dir, const std::vector<OpKind>& kinds) {
  fs::create_directories(dir);
  write_file_atomic((dir / "model.h").string(), kModelH);
  write_file_atomic((dir / "model.c").string(), model_c(kinds));
  write_file_atomic((dir / "inputs.c").string(), kInputsC);
  FirmwareBuild b;
  b.dir = dir.string();
  b.mcu = mcu;
  b.for_qemu = false;
  b.sources = {(dir / "model.c").string(), (dir / "inputs.c").string()};
  for (const std::string& f : runtime_sources_for(kinds))
    b.sources.push_back((fs::path(runtime_dir()) / "src" / f).string());
  b.include_dirs = {dir.string()};
  b.stack_bytes = mcu.stack_bytes;
  const FirmwareResult fw = build_firmware(b);
  return fw.flash_bytes - kInputBytes;
}

}  // namespace

CodeSizes measure_code_sizes(const McuTarget& mcu, const std::string& work_dir) {
  CodeSizes r;
  r.mcu = mcu.name;
  r.core = mcu.core;
  std::vector<OpKind> kinds;
  int64_t previous = link_flash(mcu, fs::path(work_dir) / "base", kinds);
  r.base_bytes = previous;
  for (OpKind k : kCodeSizeOrder) {
    kinds.push_back(k);
    const int64_t now = link_flash(mcu, fs::path(work_dir) / op_kind_name(k), kinds);
    r.kernel_bytes[static_cast<int>(k)] = now - previous;
    previous = now;
  }
  r.all_kinds_bytes = previous;
  return r;
}

std::string code_bytes_yaml(const CodeSizes& s, int64_t per_layer_bytes) {
  std::string out = "code_bytes:  # measured: " + s.core + ", -O2, linked with --gc-sections\n";
  for (int k = 0; k < kNumOpKinds; ++k)
    out += std::string("  ") + op_kind_name(static_cast<OpKind>(k)) + ": " +
           std::to_string(s.kernel_bytes[k]) + "\n";
  out += "  per_layer: " + std::to_string(per_layer_bytes) + "\n";
  return out;
}

}  // namespace tinynas::deploy
