#include "api/model.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace kiln {

float* aligned_floats(int64_t n) {
  // In wasm32 size_t is 32 bits: a large n would wrap to a small allocation.
  if (n < 0 || uint64_t(n) > uint64_t(SIZE_MAX) / sizeof(float)) return nullptr;
  void* p = nullptr;
  size_t bytes = size_t(std::max<int64_t>(n, 1)) * sizeof(float);
  if (posix_memalign(&p, 64, bytes) != 0) return nullptr;
  std::memset(p, 0, bytes);
  return static_cast<float*>(p);
}

namespace {
constexpr int64_t kMaxPlanBatch = 256;  // predict/evaluate run in chunks of this many rows
constexpr size_t kMaxCachedPlans = 16;

Status check_finite(const char* what, const float* data, int64_t rows, int64_t cols) {
  for (int64_t i = 0, n = rows * cols; i < n; ++i) {
    if (!std::isfinite(data[i]))
      return Status::error(std::string(what) + " contains " + (std::isnan(data[i]) ? "NaN" : "Infinity") +
                           " at sample " + std::to_string(i / cols) + ", feature " + std::to_string(i % cols));
  }
  return Status();
}
}  // namespace

Status Model::create(int64_t input_dim, const std::vector<DenseLayerSpec>& layers, uint64_t seed,
                     std::unique_ptr<Model>* out) {
  if (input_dim <= 0 || input_dim > kMaxUnits)
    return Status::error("input dimension must be in [1, " + std::to_string(kMaxUnits) + "], got " + std::to_string(input_dim));
  if (layers.empty()) return Status::error("a model needs at least one layer");
  if (int64_t(layers.size()) > kMaxLayers) return Status::error("too many layers: " + std::to_string(layers.size()));
  std::unique_ptr<Model> m(new Model());
  m->input_dim_ = input_dim;
  m->layers_ = layers;
  m->rng_.reseed(seed);
  int64_t fan_in = input_dim, total = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const DenseLayerSpec& l = layers[i];
    if (l.units <= 0 || l.units > kMaxUnits)
      return Status::error("layer " + std::to_string(i) + " (dense): units must be in [1, " + std::to_string(kMaxUnits) + "], got " + std::to_string(l.units));
    if (int(l.activation) >= kNumActivations) return Status::error("layer " + std::to_string(i) + ": unknown activation");
    // Each tensor starts on a 16-float (64-byte) boundary.
    const int64_t kernel = shape_numel({fan_in, l.units});
    if (kernel < 0 || kernel > kMaxParams || total + kernel + l.units + 32 > kMaxParams)
      return Status::error("model too large: layer " + std::to_string(i) + " takes the total past " + std::to_string(kMaxParams) + " parameters");
    auto add = [&](Shape s) {
      m->weights_.push_back({s, total});
      total += (shape_numel(s) + 15) / 16 * 16;
    };
    add({fan_in, l.units});
    if (l.use_bias) add({l.units});
    fan_in = l.units;
  }
  m->params_.reset(aligned_floats(total));
  if (!m->params_) return Status::error("out of memory allocating " + std::to_string(total) + " parameters");
  size_t w = 0;
  fan_in = input_dim;
  for (const DenseLayerSpec& l : layers) {
    initialize(l.kernel_initializer, m->weight_data(w), fan_in * l.units, fan_in, l.units, m->rng_);
    ++w;
    if (l.use_bias) {
      initialize(l.bias_initializer, m->weight_data(w), l.units, fan_in, l.units, m->rng_);
      ++w;
    }
    fan_in = l.units;
  }
  for (const WeightRef& ref : m->weights_) m->total_params_ += shape_numel(ref.shape);
  *out = std::move(m);
  return Status();
}

Status Model::compile(const TrainingConfig& config) {
  if (int(config.loss) >= kNumLossKinds) return Status::error("compile: unknown loss");
  const OptimizerConfig& o = config.optimizer;
  KILN_RETURN_IF_ERROR(optimizer_validate(o));
  const bool same_slots = compiled_ && optimizer_same_state(config_.optimizer, o);
  config_ = config;
  compiled_ = true;
  plans_.clear();
  if (!same_slots) {
    step_ = 0;
    const int64_t n = weights_.empty() ? 1 : weights_.back().offset + shape_numel(weights_.back().shape);
    for (int s = 0; s < kMaxOptimizerSlots; ++s) {
      slots_[s].reset();
      if (s < optimizer_num_slots(o)) {
        slots_[s].reset(aligned_floats(n));
        if (!slots_[s]) return Status::error("out of memory allocating optimizer state");
        std::fill(slots_[s].get(), slots_[s].get() + n, optimizer_slot_initial_value(o, s));
      }
    }
  }
  return Status();
}

