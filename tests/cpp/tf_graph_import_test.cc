// The TF.js graph-model importer (src/frontends/tf_graph): a small NHWC graph
// (_FusedConv2D with SAME padding, bias and ReLU, then MaxPool and Reshape)
// translated to ONNX and run by the ONNX runtime gives what direct NHWC loops
// give; hostile manifests (weights outside the data, huge shapes, bad JSON,
// unknown ops, cycles) are errors that name the problem. The real models are
// compared with TensorFlow.js in tests/js/graph_model.test.mjs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "frontends/tf_graph/tf_graph_model.h"
#include "onnx/session.h"

namespace kiln {
namespace {

constexpr int H = 5, W = 6, C = 3, K = 3, F = 4;

std::string conv_graph_manifest() {
  // base64: "SAME", "VALID", "BiasAdd", "Relu", "NHWC".
  return R"({"modelTopology": {"node": [
    {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"},
      "shape": {"shape": {"dim": [{"size": "-1"}, {"size": "5"}, {"size": "6"}, {"size": "3"}]}}}},
    {"name": "filter", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
    {"name": "bias", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
    {"name": "shape", "op": "Const", "attr": {"dtype": {"type": "DT_INT32"}}},
    {"name": "conv", "op": "_FusedConv2D", "input": ["x", "filter", "bias"], "attr": {
      "strides": {"list": {"i": ["1", "2", "1", "1"]}}, "padding": {"s": "U0FNRQ=="}, "num_args": {"i": "1"},
      "fused_ops": {"list": {"s": ["Qmlhc0FkZA==", "UmVsdQ=="]}}, "data_format": {"s": "TkhXQw=="},
      "dilations": {"list": {"i": ["1", "1", "1", "1"]}}, "T": {"type": "DT_FLOAT"}}},
    {"name": "pool", "op": "MaxPool", "input": ["conv"], "attr": {"ksize": {"list": {"i": ["1", "2", "2", "1"]}},
      "strides": {"list": {"i": ["1", "2", "2", "1"]}}, "padding": {"s": "VkFMSUQ="}, "data_format": {"s": "TkhXQw=="}}},
    {"name": "flat", "op": "Reshape", "input": ["pool", "shape"], "attr": {"T": {"type": "DT_FLOAT"}}}
  ]}, "signature": null, "weights": [
    {"name": "filter", "dtype": "float32", "shape": [3, 3, 3, 4], "offset": 0},
    {"name": "bias", "dtype": "float32", "shape": [4], "offset": 432},
    {"name": "shape", "dtype": "int32", "shape": [2], "offset": 448}]})";
}

std::vector<uint8_t> conv_graph_weights(const std::vector<float>& filter, const std::vector<float>& bias) {
  std::vector<uint8_t> data(456);
  std::memcpy(data.data(), filter.data(), 432);
  std::memcpy(data.data() + 432, bias.data(), 16);
  const int32_t shape[2] = {-1, 3 * F};  // conv gives [n, 3, 6, F], the pool [n, 1, 3, F]
  std::memcpy(data.data() + 448, shape, 8);
  return data;
}

