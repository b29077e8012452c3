// PyTorch-exported models (tests/fixtures/onnx_models, written by
// scripts/make_onnx_test_models.py) through the native API kiln::onnx::Session:
// PyTorch's outputs within 1e-4 relative (max abs diff / max abs), at the
// exported batch size and at batch 1; clear errors for bad inputs and files.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "expect_error.h"
#include "io/onnx_writer.h"
#include "kiln/kiln.h"
#include "onnx_reference.h"
#include "onnx_test_graphs.h"

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
  EXPECT_NE(error_of([&] { s.run({{{2, 3}, std::vector<float>(6)}}); }).find("dimension 1 must be 8"), std::string::npos);
  EXPECT_NE(error_of([&] { s.run({{{2, 8}, std::vector<float>(5)}}); }).find("has 5 values"), std::string::npos);
  EXPECT_NE(error_of([&] { s.run({}); }).find("1 input(s), got 0"), std::string::npos);
  EXPECT_NE(error_of([&] { onnx::Session::load(bytes.data(), bytes.size() / 2); }).find("invalid ONNX model"), std::string::npos);
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// A hand-built graph: int64 ids and a bool mask in; int64, bool and float16 out.
std::vector<uint8_t> typed_model() {
  OnnxModel m;
  m.ir_version = 8;
  m.opset_imports.push_back({"", 17});
  auto info = [](const std::string& name, DataType t, std::vector<OnnxDim> shape) {
    OnnxValueInfo v;
    v.name = name, v.kind = OnnxValueKind::kTensor, v.elem_type = t, v.has_shape = true, v.shape = std::move(shape);
    return v;
  };
  m.graph.inputs = {info("ids", DataType::kInt64, {{-1, "batch"}, {3, ""}}), info("mask", DataType::kBool, {{-1, "batch"}, {3, ""}})};
  m.graph.outputs = {info("twice", DataType::kInt64, {}), info("unmasked", DataType::kBool, {}), info("half", DataType::kFloat16, {})};
  add_node(&m.graph, "add", "Add", {"ids", "ids"}, {"twice"});
  add_node(&m.graph, "not", "Not", {"mask"}, {"unmasked"});
  OnnxAttribute to;
  to.name = "to", to.type = OnnxAttributeType::kInt, to.i = int64_t(DataType::kFloat16);
  std::vector<OnnxAttribute> attrs;
  attrs.push_back(std::move(to));
  add_node(&m.graph, "cast", "Cast", {"ids"}, {"half"}, std::move(attrs));
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(serialize_onnx_model(m, &bytes).ok());
  return bytes;
}

TEST(OnnxModels, TypedTensorsGoInAndComeOutWithTheirDtypes) {
  const std::vector<uint8_t> bytes = typed_model();
  const onnx::Session s = onnx::Session::load(bytes.data(), bytes.size());
  const std::vector<onnx::ValueInfo> ins = s.inputs();
  ASSERT_EQ(ins.size(), 2u);
  EXPECT_EQ(ins[0].dtype, "int64");
  EXPECT_EQ(ins[0].shape, (std::vector<int64_t>{-1, 3}));
  EXPECT_EQ(ins[0].dim_names, (std::vector<std::string>{"batch", ""}));
  EXPECT_EQ(ins[1].dtype, "bool");
  EXPECT_EQ(s.outputs()[2].dtype, "float16");

  const int64_t ids[6] = {1, -2, 3, int64_t(1) << 40, 0, 2049};  // 2^41 is exact in int64, not in float32
  const uint8_t mask[6] = {1, 0, 1, 1, 0, 0};
  const std::vector<onnx::Tensor> out =
      s.run({onnx::Tensor::from_raw("int64", {2, 3}, ids), onnx::Tensor::from_raw("bool", {2, 3}, mask)});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].dtype, "int64");
  EXPECT_EQ(out[0].shape, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(out[0].bytes.size(), 6 * sizeof(int64_t));
  std::vector<int64_t> twice(6);
  std::memcpy(twice.data(), out[0].raw(), out[0].raw_bytes());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(twice[size_t(i)], 2 * ids[i]);
  EXPECT_EQ(out[1].dtype, "bool");
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[1].bytes[size_t(i)], mask[i] ? 0 : 1);
  EXPECT_EQ(out[2].dtype, "float16");
  std::vector<uint16_t> half(6);
  std::memcpy(half.data(), out[2].raw(), 12);
  EXPECT_EQ(half[0], 0x3c00);  // 1.0
  EXPECT_EQ(half[1], 0xc000);  // -2.0
  EXPECT_EQ(half[5], 0x6800);  // 2049 rounds to 2048 in float16 (ties to even)
  EXPECT_TRUE(out[0].data.empty());

  // The plan and a profiled run name every kernel call.
  EXPECT_EQ(s.plan().size(), 3u);
  const std::vector<onnx::Session::CallTiming> calls =
      s.profile({onnx::Tensor::from_raw("int64", {2, 3}, ids), onnx::Tensor::from_raw("bool", {2, 3}, mask)});
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].call, s.plan()[0]);
  EXPECT_EQ(calls[0].input_shapes.substr(0, 6), "[2, 3]");
  const std::string text = onnx::describe(bytes.data(), bytes.size());
  EXPECT_NE(text.find("ids: int64 [batch, 3]"), std::string::npos) << text;
}

TEST(OnnxModels, TypedInputsOfTheWrongDtypeOrSizeAreRefused) {
  const std::vector<uint8_t> bytes = typed_model();
  const onnx::Session s = onnx::Session::load(bytes.data(), bytes.size());
  const int64_t ids[3] = {1, 2, 3};
  const uint8_t mask[3] = {1, 0, 1};
  const onnx::Tensor floats{{1, 3}, {1.f, 2.f, 3.f}};
  EXPECT_NE(error_of([&] { s.run({floats, onnx::Tensor::from_raw("bool", {1, 3}, mask)}); }).find("must be int64, got float32"), std::string::npos);
  onnx::Tensor short_ids = onnx::Tensor::from_raw("int64", {1, 3}, ids);
  short_ids.bytes.resize(20);
  EXPECT_NE(error_of([&] { s.run({short_ids, onnx::Tensor::from_raw("bool", {1, 3}, mask)}); }).find("has 20 bytes (not whole elements)"), std::string::npos);
  EXPECT_NE(error_of([&] { onnx::Tensor::from_raw("complex64", {1}, ids); }).find("unknown or unsupported dtype 'complex64'"), std::string::npos);
  EXPECT_NE(error_of([&] { onnx::Tensor::from_raw("string", {1}, ids); }).find("unsupported dtype 'string'"), std::string::npos);
  EXPECT_NE(error_of([&] { onnx::Session::load_file("/nonexistent/model.onnx"); }).find("cannot open /nonexistent/model.onnx"), std::string::npos);
  // The session still runs.
  EXPECT_EQ(s.run({onnx::Tensor::from_raw("int64", {1, 3}, ids), onnx::Tensor::from_raw("bool", {1, 3}, mask)}).size(), 3u);
}

}  // namespace
}  // namespace kiln
