#include "api/model.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/exclusive_use.h"
#include "core/memory.h"
#include "core/thread_pool.h"
#include "layers/core_layers.h"
#include "graph/op_errors.h"
#include "layers/initializer_config.h"
#include "passes/fold_batch_norm.h"

namespace kiln {

float* aligned_floats(int64_t n) {
  size_t bytes = 0;
  if (!checked_bytes(n, sizeof(float), 0, &bytes)) return nullptr;
  return static_cast<float*>(try_aligned_alloc(bytes, true));
}

namespace {
constexpr int64_t kMaxPlanBatch = 256;  // predict/evaluate run in chunks of this many rows
constexpr size_t kMaxCachedPlans = 16;
constexpr int64_t kMaxNodes = 16384;

Status check_finite(const std::string& what, const float* data, int64_t rows, int64_t cols) {
  for (int64_t i = 0, n = rows * cols; i < n; ++i) {
    if (!std::isfinite(data[i]))
      return Status::error(what + " contains " + (std::isnan(data[i]) ? "NaN" : "Infinity") + " at sample " +
                           std::to_string(i / cols) + ", element " + std::to_string(i % cols));
  }
  return Status();
}

Shape with_batch(int64_t batch, const Shape& s) {
  Shape out{batch};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

Status topology_error(const std::string& what) { return Status::error("model topology: " + what); }
// Layers that cannot combine masks refuse masked inputs.
Status check_masks(const Layer& layer, const std::vector<int>& masks) {
  if (layer.mask_mode() != MaskMode::kRefuse) return Status();
  for (int m : masks)
    if (m >= 0)
      return Status::error(layer.name() + " (" + layer.class_name() +
                           "): does not take masked inputs (from a Masking layer or an Embedding with maskZero); "
                           "end the mask first (a recurrent layer without returnSequences, or a Flatten)");
  return Status();
}

}  // namespace

Status Model::create_dense(int64_t input_dim, const std::vector<DenseLayerSpec>& layers, uint64_t seed,
                           std::unique_ptr<Model>* out) {
  if (input_dim <= 0 || input_dim > kMaxUnits)
    return Status::error("input dimension must be in [1, " + std::to_string(kMaxUnits) + "], got " + std::to_string(input_dim));
  if (layers.empty()) return Status::error("a model needs at least one layer");
  Json layer_list = Json::array(), nodes = Json::array();
  Json input_config = Json::object();
  input_config.set("name", Json::string("input_1")).set("shape", Json::array().push(Json::number(double(input_dim))));
  layer_list.push(Json::object().set("className", Json::string("InputLayer")).set("config", input_config));
  nodes.push(Json::object().set("layer", Json::number(0)).set("inputs", Json::array()));
  for (size_t i = 0; i < layers.size(); ++i) {
    const DenseLayerSpec& l = layers[i];
    if (int(l.activation) >= kNumActivations) return Status::error("layer " + std::to_string(i) + ": unknown activation");
    Json c = Json::object();
    c.set("name", Json::string("dense_" + std::to_string(i + 1)))
        .set("units", Json::number(double(l.units)))
        .set("activation", Json::string(activation_name(l.activation)))
        .set("useBias", Json::boolean(l.use_bias))
        .set("kernelInitializer", initializer_to_json(l.kernel_initializer))
        .set("biasInitializer", initializer_to_json(l.bias_initializer));
    layer_list.push(Json::object().set("className", Json::string("Dense")).set("config", c));
    Json ref = Json::array().push(Json::number(double(i))).push(Json::number(0));
    nodes.push(Json::object().set("layer", Json::number(double(i + 1))).set("inputs", Json::array().push(ref)));
  }
  Json topo = Json::object();
  topo.set("layers", layer_list).set("nodes", nodes).set("inputs", Json::array().push(Json::number(0)));
  topo.set("outputs", Json::array().push(Json::array().push(Json::number(double(layers.size()))).push(Json::number(0))));
  return create(topo.dump(), seed, out);
}

Status Model::create(const std::string& topology_json, uint64_t seed, std::unique_ptr<Model>* out, int64_t max_params) {
  std::unique_ptr<Model> m(new Model());
  m->rng_.reseed(seed);
  KILN_RETURN_IF_ERROR(m->parse_topology(topology_json, std::min(max_params, kMaxParams)));
  *out = std::move(m);
  return Status();
}

static Status read_index(const Json& j, int64_t limit, const std::string& what, int* out) {
  if (!j.is_number() || j.as_number() != std::floor(j.as_number()) || j.as_number() < 0 || j.as_number() >= double(limit))
    return topology_error(what + " must be an index below " + std::to_string(limit));
  *out = int(j.as_number());
  return Status();
}

Status Model::parse_topology(const std::string& text, int64_t max_params) {
  Json topo;
  KILN_RETURN_IF_ERROR(parse_json(text, &topo));
  const Json *layers = topo.find("layers"), *nodes = topo.find("nodes"), *inputs = topo.find("inputs"),
             *outputs = topo.find("outputs");
  if (!layers || !layers->is_array() || !nodes || !nodes->is_array() || !inputs || !inputs->is_array() || !outputs ||
      !outputs->is_array())
    return topology_error("needs the lists 'layers', 'nodes', 'inputs' and 'outputs'");
  if (layers->items().empty() || int64_t(layers->items().size()) > kMaxLayers)
    return topology_error("layer count " + std::to_string(layers->items().size()) + " out of range [1, " + std::to_string(kMaxLayers) + "]");
  if (int64_t(nodes->items().size()) > kMaxNodes) return topology_error("too many nodes");
  topology_ = text;
  for (size_t i = 0; i < layers->items().size(); ++i) {
    const Json& l = layers->items()[i];
    const Json *cls = l.find("className"), *config = l.find("config");
    if (!cls || !cls->is_string() || !config) return topology_error("layer " + std::to_string(i) + " needs 'className' and 'config'");
    std::unique_ptr<Layer> layer;
    KILN_RETURN_IF_ERROR(make_layer(cls->as_string(), *config, &layer));
    const Json* trainable = config->find("trainable");
    if (trainable && !trainable->is_null() && !trainable->is_bool())
      return Status::error(layer->name() + ": argument 'trainable' must be true or false");
    layer_trainable_.push_back(!trainable || trainable->is_null() || trainable->as_bool());
    for (const auto& other : layers_)
      if (other->name() == layer->name()) return topology_error("two layers are named '" + layer->name() + "'");
    layers_.push_back(std::move(layer));
  }
  // Build each layer at its first application; later ones must match its shapes.
  std::vector<std::vector<Shape>> built_inputs(layers_.size());
  std::vector<bool> built(layers_.size(), false);
  std::vector<std::vector<WeightSpec>> specs(layers_.size());
  for (size_t i = 0; i < nodes->items().size(); ++i) {
    const Json& n = nodes->items()[i];
    const std::string where = "node " + std::to_string(i);
    LayerNode node;
    const Json *layer_j = n.find("layer"), *in_j = n.find("inputs");
    if (!layer_j || !in_j || !in_j->is_array()) return topology_error(where + " needs 'layer' and 'inputs'");
    KILN_RETURN_IF_ERROR(read_index(*layer_j, int64_t(layers_.size()), where + ": 'layer'", &node.layer));
    std::vector<Shape> in_shapes;
    for (const Json& ref : in_j->items()) {
      if (!ref.is_array() || ref.items().size() != 2) return topology_error(where + ": each input is [node, output]");
      NodeRef r;
      KILN_RETURN_IF_ERROR(read_index(ref.items()[0], int64_t(i), where + ": an input's node (it must come earlier)", &r.node));
      KILN_RETURN_IF_ERROR(read_index(ref.items()[1], int64_t(nodes_[size_t(r.node)].output_shapes.size()), where + ": an input's output", &r.output));
      node.inputs.push_back(r);
      in_shapes.push_back(nodes_[size_t(r.node)].output_shapes[size_t(r.output)]);
    }
    Layer& layer = *layers_[size_t(node.layer)];
    std::vector<WeightSpec> w;
    KILN_RETURN_IF_ERROR(layer.build(in_shapes, &w, &node.output_shapes));
    if (built[size_t(node.layer)] && built_inputs[size_t(node.layer)] != in_shapes)
      return topology_error("layer '" + layer.name() + "' is shared but applied to inputs of different shapes");
    if (!built[size_t(node.layer)]) {
      built[size_t(node.layer)] = true;
      built_inputs[size_t(node.layer)] = in_shapes;
      specs[size_t(node.layer)] = w;
    }
    for (const Shape& s : node.output_shapes)
      if (shape_numel(s) <= 0) return Status::error(layer.name() + ": output shape " + shape_to_string(s) + " is empty or too large");
    nodes_.push_back(std::move(node));
  }
  for (const Json& in : inputs->items()) {
    int n;
    KILN_RETURN_IF_ERROR(read_index(in, int64_t(nodes_.size()), "an input", &n));
    if (std::string(layers_[size_t(nodes_[size_t(n)].layer)]->class_name()) != "InputLayer")
      return topology_error("input node " + std::to_string(n) + " is not an InputLayer");
    inputs_.push_back(n);
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const bool is_input = std::string(layers_[size_t(nodes_[i].layer)]->class_name()) == "InputLayer";
    if (is_input && std::find(inputs_.begin(), inputs_.end(), int(i)) == inputs_.end())
      return topology_error("InputLayer node " + std::to_string(i) + " is not listed in 'inputs'");
  }
  for (const Json& ref : outputs->items()) {
    if (!ref.is_array() || ref.items().size() != 2) return topology_error("each output is [node, output]");
    NodeRef r;
    KILN_RETURN_IF_ERROR(read_index(ref.items()[0], int64_t(nodes_.size()), "an output's node", &r.node));
    KILN_RETURN_IF_ERROR(read_index(ref.items()[1], int64_t(nodes_[size_t(r.node)].output_shapes.size()), "an output's index", &r.output));
    outputs_.push_back(r);
  }
  if (inputs_.empty() || outputs_.empty()) return topology_error("a model needs at least one input and one output");

  // Weights in TF.js order (trainable first), each 16-float aligned; counted
  // before anything is allocated.
  layer_weights_.assign(layers_.size(), {});
  int64_t total = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t l = 0; l < layers_.size(); ++l) {
      for (size_t k = 0; k < specs[l].size(); ++k) {
        const WeightSpec& s = specs[l][k];
        if (s.trainable != (pass == 0)) continue;
        const int64_t n = shape_numel(s.shape);
        if (n <= 0 || n > max_params || total + n + 16 > max_params)
          return Status::error("model too large: layer '" + layers_[l]->name() + "' takes the total past " +
                               std::to_string(max_params) + " parameters");
        layer_weights_[l].resize(specs[l].size(), -1);
        layer_weights_[l][k] = int(weights_.size());
        weights_.push_back({layers_[l]->name() + "/" + s.name, s.shape, total, s.trainable, int(l)});
        total += (n + 15) / 16 * 16;
        total_params_ += n;
      }
    }
  }
  params_.reset(aligned_floats(total));
  if (!params_) return Status::error("out of memory allocating " + std::to_string(total) + " parameters");
  for (size_t l = 0; l < layers_.size(); ++l)  // layer by layer, in declaration order: seeds stay stable
    for (size_t k = 0; k < specs[l].size(); ++k) {
      const WeightSpec& s = specs[l][k];
      float* data = mutable_weight_data(size_t(layer_weights_[l][k]));
      const Status st = s.custom_init ? s.custom_init(data, rng_) : initialize(s.init, data, s.shape, s.fan_in, s.fan_out, rng_);
      if (!st.ok()) return Status::error(layers_[l]->name() + " (" + s.name + "): " + st.message());
    }
  return Status();
}

