// Wrappers: Bidirectional (a recurrent layer run both ways, outputs merged)
// and TimeDistributed (a layer applied to every time step). Each wraps layers
// made from a nested {"className", "config"} and owns their weights, named
// "<inner layer>/<weight>" under the wrapper.
#include <memory>

#include "layers/config.h"
#include "layers/recurrent_layers.h"
#include "ops/concat.h"
#include "ops/merge.h"
#include "ops/reverse_time.h"

namespace kiln {

namespace {

// Reads config["layer"] = {"className": ..., "config": {...}} (TF.js's
// serialization; Keras's "class_name" also accepted).
Status read_inner(const Json& config, const char* wrapper, std::string* cls, Json* inner_config) {
  ConfigKeyLog::note("layer");
  const Json* l = config.find("layer");
  const Json* c = l && l->is_object() ? l->find("className") : nullptr;
  if (l && l->is_object() && !c) c = l->find("class_name");
  const Json* ic = l && l->is_object() ? l->find("config") : nullptr;
  if (!c || !c->is_string() || !ic || !ic->is_object())
    return Status::error(std::string(wrapper) + ": argument 'layer' must be a layer ({className, config})");
  *cls = c->as_string();
  *inner_config = *ic;
  return Status();
}

// The inner layer's weights, renamed under it.
void add_prefixed(const std::string& prefix, std::vector<WeightSpec>&& inner, std::vector<WeightSpec>* weights) {
  for (WeightSpec& w : inner) {
    w.name = prefix + "/" + w.name;
    weights->push_back(std::move(w));
  }
}

LayerContext inner_context(const LayerContext& ctx, size_t first_weight, size_t num_weights) {
  LayerContext inner = ctx;
  inner.weights.assign(ctx.weights.begin() + long(first_weight), ctx.weights.begin() + long(first_weight + num_weights));
  return inner;
}

class Bidirectional : public Layer {
 public:
  std::unique_ptr<Layer> fwd, bwd;
  std::string merge_mode = "concat";  // "" = no merge: both outputs returned
  int num_states = 1;
  bool return_sequences = false, return_state = false;

  const char* class_name() const override { return "Bidirectional"; }
  MaskMode mask_mode() const override { return MaskMode::kOwn; }  // both directions take the mask

  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>* weights, std::vector<Shape>* outputs) override {
    if (in.empty() || (in.size() != 1 && in.size() != size_t(1 + 2 * num_states)))
      return error("takes the sequence and optionally the initial states of both directions (" + std::to_string(2 * num_states) +
                   "), got " + std::to_string(in.size()) + " inputs");
    std::vector<WeightSpec> wf, wb;
    std::vector<Shape> of, ob;
    KILN_RETURN_IF_ERROR(fwd->build(direction_inputs(in, 0), &wf, &of));
    KILN_RETURN_IF_ERROR(bwd->build(direction_inputs(in, 1), &wb, &ob));
    forward_weights_ = wf.size();
    add_prefixed(fwd->name(), std::move(wf), weights);
    add_prefixed(bwd->name(), std::move(wb), weights);
    outputs->clear();
    if (merge_mode.empty()) {
      outputs->push_back(of[0]);
      outputs->push_back(ob[0]);
    } else {
      Shape y = of[0];
      if (merge_mode == "concat") y.back() *= 2;
      outputs->push_back(y);
    }
    outputs->insert(outputs->end(), of.begin() + 1, of.end());
    outputs->insert(outputs->end(), ob.begin() + 1, ob.end());
    return Status();
  }

  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    Graph& g = *ctx.graph;
    LayerContext cf = inner_context(ctx, 0, forward_weights_);
    LayerContext cb = inner_context(ctx, forward_weights_, ctx.weights.size() - forward_weights_);
    std::vector<int> yf, yb;
    KILN_RETURN_IF_ERROR(fwd->call(cf, direction_inputs(in, 0), &yf));
    KILN_RETURN_IF_ERROR(bwd->call(cb, direction_inputs(in, 1), &yb));
    int back = yb[0];
    if (return_sequences)  // step t of both directions side by side
      KILN_RETURN_IF_ERROR(g.op(std::make_shared<ReverseTimeOp>(), {back}, &back));
    out->clear();
    if (merge_mode.empty()) {
      out->push_back(yf[0]);
      out->push_back(back);
    } else {
      int y;
      if (merge_mode == "concat") {
        const int axis = int(g.values()[size_t(back)].shape.size()) - 1;
        KILN_RETURN_IF_ERROR(g.op(std::make_shared<ConcatOp>(axis), {yf[0], back}, &y));
      } else {
        const MergeKind kind = merge_mode == "sum" ? MergeKind::kAdd : merge_mode == "mul" ? MergeKind::kMultiply : MergeKind::kAverage;
        KILN_RETURN_IF_ERROR(g.op(std::make_shared<MergeOp>(kind), {yf[0], back}, &y));
      }
      out->push_back(y);
    }
    out->insert(out->end(), yf.begin() + 1, yf.end());
    out->insert(out->end(), yb.begin() + 1, yb.end());
    // TF.js: the sequence outputs keep the mask; states carry none.
    const int mask = return_sequences && !ctx.input_masks.empty() ? ctx.input_masks[0] : -1;
    ctx.output_masks.assign(out->size(), -1);
    for (size_t k = 0; k < (merge_mode.empty() ? size_t(2) : size_t(1)); ++k) ctx.output_masks[k] = mask;
    return Status();
  }

