// kiln::onnx::export_model: models trained briefly in Kiln, exported, parsed
// back and run by Kiln's ONNX runtime give Kiln's own predictions at a batch
// size other than the one trained with; the written protobuf reads back
// field for field; layers and settings without an ONNX form are refused by name.
// (tests/js/onnx_export.test.mjs checks the same files against ONNX Runtime.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "io/onnx_attributes.h"
#include "io/onnx_model.h"
#include "io/onnx_writer.h"
#include "io/protobuf_writer.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

std::vector<float> random_values(size_t n, uint64_t seed, double lo, double hi) {
  Rng r(seed);
  std::vector<float> v(n);
  for (float& x : v) x = float(lo + (hi - lo) * r.uniform());
  return v;
}

// Trains `m` a few steps on random data so the weights are not the initial ones.
void train_briefly(Sequential& m, int64_t n, const char* loss) {
  CompileOptions co;
  co.optimizer = "adam";
  co.learning_rate = 0.01f;
  co.loss = loss;
  m.compile(co);
  const std::vector<float> x = random_values(size_t(n * m.input_dim()), 1, -1, 1);
  std::vector<float> y(size_t(n * m.output_dim()), 0.0f);
  for (int64_t i = 0; i < n; ++i) y[size_t(i * m.output_dim() + i % m.output_dim())] = 1.0f;
  FitOptions fo;
  fo.epochs = 2;
  fo.batch_size = 8;
  m.fit(x.data(), y.data(), n, fo);
}

// Exports `m`, runs the file on `batch` samples of `x_shape` and compares with predict.
void expect_same_outputs(Sequential& m, std::vector<int64_t> x_shape, int64_t batch, double lo = -1, double hi = 1) {
  int64_t per = 1;
  for (int64_t d : x_shape) per *= d;
  const std::vector<float> x = random_values(size_t(batch * per), 7, lo, hi);
  const std::vector<float> want = m.predict(x.data(), batch);
  const std::vector<uint8_t> bytes = onnx::export_model(m);

  OnnxModel parsed;
  ASSERT_TRUE(parse_onnx_model(bytes.data(), bytes.size(), &parsed).ok());
  EXPECT_EQ(parsed.ir_version, 8);
  ASSERT_EQ(parsed.opset_imports.size(), 1u);
  EXPECT_EQ(parsed.opset_imports[0].version, 17);
  EXPECT_EQ(parsed.producer_name, "kiln");
  ASSERT_EQ(parsed.graph.inputs.size(), 1u);
  EXPECT_EQ(parsed.graph.inputs[0].shape[0].param, "batch");

  onnx::Session s = onnx::Session::load(bytes.data(), bytes.size());
  x_shape.insert(x_shape.begin(), batch);
  const std::vector<onnx::Tensor> out = s.run({{x_shape, x}});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].data.size(), want.size());
  EXPECT_EQ(out[0].shape[0], batch);
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, double(std::fabs(out[0].data[i] - want[i])));
    scale = std::max(scale, double(std::fabs(want[i])));
  }
  EXPECT_LT(diff / scale, 1e-4) << "max abs diff " << diff << ", max abs " << scale;
}

TEST(OnnxExport, Mlp) {
  Sequential m(6, 3);
  m.add("Dense", R"({"units": 16, "activation": "relu"})");
  m.add("Dropout", R"({"rate": 0.3})");
  m.add("Dense", R"({"units": 8, "activation": "gelu"})");
  m.add("LayerNormalization");
  m.add("Dense", R"({"units": 4, "activation": "softmax"})");
  train_briefly(m, 32, "categoricalCrossentropy");
  expect_same_outputs(m, {6}, 5);
}

TEST(OnnxExport, Cnn) {
  Sequential m({12, 12, 2}, 4);
  m.add("Conv2D", R"({"filters": 6, "kernelSize": 3, "padding": "same", "activation": "relu"})");
  m.add("BatchNormalization");
  m.add("MaxPooling2D", R"({"poolSize": 2})");
  m.add("Conv2D", R"({"filters": 8, "kernelSize": [3, 2], "strides": 2, "padding": "same", "useBias": false})");
  m.add("DepthwiseConv2D", R"({"kernelSize": 2, "depthMultiplier": 2, "activation": "relu6"})");
  m.add("AveragePooling2D", R"({"poolSize": 2, "strides": 1, "padding": "same"})");
  m.add("Flatten");
  m.add("Dense", R"({"units": 3, "activation": "softmax"})");
  train_briefly(m, 24, "categoricalCrossentropy");
  expect_same_outputs(m, {12, 12, 2}, 3);
}

TEST(OnnxExport, Conv1dSeparableAndPadding) {
  Sequential m({10, 3}, 5);
  m.add("Conv1D", R"({"filters": 4, "kernelSize": 3, "dilationRate": 2, "padding": "same", "activation": "tanh"})");
  m.add("Reshape", R"({"targetShape": [5, 2, 4]})");
  m.add("ZeroPadding2D", R"({"padding": [1, 2]})");
  m.add("SeparableConv2D", R"({"filters": 5, "kernelSize": 2, "activation": "swish"})");
  m.add("UpSampling2D", R"({"size": [2, 1]})");
  m.add("GlobalAveragePooling2D");
  m.add("Dense", R"({"units": 2})");
  train_briefly(m, 16, "meanSquaredError");
  expect_same_outputs(m, {10, 3}, 4);
}

