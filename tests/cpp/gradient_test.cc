// The op set's gradients (src/onnx/gradient.h) against central finite
// differences: for L = sum(r * op(x)) with a random r, each input element's
// analytic dL/dx (the gradient given dy = r) must match
// (L(x + e) - L(x - e)) / 2e. Float64 inputs where the op computes in
// float64 (tight), float32 where its kernels are float32 only (Conv, pools).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "onnx/eager_op.h"
#include "onnx/gradient.h"
#include "onnx_values.h"

namespace kiln {
namespace {

Json attrs(const std::string& text) { return eager_attrs(text); }

OnnxValue random_value(DataType type, OnnxShape shape, std::mt19937* rng, double lo = -1.5, double hi = 1.5) {
  OnnxValue v;
  EXPECT_TRUE(OnnxValue::make(type, std::move(shape), &v).ok());
  std::uniform_real_distribution<double> u(lo, hi);
  for (int64_t i = 0; i < v.numel(); ++i) {
    if (type == DataType::kFloat64) v.data<double>()[i] = u(*rng);
    else v.data<float>()[i] = float(u(*rng));
  }
  return v;
}

double get(const OnnxValue& v, int64_t i) { return v.type() == DataType::kFloat64 ? v.data<double>()[i] : v.data<float>()[i]; }
void set(OnnxValue& v, int64_t i, double x) {
  if (v.type() == DataType::kFloat64) v.data<double>()[i] = x;
  else v.data<float>()[i] = float(x);
}

// A deep copy (values share storage, and the check changes elements in place).
OnnxValue copy_of(const OnnxValue& v) {
  if (!v.defined()) return v;
  OnnxValue c;
  EXPECT_TRUE(OnnxValue::make(v.type(), v.shape(), &c).ok());
  if (v.bytes()) std::memcpy(c.raw(), v.raw(), v.bytes());
  return c;
}

double loss(const std::string& op, const Json& a, const std::vector<OnnxValue>& in, const std::vector<OnnxValue>& r, int64_t opset) {
  std::vector<OnnxValue> out;
  const Status s = run_eager_op(op, a, in, int(r.size()), &out, opset);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return 0;
  double l = 0;
  for (size_t k = 0; k < r.size(); ++k)
    if (out[k].type() == DataType::kFloat32 || out[k].type() == DataType::kFloat64)
      for (int64_t i = 0; i < out[k].numel(); ++i) l += get(r[k], i) * get(out[k], i);
  return l;
}

// Checks the gradient of every float input of op(inputs).
void check(const std::string& op, const std::string& attr_text, std::vector<OnnxValue> inputs, int num_outputs = 1,
           double eps = 1e-6, double tol = 1e-6, int64_t opset = kEagerOpset) {
  SCOPED_TRACE(op + " " + attr_text);
  std::mt19937 rng(7);
  const Json a = attrs(attr_text);
  std::vector<OnnxValue> outputs;
  const Status forward = run_eager_op(op, a, inputs, num_outputs, &outputs, opset);
  ASSERT_TRUE(forward.ok()) << forward.message();
  std::vector<OnnxValue> r;
  for (const OnnxValue& y : outputs) {
    const bool is_float = y.type() == DataType::kFloat32 || y.type() == DataType::kFloat64;
    OnnxValue w = is_float ? random_value(y.type(), y.shape(), &rng) : copy_of(y);
    if (!is_float) std::memset(w.raw(), 0, w.bytes());
    r.push_back(w);
  }
  std::vector<OnnxValue> grads;
  const Status s = run_eager_gradient(op, a, inputs, outputs, r, &grads, opset);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(grads.size(), inputs.size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    const DataType t = inputs[k].type();
    if (t != DataType::kFloat32 && t != DataType::kFloat64) {
      EXPECT_FALSE(grads[k].defined()) << "input " << k << " is not float but got a gradient";
      continue;
    }
    ASSERT_TRUE(grads[k].defined()) << "input " << k;
    ASSERT_EQ(grads[k].shape(), inputs[k].shape());
    for (int64_t i = 0; i < inputs[k].numel(); ++i) {
      std::vector<OnnxValue> in = inputs;
      in[k] = copy_of(inputs[k]);
      const double x0 = get(in[k], i);
      set(in[k], i, x0 + eps);
      const double up = loss(op, a, in, r, opset);
      set(in[k], i, x0 - eps);
      const double down = loss(op, a, in, r, opset);
      const double numeric = (up - down) / (2 * eps), analytic = get(grads[k], i);
      EXPECT_NEAR(analytic, numeric, tol * std::max(1.0, std::fabs(numeric))) << "input " << k << " element " << i;
    }
  }
}

OnnxValue f64(OnnxShape shape, uint32_t seed, double lo = -1.5, double hi = 1.5) {
  std::mt19937 rng(seed);
  return random_value(DataType::kFloat64, std::move(shape), &rng, lo, hi);
}
OnnxValue f32(OnnxShape shape, uint32_t seed, double lo = -1.5, double hi = 1.5) {
  std::mt19937 rng(seed);
  return random_value(DataType::kFloat32, std::move(shape), &rng, lo, hi);
}

TEST(Gradient, Unary) {
  for (const char* op : {"Neg", "Abs", "Exp", "Sin", "Cos", "Tan", "Atan", "Sinh", "Cosh", "Tanh", "Asinh", "Sigmoid", "Softplus",
                         "Erf", "Relu", "Elu", "Selu"})
    check(op, "{}", {f64({2, 3}, 1)});
  check("LeakyRelu", R"({"alpha": {"f": 0.3}})", {f64({2, 3}, 2)});
  check("Elu", R"({"alpha": {"f": 0.7}})", {f64({2, 3}, 2)});
  for (const char* op : {"Log", "Sqrt", "Reciprocal", "Acosh"}) check(op, "{}", {f64({5}, 3, 1.2, 3)});
  for (const char* op : {"Asin", "Acos", "Atanh"}) check(op, "{}", {f64({5}, 4, -0.8, 0.8)});
}

TEST(Gradient, BinaryBroadcasts) {
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min"}) {
    check(op, "{}", {f64({2, 3}, 5), f64({2, 3}, 6)});
    check(op, "{}", {f64({2, 1, 3}, 7), f64({4, 1}, 8)});
    check(op, "{}", {f64({}, 9), f64({3, 2}, 10)});
  }
  check("Pow", "{}", {f64({2, 3}, 11, 0.5, 2), f64({3}, 12, -2, 2)});
  check("Where", "{}", {testing::typed_value<uint8_t>(DataType::kBool, {2, 3}, {1, 0, 1, 1, 0, 0}), f64({2, 3}, 13), f64({3}, 14)});
  check("Clip", "{}", {f64({8}, 15), OnnxValue(), testing::typed_value<double>(DataType::kFloat64, {}, {0.5})});
  check("Clip", "{}", {f64({8}, 15), testing::typed_value<double>(DataType::kFloat64, {}, {-0.5}),
                       testing::typed_value<double>(DataType::kFloat64, {}, {0.5})});
  // Opset 6: the bounds are attributes.
  check("Clip", R"({"min": {"f": -0.5}, "max": {"f": 0.4}})", {f64({8}, 16)}, 1, 1e-6, 1e-6, 6);
}

TEST(Gradient, MatrixProducts) {
  // MatMul and Gemm compute in float32 only.
  const double eps = 1e-2, tol = 1e-3;
  check("MatMul", "{}", {f32({3, 4}, 20), f32({4, 2}, 21)}, 1, eps, tol);
  check("MatMul", "{}", {f32({2, 3, 4}, 22), f32({4, 5}, 23)}, 1, eps, tol);
  check("MatMul", "{}", {f32({2, 1, 3, 4}, 24), f32({3, 4, 2}, 25)}, 1, eps, tol);
  check("MatMul", "{}", {f32({4}, 26), f32({4, 3}, 27)}, 1, eps, tol);
  check("MatMul", "{}", {f32({2, 4}, 28), f32({4}, 29)}, 1, eps, tol);
  check("MatMul", "{}", {f32({4}, 30), f32({4}, 31)}, 1, eps, tol);
  check("Gemm", R"({"alpha": {"f": 0.5}, "beta": {"f": 2}, "transA": {"i": 1}})", {f32({4, 3}, 32), f32({4, 2}, 33), f32({2}, 34)}, 1, eps, tol);
  check("Gemm", R"({"transB": {"i": 1}})", {f32({3, 4}, 35), f32({2, 4}, 36), f32({3, 1}, 37)}, 1, eps, tol);
  check("Gemm", R"({"transA": {"i": 1}, "transB": {"i": 1}})", {f32({4, 3}, 35), f32({2, 4}, 36)}, 1, eps, tol);
  check("Softmax", R"({"axis": {"i": 1}})", {f64({2, 3, 2}, 38)});
  check("LogSoftmax", "{}", {f64({3, 4}, 39)});
  // Before opset 13: the input as a matrix from the axis on.
  check("Softmax", R"({"axis": {"i": 1}})", {f64({2, 3, 2}, 40)}, 1, 1e-6, 1e-6, 11);
  check("LogSoftmax", "{}", {f64({2, 2, 3}, 41)}, 1, 1e-6, 1e-6, 11);
  check("BatchNormalization", R"({"epsilon": {"f": 0.01}})", {f32({2, 3, 2, 2}, 42), f32({3}, 43), f32({3}, 44), f32({3}, 45),
                                                          f32({3}, 46, 0.5, 2)}, 1, 1e-2, 2e-3);
}

TEST(Gradient, Reductions) {
  const OnnxValue axis1 = OnnxValue::vector_i64({1});
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceLogSumExp", "ReduceSumSquare", "ReduceL1", "ReduceL2"}) {
    check(op, R"({"keepdims": {"i": 0}})", {f64({2, 3, 2}, 40), axis1});
    check(op, "{}", {f64({2, 3}, 41)});
  }
}

