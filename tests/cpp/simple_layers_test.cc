// The simple layers (reshaping, merge, advanced activations, noise, Embedding):
//  * forward output and gradients against PyTorch, for the cases in
//    tests/fixtures/layers_simple (written by scripts/make_layer_fixtures_simple.py):
//    predict() through a one-layer Model, gradients through the layer's graph
//    (Layer::call + append_backward + Plan), all within 1e-4 relative;
//  * every differentiable op's backward against central finite differences
//    of the double-accumulated loss sum(y * r);
//  * a save/load round trip (encode_model / decode_model) gives bit-identical
//    predictions for every layer class;
//  * the noise layers: identity at inference, masks at the right rate in
//    training, and gradients that use the saved mask;
//  * bad input shapes and bad arguments give clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/model.h"
#include "core/json.h"
#include "core/thread_pool.h"
#include "runtime/plan.h"
#include "io/model_format.h"
#include "layer_fixture.h"
#include "layers/layer.h"
#include "ops/dropout.h"

namespace kiln {
namespace {

// Fixture reading, the one-layer model and graph builders and the per-case
// comparisons against PyTorch are shared with the other layer tests.
using namespace layer_test;

std::vector<LayerFixture> simple_fixtures() { return all_fixtures("simple", 40); }

// ---- 1. forward (predict) and gradients against PyTorch ----------------------------

TEST(SimpleLayersTorch, ForwardMatchesPredict) { for_each_fixture("simple", 40, "predict", check_predict); }

TEST(SimpleLayersTorch, GradientsMatch) { for_each_fixture("simple", 40, "gradient", check_gradients); }

// The gradient plan of a compiled model (Model::gradients) agrees too, for the
// layers with weights.
TEST(SimpleLayersTorch, ModelGradientsOfWeightedLayers) {
  for_each_fixture("simple", 40, "model-gradient", check_model_gradients);
}

// ---- 2. backward against finite differences -----------------------------------------

TEST(SimpleLayersFiniteDiff, BackwardMatchesCentralDifferences) {
  constexpr float kEps = 1e-3f;
  for (const LayerFixture& f : simple_fixtures()) {
    SCOPED_TRACE(f.name);
    LayerGraph an, fw;
    Status s = an.init(f.cls, f.config, f.inputs, f.batch, false, true, nullptr);
    ASSERT_TRUE(s.ok()) << s.message();
    s = fw.init(f.cls, f.config, f.inputs, f.batch, false, false, nullptr);
    ASSERT_TRUE(s.ok()) << s.message();
    const std::vector<float>& r = f.get("r");
    std::vector<std::vector<float>> xs;
    for (size_t i = 0; i < f.inputs.size(); ++i) xs.push_back(f.get("x" + std::to_string(i)));
    for (size_t k = 0; k < an.weights.size(); ++k) an.weights[k] = fw.weights[k] = f.get("w" + std::to_string(k));
    for (size_t i = 0; i < xs.size(); ++i) {
      an.set(an.xs[i], xs[i]);
      fw.set(fw.xs[i], xs[i]);
    }
    an.set(an.r, r);
    an.run();
    // Perturbs one element of a tensor and returns (L(+eps) - L(-eps)) / 2eps.
    auto central = [&](float* p, auto refresh) {
      const float orig = *p;
      *p = orig + kEps;
      refresh();
      const double lp = loss_of(fw, r);
      *p = orig - kEps;
      refresh();
      const double lm = loss_of(fw, r);
      *p = orig;
      refresh();
      return (lp - lm) / (2.0 * double(kEps));
    };
    auto compare = [&](const std::vector<float>& analytic, const std::vector<double>& numeric, const std::string& what) {
      ASSERT_EQ(analytic.size(), numeric.size()) << what;
      double scale = 1;
      for (float a : analytic) scale = std::max(scale, double(std::fabs(a)));
      for (size_t j = 0; j < numeric.size(); ++j)
        EXPECT_NEAR(analytic[j], numeric[j], 5e-3 * scale) << what << "[" << j << "]";
    };
    for (size_t i = 0; i < xs.size(); ++i) {
      if (!f.has("dx" + std::to_string(i))) continue;
      std::vector<double> num(xs[i].size());
      std::vector<float> x = xs[i];
      for (size_t j = 0; j < x.size(); ++j) num[j] = central(&x[j], [&] { fw.set(fw.xs[i], x); });
      compare(an.grad_of(an.xs[i]), num, "dx" + std::to_string(i));
    }
    for (size_t k = 0; k < fw.weights.size(); ++k) {
      std::vector<double> num(fw.weights[k].size());
      for (size_t j = 0; j < num.size(); ++j) num[j] = central(&fw.weights[k][j], [] {});
      compare(an.grad_of(an.ws[k]), num, "dw" + std::to_string(k));
    }
  }
}

// ---- 3. save / load round trip ---------------------------------------------------------

void expect_round_trip(const std::string& cls, const std::string& config, const std::vector<Shape>& inputs, int64_t batch,
                       const std::vector<std::vector<float>>* weights, const std::vector<std::vector<float>>& xs) {
  SCOPED_TRACE(cls + " " + config);
  std::unique_ptr<Model> m;
  Status s = make_model(cls, config, inputs, &m, 123);
  ASSERT_TRUE(s.ok()) << s.message();
  if (weights)
    for (size_t k = 0; k < m->num_weights(); ++k) ASSERT_TRUE(m->set_weight(k, (*weights)[k].data(), int64_t((*weights)[k].size())).ok());
  std::vector<uint8_t> bytes;
  s = encode_model(*m, false, &bytes);
  ASSERT_TRUE(s.ok()) << s.message();
  std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
  std::memcpy(copy.get(), bytes.data(), bytes.size());
  std::unique_ptr<Model> loaded;
  s = decode_model(copy.get(), bytes.size(), &loaded);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(loaded->num_weights(), m->num_weights());
  const std::vector<float> a = predict(*m, xs, batch), b = predict(*loaded, xs, batch);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "predictions differ after a round trip";
}

TEST(SimpleLayersRoundTrip, EveryLayerClassPredictsIdentically) {
  std::vector<std::string> seen;
  for (const LayerFixture& f : simple_fixtures()) {
    std::vector<std::vector<float>> xs, ws;
    for (size_t i = 0; i < f.inputs.size(); ++i) xs.push_back(f.get("x" + std::to_string(i)));
    for (size_t k = 0; f.has("w" + std::to_string(k)); ++k) ws.push_back(f.get("w" + std::to_string(k)));
    expect_round_trip(f.cls, f.config, f.inputs, f.batch, &ws, xs);
    seen.push_back(f.cls);
  }
  // Layers without fixtures: the noise family (identity at inference), and an
  // Embedding with its own random initial weights.
  std::vector<std::vector<float>> x(1, std::vector<float>(2 * 3 * 4 * 2));
  for (size_t i = 0; i < x[0].size(); ++i) x[0][i] = float(std::sin(double(i)));
  const std::vector<Shape> in = {{3, 4, 2}};
  for (const char* c : {"Dropout", "GaussianDropout", "AlphaDropout", "SpatialDropout2D"}) {
    expect_round_trip(c, "{\"rate\":0.4}", in, 2, nullptr, x);
    seen.push_back(c);
  }
  expect_round_trip("GaussianNoise", "{\"stddev\":0.3}", in, 2, nullptr, x);
  expect_round_trip("SpatialDropout1D", "{\"rate\":0.3}", {{12, 2}}, 2, nullptr, x);
  std::vector<std::vector<float>> idx(1, std::vector<float>{0, 3, 5, 9, 1, 1});
  expect_round_trip("Embedding", "{\"inputDim\":10,\"outputDim\":4}", {{3}}, 2, nullptr, idx);
  seen.insert(seen.end(), {"GaussianNoise", "SpatialDropout1D"});
  for (const char* c : {"Flatten", "Reshape", "Permute", "RepeatVector", "Cropping1D", "Cropping2D", "ZeroPadding1D",
                        "ZeroPadding2D", "UpSampling1D", "UpSampling2D", "Add", "Subtract", "Multiply", "Average",
                        "Maximum", "Minimum", "Concatenate", "Dot", "ReLU", "LeakyReLU", "PReLU", "ELU",
                        "ThresholdedReLU", "Softmax", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
                        "GaussianNoise", "GaussianDropout", "AlphaDropout", "Embedding"}) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), c), seen.end()) << c << " has no round-trip test";
    const auto names = layer_class_names();
    EXPECT_NE(std::find(names.begin(), names.end(), c), names.end()) << c << " is not registered";
  }
}