TEST(OnnxExport, TransposedConvAndTimeDistributed) {
  for (const char* padding : {"same", "valid"}) {
    Sequential m({5, 4, 2}, 10);
    m.add("Conv2DTranspose", std::string(R"({"filters": 3, "kernelSize": [3, 1], "strides": [2, 3], "activation": "relu", "padding": ")") +
                                 padding + "\"}");
    m.add("Reshape", R"({"targetShape": [-1, 12, 3, 1]})");  // steps of [12, 3, 1] images
    m.add("TimeDistributed", R"({"layer": {"className": "Conv2D", "config": {"filters": 2, "kernelSize": 2}}})");
    m.add("TimeDistributed", R"({"layer": {"className": "Flatten", "config": {}}})");
    m.add("TimeDistributed", R"({"layer": {"className": "Dense", "config": {"units": 2, "activation": "softmax"}}})");
    train_briefly(m, 16, "meanSquaredError");
    expect_same_outputs(m, {5, 4, 2}, 3);
  }
}

TEST(OnnxExport, RecurrentLayers) {
  const char* layers[] = {R"({"units": 6})", R"({"units": 6, "goBackwards": true})"};
  for (const char* lstm : layers) {
    Sequential m({5, 3}, 6);
    m.add("LSTM", lstm);
    m.add("Dense", R"({"units": 2, "activation": "softmax"})");
    train_briefly(m, 16, "categoricalCrossentropy");
    expect_same_outputs(m, {5, 3}, 3);
  }
  for (const char* gru : {R"({"units": 4, "returnSequences": true})", R"({"units": 4, "returnSequences": true, "resetAfter": true})"}) {
    Sequential m({5, 3}, 7);
    m.add("GRU", gru);
    m.add("SimpleRNN", R"({"units": 3})");
    train_briefly(m, 16, "meanSquaredError");
    expect_same_outputs(m, {5, 3}, 3);
  }
  Sequential b({4, 2}, 8);
  b.add("Bidirectional", R"({"layer": {"className": "LSTM", "config": {"units": 3, "returnSequences": true}}})");
  b.add("Bidirectional", R"({"layer": {"className": "GRU", "config": {"units": 2}}, "mergeMode": "ave"})");
  train_briefly(b, 16, "meanSquaredError");
  expect_same_outputs(b, {4, 2}, 3);
}

TEST(OnnxExport, Embedding) {
  Sequential m({4}, 9);
  m.add("Embedding", R"({"inputDim": 10, "outputDim": 3})");
  m.add("Flatten");
  m.add("Dense", R"({"units": 2})");
  train_briefly(m, 16, "meanSquaredError");
  expect_same_outputs(m, {4}, 3, 0, 9.99);
}

TEST(OnnxExport, RefusesLayersWithoutAnOnnxForm) {
  Sequential m({4, 2}, 1);
  m.add("LSTM", R"({"name": "lstm_1", "units": 2, "stateful": true})");
  try {
    onnx::export_model(m);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'lstm_1' (LSTM): stateful=true has no ONNX equivalent"), std::string::npos) << e.what();
  }
  Sequential d({4, 2}, 1);
  d.add("ReLU", R"({"name": "thresholded", "threshold": 0.5})");
  try {
    onnx::export_model(d);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'thresholded' (ReLU): threshold != 0 has no ONNX equivalent"), std::string::npos) << e.what();
  }
}

// The writer's output reads back through Kiln's own protobuf parser.
TEST(OnnxExport, WriterRoundTrips) {
  OnnxModel m;
  m.ir_version = 8;
  m.producer_name = "kiln";
  m.opset_imports.push_back({"", 17});
  OnnxNode n;
  n.name = "n";
  n.op_type = "LeakyRelu";
  n.inputs = {"x"};
  n.outputs = {"y"};
  n.attributes = onnx_attrs(onnx_float_attr("alpha", -0.25f), onnx_ints_attr("ints", {-1, 0, int64_t(1) << 40}));
  m.graph.nodes.push_back(std::move(n));
  OnnxTensor t;
  t.name = "w";
  t.data_type = DataType::kFloat32;
  t.dims = {2};
  t.data = {0, 0, 128, 63, 0, 0, 0, 192};  // 1.0f, -2.0f
  m.graph.initializers.push_back(t);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(serialize_onnx_model(m, &bytes).ok());
  OnnxModel back;
  const Status s = parse_onnx_model(bytes.data(), bytes.size(), &back);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(back.ir_version, 8);
  EXPECT_EQ(back.opset_imports[0].version, 17);
  ASSERT_EQ(back.graph.nodes.size(), 1u);
  EXPECT_EQ(back.graph.nodes[0].op_type, "LeakyRelu");
  EXPECT_EQ(back.graph.nodes[0].attributes[0].f, -0.25f);
  EXPECT_EQ(back.graph.nodes[0].attributes[1].ints, (std::vector<int64_t>{-1, 0, int64_t(1) << 40}));
  EXPECT_EQ(back.graph.initializers[0].data, t.data);
  EXPECT_EQ(back.graph.initializers[0].dims, t.dims);

  // Attributes the writer cannot encode are named in the error.
  m.graph.nodes[0].attributes[0].type = OnnxAttributeType::kGraph;
  const Status bad = serialize_onnx_model(m, &bytes);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("attribute 'alpha'"), std::string::npos) << bad.message();

  // Varints: multi-byte and negative (ten bytes).
  ProtoWriter w;
  w.write_int64(1, 300);
  w.write_int64(2, -1);
  EXPECT_EQ(w.bytes(), (std::vector<uint8_t>{0x08, 0xac, 0x02, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

}  // namespace
}  // namespace kiln