Status Model::build(PlanKind kind, int64_t batch, CompiledPlan* out) {
  Graph g;
  const bool train = kind == PlanKind::kTrain || kind == PlanKind::kGradients;
  std::vector<float*> externals;
  auto external = [&](const Shape& s, const std::string& name, float* data, bool rg) {
    int v = g.add_external(s, name, rg);
    externals.resize(size_t(v) + 1, nullptr);
    externals[size_t(v)] = data;
    return v;
  };
  out->x = g.add_input({batch, input_dim_}, "x");
  // Softmax followed by cross-entropy, and sigmoid followed by binary
  // cross-entropy, are computed from the logits: stable, and the gradient is
  // simply (probabilities - target) / batch.
  const Activation last_act = layers_.back().activation;
  const bool fused = kind != PlanKind::kPredict && compiled_ && loss_fuses_with(config_.loss, last_act);
  int h = out->x, logits = -1;
  std::vector<int> param_values;
  size_t w = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const DenseLayerSpec& l = layers_[i];
    const std::string name = "dense_" + std::to_string(i + 1);
    int kernel = external(weights_[w].shape, name + "/kernel", weight_data(w), train);
    param_values.push_back(kernel);
    ++w;
    int bias = -1;
    if (l.use_bias) {
      bias = external(weights_[w].shape, name + "/bias", weight_data(w), train);
      param_values.push_back(bias);
      ++w;
    }
    // Elementwise activations run in the GEMM epilogue, except where the
    // backward pass needs the activation's input or the loss needs the logits.
    const bool separate = activation_is_rowwise(l.activation) || (train && activation_grad_needs_input(l.activation)) ||
                          (fused && i + 1 == layers_.size());
    int z;
    KILN_RETURN_IF_ERROR(g.gemm(h, kernel, bias, false, false, separate ? Activation::kLinear : l.activation, &z));
    logits = z;
    if (separate && l.activation != Activation::kLinear) KILN_RETURN_IF_ERROR(g.activation(z, l.activation, &z));
    h = z;
  }
  out->output = h;
  std::vector<int> roots{h};
  if (kind != PlanKind::kPredict) {
    if (!compiled_) return Status::error("the model must be compiled (optimizer and loss) before training or evaluation");
    const LossKind loss = config_.loss;
    out->target = loss_is_sparse(loss) ? g.add_input({batch}, "target") : g.add_input({batch, output_dim()}, "target");
    const int loss_input = fused ? logits : h;
    KILN_RETURN_IF_ERROR(g.loss(loss_input, out->target, loss, fused, &out->loss));
    roots = {out->loss};
    // argmax of the logits is argmax of the softmax, without computing it.
    const bool argmax_of_logits = fused && last_act == Activation::kSoftmax && output_dim() > 1;
    for (Metric metric : metrics_) {
      const bool argmax = metric == Metric::kAccuracy || metric == Metric::kCategoricalAccuracy ||
                          metric == Metric::kSparseCategoricalAccuracy;
      int v;
      KILN_RETURN_IF_ERROR(g.metric(argmax && argmax_of_logits ? logits : h, out->target, loss, metric, &v));
      out->metrics.push_back(v);
      roots.push_back(v);
    }
    std::vector<int> grads;
    if (train) {
      int seed_grad;
      KILN_RETURN_IF_ERROR(g.loss_grad(loss_input, out->target, loss, fused, &seed_grad));
      KILN_RETURN_IF_ERROR(append_backward(g, loss_input, seed_grad, &grads));
    }
    if (kind == PlanKind::kGradients) {
      for (int p : param_values) {
        out->grads.push_back(grads[size_t(p)]);
        roots.push_back(grads[size_t(p)]);
      }
    } else if (train) {
      g.optimizer_tick();
      const int slots = optimizer_num_slots(config_.optimizer);
      for (size_t p = 0; p < param_values.size(); ++p) {
        std::vector<int> slot_values;
        for (int s = 0; s < slots; ++s)
          slot_values.push_back(external(weights_[p].shape, "slot", slot_data(s, p), false));
        if (grads[size_t(param_values[p])] < 0) return Status::error("autodiff produced no gradient for " + g.values()[size_t(param_values[p])].name);
        KILN_RETURN_IF_ERROR(g.update(param_values[p], grads[size_t(param_values[p])], slot_values));
      }
    }
    out->output = -1;
  }
  g.eliminate_dead_nodes(roots);
  externals.resize(g.values().size(), nullptr);
  return Plan::compile(g, externals, &config_.optimizer, &step_, &out->plan);
}

