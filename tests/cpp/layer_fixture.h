// Shared by the layer tests against PyTorch (simple_layers_test.cc,
// conv_layers_torch_test.cc, recurrent_layers_torch_test.cc): reads the
// fixtures in tests/fixtures/layers_<set>/ (format: scripts/layer_fixture_io.py),
// builds one-layer models and layer graphs, and compares one case:
//  * check_predict: predict() through a one-layer Model (inference);
//  * check_gradients: the layer's graph (Layer::call + append_backward + Plan)
//    gives y, d(sum y*r)/d inputs and d/d trainable weights, and the weights
//    after the forward (BatchNormalization's moving statistics);
//  * check_model_gradients: Model::gradients (training mode) agrees.
// All within 1e-4 relative (max |a - b| / max |b|), model gradients 1e-3.
// Header-only: the test executable globs tests/cpp/*_test.cc.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/model.h"
#include "core/json.h"
#include "runtime/plan.h"
#include "layers/layer.h"

namespace kiln {
namespace layer_test {

// ---- fixtures ----------------------------------------------------------------

struct LayerFixture {
  std::string name, cls, config;
  int64_t batch = 0;
  // 1: the reference is the training-mode forward (batch statistics);
  // 0: inference only; -1: the layer behaves the same in both.
  int training = -1;
  std::vector<Shape> inputs;  // batch excluded
  std::map<std::string, std::vector<float>> t;
  bool has(const std::string& k) const { return t.count(k) > 0; }
  const std::vector<float>& get(const std::string& k) const {
    static const std::vector<float> empty;
    auto it = t.find(k);
    return it == t.end() ? empty : it->second;
  }
};

// set: "simple", "conv", "recurrent" (tests/fixtures/layers_<set>/).
inline std::string fixture_dir(const std::string& set) { return std::string(KILN_FIXTURE_DIR) + "/layers_" + set + "/"; }

inline bool load_fixture(const std::string& set, const std::string& name, LayerFixture* f, std::string* err) {
  const std::string path = fixture_dir(set) + name + ".txt";
  std::ifstream in(path);
  if (!in) {
    *err = "cannot open " + path + " (run scripts/make_layer_fixtures_" + set + ".py)";
    return false;
  }
  f->name = name;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    if (key == "class") {
      ls >> f->cls;
    } else if (key == "config") {
      ls >> f->config;
    } else if (key == "batch") {
      ls >> f->batch;
    } else if (key == "training") {
      ls >> f->training;
    } else if (key == "input") {
      size_t nd = 0;
      ls >> nd;
      Shape s(nd);
      for (auto& d : s) ls >> d;
      f->inputs.push_back(s);
    } else {
      size_t n = 0;
      ls >> n;
      std::vector<float> v(n);
      for (auto& x : v) {
        double d;
        ls >> d;
        x = float(d);
      }
      f->t[key] = v;
    }
    if (!ls) {
      *err = name + ": bad line: " + line.substr(0, 60);
      return false;
    }
  }
  return true;
}

inline std::vector<LayerFixture> all_fixtures(const std::string& set, size_t min_count) {
  std::vector<LayerFixture> out;
  std::ifstream idx(fixture_dir(set) + "index.txt");
  EXPECT_TRUE(bool(idx)) << "missing " << fixture_dir(set) << "index.txt";
  std::string name;
  while (idx >> name) {
    LayerFixture f;
    std::string err;
    if (!load_fixture(set, name, &f, &err)) {
      ADD_FAILURE() << err;
      continue;
    }
    out.push_back(f);
  }
  EXPECT_GE(out.size(), min_count);
  return out;
}

// max|a - b| / max|b| (absolute when b is all zeros).
inline double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 1e30;
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::fabs(double(a[i]) - double(b[i])));
    den = std::max(den, std::fabs(double(b[i])));
  }
  return den > 0 ? num / den : num;
}

// ---- building a one-layer model ------------------------------------------------

inline std::string shape_json(const Shape& s) {
  Json a = Json::array();
  for (int64_t d : s) a.push(Json::number(double(d)));
  return a.dump();
}

