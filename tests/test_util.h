// Helpers shared by the tests: small hand-checked networks, paths, errors.
#pragma once

#include <functional>
#include <string>

#include "core/arch.h"
#include "core/error.h"

namespace tinynas::test_nets {

// 32x32x3 -> conv3x3 s2 (8) -> [b0: e1 k3 s1 8->8 residual]
//         -> [b1: e3 k5 s2 8->16 (mid 24)] [b2: e4 k3 s1 16->16 residual (mid 64)]
//         -> avgpool -> fc 10
inline ArchSpec tiny_arch() {
  ArchSpec a;
  a.resolution = 32;
  a.width_mult = 0.25;
  a.first_conv = {8, 3, 2};
  a.stages.push_back({{BlockSpec{3, 1, 8, 8, 1, true}}});
  a.stages.push_back({{BlockSpec{5, 3, 24, 16, 2, false}, BlockSpec{3, 4, 64, 16, 1, true}}});
  a.num_classes = 10;
  return a;
}

inline std::string zoo_path(const std::string& net) {
  return std::string(TINYNAS_SOURCE_DIR) + "/configs/zoo/" + net + ".json";
}

// The message of the tinynas::Error that f throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace tinynas::test_nets