TEST(TfGraphImport, FusedConvPoolReshapeMatchesNhwcLoops) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> filter(K * K * C * F), bias(F), x(2 * H * W * C);
  for (float& v : filter) v = u(rng);
  for (float& v : bias) v = u(rng);
  for (float& v : x) v = u(rng);
  const std::vector<uint8_t> data = conv_graph_weights(filter, bias);
  OnnxModel model;
  ASSERT_TRUE(tf_graph_model_to_onnx(conv_graph_manifest(), data.data(), data.size(), &model).ok());
  std::unique_ptr<OnnxSession> session;
  Status s = OnnxSession::load_model(std::move(model), &session);
  ASSERT_TRUE(s.ok()) << s.message();
  OnnxValue in;
  ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {2, H, W, C}, &in).ok());
  std::memcpy(in.raw(), x.data(), x.size() * 4);
  std::vector<OnnxValue> out;
  s = session->run({in}, &out);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (OnnxShape{2, 3 * F}));

  // TF's SAME padding: stride 2 over height 5 gives 3 rows, padding 1+1 split as (1, 1);
  // stride 1 over width 6 gives 6 columns, padding 2 split as (1, 1).
  const int OH = 3, OW = 6, pad_top = 1, pad_left = 1;
  std::vector<float> conv(2 * OH * OW * F);
  for (int n = 0; n < 2; ++n)
    for (int oy = 0; oy < OH; ++oy)
      for (int ox = 0; ox < OW; ++ox)
        for (int f = 0; f < F; ++f) {
          float acc = bias[f];
          for (int ky = 0; ky < K; ++ky)
            for (int kx = 0; kx < K; ++kx)
              for (int c = 0; c < C; ++c) {
                const int iy = oy * 2 + ky - pad_top, ix = ox + kx - pad_left;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc += x[((n * H + iy) * W + ix) * C + c] * filter[((ky * K + kx) * C + c) * F + f];
              }
          conv[((n * OH + oy) * OW + ox) * F + f] = std::max(acc, 0.f);
        }
  // 2x2 VALID max pool: rows 0-1 (row 2 dropped), columns in pairs; NHWC flattened.
  for (int n = 0; n < 2; ++n)
    for (int px = 0; px < 3; ++px)
      for (int f = 0; f < F; ++f) {
        float m = -1e30f;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) m = std::max(m, conv[((n * OH + dy) * OW + 2 * px + dx) * F + f]);
        EXPECT_NEAR(out[0].data<float>()[(n * 3 + px) * F + f], m, 1e-5f) << "image " << n << " column " << px << " filter " << f;
      }
}

// Loads `manifest` over `data`; the error message, or "" when it loaded.
std::string load_error(const std::string& manifest, const std::vector<uint8_t>& data) {
  OnnxModel model;
  Status s = tf_graph_model_to_onnx(manifest, data.data(), data.size(), &model);
  if (s.ok()) {
    std::unique_ptr<OnnxSession> session;
    s = OnnxSession::load_model(std::move(model), &session);
  }
  return s.ok() ? "" : s.message();
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(TfGraphImport, HostileManifestsAreNamedErrors) {
  const std::vector<uint8_t> data = conv_graph_weights(std::vector<float>(K * K * C * F, 0.5f), std::vector<float>(F, 0.f));
  const std::string good = conv_graph_manifest();
  ASSERT_EQ(load_error(good, data), "");
  const struct {
    std::string manifest, expected;
  } cases[] = {
      {replaced(good, "\"offset\": 432", "\"offset\": 450"), "weight 'bias': bytes 450..466 lie outside the 456 bytes"},
      {replaced(good, "\"offset\": 432", "\"offset\": -4"), "weight 'bias': no byte offset"},
      {replaced(good, "[3, 3, 3, 4]", "[3, 3, 3, 4000000000]"), "weight 'filter': the shape must hold"},
      {replaced(good, "[3, 3, 3, 4]", "[65536, 65536, 65536, 65536]"), "weight 'filter'"},
      {replaced(good, "\"dtype\": \"int32\"", "\"dtype\": \"string\""), "dtype 'string' is not supported"},
      {replaced(good, "{\"name\": \"bias\", \"dtype\"", "{\"name\": \"filter\", \"dtype\""), "weight 'filter' is listed twice"},
      {replaced(good, "\"op\": \"MaxPool\"", "\"op\": \"MaxPoolWithArgmax\""), "does not translate: MaxPoolWithArgmax"},
      {replaced(good, "\"input\": [\"conv\"]", "\"input\": [\"flat\"]"), "cycle"},
      {replaced(good, "\"input\": [\"conv\"]", "\"input\": [\"nowhere:1\"]"), "reads 'nowhere:1'"},
      {replaced(good, "\"ksize\": {\"list\": {\"i\": [\"1\", \"2\"", "\"ksize\": {\"list\": {\"i\": [\"1\", \"0\""), "ksize"},
      {replaced(good, "\"strides\": {\"list\": {\"i\": [\"1\", \"2\", \"1\", \"1\"]}}", "\"strides\": {\"s\": 3}"), "strides"},
      {replaced(good, "\"input\": [\"x\", \"filter\", \"bias\"]", "\"input\": [\"x\"]"), "'conv'"},
      {replaced(good, "{\"name\": \"bias\", \"dtype\": \"float32\", \"shape\": [4], \"offset\": 432},", ""), "'bias'"},
      {replaced(good, "\"modelTopology\": {\"node\"", "\"modelTopology\": {\"nodes\""), "no node list"},
      {good.substr(0, good.size() / 2), "JSON"},
      {"[]", "modelTopology"},
  };
  for (const auto& c : cases) {
    const std::string err = load_error(c.manifest, data);
    EXPECT_NE(err.find(c.expected), std::string::npos) << "expected '" << c.expected << "' in: '" << err << "'";
  }
  // A filter whose shape disagrees with the input's channels: a named error when run, and the session runs again.
  const std::string wrong = replaced(replaced(good, "[3, 3, 3, 4]", "[3, 3, 2, 4]"), "\"offset\": 432", "\"offset\": 288");
  OnnxModel model;
  ASSERT_TRUE(tf_graph_model_to_onnx(wrong, data.data(), data.size(), &model).ok());
  std::unique_ptr<OnnxSession> session;
  ASSERT_TRUE(OnnxSession::load_model(std::move(model), &session).ok());
  OnnxValue in;
  ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {1, H, W, C}, &in).ok());
  std::vector<OnnxValue> out;
  const Status s = session->run({in}, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("conv"), std::string::npos) << s.message();
}