// {"layers": [InputLayer..., the layer], ...} applying the layer to every input.
inline std::string one_layer_topology(const std::string& cls, const std::string& config, const std::vector<Shape>& inputs) {
  Json cfg;
  EXPECT_TRUE(parse_json(config, &cfg).ok()) << config;
  cfg.set("name", Json::string("layer_under_test"));
  Json layers = Json::array(), nodes = Json::array(), ins = Json::array(), refs = Json::array();
  for (size_t i = 0; i < inputs.size(); ++i) {
    Json ic = Json::object();
    Json shape;
    EXPECT_TRUE(parse_json(shape_json(inputs[i]), &shape).ok());
    ic.set("name", Json::string("input_" + std::to_string(i))).set("shape", shape);
    layers.push(Json::object().set("className", Json::string("InputLayer")).set("config", ic));
    nodes.push(Json::object().set("layer", Json::number(double(i))).set("inputs", Json::array()));
    ins.push(Json::number(double(i)));
    refs.push(Json::array().push(Json::number(double(i))).push(Json::number(0)));
  }
  layers.push(Json::object().set("className", Json::string(cls)).set("config", cfg));
  nodes.push(Json::object().set("layer", Json::number(double(inputs.size()))).set("inputs", refs));
  Json topo = Json::object();
  topo.set("layers", layers).set("nodes", nodes).set("inputs", ins);
  topo.set("outputs", Json::array().push(Json::array().push(Json::number(double(inputs.size()))).push(Json::number(0))));
  return topo.dump();
}

inline Status make_model(const std::string& cls, const std::string& config, const std::vector<Shape>& inputs,
                         std::unique_ptr<Model>* out, uint64_t seed = 7) {
  return Model::create(one_layer_topology(cls, config, inputs), seed, out);
}

inline std::vector<float> predict(Model& m, const std::vector<std::vector<float>>& xs, int64_t batch) {
  std::vector<const float*> ptrs;
  for (const auto& x : xs) ptrs.push_back(x.data());
  std::vector<float> y(size_t(batch * m.output_dim()));
  Status s = m.predict(ptrs, batch, {y.data()});
  EXPECT_TRUE(s.ok()) << s.message();
  return y;
}

// ---- running a layer's graph directly -------------------------------------------

inline Shape with_batch(int64_t b, const Shape& s) {
  Shape o = {b};
  o.insert(o.end(), s.begin(), s.end());
  return o;
}

// One layer applied to fresh inputs in a graph, with (optionally) the
// backward pass from a cotangent r: what the model's plans do, minus the loss.
struct LayerGraph {
  std::unique_ptr<Layer> layer;
  std::vector<WeightSpec> specs;
  std::vector<std::vector<float>> weights;  // the externals' storage
  Graph g;
  std::vector<int> xs, ws, grads;
  int y = -1, y_keep = -1, r = -1;
  std::unique_ptr<Plan> plan;

