// Kiln against PyTorch: forward outputs, mean loss, gradients of the mean loss
// and the weights after 10 steps of SGD, momentum, Nesterov and Adam, for the
// small MLPs in tests/fixtures/torch_mlp.txt (written by
// scripts/make_torch_fixtures.py with torch in float32).
//
// Every tensor is compared by max|kiln - torch| / max|torch| <= 1e-5.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/model.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"

namespace kiln {
namespace {

constexpr double kRelTol = 1e-5;
constexpr int kSteps = 10;

struct FixtureModel {
  std::string name;
  int64_t input_dim = 0, batch = 0;
  LossKind loss = LossKind::kMeanSquaredError;
  std::vector<DenseLayerSpec> layers;
  std::map<std::string, std::vector<float>> t;  // key without the "<name>." prefix

  const std::vector<float>& get(const std::string& key) const {
    auto it = t.find(key);
    if (it == t.end()) throw std::runtime_error("fixture " + name + " lacks " + key);
    return it->second;
  }
  size_t num_weights() const {
    size_t n = 0;
    for (const auto& l : layers) n += l.use_bias ? 2 : 1;
    return n;
  }
};

std::vector<FixtureModel> load_fixture() {
  const std::string path = std::string(KILN_FIXTURE_DIR) + "/torch_mlp.txt";
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path + " (run scripts/make_torch_fixtures.py)");
  std::vector<FixtureModel> models;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string head;
    in >> head;
    if (head == "model") {
      FixtureModel m;
      std::string loss;
      int nl = 0;
      in >> m.name >> m.input_dim >> m.batch >> loss >> nl;
      if (!loss_from_name(loss, &m.loss)) throw std::runtime_error("fixture: unknown loss " + loss);
      for (int i = 0; i < nl; ++i) {
        DenseLayerSpec l;
        std::string act;
        int bias = 0;
        in >> l.units >> act >> bias;
        if (!activation_from_name(act, &l.activation)) throw std::runtime_error("fixture: unknown activation " + act);
        l.use_bias = bias != 0;
        m.layers.push_back(l);
      }
      if (!in) throw std::runtime_error("fixture: bad model line: " + line);
      models.push_back(m);
      continue;
    }
    if (models.empty() || head.compare(0, models.back().name.size() + 1, models.back().name + ".") != 0)
      throw std::runtime_error("fixture: record outside its model: " + head);
    size_t count = 0;
    in >> count;
    std::vector<float> v(count);
    for (float& x : v) {
      std::string s;
      in >> s;
      x = std::strtof(s.c_str(), nullptr);
    }
    if (!in) throw std::runtime_error("fixture: short record " + head);
    models.back().t[head.substr(models.back().name.size() + 1)] = std::move(v);
  }
  return models;
}

const std::vector<FixtureModel>& fixture() {
  static const std::vector<FixtureModel> models = load_fixture();
  return models;
}

// Largest relative error seen in this file, reported at the end.
double g_max_rel = 0;
std::string g_max_where;

double rel_error(const float* got, const std::vector<float>& want) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - double(want[i])));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

void expect_close(const std::string& what, const float* got, const std::vector<float>& want) {
  const double rel = rel_error(got, want);
  if (rel > g_max_rel) {
    g_max_rel = rel;
    g_max_where = what;
  }
  EXPECT_LE(rel, kRelTol) << what << ": max|kiln - torch| / max|torch| = " << rel;
}

std::unique_ptr<Model> make_model(const FixtureModel& fm, const OptimizerConfig& opt) {
  std::unique_ptr<Model> m;
  Status st = Model::create_dense(fm.input_dim, fm.layers, 1, &m);
  if (!st.ok()) throw std::runtime_error(st.message());
  if (m->num_weights() != fm.num_weights()) throw std::runtime_error("weight count differs from the fixture");
  for (size_t i = 0; i < m->num_weights(); ++i) {
    const auto& w = fm.get("w" + std::to_string(i));
    st = m->set_weight(i, w.data(), int64_t(w.size()));
    if (!st.ok()) throw std::runtime_error(st.message());
  }
  TrainingConfig c;
  c.loss = fm.loss;
  c.optimizer = opt;
  st = m->compile(c);
  if (!st.ok()) throw std::runtime_error(st.message());
  return m;
}

