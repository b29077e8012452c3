#include "layers/activation_layers.h"

#include <cmath>

#include "layers/arg_utils.h"
#include "layers/config.h"
#include "layers/core_layers.h"
#include "ops/param_activation.h"
#include "ops/prelu.h"
#include "ops/softmax.h"

namespace kiln {

namespace {

class ParamActivationLayer : public Layer {
 public:
  const char* cls = "";
  ParamActivationSpec spec;
  const char* class_name() const override { return cls; }
  MaskMode mask_mode() const override { return MaskMode::kPassThrough; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].empty()) return error("expects one input of rank >= 1 (batch excluded)");
    *outputs = in;
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<ParamActivationOp>(spec), {in[0]}, &y));
    *out = {y};
    return Status();
  }
};

class PReLU : public Layer {
 public:
  Initializer alpha_init = Initializer::kZeros;
  std::vector<int64_t> shared_axes;  // 1-based (batch is 0)
  const char* class_name() const override { return "PReLU"; }
  MaskMode mask_mode() const override { return MaskMode::kPassThrough; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>* weights, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].empty()) return error("expects one input of rank >= 1 (batch excluded)");
    Shape alpha = in[0];
    for (int64_t a : shared_axes) {
      if (a < 1 || a > int64_t(alpha.size()))
        return error("sharedAxes entry " + std::to_string(a) + " is out of range for an input of shape " +
                     shape_to_string(in[0]) + " (axes count from 1, the batch being 0)");
      alpha[size_t(a - 1)] = 1;
    }
    const int64_t n = shape_numel(alpha);
    weights->push_back({"alpha", alpha, alpha_init, n, n, true});
    *outputs = in;
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<PReluOp>(), {in[0], ctx.weights[0]}, &y));
    *out = {y};
    return Status();
  }
};

class SoftmaxLayer : public Layer {
 public:
  int64_t axis = -1;  // batch included
  const char* class_name() const override { return "Softmax"; }
  Status resolve(size_t rank, int64_t* ax) const {  // rank without the batch
    const int64_t full = int64_t(rank) + 1;
    *ax = axis < 0 ? axis + full : axis;
    if (*ax < 1 || *ax >= full)
      return error("axis " + std::to_string(axis) + " is out of range for an input of rank " + std::to_string(full) +
                   " (batch included; the batch axis 0 is not allowed)");
    return Status();
  }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].empty()) return error("expects one input of rank >= 1 (batch excluded)");
    int64_t ax;
    KILN_RETURN_IF_ERROR(resolve(in[0].size(), &ax));
    *outputs = in;
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    const size_t rank = ctx.graph->values()[size_t(in[0])].shape.size();
    int64_t ax;
    KILN_RETURN_IF_ERROR(resolve(rank - 1, &ax));
    int y;
    if (size_t(ax) == rank - 1) {
      // The last axis: the graph's row-wise softmax, which a crossentropy loss can fuse with.
      KILN_RETURN_IF_ERROR(apply_activation(ctx, in[0], Activation::kSoftmax, &y));
    } else {
      KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<SoftmaxOp>(int(ax)), {in[0]}, &y));
    }
    *out = {y};
    return Status();
  }
};

Status make_param(const char* cls, const ParamActivationSpec& spec, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<ParamActivationLayer>();
  l->cls = cls;
  l->spec = spec;
  *out = std::move(l);
  return Status();
}

}  // namespace

Status make_relu_layer(const Json& config, std::unique_ptr<Layer>* out) {
  ConfigReader r(config, "ReLU");
  ParamActivationSpec s;
  s.kind = ParamActivation::kRelu;
  double v;
  if (r.has("maxValue")) {
    KILN_RETURN_IF_ERROR(r.get_float("maxValue", 0, &v));
    if (v < 0) return arg_error("ReLU", "maxValue", "must be >= 0");
    s.max_value = float(v);
  }
  KILN_RETURN_IF_ERROR(r.get_float("negativeSlope", 0, &v));
  if (v < 0) return arg_error("ReLU", "negativeSlope", "must be >= 0");
  s.alpha = float(v);
  KILN_RETURN_IF_ERROR(r.get_float("threshold", 0, &v));
  s.threshold = float(v);
  return make_param("ReLU", s, out);
}

Status make_leaky_relu_layer(const Json& config, std::unique_ptr<Layer>* out) {
  ParamActivationSpec s;
  s.kind = ParamActivation::kLeakyRelu;
  double v;
  KILN_RETURN_IF_ERROR(ConfigReader(config, "LeakyReLU").get_float("alpha", 0.3, &v));  // TF.js default 0.3
  s.alpha = float(v);
  return make_param("LeakyReLU", s, out);
}

Status make_elu_layer(const Json& config, std::unique_ptr<Layer>* out) {
  ParamActivationSpec s;
  s.kind = ParamActivation::kElu;
  double v;
  KILN_RETURN_IF_ERROR(ConfigReader(config, "ELU").get_float("alpha", 1.0, &v));
  s.alpha = float(v);
  return make_param("ELU", s, out);
}

Status make_thresholded_relu_layer(const Json& config, std::unique_ptr<Layer>* out) {
  ParamActivationSpec s;
  s.kind = ParamActivation::kThresholdedRelu;
  double v;
  KILN_RETURN_IF_ERROR(ConfigReader(config, "ThresholdedReLU").get_float("theta", 1.0, &v));
  s.threshold = float(v);
  return make_param("ThresholdedReLU", s, out);
}

Status make_prelu_layer(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<PReLU>();
  KILN_RETURN_IF_ERROR(ConfigReader(config, "PReLU").get_initializer("alphaInitializer", Initializer::kZeros, &l->alpha_init));
  KILN_RETURN_IF_ERROR(get_int_list(config, "PReLU", "sharedAxes", true, kNoNull, &l->shared_axes));
  *out = std::move(l);
  return Status();
}

Status make_softmax_layer(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<SoftmaxLayer>();
  std::vector<int64_t> axis;
  bool present = false;
  KILN_RETURN_IF_ERROR(get_int_list(config, "Softmax", "axis", true, kNoNull, &axis, &present));
  if (present && axis.size() != 1) return arg_error("Softmax", "axis", "must be one axis (softmax over several axes is not supported)");
  if (present) l->axis = axis[0];
  *out = std::move(l);
  return Status();
}

}  // namespace kiln
