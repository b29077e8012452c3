// Recurrent layers and wrappers in whole models (JSON topology): autodiff
// gradients against finite differences through SimpleRNN, LSTM, GRU,
// Bidirectional and TimeDistributed, initial states from another layer,
// stateful layers (state carried between calls, reset_states) and
// configuration errors (save/load: layer_round_trip_test.cc). Numerics against PyTorch are in
// tests/cpp/rnn_kernels_test.cc (kernels) and the layer fixture tests.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/model.h"
#include "model_test_utils.h"

using namespace kiln;
using namespace kiln::testing;

namespace {

std::string layer(const std::string& cls, const std::string& config) {
  return R"({"className":")" + cls + R"(","config":)" + config + "}";
}

// Every op here is smooth: a larger step beats float32 rounding of the loss.
constexpr float kStep = 1e-2f;

const std::string kSoftmax3 = layer("Dense", R"({"name":"out","units":3,"activation":"softmax"})");

std::vector<float> predict(Model& m, const std::vector<float>& x, int64_t n) {
  std::vector<float> y(size_t(n * shape_numel(m.output_shape(0))));
  Status s = m.predict(x.data(), n, y.data());
  EXPECT_TRUE(s.ok()) << s.message();
  return y;
}

}  // namespace

TEST(RecurrentModel, StackedLstmGradients) {
  auto m = make_model(sequential_topology("[6,3]", {
      layer("LSTM", R"({"name":"l1","units":5,"returnSequences":true,"recurrentActivation":"sigmoid"})"),
      layer("LSTM", R"({"name":"l2","units":4,"recurrentActivation":"sigmoid","unitForgetBias":true})"),
      kSoftmax3}), LossKind::kCategoricalCrossentropy);
  ASSERT_TRUE(m);
  check_gradients(*m, random_vec(3 * 6 * 3, 1), one_hot(3, 3, 2), 3, 2e-2, kStep);
}

TEST(RecurrentModel, GruSimpleRnnAndTimeDistributedGradients) {
  auto m = make_model(sequential_topology("[5,4]", {
      layer("GRU", R"({"name":"g","units":4,"resetAfter":true,"goBackwards":true,"returnSequences":true,"recurrentActivation":"sigmoid"})"),
      layer("SimpleRNN", R"({"name":"s","units":3,"returnSequences":true})"),
      layer("TimeDistributed", R"({"name":"td","layer":{"className":"Dense","config":{"name":"d","units":3,"activation":"softmax"}}})")}),
      LossKind::kCategoricalCrossentropy);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->output_shape(0), (Shape{5, 3}));
  check_gradients(*m, random_vec(2 * 5 * 4, 3), one_hot(2 * 5, 3, 4), 2, 2e-2, kStep);

  // GRU as TF.js defines it (reset before the product), hardSigmoid gates.
  auto g = make_model(sequential_topology("[5,4]", {layer("GRU", R"({"name":"g","units":4})"), kSoftmax3}),
                      LossKind::kCategoricalCrossentropy);
  ASSERT_TRUE(g);
  check_gradients(*g, random_vec(2 * 5 * 4, 5, 0.5), one_hot(2, 3, 6), 2, 2e-2, kStep);
}

TEST(RecurrentModel, BidirectionalMergeModesGradients) {
  for (const char* mode : {"concat", "sum", "mul", "ave"}) {
    SCOPED_TRACE(mode);
    auto m = make_model(sequential_topology("[4,3]", {
        layer("Bidirectional", std::string(R"({"name":"bi","mergeMode":")") + mode +
                                   R"(","layer":{"className":"LSTM","config":{"name":"lstm","units":3,"returnSequences":true,"recurrentActivation":"sigmoid"}}})"),
        layer("Flatten", R"({"name":"f"})"), kSoftmax3}), LossKind::kCategoricalCrossentropy);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->weight_name(0), "bi/forward_lstm/kernel");
    EXPECT_EQ(m->weight_name(3), "bi/backward_lstm/kernel");
    check_gradients(*m, random_vec(2 * 4 * 3, 7), one_hot(2, 3, 8), 2, 2e-2, kStep);
  }
  // Without sequences: the backward direction's last output is merged as is.
  auto m = make_model(sequential_topology("[4,3]", {
      layer("Bidirectional", R"({"name":"bi","layer":{"className":"GRU","config":{"name":"gru","units":3,"recurrentActivation":"sigmoid"}}})"),
      kSoftmax3}), LossKind::kCategoricalCrossentropy);
  ASSERT_TRUE(m);
  check_gradients(*m, random_vec(2 * 4 * 3, 17), one_hot(2, 3, 18), 2, 2e-2, kStep);
}