TEST(TorchNumerics, FixtureIsComplete) {
  const auto& models = fixture();
  ASSERT_EQ(models.size(), 17u);
  bool seen[kNumLossKinds] = {}, seen_act[kNumActivations] = {};
  for (const FixtureModel& fm : models) {
    seen[int(fm.loss)] = true;
    for (const DenseLayerSpec& l : fm.layers) seen_act[int(l.activation)] = true;
    const int64_t out = fm.layers.back().units;
    EXPECT_EQ(fm.get("x").size(), size_t(fm.batch * fm.input_dim)) << fm.name;
    EXPECT_EQ(fm.get("y").size(), size_t(fm.batch * (loss_is_sparse(fm.loss) ? 1 : out))) << fm.name;
    EXPECT_EQ(fm.get("out").size(), size_t(fm.batch * out)) << fm.name;
    EXPECT_EQ(fm.get("loss").size(), 1u) << fm.name;
    for (size_t i = 0; i < fm.num_weights(); ++i)
      for (const char* k : {"w", "grad", "sgd.w", "momentum.w", "nesterov.w", "adam.w"})
        EXPECT_EQ(fm.get(k + std::to_string(i)).size(), fm.get("w" + std::to_string(i)).size()) << fm.name << " " << k << i;
  }
  for (int k = 0; k < kNumLossKinds; ++k) EXPECT_TRUE(seen[k]) << "no fixture model uses " << loss_name(LossKind(k));
  for (int a = 0; a < kNumActivations; ++a)
    EXPECT_TRUE(seen_act[a]) << "no fixture model uses " << activation_name(Activation(a));
}

TEST(TorchNumerics, ForwardMatchesTorch) {
  for (const FixtureModel& fm : fixture()) {
    auto m = make_model(fm, OptimizerConfig());
    const auto& want = fm.get("out");
    std::vector<float> got(want.size(), NAN);
    ASSERT_TRUE(m->predict(fm.get("x").data(), fm.batch, got.data()).ok());
    expect_close(fm.name + " forward", got.data(), want);
    // Row by row (a different plan batch size) gives the same numbers.
    std::vector<float> row(size_t(m->output_dim()));
    for (int64_t r = 0; r < fm.batch; ++r) {
      ASSERT_TRUE(m->predict(fm.get("x").data() + r * fm.input_dim, 1, row.data()).ok());
      std::vector<float> want_row(want.begin() + r * m->output_dim(), want.begin() + (r + 1) * m->output_dim());
      expect_close(fm.name + " forward row " + std::to_string(r), row.data(), want_row);
    }
  }
}

TEST(TorchNumerics, LossMatchesTorch) {
  for (const FixtureModel& fm : fixture()) {
    auto m = make_model(fm, OptimizerConfig());
    float loss = NAN, acc = NAN;
    ASSERT_TRUE(m->evaluate(fm.get("x").data(), fm.get("y").data(), fm.batch, &loss, &acc).ok());
    expect_close(fm.name + " loss (evaluate)", &loss, fm.get("loss"));
  }
}

TEST(TorchNumerics, GradientsMatchTorch) {
  for (const FixtureModel& fm : fixture()) {
    auto m = make_model(fm, OptimizerConfig());
    float loss = NAN;
    std::vector<std::vector<float>> grads;
    Status st = m->gradients(fm.get("x").data(), fm.get("y").data(), fm.batch, &loss, &grads);
    ASSERT_TRUE(st.ok()) << st.message();
    expect_close(fm.name + " loss (gradients)", &loss, fm.get("loss"));
    ASSERT_EQ(grads.size(), fm.num_weights());
    for (size_t i = 0; i < grads.size(); ++i) {
      const auto& want = fm.get("grad" + std::to_string(i));
      ASSERT_EQ(grads[i].size(), want.size());
      expect_close(fm.name + " grad" + std::to_string(i), grads[i].data(), want);
    }
    // Computing gradients must not move the weights.
    for (size_t i = 0; i < m->num_weights(); ++i)
      EXPECT_EQ(0, std::memcmp(m->weight_data(i), fm.get("w" + std::to_string(i)).data(), grads[i].size() * 4));
  }
}

std::map<std::string, double> g_max_rel_by_optimizer;

