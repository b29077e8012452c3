// Training-loop behaviour of the model and the native API: learning XOR,
// failed calls that must change nothing (bad weights, NaN data, unknown
// optimizer or loss), softmax outputs, sparse vs one-hot labels, the
// static memory plan (no two live values share bytes, and it saves memory),
// metrics, and the later losses' codes, names and TF.js edge cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/model.h"
#include "core/rng.h"
#include "expect_error.h"
#include "graph/graph.h"
#include "kiln/kiln.h"
#include "runtime/plan.h"

namespace kiln {
namespace {

const float kXorX[] = {0, 0, 0, 1, 1, 0, 1, 1};
const float kXorLabel[] = {0, 1, 1, 0};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(ModelTraining, LearnsXorWithAdamSparseSoftmax) {
  Sequential m(2, 7);
  m.add_dense({8, "tanh"}).add_dense({2, "softmax"});
  CompileOptions co;
  co.optimizer = "adam";
  co.learning_rate = 0.05f;
  co.loss = "sparseCategoricalCrossentropy";
  m.compile(co);
  FitOptions fo;
  fo.epochs = 300;
  fo.batch_size = 4;
  const auto history = m.fit(kXorX, kXorLabel, 4, fo);
  ASSERT_EQ(history.size(), 300u);
  EXPECT_LT(history.back().loss, history.front().loss);
  const auto [loss, acc] = m.evaluate(kXorX, kXorLabel, 4);
  EXPECT_EQ(acc, 1.0f);
  EXPECT_LT(loss, 0.1f);
  const std::vector<float> p = m.predict(kXorX, 4);
  for (int r = 0; r < 4; ++r) EXPECT_EQ(p[size_t(r * 2 + 1)] > p[size_t(r * 2)], kXorLabel[r] == 1) << "sample " << r;
}

TEST(ModelTraining, LearnsXorWithAdamSigmoidMse) {
  Sequential m(2, 3);
  m.add_dense({6, "tanh"}).add_dense({1, "sigmoid"});
  CompileOptions co;
  co.optimizer = "adam";
  co.learning_rate = 0.05f;
  co.loss = "meanSquaredError";
  m.compile(co);
  FitOptions fo;
  fo.epochs = 400;
  fo.batch_size = 2;  // two batches per epoch, shuffled
  m.fit(kXorX, kXorLabel, 4, fo);
  const auto [loss, acc] = m.evaluate(kXorX, kXorLabel, 4);
  EXPECT_EQ(acc, 1.0f);
  EXPECT_LT(loss, 0.05f);
  const std::vector<float> p = m.predict(kXorX, 4);
  for (int r = 0; r < 4; ++r) EXPECT_EQ(p[size_t(r)] > 0.5f, kXorLabel[r] == 1) << "sample " << r;
}

Sequential small_model(uint64_t seed) {
  Sequential m(5, seed);
  m.add_dense({4, "relu"}).add_dense({3, "softmax"});
  CompileOptions co;
  co.optimizer = "adam";
  m.compile(co);
  return m;
}

TEST(ModelTraining, SetWeightsWithWrongSizeThrowsAndChangesNothing) {
  Sequential m = small_model(1);
  const auto before = m.get_weights();
  ASSERT_EQ(before.size(), 4u);
  auto bad = before;
  for (auto& t : bad)
    for (float& v : t) v += 1.0f;
  bad[3].push_back(0.0f);  // last tensor one value too long: the first three are fine
  std::string msg = error_of([&] { m.set_weights(bad); });
  EXPECT_TRUE(contains(msg, "setWeights")) << msg;
  EXPECT_TRUE(contains(msg, "tensor 3")) << msg;
  EXPECT_EQ(m.get_weights(), before);
  bad[3].pop_back();
  bad[0].pop_back();
  msg = error_of([&] { m.set_weights(bad); });
  EXPECT_TRUE(contains(msg, "[5, 4]")) << msg;
  EXPECT_EQ(m.get_weights(), before);
  msg = error_of([&] { m.set_weights({bad[0], bad[1], bad[2]}); });
  EXPECT_TRUE(contains(msg, "expected 4")) << msg;
  EXPECT_EQ(m.get_weights(), before);
  // A correct call does change them.
  bad[0].push_back(1.0f);
  m.set_weights(bad);
  EXPECT_EQ(m.get_weights(), bad);

  // The core call reports the same and leaves the tensor alone.
  std::unique_ptr<Model> core;
  std::vector<DenseLayerSpec> layers(1);
  layers[0].units = 3;
  ASSERT_TRUE(Model::create_dense(2, layers, 1, &core).ok());
  const std::vector<float> k0(core->weight_data(0), core->weight_data(0) + 6);
  const float five[5] = {9, 9, 9, 9, 9};
  Status st = core->set_weight(0, five, 5);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(contains(st.message(), "expects shape [2, 3]")) << st.message();
  EXPECT_EQ(std::vector<float>(core->weight_data(0), core->weight_data(0) + 6), k0);
  EXPECT_FALSE(core->set_weight(2, five, 3).ok());
}

TEST(ModelTraining, NonFiniteTrainingDataIsRejectedBeforeTouchingTheModel) {
  Sequential m = small_model(2), twin = small_model(2);
  Rng rng(4);
  std::vector<float> x(6 * 5), y(6 * 3, 0.0f);
  for (float& v : x) v = float(rng.normal());
  for (int r = 0; r < 6; ++r) y[size_t(r * 3 + r % 3)] = 1;
  // A step first, so Adam has state a bad call could disturb.
  m.train_on_batch(x.data(), y.data(), 6);
  twin.train_on_batch(x.data(), y.data(), 6);
  const auto before = m.get_weights();

  auto bad_x = x;
  bad_x[size_t(2 * 5 + 1)] = NAN;
  std::string msg = error_of([&] { m.train_on_batch(bad_x.data(), y.data(), 6); });
  EXPECT_TRUE(contains(msg, "NaN")) << msg;
  EXPECT_TRUE(contains(msg, "sample 2")) << msg;
  EXPECT_EQ(m.get_weights(), before);
  bad_x[size_t(2 * 5 + 1)] = INFINITY;
  msg = error_of([&] { m.train_on_batch(bad_x.data(), y.data(), 6); });
  EXPECT_TRUE(contains(msg, "Infinity")) << msg;
  auto bad_y = y;
  bad_y[7] = NAN;
  msg = error_of([&] { m.train_on_batch(x.data(), bad_y.data(), 6); });
  EXPECT_TRUE(contains(msg, "NaN") && contains(msg, "target")) << msg;
  bad_x[size_t(2 * 5 + 1)] = NAN;
  FitOptions fo;
  fo.batch_size = 3;
  msg = error_of([&] { m.fit(bad_x.data(), y.data(), 6, fo); });
  EXPECT_TRUE(contains(msg, "NaN")) << msg;
  msg = error_of([&] { m.predict(bad_x.data(), 6); });
  EXPECT_TRUE(contains(msg, "NaN")) << msg;
  msg = error_of([&] { m.evaluate(bad_x.data(), y.data(), 6); });
  EXPECT_TRUE(contains(msg, "NaN")) << msg;
  EXPECT_EQ(m.get_weights(), before);

  // Nor the optimizer state: the next good step matches the twin's bit for bit.
  const auto r1 = m.train_on_batch(x.data(), y.data(), 6);
  const auto r2 = twin.train_on_batch(x.data(), y.data(), 6);
  EXPECT_EQ(r1, r2);
  EXPECT_EQ(m.get_weights(), twin.get_weights());
  EXPECT_NE(m.get_weights(), before);
}

TEST(ModelTraining, CompileRejectsUnknownOptimizerAndLoss) {
  Sequential m(3);
  m.add_dense({2, "softmax"});
  CompileOptions co;
  co.optimizer = "ftrl";
  std::string msg = error_of([&] { m.compile(co); });
  EXPECT_TRUE(contains(msg, "ftrl")) << msg;
  co.optimizer = "adam";
  co.loss = "focalCrossentropy";
  msg = error_of([&] { m.compile(co); });
  EXPECT_TRUE(contains(msg, "focalCrossentropy")) << msg;
  co.loss = "categoricalCrossentropy";
  co.beta1 = 1.0f;
  msg = error_of([&] { m.compile(co); });
  EXPECT_TRUE(contains(msg, "beta1")) << msg;
  // Still not compiled: training says so.
  const float x[3] = {1, 2, 3}, y[2] = {0, 1};
  msg = error_of([&] { m.train_on_batch(x, y, 1); });
  EXPECT_TRUE(contains(msg, "compiled")) << msg;

  // The core: an out-of-range loss is an error, and a rejected compile keeps
  // the previous configuration.
  std::unique_ptr<Model> core;
  std::vector<DenseLayerSpec> layers(1);
  layers[0].units = 2;
  ASSERT_TRUE(Model::create_dense(3, layers, 1, &core).ok());
  TrainingConfig good;
  good.loss = LossKind::kCategoricalCrossentropy;
  good.optimizer.learning_rate = 0.5f;
  ASSERT_TRUE(core->compile(good).ok());
  TrainingConfig bad = good;
  bad.loss = LossKind(kNumLossKinds);
  EXPECT_FALSE(core->compile(bad).ok());
  bad = good;
  bad.optimizer.learning_rate = -1;
  EXPECT_FALSE(core->compile(bad).ok());
  EXPECT_EQ(core->training_config().loss, LossKind::kCategoricalCrossentropy);
  EXPECT_EQ(core->training_config().optimizer.learning_rate, 0.5f);
}

TEST(ModelTraining, SoftmaxRowsSumToOne) {
  Sequential m(13, 5);
  m.add_dense({17, "relu"}).add_dense({11, "softmax"});
  const int64_t n = 300;  // more than one internal predict chunk (256 rows)
  Rng rng(6);
  std::vector<float> x(size_t(n * 13));
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(rng.normal() * (i % 3 == 0 ? 50 : 1));  // large logits too
  const std::vector<float> p = m.predict(x.data(), n);
  ASSERT_EQ(p.size(), size_t(n * 11));
  for (int64_t r = 0; r < n; ++r) {
    double sum = 0;
    for (int64_t c = 0; c < 11; ++c) {
      const float v = p[size_t(r * 11 + c)];
      ASSERT_TRUE(std::isfinite(v) && v >= 0 && v <= 1) << "row " << r << " col " << c << " = " << v;
      sum += v;
    }
    EXPECT_NEAR(sum, 1.0, 2e-6) << "row " << r;
  }
  // Row by row gives the same probabilities.
  for (int64_t r : {int64_t(0), int64_t(255), int64_t(256), n - 1}) {
    const std::vector<float> one = m.predict(x.data() + r * 13, 1);
    for (int64_t c = 0; c < 11; ++c) EXPECT_NEAR(one[size_t(c)], p[size_t(r * 11 + c)], 1e-6) << "row " << r;
  }
}

// Two models with identical weights, one with class indices, one with one-hot rows.
void check_sparse_matches_one_hot(Activation out_act, OptimizerKind opt) {
  std::vector<DenseLayerSpec> layers(2);
  layers[0].units = 9, layers[0].activation = Activation::kTanh;
  layers[1].units = 5, layers[1].activation = out_act;
  std::unique_ptr<Model> sparse, dense;
  ASSERT_TRUE(Model::create_dense(4, layers, 17, &sparse).ok());
  ASSERT_TRUE(Model::create_dense(4, layers, 17, &dense).ok());
  TrainingConfig c;
  c.optimizer.kind = opt;
  c.optimizer.learning_rate = 0.05f;
  c.loss = LossKind::kSparseCategoricalCrossentropy;
  ASSERT_TRUE(sparse->compile(c).ok());
  c.loss = LossKind::kCategoricalCrossentropy;
  ASSERT_TRUE(dense->compile(c).ok());
  for (size_t i = 0; i < sparse->num_weights(); ++i)
    ASSERT_EQ(0, std::memcmp(sparse->weight_data(i), dense->weight_data(i), size_t(shape_numel(sparse->weight_shape(i))) * 4));
  const int64_t n = 7;
  Rng rng(8);
  std::vector<float> x(size_t(n * 4)), labels(static_cast<size_t>(n)), one_hot(size_t(n * 5), 0.0f);
  for (float& v : x) v = float(rng.normal());
  for (int64_t r = 0; r < n; ++r) {
    labels[size_t(r)] = float(rng.below(5));
    one_hot[size_t(r * 5) + size_t(labels[size_t(r)])] = 1;
  }
  float ls, as, ld, ad;
  ASSERT_TRUE(sparse->evaluate(x.data(), labels.data(), n, &ls, &as).ok());
  ASSERT_TRUE(dense->evaluate(x.data(), one_hot.data(), n, &ld, &ad).ok());
  EXPECT_GT(ls, 0.1f);
  EXPECT_FLOAT_EQ(ls, ld);
  EXPECT_EQ(as, ad);
  std::vector<std::vector<float>> gs, gd;
  ASSERT_TRUE(sparse->gradients(x.data(), labels.data(), n, &ls, &gs).ok());
  ASSERT_TRUE(dense->gradients(x.data(), one_hot.data(), n, &ld, &gd).ok());
  EXPECT_FLOAT_EQ(ls, ld);
  ASSERT_EQ(gs.size(), gd.size());
  for (size_t i = 0; i < gs.size(); ++i)
    for (size_t j = 0; j < gs[i].size(); ++j) EXPECT_NEAR(gs[i][j], gd[i][j], 1e-7f + 1e-6f * std::fabs(gd[i][j]));
  for (int step = 0; step < 5; ++step) {
    ASSERT_TRUE(sparse->train_batch(x.data(), labels.data(), nullptr, n, &ls, &as).ok());
    ASSERT_TRUE(dense->train_batch(x.data(), one_hot.data(), nullptr, n, &ld, &ad).ok());
    EXPECT_FLOAT_EQ(ls, ld) << "step " << step;
    EXPECT_EQ(as, ad);
  }
  for (size_t i = 0; i < sparse->num_weights(); ++i)
    for (int64_t j = 0; j < shape_numel(sparse->weight_shape(i)); ++j)
      EXPECT_NEAR(sparse->weight_data(i)[j], dense->weight_data(i)[j], 1e-6f);
}

TEST(ModelTraining, SparseAndOneHotLabelsGiveIdenticalLosses) {
  check_sparse_matches_one_hot(Activation::kSoftmax, OptimizerKind::kAdam);  // fused log-softmax path
  check_sparse_matches_one_hot(Activation::kSoftmax, OptimizerKind::kSgd);
  check_sparse_matches_one_hot(Activation::kSigmoid, OptimizerKind::kSgd);   // clipped-probability path
}

// ---- memory planner ----

int64_t aligned(int64_t b) { return (b + 63) / 64 * 64; }

TEST(MemoryPlanner, RandomLifetimesNeverShareBytesWhileLive) {
  Rng rng(2024);
  for (int trial = 0; trial < 500; ++trial) {
    const size_t n = 1 + rng.below(60);
    const int steps = 1 + int(rng.below(40));
    std::vector<int64_t> bytes(n);
    std::vector<std::pair<int, int>> life(n);
    for (size_t v = 0; v < n; ++v) {
      bytes[v] = rng.below(8) == 0 ? 0 : int64_t(rng.below(rng.below(2) ? 100 : 20000)) * 4;
      if (rng.below(6) == 0) {
        life[v] = {-1, -1};
      } else {
        const int a = int(rng.below(uint32_t(steps))), b = a + int(rng.below(uint32_t(steps - a + 1)));
        life[v] = {a, std::min(b, steps)};
      }
    }
    std::vector<int64_t> off;
    const int64_t total = plan_memory(bytes, life, &off);
    ASSERT_EQ(off.size(), n);
    int64_t sum = 0;
    for (size_t v = 0; v < n; ++v) {
      if (life[v].first < 0) {
        EXPECT_EQ(off[v], -1) << "value outside the arena got an offset";
        continue;
      }
      sum += aligned(bytes[v]);
      ASSERT_GE(off[v], 0);
      EXPECT_EQ(off[v] % 64, 0) << "misaligned";
      EXPECT_LE(off[v] + bytes[v], total) << "value " << v << " ends past the arena";
    }
    EXPECT_LE(total, sum) << "worse than no planning";
    for (size_t u = 0; u < n; ++u)
      for (size_t v = u + 1; v < n; ++v) {
        if (life[u].first < 0 || life[v].first < 0 || bytes[u] == 0 || bytes[v] == 0) continue;
        const bool live_together = life[u].first <= life[v].second && life[v].first <= life[u].second;
        const bool share = off[u] < off[v] + bytes[v] && off[v] < off[u] + bytes[u];
        ASSERT_FALSE(live_together && share) << "trial " << trial << ": values " << u << " [" << life[u].first << ","
                                             << life[u].second << "] and " << v << " [" << life[v].first << ","
                                             << life[v].second << "] overlap at offsets " << off[u] << "/" << off[v];
      }
    // Lower bound: at every step, the live values must fit side by side.
    for (int s = 0; s <= steps; ++s) {
      int64_t live = 0;
      for (size_t v = 0; v < n; ++v)
        if (life[v].first >= 0 && life[v].first <= s && s <= life[v].second) live += bytes[v];
      EXPECT_GE(total, live);
    }
  }
}

// The training graph Model::build makes for an MLP, built here by hand so the
// plan and its buffers are visible.
struct TrainingGraph {
  Graph g;
  std::vector<float*> externals;
  int x = -1, target = -1, loss = -1, acc = -1;
};

void build_training_graph(Model& m, int64_t batch, TrainingGraph* t) {
  Graph& g = t->g;
  auto external = [&](const Shape& s, float* data, bool rg) {
    const int v = g.add_external(s, "w", rg);
    t->externals.resize(size_t(v) + 1, nullptr);
    t->externals[size_t(v)] = data;
    return v;
  };
  t->x = g.add_input({batch, m.input_dim()}, "x");
  int h = t->x, logits = -1;
  std::vector<int> params;
  size_t w = 0;
  for (const DenseLayerSpec& l : m.dense_layers()) {
    const int kernel = external(m.weight_shape(w), m.mutable_weight_data(w), true);
    params.push_back(kernel);
    ++w;
    int bias = -1;
    if (l.use_bias) {
      bias = external(m.weight_shape(w), m.mutable_weight_data(w), true);
      params.push_back(bias);
      ++w;
    }
    const bool sm = l.activation == Activation::kSoftmax;
    ASSERT_TRUE(g.gemm(h, kernel, bias, false, false, sm ? Activation::kLinear : l.activation, &h).ok());
    logits = h;
    if (sm) ASSERT_TRUE(g.activation(h, Activation::kSoftmax, &h).ok());
  }
  t->target = g.add_input({batch, m.output_dim()}, "target");
  const LossKind kind = m.training_config().loss;
  ASSERT_TRUE(g.loss(logits, t->target, kind, true, &t->loss).ok());
  ASSERT_TRUE(g.metric(logits, t->target, kind, Metric::kAccuracy, &t->acc).ok());
  int seed_grad;
  ASSERT_TRUE(g.loss_grad(logits, t->target, kind, true, &seed_grad).ok());
  std::vector<int> grads;
  ASSERT_TRUE(append_backward(g, logits, seed_grad, &grads).ok());
  g.optimizer_tick();
  for (size_t p = 0; p < params.size(); ++p) {
    std::vector<int> slots;
    for (int s = 0; s < m.num_slots(); ++s) slots.push_back(external(m.weight_shape(p), m.slot_data(s, p), false));
    ASSERT_GE(grads[size_t(params[p])], 0);
    ASSERT_TRUE(g.update(params[p], grads[size_t(params[p])], slots).ok());
  }
  g.eliminate_dead_nodes({t->loss, t->acc});
  t->externals.resize(g.values().size(), nullptr);
}

TEST(MemoryPlanner, TrainingPlanReusesMemoryWithoutClobberingLiveValues) {
  std::vector<DenseLayerSpec> layers(4);
  layers[0].units = 64, layers[0].activation = Activation::kRelu;
  layers[1].units = 48, layers[1].activation = Activation::kTanh, layers[1].use_bias = false;
  layers[2].units = 32, layers[2].activation = Activation::kSigmoid;
  layers[3].units = 10, layers[3].activation = Activation::kSoftmax;
  std::unique_ptr<Model> a, b;
  ASSERT_TRUE(Model::create_dense(20, layers, 9, &a).ok());
  ASSERT_TRUE(Model::create_dense(20, layers, 9, &b).ok());
  TrainingConfig c;
  c.optimizer.kind = OptimizerKind::kAdam;
  c.optimizer.learning_rate = 0.01f;
  c.loss = LossKind::kCategoricalCrossentropy;
  ASSERT_TRUE(a->compile(c).ok());
  ASSERT_TRUE(b->compile(c).ok());
  const int64_t batch = 16;
  TrainingGraph t;
  build_training_graph(*a, batch, &t);
  if (HasFatalFailure()) return;
  std::unique_ptr<Plan> plan;
  int64_t step = a->optimizer_step();
  Status st = Plan::compile(t.g, t.externals, &a->training_config().optimizer, &step, &plan);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_GT(plan->unplanned_bytes(), 0);
  EXPECT_LT(plan->arena_bytes(), plan->unplanned_bytes());
  std::printf("[ planner  ] training plan arena %lld bytes, unplanned %lld bytes\n", (long long)plan->arena_bytes(),
              (long long)plan->unplanned_bytes());

  // Simulate the plan: each arena float is owned by the last value written
  // there; every read must find its value still the owner.
  const auto& values = t.g.values();
  const auto& nodes = t.g.nodes();
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (size_t v = 0; v < values.size(); ++v) {
    if (values[v].kind == ValueKind::kExternal || !plan->buffer(int(v))) continue;
    const uintptr_t p = reinterpret_cast<uintptr_t>(plan->buffer(int(v)));
    lo = std::min(lo, p);
    hi = std::max(hi, p + uintptr_t(shape_numel(values[v].shape)) * 4);
  }
  ASSERT_LT(lo, hi);
  EXPECT_LE(int64_t(hi - lo), plan->arena_bytes());
  std::vector<int> owner((hi - lo) / 4, -1);
  auto write = [&](int v) {
    const size_t at = (reinterpret_cast<uintptr_t>(plan->buffer(v)) - lo) / 4;
    for (int64_t i = 0; i < shape_numel(values[size_t(v)].shape); ++i) owner[at + size_t(i)] = v;
  };
  auto still_owns = [&](int v) {
    const size_t at = (reinterpret_cast<uintptr_t>(plan->buffer(v)) - lo) / 4;
    for (int64_t i = 0; i < shape_numel(values[size_t(v)].shape); ++i)
      if (owner[at + size_t(i)] != v) return false;
    return true;
  };
  write(t.x);
  write(t.target);
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (int in : nodes[i].inputs) {
      if (values[size_t(in)].kind == ValueKind::kExternal) continue;
      ASSERT_NE(plan->buffer(in), nullptr);
      EXPECT_TRUE(still_owns(in)) << "step " << i << " (" << op_name(nodes[i].op) << ") reads value " << in
                                  << " after another value overwrote it";
    }
    if (nodes[i].output >= 0) {
      ASSERT_NE(plan->buffer(nodes[i].output), nullptr);
      write(nodes[i].output);
    }
  }
  EXPECT_TRUE(still_owns(t.loss));
  EXPECT_TRUE(still_owns(t.acc));