// ---- noise layers ------------------------------------------------------------------------

std::vector<float> ramp(int64_t n, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = lo + (hi - lo) * float((i * 7919) % n) / float(n);
  return v;
}

TEST(SimpleLayersNoise, InferenceIsIdentity) {
  const std::vector<Shape> in = {{5, 6, 3}};
  const int64_t batch = 4;
  std::vector<std::vector<float>> x = {ramp(batch * 90, -2, 2)};
  const char* cases[][2] = {{"Dropout", "{\"rate\":0.5}"},
                            {"Dropout", "{\"rate\":0.5,\"noiseShape\":[null,1,null,3]}"},
                            {"SpatialDropout2D", "{\"rate\":0.5}"},
                            {"SpatialDropout2D", "{\"rate\":0.5,\"dataFormat\":\"channelsFirst\"}"},
                            {"GaussianNoise", "{\"stddev\":1.0}"},
                            {"GaussianDropout", "{\"rate\":0.5}"},
                            {"AlphaDropout", "{\"rate\":0.5}"}};
  for (auto& c : cases) {
    SCOPED_TRACE(std::string(c[0]) + " " + c[1]);
    std::unique_ptr<Model> m;
    Status s = make_model(c[0], c[1], in, &m);
    ASSERT_TRUE(s.ok()) << s.message();
    const std::vector<float> y = predict(*m, x, batch);
    EXPECT_EQ(0, std::memcmp(y.data(), x[0].data(), y.size() * sizeof(float)));
    // The layer adds no node at inference: its output is its input value.
    LayerGraph lg;
    s = lg.init(c[0], c[1], in, batch, false, false, nullptr);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(lg.y, lg.xs[0]);
  }
  // In training the same layer does add its op.
  LayerGraph lg;
  Rng rng(3);
  ASSERT_TRUE(lg.init("Dropout", "{\"rate\":0.5}", in, batch, true, false, &rng).ok());
  EXPECT_NE(lg.y, lg.xs[0]);
}