TEST(RecurrentModel, BidirectionalConcatIsBothDirectionsSideBySide) {
  // A Bidirectional layer equals its forward layer and a goBackwards copy
  // whose outputs are reversed in time, each with the same weights.
  const std::string inner = R"({"name":"r","units":3,"returnSequences":true})";
  auto bi = make_model(sequential_topology("[5,2]", {layer("Bidirectional", R"({"name":"bi","layer":{"className":"SimpleRNN","config":)" + inner + "}}")}),
                       LossKind::kMeanSquaredError);
  auto fw = make_model(sequential_topology("[5,2]", {layer("SimpleRNN", inner)}), LossKind::kMeanSquaredError);
  auto bw = make_model(sequential_topology("[5,2]", {layer("SimpleRNN", R"({"name":"r","units":3,"returnSequences":true,"goBackwards":true})")}),
                       LossKind::kMeanSquaredError);
  ASSERT_TRUE(bi && fw && bw);
  for (size_t w = 0; w < 3; ++w) {
    std::copy(bi->weight_data(w), bi->weight_data(w) + shape_numel(bi->weight_shape(w)), fw->mutable_weight_data(w));
    std::copy(bi->weight_data(w + 3), bi->weight_data(w + 3) + shape_numel(bi->weight_shape(w + 3)), bw->mutable_weight_data(w));
  }
  const std::vector<float> x = random_vec(2 * 5 * 2, 9);
  const std::vector<float> y = predict(*bi, x, 2), f = predict(*fw, x, 2), b = predict(*bw, x, 2);
  for (int64_t s = 0; s < 2; ++s)
    for (int64_t t = 0; t < 5; ++t)
      for (int64_t u = 0; u < 3; ++u) {
        EXPECT_EQ(y[size_t((s * 5 + t) * 6 + u)], f[size_t((s * 5 + t) * 3 + u)]);
        EXPECT_EQ(y[size_t((s * 5 + t) * 6 + 3 + u)], b[size_t((s * 5 + 4 - t) * 3 + u)]);
      }
}

TEST(RecurrentModel, EncoderStatesInitializeDecoder) {
  // Sequence to sequence: the encoder's final LSTM states start the decoder.
  const std::string topo = R"({"layers":[
    {"className":"InputLayer","config":{"name":"src","shape":[5,3]}},
    {"className":"InputLayer","config":{"name":"tgt","shape":[4,2]}},
    {"className":"LSTM","config":{"name":"enc","units":4,"returnState":true,"recurrentActivation":"sigmoid"}},
    {"className":"LSTM","config":{"name":"dec","units":4,"returnSequences":true,"recurrentActivation":"sigmoid"}},
    {"className":"TimeDistributed","config":{"name":"td","layer":{"className":"Dense","config":{"name":"d","units":3,"activation":"softmax"}}}}],
   "nodes":[{"layer":0,"inputs":[]},{"layer":1,"inputs":[]},{"layer":2,"inputs":[[0,0]]},
            {"layer":3,"inputs":[[1,0],[2,1],[2,2]]},{"layer":4,"inputs":[[3,0]]}],
   "inputs":[0,1],"outputs":[[4,0]]})";
  auto m = make_model(topo, LossKind::kCategoricalCrossentropy);
  ASSERT_TRUE(m);
  const std::vector<float> a = random_vec(2 * 5 * 3, 10), b = random_vec(2 * 4 * 2, 11), y = one_hot(2 * 4, 3, 12);
  check_gradients(*m, {a.data(), b.data()}, {y.data()}, 2, 2e-2, kStep);
  // The decoder depends on the encoder's input only through the states.
  std::vector<float> a2 = a;
  a2[0] += 1.0f;
  std::vector<float> p1(2 * 4 * 3), p2(2 * 4 * 3);
  ASSERT_TRUE(m->predict({a.data(), b.data()}, 2, {p1.data()}).ok());
  ASSERT_TRUE(m->predict({a2.data(), b.data()}, 2, {p2.data()}).ok());
  EXPECT_NE(p1, p2);
}

