// Builders for ONNX node attributes, shared by the exporter, the load-time
// graph optimizer and the tests.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "io/onnx_model.h"

namespace kiln {

inline OnnxAttribute onnx_attr(const std::string& name, OnnxAttributeType type) {
  OnnxAttribute a;
  a.name = name;
  a.type = type;
  return a;
}
inline OnnxAttribute onnx_int_attr(const std::string& name, int64_t v) {
  OnnxAttribute a = onnx_attr(name, OnnxAttributeType::kInt);
  a.i = v;
  return a;
}
inline OnnxAttribute onnx_float_attr(const std::string& name, float v) {
  OnnxAttribute a = onnx_attr(name, OnnxAttributeType::kFloat);
  a.f = v;
  return a;
}
inline OnnxAttribute onnx_string_attr(const std::string& name, const std::string& v) {
  OnnxAttribute a = onnx_attr(name, OnnxAttributeType::kString);
  a.s = v;
  return a;
}
inline OnnxAttribute onnx_ints_attr(const std::string& name, std::vector<int64_t> v) {
  OnnxAttribute a = onnx_attr(name, OnnxAttributeType::kInts);
  a.ints = std::move(v);
  return a;
}
inline OnnxAttribute onnx_strings_attr(const std::string& name, std::vector<std::string> v) {
  OnnxAttribute a = onnx_attr(name, OnnxAttributeType::kStrings);
  a.strings = std::move(v);
  return a;
}

// A list of attributes (OnnxAttribute moves but does not copy, so no braced list).
template <typename... A>
std::vector<OnnxAttribute> onnx_attrs(A&&... a) {
  std::vector<OnnxAttribute> v;
  (v.push_back(std::forward<A>(a)), ...);
  return v;
}

}  // namespace kiln