// Runs a noise layer in training on x with cotangent r; returns y and dx.
void run_training(const std::string& cls, const std::string& config, const Shape& in, int64_t batch, Rng& rng,
                  const std::vector<float>& x, const std::vector<float>& r, std::vector<float>* y, std::vector<float>* dx) {
  LayerGraph lg;
  Status s = lg.init(cls, config, {in}, batch, true, true, &rng);
  ASSERT_TRUE(s.ok()) << s.message();
  lg.set(lg.xs[0], x);
  lg.set(lg.r, r);
  lg.run();
  *y = lg.output();
  *dx = lg.grad_of(lg.xs[0]);
  ASSERT_EQ(dx->size(), x.size());
}

TEST(SimpleLayersNoise, DropoutMasksAtTheRateAndBackpropagatesTheMask) {
  const Shape in = {40, 50};
  const int64_t batch = 8, n = batch * 2000;
  const std::vector<float> x = ramp(n, 0.5f, 1.5f), r = ramp(n, -1.0f, 1.0f);
  Rng rng(11);
  std::vector<float> y, dx;
  run_training("Dropout", "{\"rate\":0.3}", in, batch, rng, x, r, &y, &dx);
  const float scale = 1.0f / 0.7f;
  int64_t zeros = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (y[size_t(i)] == 0.0f) {
      ++zeros;
      EXPECT_EQ(dx[size_t(i)], 0.0f);
    } else {
      ASSERT_FLOAT_EQ(y[size_t(i)], x[size_t(i)] * scale);
      ASSERT_FLOAT_EQ(dx[size_t(i)], r[size_t(i)] * scale);
    }
  }
  EXPECT_NEAR(double(zeros) / double(n), 0.3, 0.02);
  // The model's generator advances: the next step draws another mask.
  std::vector<float> y2, dx2;
  run_training("Dropout", "{\"rate\":0.3}", in, batch, rng, x, r, &y2, &dx2);
  EXPECT_NE(0, std::memcmp(y.data(), y2.data(), y.size() * sizeof(float)));
}

// Whether y (shape [b, d1, d2, d3]) is zero on whole slices along the axes in `shared`.
void expect_shared_mask(const std::vector<float>& y, const Shape& s, const std::vector<bool>& shared, double rate) {
  // Group elements by their index on the non-shared axes; each group is all zero or all nonzero.
  std::map<std::vector<int64_t>, std::pair<int, int>> groups;  // key -> (zeros, nonzeros)
  std::vector<int64_t> idx(s.size(), 0);
  for (size_t i = 0; i < y.size(); ++i) {
    int64_t rem = int64_t(i);
    for (size_t d = s.size(); d-- > 0;) {
      idx[d] = shared[d] ? 0 : rem % s[d];
      rem /= s[d];
    }
    auto& g = groups[idx];
    (y[i] == 0.0f ? g.first : g.second)++;
  }
  int dropped = 0;
  for (const auto& kv : groups) {
    EXPECT_TRUE(kv.second.first == 0 || kv.second.second == 0) << "a shared draw differs within a slice";
    dropped += kv.second.first > 0;
  }
  EXPECT_NEAR(double(dropped) / double(groups.size()), rate, 0.08) << groups.size() << " groups";
}