const Shape& Model::input_shape(size_t i) const { return nodes_[size_t(inputs_[i])].output_shapes[0]; }
const Shape& Model::output_shape(size_t i) const {
  return nodes_[size_t(outputs_[i].node)].output_shapes[size_t(outputs_[i].output)];
}

int64_t Model::target_numel(size_t i) const {
  const Shape& s = output_shape(i);
  return loss_is_sparse(config_.loss) ? shape_numel(s) / s.back() : shape_numel(s);
}

bool Model::dense_specs(std::vector<DenseLayerSpec>* out) const {
  Json topo;
  if (!parse_json(topology_, &topo).ok() || inputs_.size() != 1 || outputs_.size() != 1 || input_shape(0).size() != 1) return false;
  out->clear();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const std::string cls = layers_[size_t(nodes_[i].layer)]->class_name();
    if (i == 0) {
      if (cls != "InputLayer") return false;
      continue;
    }
    if (cls != "Dense" || nodes_[i].layer != int(i) || nodes_[i].inputs.size() != 1 || nodes_[i].inputs[0].node != int(i) - 1 ||
        !layer_trainable_[size_t(i)])  // the compact layout has no place for a frozen flag
      return false;
    const Json& c = *topo.find("layers")->items()[i].find("config");
    DenseLayerSpec d;
    d.units = nodes_[i].output_shapes[0][0];
    const Json* act = c.find("activation");
    if (act && act->is_string() && !activation_from_name(act->as_string(), &d.activation)) return false;
    const Json* bias = c.find("useBias");
    d.use_bias = !(bias && bias->is_bool() && !bias->as_bool());
    out->push_back(d);
  }
  return layers_.size() == nodes_.size() && outputs_[0].node == int(nodes_.size()) - 1 && !out->empty();
}

