// Helpers for tests that build models from a JSON topology: sequential
// topologies, seeded data, and every weight's autodiff gradient against
// central finite differences of the model's loss.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "api/model.h"
#include "core/rng.h"
#include "io/model_format.h"

namespace kiln::testing {

// InputLayer "in" of `input_shape` (JSON list, batch excluded), then `layers` in a chain.
inline std::string sequential_topology(const std::string& input_shape, const std::vector<std::string>& layers) {
  std::string t = R"({"layers":[{"className":"InputLayer","config":{"name":"in","shape":)" + input_shape + "}}";
  for (const std::string& l : layers) t += "," + l;
  t += R"(],"nodes":[{"layer":0,"inputs":[]})";
  for (size_t i = 1; i <= layers.size(); ++i)
    t += R"(,{"layer":)" + std::to_string(i) + R"(,"inputs":[[)" + std::to_string(i - 1) + ",0]]}";
  t += R"(],"inputs":[0],"outputs":[[)" + std::to_string(layers.size()) + ",0]]}";
  return t;
}

// Creates and compiles (SGD 0.05) a model; null (with a test failure) on error.
inline std::unique_ptr<Model> make_model(const std::string& topo, LossKind loss, uint64_t seed = 3) {
  std::unique_ptr<Model> m;
  Status s = Model::create(topo, seed, &m);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!m) return m;
  TrainingConfig c;
  c.loss = loss;
  c.optimizer.kind = OptimizerKind::kSgd;
  c.optimizer.learning_rate = 0.05f;
  EXPECT_TRUE(m->compile(c).ok());
  return m;
}

// Encodes `m` (with its optimizer state) and decodes a copy; null (with a
// test failure) on error.
inline std::unique_ptr<Model> save_and_load(Model& m) {
  std::vector<uint8_t> bytes;
  Status s = encode_model(m, true, &bytes);
  EXPECT_TRUE(s.ok()) << s.message();
  std::unique_ptr<Model> back;
  if (s.ok()) s = decode_model(bytes.data(), bytes.size(), &back);
  EXPECT_TRUE(s.ok()) << s.message();
  return back;
}

inline std::vector<float> random_vec(size_t n, uint64_t seed, double scale = 1.0) {
  Rng r(seed);
  std::vector<float> v(n);
  for (float& x : v) x = float(scale * r.normal());
  return v;
}

inline std::vector<float> one_hot(int64_t n, int64_t classes, uint64_t seed) {
  Rng r(seed);
  std::vector<float> y(size_t(n * classes), 0.0f);
  for (int64_t i = 0; i < n; ++i) y[size_t(i * classes + r.below(uint32_t(classes)))] = 1.0f;
  return y;
}

// Every trainable weight's autodiff gradient against central differences of
// evaluate() (about 12 entries per weight), relative to the weight's largest
// gradient entry. `step`: the relative finite-difference step; small steps
// keep max-pooling argmaxes in place, larger ones beat float32 rounding of
// the loss where every op is smooth.
inline void check_gradients(Model& m, const std::vector<const float*>& xs, const std::vector<const float*>& ys, int64_t n,
                            double tol, float step = 2e-3f) {
  float loss;
  std::vector<std::vector<float>> grads;
  Status s = m.gradients(xs, ys, n, &loss, &grads);
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<float> metric(m.num_metric_values() + 1);
  size_t gi = 0;
  for (size_t w = 0; w < m.num_weights(); ++w) {
    if (!m.weight_trainable(w)) continue;
    const float* data = m.weight_data(w);
    const int64_t count = shape_numel(m.weight_shape(w));
    double worst = 0, scale = 1e-3;
    for (int64_t i = 0; i < count; ++i) scale = std::max(scale, double(std::fabs(grads[gi][size_t(i)])));
    for (int64_t i = 0; i < count; i += std::max<int64_t>(1, count / 12)) {
      const float orig = data[i];
      const float h = step * std::max(1.0f, std::fabs(orig));
      float lp, lm;
      // A fresh writable view per write: it tells the model its weights changed.
      m.mutable_weight_data(w)[i] = orig + h;
      ASSERT_TRUE(m.evaluate(xs, ys, n, &lp, metric.data()).ok());
      m.mutable_weight_data(w)[i] = orig - h;
      ASSERT_TRUE(m.evaluate(xs, ys, n, &lm, metric.data()).ok());
      m.mutable_weight_data(w)[i] = orig;
      const double fd = (double(lp) - double(lm)) / (2.0 * double(h));
      worst = std::max(worst, std::fabs(fd - double(grads[gi][size_t(i)])) / scale);
    }
    EXPECT_LT(worst, tol) << m.weight_name(w) << " (largest gradient entry " << scale << ")";
    ++gi;
  }
}

inline void check_gradients(Model& m, const std::vector<float>& x, const std::vector<float>& y, int64_t n, double tol,
                            float step = 2e-3f) {
  check_gradients(m, std::vector<const float*>{x.data()}, std::vector<const float*>{y.data()}, n, tol, step);
}

}  // namespace kiln::testing