void check_optimizer(const std::string& key, const OptimizerConfig& opt) {
  for (const FixtureModel& fm : fixture()) {
    auto m = make_model(fm, opt);
    std::vector<float> losses;
    for (int s = 0; s < kSteps; ++s) {
      float loss = NAN, acc = NAN;
      Status st = m->train_batch(fm.get("x").data(), fm.get("y").data(), nullptr, fm.batch, &loss, &acc);
      ASSERT_TRUE(st.ok()) << st.message();
      losses.push_back(loss);
    }
    EXPECT_EQ(m->optimizer_step(), kSteps);
    expect_close(fm.name + " " + key + " losses", losses.data(), fm.get(key + ".losses"));
    double& worst = g_max_rel_by_optimizer[key];
    worst = std::max(worst, rel_error(losses.data(), fm.get(key + ".losses")));
    for (size_t i = 0; i < m->num_weights(); ++i) {
      const std::vector<float>& want = fm.get(key + ".w" + std::to_string(i));
      expect_close(fm.name + " " + key + " w" + std::to_string(i) + " after " + std::to_string(kSteps) + " steps",
                   m->weight_data(i), want);
      worst = std::max(worst, rel_error(m->weight_data(i), want));
    }
  }
}

OptimizerConfig make_optimizer(OptimizerKind kind, float lr) {
  OptimizerConfig o;
  o.kind = kind;
  o.learning_rate = lr;
  return o;
}

TEST(TorchNumerics, AdamWMatchesTorch) {
  OptimizerConfig o = make_optimizer(OptimizerKind::kAdamW, 0.01f);
  o.weight_decay = 0.1f;
  check_optimizer("adamw", o);
}

TEST(TorchNumerics, AdadeltaMatchesTorch) {
  OptimizerConfig o = make_optimizer(OptimizerKind::kAdadelta, 1.0f);
  o.rho = 0.95f;
  check_optimizer("adadelta", o);
}

TEST(TorchNumerics, AdagradMatchesTfjsFormulaInTorch) {
  OptimizerConfig o = make_optimizer(OptimizerKind::kAdagrad, 0.1f);
  o.initial_accumulator = 0.1f;
  check_optimizer("adagrad", o);
}

TEST(TorchNumerics, AdamaxMatchesTfjsFormulaInTorch) {
  OptimizerConfig o = make_optimizer(OptimizerKind::kAdamax, 0.02f);
  o.decay = 0.01f;
  check_optimizer("adamax", o);
}

TEST(TorchNumerics, RmspropVariantsMatchTfjsFormulaInTorch) {
  for (bool centered : {false, true})
    for (float momentum : {0.0f, 0.9f}) {
      OptimizerConfig o = make_optimizer(OptimizerKind::kRmsprop, 0.01f);
      o.rho = 0.9f;
      o.momentum = momentum;
      o.centered = centered;
      check_optimizer(std::string("rmsprop") + (centered ? "_centered" : "") + (momentum != 0 ? "_momentum" : ""), o);
    }
}

TEST(TorchNumerics, LearningRateSchedulesMatchTorch) {
  OptimizerConfig exponential = make_optimizer(OptimizerKind::kSgd, 0.2f);
  exponential.schedule.kind = ScheduleKind::kExponential;
  exponential.schedule.decay_steps = 3;
  exponential.schedule.decay_rate = 0.5f;
  check_optimizer("sgd_exponential", exponential);
  OptimizerConfig staircase = make_optimizer(OptimizerKind::kSgd, 0.1f);
  staircase.momentum = 0.9f;
  staircase.schedule = exponential.schedule;
  staircase.schedule.staircase = true;
  check_optimizer("momentum_staircase", staircase);
  OptimizerConfig piecewise = make_optimizer(OptimizerKind::kAdam, 0.02f);
  piecewise.schedule.kind = ScheduleKind::kPiecewise;
  piecewise.schedule.boundaries = {2, 5};
  piecewise.schedule.values = {0.02f, 0.01f, 0.005f};
  check_optimizer("adam_piecewise", piecewise);
  OptimizerConfig cosine = make_optimizer(OptimizerKind::kSgd, 0.2f);
  cosine.schedule.kind = ScheduleKind::kCosine;
  cosine.schedule.decay_steps = 8;
  cosine.schedule.alpha = 0.1f;
  check_optimizer("sgd_cosine", cosine);
}