Status Model::compile(const TrainingConfig& config) {
  const ExclusiveUse::Guard guard(in_use_);
  if (!guard.ok()) return guard.busy("the model", "compile");
  if (in_transaction()) return Status::error("compile: the model cannot be recompiled while fit or trainOnBatch runs (a failure could not be undone)");
  if (int(config.loss) >= kNumLossKinds) return Status::error("compile: unknown loss");
  for (const auto& layer : layers_)
    if (!layer->training_refusal().empty()) return Status::error("compile: " + layer->training_refusal());
  const OptimizerConfig& o = config.optimizer;
  KILN_RETURN_IF_ERROR(optimizer_validate(o));
  for (Metric m : metrics_)
    if (!metric_fits_loss(m, config.loss)) metrics_ = {Metric::kAccuracy};
  const bool same_slots = compiled_ && optimizer_same_state(config_.optimizer, o);
  config_ = config;
  compiled_ = true;
  drop_plans();
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
  const bool call = kind == PlanKind::kCallInference || kind == PlanKind::kCallTraining;
  // train: training behaviour; differentiated: a backward pass follows.
  const bool train = kind == PlanKind::kTrain || kind == PlanKind::kGradients || kind == PlanKind::kCallTraining;
  const bool differentiated = train || call;
  if (kind != PlanKind::kPredict && !call && !compiled_)
    return Status::error("the model must be compiled (optimizer and loss) before training or evaluation");
  std::vector<float*> externals;
  auto external = [&](const Shape& s, const std::string& name, float* data, bool rg) {
    int v = g.add_external(s, name, rg);
    externals.resize(size_t(v) + 1, nullptr);
    externals[size_t(v)] = data;
    return v;
  };
  std::vector<int> weight_values(weights_.size(), -1);
  for (size_t w = 0; w < weights_.size(); ++w)
    weight_values[w] = external(weights_[w].shape, weights_[w].name, mutable_weight_data(w), differentiated && weight_trainable(w));

  std::map<int, std::pair<int, Activation>> logits;
  std::vector<std::vector<int>> node_values(nodes_.size()), node_masks(nodes_.size());
  out->xs.assign(inputs_.size(), -1);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const LayerNode& node = nodes_[i];
    const Layer& layer = *layers_[size_t(node.layer)];
    auto in_pos = std::find(inputs_.begin(), inputs_.end(), int(i));
    if (in_pos != inputs_.end()) {
      const int x = g.add_input(with_batch(batch, node.output_shapes[0]), layer.name());
      g.value(x).requires_grad = call;  // an eager call gives d/d input too
      out->xs[size_t(in_pos - inputs_.begin())] = x;
      node_values[i] = {x};
      node_masks[i] = {-1};
      continue;
    }
    LayerContext ctx;
    ctx.graph = &g;
    ctx.training = train;
    ctx.differentiated = differentiated;
    ctx.trainable = layer_trainable_[size_t(node.layer)];
    ctx.logits = &logits;
    ctx.external = [&](const Shape& s, float* data) { return external(s, layer.name() + "/state", data, false); };
    for (int w : layer_weights_[size_t(node.layer)]) ctx.weights.push_back(weight_values[size_t(w)]);
    std::vector<int> in_values;
    for (const NodeRef& r : node.inputs) {
      in_values.push_back(node_values[size_t(r.node)][size_t(r.output)]);
      ctx.input_masks.push_back(node_masks[size_t(r.node)][size_t(r.output)]);
    }
    KILN_RETURN_IF_ERROR(check_masks(layer, ctx.input_masks));
    KILN_RETURN_IF_ERROR(layer.call(ctx, in_values, &node_values[i]));
    node_masks[i].assign(node_values[i].size(), -1);
    if (layer.mask_mode() == MaskMode::kPassThrough) std::fill(node_masks[i].begin(), node_masks[i].end(), ctx.input_masks[0]);
    if (layer.mask_mode() == MaskMode::kOwn)
      for (size_t k = 0; k < node_masks[i].size() && k < ctx.output_masks.size(); ++k) node_masks[i][k] = ctx.output_masks[k];
    if (node_values[i].size() != node.output_shapes.size())
      return Status::error(layer.name() + ": produced " + std::to_string(node_values[i].size()) + " outputs, expected " +
                           std::to_string(node.output_shapes.size()));
    for (size_t k = 0; k < node_values[i].size(); ++k)
      if (g.values()[size_t(node_values[i][k])].shape != with_batch(batch, node.output_shapes[k]))
        return Status::error(layer.name() + ": output " + std::to_string(k) + " has shape " +
                             shape_to_string(g.values()[size_t(node_values[i][k])].shape) + ", expected " +
                             shape_to_string(with_batch(batch, node.output_shapes[k])));
  }
  std::vector<int> roots;
  for (const NodeRef& r : outputs_) {
    out->outputs.push_back(node_values[size_t(r.node)][size_t(r.output)]);
    roots.push_back(out->outputs.back());
  }
  PlanOptions options;
  if (call) {
    // Seeded with d/d output, fed after the first part has run (late inputs).
    std::vector<std::pair<int, int>> seeds;
    for (size_t k = 0; k < outputs_.size(); ++k) {
      out->dys.push_back(g.add_input(with_batch(batch, output_shape(k)), "d_output_" + std::to_string(k)));
      seeds.push_back({out->outputs[k], out->dys.back()});
    }
    std::vector<int> grads;
    KILN_RETURN_IF_ERROR(append_backward(g, seeds, &grads));
    for (int x : out->xs) {
      out->dxs.push_back(grads[size_t(x)]);
      if (grads[size_t(x)] >= 0) roots.push_back(grads[size_t(x)]);
    }
    for (size_t w = 0; w < weights_.size(); ++w) {
      if (!weight_trainable(w) || grads[size_t(weight_values[w])] < 0) continue;
      out->grad_weights.push_back(w);
      out->grads.push_back(grads[size_t(weight_values[w])]);
      roots.push_back(out->grads.back());
    }
    options.late_inputs = out->dys;
  } else if (kind != PlanKind::kPredict) {
    roots.clear();
    const LossKind loss = config_.loss;
    std::vector<std::pair<int, int>> seeds;
    for (size_t k = 0; k < outputs_.size(); ++k) {
      // Losses work on [rows, classes]: every position of a sequence output is a row.
      const Shape& os = output_shape(k);
      const int64_t cols = os.back(), rows = batch * (shape_numel(os) / cols);
      int pred;
      KILN_RETURN_IF_ERROR(g.reshape(out->outputs[k], {rows, cols}, &pred));
      auto fused_it = logits.find(out->outputs[k]);
      const bool fused = fused_it != logits.end() && loss_fuses_with(loss, fused_it->second.second);
      const int loss_input = fused ? fused_it->second.first : pred;
      Shape target_shape = with_batch(batch, os);
      if (loss_is_sparse(loss)) target_shape.pop_back();
      const int target = g.add_input(target_shape, "target_" + std::to_string(k));
      out->targets.push_back(target);
      int target_flat;
      KILN_RETURN_IF_ERROR(g.reshape(target, loss_is_sparse(loss) ? Shape{rows} : Shape{rows, cols}, &target_flat));
      int l;
      KILN_RETURN_IF_ERROR(g.loss(loss_input, target_flat, loss, fused, &l));
      if (out->loss < 0) out->loss = l;
      else KILN_RETURN_IF_ERROR(g.add(out->loss, l, &out->loss));
      // argmax of the logits is argmax of the softmax, without computing it.
      const bool argmax_of_logits = fused && fused_it->second.second == Activation::kSoftmax && cols > 1;
      for (Metric metric : metrics_) {
        const bool argmax = metric == Metric::kAccuracy || metric == Metric::kCategoricalAccuracy ||
                            metric == Metric::kSparseCategoricalAccuracy;
        int v;
        KILN_RETURN_IF_ERROR(g.metric(argmax && argmax_of_logits ? loss_input : pred, target_flat, loss, metric, &v));
        out->metrics.push_back(v);
        roots.push_back(v);
      }
      if (train) {
        int seed_grad;
        KILN_RETURN_IF_ERROR(g.loss_grad(loss_input, target_flat, loss, fused, &seed_grad));
        seeds.push_back({loss_input, seed_grad});
      }
    }
    roots.push_back(out->loss);
    std::vector<int> grads;
    if (train) KILN_RETURN_IF_ERROR(append_backward(g, seeds, &grads));
    if (kind == PlanKind::kGradients) {
      for (size_t w = 0; w < weights_.size(); ++w) {
        if (!weight_trainable(w)) continue;
        const int gv = grads[size_t(weight_values[w])];
        if (gv < 0) return Status::error("autodiff produced no gradient for " + weights_[w].name + " (is it used?)");
        out->grads.push_back(gv);
        roots.push_back(gv);
      }
    } else if (train) {
      g.optimizer_tick();
      const int slots = optimizer_num_slots(config_.optimizer);
      for (size_t w = 0; w < weights_.size(); ++w) {
        if (!weight_trainable(w)) continue;
        const int gv = grads[size_t(weight_values[w])];
        if (gv < 0) continue;  // a weight the loss does not depend on (an unused branch) stays as it is
        std::vector<int> slot_values;
        for (int s = 0; s < slots; ++s) slot_values.push_back(external(weights_[w].shape, "slot", slot_data(s, w), false));
        KILN_RETURN_IF_ERROR(g.update(weight_values[w], gv, slot_values));
      }
    }
    out->outputs.clear();
  }
  if (!differentiated) fold_batch_norms(g, roots);  // inference plans: batch norms folded into their convolutions
  g.eliminate_dead_nodes(roots);
  externals.resize(g.values().size(), nullptr);
  options.backends = default_backend_choice();
  options.results = roots;
  options.constants_version = &weights_version_;
  return Plan::compile(g, externals, &config_.optimizer, &step_, &out->plan, &rng_, &options);
}

