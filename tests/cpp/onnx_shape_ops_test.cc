// Direct kernel checks of the ONNX shape / indexing ops for semantics the
// libonnx-testdata node cases leave out: float16 / bfloat16 conversion,
// Slice clamping with extreme bounds, Pad axes and wrap, Split num_outputs,
// ScatterND reductions, empty tensors and error messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include "core/float16.h"
#include "io/onnx_attributes.h"
#include "onnx/op.h"
#include "onnx_values.h"

namespace kiln {
namespace {

OnnxValue floats(std::vector<float> v, OnnxShape shape) {
  OnnxValue out;
  EXPECT_TRUE(OnnxValue::make(DataType::kFloat32, shape, &out).ok());
  if (!v.empty()) std::memcpy(out.raw(), v.data(), v.size() * sizeof(float));
  return out;
}

Status run(const char* op, int64_t opset, std::vector<OnnxAttribute> attrs, std::vector<const OnnxValue*> in,
           size_t n_out, std::vector<OnnxValue>* out) {
  OnnxNode node;
  node.op_type = op;
  node.attributes = std::move(attrs);
  for (size_t i = 0; i < n_out; ++i) node.outputs.push_back("y" + std::to_string(i));
  const OnnxOpEntry* e = find_onnx_op(op);
  if (!e) return Status::error(std::string("no kernel for ") + op);
  out->assign(n_out, OnnxValue());
  return e->kernel(OnnxOpContext(node, opset), in, out);
}

std::vector<float> as_floats(const OnnxValue& v) {
  std::vector<float> out;
  for (double d : testing::doubles_of(v)) out.push_back(float(d));
  return out;
}

TEST(OnnxFloat16, HalfRoundTripsAndRoundsToNearestEven) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = onnx_half_to_float(uint16_t(h));
    if (!std::isnan(f)) ASSERT_EQ(onnx_float_to_half(f), h) << h;
    else ASSERT_TRUE(std::isnan(onnx_half_to_float(onnx_float_to_half(f))));
  }
  EXPECT_EQ(onnx_float_to_half(1.0f), 0x3C00);
  EXPECT_EQ(onnx_float_to_half(65504.f), 0x7BFF);
  EXPECT_EQ(onnx_float_to_half(65520.f), 0x7C00);  // the midpoint past max rounds to infinity
  EXPECT_EQ(onnx_float_to_half(-1e-9f), 0x8000);
  EXPECT_EQ(onnx_half_to_float(0x0001), std::ldexp(1.f, -24));
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to the even 1.
  EXPECT_EQ(onnx_float_to_half(1.f + std::ldexp(1.f, -11)), 0x3C00);
  EXPECT_EQ(onnx_float_to_half(1.f + 3 * std::ldexp(1.f, -11)), 0x3C02);
  EXPECT_EQ(onnx_float_to_bfloat16(1.f), 0x3F80);
  EXPECT_EQ(onnx_bfloat16_to_float(0x3F80), 1.f);
  EXPECT_EQ(onnx_float_to_bfloat16(0.49968487f), 0x3F00);  // rounds to 0.5, not truncated
}

TEST(OnnxShapeOps, CastThroughFloat16AndBfloat16) {
  const OnnxValue x = floats({1.f, -2.5f, 65504.f, 1e6f, 0.1f}, {5});
  std::vector<OnnxValue> h, back;
  ASSERT_TRUE(run("Cast", 13, onnx_attrs(onnx_int_attr("to", 10)), {&x}, 1, &h).ok());
  ASSERT_EQ(h[0].type(), DataType::kFloat16);
  EXPECT_EQ(h[0].data<uint16_t>()[0], 0x3C00);
  EXPECT_EQ(h[0].data<uint16_t>()[3], 0x7C00);
  ASSERT_TRUE(run("Cast", 13, onnx_attrs(onnx_int_attr("to", 1)), {&h[0]}, 1, &back).ok());
  EXPECT_EQ(as_floats(back[0])[1], -2.5f);
  EXPECT_TRUE(std::isinf(as_floats(back[0])[3]));
  EXPECT_NEAR(as_floats(back[0])[4], 0.1f, 1e-4f);
  ASSERT_TRUE(run("Cast", 13, onnx_attrs(onnx_int_attr("to", 16)), {&x}, 1, &h).ok());
  ASSERT_TRUE(run("CastLike", 15, {}, {&h[0], &x}, 1, &back).ok());
  EXPECT_EQ(as_floats(back[0])[1], -2.5f);
  const Status st = run("Cast", 13, onnx_attrs(onnx_int_attr("to", 8)), {&x}, 1, &h);
  EXPECT_NE(st.message().find("not supported"), std::string::npos) << st.message();
}