TEST(SimpleLayersNoise, SpatialDropoutAndNoiseShapeShareDraws) {
  Rng rng(5);
  const int64_t batch = 16;
  std::vector<float> y, dx;
  {
    const Shape in = {10, 24};  // [steps, channels]
    const int64_t n = batch * 240;
    run_training("SpatialDropout1D", "{\"rate\":0.4}", in, batch, rng, ramp(n, 0.5f, 1.5f), ramp(n, 0.5f, 1.0f), &y, &dx);
    expect_shared_mask(y, {batch, 10, 24}, {false, true, false}, 0.4);
    expect_shared_mask(dx, {batch, 10, 24}, {false, true, false}, 0.4);
  }
  {
    const Shape in = {4, 5, 12};
    const int64_t n = batch * 240;
    run_training("SpatialDropout2D", "{\"rate\":0.4}", in, batch, rng, ramp(n, 0.5f, 1.5f), ramp(n, 0.5f, 1.0f), &y, &dx);
    expect_shared_mask(y, {batch, 4, 5, 12}, {false, true, true, false}, 0.4);
    run_training("SpatialDropout2D", "{\"rate\":0.4,\"dataFormat\":\"channelsFirst\"}", {12, 4, 5}, batch, rng,
                 ramp(n, 0.5f, 1.5f), ramp(n, 0.5f, 1.0f), &y, &dx);
    expect_shared_mask(y, {batch, 12, 4, 5}, {false, false, true, true}, 0.4);
    run_training("Dropout", "{\"rate\":0.4,\"noiseShape\":[null,4,1,null]}", in, batch, rng, ramp(n, 0.5f, 1.5f),
                 ramp(n, 0.5f, 1.0f), &y, &dx);
    expect_shared_mask(y, {batch, 4, 5, 12}, {false, false, true, false}, 0.4);
    run_training("Dropout", "{\"rate\":0.4,\"noiseShape\":[1,4,5,12]}", in, batch, rng, ramp(n, 0.5f, 1.5f),
                 ramp(n, 0.5f, 1.0f), &y, &dx);
    expect_shared_mask(y, {batch, 4, 5, 12}, {true, false, false, false}, 0.4);
  }
}

TEST(SimpleLayersNoise, GaussianNoiseAndGaussianDropoutStatistics) {
  Rng rng(9);
  const Shape in = {100, 40};
  const int64_t batch = 5, n = batch * 4000;
  const std::vector<float> x = ramp(n, 0.5f, 2.0f), r = ramp(n, -1.0f, 1.0f);
  std::vector<float> y, dx;
  run_training("GaussianNoise", "{\"stddev\":0.5}", in, batch, rng, x, r, &y, &dx);
  double s1 = 0, s2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double e = double(y[size_t(i)]) - double(x[size_t(i)]);
    s1 += e;
    s2 += e * e;
    ASSERT_EQ(dx[size_t(i)], r[size_t(i)]);  // additive noise: the gradient passes unchanged
  }
  EXPECT_NEAR(s1 / double(n), 0.0, 0.02);
  EXPECT_NEAR(std::sqrt(s2 / double(n)), 0.5, 0.02);

  run_training("GaussianDropout", "{\"rate\":0.2}", in, batch, rng, x, r, &y, &dx);
  s1 = s2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double m = double(y[size_t(i)]) / double(x[size_t(i)]);
    s1 += m;
    s2 += (m - 1) * (m - 1);
    ASSERT_NEAR(dx[size_t(i)], r[size_t(i)] * float(m), 1e-5);  // the saved multiplier
  }
  EXPECT_NEAR(s1 / double(n), 1.0, 0.02);
  EXPECT_NEAR(std::sqrt(s2 / double(n)), std::sqrt(0.2 / 0.8), 0.02);
}