void Model::drop_plans() {
  plans_.clear();
  idle_call_plans_.clear();
}

void Model::drop_stale_plans() {
  const int threads = ThreadPool::global().num_threads();
  if (plans_generation_ != backend_choice_generation() || plans_threads_ != threads) {
    drop_plans();
    plans_generation_ = backend_choice_generation();
    plans_threads_ = threads;
  }
}

Status Model::get_plan(PlanKind kind, int64_t batch, CompiledPlan** out) {
  // kiln.setBackend since: place again; another thread count: the kernels'
  // per-thread scratch is sized again.
  drop_stale_plans();
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

Status Model::check_arity(const std::vector<const float*>& xs, const std::vector<const float*>* ys) const {
  if (xs.size() != inputs_.size())
    return Status::error("the model has " + std::to_string(inputs_.size()) + " input(s), got " + std::to_string(xs.size()));
  if (ys && ys->size() != outputs_.size())
    return Status::error("the model has " + std::to_string(outputs_.size()) + " output(s), got " + std::to_string(ys->size()) + " target(s)");
  for (size_t i = 0; i < xs.size(); ++i)
    if (!xs[i]) return Status::error("input " + std::to_string(i) + " is missing");
  if (ys)
    for (size_t i = 0; i < ys->size(); ++i)
      if (!(*ys)[i]) return Status::error("target " + std::to_string(i) + " is missing");
  return Status();
}

Status Model::check_inputs(const std::vector<const float*>& xs, const std::vector<const float*>* ys, int64_t n) const {
  KILN_RETURN_IF_ERROR(check_arity(xs, ys));
  for (size_t i = 0; i < xs.size(); ++i)
    KILN_RETURN_IF_ERROR(check_finite(inputs_.size() > 1 ? "input x[" + std::to_string(i) + "]" : "input x", xs[i], n, shape_numel(input_shape(i))));
  if (ys)
    for (size_t i = 0; i < ys->size(); ++i)
      KILN_RETURN_IF_ERROR(check_finite(outputs_.size() > 1 ? "target y[" + std::to_string(i) + "]" : "target y", (*ys)[i], n, target_numel(i)));
  return Status();
}

// Gathers the batch's rows (rows[i], or start + i) into the plan's inputs.
void Model::feed(CompiledPlan* cp, const std::vector<const float*>& xs, const std::vector<const float*>& ys,
                 const uint32_t* rows, int64_t start, int64_t count) {
  auto gather = [&](float* dst, const float* src, int64_t d) {
    for (int64_t i = 0; i < count; ++i) {
      const int64_t r = rows ? int64_t(rows[i]) : start + i;
      std::memcpy(dst + i * d, src + r * d, size_t(d) * sizeof(float));
    }
  };
  for (size_t i = 0; i < xs.size(); ++i) gather(cp->plan->buffer(cp->xs[i]), xs[i], shape_numel(input_shape(i)));
  for (size_t i = 0; i < ys.size() && i < cp->targets.size(); ++i) gather(cp->plan->buffer(cp->targets[i]), ys[i], target_numel(i));
}

template <class Visit>
void Model::for_each_training_range(Visit visit) {
  for (const WeightRef& w : weights_)
    if (layer_trainable_[size_t(w.layer)]) visit(params_.get() + w.offset, shape_numel(w.shape));
  for (int s = 0; s < num_slots(); ++s)
    for (size_t w = 0; w < weights_.size(); ++w)
      if (weight_trainable(w)) visit(slots_[s].get() + weights_[w].offset, shape_numel(weights_[w].shape));
}

Status Model::run_plan(CompiledPlan* cp) {
  take_op_error();  // nothing left from an earlier run counts against this one
  cp->plan->run();
  return take_op_error();
}

Status Model::begin_transaction() {
  int64_t total = 0;
  for_each_training_range([&](float*, int64_t n) { total += n; });
  if (!saved_ || int64_t(saved_->values.capacity()) < total) {
    // The copy must fail with an error, not abort: probe the heap first.
    saved_.reset();
    if (!heap_can_hold(size_t(total) * sizeof(float)))
      return Status::error("out of memory saving the model's state before training (" + std::to_string(total) + " floats)");
    saved_ = std::make_unique<TrainingState>();
  }
  TrainingState& state = *saved_;
  state.values.resize(size_t(total));
  size_t at = 0;
  for_each_training_range([&](float* p, int64_t n) {
    std::memcpy(state.values.data() + at, p, size_t(n) * sizeof(float));
    at += size_t(n);
  });
  state.step = step_;
  state.rng = rng_;
  state.active = true;
  return Status();
}

void Model::rollback() {
  if (!saved_ || !saved_->active) return;
  saved_->active = false;
  int64_t total = 0;
  for_each_training_range([&](float*, int64_t n) { total += n; });
  if (size_t(total) != saved_->values.size()) return;  // unreachable: freezing and compiling are refused during one
  size_t at = 0;
  for_each_training_range([&](float* p, int64_t n) {
    std::memcpy(p, saved_->values.data() + at, size_t(n) * sizeof(float));
    at += size_t(n);
  });
  step_ = saved_->step;
  rng_ = saved_->rng;
  ++weights_version_;
}

Status Model::train_batch(const std::vector<const float*>& xs, const std::vector<const float*>& ys, const uint32_t* rows,
                          int64_t count, float* loss, float* metrics) {
  const ExclusiveUse::Guard guard(in_use_);
  if (!guard.ok()) return guard.busy("the model", "trainOnBatch");
  if (count <= 0) return Status::error("trainOnBatch: the batch is empty");
  KILN_RETURN_IF_ERROR(check_arity(xs, &ys));
  CompiledPlan* cp;
  KILN_RETURN_IF_ERROR(get_plan(PlanKind::kTrain, count, &cp));
  feed(cp, xs, ys, rows, 0, count);
  // Checked after gathering (only this batch's rows), before anything runs:
  // bad data never reaches the weights.
  std::vector<const float*> bx, by;
  for (int v : cp->xs) bx.push_back(cp->plan->buffer(v));
  for (int v : cp->targets) by.push_back(cp->plan->buffer(v));
  KILN_RETURN_IF_ERROR(check_inputs(bx, &by, count));
  const Status ran = run_plan(cp);
  ++weights_version_;  // the step moved the weights (and the moving statistics)
  KILN_RETURN_IF_ERROR(ran);  // the caller's transaction undoes the step
  *loss = cp->plan->buffer(cp->loss)[0];
  for (size_t i = 0; i < cp->metrics.size(); ++i) {
    const float* ratio = cp->plan->buffer(cp->metrics[i]);
    metrics[i] = ratio[1] > 0 ? ratio[0] / ratio[1] : 0.0f;
  }
  return check_finite_loss(*loss);
}

Status Model::gradients(const std::vector<const float*>& xs, const std::vector<const float*>& ys, int64_t n, float* loss,
                        std::vector<std::vector<float>>* grads) {
  const ExclusiveUse::Guard guard(in_use_);
  if (!guard.ok()) return guard.busy("the model", "gradients");
  if (n <= 0) return Status::error("gradients: no samples");
  KILN_RETURN_IF_ERROR(check_inputs(xs, &ys, n));
  CompiledPlan* cp;
  KILN_RETURN_IF_ERROR(get_plan(PlanKind::kGradients, n, &cp));
  feed(cp, xs, ys, nullptr, 0, n);
  const Status ran = run_plan(cp);
  ++weights_version_;  // training mode: the moving statistics moved
  KILN_RETURN_IF_ERROR(ran);
  *loss = cp->plan->buffer(cp->loss)[0];
  grads->clear();
  size_t k = 0;
  for (size_t w = 0; w < weights_.size(); ++w) {
    if (!weight_trainable(w)) continue;
    const float* g = cp->plan->buffer(cp->grads[k++]);
    grads->emplace_back(g, g + shape_numel(weights_[w].shape));
  }
  return Status();
}

Status Model::evaluate(const std::vector<const float*>& xs, const std::vector<const float*>& ys, int64_t n, float* loss,
                       float* metrics, int64_t batch_size) {
  const ExclusiveUse::Guard guard(in_use_);
  if (!guard.ok()) return guard.busy("the model", "evaluate");
  if (n <= 0) return Status::error("evaluate: no samples");
  if (batch_size < 0) return Status::error("evaluate: batchSize must be positive");
  const int64_t chunk = batch_size > 0 ? std::min(batch_size, kMaxPlanBatch) : kMaxPlanBatch;
  KILN_RETURN_IF_ERROR(check_inputs(xs, &ys, n));
  double loss_sum = 0;
  const size_t nm = num_metric_values();
  std::vector<double> num(nm, 0.0), den(nm, 0.0);
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t b = std::min(chunk, n - start);
    CompiledPlan* cp;
    KILN_RETURN_IF_ERROR(get_plan(PlanKind::kEvaluate, b, &cp));
    feed(cp, xs, ys, nullptr, start, b);
    KILN_RETURN_IF_ERROR(run_plan(cp));
    loss_sum += double(cp->plan->buffer(cp->loss)[0]) * double(b);
    for (size_t i = 0; i < nm; ++i) {
      num[i] += cp->plan->buffer(cp->metrics[i])[0];
      den[i] += cp->plan->buffer(cp->metrics[i])[1];
    }
  }
  *loss = float(loss_sum / double(n));
  for (size_t i = 0; i < nm; ++i) metrics[i] = den[i] > 0 ? float(num[i] / den[i]) : 0.0f;
  return Status();
}