TEST(OnnxShapeOps, SliceClampsExtremeBoundsAndSteps) {
  const OnnxValue x = floats({0, 1, 2, 3, 4, 5}, {6});
  const int64_t big = std::numeric_limits<int64_t>::max(), small = std::numeric_limits<int64_t>::min();
  const OnnxValue starts = OnnxValue::vector_i64({-1}), ends = OnnxValue::vector_i64({small}),
                  axes = OnnxValue::vector_i64({0}), steps = OnnxValue::vector_i64({-2});
  std::vector<OnnxValue> out;
  ASSERT_TRUE(run("Slice", 13, {}, {&x, &starts, &ends, &axes, &steps}, 1, &out).ok());
  EXPECT_EQ(as_floats(out[0]), (std::vector<float>{5, 3, 1}));
  const OnnxValue s2 = OnnxValue::vector_i64({small}), e2 = OnnxValue::vector_i64({big});
  ASSERT_TRUE(run("Slice", 13, {}, {&x, &s2, &e2}, 1, &out).ok());
  EXPECT_EQ(out[0].numel(), 6);
  const OnnxValue s3 = OnnxValue::vector_i64({4}), e3 = OnnxValue::vector_i64({2});
  ASSERT_TRUE(run("Slice", 13, {}, {&x, &s3, &e3}, 1, &out).ok());
  EXPECT_EQ(out[0].shape(), OnnxShape{0});
  const OnnxValue huge_step = OnnxValue::vector_i64({small}), all_start = OnnxValue::vector_i64({big});
  ASSERT_TRUE(run("Slice", 13, {}, {&x, &all_start, &ends, &axes, &huge_step}, 1, &out).ok());
  EXPECT_EQ(as_floats(out[0]), (std::vector<float>{5}));
  ASSERT_TRUE(run("Slice", 13, {}, {&x, &s2, &e2, &axes, &e2}, 1, &out).ok());
  EXPECT_EQ(as_floats(out[0]), (std::vector<float>{0}));
  const OnnxValue zero = OnnxValue::vector_i64({0});
  EXPECT_FALSE(run("Slice", 13, {}, {&x, &s3, &e3, &axes, &zero}, 1, &out).ok());
}

TEST(OnnxShapeOps, PadAxesModesAndNegativePads) {
  const OnnxValue x = floats({1, 2, 3, 4, 5, 6}, {2, 3});
  const OnnxValue pads = OnnxValue::vector_i64({2, 1}), axes = OnnxValue::vector_i64({-1});
  std::vector<OnnxValue> out;
  ASSERT_TRUE(run("Pad", 18, onnx_attrs(onnx_string_attr("mode", "reflect")), {&x, &pads, nullptr, &axes}, 1, &out).ok());
  EXPECT_EQ(out[0].shape(), (OnnxShape{2, 6}));
  EXPECT_EQ(as_floats(out[0]), (std::vector<float>{3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5}));
  ASSERT_TRUE(run("Pad", 19, onnx_attrs(onnx_string_attr("mode", "wrap")), {&x, &pads, nullptr, &axes}, 1, &out).ok());
  EXPECT_EQ(as_floats(out[0]), (std::vector<float>{2, 3, 1, 2, 3, 1, 5, 6, 4, 5, 6, 4}));
  const OnnxValue crop = OnnxValue::vector_i64({0, -1, 0, 1});
  const OnnxValue fill = floats({9}, {});
  ASSERT_TRUE(run("Pad", 13, {}, {&x, &crop, &fill}, 1, &out).ok());
  EXPECT_EQ(out[0].shape(), (OnnxShape{2, 3}));
  EXPECT_EQ(as_floats(out[0]), (std::vector<float>{2, 3, 9, 5, 6, 9}));
}