Status Model::get_plan(PlanKind kind, int64_t batch, CompiledPlan** out) {
  auto key = std::make_pair(int(kind), batch);
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    if (plans_.size() >= kMaxCachedPlans) plans_.clear();
    CompiledPlan cp;
    KILN_RETURN_IF_ERROR(build(kind, batch, &cp));
    it = plans_.emplace(key, std::move(cp)).first;
  }
  *out = &it->second;
  return Status();
}

Status Model::check_finite_loss(float loss) const {
  if (std::isfinite(loss)) return Status();
  return Status::error("training diverged: the loss is " + std::string(std::isnan(loss) ? "NaN" : "Infinity") +
                       " after optimizer step " + std::to_string(step_) + " (try a smaller learning rate)");
}

Status Model::train_batch(const float* x, const float* y, const uint32_t* rows, int64_t count, float* loss,
                          float* metrics) {
  if (count <= 0) return Status::error("trainOnBatch: the batch is empty");
  CompiledPlan* cp;
  KILN_RETURN_IF_ERROR(get_plan(PlanKind::kTrain, count, &cp));
  KILN_RETURN_IF_ERROR(feed(cp, x, y, rows, count));
  cp->plan->run();
  *loss = cp->plan->buffer(cp->loss)[0];
  for (size_t i = 0; i < cp->metrics.size(); ++i) {
    const float* ratio = cp->plan->buffer(cp->metrics[i]);
    metrics[i] = ratio[1] > 0 ? ratio[0] / ratio[1] : 0.0f;
  }
  return check_finite_loss(*loss);
}

// Gathers the batch's rows into the plan's inputs and rejects non-finite data
// before anything runs, so bad data cannot reach the weights.
Status Model::feed(CompiledPlan* cp, const float* x, const float* y, const uint32_t* rows, int64_t count) {
  float* xb = cp->plan->buffer(cp->x);
  float* yb = cp->plan->buffer(cp->target);
  const int64_t xd = input_dim_, yd = target_dim();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t r = rows ? int64_t(rows[i]) : i;
    std::memcpy(xb + i * xd, x + r * xd, size_t(xd) * sizeof(float));
    std::memcpy(yb + i * yd, y + r * yd, size_t(yd) * sizeof(float));
  }
  KILN_RETURN_IF_ERROR(check_finite("input x", xb, count, xd));
  return check_finite("target y", yb, count, yd);
}

Status Model::gradients(const float* x, const float* y, int64_t n, float* loss, std::vector<std::vector<float>>* grads) {
  if (n <= 0) return Status::error("gradients: no samples");
  CompiledPlan* cp;
  KILN_RETURN_IF_ERROR(get_plan(PlanKind::kGradients, n, &cp));
  KILN_RETURN_IF_ERROR(feed(cp, x, y, nullptr, n));
  cp->plan->run();
  *loss = cp->plan->buffer(cp->loss)[0];
  grads->clear();
  for (size_t i = 0; i < cp->grads.size(); ++i) {
    const float* g = cp->plan->buffer(cp->grads[i]);
    grads->emplace_back(g, g + shape_numel(weights_[i].shape));
  }
  return Status();
}

Status Model::evaluate(const float* x, const float* y, int64_t n, float* loss, float* metrics) {
  if (n <= 0) return Status::error("evaluate: no samples");
  KILN_RETURN_IF_ERROR(check_finite("input x", x, n, input_dim_));
  KILN_RETURN_IF_ERROR(check_finite("target y", y, n, target_dim()));
  double loss_sum = 0;
  std::vector<double> num(metrics_.size(), 0.0), den(metrics_.size(), 0.0);
  for (int64_t start = 0; start < n; start += kMaxPlanBatch) {
    const int64_t b = std::min(kMaxPlanBatch, n - start);
    CompiledPlan* cp;
    KILN_RETURN_IF_ERROR(get_plan(PlanKind::kEvaluate, b, &cp));
    std::memcpy(cp->plan->buffer(cp->x), x + start * input_dim_, size_t(b * input_dim_) * sizeof(float));
    std::memcpy(cp->plan->buffer(cp->target), y + start * target_dim(), size_t(b * target_dim()) * sizeof(float));
    cp->plan->run();
    loss_sum += double(cp->plan->buffer(cp->loss)[0]) * double(b);
    for (size_t i = 0; i < metrics_.size(); ++i) {
      num[i] += cp->plan->buffer(cp->metrics[i])[0];
      den[i] += cp->plan->buffer(cp->metrics[i])[1];
    }
  }
  *loss = float(loss_sum / double(n));
  for (size_t i = 0; i < metrics_.size(); ++i) metrics[i] = den[i] > 0 ? float(num[i] / den[i]) : 0.0f;
  return Status();
}

