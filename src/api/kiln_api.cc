// The native C++ API: a thin layer that turns Status errors into exceptions.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <iterator>
#include <map>
#include <numeric>

#include "api/model.h"
#include "api/model_import.h"
#include "core/json.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "io/kiln_graph_format.h"
#include "io/model_format.h"
#include "kiln/kiln.h"

namespace kiln {

namespace {
void check(const Status& s) {
  if (!s.ok()) throw Error(s.message());
}
}  // namespace

void set_num_threads(int threads) { check(ThreadPool::global().resize(threads)); }
int num_threads() { return ThreadPool::global().num_threads(); }
std::string gemm_kernel_name() { return gemm_active_kernel().name; }

void set_backend(const std::string& name, bool strict) { check(set_default_backend(name, strict)); }
std::string backend() { return default_backend_choice().order.front()->name(); }
std::vector<std::string> backends() { return backend_names(); }

struct Sequential::Impl {
  std::vector<int64_t> input_shape;
  uint64_t seed = 42;
  std::vector<Json> pending;  // {"className", "config"} of the layers added before the first use
  std::map<std::string, int> name_counts;
  std::unique_ptr<Model> model;
};

Sequential::Sequential() : impl_(new Impl) {}
Sequential::Sequential(int64_t input_dim, uint64_t seed) : Sequential(std::vector<int64_t>{input_dim}, seed) {}
Sequential::Sequential(std::vector<int64_t> input_shape, uint64_t seed) : impl_(new Impl) {
  impl_->input_shape = std::move(input_shape);
  impl_->seed = seed;
}
Sequential::~Sequential() = default;
Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;

Sequential& Sequential::add_dense(const DenseOptions& o) {
  if (impl_->model) throw Error("add_dense: layers cannot be added after the model is built");
  DenseLayerSpec l;
  l.units = o.units;
  l.use_bias = o.use_bias;
  if (!activation_from_name(o.activation, &l.activation)) throw Error("dense: unknown activation '" + o.activation + "'");
  if (!initializer_from_name(o.kernel_initializer, &l.kernel_initializer))
    throw Error("dense: unknown kernel initializer '" + o.kernel_initializer + "'");
  if (!initializer_from_name(o.bias_initializer, &l.bias_initializer))
    throw Error("dense: unknown bias initializer '" + o.bias_initializer + "'");
  Json config = Json::object();
  config.set("units", Json::number(double(o.units)));
  config.set("activation", Json::string(o.activation));
  config.set("useBias", Json::boolean(o.use_bias));
  config.set("kernelInitializer", Json::string(o.kernel_initializer));
  config.set("biasInitializer", Json::string(o.bias_initializer));
  return add("Dense", config.dump());
}

Sequential& Sequential::add(const std::string& class_name, const std::string& config_json) {
  if (impl_->model) throw Error("add: layers cannot be added after the model is built");
  Json config;
  const Status parsed = parse_json(config_json, &config);
  if (!parsed.ok() || !config.is_object()) throw Error(class_name + ": the config must be a JSON object" + (parsed.ok() ? "" : " (" + parsed.message() + ")"));
  if (!config.find("name")) {  // TF.js-style unique names: conv2d_1, conv2d_2, ...
    std::string base;
    for (size_t i = 0; i < class_name.size(); ++i) {
      const char c = class_name[i];
      if (i > 0 && std::isupper(static_cast<unsigned char>(c)) && std::islower(static_cast<unsigned char>(class_name[i - 1]))) base += '_';
      base += char(std::tolower(static_cast<unsigned char>(c)));
    }
    config.set("name", Json::string(base + "_" + std::to_string(++impl_->name_counts[base])));
  }
  Json layer = Json::object();
  layer.set("className", Json::string(class_name));
  layer.set("config", config);
  impl_->pending.push_back(layer);
  return *this;
}

void Sequential::build_if_needed() const {
  if (impl_->model) return;
  // A sequential topology (src/api/model.h): the input layer, then each layer on the one before.
  Json shape = Json::array(), layers = Json::array(), nodes = Json::array();
  for (int64_t d : impl_->input_shape) shape.push(Json::number(double(d)));
  Json input_config = Json::object();
  input_config.set("name", Json::string("input"));
  input_config.set("shape", shape);
  Json input = Json::object();
  input.set("className", Json::string("InputLayer"));
  input.set("config", input_config);
  layers.push(input);
  for (const Json& l : impl_->pending) layers.push(l);
  for (size_t i = 0; i <= impl_->pending.size(); ++i) {
    Json node = Json::object(), inputs = Json::array();
    if (i > 0) {
      Json ref = Json::array();
      ref.push(Json::number(double(i - 1)));
      ref.push(Json::number(0));
      inputs.push(ref);
    }
    node.set("layer", Json::number(double(i)));
    node.set("inputs", inputs);
    nodes.push(node);
  }
  Json outputs = Json::array(), last = Json::array(), model_inputs = Json::array();
  last.push(Json::number(double(impl_->pending.size())));
  last.push(Json::number(0));
  outputs.push(last);
  model_inputs.push(Json::number(0));
  Json topology = Json::object();
  topology.set("className", Json::string("Sequential"));
  topology.set("layers", layers);
  topology.set("nodes", nodes);
  topology.set("inputs", model_inputs);
  topology.set("outputs", outputs);
  check(Model::create(topology.dump(), impl_->seed, &impl_->model));
}

void Sequential::compile(const CompileOptions& o) {
  build_if_needed();
  TrainingConfig c;
  if (!loss_from_name(o.loss, &c.loss)) throw Error("compile: unknown loss '" + o.loss + "'");
  OptimizerConfig& opt = c.optimizer;
  static const std::pair<const char*, OptimizerKind> kinds[] = {
      {"sgd", OptimizerKind::kSgd},         {"momentum", OptimizerKind::kSgd},    {"adam", OptimizerKind::kAdam},
      {"adamw", OptimizerKind::kAdamW},     {"adamax", OptimizerKind::kAdamax},   {"adagrad", OptimizerKind::kAdagrad},
      {"adadelta", OptimizerKind::kAdadelta}, {"rmsprop", OptimizerKind::kRmsprop}};
  static const float default_lr[kNumOptimizerKinds] = {0.01f, 0.001f, 0.001f, 0.002f, 0.01f, 1.0f, 0.001f};
  const auto* kind = std::find_if(std::begin(kinds), std::end(kinds), [&](const auto& k) { return o.optimizer == k.first; });
  if (kind == std::end(kinds))
    throw Error("compile: unknown optimizer '" + o.optimizer + "' (sgd, momentum, adam, adamw, adamax, adagrad, adadelta, rmsprop)");
  opt.kind = kind->second;
  opt.learning_rate = o.learning_rate > 0 ? o.learning_rate : default_lr[int(opt.kind)];
  opt.momentum = o.optimizer == "momentum" ? o.momentum : opt.kind == OptimizerKind::kRmsprop ? o.rmsprop_momentum : 0.0f;
  opt.nesterov = o.optimizer == "momentum" && o.nesterov;
  opt.beta1 = o.beta1;
  opt.beta2 = o.beta2;
  opt.epsilon = o.epsilon;
  opt.weight_decay = opt.kind == OptimizerKind::kAdamW ? o.weight_decay : 0.0f;
  opt.decay = o.decay;
  opt.initial_accumulator = o.initial_accumulator_value;
  opt.rho = o.rho >= 0 ? o.rho : opt.kind == OptimizerKind::kRmsprop ? 0.9f : 0.95f;
  opt.centered = o.centered;
  opt.clip_value = o.clip_value;
  opt.clip_norm = o.clip_norm;
  opt.global_clipnorm = o.global_clipnorm;
  static const char* schedules[kNumScheduleKinds] = {"constant", "exponentialDecay", "piecewiseConstantDecay", "cosineDecay"};
  const auto* sk = std::find(std::begin(schedules), std::end(schedules), o.schedule.kind);
  if (sk == std::end(schedules)) throw Error("compile: unknown schedule '" + o.schedule.kind + "'");
  LearningRateSchedule& sch = opt.schedule;
  sch.kind = ScheduleKind(sk - std::begin(schedules));
  sch.decay_steps = o.schedule.decay_steps;
  sch.decay_rate = o.schedule.decay_rate;
  sch.staircase = o.schedule.staircase;
  sch.alpha = o.schedule.alpha;
  sch.boundaries = o.schedule.boundaries;
  sch.values = o.schedule.values;
  if (sch.kind == ScheduleKind::kPiecewise && !sch.values.empty()) opt.learning_rate = sch.values[0];
  check(impl_->model->compile(c));
}

std::vector<EpochLogs> Sequential::fit(const float* x, const float* y, int64_t n, const FitOptions& o) {
  build_if_needed();
  if (n <= 0) throw Error("fit: no samples");
  if (o.batch_size <= 0) throw Error("fit: batchSize must be positive");
  Model& m = *impl_->model;
  // One fit at a time, whole: another thread's call is refused until it ends.
  const ExclusiveUse::Guard guard(m.in_use());
  if (!guard.ok()) throw Error(guard.busy("the model", "fit").message());
  // Every sample is checked before the first step, and a failure in any
  // epoch puts back the state fit started from.
  const std::vector<const float*> ys{y};
  check(m.check_inputs({x}, &ys, n));
  const bool validate = o.validation_x && o.validation_y && o.validation_n > 0;
  if (validate) {
    const std::vector<const float*> vy{o.validation_y};
    check(m.check_inputs({o.validation_x}, &vy, o.validation_n));
  }
  check(m.begin_transaction());
  std::vector<uint32_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0u);
  std::vector<EpochLogs> history;
  try {
    for (int epoch = 0; epoch < o.epochs; ++epoch) {
      if (o.shuffle) m.shuffle(order.data(), n);
      double loss_sum = 0, acc_sum = 0;
      int64_t batch = 0;
      for (int64_t start = 0; start < n; start += o.batch_size, ++batch) {
        const int64_t count = std::min(o.batch_size, n - start);
        float loss, acc;
        check(m.train_batch(x, y, order.data() + start, count, &loss, &acc));
        loss_sum += double(loss) * double(count);
        acc_sum += double(acc) * double(count);
        if (o.on_batch_end) o.on_batch_end(batch, loss, acc);
      }
      EpochLogs logs{epoch, float(loss_sum / double(n)), float(acc_sum / double(n))};
      if (validate) check(m.evaluate(o.validation_x, o.validation_y, o.validation_n, &logs.val_loss, &logs.val_acc));
      if (o.on_epoch_end) o.on_epoch_end(logs);
      history.push_back(logs);
    }
  } catch (...) {
    m.rollback();
    throw;
  }
  m.commit();
  return history;
}