Status Model::set_metrics(const std::vector<Metric>& metrics) {
  const ExclusiveUse::Guard guard(in_use_);
  if (!guard.ok()) return guard.busy("the model", "compile");
  for (Metric m : metrics) {
    if (int(m) >= kNumMetrics) return Status::error("unknown metric");
    if (compiled_ && !metric_fits_loss(m, config_.loss))
      return Status::error(std::string("metric ") + metric_name(m) + " does not fit the loss " + loss_name(config_.loss));
  }
  metrics_ = metrics;
  drop_plans();
  return Status();
}

Status Model::predict(const std::vector<const float*>& xs, int64_t n, const std::vector<float*>& outs, int64_t batch_size) {
  const ExclusiveUse::Guard guard(in_use_);
  if (!guard.ok()) return guard.busy("the model", "predict");
  if (n <= 0) return Status::error("predict: no samples");
  if (batch_size < 0) return Status::error("predict: batchSize must be positive");
  const int64_t chunk = batch_size > 0 ? std::min(batch_size, kMaxPlanBatch) : kMaxPlanBatch;
  KILN_RETURN_IF_ERROR(check_inputs(xs, nullptr, n));
  if (outs.size() != outputs_.size()) return Status::error("predict: expected " + std::to_string(outputs_.size()) + " output buffers");
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t b = std::min(chunk, n - start);
    CompiledPlan* cp;
    KILN_RETURN_IF_ERROR(get_plan(PlanKind::kPredict, b, &cp));
    feed(cp, xs, {}, nullptr, start, b);
    KILN_RETURN_IF_ERROR(run_plan(cp));
    for (size_t k = 0; k < outs.size(); ++k) {
      const int64_t d = shape_numel(output_shape(k));
      std::memcpy(outs[k] + start * d, cp->plan->buffer(cp->outputs[k]), size_t(b * d) * sizeof(float));
    }
  }
  return Status();
}

