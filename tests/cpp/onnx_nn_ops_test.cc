// Direct kernel checks of the ONNX neural-network ops for what the
// libonnx-testdata node cases leave out: the float32 Conv and ConvTranspose
// fast paths (on src/cpu/conv2d.h) against the float64 reference loops for
// groups, dilations, strides and asymmetric pads; legacy (opset < 13) Softmax
// coercion; Dropout's numpy-compatible mask stream; bidirectional RNN with
// sequence_lens; and errors instead of crashes on bad shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "io/onnx_attributes.h"
#include "onnx/op.h"
#include "onnx_values.h"

namespace kiln {
namespace {

OnnxValue random_values(DataType type, OnnxShape shape, std::mt19937* rng) {
  OnnxValue out;
  EXPECT_TRUE(OnnxValue::make(type, shape, &out).ok());
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t i = 0; i < out.numel(); ++i) {
    if (type == DataType::kFloat32) out.data<float>()[i] = u(*rng);
    else out.data<double>()[i] = double(u(*rng));
  }
  return out;
}

OnnxValue to_double(const OnnxValue& v) {
  OnnxValue out;
  EXPECT_TRUE(OnnxValue::make(DataType::kFloat64, v.shape(), &out).ok());
  const std::vector<double> d = testing::doubles_of(v);
  std::memcpy(out.raw(), d.data(), d.size() * sizeof(double));
  return out;
}

Status run(const char* op, int64_t opset, std::vector<OnnxAttribute> attrs, std::vector<const OnnxValue*> in, size_t n_out,
           std::vector<OnnxValue>* out) {
  OnnxNode node;
  node.op_type = op;
  node.attributes = std::move(attrs);
  for (size_t i = 0; i < n_out; ++i) node.outputs.push_back("y" + std::to_string(i));
  const OnnxOpEntry* e = find_onnx_op(op);
  if (!e) return Status::error(std::string("no kernel for ") + op);
  out->assign(n_out, OnnxValue());
  return e->kernel(OnnxOpContext(node, opset), in, out);
}

struct ConvCase {
  OnnxShape x, w;
  int64_t group;
  std::vector<int64_t> strides, dilations, pads;
  const char* auto_pad;
};

TEST(OnnxNnOps, ConvFastPathMatchesReferenceLoop) {
  const ConvCase cases[] = {
      {{2, 4, 7, 6}, {6, 2, 3, 3}, 2, {1, 1}, {1, 1}, {1, 0, 2, 1}, "NOTSET"},  // groups, asymmetric pads
      {{1, 3, 9, 8}, {5, 3, 3, 2}, 1, {2, 3}, {2, 1}, {0, 1, 1, 0}, "NOTSET"},  // strides, dilations
      {{1, 4, 5, 5}, {4, 1, 3, 3}, 4, {1, 1}, {1, 1}, {}, "SAME_LOWER"},        // depthwise
      {{1, 8, 6, 6}, {8, 8, 3, 3}, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}, "NOTSET"},  // 3x3 stride 1 (Winograd-eligible)
      {{2, 3, 10}, {4, 3, 3}, 1, {2}, {2}, {}, "SAME_UPPER"},                   // 1-D
      {{1, 2, 5, 5}, {3, 2, 2, 2}, 1, {2, 2}, {1, 1}, {}, "VALID"},
  };
  std::mt19937 rng(7);
  for (const ConvCase& c : cases) {
    const OnnxValue x = random_values(DataType::kFloat32, c.x, &rng), w = random_values(DataType::kFloat32, c.w, &rng);
    const OnnxValue b = random_values(DataType::kFloat32, {c.w[0]}, &rng);
    const OnnxValue xd = to_double(x), wd = to_double(w), bd = to_double(b);
    auto attrs = [&]() {
      std::vector<OnnxAttribute> a;
      a.push_back(onnx_int_attr("group", c.group));
      a.push_back(onnx_ints_attr("strides", c.strides));
      a.push_back(onnx_ints_attr("dilations", c.dilations));
      if (!c.pads.empty()) a.push_back(onnx_ints_attr("pads", c.pads));
      a.push_back(onnx_string_attr("auto_pad", c.auto_pad));
      return a;
    };
    std::vector<OnnxValue> fast, ref;
    ASSERT_TRUE(run("Conv", 17, attrs(), {&x, &w, &b}, 1, &fast).ok());
    ASSERT_TRUE(run("Conv", 17, attrs(), {&xd, &wd, &bd}, 1, &ref).ok());
    ASSERT_EQ(fast[0].shape(), ref[0].shape());
    const std::vector<double> f = testing::doubles_of(fast[0]), r = testing::doubles_of(ref[0]);
    for (size_t i = 0; i < f.size(); ++i) ASSERT_NEAR(f[i], r[i], 1e-4) << onnx_shape_string(c.x) << " element " << i;
  }
}