  Status init(const std::string& cls, const std::string& config, const std::vector<Shape>& inputs, int64_t batch,
              bool training, bool backward, Rng* rng, const PlanOptions* options = nullptr) {
    Json cfg;
    KILN_RETURN_IF_ERROR(parse_json(config, &cfg));
    cfg.set("name", Json::string("layer_under_test"));
    KILN_RETURN_IF_ERROR(make_layer(cls, cfg, &layer));
    std::vector<Shape> out_shapes;
    KILN_RETURN_IF_ERROR(layer->build(inputs, &specs, &out_shapes));
    for (size_t i = 0; i < inputs.size(); ++i) {
      xs.push_back(g.add_input(with_batch(batch, inputs[i]), "x" + std::to_string(i)));
      if (backward) g.value(xs.back()).requires_grad = true;
    }
    for (const WeightSpec& s : specs) {
      weights.emplace_back(size_t(shape_numel(s.shape)), 0.0f);
      ws.push_back(g.add_external(s.shape, s.name, backward && s.trainable));
    }
    LayerContext ctx;
    ctx.graph = &g;
    ctx.training = training;
    ctx.weights = ws;
    std::map<int, std::pair<int, Activation>> logits;
    ctx.logits = &logits;
    std::vector<int> outs;
    KILN_RETURN_IF_ERROR(layer->call(ctx, xs, &outs));
    if (outs.size() != out_shapes.size()) return Status::error("output count differs from build()");
    y = outs[0];
    if (g.values()[size_t(y)].shape != with_batch(batch, out_shapes[0]))
      return Status::error("call() shape " + shape_to_string(g.values()[size_t(y)].shape) + " != build() shape " +
                           shape_to_string(with_batch(batch, out_shapes[0])));
    if (backward) {
      r = g.add_input(g.values()[size_t(y)].shape, "r");
      KILN_RETURN_IF_ERROR(append_backward(g, y, r, &grads));
    }
    // A copy read by nothing keeps y's bytes alive to the end of the run.
    KILN_RETURN_IF_ERROR(g.reshape(y, {shape_numel(g.values()[size_t(y)].shape)}, &y_keep));
    std::vector<float*> ext(g.values().size(), nullptr);
    for (size_t k = 0; k < ws.size(); ++k) ext[size_t(ws[k])] = weights[k].data();
    return Plan::compile(g, ext, nullptr, nullptr, &plan, rng, options);
  }
  int64_t numel(int v) const { return shape_numel(g.values()[size_t(v)].shape); }
  void set(int v, const std::vector<float>& data) {
    ASSERT_EQ(int64_t(data.size()), numel(v));
    std::memcpy(plan->buffer(v), data.data(), data.size() * sizeof(float));
  }
  std::vector<float> get(int v) const { return std::vector<float>(plan->buffer(v), plan->buffer(v) + numel(v)); }
  std::vector<float> output() const { return get(y_keep); }
  // d(sum y*r)/d(value), or empty when the graph computed none.
  std::vector<float> grad_of(int v) const {
    if (size_t(v) >= grads.size() || grads[size_t(v)] < 0) return {};
    return get(grads[size_t(v)]);
  }
  void run() { plan->run(); }
};

inline double loss_of(LayerGraph& lg, const std::vector<float>& r) {
  lg.run();
  const std::vector<float> y = lg.output();
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += double(y[i]) * double(r[i]);
  return s;
}

// ---- comparing one case ------------------------------------------------------------
// Each returns the worst relative error it saw (-1 when it had nothing to check).

inline std::vector<std::vector<float>> fixture_inputs(const LayerFixture& f) {
  std::vector<std::vector<float>> xs;
  for (size_t i = 0; i < f.inputs.size(); ++i) xs.push_back(f.get("x" + std::to_string(i)));
  return xs;
}

// predict() (inference) against y; skipped for training-mode references.
inline double check_predict(const LayerFixture& f) {
  if (f.training == 1) return -1;
  std::unique_ptr<Model> m;
  Status s = make_model(f.cls, f.config, f.inputs, &m);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return 1e30;
  for (size_t k = 0; k < m->num_weights(); ++k) {
    const auto& w = f.get("w" + std::to_string(k));
    s = m->set_weight(k, w.data(), int64_t(w.size()));
    EXPECT_TRUE(s.ok()) << s.message();
    if (!s.ok()) return 1e30;
  }
  const double e = rel_error(predict(*m, fixture_inputs(f), f.batch), f.get("y"));
  EXPECT_LE(e, 1e-4) << f.cls << " " << f.config;
  return e;
}