Status Model::set_metrics(const std::vector<Metric>& metrics) {
  for (Metric m : metrics) {
    if (int(m) >= kNumMetrics) return Status::error("unknown metric");
    if (compiled_ && !metric_fits_loss(m, config_.loss))
      return Status::error(std::string("metric ") + metric_name(m) + " does not fit the loss " + loss_name(config_.loss));
  }
  metrics_ = metrics;
  plans_.clear();
  return Status();
}

Status Model::predict(const float* x, int64_t n, float* out) {
  if (n <= 0) return Status::error("predict: no samples");
  KILN_RETURN_IF_ERROR(check_finite("input x", x, n, input_dim_));
  for (int64_t start = 0; start < n; start += kMaxPlanBatch) {
    const int64_t b = std::min(kMaxPlanBatch, n - start);
    CompiledPlan* cp;
    KILN_RETURN_IF_ERROR(get_plan(PlanKind::kPredict, b, &cp));
    std::memcpy(cp->plan->buffer(cp->x), x + start * input_dim_, size_t(b * input_dim_) * sizeof(float));
    cp->plan->run();
    std::memcpy(out + start * output_dim(), cp->plan->buffer(cp->output), size_t(b * output_dim()) * sizeof(float));
  }
  return Status();
}

Status Model::warmup(int64_t batch_size) {
  if (batch_size <= 0) return Status::error("warmup: batch size must be positive");
  // Runs the predict plans on zeros: compiles them and grows the GEMM packing
  // buffers, so the first real call pays neither. Training plans are compiled
  // too but not run (running one would move the weights).
  const int64_t rows = std::min(batch_size, kMaxPlanBatch);
  std::vector<float> zeros(size_t(rows * input_dim_), 0.0f);
  std::vector<float> out(size_t(rows * output_dim()));
  KILN_RETURN_IF_ERROR(predict(zeros.data(), 1, out.data()));
  KILN_RETURN_IF_ERROR(predict(zeros.data(), rows, out.data()));
  if (compiled_) {
    CompiledPlan* cp;
    KILN_RETURN_IF_ERROR(get_plan(PlanKind::kTrain, batch_size, &cp));
  }
  return Status();
}

void Model::shuffle(uint32_t* idx, int64_t n) {
  for (int64_t i = n - 1; i > 0; --i) {
    uint32_t j = rng_.below(uint32_t(i + 1));
    std::swap(idx[i], idx[j]);
  }
}

Status Model::set_weight(size_t i, const float* data, int64_t n) {
  if (i >= weights_.size()) return Status::error("setWeights: weight index " + std::to_string(i) + " out of range (model has " + std::to_string(weights_.size()) + ")");
  if (n != shape_numel(weights_[i].shape))
    return Status::error("setWeights: weight " + std::to_string(i) + " expects shape " + shape_to_string(weights_[i].shape) + " (" +
                         std::to_string(shape_numel(weights_[i].shape)) + " values), got " + std::to_string(n) + " values");
  std::memcpy(weight_data(i), data, size_t(n) * sizeof(float));
  return Status();
}

int64_t Model::plan_arena_bytes() const {
  int64_t total = 0;
  for (const auto& kv : plans_) total += kv.second.plan->arena_bytes();
  return total;
}

std::string Model::summary() const {
  std::string s = "Layer (type)            Output shape         Param #\n";
  s += "=====================================================\n";
  int64_t fan_in = input_dim_;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const DenseLayerSpec& l = layers_[i];
    int64_t params = fan_in * l.units + (l.use_bias ? l.units : 0);
    char line[160];
    std::snprintf(line, sizeof line, "%-23s %-20s %lld\n", ("dense_" + std::to_string(i + 1) + " (Dense)").c_str(),
                  ("[null," + std::to_string(l.units) + "]").c_str(), static_cast<long long>(params));
    s += line;
    fan_in = l.units;
  }
  s += "=====================================================\n";
  s += "Total params: " + std::to_string(total_params_) + "\n";
  return s;
}

}  // namespace kiln