std::pair<float, float> Sequential::train_on_batch(const float* x, const float* y, int64_t n) {
  build_if_needed();
  Model& m = *impl_->model;
  const ExclusiveUse::Guard guard(m.in_use());
  if (!guard.ok()) throw Error(guard.busy("the model", "train_on_batch").message());
  float loss, acc;
  check(m.begin_transaction());
  const Status st = m.train_batch(x, y, nullptr, n, &loss, &acc);
  if (!st.ok()) m.rollback();
  m.commit();
  check(st);
  return {loss, acc};
}

std::pair<float, float> Sequential::evaluate(const float* x, const float* y, int64_t n) {
  build_if_needed();
  float loss, acc;
  check(impl_->model->evaluate(x, y, n, &loss, &acc));
  return {loss, acc};
}

std::vector<float> Sequential::predict(const float* x, int64_t n) {
  build_if_needed();
  std::vector<float> out(size_t(std::max<int64_t>(n, 0) * impl_->model->output_dim()));
  check(impl_->model->predict(x, n, out.data()));
  return out;
}

void Sequential::warmup(int64_t batch_size) {
  build_if_needed();
  check(impl_->model->warmup(batch_size));
}

int64_t Sequential::input_dim() const { build_if_needed(); return impl_->model->input_dim(); }
int64_t Sequential::output_dim() const { build_if_needed(); return impl_->model->output_dim(); }
std::vector<int64_t> Sequential::output_shape() const { build_if_needed(); return impl_->model->output_shape(0); }
int64_t Sequential::count_params() const { build_if_needed(); return impl_->model->count_params(); }
std::string Sequential::summary() const { build_if_needed(); return impl_->model->summary(); }
std::string Sequential::placement() const { build_if_needed(); return impl_->model->placement().dump(); }
bool Sequential::compiled() const { build_if_needed(); return impl_->model->compiled(); }