TEST(Gradient, ShapesSlicesAndJoins) {
  check("Reshape", "{}", {f64({2, 3}, 50), OnnxValue::vector_i64({3, 2})});
  check("Transpose", R"({"perm": {"ints": [2, 0, 1]}})", {f64({2, 3, 4}, 51)});
  check("Transpose", "{}", {f64({2, 3}, 52)});
  check("Expand", "{}", {f64({3, 1}, 53), OnnxValue::vector_i64({2, 3, 4})});
  check("Unsqueeze", "{}", {f64({3}, 54), OnnxValue::vector_i64({0})});
  check("Slice", "{}", {f64({4, 5}, 55), OnnxValue::vector_i64({1, 4}), OnnxValue::vector_i64({3, 0}), OnnxValue::vector_i64({0, 1}),
                        OnnxValue::vector_i64({1, -2})});
  check("Gather", R"({"axis": {"i": 1}})", {f64({2, 4}, 56), OnnxValue::vector_i64({3, 0, 3, -1})});
  check("Tile", "{}", {f64({2, 3}, 57), OnnxValue::vector_i64({2, 2})});
  check("Concat", R"({"axis": {"i": 1}})", {f64({2, 1}, 58), f64({2, 3}, 59)});
  check("Split", R"({"axis": {"i": 0}})", {f64({5, 2}, 60), OnnxValue::vector_i64({2, 3})}, 2);
  check("Pad", R"({"mode": {"s": "constant"}})", {f64({2, 3}, 61), OnnxValue::vector_i64({1, 0, 0, 2})});
  for (const char* attrs : {"{}", R"({"exclusive": {"i": 1}})", R"({"reverse": {"i": 1}})", R"({"exclusive": {"i": 1}, "reverse": {"i": 1}})"})
    check("CumSum", attrs, {f64({3, 4}, 63), OnnxValue::vector_i64({1}).reshaped({})});
  check("Cast", R"({"to": {"i": 1}})", {f64({3}, 62)}, 1, 1e-3, 1e-3);
}