TEST(SimpleLayersNoise, AlphaDropoutKeepsMeanAndVariance) {
  Rng rng(13);
  const Shape in = {200, 50};
  const int64_t batch = 4, n = batch * 10000;
  // Standard-normal-like inputs (a deterministic normal sample).
  Rng data_rng(77);
  std::vector<float> x(static_cast<size_t>(n)), r = ramp(n, -1.0f, 1.0f);
  for (auto& v : x) v = float(data_rng.normal());
  std::vector<float> y, dx;
  const double rate = 0.2;
  run_training("AlphaDropout", "{\"rate\":0.2}", in, batch, rng, x, r, &y, &dx);
  float a, b, dropped;
  alpha_dropout_constants(rate, &a, &b, &dropped);
  int64_t nd = 0;
  double s1 = 0, s2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float yi = y[size_t(i)];
    if (yi == dropped && std::fabs(a * x[size_t(i)] + b - dropped) > 1e-4f) {
      ++nd;
      ASSERT_EQ(dx[size_t(i)], 0.0f);
    } else {
      ASSERT_NEAR(yi, a * x[size_t(i)] + b, 1e-5);
      ASSERT_NEAR(dx[size_t(i)], r[size_t(i)] * a, 1e-6);
    }
    s1 += yi;
    s2 += double(yi) * double(yi);
  }
  EXPECT_NEAR(double(nd) / double(n), rate, 0.01);
  const double mean = s1 / double(n);
  EXPECT_NEAR(mean, 0.0, 0.03);                         // self-normalizing: mean 0 ...
  EXPECT_NEAR(s2 / double(n) - mean * mean, 1.0, 0.05);  // ... and variance 1 preserved
  EXPECT_LT(dropped, 0.0f);                              // dropped units sit at SELU's negative saturation (scaled)
}

TEST(SimpleLayersNoise, TrainingAModelWithDropoutWorks) {
  const std::string topo =
      R"({"layers":[{"className":"InputLayer","config":{"name":"in","shape":[6]}},)"
      R"({"className":"Dense","config":{"name":"d1","units":16,"activation":"relu"}},)"
      R"({"className":"Dropout","config":{"name":"drop","rate":0.5}},)"
      R"({"className":"Dense","config":{"name":"d2","units":2}}],)"
      R"("nodes":[{"layer":0,"inputs":[]},{"layer":1,"inputs":[[0,0]]},{"layer":2,"inputs":[[1,0]]},{"layer":3,"inputs":[[2,0]]}],)"
      R"("inputs":[0],"outputs":[[3,0]]})";
  std::unique_ptr<Model> m;
  ASSERT_TRUE(Model::create(topo, 1, &m).ok());
  TrainingConfig tc;
  tc.optimizer.kind = OptimizerKind::kAdam;
  tc.optimizer.learning_rate = 0.01f;
  ASSERT_TRUE(m->compile(tc).ok());
  const int64_t n = 32;
  std::vector<float> x = ramp(n * 6, -1, 1), y(size_t(n * 2));
  for (int64_t i = 0; i < n; ++i) {
    y[size_t(i * 2)] = x[size_t(i * 6)] + x[size_t(i * 6 + 1)];
    y[size_t(i * 2 + 1)] = x[size_t(i * 6 + 2)] - x[size_t(i * 6 + 3)];
  }
  float first = 0, last = 0, metric[4];
  for (int step = 0; step < 200; ++step) {
    float loss;
    Status s = m->train_batch(x.data(), y.data(), nullptr, n, &loss, metric);
    ASSERT_TRUE(s.ok()) << s.message();
    if (step == 0) first = loss;
    last = loss;
  }
  EXPECT_LT(last, first * 0.5f);
  // Inference is deterministic (no dropout).
  std::vector<float> p1(size_t(n * 2)), p2(size_t(n * 2));
  ASSERT_TRUE(m->predict(x.data(), n, p1.data()).ok());
  ASSERT_TRUE(m->predict(x.data(), n, p2.data()).ok());
  EXPECT_EQ(p1, p2);
}

// ---- Embedding edge cases -----------------------------------------------------------------

TEST(SimpleLayersEmbedding, OutOfRangeIndicesGiveZeroRowsAndNoGradient) {
  LayerGraph lg;
  Status s = lg.init("Embedding", "{\"inputDim\":4,\"outputDim\":3}", {{6}}, 1, false, true, nullptr);
  ASSERT_TRUE(s.ok()) << s.message();
  for (size_t i = 0; i < 12; ++i) lg.weights[0][i] = float(i + 1);
  lg.set(lg.xs[0], {2.0f, -1.0f, 4.0f, 1e9f, 3.9f, 2.0f});  // 3.9 truncates to 3, like TF.js's int32 cast
  lg.set(lg.r, std::vector<float>(18, 1.0f));
  lg.run();
  const std::vector<float> y = lg.output();
  const std::vector<float> want = {7, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 11, 12, 7, 8, 9};
  EXPECT_EQ(y, want);
  const std::vector<float> dw = lg.grad_of(lg.ws[0]);
  const std::vector<float> want_dw = {0, 0, 0, 0, 0, 0, 2, 2, 2, 1, 1, 1};  // row 2 used twice, row 3 once
  EXPECT_EQ(dw, want_dw);
  EXPECT_TRUE(lg.grad_of(lg.xs[0]).empty());  // indices get no gradient
}

