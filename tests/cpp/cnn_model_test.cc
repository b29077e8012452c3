// Convolutional models end to end through the JSON topology: the autodiff
// gradient of a small CNN against central finite differences of the loss,
// training that lowers the loss, batch-norm moving statistics, and a
// save/load round trip with identical outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "api/model.h"
#include "core/rng.h"
#include "io/model_format.h"
#include "model_test_utils.h"

using namespace kiln;
using namespace kiln::testing;

namespace {

const char* kConv = R"({"className":"Conv2D","config":{"name":"c1","filters":4,"kernelSize":3,"padding":"same","activation":"tanh"}})";
const char* kConvStrided = R"({"className":"Conv2D","config":{"name":"c2","filters":3,"kernelSize":[2,3],"strides":2,"activation":"linear"}})";
const char* kMaxPool = R"({"className":"MaxPooling2D","config":{"name":"p1","poolSize":2,"padding":"same"}})";
const char* kFlatten = R"({"className":"Flatten","config":{"name":"f"}})";
const char* kSoftmax = R"({"className":"Dense","config":{"name":"out","units":3,"activation":"softmax"}})";

}  // namespace

TEST(CnnModel, GradientsMatchFiniteDifferences) {
  // Smooth activations and a loss away from kinks; max pooling keeps its
  // argmax under the small perturbations of a random input.
  auto m = make_model(sequential_topology("[7,6,2]", {kConv, kMaxPool, kConvStrided, kFlatten, kSoftmax}), LossKind::kCategoricalCrossentropy);
  ASSERT_TRUE(m);
  const int64_t n = 3;
  std::vector<float> x = random_vec(size_t(n * 7 * 6 * 2), 11), y = one_hot(n, 3, 5);
  check_gradients(*m, x, y, n, 2e-2);
}

TEST(CnnModel, DepthwiseSeparableTransposeAndConv1dGradients) {
  const char* dw = R"({"className":"DepthwiseConv2D","config":{"name":"dw","kernelSize":3,"depthMultiplier":2,"activation":"tanh"}})";
  const char* sep = R"({"className":"SeparableConv2D","config":{"name":"sep","filters":3,"kernelSize":2,"activation":"tanh"}})";
  const char* tr = R"({"className":"Conv2DTranspose","config":{"name":"tr","filters":2,"kernelSize":3,"strides":2,"padding":"same"}})";
  const char* gap = R"({"className":"GlobalAveragePooling2D","config":{"name":"gap"}})";
  auto m = make_model(sequential_topology("[6,5,2]", {dw, sep, tr, gap, kSoftmax}), LossKind::kCategoricalCrossentropy);
  ASSERT_TRUE(m);
  std::vector<float> x = random_vec(size_t(2 * 6 * 5 * 2), 12), y = one_hot(2, 3, 6);
  check_gradients(*m, x, y, 2, 2e-2);

  const char* c1 = R"({"className":"Conv1D","config":{"name":"c1d","filters":4,"kernelSize":3,"dilationRate":2,"activation":"tanh"}})";
  const char* ap = R"({"className":"AveragePooling1D","config":{"name":"ap","poolSize":2}})";
  const char* ln = R"({"className":"LayerNormalization","config":{"name":"ln"}})";
  auto m1 = make_model(sequential_topology("[9,3]", {c1, ap, ln, kFlatten, kSoftmax}), LossKind::kCategoricalCrossentropy);
  ASSERT_TRUE(m1);
  std::vector<float> x1 = random_vec(size_t(2 * 9 * 3), 13), y1 = one_hot(2, 3, 7);
  check_gradients(*m1, x1, y1, 2, 2e-2);
}

TEST(CnnModel, TrainingLowersTheLossAndBatchNormTracksStatistics) {
  const char* bn = R"({"className":"BatchNormalization","config":{"name":"bn","momentum":0.9}})";
  const char* relu_conv = R"({"className":"Conv2D","config":{"name":"c1","filters":6,"kernelSize":3,"activation":"relu"}})";
  auto m = make_model(sequential_topology("[8,8,1]", {relu_conv, bn, kMaxPool, kFlatten, kSoftmax}), LossKind::kCategoricalCrossentropy);
  ASSERT_TRUE(m);
  const int64_t n = 32;
  std::vector<float> x = random_vec(size_t(n * 64), 21), y = one_hot(n, 3, 22);
  std::vector<float> metric(m->num_metric_values());
  float first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    float loss;
    ASSERT_TRUE(m->train_batch(x.data(), y.data(), nullptr, n, &loss, metric.data()).ok());
    if (step == 0) first = loss;
    last = loss;
  }
  EXPECT_LT(last, 0.7f * first);
  // Moving statistics moved away from their initial zeros / ones.
  bool moved = false;
  for (size_t w = 0; w < m->num_weights(); ++w)
    if (m->weight_name(w) == "bn/moving_mean") moved = std::fabs(m->weight_data(w)[0]) > 1e-4f;
  EXPECT_TRUE(moved);
  EXPECT_FALSE(m->weight_trainable(m->num_weights() - 1));
}

TEST(CnnModel, SaveLoadRoundTripIsBitExact) {
  const char* bn = R"({"className":"BatchNormalization","config":{"name":"bn"}})";
  auto m = make_model(sequential_topology("[7,6,2]", {kConv, bn, kMaxPool, kConvStrided, kFlatten, kSoftmax}), LossKind::kCategoricalCrossentropy);
  ASSERT_TRUE(m);
  std::vector<float> x = random_vec(size_t(4 * 7 * 6 * 2), 31), y = one_hot(4, 3, 32);
  std::vector<float> metric(m->num_metric_values());
  float loss;
  ASSERT_TRUE(m->train_batch(x.data(), y.data(), nullptr, 4, &loss, metric.data()).ok());
  std::unique_ptr<Model> back = save_and_load(*m);
  ASSERT_TRUE(back);
  std::vector<float> a(12), b(12);
  ASSERT_TRUE(m->predict(x.data(), 4, a.data()).ok());
  ASSERT_TRUE(back->predict(x.data(), 4, b.data()).ok());
  EXPECT_EQ(a, b);
  EXPECT_EQ(back->topology(), m->topology());
}

TEST(CnnModel, BadConfigsAndShapesGiveClearErrors) {
  std::unique_ptr<Model> m;
  Status s = Model::create(sequential_topology("[7,6,2]", {R"({"className":"Conv2D","config":{"name":"c","filters":4}})"}), 1, &m);
  EXPECT_NE(s.message().find("'kernelSize' is required"), std::string::npos) << s.message();
  s = Model::create(sequential_topology("[7,6]", {kConv}), 1, &m);
  EXPECT_NE(s.message().find("expects one input of rank 3 (without the batch), got [7, 6]"), std::string::npos) << s.message();
  s = Model::create(sequential_topology("[2,2,1]", {R"({"className":"Conv2D","config":{"name":"c","filters":1,"kernelSize":5}})"}), 1, &m);
  EXPECT_FALSE(s.ok());
  s = Model::create(sequential_topology("[7,6,2]", {R"({"className":"Conv2D","config":{"name":"c","filters":4,"kernelSize":3,"padding":"full"}})"}), 1, &m);
  EXPECT_NE(s.message().find("'padding' must be one of 'valid', 'same', got 'full'"), std::string::npos) << s.message();
  s = Model::create(R"({"layers":[}")", 1, &m);
  EXPECT_NE(s.message().find("JSON"), std::string::npos) << s.message();
}