std::vector<Sequential::PlanStep> Sequential::plan_steps() const {
  build_if_needed();
  std::vector<PlanStep> out;
  const Json plans = impl_->model->placement();
  for (const Json& plan : plans.items()) {
    const Json* steps = plan.find("steps");
    if (!steps) continue;
    const Json* batch = plan.find("batchSize");
    for (const Json& step : steps->items()) {
      const Json* fallback = step.find("fallback");
      out.push_back({plan.find("plan")->as_string(), batch ? int64_t(batch->as_number()) : 0, step.find("op")->as_string(),
                     step.find("backend")->as_string(), step.find("constant") != nullptr,
                     fallback ? fallback->as_string() : ""});
    }
  }
  return out;
}

ModelFileKind model_file_kind(const uint8_t* data, size_t size) {
  if (is_kiln_graph(data, size)) return ModelFileKind::kGraph;
  if (data && size >= 8 && std::memcmp(data, "KILNMODL", 8) == 0) return ModelFileKind::kLayers;
  return ModelFileKind::kOther;
}

std::vector<std::vector<float>> Sequential::get_weights() const {
  build_if_needed();
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < impl_->model->num_weights(); ++i) {
    const float* d = impl_->model->weight_data(i);
    out.emplace_back(d, d + shape_numel(impl_->model->weight_shape(i)));
  }
  return out;
}