  void reset_states() override {
    fwd->reset_states();
    bwd->reset_states();
  }

 private:
  // The sequence plus direction d's initial states, when given.
  template <typename T>
  std::vector<T> direction_inputs(const std::vector<T>& in, int d) const {
    std::vector<T> r{in[0]};
    if (in.size() > 1) r.insert(r.end(), in.begin() + 1 + d * num_states, in.begin() + 1 + (d + 1) * num_states);
    return r;
  }
  size_t forward_weights_ = 0;
};

class TimeDistributed : public Layer {
 public:
  std::unique_ptr<Layer> inner;
  const char* class_name() const override { return "TimeDistributed"; }
  MaskMode mask_mode() const override { return MaskMode::kPassThrough; }

  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>* weights, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].size() < 2) return error("expects one input of shape [steps, ...] (batch excluded)");
    std::vector<WeightSpec> w;
    std::vector<Shape> inner_out;
    KILN_RETURN_IF_ERROR(inner->build({Shape(in[0].begin() + 1, in[0].end())}, &w, &inner_out));
    if (inner_out.size() != 1) return error("the wrapped layer must have one output");
    add_prefixed(inner->name(), std::move(w), weights);
    Shape y{in[0][0]};
    y.insert(y.end(), inner_out[0].begin(), inner_out[0].end());
    *outputs = {y};
    return Status();
  }

  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    Graph& g = *ctx.graph;
    const Shape s = g.values()[size_t(in[0])].shape;
    Shape flat(s.begin() + 1, s.end());
    flat[0] = s[0] * s[1];  // every step of every sample is one sample of the inner layer
    int x;
    KILN_RETURN_IF_ERROR(g.reshape(in[0], flat, &x));
    std::vector<int> ys;
    LayerContext inner_ctx = ctx;  // the mask is of whole steps: the wrapped layer sees one step per sample
    inner_ctx.input_masks.assign(1, -1);
    KILN_RETURN_IF_ERROR(inner->call(inner_ctx, {x}, &ys));
    const Shape ys_shape = g.values()[size_t(ys[0])].shape;
    Shape y_shape{s[0], s[1]};
    y_shape.insert(y_shape.end(), ys_shape.begin() + 1, ys_shape.end());
    int y;
    KILN_RETURN_IF_ERROR(g.reshape(ys[0], y_shape, &y));
    if (y != ys[0] && ctx.logits && ctx.logits->count(ys[0])) (*ctx.logits)[y] = (*ctx.logits)[ys[0]];
    *out = {y};
    return Status();
  }

  void reset_states() override { inner->reset_states(); }
};

}  // namespace

Status make_bidirectional(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Bidirectional>();
  std::string cls;
  Json inner;
  KILN_RETURN_IF_ERROR(read_inner(config, "Bidirectional", &cls, &inner));
  if (cls != "SimpleRNN" && cls != "LSTM" && cls != "GRU")
    return Status::error("Bidirectional: wraps a recurrent layer (SimpleRNN, LSTM, GRU), got '" + cls + "'");
  ConfigKeyLog::note("mergeMode");
  const Json* mm = config.find("mergeMode");
  if (mm && mm->is_null()) {
    l->merge_mode.clear();
  } else {
    KILN_RETURN_IF_ERROR(ConfigReader(config, "Bidirectional").get_choice("mergeMode", "concat", {"concat", "sum", "mul", "ave"}, &l->merge_mode));
  }
  ConfigReader r(inner, cls);
  bool go_backwards;
  KILN_RETURN_IF_ERROR(r.get_bool("goBackwards", false, &go_backwards));
  KILN_RETURN_IF_ERROR(r.get_bool("returnSequences", false, &l->return_sequences));
  KILN_RETURN_IF_ERROR(r.get_bool("returnState", false, &l->return_state));
  Json backward = inner;
  backward.set("goBackwards", Json::boolean(!go_backwards));
  KILN_RETURN_IF_ERROR(make_layer(cls, inner, &l->fwd));
  KILN_RETURN_IF_ERROR(make_layer(cls, backward, &l->bwd));
  const std::string inner_name = l->fwd->name();
  l->fwd->set_name("forward_" + inner_name);
  l->bwd->set_name("backward_" + inner_name);
  l->num_states = cls == "LSTM" ? 2 : 1;
  *out = std::move(l);
  return Status();
}

Status make_time_distributed(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<TimeDistributed>();
  std::string cls;
  Json inner;
  KILN_RETURN_IF_ERROR(read_inner(config, "TimeDistributed", &cls, &inner));
  if (cls == "InputLayer" || cls == "TimeDistributed" || cls == "Bidirectional")
    return Status::error("TimeDistributed: cannot wrap a '" + cls + "' layer");
  KILN_RETURN_IF_ERROR(make_layer(cls, inner, &l->inner));
  *out = std::move(l);
  return Status();
}

}  // namespace kiln