Status Model::warmup(int64_t batch_size) {
  const ExclusiveUse::Guard guard(in_use_);
  if (!guard.ok()) return guard.busy("the model", "warmup");
  if (batch_size <= 0) return Status::error("warmup: batch size must be positive");
  // Runs the predict plans on zeros: compiles them and grows the kernels'
  // scratch buffers, so the first real call pays neither. Training plans are
  // compiled too but not run (running one would move the weights).
  const int64_t rows = std::min(batch_size, kMaxPlanBatch);
  std::vector<std::vector<float>> zeros, outs;
  std::vector<const float*> xs;
  std::vector<float*> out_ptrs;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    zeros.emplace_back(size_t(rows * shape_numel(input_shape(i))), 0.0f);
    xs.push_back(zeros.back().data());
  }
  for (size_t k = 0; k < outputs_.size(); ++k) {
    outs.emplace_back(size_t(rows * shape_numel(output_shape(k))));
    out_ptrs.push_back(outs.back().data());
  }
  KILN_RETURN_IF_ERROR(predict(xs, 1, out_ptrs));
  KILN_RETURN_IF_ERROR(predict(xs, rows, out_ptrs));
  if (compiled_) {
    CompiledPlan* cp;
    KILN_RETURN_IF_ERROR(get_plan(PlanKind::kTrain, batch_size, &cp));
  }
  return Status();
}

