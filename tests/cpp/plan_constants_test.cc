// Plans compute what depends only on the weights once per change of them
// (src/runtime/plan.cc: constant steps such as folded batch norms; the CPU
// backend's packed filters and dense kernels, src/backends/cpu/packed_weights.cc),
// so every path that changes weights must be seen by the next call: after
// set_weights, a training step, and a load, predict() equals a fresh model
// given the same weights, and differs from what it gave before.
#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

// Winograd (3x3, 16 channels), im2col (strided) and 1x1 convolutions, a
// folded batch norm, and a dense layer on 8 rows (a packed GEMM).
Sequential make_model(uint64_t seed) {
  Sequential m({8, 8, 16}, seed);
  m.add("Conv2D", R"({"filters": 16, "kernelSize": 3, "padding": "same"})");
  m.add("BatchNormalization");
  m.add("Activation", R"({"activation": "relu"})");
  m.add("Conv2D", R"({"filters": 12, "kernelSize": 3, "strides": 2, "activation": "relu"})");
  m.add("Conv2D", R"({"filters": 10, "kernelSize": 1})");
  m.add("Flatten");
  m.add("Dense", R"({"units": 5, "activation": "softmax"})");
  CompileOptions co;
  co.optimizer = "sgd";
  co.learning_rate = 0.1f;
  m.compile(co);
  return m;
}

std::vector<float> uniform(size_t n, uint64_t seed, float lo, float hi) {
  Rng r(seed);
  std::vector<float> v(n);
  for (float& x : v) x = lo + (hi - lo) * r.uniform();
  return v;
}

// A fresh model given `weights` predicts what the model under test should.
std::vector<float> fresh_predict(const std::vector<std::vector<float>>& weights, const std::vector<float>& x, int64_t n) {
  Sequential fresh = make_model(99);
  fresh.set_weights(weights);
  return fresh.predict(x.data(), n);
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = a.size() == b.size() ? 0 : 1e30;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d = std::max(d, double(std::fabs(a[i] - b[i])));
  return d;
}

TEST(PlanConstants, EveryWeightChangeIsSeenByTheNextPredict) {
  const int64_t n = 8;
  const std::vector<float> x = uniform(size_t(n * 8 * 8 * 16), 3, -1, 1);
  Sequential m = make_model(7);
  // Moving statistics away from 0 / 1, so the folded batch norm matters.
  std::vector<std::vector<float>> w = m.get_weights();
  for (size_t i = 0; i < w.size(); ++i) {
    const bool variance = i + 1 == w.size();  // TF.js order: the moving variance is last
    w[i] = uniform(w[i].size(), 10 + i, variance ? 0.5f : -0.5f, variance ? 1.5f : 0.5f);
  }
  m.set_weights(w);
  const std::vector<float> y1 = m.predict(x.data(), n);
  EXPECT_LT(max_diff(y1, fresh_predict(m.get_weights(), x, n)), 1e-6);
  EXPECT_NE(m.placement().find("\"constant\":true"), std::string::npos) << m.placement();

  // set_weights after a predict.
  for (auto& v : w)
    for (float& e : v) e *= 0.8f;
  m.set_weights(w);
  const std::vector<float> y2 = m.predict(x.data(), n);
  EXPECT_GT(max_diff(y2, y1), 1e-4);
  EXPECT_LT(max_diff(y2, fresh_predict(w, x, n)), 1e-6);

  // A training step (weights and moving statistics move).
  std::vector<float> y(size_t(n * 5), 0.0f);
  for (int64_t i = 0; i < n; ++i) y[size_t(i * 5 + i % 5)] = 1.0f;
  m.train_on_batch(x.data(), y.data(), n);
  const std::vector<float> y3 = m.predict(x.data(), n);
  EXPECT_GT(max_diff(y3, y2), 1e-5);
  EXPECT_LT(max_diff(y3, fresh_predict(m.get_weights(), x, n)), 1e-6);

  // A file loaded into a new model, then the original changed again.
  const std::vector<uint8_t> file = m.save();
  Sequential loaded = Sequential::load(file.data(), file.size());
  EXPECT_LT(max_diff(loaded.predict(x.data(), n), y3), 1e-6);
  m.set_weights(w);
  EXPECT_LT(max_diff(m.predict(x.data(), n), y2), 1e-6);
}

}  // namespace
}  // namespace kiln
