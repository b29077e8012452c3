// PyTorch-exported models (tests/fixtures/onnx_models, written by
// scripts/make_onnx_test_models.py) through the native API kiln::onnx::Session:
// PyTorch's outputs within 1e-4 relative (max abs diff / max abs), at the
// exported batch size and at batch 1; clear errors for bad inputs and files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "io/json.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

struct Reference {
  onnx::Tensor input, output;
};

Reference reference(const std::string& name) {
  const std::vector<uint8_t> text = read_bytes(std::string(KILN_FIXTURE_DIR) + "/onnx_models/" + name + ".json");
  Json j;
  EXPECT_TRUE(parse_json(std::string(text.begin(), text.end()), &j).ok());
  Reference r;
  auto fill = [&](const char* values, const char* shape, onnx::Tensor* t) {
    for (const Json& v : j.find(values)->items()) t->data.push_back(float(v.as_number()));
    for (const Json& d : j.find(shape)->items()) t->shape.push_back(int64_t(d.as_number()));
  };
  fill("input", "input_shape", &r.input);
  fill("output", "output_shape", &r.output);
  return r;
}

double rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, double(std::fabs(got[i] - want[i])));
    scale = std::max(scale, double(std::fabs(want[i])));
  }
  return diff / scale;
}

void expect_matches_torch(const std::string& name) {
  SCOPED_TRACE(name);
  const std::vector<uint8_t> bytes = read_bytes(std::string(KILN_FIXTURE_DIR) + "/onnx_models/" + name + ".onnx");
  onnx::Session s = onnx::Session::load(bytes.data(), bytes.size());
  EXPECT_EQ(s.input_names(), std::vector<std::string>{"input"});
  const Reference r = reference(name);
  const std::vector<onnx::Tensor> out = s.run({r.input});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape, r.output.shape);
  ASSERT_EQ(out[0].data.size(), r.output.data.size());
  EXPECT_LT(rel_error(out[0].data, r.output.data), 1e-4);
  // Batch 1: the first sample alone.
  onnx::Tensor one = r.input;
  one.shape[0] = 1;
  one.data.resize(r.input.data.size() / size_t(r.input.shape[0]));
  const std::vector<onnx::Tensor> single = s.run({one});
  const size_t per = r.output.data.size() / size_t(r.output.shape[0]);
  EXPECT_LT(rel_error(single[0].data, std::vector<float>(r.output.data.begin(), r.output.data.begin() + long(per))), 1e-4);
}

TEST(OnnxModels, PytorchMlpMatches) { expect_matches_torch("mlp"); }
TEST(OnnxModels, PytorchCnnMatches) { expect_matches_torch("cnn"); }

TEST(OnnxModels, BadInputsAndFilesThrowClearErrors) {
  const std::vector<uint8_t> bytes = read_bytes(std::string(KILN_FIXTURE_DIR) + "/onnx_models/mlp.onnx");
  onnx::Session s = onnx::Session::load(bytes.data(), bytes.size());
  auto message = [](auto fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { s.run({{{2, 3}, std::vector<float>(6)}}); }).find("dimension 1 must be 8"), std::string::npos);
  EXPECT_NE(message([&] { s.run({{{2, 8}, std::vector<float>(5)}}); }).find("has 5 values"), std::string::npos);
  EXPECT_NE(message([&] { s.run({}); }).find("1 input(s), got 0"), std::string::npos);
  EXPECT_NE(message([&] { onnx::Session::load(bytes.data(), bytes.size() / 2); }).find("invalid ONNX model"), std::string::npos);
}

}  // namespace
}  // namespace kiln