TEST(Gradient, ConvolutionsAndPools) {
  // float32 kernels: wider steps and tolerances.
  const double eps = 1e-2, tol = 2e-3;
  check("Conv", R"({"pads": {"ints": [1, 0, 1, 2]}, "strides": {"ints": [2, 1]}})", {f32({2, 3, 5, 4}, 70), f32({4, 3, 3, 2}, 71), f32({4}, 72)}, 1, eps, tol);
  check("Conv", R"({"group": {"i": 3}, "dilations": {"ints": [2, 1]}})", {f32({1, 3, 6, 5}, 73), f32({6, 1, 2, 2}, 74)}, 1, eps, tol);
  check("Conv", R"({"auto_pad": {"s": "SAME_UPPER"}})", {f32({2, 2, 7}, 75), f32({3, 2, 3}, 76)}, 1, eps, tol);
  check("ConvTranspose", R"({"strides": {"ints": [2, 2]}, "pads": {"ints": [1, 0, 0, 1]}, "output_padding": {"ints": [1, 0]}})",
        {f32({2, 3, 3, 4}, 82), f32({3, 2, 3, 2}, 83), f32({2}, 84)}, 1, eps, tol);
  check("ConvTranspose", R"({"group": {"i": 2}})", {f32({1, 4, 5}, 85), f32({4, 3, 2}, 86)}, 1, eps, tol);
  // 3-D: the window-table loops, with groups, strides, dilations and pads.
  check("Conv", R"({"pads": {"ints": [1, 0, 0, 0, 1, 1]}, "strides": {"ints": [2, 1, 1]}})", {f32({2, 2, 4, 3, 3}, 93), f32({3, 2, 2, 2, 2}, 94), f32({3}, 95)}, 1, eps, tol);
  check("Conv", R"({"group": {"i": 2}, "dilations": {"ints": [1, 2, 1]}})", {f32({1, 4, 3, 5, 3}, 96), f32({2, 2, 2, 2, 2}, 97)}, 1, eps, tol);
  check("MaxPool", R"({"kernel_shape": {"ints": [2, 2, 2]}, "strides": {"ints": [1, 2, 2]}})", {f32({1, 2, 3, 4, 4}, 98)}, 1, 1e-3, tol);
  check("AveragePool", R"({"kernel_shape": {"ints": [2, 3, 2]}, "pads": {"ints": [0, 1, 1, 1, 1, 0]}})", {f32({1, 2, 3, 4, 4}, 99)}, 1, eps, tol);
  // Kiln's channels-last conv2d (the ops API's), every padding form.
  check("Conv2DNhwc", R"({"auto_pad": {"s": "SAME"}, "strides": {"ints": [2, 1]}})", {f32({2, 5, 4, 3}, 87), f32({3, 2, 3, 4}, 88)}, 1, eps, tol);
  check("Conv2DNhwc", R"({"auto_pad": {"s": "VALID"}, "dilations": {"ints": [1, 2]}})", {f32({1, 6, 7, 2}, 89), f32({2, 2, 2, 3}, 90)}, 1, eps, tol);
  check("Conv2DNhwc", R"({"pads": {"ints": [1, 0, 2, 1]}})", {f32({1, 4, 5, 2}, 91), f32({3, 3, 2, 2}, 92)}, 1, eps, tol);
  check("Pool2DNhwc", R"({"kernel_shape": {"ints": [2, 3]}, "strides": {"ints": [2, 1]}, "auto_pad": {"s": "SAME_UPPER"}})", {f32({2, 5, 4, 3}, 93)}, 1, eps, tol);
  check("Pool2DNhwc", R"({"kind": {"i": 1}, "kernel_shape": {"ints": [3, 3]}, "strides": {"ints": [1, 2]}, "pads": {"ints": [1, 1, 1, 1]}})", {f32({1, 5, 6, 2}, 94)}, 1, eps, tol);
  check("Pool2DNhwc", R"({"kind": {"i": 1}, "kernel_shape": {"ints": [2, 2]}, "strides": {"ints": [2, 2]}, "auto_pad": {"s": "VALID"}})", {f32({1, 4, 4, 2}, 95)}, 1, eps, tol);
  check("MaxPool", R"({"kernel_shape": {"ints": [2, 2]}, "strides": {"ints": [2, 2]}, "pads": {"ints": [0, 0, 1, 1]}})", {f32({2, 2, 5, 5}, 77)}, 1, 1e-3, tol);
  check("AveragePool", R"({"kernel_shape": {"ints": [3, 3]}, "pads": {"ints": [1, 1, 1, 1]}})", {f32({1, 2, 4, 5}, 78)}, 1, eps, tol);
  check("AveragePool", R"({"kernel_shape": {"ints": [3, 2]}, "pads": {"ints": [1, 1, 1, 1]}, "count_include_pad": {"i": 1}})",
        {f32({1, 2, 4, 5}, 79)}, 1, eps, tol);
  check("GlobalAveragePool", "{}", {f64({2, 3, 2, 2}, 80)});
  check("GlobalMaxPool", "{}", {f64({2, 3, 2, 2}, 81)});
}

