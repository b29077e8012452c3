#include "layers/custom_layer.h"

#include <atomic>
#include <cmath>
#include <cstring>

#include "graph/op_errors.h"
#include "layers/initializer_config.h"

namespace kiln {

namespace {

CustomLayerHost* g_host = nullptr;

// Each application of a custom layer in a plan: the key under which the
// host keeps the forward pass's record for the backward one.
int64_t next_call_id() {
  static std::atomic<int64_t> next{1};
  return next++;
}

// TF.js's computeFans: [in, out] for matrices, times the receptive field
// for convolution kernels (channels last), sqrt(size) otherwise.
void compute_fans(const Shape& s, int64_t* fan_in, int64_t* fan_out) {
  if (s.size() == 2) {
    *fan_in = s[0];
    *fan_out = s[1];
  } else if (s.size() >= 3 && s.size() <= 5) {
    int64_t receptive = 1;
    for (size_t i = 0; i + 2 < s.size(); ++i) receptive *= s[i];
    *fan_in = s[s.size() - 2] * receptive;
    *fan_out = s[s.size() - 1] * receptive;
  } else {
    const int64_t n = shape_numel(s);
    *fan_in = *fan_out = std::max<int64_t>(1, int64_t(std::sqrt(double(n))));
  }
}

Status read_dims(const Json& j, const std::string& what, bool allow_zero, Shape* out) {
  if (!j.is_array()) return Status::error(what + " must be a list of integers");
  out->clear();
  for (const Json& d : j.items()) {
    if (!d.is_number() || d.as_number() != std::floor(d.as_number()) || d.as_number() < (allow_zero ? 0 : 1) ||
        d.as_number() > double(int64_t(1) << 40))
      return Status::error(what + " must hold " + (allow_zero ? "non-negative" : "positive") + " integers");
    out->push_back(int64_t(d.as_number()));
  }
  if (shape_numel(*out) < 0) return Status::error(what + " is too large");
  return Status();
}

class CustomOp : public Op {
 public:
  CustomOp(int layer, std::string name, bool training, bool recording, std::vector<Shape> outputs)
      : layer_(layer), call_(next_call_id()), name_(std::move(name)), training_(training), recording_(recording),
        outputs_(std::move(outputs)) {}
  ~CustomOp() override {
    if (g_host) g_host->forget(call_);
  }
  std::string name() const override { return name_; }
  int num_results() const override { return int(outputs_.size()); }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override {
    if (in.empty() || in[0].empty()) return Status::error(name_ + ": needs a batched input");
    out->clear();
    for (const Shape& s : outputs_) {
      Shape full{in[0][0]};
      full.insert(full.end(), s.begin(), s.end());
      out->push_back(std::move(full));
    }
    return Status();
  }
  // What the layer's JavaScript does is not known: never computed once and reused.
  bool deterministic() const override { return false; }
  void forward(const OpForwardArgs& a) const override {
    const Status s = g_host ? g_host->forward(layer_, call_, training_, recording_, a)
                            : Status::error(name_ + ": custom layers run only through the JavaScript API");
    if (s.ok()) return;
    report_op_error(s);
    for (size_t k = 0; k < a.out.size(); ++k) std::memset(a.out[k], 0, size_t(shape_numel(a.out_shapes[k])) * sizeof(float));
  }
  void backward(const OpBackwardArgs& a) const override {
    const Status s = g_host ? g_host->backward(layer_, call_, a)
                            : Status::error(name_ + ": custom layers run only through the JavaScript API");
    if (s.ok()) return;
    report_op_error(s);
    for (size_t k = 0; k < a.din.size(); ++k)
      if (a.din[k]) std::memset(a.din[k], 0, size_t(shape_numel(a.in_shapes[k])) * sizeof(float));
  }

 private:
  int layer_;
  int64_t call_;
  std::string name_;
  bool training_, recording_;
  std::vector<Shape> outputs_;  // batch excluded
};

class CustomLayer : public Layer {
 public:
  CustomLayer(std::string class_name, int id) : class_name_(std::move(class_name)), id_(id) {}
  ~CustomLayer() override {
    if (g_host) g_host->release(id_);
  }
  const char* class_name() const override { return class_name_.c_str(); }
  // A JavaScript layer ends masks (TF.js's default), except a recurrent one
  // over a custom cell (class "RNN"), which TF.js would mask: it refuses them.
  MaskMode mask_mode() const override { return class_name_ == "RNN" ? MaskMode::kRefuse : MaskMode::kStop; }

  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>* weights, std::vector<Shape>* outputs) override {
    if (!g_host) return error("custom layers run only through the JavaScript API");
    Json result;
    KILN_RETURN_IF_ERROR(g_host->build(id_, in, &result));
    const Json *ws = result.find("weights"), *outs = result.find("outputs");
    if (!ws || !ws->is_array() || !outs || !outs->is_array() || outs->items().empty())
      return error("the host's build gave no weights and outputs");
    for (const Json& w : ws->items()) {
      const Json *name = w.find("name"), *shape = w.find("shape"), *init = w.find("initializer"), *trainable = w.find("trainable");
      if (!name || !name->is_string() || !shape) return error("addWeight: each weight needs a name and a shape");
      WeightSpec spec;
      spec.name = name->as_string();
      KILN_RETURN_IF_ERROR(read_dims(*shape, name_ + ": the shape of weight '" + spec.name + "'", true, &spec.shape));
      spec.init = Initializer::kGlorotUniform;  // TF.js's addWeight default
      if (init && !init->is_null()) {
        const Status s = initializer_from_json(*init, &spec.init);
        if (!s.ok()) return error("weight '" + spec.name + "': initializer: " + s.message());
      }
      compute_fans(spec.shape, &spec.fan_in, &spec.fan_out);
      spec.trainable = !trainable || !trainable->is_bool() || trainable->as_bool();
      weights->push_back(std::move(spec));
    }
    outputs->clear();
    for (const Json& o : outs->items()) {
      Shape s;
      KILN_RETURN_IF_ERROR(read_dims(o, name_ + ": an output shape (computeOutputShape, batch excluded)", false, &s));
      outputs->push_back(std::move(s));
    }
    outputs_ = *outputs;
    return Status();
  }

  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    std::vector<int> inputs = in;
    inputs.insert(inputs.end(), ctx.weights.begin(), ctx.weights.end());
    return ctx.graph->op(std::make_shared<CustomOp>(id_, name_ + " (" + class_name_ + ")", ctx.training, ctx.differentiated, outputs_), inputs, out);
  }

 private:
  std::string class_name_;
  int id_;
  std::vector<Shape> outputs_;
};

}  // namespace

void set_custom_layer_host(CustomLayerHost* host) { g_host = host; }

Status make_custom_layer(const std::string& class_name, const Json& config, std::unique_ptr<Layer>* out) {
  if (!g_host) return Status::error("unknown layer class '" + class_name + "'");
  int id = 0;
  KILN_RETURN_IF_ERROR(g_host->create(class_name, config, &id));
  *out = std::make_unique<CustomLayer>(class_name, id);
  return Status();
}

}  // namespace kiln