TEST(SimpleLayersEmbedding, DefaultInitializerIsRandomUniform) {
  std::unique_ptr<Model> m;
  ASSERT_TRUE(make_model("Embedding", "{\"inputDim\":50,\"outputDim\":8}", {{3}}, &m).ok());
  ASSERT_EQ(m->num_weights(), 1u);
  EXPECT_EQ(m->weight_shape(0), (Shape{50, 8}));
  EXPECT_EQ(m->weight_name(0), "layer_under_test/embeddings");
  const float* w = m->weight_data(0);
  float lo = 1, hi = -1;
  for (int i = 0; i < 400; ++i) {
    lo = std::min(lo, w[i]);
    hi = std::max(hi, w[i]);
  }
  EXPECT_GE(lo, -0.05f);
  EXPECT_LE(hi, 0.05f);
  EXPECT_LT(lo, -0.03f);
  EXPECT_GT(hi, 0.03f);
}

// ---- threads ---------------------------------------------------------------------------------

// The kernels split big tensors across the pool; every output element (and
// gradient) must come out bit-identical whatever the split.
TEST(SimpleLayersThreads, ParallelRunsMatchSerialBitForBit) {
  struct Case {
    const char* cls;
    const char* config;
    std::vector<Shape> inputs;
    int64_t batch;
    bool training;
  };
  const std::vector<Case> cases = {
      {"Flatten", "{\"dataFormat\":\"channelsFirst\"}", {{16, 32, 32}}, 8, false},
      {"Permute", "{\"dims\":[3,1,2]}", {{64, 32, 16}}, 4, false},
      {"RepeatVector", "{\"n\":64}", {{512}}, 8, false},
      {"Cropping2D", "{\"cropping\":[[2,1],[3,0]]}", {{40, 40, 16}}, 4, false},
      {"ZeroPadding2D", "{\"padding\":[1,2],\"dataFormat\":\"channelsFirst\"}", {{16, 30, 30}}, 4, false},
      {"UpSampling1D", "{\"size\":3}", {{100, 16}}, 8, false},
      {"UpSampling2D", "{\"size\":[2,3]}", {{20, 20, 8}}, 4, false},
      {"UpSampling2D", "{\"size\":[3,2],\"interpolation\":\"bilinear\"}", {{20, 20, 8}}, 4, false},
      {"UpSampling2D", "{\"size\":2,\"interpolation\":\"bilinear\",\"dataFormat\":\"channelsFirst\"}", {{8, 20, 20}}, 4, false},
      {"Add", "{}", {{100, 200}, {100, 200}, {100, 200}}, 4, false},
      {"Multiply", "{}", {{100, 200}, {100, 200}, {100, 200}}, 4, false},
      {"Maximum", "{}", {{100, 200}, {100, 200}, {100, 200}}, 4, false},
      {"Average", "{}", {{100, 200}, {100, 200}}, 4, false},
      {"Concatenate", "{\"axis\":1}", {{50, 40}, {30, 40}}, 64, false},
      {"Dot", "{\"axes\":[2,2],\"normalize\":true}", {{30, 20}, {40, 20}}, 8, false},
      {"ReLU", "{\"maxValue\":1.0,\"negativeSlope\":0.1,\"threshold\":0.2}", {{100, 300}}, 4, false},
      {"ELU", "{\"alpha\":0.7}", {{100, 300}}, 4, false},
      {"PReLU", "{\"sharedAxes\":[1]}", {{50, 40, 20}}, 4, false},
      {"Softmax", "{\"axis\":1}", {{60, 50}}, 8, false},
      {"Softmax", "{}", {{60, 50}}, 8, false},
      {"Embedding", "{\"inputDim\":1000,\"outputDim\":64}", {{200}}, 8, false},
      {"Dropout", "{\"rate\":0.3}", {{100, 300}}, 4, true},
      {"AlphaDropout", "{\"rate\":0.3,\"noiseShape\":[null,1,300]}", {{100, 300}}, 4, true},
      {"SpatialDropout2D", "{\"rate\":0.3}", {{20, 20, 32}}, 4, true},
  };
  ThreadPool& pool = ThreadPool::global();
  const int saved = pool.num_threads();
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.cls) + " " + c.config);
    std::vector<std::vector<float>> results[2];
    for (int pass = 0; pass < 2; ++pass) {
      pool.resize(pass == 0 ? 1 : 4);
      Rng data(21), noise(5);
      LayerGraph lg;
      Status s = lg.init(c.cls, c.config, c.inputs, c.batch, c.training, true, &noise);
      ASSERT_TRUE(s.ok()) << s.message();
      for (auto& w : lg.weights)
        for (auto& v : w) v = float(data.normal());
      for (int x : lg.xs) {
        std::vector<float> v(static_cast<size_t>(lg.numel(x)));
        for (auto& e : v) e = std::string(c.cls) == "Embedding" ? float(data.below(1000)) : float(data.normal());
        lg.set(x, v);
      }
      std::vector<float> r(static_cast<size_t>(lg.numel(lg.r)));
      for (auto& e : r) e = float(data.normal());
      lg.set(lg.r, r);
      lg.run();
      results[pass].push_back(lg.output());
      for (int x : lg.xs) results[pass].push_back(lg.grad_of(x));
      for (int w : lg.ws) results[pass].push_back(lg.grad_of(w));
    }
    ASSERT_EQ(results[0].size(), results[1].size());
    for (size_t k = 0; k < results[0].size(); ++k) {
      ASSERT_EQ(results[0][k].size(), results[1][k].size()) << "result " << k;
      EXPECT_TRUE(results[0][k] == results[1][k]) << "result " << k << " differs between 1 and 4 threads";
    }
    EXPECT_FALSE(results[0][0].empty());
  }
  pool.resize(saved);
}

