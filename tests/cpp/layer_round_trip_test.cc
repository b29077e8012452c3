// Save / load keeps every layer class exactly: for each class, a model with
// that layer takes one training step (so the weights, moving statistics and
// optimizer state are no longer their initial values), is encoded with its
// optimizer state, decoded, and must predict bit for bit the same. The simple
// layers (reshaping, merge, activation, noise, embedding) have their round
// trips in simple_layers_test.cc; this file fails for any registered class
// that neither covers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "io/model_format.h"
#include "layers/layer.h"
#include "model_test_utils.h"

using namespace kiln;
using namespace kiln::testing;

namespace {

struct Case {
  const char* cls;
  const char* input_shape;  // batch excluded
  const char* config;
};

const Case kCases[] = {
    {"Dense", "[5]", R"({"units":3,"activation":"tanh"})"},
    {"Activation", "[5]", R"({"activation":"gelu"})"},
    {"Conv1D", "[9,3]", R"({"filters":4,"kernelSize":3,"strides":2,"padding":"same"})"},
    {"Conv2D", "[7,6,2]", R"({"filters":4,"kernelSize":3,"dilationRate":2,"activation":"relu"})"},
    {"DepthwiseConv2D", "[7,6,2]", R"({"kernelSize":3,"depthMultiplier":2,"strides":2,"padding":"same"})"},
    {"SeparableConv2D", "[7,6,2]", R"({"filters":3,"kernelSize":2})"},
    {"Conv2DTranspose", "[4,3,2]", R"({"filters":3,"kernelSize":3,"strides":2})"},
    {"MaxPooling1D", "[9,3]", R"({"poolSize":3,"strides":2})"},
    {"MaxPooling2D", "[7,6,2]", R"({"poolSize":2,"padding":"same"})"},
    {"Masking", "[4,3]", R"({"maskValue":0.5})"},
    {"ConvLSTM2D", "[3,5,4,2]", R"({"filters":2,"kernelSize":3,"padding":"same","returnSequences":true})"},
    {"Conv3D", "[4,5,3,2]", R"({"filters":3,"kernelSize":2,"padding":"same","activation":"relu"})"},
    {"Conv3DTranspose", "[2,3,2,2]", R"({"filters":2,"kernelSize":3,"strides":2})"},
    {"MaxPooling3D", "[4,4,3,2]", R"({"poolSize":2,"padding":"same"})"},
    {"AveragePooling3D", "[4,4,3,2]", R"({"poolSize":[2,2,1]})"},
    {"AveragePooling1D", "[9,3]", R"({"poolSize":2,"padding":"same"})"},
    {"AveragePooling2D", "[7,6,2]", R"({"poolSize":[2,3]})"},
    {"GlobalMaxPooling1D", "[9,3]", "{}"},
    {"GlobalMaxPooling2D", "[7,6,2]", "{}"},
    {"GlobalAveragePooling1D", "[9,3]", "{}"},
    {"GlobalAveragePooling2D", "[7,6,2]", "{}"},
    {"BatchNormalization", "[7,6,2]", R"({"momentum":0.5})"},
    {"LayerNormalization", "[9,3]", "{}"},
    {"SimpleRNN", "[6,3]", R"({"units":4,"returnSequences":true,"goBackwards":true})"},
    {"LSTM", "[6,3]", R"({"units":4,"unitForgetBias":true})"},
    {"GRU", "[6,3]", R"({"units":4,"resetAfter":true,"returnSequences":true})"},
    {"Bidirectional", "[6,3]", R"({"mergeMode":"mul","layer":{"className":"LSTM","config":{"name":"l","units":3}}})"},
    {"TimeDistributed", "[6,3]", R"({"layer":{"className":"Dense","config":{"name":"d","units":2}}})"},
    {"Rescaling", "[5]", R"({"scale":0.5,"offset":-1})"},
    {"CenterCrop", "[7,6,2]", R"({"height":4,"width":3})"},
    {"Resizing", "[4,5,2]", R"({"height":7,"width":3})"},
};

// Classes whose round trips live in simple_layers_test.cc.
const char* const kSimpleLayerClasses[] = {
    "InputLayer", "Flatten", "Reshape", "Permute", "RepeatVector", "Cropping1D", "Cropping2D", "ZeroPadding1D",
    "ZeroPadding2D", "UpSampling1D", "UpSampling2D", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
    "Concatenate", "Dot", "ReLU", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax", "Dropout",
    "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Embedding"};

}  // namespace

