#include "layers/core_layers.h"

#include "layers/config.h"
#include "ops/masking.h"

namespace kiln {

Status apply_activation(LayerContext& ctx, int x, Activation act, int* out) {
  if (act == Activation::kLinear) {
    *out = x;
    return Status();
  }
  Graph& g = *ctx.graph;
  const Shape shape = g.values()[size_t(x)].shape;
  // Activation nodes work on [rows, cols]: the last axis is the row.
  int flat;
  KILN_RETURN_IF_ERROR(g.reshape(x, {shape_numel(shape) / shape.back(), shape.back()}, &flat));
  int y;
  KILN_RETURN_IF_ERROR(g.activation(flat, act, &y));
  if (ctx.logits && (act == Activation::kSoftmax || act == Activation::kSigmoid)) (*ctx.logits)[y] = {flat, act};
  KILN_RETURN_IF_ERROR(g.reshape(y, shape, out));
  if (*out != y && ctx.logits && ctx.logits->count(y)) (*ctx.logits)[*out] = (*ctx.logits)[y];
  return Status();
}

namespace {

class InputLayer : public Layer {
 public:
  Shape shape;
  const char* class_name() const override { return "InputLayer"; }
  Status build(const std::vector<Shape>& inputs, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (!inputs.empty()) return error("takes no inputs");
    *outputs = {shape};
    return Status();
  }
  Status call(LayerContext&, const std::vector<int>&, std::vector<int>*) const override {
    return error("an input layer is fed, not called");
  }
};

class Dense : public Layer {
 public:
  MaskMode mask_mode() const override { return MaskMode::kPassThrough; }
  int64_t units = 0;
  Activation activation = Activation::kLinear;
  bool use_bias = true;
  Initializer kernel_init = Initializer::kGlorotUniform, bias_init = Initializer::kZeros;

  const char* class_name() const override { return "Dense"; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>* weights, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].empty()) return error("expects one input of rank >= 1");
    const int64_t fan_in = in[0].back();
    weights->push_back({"kernel", {fan_in, units}, kernel_init, fan_in, units, true});
    if (use_bias) weights->push_back({"bias", {units}, bias_init, fan_in, units, true});
    Shape out = in[0];
    out.back() = units;
    *outputs = {out};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    Graph& g = *ctx.graph;
    const Shape shape = g.values()[size_t(in[0])].shape;
    int x;
    KILN_RETURN_IF_ERROR(g.reshape(in[0], {shape_numel(shape) / shape.back(), shape.back()}, &x));
    // Elementwise activations run in the GEMM epilogue, except those whose
    // gradient needs their input, and softmax/sigmoid (the loss may want the logits).
    const bool separate = activation_is_rowwise(activation) || activation == Activation::kSigmoid ||
                          (ctx.training && activation_grad_needs_input(activation));
    int z;
    KILN_RETURN_IF_ERROR(g.gemm(x, ctx.weights[0], use_bias ? ctx.weights[1] : -1, false, false,
                                separate ? Activation::kLinear : activation, &z));
    if (separate) KILN_RETURN_IF_ERROR(apply_activation(ctx, z, activation, &z));
    Shape out_shape = shape;
    out_shape.back() = units;
    int y;
    KILN_RETURN_IF_ERROR(g.reshape(z, out_shape, &y));
    if (y != z && ctx.logits && ctx.logits->count(z)) (*ctx.logits)[y] = (*ctx.logits)[z];
    *out = {y};
    return Status();
  }
};

class ActivationLayer : public Layer {
 public:
  Activation activation = Activation::kLinear;
  const char* class_name() const override { return "Activation"; }
  MaskMode mask_mode() const override { return MaskMode::kPassThrough; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].empty()) return error("expects one input of rank >= 1");
    *outputs = in;
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    int y;
    KILN_RETURN_IF_ERROR(apply_activation(ctx, in[0], activation, &y));
    *out = {y};
    return Status();
  }
};

// TF.js's Masking: steps whose features all equal maskValue are zeroed and
// masked for the recurrent layers after it.
class Masking : public Layer {
 public:
  float mask_value = 0.0f;
  const char* class_name() const override { return "Masking"; }
  MaskMode mask_mode() const override { return MaskMode::kOwn; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].empty()) return error("expects one input of rank >= 1 (batch excluded), e.g. [steps, features]");
    *outputs = in;
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    std::vector<int> results;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<MaskingOp>(mask_value), {in[0]}, &results));
    *out = {results[0]};
    ctx.output_masks = {results[1]};
    return Status();
  }
};

}  // namespace

Shape input_layer_shape(const Layer& layer) { return static_cast<const InputLayer&>(layer).shape; }

Status make_input_layer(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<InputLayer>();
  // TF.js serializes batchInputShape [null, ...dims]; `shape` omits the batch.
  ConfigKeyLog::note("shape");  // batchInputShape is a key every layer may carry
  const Json* bis = config.find("batchInputShape");
  Json shape_json = Json::array();
  if (bis && bis->is_array() && !bis->items().empty()) {
    for (size_t i = 1; i < bis->items().size(); ++i) shape_json.push(bis->items()[i]);
  } else if (const Json* s = config.find("shape")) {
    shape_json = *s;
  } else {
    return Status::error("InputLayer: needs 'shape' (or 'batchInputShape')");
  }
  Json tmp = Json::object();
  tmp.set("shape", shape_json);
  KILN_RETURN_IF_ERROR(ConfigReader(tmp, "InputLayer").get_shape("shape", &l->shape));
  if (l->shape.empty()) return Status::error("InputLayer: the shape needs at least one dimension besides the batch");
  *out = std::move(l);
  return Status();
}

Status make_dense(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Dense>();
  ConfigReader r(config, "Dense");
  KILN_RETURN_IF_ERROR(r.get_int("units", 0, &l->units, 1, int64_t(1) << 24));
  if (l->units == 0) return Status::error("Dense: argument 'units' is required");
  KILN_RETURN_IF_ERROR(r.get_activation("activation", Activation::kLinear, &l->activation));
  KILN_RETURN_IF_ERROR(r.get_bool("useBias", true, &l->use_bias));
  KILN_RETURN_IF_ERROR(r.get_initializer("kernelInitializer", Initializer::kGlorotNormal, &l->kernel_init));  // TF.js's default
  KILN_RETURN_IF_ERROR(r.get_initializer("biasInitializer", Initializer::kZeros, &l->bias_init));
  *out = std::move(l);
  return Status();
}

Status make_masking(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Masking>();
  double value = 0;
  KILN_RETURN_IF_ERROR(ConfigReader(config, "Masking").get_float("maskValue", 0, &value));
  l->mask_value = float(value);
  *out = std::move(l);
  return Status();
}

Status make_activation_layer(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<ActivationLayer>();
  KILN_RETURN_IF_ERROR(ConfigReader(config, "Activation").get_activation("activation", Activation::kLinear, &l->activation));
  *out = std::move(l);
  return Status();
}

}  // namespace kiln