// Seeded random mutations of the conv graph (ops swapped for other
// translated ops, inputs dropped, added or redirected, attributes replaced
// by ones of the wrong kind): each import fails with a message, or loads and
// then runs to outputs or an error; none crashes.
TEST(TfGraphImport, RandomMutationsFailCleanlyOrRun) {
  struct Node {
    std::string name, op;
    std::vector<std::string> inputs;
    std::string attr;
  };
  const std::vector<Node> base = {
      {"x", "Placeholder", {}, R"({"dtype": {"type": "DT_FLOAT"}, "shape": {"shape": {"dim": [{"size": "-1"}, {"size": "5"}, {"size": "6"}, {"size": "3"}]}}})"},
      {"filter", "Const", {}, R"({"dtype": {"type": "DT_FLOAT"}})"},
      {"bias", "Const", {}, R"({"dtype": {"type": "DT_FLOAT"}})"},
      {"shape", "Const", {}, R"({"dtype": {"type": "DT_INT32"}})"},
      {"conv", "_FusedConv2D", {"x", "filter", "bias"}, R"({"strides": {"list": {"i": ["1", "2", "1", "1"]}}, "padding": {"s": "U0FNRQ=="}, "num_args": {"i": "1"}, "fused_ops": {"list": {"s": ["Qmlhc0FkZA==", "UmVsdQ=="]}}, "data_format": {"s": "TkhXQw=="}})"},
      {"pool", "MaxPool", {"conv"}, R"({"ksize": {"list": {"i": ["1", "2", "2", "1"]}}, "strides": {"list": {"i": ["1", "2", "2", "1"]}}, "padding": {"s": "VkFMSUQ="}})"},
      {"flat", "Reshape", {"pool", "shape"}, "{}"},
  };
  const std::vector<std::string> ops = {"Relu", "AddV2", "Mul", "MatMul", "Conv2D", "DepthwiseConv2dNative", "MaxPool", "AvgPool",
                                        "ConcatV2", "Reshape", "Transpose", "Squeeze", "ExpandDims", "StridedSlice", "Pad",
                                        "Mean", "Softmax", "GatherV2", "Split", "Pack", "Unpack", "Tile", "ResizeBilinear",
                                        "FusedBatchNormV3", "TopKV2", "Cast", "ArgMax", "Fill", "Range", "Where", "Select"};
  const std::vector<std::string> attrs = {"{}", R"({"axis": {"i": "7"}})", R"({"strides": {"s": "x"}})",
                                          R"({"ksize": {"list": {"i": ["0", "0"]}}})", R"({"num_split": {"i": "-3"}})",
                                          R"({"T": {"type": "DT_STRING"}})", R"({"padding": {"s": "!!"}})", R"({"fused_ops": {"list": {"s": [1]}}})"};
  const std::vector<std::string> names = {"x", "filter", "bias", "shape", "conv", "pool", "flat", "conv:1", "nowhere", ""};
  const std::vector<uint8_t> data = conv_graph_weights(std::vector<float>(K * K * C * F, 0.25f), std::vector<float>(F, 0.f));
  std::mt19937 rng(99);
  int refused = 0, failed_run = 0, ran = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<Node> nodes = base;
    for (int k = 0, count = 1 + int(rng() % 3); k < count; ++k) {
      Node& n = nodes[4 + rng() % 3];
      switch (rng() % 6) {
        case 0: n.op = ops[rng() % ops.size()]; break;
        case 1: if (!n.inputs.empty()) n.inputs.pop_back(); break;
        case 2: n.inputs.push_back(names[rng() % names.size()]); break;
        case 3: if (!n.inputs.empty()) n.inputs[rng() % n.inputs.size()] = names[rng() % names.size()]; break;
        case 4: n.attr = attrs[rng() % attrs.size()]; break;
        default: n.name = names[rng() % names.size()]; break;
      }
    }
    std::string text = R"({"modelTopology": {"node": [)";
    for (size_t i = 0; i < nodes.size(); ++i) {
      text += std::string(i ? ", " : "") + R"({"name": ")" + nodes[i].name + R"(", "op": ")" + nodes[i].op + R"(", "input": [)";
      for (size_t j = 0; j < nodes[i].inputs.size(); ++j) text += std::string(j ? ", " : "") + "\"" + nodes[i].inputs[j] + "\"";
      text += R"(], "attr": )" + nodes[i].attr + "}";
    }
    text += R"(]}, "signature": null, "weights": [{"name": "filter", "dtype": "float32", "shape": [3, 3, 3, 4], "offset": 0},
      {"name": "bias", "dtype": "float32", "shape": [4], "offset": 432}, {"name": "shape", "dtype": "int32", "shape": [2], "offset": 448}]})";
    OnnxModel model;
    Status st = tf_graph_model_to_onnx(text, data.data(), data.size(), &model);
    std::unique_ptr<OnnxSession> session;
    if (st.ok()) st = OnnxSession::load_model(std::move(model), &session);
    if (!st.ok()) {
      EXPECT_FALSE(st.message().empty());
      ++refused;
      continue;
    }
    std::vector<OnnxValue> feeds;
    for (const OnnxValueInfo& in : session->inputs()) {
      OnnxValue v;
      ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {1, H, W, C}, &v).ok()) << in.name;
      feeds.push_back(v);
    }
    std::vector<OnnxValue> out;
    st = session->run(feeds, &out);
    if (st.ok()) {
      ++ran;
    } else {
      EXPECT_FALSE(st.message().empty());
      ++failed_run;
    }
  }
  EXPECT_GT(refused, 500);
  std::printf("[tf graph mutations] 2000: %d refused at import, %d failed cleanly when run, %d ran\n", refused, failed_run, ran);
}

}  // namespace
}  // namespace kiln