std::vector<std::vector<int64_t>> Sequential::weight_shapes() const {
  build_if_needed();
  std::vector<std::vector<int64_t>> out;
  for (size_t i = 0; i < impl_->model->num_weights(); ++i) out.push_back(impl_->model->weight_shape(i));
  return out;
}

void Sequential::set_weights(const std::vector<std::vector<float>>& weights) {
  build_if_needed();
  Model& m = *impl_->model;
  if (weights.size() != m.num_weights())
    throw Error("setWeights: expected " + std::to_string(m.num_weights()) + " tensors, got " + std::to_string(weights.size()));
  // Check everything before writing anything, so a bad call changes nothing.
  for (size_t i = 0; i < weights.size(); ++i)
    if (int64_t(weights[i].size()) != shape_numel(m.weight_shape(i)))
      throw Error("setWeights: tensor " + std::to_string(i) + " expects shape " + shape_to_string(m.weight_shape(i)) +
                  ", got " + std::to_string(weights[i].size()) + " values");
  for (size_t i = 0; i < weights.size(); ++i)
    for (size_t k = 0; k < weights[i].size(); ++k)
      if (!std::isfinite(weights[i][k]))
        throw Error("setWeights: tensor " + std::to_string(i) + " holds " + std::to_string(weights[i][k]) + " at index " + std::to_string(k));
  for (size_t i = 0; i < weights.size(); ++i) check(m.set_weight(i, weights[i].data(), int64_t(weights[i].size())));
}

std::vector<uint8_t> Sequential::save(bool include_optimizer) const {
  build_if_needed();
  std::vector<uint8_t> bytes;
  check(encode_model(*impl_->model, include_optimizer, &bytes));
  return bytes;
}

Sequential Sequential::load(const uint8_t* data, size_t size) {
  Sequential s;
  check(decode_model(data, size, &s.impl_->model));
  s.impl_->input_shape = s.impl_->model->input_shape(0);
  return s;
}

Sequential Sequential::from_onnx(const uint8_t* data, size_t size, const std::vector<std::vector<int64_t>>& input_shapes) {
  Sequential s;
  OnnxImportOptions options;
  options.input_shapes = input_shapes;
  check(import_onnx_model(data, size, options, s.impl_->seed, &s.impl_->model));
  s.impl_->input_shape = s.impl_->model->input_shape(0);
  return s;
}

void Sequential::set_trainable(const std::string& layer, bool trainable) {
  build_if_needed();
  check(impl_->model->set_layer_trainable(layer, trainable));
}

}  // namespace kiln