TEST(OnnxShapeOps, SplitNumOutputsAndEmptyParts) {
  const OnnxValue x = floats({0, 1, 2, 3, 4}, {5});
  std::vector<OnnxValue> out;
  ASSERT_TRUE(run("Split", 18, onnx_attrs(onnx_int_attr("num_outputs", 2)), {&x}, 2, &out).ok());
  EXPECT_EQ(as_floats(out[0]), (std::vector<float>{0, 1, 2}));
  EXPECT_EQ(as_floats(out[1]), (std::vector<float>{3, 4}));
  const OnnxValue sizes = OnnxValue::vector_i64({0, 5});
  ASSERT_TRUE(run("Split", 13, {}, {&x, &sizes}, 2, &out).ok());
  EXPECT_EQ(out[0].shape(), OnnxShape{0});
  const OnnxValue bad = OnnxValue::vector_i64({1, 2});
  const Status st = run("Split", 13, {}, {&x, &bad}, 2, &out);
  EXPECT_NE(st.message().find("sum to 3"), std::string::npos) << st.message();
}

TEST(OnnxShapeOps, ScatterNDReductionsAndGatherErrors) {
  const OnnxValue x = floats({1, 1, 1, 1}, {4});
  OnnxValue idx = OnnxValue::vector_i64({1, 1, -1}).reshaped({3, 1});
  const OnnxValue upd = floats({2, 3, 5}, {3});
  std::vector<OnnxValue> out;
  ASSERT_TRUE(run("ScatterND", 16, onnx_attrs(onnx_string_attr("reduction", "mul")), {&x, &idx, &upd}, 1, &out).ok());
  EXPECT_EQ(as_floats(out[0]), (std::vector<float>{1, 6, 1, 5}));
  ASSERT_TRUE(run("ScatterND", 18, onnx_attrs(onnx_string_attr("reduction", "max")), {&x, &idx, &upd}, 1, &out).ok());
  EXPECT_EQ(as_floats(out[0]), (std::vector<float>{1, 3, 1, 5}));
  const OnnxValue far = OnnxValue::vector_i64({7});
  const Status st = run("Gather", 13, {}, {&x, &far}, 1, &out);
  EXPECT_NE(st.message().find("index 7 is out of range"), std::string::npos) << st.message();
}

TEST(OnnxShapeOps, TopKKeepsTiesInIndexOrder) {
  const OnnxValue x = floats({3, 1, 3, 2}, {4});
  const OnnxValue k = OnnxValue::vector_i64({3});
  std::vector<OnnxValue> out;
  ASSERT_TRUE(run("TopK", 11, {}, {&x, &k}, 2, &out).ok());
  EXPECT_EQ(as_floats(out[0]), (std::vector<float>{3, 3, 2}));
  EXPECT_EQ(testing::doubles_of(out[1]), (std::vector<double>{0, 2, 3}));
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// TopK's float fast path (rows along the last axis: a k-heap) against a
// stable sort done here, with many ties and NaNs (placed after every number),
// for the largest and the smallest.
TEST(OnnxTopK, FloatRowsMatchAStableSortWithTiesAndNaN) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> pick(0, 19);
  const int64_t rows = 3, dim = 257, k = 40;
  OnnxValue x, kv;
  ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {rows, dim}, &x).ok());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int p = pick(rng);
    x.data<float>()[i] = p == 0 ? NAN : float(p % 7) * 0.5f;  // 7 distinct values: ties everywhere
  }
  kv = OnnxValue::vector_i64({k});
  for (int largest : {1, 0}) {
    OnnxNode node;
    node.op_type = "TopK", node.outputs = {"v", "i"};
    node.attributes = onnx_attrs(onnx_int_attr("largest", largest));
    std::vector<OnnxValue> out(2);
    ASSERT_TRUE(find_onnx_op("TopK")->kernel(OnnxOpContext(node, 13), {&x, &kv}, &out).ok());
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<int64_t> order(static_cast<size_t>(dim));
      std::iota(order.begin(), order.end(), 0);
      const float* row = x.data<float>() + r * dim;
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        const bool na = std::isnan(row[a]), nb = std::isnan(row[b]);
        if (na || nb) return !na && nb;
        return largest ? row[a] > row[b] : row[a] < row[b];
      });
      for (int64_t t = 0; t < k; ++t) {
        EXPECT_EQ(out[1].data<int64_t>()[r * k + t], order[size_t(t)]) << "row " << r << " rank " << t << " largest " << largest;
        const float want = row[order[size_t(t)]], got = out[0].data<float>()[r * k + t];
        EXPECT_TRUE(got == want || (std::isnan(got) && std::isnan(want)));
      }
    }
  }
}

}  // namespace
}  // namespace kiln
