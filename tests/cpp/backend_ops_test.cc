// test-backend-ops (ggml's habit): every layer-level op, forward and
// backward, on every backend against the reference backend, on odd shapes.
// Each case builds one layer's graph (Layer::call + append_backward) twice,
// placed on the CPU backend and on the reference backend (its nodes run the
// reference kernels in memory of its own, with copies at the edges), runs
// both on the same inputs, weights and cotangent, and compares the output,
// every gradient and the weights after the run (moving statistics) within
// 1e-4 relative (absolute below 1). It also checks the placement report: what the reference
// backend lacks falls back to the CPU with a reason, and strict placement
// refuses it. Float32 is the only dtype the Layers graph carries today.
#include <gtest/gtest.h>

#include "backends/cpu/cpu_backend.h"
#include "backends/reference/reference_backend.h"
#include "kiln/kiln.h"
#include "layer_fixture.h"

namespace kiln {
namespace {

using layer_test::LayerGraph;

struct OpCase {
  std::string cls, config;
  std::vector<Shape> inputs;  // batch excluded
  int64_t batch;
  bool training;
};

std::vector<OpCase> op_cases() {
  return {
      {"Dense", R"({"units": 7, "activation": "tanh"})", {{5}}, 3, false},
      {"Dense", R"({"units": 4, "activation": "softmax"})", {{9}}, 5, false},
      {"Dense", R"({"units": 3, "activation": "elu", "useBias": false})", {{2, 6}}, 2, false},
      {"Conv2D", R"({"filters": 5, "kernelSize": 3, "padding": "same", "activation": "relu"})", {{7, 5, 3}}, 2, false},
      {"Conv2D", R"({"filters": 4, "kernelSize": [3, 2], "strides": 2, "padding": "valid"})", {{9, 7, 3}}, 3, false},
      {"Conv2D", R"({"filters": 3, "kernelSize": 3, "dilationRate": 2, "padding": "same", "activation": "sigmoid"})", {{8, 7, 2}}, 1, false},
      {"Conv2D", R"({"filters": 32, "kernelSize": 3, "padding": "same"})", {{6, 6, 16}}, 1, false},  // Winograd's shape
      {"DepthwiseConv2D", R"({"kernelSize": 3, "depthMultiplier": 2, "padding": "same", "activation": "relu6"})", {{6, 5, 3}}, 2, false},
      {"SeparableConv2D", R"({"filters": 4, "kernelSize": 3, "padding": "valid"})", {{7, 6, 3}}, 2, false},
      {"Conv2DTranspose", R"({"filters": 3, "kernelSize": 3, "strides": 2, "padding": "same"})", {{4, 3, 5}}, 2, false},
      {"Conv1D", R"({"filters": 4, "kernelSize": 3, "strides": 2})", {{9, 3}}, 2, false},
      {"MaxPooling2D", R"({"poolSize": 3, "strides": 2, "padding": "same"})", {{7, 5, 3}}, 2, false},
      {"AveragePooling2D", R"({"poolSize": [2, 3], "padding": "valid"})", {{7, 8, 2}}, 2, false},
      {"MaxPooling1D", R"({"poolSize": 2})", {{9, 3}}, 2, false},
      {"GlobalAveragePooling2D", "{}", {{5, 3, 4}}, 3, false},
      {"GlobalMaxPooling1D", "{}", {{7, 5}}, 2, false},
      {"BatchNormalization", R"({"momentum": 0.9})", {{5, 3, 4}}, 3, true},
      {"BatchNormalization", "{}", {{6}}, 5, false},
      {"LayerNormalization", "{}", {{3, 7}}, 2, false},
      {"SimpleRNN", R"({"units": 5, "returnSequences": true})", {{4, 3}}, 2, false},
      {"LSTM", R"({"units": 4})", {{5, 3}}, 3, false},
      {"GRU", R"({"units": 3, "returnSequences": true, "goBackwards": true})", {{4, 5}}, 2, false},
      // Ops with no reference kernel yet: they fall back to the CPU.
      {"Softmax", "{}", {{3, 6}}, 2, false},
      {"UpSampling2D", R"({"size": [2, 3]})", {{3, 2, 2}}, 2, false},
      {"ZeroPadding2D", R"({"padding": [1, 2]})", {{3, 4, 2}}, 2, false},
      {"PReLU", "{}", {{4, 3}}, 2, false},
      {"Conv3D", R"({"filters": 3, "kernelSize": 2, "strides": [1, 2, 1], "padding": "same"})", {{3, 4, 3, 2}}, 2, false},
      {"MaxPooling3D", R"({"padding": "same"})", {{3, 4, 3, 2}}, 2, false},
      {"Concatenate", "{}", {{3, 2}, {3, 4}}, 2, false},
  };
}

std::vector<float> uniform(size_t n, Rng& rng, float lo, float hi) {
  std::vector<float> v(n);
  for (float& x : v) x = lo + (hi - lo) * rng.uniform();
  return v;
}

double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 1e30;
  double diff = 0, scale = 1;  // relative to the largest value, absolute below 1 (sums that cancel)
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return diff / scale;
}

// Builds, fills (same seed: same data) and runs one case on `options`.
void run_case(const OpCase& c, const PlanOptions* options, LayerGraph* lg) {
  Status s = lg->init(c.cls, c.config, c.inputs, c.batch, c.training, true, nullptr, options);
  ASSERT_TRUE(s.ok()) << s.message();
  Rng rng(1234);
  for (size_t k = 0; k < lg->weights.size(); ++k) {
    const bool variance = lg->specs[k].name.find("variance") != std::string::npos;
    const std::vector<float> w = uniform(lg->weights[k].size(), rng, variance ? 0.5f : -0.8f, variance ? 1.5f : 0.8f);
    std::copy(w.begin(), w.end(), lg->weights[k].begin());  // in place: the plan holds these addresses
  }
  for (int x : lg->xs) lg->set(x, uniform(size_t(lg->numel(x)), rng, -1.0f, 1.0f));
  lg->set(lg->r, uniform(size_t(lg->numel(lg->r)), rng, -1.0f, 1.0f));
  lg->run();
}

TEST(BackendOps, EveryOpOnEveryBackendMatchesTheReference) {
  PlanOptions reference;
  reference.backends.order = {reference_backend()};
  int referenced = 0;
  for (const OpCase& c : op_cases()) {
    SCOPED_TRACE(c.cls + " " + c.config);
    LayerGraph cpu, ref;
    run_case(c, nullptr, &cpu);
    run_case(c, &reference, &ref);
    if (HasFatalFailure()) return;
    EXPECT_LT(relative_error(cpu.output(), ref.output()), 1e-4) << "output";
    for (size_t i = 0; i < cpu.xs.size(); ++i)
      EXPECT_LT(relative_error(cpu.grad_of(cpu.xs[i]), ref.grad_of(ref.xs[i])), 1e-4) << "d input " << i;
    for (size_t k = 0; k < cpu.ws.size(); ++k) {
      EXPECT_LT(relative_error(cpu.grad_of(cpu.ws[k]), ref.grad_of(ref.ws[k])), 1e-4) << "d " << cpu.specs[k].name;
      EXPECT_LT(relative_error(cpu.weights[k], ref.weights[k]), 1e-4) << cpu.specs[k].name << " after the run";
    }
    // Placement: the CPU plan has no copies; the reference plan runs every
    // node with a reference kernel there, copies at the edges, and says why
    // each other node fell back.
    for (const PlacedStep& p : cpu.plan->placement()) EXPECT_EQ(p.backend, "cpu");
    int on_reference = 0, copies = 0;
    for (const PlacedStep& p : ref.plan->placement()) {
      if (p.node < 0) {
        ++copies;
        continue;
      }
      const Node& n = ref.g.nodes()[size_t(p.node)];
      const bool layer_op = n.op == OpKind::kOp || n.op == OpKind::kOpGrad;
      const bool expect_reference = !(layer_op && !n.impl->has_reference()) && !writes_host_state(n);
      EXPECT_EQ(p.backend, expect_reference ? "reference" : "cpu") << p.op;
      EXPECT_EQ(p.fallback.empty(), expect_reference) << p.op << ": " << p.fallback;
      on_reference += p.backend == "reference";
    }
    EXPECT_GT(copies, 0);
    if (on_reference > 0) ++referenced;
  }
  EXPECT_GE(referenced, 20);  // the cases above that have reference kernels ran there
}

TEST(BackendOps, StrictPlacementRefusesAFallbackAndNamesTheOp) {
  PlanOptions strict;
  strict.backends = {{reference_backend()}, true};
  LayerGraph lg;
  Status s = lg.init("UpSampling2D", "{}", {{3, 2, 2}}, 2, false, false, nullptr, &strict);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("UpSample"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("reference"), std::string::npos) << s.message();
  LayerGraph ok;  // an op the backend has is fine under strict placement
  s = ok.init("Conv2D", R"({"filters": 2, "kernelSize": 3})", {{5, 5, 1}}, 1, false, true, nullptr, &strict);
  EXPECT_TRUE(s.ok()) << s.message();
}

// Through the public API: a whole training run on the reference backend
// (optimizer updates fall back to the CPU, where the parameters live)
// follows the CPU's run, and the placement says where each step ran.
TEST(BackendOps, ModelTrainsOnTheReferenceBackendLikeOnTheCpu) {
  auto train = [](const std::string& backend, std::string* placement) {
    set_backend(backend);
    Sequential m({6, 6, 2}, 7);
    m.add("Conv2D", R"({"filters": 4, "kernelSize": 3, "activation": "relu"})");
    m.add("BatchNormalization");
    m.add("MaxPooling2D", R"({"poolSize": 2})");
    m.add("Flatten");
    m.add("Dense", R"({"units": 3, "activation": "softmax"})");
    CompileOptions co;
    co.optimizer = "adam";
    co.learning_rate = 0.01f;
    m.compile(co);
    Rng rng(5);
    std::vector<float> x = uniform(8 * 72, rng, -1, 1), y(8 * 3, 0.0f);
    for (int i = 0; i < 8; ++i) y[size_t(i * 3 + i % 3)] = 1.0f;
    std::vector<float> losses;
    for (int step = 0; step < 5; ++step) losses.push_back(m.train_on_batch(x.data(), y.data(), 8).first);
    *placement = m.placement();
    set_backend("cpu");
    return losses;
  };
  std::string cpu_placement, ref_placement;
  const std::vector<float> cpu = train("cpu", &cpu_placement), ref = train("reference", &ref_placement);
  EXPECT_LT(relative_error(ref, cpu), 1e-4);
  EXPECT_EQ(cpu_placement.find("\"reference\""), std::string::npos) << cpu_placement;
  EXPECT_NE(ref_placement.find("\"backend\":\"reference\""), std::string::npos) << ref_placement;
  EXPECT_NE(ref_placement.find("updates host-owned"), std::string::npos) << ref_placement;
  EXPECT_THROW(set_backend("webgl"), Error);
  EXPECT_EQ(backend(), "cpu");
}

}  // namespace
}  // namespace kiln