void Model::reset_states() {
  for (auto& l : layers_) l->reset_states();
}

void Model::shuffle(uint32_t* idx, int64_t n) {
  for (int64_t i = n - 1; i > 0; --i) {
    uint32_t j = rng_.below(uint32_t(i + 1));
    std::swap(idx[i], idx[j]);
  }
}

Status Model::set_weight(size_t i, const float* data, int64_t n) {
  const ExclusiveUse::Guard guard(in_use_);
  if (!guard.ok()) return guard.busy("the model", "setWeights");
  if (i >= weights_.size()) return Status::error("setWeights: weight index " + std::to_string(i) + " out of range (model has " + std::to_string(weights_.size()) + ")");
  if (n != shape_numel(weights_[i].shape))
    return Status::error("setWeights: weight " + std::to_string(i) + " (" + weights_[i].name + ") expects shape " +
                         shape_to_string(weights_[i].shape) + " (" + std::to_string(shape_numel(weights_[i].shape)) +
                         " values), got " + std::to_string(n) + " values");
  KILN_RETURN_IF_ERROR(check_finite("setWeights: weight " + std::to_string(i) + " (" + weights_[i].name + ")", data, 1, n));
  std::memcpy(mutable_weight_data(i), data, size_t(n) * sizeof(float));
  return Status();
}

