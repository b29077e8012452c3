// run_eager_op (src/onnx/eager_op.h): one op of the op set on values outside
// a graph, the JS ops API's path; results checked by hand.
#include <gtest/gtest.h>

#include "onnx/eager_op.h"
#include "onnx_values.h"

namespace kiln {
namespace {

Json attrs(const std::string& text) {
  Json j;
  EXPECT_TRUE(parse_json(text, &j).ok()) << text;
  return j;
}

TEST(EagerOp, BroadcastAddOfInt32KeepsTheType) {
  std::vector<OnnxValue> out;
  ASSERT_TRUE(run_eager_op("Add", attrs("{}"), {int32_value({2, 2}, {1, 2, 3, 4}), int32_value({2}, {10, 20})}, 1, &out).ok());
  EXPECT_EQ(out[0].type(), DataType::kInt32);
  EXPECT_EQ(out[0].shape(), (OnnxShape{2, 2}));
  EXPECT_EQ(std::vector<int32_t>(out[0].data<int32_t>(), out[0].data<int32_t>() + 4), (std::vector<int32_t>{11, 22, 13, 24}));
}

TEST(EagerOp, AttributesAndOptionalInputs) {
  std::vector<OnnxValue> out;
  // ReduceSum over axis 1 (axes as an input since opset 13), dims kept.
  ASSERT_TRUE(run_eager_op("ReduceSum", attrs(R"({"keepdims": {"i": 1}})"),
                           {float_value({2, 3}, {1, 2, 3, 4, 5, 6}), OnnxValue::vector_i64({1})}, 1, &out).ok());
  EXPECT_EQ(out[0].shape(), (OnnxShape{2, 1}));
  EXPECT_FLOAT_EQ(out[0].data<float>()[1], 15.f);
  // Transpose with perm; LeakyRelu with a float attribute.
  ASSERT_TRUE(run_eager_op("Transpose", attrs(R"({"perm": {"ints": [1, 0]}})"), {float_value({2, 3}, {1, 2, 3, 4, 5, 6})}, 1, &out).ok());
  EXPECT_EQ(out[0].shape(), (OnnxShape{3, 2}));
  EXPECT_FLOAT_EQ(out[0].data<float>()[1], 4.f);
  ASSERT_TRUE(run_eager_op("LeakyRelu", attrs(R"({"alpha": {"f": 0.5}})"), {float_value({2}, {-2, 3})}, 1, &out).ok());
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], -1.f);
  // Clip with its min omitted: an undefined value.
  ASSERT_TRUE(run_eager_op("Clip", attrs("{}"), {float_value({3}, {-5, 0, 5}), OnnxValue(), OnnxValue::scalar_f32(1)}, 1, &out).ok());
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], -5.f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[2], 1.f);
  // TopK: two outputs.
  ASSERT_TRUE(run_eager_op("TopK", attrs("{}"), {float_value({4}, {3, 9, 1, 7}), OnnxValue::vector_i64({2})}, 2, &out).ok());
  EXPECT_FLOAT_EQ(out[0].data<float>()[1], 7.f);
  EXPECT_EQ(out[1].type(), DataType::kInt64);
  EXPECT_EQ(out[1].data<int64_t>()[0], 1);
}

TEST(EagerOp, ErrorsNameTheOpAndWhatIsWrong) {
  std::vector<OnnxValue> out;
  auto message = [&](const std::string& op, const std::string& a, std::vector<OnnxValue> in, int n = 1) {
    return run_eager_op(op, attrs(a), in, n, &out).message();
  };
  EXPECT_NE(message("Frobnicate", "{}", {}).find("unknown op 'Frobnicate'"), std::string::npos);
  EXPECT_NE(message("Loop", "{}", {}).find("Loop: takes sequences or subgraphs"), std::string::npos);
  EXPECT_NE(message("Transpose", R"({"perm": 3})", {float_value({1}, {1})}).find("Transpose: attribute 'perm' must be one typed value"), std::string::npos);
  EXPECT_NE(message("Transpose", R"({"perm": {"x": [1]}})", {float_value({1}, {1})}).find("unknown type"), std::string::npos);
  EXPECT_NE(message("Add", "{}", {float_value({2}, {1, 2}), float_value({3}, {1, 2, 3})}).find("Add"), std::string::npos);
  EXPECT_NE(message("Add", "{}", {float_value({1}, {1}), float_value({1}, {1})}, 0).find("output count 0"), std::string::npos);
}

}  // namespace
}  // namespace kiln