TEST(LayerRoundTrip, EveryLayerClassPredictsBitForBitAfterSaveLoad) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.cls);
    std::string config = c.config;
    config.insert(1, R"("name":"layer_under_test")" + std::string(config.size() > 2 ? "," : ""));
    auto m = make_model(sequential_topology(c.input_shape, {R"({"className":")" + std::string(c.cls) + R"(","config":)" + config + "}"}),
                        LossKind::kMeanSquaredError);
    ASSERT_TRUE(m);
    const int64_t n = 3, in = shape_numel(m->input_shape(0)), out = shape_numel(m->output_shape(0));
    const std::vector<float> x = random_vec(size_t(n * in), 1), y = random_vec(size_t(n * out), 2);
    std::vector<float> metric(m->num_metric_values());
    float loss;
    ASSERT_TRUE(m->train_batch(x.data(), y.data(), nullptr, n, &loss, metric.data()).ok());
    std::unique_ptr<Model> back = save_and_load(*m);
    ASSERT_TRUE(back);
    std::vector<float> a(size_t(n * out)), b(size_t(n * out));
    ASSERT_TRUE(m->predict(x.data(), n, a.data()).ok());
    ASSERT_TRUE(back->predict(x.data(), n, b.data()).ok());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
    // The optimizer state came along: one more step lands on the same weights.
    ASSERT_TRUE(m->train_batch(x.data(), y.data(), nullptr, n, &loss, metric.data()).ok());
    ASSERT_TRUE(back->train_batch(x.data(), y.data(), nullptr, n, &loss, metric.data()).ok());
    for (size_t w = 0; w < m->num_weights(); ++w)
      EXPECT_EQ(0, std::memcmp(m->weight_data(w), back->weight_data(w), size_t(shape_numel(m->weight_shape(w))) * sizeof(float)))
          << m->weight_name(w);
  }
  for (const std::string& name : layer_class_names()) {
    if (name == "CategoryEncoding") continue;  // its inputs are ids: CategoryEncodingIdsRoundTrip below
    const bool covered = std::any_of(std::begin(kCases), std::end(kCases), [&](const Case& c) { return name == c.cls; }) ||
                         std::find(std::begin(kSimpleLayerClasses), std::end(kSimpleLayerClasses), name) != std::end(kSimpleLayerClasses);
    EXPECT_TRUE(covered) << name << " has no save/load round-trip test";
  }
}

// CategoryEncoding takes ids: a model of it and a Dense head trains a step,
// then predicts the same after save and load; a bad id fails the call.
TEST(LayerRoundTrip, CategoryEncodingIdsRoundTrip) {
  auto m = make_model(sequential_topology("[3]", {R"({"className":"CategoryEncoding","config":{"name":"enc","numTokens":5,"outputMode":"count"}})",
                                                   R"({"className":"Dense","config":{"name":"d","units":2}})"}),
                      LossKind::kMeanSquaredError);
  ASSERT_TRUE(m);
  const std::vector<float> x = {0, 1, 1, 4, 4, 4, 2, 3, 0}, y = random_vec(6, 3);
  std::vector<float> metric(m->num_metric_values());
  float loss;
  ASSERT_TRUE(m->train_batch(x.data(), y.data(), nullptr, 3, &loss, metric.data()).ok());
  std::unique_ptr<Model> back = save_and_load(*m);
  ASSERT_TRUE(back);
  std::vector<float> a(6), b(6);
  ASSERT_TRUE(m->predict(x.data(), 3, a.data()).ok());
  ASSERT_TRUE(back->predict(x.data(), 3, b.data()).ok());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
  const std::vector<float> bad = {0, 1, 5};
  const Status s = m->predict(bad.data(), 1, a.data());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("id 5"), std::string::npos) << s.message();
  EXPECT_TRUE(m->predict(x.data(), 3, a.data()).ok());  // usable again
}
