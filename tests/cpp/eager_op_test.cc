// run_eager_op (src/onnx/eager_op.h): one op of the op set on values outside
// a graph, the JS ops API's path; results checked by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "onnx/eager_op.h"
#include "onnx/op.h"
#include "onnx_values.h"

namespace kiln {
namespace {

Json attrs(const std::string& text) { return eager_attrs(text); }

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

// RandomUniform / RandomNormal (src/onnx/ops_random.cc): a seed gives the
// same values every time, no seed fresh ones; the moments are the asked ones.
TEST(EagerOp, RandomOpsAreSeededAndHaveTheirMoments) {
  std::vector<OnnxValue> a, b, c;
  const Json seeded = attrs(R"({"shape": {"ints": [100, 100]}, "low": {"f": -2}, "high": {"f": 3}, "seed": {"f": 7}})");
  ASSERT_TRUE(run_eager_op("RandomUniform", seeded, {}, 1, &a).ok());
  ASSERT_TRUE(run_eager_op("RandomUniform", seeded, {}, 1, &b).ok());
  ASSERT_TRUE(run_eager_op("RandomUniform", attrs(R"({"shape": {"ints": [100, 100]}, "low": {"f": -2}, "high": {"f": 3}})"), {}, 1, &c).ok());
  ASSERT_EQ(a[0].numel(), 10000);
  double sum = 0, lo = 1e9, hi = -1e9;
  size_t same_as_unseeded = 0;
  for (int64_t i = 0; i < a[0].numel(); ++i) {
    const float v = a[0].data<float>()[i];
    EXPECT_EQ(v, b[0].data<float>()[i]);
    same_as_unseeded += v == c[0].data<float>()[i];
    sum += v, lo = std::min(lo, double(v)), hi = std::max(hi, double(v));
  }
  EXPECT_LT(same_as_unseeded, 10u);
  EXPECT_NEAR(sum / 1e4, 0.5, 0.05);  // (low + high) / 2, within 3.5 standard errors
  EXPECT_GE(lo, -2.0);
  EXPECT_LT(hi, 3.0);

  ASSERT_TRUE(run_eager_op("RandomNormalLike", attrs(R"({"mean": {"f": 1}, "scale": {"f": 2}, "seed": {"f": 3}})"),
                           {testing::typed_value(DataType::kFloat64, {20000}, std::vector<double>(20000))}, 1, &a).ok());
  EXPECT_EQ(a[0].type(), DataType::kFloat64);
  double m = 0, m2 = 0;
  for (int64_t i = 0; i < 20000; ++i) m += a[0].data<double>()[i];
  m /= 20000;
  for (int64_t i = 0; i < 20000; ++i) m2 += (a[0].data<double>()[i] - m) * (a[0].data<double>()[i] - m);
  EXPECT_NEAR(m, 1.0, 0.05);
  EXPECT_NEAR(std::sqrt(m2 / 20000), 2.0, 0.05);

  EXPECT_NE(run_eager_op("RandomNormal", attrs(R"({"shape": {"ints": [2]}, "dtype": {"i": 6}})"), {}, 1, &a).message().find("draws float16, float32 or float64 values, not int32"), std::string::npos);
  EXPECT_NE(run_eager_op("RandomUniform", attrs(R"({"shape": {"ints": [2]}, "low": {"f": 2}, "high": {"f": 1}})"), {}, 1, &a).message().find("low must be at most high"), std::string::npos);
  EXPECT_NE(run_eager_op("RandomNormal", attrs("{}"), {}, 1, &a).message().find("needs its shape attribute"), std::string::npos);
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

TEST(EagerOp, TruncatedNormalStaysWithinTwoDeviationsAndRepeatsWithASeed) {
  std::vector<OnnxValue> a, b;
  const Json attrs_seeded = attrs(R"({"shape": {"ints": [4000]}, "mean": {"f": 1}, "scale": {"f": 0.5}, "seed": {"f": 7}})");
  ASSERT_TRUE(run_eager_op("TruncatedNormal", attrs_seeded, {}, 1, &a).ok());
  ASSERT_TRUE(run_eager_op("TruncatedNormal", attrs_seeded, {}, 1, &b).ok());
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < 4000; ++i) {
    const float v = a[0].data<float>()[i];
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 2.0f);
    ASSERT_EQ(v, b[0].data<float>()[i]);
    sum += v, sq += double(v) * v;
  }
  const double mean = sum / 4000, sd = std::sqrt(sq / 4000 - mean * mean);
  EXPECT_NEAR(mean, 1.0, 0.03);
  // A normal cut at two deviations keeps about 88% of its spread.
  EXPECT_NEAR(sd, 0.5 * 0.8796, 0.02);
  // An op of the eager set only: not an ONNX operator.
  EXPECT_EQ(find_onnx_op("TruncatedNormal"), nullptr);
}

}  // namespace
}  // namespace kiln