// The layer graph in the fixture's mode: y, dx<i>, dw<k> and after_w<k>.
inline double check_gradients(const LayerFixture& f) {
  LayerGraph lg;
  Status s = lg.init(f.cls, f.config, f.inputs, f.batch, f.training == 1, true, nullptr);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return 1e30;
  for (size_t k = 0; k < lg.weights.size(); ++k) lg.weights[k] = f.get("w" + std::to_string(k));
  for (size_t i = 0; i < lg.xs.size(); ++i) lg.set(lg.xs[i], f.get("x" + std::to_string(i)));
  lg.set(lg.r, f.get("r"));
  lg.run();
  double worst = rel_error(lg.output(), f.get("y"));
  EXPECT_LE(worst, 1e-4) << "y";
  int checked = 0;
  auto expect_grad = [&](const std::vector<float>& g, const std::string& key, const char* what) {
    if (!f.has(key)) {
      EXPECT_TRUE(g.empty()) << "a gradient for " << what << " " << key.substr(2) << " that has none";
      return;
    }
    const double e = rel_error(g, f.get(key));
    EXPECT_LE(e, 1e-4) << key;
    worst = std::max(worst, e);
    ++checked;
  };
  for (size_t i = 0; i < lg.xs.size(); ++i) expect_grad(lg.grad_of(lg.xs[i]), "dx" + std::to_string(i), "input");
  for (size_t k = 0; k < lg.ws.size(); ++k) {
    expect_grad(lg.grad_of(lg.ws[k]), "dw" + std::to_string(k), "weight");
    const std::string after = "after_w" + std::to_string(k);
    if (f.has(after)) {
      const double e = rel_error(lg.weights[k], f.get(after));
      EXPECT_LE(e, 1e-4) << after;
      worst = std::max(worst, e);
    }
  }
  EXPECT_GT(checked, 0);
  return worst;
}

// Model::gradients (a training-mode plan) for the trainable weights. MSE
// against a target y - r * n / 2 has gradient d/dy mean((y - t)^2) =
// 2 (y - t) / n = r, so the weight gradients are those of sum(y * r).
inline double check_model_gradients(const LayerFixture& f) {
  std::vector<std::string> keys;  // dw<k> of the trainable weights, in order
  for (size_t k = 0; f.has("w" + std::to_string(k)); ++k)
    if (f.has("dw" + std::to_string(k))) keys.push_back("dw" + std::to_string(k));
  if (keys.empty() || f.training == 0) return -1;
  std::unique_ptr<Model> m;
  Status s = make_model(f.cls, f.config, f.inputs, &m);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return 1e30;
  for (size_t k = 0; k < m->num_weights(); ++k) {
    const auto& w = f.get("w" + std::to_string(k));
    EXPECT_TRUE(m->set_weight(k, w.data(), int64_t(w.size())).ok());
  }
  TrainingConfig tc;
  tc.loss = LossKind::kMeanSquaredError;
  EXPECT_TRUE(m->compile(tc).ok());
  const std::vector<float>& y = f.get("y");
  const std::vector<float>& r = f.get("r");
  // The loss averages over rows of the last axis: n = all elements.
  const double n = double(y.size());
  std::vector<float> target(y.size());
  for (size_t i = 0; i < y.size(); ++i) target[i] = float(double(y[i]) - double(r[i]) * n / 2);
  const std::vector<std::vector<float>> xs = fixture_inputs(f);
  std::vector<const float*> xp;
  for (const auto& x : xs) xp.push_back(x.data());
  float loss;
  std::vector<std::vector<float>> grads;
  s = m->gradients(xp, {target.data()}, f.batch, &loss, &grads);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return 1e30;
  EXPECT_EQ(grads.size(), keys.size());
  double worst = 0;
  for (size_t k = 0; k < std::min(grads.size(), keys.size()); ++k) {
    const double e = rel_error(grads[k], f.get(keys[k]));
    EXPECT_LE(e, 1e-3) << keys[k];
    worst = std::max(worst, e);
  }
  return worst;
}

// Runs check(fixture) on every case of a set (that `select` accepts) and
// prints the worst error per class.
template <typename Check>
void for_each_fixture(const std::string& set, size_t min_count, const char* what, Check check,
                      bool (*select)(const LayerFixture&) = nullptr) {
  std::map<std::string, double> worst;
  for (const LayerFixture& f : all_fixtures(set, min_count)) {
    if (select && !select(f)) continue;
    SCOPED_TRACE(f.name);
    const double e = check(f);
    if (e >= 0) worst[f.cls] = std::max(worst[f.cls], e);
  }
  for (const auto& kv : worst) std::printf("  %-24s worst %-10s relative error %.2e\n", kv.first.c_str(), what, kv.second);
}

}  // namespace layer_test
}  // namespace kiln
