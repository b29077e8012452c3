// PyTorch reference cases for tests that run ONNX models: the small exported
// models (tests/fixtures/onnx_models/NAME.{onnx,json}, by
// scripts/make_onnx_test_models.py), torchvision's (build/torchvision/
// NAME.{onnx,in.f32,out.f32}, by scripts/make_torchvision_models.py), and
// the error measure they are judged by.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/json.h"
#include "kiln/kiln.h"

namespace kiln::testing {

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

struct OnnxReference {
  std::vector<uint8_t> model;  // empty when the files are missing
  onnx::Tensor input, output;
};

inline OnnxReference fixture_reference(const std::string& name) {
  const std::string base = std::string(KILN_FIXTURE_DIR) + "/onnx_models/" + name;
  OnnxReference r;
  r.model = read_bytes(base + ".onnx");
  const std::vector<uint8_t> text = read_bytes(base + ".json");
  Json j;
  if (!parse_json(std::string(text.begin(), text.end()), &j).ok()) return OnnxReference();
  auto fill = [&](const char* values, const char* shape, onnx::Tensor* t) {
    for (const Json& v : j.find(values)->items()) t->data.push_back(float(v.as_number()));
    for (const Json& d : j.find(shape)->items()) t->shape.push_back(int64_t(d.as_number()));
  };
  fill("input", "input_shape", &r.input);
  fill("output", "output_shape", &r.output);
  return r;
}

// One image of `size` x `size` in, 1000 class scores out.
inline OnnxReference torchvision_reference(const std::string& name, int64_t size) {
  const std::string base = std::string(KILN_TORCHVISION_DIR) + "/" + name;
  OnnxReference r;
  r.model = read_bytes(base + ".onnx");
  const std::vector<uint8_t> in = read_bytes(base + ".in.f32"), out = read_bytes(base + ".out.f32");
  r.input = {{1, 3, size, size}, std::vector<float>(in.size() / 4)};
  r.output = {{1, 1000}, std::vector<float>(out.size() / 4)};
  std::copy(in.begin(), in.end(), reinterpret_cast<uint8_t*>(r.input.data.data()));
  std::copy(out.begin(), out.end(), reinterpret_cast<uint8_t*>(r.output.data.data()));
  return r;
}

// max |got - want| / max |want|; infinite when the sizes differ or got has a NaN.
inline double rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return INFINITY;
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(got[i])) return INFINITY;
    diff = std::max(diff, double(std::fabs(got[i] - want[i])));
    scale = std::max(scale, double(std::fabs(want[i])));
  }
  return diff / scale;
}

}  // namespace kiln::testing
