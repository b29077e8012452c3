// BatchNormalization and LayerNormalization over the last axis (TF.js defaults:
// momentum 0.99, epsilon 1e-3, center and scale on).
#include "layers/config.h"
#include "layers/conv_layers.h"
#include "ops/normalization_op.h"

namespace kiln {

namespace {

class NormLayer : public Layer {
 public:
  bool batch = true;  // BatchNormalization, else LayerNormalization
  bool center = true, scale = true;
  double eps = 1e-3, momentum = 0.99;
  int64_t axis = -1;  // -1, or the last axis counted from the batch (Keras's BatchNormalization(axis=3))
  Initializer gamma_init = Initializer::kOnes, beta_init = Initializer::kZeros;
  Initializer moving_mean_init = Initializer::kZeros, moving_variance_init = Initializer::kOnes;  // BatchNormalization

  const char* class_name() const override { return batch ? "BatchNormalization" : "LayerNormalization"; }
  MaskMode mask_mode() const override { return MaskMode::kPassThrough; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>* weights, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].empty()) return error("expects one input");
    const int64_t last = int64_t(in[0].size());  // the input's rank with the batch, minus one
    if (axis != -1 && axis != last)
      return error("only the last axis (-1 or " + std::to_string(last) + " here) is supported, got axis " + std::to_string(axis));
    const int64_t c = in[0].back();
    if (scale) weights->push_back({"gamma", {c}, gamma_init, 1, c, true});
    if (center) weights->push_back({"beta", {c}, beta_init, 1, c, true});
    if (batch) {
      weights->push_back({"moving_mean", {c}, moving_mean_init, 1, c, false});
      weights->push_back({"moving_variance", {c}, moving_variance_init, 1, c, false});
    }
    *outputs = in;
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    std::vector<int> inputs{in[0]};
    inputs.insert(inputs.end(), ctx.weights.begin(), ctx.weights.end());
    OpPtr op = batch ? OpPtr(std::make_shared<BatchNormOp>(ctx.training && ctx.trainable, scale, center, float(eps), float(momentum)))
                     : OpPtr(std::make_shared<LayerNormOp>(scale, center, float(eps)));
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(op, inputs, &y));
    *out = {y};
    return Status();
  }
};

Status make_norm(const Json& config, bool batch, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<NormLayer>();
  l->batch = batch;
  ConfigReader r(config, batch ? "BatchNormalization" : "LayerNormalization");
  const Json* axis = r.find("axis");
  if (axis && axis->is_array() && axis->items().size() == 1) {
    // Keras's LayerNormalization writes its axis as a list.
    Json one = config;
    one.set("axis", axis->items()[0]);
    return make_norm(one, batch, out);
  }
  KILN_RETURN_IF_ERROR(r.get_int("axis", -1, &l->axis, -1, 64));
  if (l->axis == 0) return Status::error(std::string(l->class_name()) + ": axis 0 is the batch axis; only the last axis is supported");
  KILN_RETURN_IF_ERROR(r.get_bool("center", true, &l->center));
  KILN_RETURN_IF_ERROR(r.get_bool("scale", true, &l->scale));
  KILN_RETURN_IF_ERROR(r.get_float("epsilon", 1e-3, &l->eps));
  KILN_RETURN_IF_ERROR(r.get_float("momentum", 0.99, &l->momentum));
  KILN_RETURN_IF_ERROR(r.get_initializer("gammaInitializer", Initializer::kOnes, &l->gamma_init));
  KILN_RETURN_IF_ERROR(r.get_initializer("betaInitializer", Initializer::kZeros, &l->beta_init));
  if (batch) {
    KILN_RETURN_IF_ERROR(r.get_initializer("movingMeanInitializer", Initializer::kZeros, &l->moving_mean_init));
    KILN_RETURN_IF_ERROR(r.get_initializer("movingVarianceInitializer", Initializer::kOnes, &l->moving_variance_init));
  }
  if (l->eps <= 0) return Status::error(std::string(l->class_name()) + ": argument 'epsilon' must be positive");
  *out = std::move(l);
  return Status();
}

}  // namespace

Status make_batch_normalization(const Json& c, std::unique_ptr<Layer>* o) { return make_norm(c, true, o); }
Status make_layer_normalization(const Json& c, std::unique_ptr<Layer>* o) { return make_norm(c, false, o); }

}  // namespace kiln