// ---- shapes and errors ----------------------------------------------------------------------

struct ShapeCase {
  const char* cls;
  const char* config;
  std::vector<Shape> inputs;
  Shape output;
};

TEST(SimpleLayersShapes, OutputShapesFromBuild) {
  const std::vector<ShapeCase> cases = {
      {"Flatten", "{}", {{3, 4, 5}}, {60}},
      {"Flatten", "{}", {{7}}, {7}},
      {"Reshape", "{\"targetShape\":[null,2]}", {{3, 4}}, {6, 2}},
      {"Reshape", "{\"targetShape\":[12]}", {{3, 4}}, {12}},
      {"Permute", "{\"dims\":[2,1]}", {{3, 4}}, {4, 3}},
      {"RepeatVector", "{\"n\":5}", {{3}}, {5, 3}},
      {"Cropping1D", "{}", {{6, 2}}, {4, 2}},
      {"Cropping1D", "{\"cropping\":2}", {{6, 2}}, {2, 2}},
      {"Cropping2D", "{\"cropping\":1}", {{6, 5, 2}}, {4, 3, 2}},
      {"Cropping2D", "{}", {{6, 5, 2}}, {6, 5, 2}},
      {"ZeroPadding1D", "{}", {{6, 2}}, {8, 2}},
      {"ZeroPadding2D", "{}", {{6, 5, 2}}, {8, 7, 2}},
      {"ZeroPadding2D", "{\"padding\":[1,2]}", {{6, 5, 2}}, {8, 9, 2}},
      {"ZeroPadding2D", "{\"padding\":[[0,1],[2,3]],\"dataFormat\":\"channelsFirst\"}", {{2, 6, 5}}, {2, 7, 10}},
      {"UpSampling1D", "{}", {{6, 2}}, {12, 2}},
      {"UpSampling2D", "{}", {{6, 5, 2}}, {12, 10, 2}},
      {"Concatenate", "{\"axis\":-2}", {{2, 3}, {4, 3}}, {6, 3}},
      {"Dot", "{\"axes\":[1,2]}", {{3, 4}, {5, 3}}, {4, 5}},
      {"Dot", "{\"axes\":-1}", {{4}, {4}}, {1}},
      {"PReLU", "{\"sharedAxes\":2}", {{3, 4}}, {3, 4}},
      {"Softmax", "{\"axis\":1}", {{3, 4, 5}}, {3, 4, 5}},
      {"Embedding", "{\"inputDim\":10,\"outputDim\":6,\"inputLength\":4}", {{4}}, {4, 6}},
  };
  for (const ShapeCase& c : cases) {
    SCOPED_TRACE(std::string(c.cls) + " " + c.config);
    std::unique_ptr<Model> m;
    Status s = make_model(c.cls, c.config, c.inputs, &m);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(m->output_shape(0), c.output);
    // And the graph's shape at run time agrees with build().
    std::vector<std::vector<float>> xs;
    for (const Shape& in : c.inputs) xs.emplace_back(size_t(2 * shape_numel(in)), 0.0f);
    predict(*m, xs, 2);
  }
  std::unique_ptr<Model> m;
  ASSERT_TRUE(make_model("PReLU", "{\"sharedAxes\":[1]}", {{3, 4}}, &m).ok());
  EXPECT_EQ(m->weight_shape(0), (Shape{1, 4}));
  EXPECT_EQ(m->weight_name(0), "layer_under_test/alpha");
}