struct ConvTransposeCase {
  OnnxShape x, w;
  int64_t group;
  std::vector<int64_t> strides, dilations, pads, output_padding, output_shape;
  const char* auto_pad;
};

TEST(OnnxNnOps, ConvTransposeFastPathMatchesReferenceLoop) {
  const ConvTransposeCase cases[] = {
      {{2, 4, 4, 3}, {4, 3, 3, 3}, 2, {2, 2}, {1, 1}, {1, 0, 0, 1}, {1, 0}, {}, "NOTSET"},  // groups, asymmetric pads
      {{1, 3, 5, 4}, {3, 2, 2, 3}, 1, {3, 2}, {2, 1}, {0, 0, 0, 0}, {0, 1}, {}, "NOTSET"},  // dilations, output_padding
      {{1, 2, 3, 3}, {2, 2, 3, 3}, 1, {3, 2}, {1, 1}, {}, {0, 0}, {10, 8}, "NOTSET"},     // output_shape
      {{1, 2, 3, 3}, {2, 3, 3, 3}, 1, {2, 2}, {1, 1}, {}, {0, 0}, {}, "SAME_UPPER"},
      {{2, 2, 6}, {2, 3, 3}, 1, {2}, {1}, {1, 2}, {0}, {}, "NOTSET"},  // 1-D
  };
  std::mt19937 rng(11);
  for (const ConvTransposeCase& c : cases) {
    const OnnxValue x = random_values(DataType::kFloat32, c.x, &rng), w = random_values(DataType::kFloat32, c.w, &rng);
    const OnnxValue b = random_values(DataType::kFloat32, {c.w[1] * c.group}, &rng);
    const OnnxValue xd = to_double(x), wd = to_double(w), bd = to_double(b);
    auto attrs = [&]() {
      std::vector<OnnxAttribute> a;
      a.push_back(onnx_int_attr("group", c.group));
      a.push_back(onnx_ints_attr("strides", c.strides));
      a.push_back(onnx_ints_attr("dilations", c.dilations));
      if (!c.pads.empty()) a.push_back(onnx_ints_attr("pads", c.pads));
      a.push_back(onnx_ints_attr("output_padding", c.output_padding));
      if (!c.output_shape.empty()) a.push_back(onnx_ints_attr("output_shape", c.output_shape));
      a.push_back(onnx_string_attr("auto_pad", c.auto_pad));
      return a;
    };
    std::vector<OnnxValue> fast, ref;
    ASSERT_TRUE(run("ConvTranspose", 17, attrs(), {&x, &w, &b}, 1, &fast).ok());
    ASSERT_TRUE(run("ConvTranspose", 17, attrs(), {&xd, &wd, &bd}, 1, &ref).ok());
    ASSERT_EQ(fast[0].shape(), ref[0].shape());
    const std::vector<double> f = testing::doubles_of(fast[0]), r = testing::doubles_of(ref[0]);
    for (size_t i = 0; i < f.size(); ++i) ASSERT_NEAR(f[i], r[i], 1e-4) << onnx_shape_string(c.x) << " element " << i;
  }
}