TEST(Gradient, NotDifferentiableAndErrors) {
  std::vector<OnnxValue> out, grads;
  // No flow through comparisons: every input gradient undefined (zero).
  const OnnxValue a = f64({3}, 90), b = f64({3}, 91);
  ASSERT_TRUE(run_eager_op("Less", attrs("{}"), {a, b}, 1, &out).ok());
  ASSERT_TRUE(run_eager_gradient("Less", attrs("{}"), {a, b}, out, out, &grads).ok());
  EXPECT_FALSE(grads[0].defined());
  // An op without a gradient is an error naming it.
  ASSERT_TRUE(run_eager_op("HardSwish", attrs("{}"), {a}, 1, &out).ok());
  const Status s = run_eager_gradient("HardSwish", attrs("{}"), {a}, out, out, &grads);
  EXPECT_NE(s.message().find("HardSwish: has no gradient"), std::string::npos) << s.message();
  // An output gradient of the wrong shape is refused.
  ASSERT_TRUE(run_eager_op("Exp", attrs("{}"), {a}, 1, &out).ok());
  const Status w = run_eager_gradient("Exp", attrs("{}"), {a}, out, {f64({2}, 92)}, &grads);
  EXPECT_NE(w.message().find("Exp gradient: output 0's gradient is"), std::string::npos) << w.message();
  // A float64 convolution: its gradient is not there yet, said so.
  std::vector<OnnxValue> dout;
  ASSERT_TRUE(run_eager_op("Conv", attrs("{}"), {f64({1, 1, 4}, 93), f64({1, 1, 2}, 94)}, 1, &dout).ok());
  const Status c = run_eager_gradient("Conv", attrs("{}"), {f64({1, 1, 4}, 93), f64({1, 1, 2}, 94)}, dout, dout, &grads);
  EXPECT_NE(c.message().find("only float32 convolutions are differentiable"), std::string::npos) << c.message();
}

}  // namespace
}  // namespace kiln