struct ErrorCase {
  const char* cls;
  const char* config;
  std::vector<Shape> inputs;
  const char* message;  // a substring the error must contain
};

TEST(SimpleLayersShapes, BadInputsAndArgumentsAreRejected) {
  const std::vector<ErrorCase> cases = {
      {"Reshape", "{\"targetShape\":[5,-1]}", {{2, 3}}, "cannot reshape"},
      {"Reshape", "{\"targetShape\":[4]}", {{2, 3}}, "cannot reshape"},
      {"Reshape", "{\"targetShape\":[-1,-1]}", {{2, 3}}, "only one dimension unknown"},
      {"Reshape", "{}", {{2, 3}}, "'targetShape' is required"},
      {"Permute", "{\"dims\":[1,3]}", {{2, 3}}, "consecutive integers"},
      {"Permute", "{\"dims\":[2,1]}", {{2, 3, 4}}, "rank 2"},
      {"RepeatVector", "{\"n\":2}", {{2, 3}}, "[features]"},
      {"RepeatVector", "{}", {{3}}, "'n' is required"},
      {"Cropping1D", "{\"cropping\":[3,3]}", {{6, 2}}, "leaves nothing"},
      {"Cropping2D", "{\"cropping\":[[1,1],[1]]}", {{6, 6, 2}}, "'cropping'"},
      {"Cropping2D", "{}", {{6, 6}}, "[rows, cols, channels]"},
      {"ZeroPadding1D", "{\"padding\":-1}", {{6, 2}}, "'padding'"},
      {"ZeroPadding2D", "{\"dataFormat\":\"nchw\"}", {{6, 6, 2}}, "'dataFormat'"},
      {"UpSampling2D", "{}", {{6, 2}}, "[rows, cols, channels]"},
      {"UpSampling2D", "{\"interpolation\":\"bicubic\"}", {{6, 6, 2}}, "'interpolation'"},
      {"UpSampling1D", "{\"size\":0}", {{6, 2}}, "'size'"},
      {"Add", "{}", {{3}, {4}}, "same shape"},
      {"Add", "{}", {{3}}, "at least two inputs"},
      {"Subtract", "{}", {{3}, {3}, {3}}, "exactly two inputs"},
      {"Maximum", "{}", {{3, 2}, {2, 3}}, "same shape"},
      {"Concatenate", "{}", {{3, 2}, {4, 2}}, "matching shapes"},
      {"Concatenate", "{\"axis\":0}", {{3}, {3}}, "batch"},
      {"Dot", "{\"axes\":1}", {{3}, {4}}, "incompatibility"},
      {"Dot", "{\"axes\":1}", {{3, 2, 2}, {3}}, "rank 2 or 3"},
      {"Dot", "{}", {{3}, {3}}, "'axes' is required"},
      {"Dot", "{\"axes\":0}", {{3}, {3}}, "batch"},
      {"Softmax", "{\"axis\":3}", {{3, 4}}, "out of range"},
      {"Softmax", "{\"axis\":[1,2]}", {{3, 4}}, "one axis"},
      {"PReLU", "{\"sharedAxes\":[3]}", {{3, 4}}, "sharedAxes"},
      {"ReLU", "{\"maxValue\":-1}", {{3}}, "'maxValue'"},
      {"Dropout", "{\"rate\":1.0}", {{3}}, "[0, 1)"},
      {"Dropout", "{}", {{3}}, "'rate' is required"},
      {"Dropout", "{\"rate\":0.5,\"noiseShape\":[null,2]}", {{3}}, "noiseShape"},
      {"Dropout", "{\"rate\":0.5,\"noiseShape\":[null]}", {{3}}, "noiseShape"},
      {"SpatialDropout1D", "{\"rate\":0.5}", {{3}}, "[steps, channels]"},
      {"SpatialDropout2D", "{\"rate\":0.5}", {{3, 4}}, "[rows, cols, channels]"},
      {"GaussianNoise", "{}", {{3}}, "'stddev' is required"},
      {"Embedding", "{\"inputDim\":10}", {{3}}, "'outputDim' is required"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(std::string(c.cls) + " " + c.config);
    std::unique_ptr<Model> m;
    Status s = make_model(c.cls, c.config, c.inputs, &m);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace kiln