  // And running it trains exactly like Model::train_batch on a twin.
  Rng rng(10);
  std::vector<float> x(size_t(batch * 20)), y(size_t(batch * 10), 0.0f);
  for (float& v : x) v = float(rng.normal());
  for (int64_t r = 0; r < batch; ++r) y[size_t(r * 10) + rng.below(10)] = 1;
  for (int s = 0; s < 3; ++s) {
    std::memcpy(plan->buffer(t.x), x.data(), x.size() * 4);
    std::memcpy(plan->buffer(t.target), y.data(), y.size() * 4);
    plan->run();
    float loss, acc;
    ASSERT_TRUE(b->train_batch(x.data(), y.data(), nullptr, batch, &loss, &acc).ok());
    EXPECT_NEAR(plan->buffer(t.loss)[0], loss, 1e-6f * std::fabs(loss));
  }
  EXPECT_EQ(step, 3);
  for (size_t i = 0; i < a->num_weights(); ++i)
    for (int64_t j = 0; j < shape_numel(a->weight_shape(i)); ++j)
      ASSERT_NEAR(a->weight_data(i)[j], b->weight_data(i)[j], 1e-6f) << "weight " << i << "[" << j << "]";
}

TEST(MemoryPlanner, ModelTrainingPlanIsPlanned) {
  // The model's own (cached, private) training plan: with nothing else cached,
  // plan_arena_bytes() is its arena, which must equal the hand-built graph's
  // planned arena (the same graph) and be below its unplanned total.
  std::vector<DenseLayerSpec> layers(3);
  layers[0].units = 128, layers[0].activation = Activation::kRelu;
  layers[1].units = 96, layers[1].activation = Activation::kTanh;
  layers[2].units = 10, layers[2].activation = Activation::kSoftmax;
  std::unique_ptr<Model> m;
  ASSERT_TRUE(Model::create_dense(100, layers, 1, &m).ok());
  TrainingConfig c;
  c.optimizer.momentum = 0.9f;
  c.loss = LossKind::kCategoricalCrossentropy;
  ASSERT_TRUE(m->compile(c).ok());
  const int64_t batch = 32;
  std::vector<float> x(size_t(batch * 100), 0.25f), y(size_t(batch * 10), 0.1f);
  float loss, acc;
  ASSERT_TRUE(m->train_batch(x.data(), y.data(), nullptr, batch, &loss, &acc).ok());
  TrainingGraph t;
  build_training_graph(*m, batch, &t);
  if (HasFatalFailure()) return;
  std::unique_ptr<Plan> plan;
  int64_t step = 0;
  ASSERT_TRUE(Plan::compile(t.g, t.externals, &m->training_config().optimizer, &step, &plan).ok());
  EXPECT_EQ(m->plan_arena_bytes(), plan->arena_bytes());
  EXPECT_LT(m->plan_arena_bytes(), plan->unplanned_bytes());
}

TEST(Metrics, RatiosFollowTfjsDefinitions) {
  // 3 rows x 2 binary outputs: predictions > 0.5 are positive.
  const float p[6] = {0.9f, 0.2f, 0.7f, 0.6f, 0.1f, 0.4f};
  const float t[6] = {1, 0, 0, 1, 1, 0};
  float r[2];
  metric_ratio(Metric::kPrecision, LossKind::kBinaryCrossentropy, p, t, 3, 2, r);
  EXPECT_EQ(r[0], 2.0f);  // TP: (0,0) and (1,1); FP: (1,0)
  EXPECT_EQ(r[1], 3.0f);
  metric_ratio(Metric::kRecall, LossKind::kBinaryCrossentropy, p, t, 3, 2, r);
  EXPECT_EQ(r[0], 2.0f);  // FN: (2,0)
  EXPECT_EQ(r[1], 3.0f);
  metric_ratio(Metric::kBinaryAccuracy, LossKind::kBinaryCrossentropy, p, t, 3, 2, r);
  EXPECT_FLOAT_EQ(r[0] / r[1], 4.0f / 6.0f);
  metric_ratio(Metric::kAccuracy, LossKind::kBinaryCrossentropy, p, t, 3, 2, r);  // binary accuracy
  EXPECT_FLOAT_EQ(r[0] / r[1], 4.0f / 6.0f);
  metric_ratio(Metric::kCategoricalAccuracy, LossKind::kMeanSquaredError, p, t, 3, 2, r);  // argmax 0,0,1 vs 0,1,0
  EXPECT_EQ(r[0], 1.0f);
  EXPECT_EQ(r[1], 3.0f);
  const float labels[3] = {0, 0, 0};
  metric_ratio(Metric::kSparseCategoricalAccuracy, LossKind::kSparseCategoricalCrossentropy, p, labels, 3, 2, r);
  EXPECT_EQ(r[0], 2.0f);
  EXPECT_FALSE(metric_fits_loss(Metric::kCategoricalAccuracy, LossKind::kSparseCategoricalCrossentropy));
  EXPECT_TRUE(metric_fits_loss(Metric::kAccuracy, LossKind::kSparseCategoricalCrossentropy));
  Metric m;
  EXPECT_TRUE(metric_from_name("acc", &m) && m == Metric::kAccuracy);
  EXPECT_FALSE(metric_from_name("auc", &m));
}

TEST(Losses, NamesCodesAndTfjsEdgeCases) {
  // Codes are stored in model files: the ones added after the first nine.
  const std::pair<LossKind, const char*> added[] = {
      {LossKind(9), "squaredHinge"}, {LossKind(10), "categoricalHinge"}, {LossKind(11), "logcosh"},
      {LossKind(12), "meanSquaredLogarithmicError"}, {LossKind(13), "meanAbsolutePercentageError"},
      {LossKind(14), "poisson"}};
  for (const auto& [kind, name] : added) {
    EXPECT_STREQ(loss_name(kind), name);
    LossKind back;
    EXPECT_TRUE(loss_from_name(name, &back) && back == kind) << name;
    EXPECT_FALSE(loss_is_sparse(kind));
    EXPECT_FALSE(loss_fuses_with(kind, Activation::kSoftmax) || loss_fuses_with(kind, Activation::kSigmoid));
    EXPECT_TRUE(metric_fits_loss(Metric::kCategoricalAccuracy, kind));
    EXPECT_FALSE(metric_fits_loss(Metric::kSparseCategoricalAccuracy, kind));
  }
  float g[3];
  // categoricalHinge: TF.js's max gradient goes to every column tied for the
  // max: (1 - t) p = [0, 0, 0] here, so columns 0 and 1 get +1 each.
  const float p_tie[3] = {0, 0, 0.3f}, t_tie[3] = {0, 0, 1};
  EXPECT_FLOAT_EQ(loss_forward(LossKind::kCategoricalHinge, false, p_tie, t_tie, 1, 3), 0.7f);
  loss_backward(LossKind::kCategoricalHinge, false, p_tie, t_tie, g, 1, 3);
  EXPECT_EQ(g[0], 1.0f);
  EXPECT_EQ(g[1], 1.0f);
  EXPECT_EQ(g[2], -1.0f);
  // logcosh stays finite where cosh overflows: log cosh(100) = 100 - log 2.
  const float p_big[1] = {100}, zero[1] = {0};
  EXPECT_FLOAT_EQ(loss_forward(LossKind::kLogcosh, false, p_big, zero, 1, 1), float(100 - std::log(2.0)));
  loss_backward(LossKind::kLogcosh, false, p_big, zero, g, 1, 1);
  EXPECT_EQ(g[0], 1.0f);
  // meanSquaredLogarithmicError clips p and t at epsilon: no gradient below it.
  const float p_neg[1] = {-0.5f}, one[1] = {1};
  EXPECT_NEAR(loss_forward(LossKind::kMeanSquaredLogarithmicError, false, p_neg, one, 1, 1),
              std::pow(std::log1p(1e-7) - std::log(2.0), 2), 1e-6);
  loss_backward(LossKind::kMeanSquaredLogarithmicError, false, p_neg, one, g, 1, 1);
  EXPECT_EQ(g[0], 0.0f);
  // meanAbsolutePercentageError divides by max(|t|, epsilon).
  const float p_half[1] = {0.5f};
  EXPECT_FLOAT_EQ(loss_forward(LossKind::kMeanAbsolutePercentageError, false, p_half, zero, 1, 1), 100 * 0.5f / 1e-7f);
  // poisson: p - t log(p + epsilon).
  EXPECT_FLOAT_EQ(loss_forward(LossKind::kPoisson, false, p_half, one, 1, 1), float(0.5 - std::log(0.5 + 1e-7)));
}

}  // namespace
}  // namespace kiln