TEST(RecurrentModel, StatefulLayerCarriesStateBetweenCalls) {
  const std::string cfg = R"({"name":"l","units":4,"stateful":true})";
  auto st = make_model(sequential_topology("[3,2]", {layer("LSTM", cfg)}), LossKind::kMeanSquaredError);
  auto whole = make_model(sequential_topology("[6,2]", {layer("LSTM", R"({"name":"l","units":4})")}), LossKind::kMeanSquaredError);
  ASSERT_TRUE(st && whole);
  for (size_t w = 0; w < st->num_weights(); ++w) ASSERT_EQ(st->weight_shape(w), whole->weight_shape(w));
  for (size_t w = 0; w < st->num_weights(); ++w)
    std::copy(st->weight_data(w), st->weight_data(w) + shape_numel(st->weight_shape(w)), whole->mutable_weight_data(w));
  const std::vector<float> x = random_vec(2 * 6 * 2, 13);
  std::vector<float> first(2 * 3 * 2), second(2 * 3 * 2);
  for (int s = 0; s < 2; ++s)
    for (int k = 0; k < 6; ++k) {
      (k < 3 ? first : second)[size_t((s * 3 + k % 3) * 2)] = x[size_t((s * 6 + k) * 2)];
      (k < 3 ? first : second)[size_t((s * 3 + k % 3) * 2 + 1)] = x[size_t((s * 6 + k) * 2 + 1)];
    }
  const std::vector<float> y1 = predict(*st, first, 2);
  const std::vector<float> y2 = predict(*st, second, 2);
  const std::vector<float> ref = predict(*whole, x, 2);
  ASSERT_EQ(y2.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(y2[i], ref[i], 1e-6f);
  st->reset_states();
  EXPECT_EQ(predict(*st, first, 2), y1);
  // Training runs stateful too (the state advances each batch) and learns.
  std::vector<float> target(2 * 4, 0.5f), metric(st->num_metric_values());
  float loss0 = 0, loss = 0;
  for (int step = 0; step < 150; ++step) {
    st->reset_states();
    ASSERT_TRUE(st->train_batch(first.data(), target.data(), nullptr, 2, &loss, metric.data()).ok());
    if (step == 0) loss0 = loss;
  }
  EXPECT_LT(loss, 0.5f * loss0);
}

TEST(RecurrentModel, UnitForgetBiasInitializesTheForgetBlock) {
  auto m = make_model(sequential_topology("[2,3]", {layer("LSTM", R"({"name":"l","units":3,"unitForgetBias":true})")}),
                      LossKind::kMeanSquaredError);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->weight_name(2), "l/bias");
  const float* b = m->weight_data(2);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(b[i], (i >= 3 && i < 6) ? 1.0f : 0.0f) << i;
}

TEST(RecurrentModel, BadConfigsGiveClearErrors) {
  std::unique_ptr<Model> m;
  auto message = [&](const std::string& shape, const std::string& l) {
    Status s = Model::create(sequential_topology(shape, {l}), 1, &m);
    EXPECT_FALSE(s.ok());
    return s.message();
  };
  EXPECT_NE(message("[4,3]", layer("LSTM", R"({"name":"l"})")).find("'units' is required"), std::string::npos);
  EXPECT_NE(message("[4,3]", layer("GRU", R"({"name":"l","units":2,"recurrentDropout":0.1})")).find("'recurrentDropout' is not supported"),
            std::string::npos);
  EXPECT_NE(message("[4,3,2]", layer("LSTM", R"({"name":"l","units":2})")).find("expects an input of shape [steps, features]"),
            std::string::npos);
  EXPECT_NE(message("[4,3]", layer("SimpleRNN", R"({"name":"l","units":2,"activation":"softmax"})")).find("SimpleRNN"),
            std::string::npos);
  EXPECT_NE(message("[4,3]", layer("Bidirectional", R"({"name":"b","layer":{"className":"Dense","config":{"units":2}}})")).find("wraps a recurrent layer"),
            std::string::npos);
  EXPECT_NE(message("[4,3]", layer("Bidirectional", R"({"name":"b","mergeMode":"max","layer":{"className":"LSTM","config":{"units":2}}})")).find("'mergeMode' must be one of"),
            std::string::npos);
  EXPECT_NE(message("[4,3]", layer("TimeDistributed", R"({"name":"t"})")).find("argument 'layer'"), std::string::npos);
}
