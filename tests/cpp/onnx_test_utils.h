// Building ONNX node attributes in tests that call kernels directly.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "io/onnx_model.h"

namespace kiln::testing {

inline OnnxAttribute int_attr(const char* name, int64_t v) {
  OnnxAttribute a;
  a.name = name;
  a.type = OnnxAttributeType::kInt;
  a.i = v;
  return a;
}

inline OnnxAttribute ints_attr(const char* name, std::vector<int64_t> v) {
  OnnxAttribute a;
  a.name = name;
  a.type = OnnxAttributeType::kInts;
  a.ints = std::move(v);
  return a;
}

inline OnnxAttribute string_attr(const char* name, const char* v) {
  OnnxAttribute a;
  a.name = name;
  a.type = OnnxAttributeType::kString;
  a.s = v;
  return a;
}

}  // namespace kiln::testing
