// Eager calls under autograd (Model::call_forward / call_backward): d/d input
// and d/d weight of sum(r * output) against central finite differences of the
// outputs, in inference and training behaviour; two calls pending at once
// keep their own activations; frozen and failed cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "api/model.h"
#include "model_test_utils.h"

namespace kiln {
namespace {

using testing::random_vec;
using testing::sequential_topology;

constexpr int64_t kBatch = 3;

std::unique_ptr<Model> conv_model() {
  std::unique_ptr<Model> m;
  const Status s = Model::create(
      sequential_topology("[6,6,2]", {R"({"className":"Conv2D","config":{"name":"c","filters":3,"kernelSize":3,"activation":"tanh"}})",
                                      R"({"className":"BatchNormalization","config":{"name":"bn"}})",
                                      R"({"className":"Flatten","config":{"name":"f"}})",
                                      R"({"className":"Dense","config":{"name":"d","units":4,"activation":"sigmoid"}})"}),
      5, &m);
  EXPECT_TRUE(s.ok()) << s.message();
  return m;
}

// sum(r * output) of one call, whose backward pass is never taken.
double weighted_output(Model& m, const std::vector<float>& x, const std::vector<float>& r, bool training) {
  std::vector<float> y(r.size());
  int call = 0;
  EXPECT_TRUE(m.call_forward({x.data()}, kBatch, training, {y.data()}, &call).ok());
  m.call_release(call);
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i) sum += double(r[i]) * double(y[i]);
  return sum;
}

struct CallGrads {
  std::vector<float> dx;
  std::vector<std::vector<float>> dw;  // per weight; empty where not asked
};

CallGrads backward_of(Model& m, int call, const std::vector<float>& r, const std::vector<bool>& want) {
  CallGrads g;
  g.dx.resize(size_t(kBatch * shape_numel(m.input_shape(0))));
  g.dw.resize(m.num_weights());
  std::vector<float*> dws(m.num_weights(), nullptr);
  for (size_t w = 0; w < m.num_weights(); ++w)
    if (want[w]) {
      g.dw[w].resize(size_t(shape_numel(m.weight_shape(w))));
      dws[w] = g.dw[w].data();
    }
  const Status s = m.call_backward(call, {r.data()}, {g.dx.data()}, dws);
  EXPECT_TRUE(s.ok()) << s.message();
  return g;
}

void check_against_differences(bool training) {
  std::unique_ptr<Model> m = conv_model();
  ASSERT_TRUE(m);
  const std::vector<float> x = random_vec(size_t(kBatch * 72), 11);
  const std::vector<float> r = random_vec(size_t(kBatch * 4), 12);
  std::vector<float> y(r.size());
  int call = 0;
  ASSERT_TRUE(m->call_forward({x.data()}, kBatch, training, {y.data()}, &call).ok());
  std::vector<bool> want(m->num_weights());
  for (size_t w = 0; w < want.size(); ++w) want[w] = m->weight_trainable(w);
  const CallGrads g = backward_of(*m, call, r, want);

  const double h = 1e-2;
  std::vector<float> xp = x;
  for (size_t i = 0; i < x.size(); i += 7) {
    xp[i] = x[i] + float(h);
    const double up = weighted_output(*m, xp, r, training);
    xp[i] = x[i] - float(h);
    const double down = weighted_output(*m, xp, r, training);
    xp[i] = x[i];
    EXPECT_NEAR(g.dx[i], (up - down) / (2 * h), 2e-3) << "d/dx[" << i << "]";
  }
  for (size_t w = 0; w < m->num_weights(); ++w) {
    if (!want[w]) continue;
    const int64_t n = shape_numel(m->weight_shape(w));
    for (int64_t i = 0; i < n; i += std::max<int64_t>(1, n / 8)) {
      const float orig = m->weight_data(w)[i];
      m->mutable_weight_data(w)[i] = orig + float(h);
      const double up = weighted_output(*m, x, r, training);
      m->mutable_weight_data(w)[i] = orig - float(h);
      const double down = weighted_output(*m, x, r, training);
      m->mutable_weight_data(w)[i] = orig;
      EXPECT_NEAR(g.dw[w][size_t(i)], (up - down) / (2 * h), 2e-3) << m->weight_name(w) << "[" << i << "]";
    }
  }
}

TEST(ModelCall, InferenceGradientsMatchFiniteDifferences) { check_against_differences(false); }

TEST(ModelCall, TrainingGradientsMatchFiniteDifferences) { check_against_differences(true); }

TEST(ModelCall, TwoPendingCallsKeepTheirOwnActivations) {
  std::unique_ptr<Model> m = conv_model();
  ASSERT_TRUE(m);
  const std::vector<float> x1 = random_vec(size_t(kBatch * 72), 1), x2 = random_vec(size_t(kBatch * 72), 2);
  const std::vector<float> r = random_vec(size_t(kBatch * 4), 3);
  const std::vector<bool> want(m->num_weights(), false);
  std::vector<float> y(r.size());
  // Each alone, then both pending at once and taken in the other order.
  int a = 0, b = 0;
  ASSERT_TRUE(m->call_forward({x1.data()}, kBatch, false, {y.data()}, &a).ok());
  const CallGrads alone1 = backward_of(*m, a, r, want);
  ASSERT_TRUE(m->call_forward({x2.data()}, kBatch, false, {y.data()}, &b).ok());
  const CallGrads alone2 = backward_of(*m, b, r, want);
  ASSERT_TRUE(m->call_forward({x1.data()}, kBatch, false, {y.data()}, &a).ok());
  ASSERT_TRUE(m->call_forward({x2.data()}, kBatch, false, {y.data()}, &b).ok());
  EXPECT_NE(a, b);
  const CallGrads both2 = backward_of(*m, b, r, want);
  const CallGrads both1 = backward_of(*m, a, r, want);
  EXPECT_EQ(both1.dx, alone1.dx);
  EXPECT_EQ(both2.dx, alone2.dx);
  EXPECT_NE(alone1.dx, alone2.dx);
}

TEST(ModelCall, FrozenLayersGetNoGradientAndUnknownCallsAreErrors) {
  std::unique_ptr<Model> m = conv_model();
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->set_layer_trainable("c", false).ok());
  const std::vector<float> x = random_vec(size_t(kBatch * 72), 4), r = random_vec(size_t(kBatch * 4), 5);
  std::vector<float> y(r.size());
  int call = 0;
  ASSERT_TRUE(m->call_forward({x.data()}, kBatch, false, {y.data()}, &call).ok());
  const CallGrads g = backward_of(*m, call, r, std::vector<bool>(m->num_weights(), true));
  for (size_t w = 0; w < m->num_weights(); ++w) {
    const bool any = std::any_of(g.dw[w].begin(), g.dw[w].end(), [](float v) { return v != 0.0f; });
    EXPECT_EQ(any, m->weight_trainable(w)) << m->weight_name(w);
  }
  // Its backward pass ran: the call is gone.
  std::vector<float> dx(x.size());
  const Status again = m->call_backward(call, {r.data()}, {dx.data()}, std::vector<float*>(m->num_weights(), nullptr));
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("no pending call"), std::string::npos) << again.message();
}

}  // namespace
}  // namespace kiln