TEST(OnnxNnOps, LegacySoftmaxCoercesToTwoDimensions) {
  std::mt19937 rng(3);
  const OnnxValue x = random_values(DataType::kFloat32, {2, 3, 4}, &rng);
  std::vector<OnnxValue> y;
  std::vector<OnnxAttribute> a;
  a.push_back(onnx_int_attr("axis", 1));
  ASSERT_TRUE(run("Softmax", 11, std::move(a), {&x}, 1, &y).ok());
  // Opset 11, axis 1: each batch row's 12 values sum to 1 together.
  for (int64_t n = 0; n < 2; ++n) {
    double sum = 0;
    for (int64_t i = 0; i < 12; ++i) sum += y[0].data<float>()[n * 12 + i];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  ASSERT_TRUE(run("Softmax", 13, {}, {&x}, 1, &y).ok());  // opset 13: along the last axis
  for (int64_t r = 0; r < 6; ++r) {
    double sum = 0;
    for (int64_t i = 0; i < 4; ++i) sum += y[0].data<float>()[r * 4 + i];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

TEST(OnnxNnOps, TrainingDropoutFollowsNumpyStream) {
  // np.random.seed(0); np.random.uniform(0, 1, 4) = [0.5488, 0.7152, 0.6028, 0.5449]
  OnnxValue x, ratio, training;
  ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {4}, &x).ok());
  for (int i = 0; i < 4; ++i) x.data<float>()[i] = 1.0f;
  ratio = OnnxValue::scalar_f32(0.6f);
  ASSERT_TRUE(OnnxValue::make(DataType::kBool, {}, &training).ok());
  training.data<uint8_t>()[0] = 1;
  std::vector<OnnxValue> y;
  std::vector<OnnxAttribute> a;
  a.push_back(onnx_int_attr("seed", 0));
  ASSERT_TRUE(run("Dropout", 13, std::move(a), {&x, &ratio, &training}, 2, &y).ok());
  const float kept = 1.0f / 0.4f;
  EXPECT_FLOAT_EQ(y[0].data<float>()[0], 0.0f);
  EXPECT_FLOAT_EQ(y[0].data<float>()[1], kept);
  EXPECT_FLOAT_EQ(y[0].data<float>()[2], kept);
  EXPECT_FLOAT_EQ(y[0].data<float>()[3], 0.0f);
  EXPECT_EQ(y[1].data<uint8_t>()[1], 1);
  EXPECT_EQ(y[1].data<uint8_t>()[3], 0);
}

TEST(OnnxNnOps, BidirectionalRnnHonoursSequenceLengths) {
  // Hidden 1, input 1, W = 1, R = 0, no bias, Relu: h_t = relu(x_t), so Y_h
  // holds the last valid x for forward and the first x for reverse.
  OnnxValue x, w, r, lens;
  ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {3, 2, 1}, &x).ok());  // [seq, batch, input]
  const float xv[6] = {1, 10, 2, 20, 3, 30};
  std::memcpy(x.raw(), xv, sizeof(xv));
  ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {2, 1, 1}, &w).ok());
  w.data<float>()[0] = w.data<float>()[1] = 1;
  ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {2, 1, 1}, &r).ok());
  ASSERT_TRUE(OnnxValue::make(DataType::kInt32, {2}, &lens).ok());
  lens.data<int32_t>()[0] = 3, lens.data<int32_t>()[1] = 2;
  std::vector<OnnxAttribute> a;
  a.push_back(onnx_int_attr("hidden_size", 1));
  a.push_back(onnx_string_attr("direction", "bidirectional"));
  a.push_back(onnx_strings_attr("activations", {"Relu", "Relu"}));
  std::vector<OnnxValue> y;
  ASSERT_TRUE(run("RNN", 14, std::move(a), {&x, &w, &r, nullptr, &lens}, 2, &y).ok());
  ASSERT_EQ(y[1].shape(), (OnnxShape{2, 2, 1}));
  const float* yh = y[1].data<float>();
  EXPECT_FLOAT_EQ(yh[0], 3);   // forward, batch 0
  EXPECT_FLOAT_EQ(yh[1], 20);  // forward, batch 1 (length 2)
  EXPECT_FLOAT_EQ(yh[2], 1);   // reverse, batch 0
  EXPECT_FLOAT_EQ(yh[3], 10);  // reverse, batch 1
  // Y past a sequence's length is zero.
  EXPECT_FLOAT_EQ(y[0].data<float>()[(2 * 2 + 0) * 2 + 1], 0);
}

TEST(OnnxNnOps, BadShapesAreErrors) {
  std::mt19937 rng(1);
  const OnnxValue x = random_values(DataType::kFloat32, {1, 3, 4, 4}, &rng);
  const OnnxValue w = random_values(DataType::kFloat32, {2, 2, 3, 3}, &rng);  // in_c 2 != 3
  std::vector<OnnxValue> y;
  EXPECT_FALSE(run("Conv", 17, {}, {&x, &w}, 1, &y).ok());
  EXPECT_FALSE(run("MaxPool", 17, {}, {&x}, 1, &y).ok());  // no kernel_shape
  std::vector<OnnxAttribute> a;
  a.push_back(onnx_ints_attr("kernel_shape", {10, 10}));
  EXPECT_FALSE(run("AveragePool", 17, std::move(a), {&x}, 1, &y).ok());  // kernel larger than input
}

}  // namespace
}  // namespace kiln
