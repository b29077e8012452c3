// PyTorch-exported models (tests/fixtures/onnx_models, written by
// scripts/make_onnx_test_models.py) through the native API kiln::onnx::Session:
// PyTorch's outputs within 1e-4 relative (max abs diff / max abs), at the
// exported batch size and at batch 1; clear errors for bad inputs and files.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kiln/kiln.h"
#include "onnx_reference.h"

namespace kiln {
namespace {

using testing::read_bytes;
using testing::rel_error;

void expect_matches_torch(const std::string& name) {
  SCOPED_TRACE(name);
  const testing::OnnxReference r = testing::fixture_reference(name);
  onnx::Session s = onnx::Session::load(r.model.data(), r.model.size());
  EXPECT_EQ(s.input_names(), std::vector<std::string>{"input"});
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