Json Model::placement() const {
  static const char* const kKinds[] = {"predict", "evaluate", "train", "gradients"};
  Json out = Json::array();
  for (const auto& kv : plans_) {
    Json p = kv.second.plan->placement_json();
    Json entry = Json::object();
    entry.set("plan", Json::string(kKinds[kv.first.first])).set("batchSize", Json::number(double(kv.first.second)));
    for (const auto& m : p.members()) entry.set(m.first, m.second);
    out.push(std::move(entry));
  }
  return out;
}

int64_t Model::plan_arena_bytes() const {
  int64_t total = 0;
  for (const auto& kv : plans_) total += kv.second.plan->arena_bytes();
  return total;
}

Status Model::set_layer_trainable(const std::string& layer, bool trainable) {
  const ExclusiveUse::Guard guard(in_use_);
  if (!guard.ok()) return guard.busy("the model", "trainable");
  size_t l = 0;
  while (l < layers_.size() && layers_[l]->name() != layer) ++l;
  if (l == layers_.size()) return Status::error("the model has no layer named '" + layer + "'");
  if (layer_trainable_[l] == trainable) return Status();
  // What a transaction saved is the trainable state at its start.
  if (in_transaction())
    return Status::error("layer '" + layer + "': trainable cannot change while fit or trainOnBatch runs (a failure could not be undone); set it before fit");
  // The topology is the model's record (saved files, toJSON): the flag lives there.
  Json topo;
  KILN_RETURN_IF_ERROR(parse_json(topology_, &topo));
  Json layers = *topo.find("layers");
  Json entry = layers.items()[l];
  Json config = *entry.find("config");
  config.set("trainable", Json::boolean(trainable));
  entry.set("config", std::move(config));
  Json updated = Json::array();
  for (size_t i = 0; i < layers.items().size(); ++i) updated.push(i == l ? entry : layers.items()[i]);
  topo.set("layers", std::move(updated));
  topology_ = topo.dump();
  layer_trainable_[l] = trainable;
  drop_plans();  // gradients and updates change with the flag
  return Status();
}

std::string Model::summary() const {
  std::string s = "Layer (type)                 Output shape              Param #\n";
  s += "================================================================\n";
  std::vector<bool> counted(layers_.size(), false);
  for (const LayerNode& node : nodes_) {
    const Layer& l = *layers_[size_t(node.layer)];
    int64_t params = 0;
    if (!counted[size_t(node.layer)])
      for (int w : layer_weights_[size_t(node.layer)]) params += shape_numel(weights_[size_t(w)].shape);
    counted[size_t(node.layer)] = true;
    std::string shape;
    for (const Shape& os : node.output_shapes) {
      std::string dims = "[null";
      for (int64_t d : os) dims += "," + std::to_string(d);
      shape += (shape.empty() ? "" : " ") + dims + "]";
    }
    char line[256];
    std::snprintf(line, sizeof line, "%-28s %-25s %lld\n", (l.name() + " (" + l.class_name() + ")").c_str(), shape.c_str(),
                  static_cast<long long>(params));
    s += line;
  }
  s += "================================================================\n";
  int64_t trainable = 0;
  for (size_t w = 0; w < weights_.size(); ++w)
    if (weight_trainable(w)) trainable += shape_numel(weights_[w].shape);
  s += "Total params: " + std::to_string(total_params_) + "\n";
  s += "Trainable params: " + std::to_string(trainable) + "\n";
  s += "Non-trainable params: " + std::to_string(total_params_ - trainable) + "\n";
  return s;
}

}  // namespace kiln