TEST(TorchNumerics, GradientClippingMatchesTorch) {
  OptimizerConfig value = make_optimizer(OptimizerKind::kSgd, 0.1f);
  value.clip_value = 0.05f;
  check_optimizer("sgd_clip_value", value);
  OptimizerConfig norm = make_optimizer(OptimizerKind::kSgd, 0.1f);
  norm.momentum = 0.9f;
  norm.clip_norm = 0.1f;
  check_optimizer("momentum_clip_norm", norm);
  OptimizerConfig global = make_optimizer(OptimizerKind::kAdam, 0.01f);
  global.global_clipnorm = 0.2f;
  check_optimizer("adam_global_clipnorm", global);
}

TEST(TorchNumerics, SgdMatchesTorch) {
  OptimizerConfig o;
  o.learning_rate = 0.1f;
  check_optimizer("sgd", o);
}

TEST(TorchNumerics, MomentumMatchesTorch) {
  OptimizerConfig o;
  o.learning_rate = 0.1f;
  o.momentum = 0.9f;
  check_optimizer("momentum", o);
}

TEST(TorchNumerics, NesterovMatchesTorch) {
  OptimizerConfig o;
  o.learning_rate = 0.1f;
  o.momentum = 0.9f;
  o.nesterov = true;
  check_optimizer("nesterov", o);
}

TEST(TorchNumerics, AdamMatchesTorch) {
  OptimizerConfig o;
  o.kind = OptimizerKind::kAdam;
  o.learning_rate = 0.01f;
  o.beta1 = 0.9f;
  o.beta2 = 0.999f;
  o.epsilon = 1e-7f;
  check_optimizer("adam", o);
}

TEST(TorchNumerics, EveryGemmKernelAndThreadCountMatchesTorch) {
  const GemmMicroKernel* kernels[8];
  const int nk = gemm_available_kernels(kernels, 8);
  ASSERT_GE(nk, 1);
  const std::string original = gemm_active_kernel().name;
  OptimizerConfig adam;
  adam.kind = OptimizerKind::kAdam;
  adam.learning_rate = 0.01f;
  OptimizerConfig nesterov;
  nesterov.learning_rate = 0.1f;
  nesterov.momentum = 0.9f;
  nesterov.nesterov = true;
  for (int threads : {1, 3}) {
    ThreadPool::global().resize(threads);
    for (int k = 0; k < nk; ++k) {
      ASSERT_TRUE(gemm_select_kernel(kernels[k]->name));
      SCOPED_TRACE(std::string(kernels[k]->name) + ", " + std::to_string(threads) + " threads");
      for (const FixtureModel& fm : fixture()) {
        auto m = make_model(fm, OptimizerConfig());
        std::vector<float> out(fm.get("out").size());
        ASSERT_TRUE(m->predict(fm.get("x").data(), fm.batch, out.data()).ok());
        expect_close(fm.name + " forward, " + kernels[k]->name, out.data(), fm.get("out"));
        float loss;
        std::vector<std::vector<float>> grads;
        ASSERT_TRUE(m->gradients(fm.get("x").data(), fm.get("y").data(), fm.batch, &loss, &grads).ok());
        for (size_t i = 0; i < grads.size(); ++i)
          expect_close(fm.name + " grad" + std::to_string(i) + ", " + kernels[k]->name, grads[i].data(),
                       fm.get("grad" + std::to_string(i)));
      }
      check_optimizer("adam", adam);
      check_optimizer("nesterov", nesterov);
    }
  }
  ThreadPool::global().resize(1);
  ASSERT_TRUE(gemm_select_kernel(original.c_str()));
}

// Runs last in this file (gtest keeps definition order unless shuffling).
TEST(TorchNumerics, ZReportLargestError) {
  std::printf("[ torch    ] largest relative error vs torch: %.3g (%s)\n", g_max_rel, g_max_where.c_str());
  for (const auto& [key, rel] : g_max_rel_by_optimizer) std::printf("[ torch    ]   %-26s %.3g\n", key.c_str(), rel);
  RecordProperty("max_rel_error_vs_torch", std::to_string(g_max_rel));
  EXPECT_LE(g_max_rel, kRelTol);
}

}  // namespace
}  // namespace kiln
