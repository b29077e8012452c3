#include "layers/noise_layers.h"

#include "layers/arg_utils.h"
#include "layers/config.h"
#include "ops/dropout.h"

namespace kiln {

namespace {

// The noise shape forms: none (one draw per element), a noiseShape list
// (batch included; null = the input's size, 1 = shared), or a fixed pattern
// (the spatial dropouts).
enum class Spatial { kNone, k1D, k2DChannelsLast, k2DChannelsFirst };

class NoiseLayer : public Layer {
 public:
  const char* cls = "";
  NoiseKind kind = NoiseKind::kDropout;
  double param = 0;  // rate, or stddev for GaussianNoise
  Spatial spatial = Spatial::kNone;
  bool has_noise_shape = false;
  std::vector<int64_t> noise_shape;  // batch included; -1 for null

  const char* class_name() const override { return cls; }
  MaskMode mask_mode() const override { return MaskMode::kPassThrough; }

  // Per axis of [batch, ...shape]: whether the draw is shared along it.
  Status shared_axes(const Shape& shape, std::vector<bool>* shared) const {
    const size_t rank = shape.size() + 1;
    shared->assign(rank, false);
    switch (spatial) {
      case Spatial::kNone: break;
      case Spatial::k1D: (*shared)[1] = true; break;
      case Spatial::k2DChannelsLast: (*shared)[1] = (*shared)[2] = true; break;
      case Spatial::k2DChannelsFirst: (*shared)[2] = (*shared)[3] = true; break;
    }
    if (!has_noise_shape) return Status();
    if (noise_shape.size() != rank)
      return error("noiseShape " + shape_to_string(noise_shape) + " must have one entry per input axis, batch included (" +
                   std::to_string(rank) + " for an input of shape " + shape_to_string(shape) + ")");
    for (size_t d = 0; d < rank; ++d) {
      const int64_t n = noise_shape[d];
      if (n == 1) {
        (*shared)[d] = true;
      } else if (n != -1 && d > 0 && n != shape[d - 1]) {  // the batch entry may be any size
        return error("noiseShape " + shape_to_string(noise_shape) + " does not fit an input of shape [batch, " +
                     shape_to_string(shape).substr(1) + ": each entry must be null, 1 or the input's size");
      }
    }
    return Status();
  }

  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    size_t need = spatial == Spatial::k1D ? 2 : (spatial == Spatial::kNone ? 0 : 3);
    if (in.size() != 1 || in[0].empty() || (need && in[0].size() != need)) {
      const std::string want = need == 2 ? "of shape [steps, channels]"
                               : need == 3 ? (spatial == Spatial::k2DChannelsFirst ? "of shape [channels, rows, cols]"
                                                                                     : "of shape [rows, cols, channels]")
                                           : "of rank >= 1";
      return error("expects one input " + want + " (batch excluded)" +
                   (in.size() == 1 ? ", got " + shape_to_string(in[0]) : std::string()));
    }
    std::vector<bool> shared;
    KILN_RETURN_IF_ERROR(shared_axes(in[0], &shared));
    *outputs = in;
    return Status();
  }

  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    // TF.js: inactive outside training, and for rates outside (0, 1) / a zero stddev.
    if (!ctx.training || param <= 0) {
      *out = {in[0]};
      return Status();
    }
    const Shape shape = ctx.graph->values()[size_t(in[0])].shape;
    std::vector<bool> shared;
    KILN_RETURN_IF_ERROR(shared_axes(Shape(shape.begin() + 1, shape.end()), &shared));
    bool any = false;
    for (bool s : shared) any = any || s;
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<NoiseOp>(kind, param, any ? shared : std::vector<bool>()), {in[0]}, &y));
    *out = {y};
    return Status();
  }
};

Status read_rate(const Json& config, const char* cls, double* rate) {
  ConfigReader r(config, cls);
  if (!r.has("rate")) return arg_error(cls, "rate", "is required (the fraction of units to drop, in [0, 1))");
  KILN_RETURN_IF_ERROR(r.get_float("rate", 0, rate));
  if (*rate < 0 || *rate >= 1) return arg_error(cls, "rate", "must be in [0, 1), got " + std::to_string(*rate));
  return Status();
}

Status make_noise(const Json& config, const char* cls, NoiseKind kind, Spatial spatial, bool noise_shape,
                  std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<NoiseLayer>();
  l->cls = cls;
  l->kind = kind;
  l->spatial = spatial;
  if (kind == NoiseKind::kGaussianNoise) {
    ConfigReader r(config, cls);
    if (!r.has("stddev")) return arg_error(cls, "stddev", "is required");
    KILN_RETURN_IF_ERROR(r.get_float("stddev", 0, &l->param));
    if (l->param < 0) return arg_error(cls, "stddev", "must be >= 0");
  } else {
    KILN_RETURN_IF_ERROR(read_rate(config, cls, &l->param));
  }
  if (noise_shape) {
    KILN_RETURN_IF_ERROR(get_int_list(config, cls, "noiseShape", false, -1, &l->noise_shape, &l->has_noise_shape));
    for (int64_t d : l->noise_shape)
      if (d == 0 || d < -1) return arg_error(cls, "noiseShape", "must hold positive sizes or null");
  }
  *out = std::move(l);
  return Status();
}

}  // namespace

Status make_dropout(const Json& config, std::unique_ptr<Layer>* out) {
  return make_noise(config, "Dropout", NoiseKind::kDropout, Spatial::kNone, true, out);
}

Status make_spatial_dropout1d(const Json& config, std::unique_ptr<Layer>* out) {
  return make_noise(config, "SpatialDropout1D", NoiseKind::kDropout, Spatial::k1D, false, out);
}

Status make_spatial_dropout2d(const Json& config, std::unique_ptr<Layer>* out) {
  std::string f;
  KILN_RETURN_IF_ERROR(
      ConfigReader(config, "SpatialDropout2D").get_choice("dataFormat", "channelsLast", {"channelsLast", "channelsFirst"}, &f));
  return make_noise(config, "SpatialDropout2D", NoiseKind::kDropout,
                    f == "channelsFirst" ? Spatial::k2DChannelsFirst : Spatial::k2DChannelsLast, false, out);
}

Status make_gaussian_noise(const Json& config, std::unique_ptr<Layer>* out) {
  return make_noise(config, "GaussianNoise", NoiseKind::kGaussianNoise, Spatial::kNone, false, out);
}

Status make_gaussian_dropout(const Json& config, std::unique_ptr<Layer>* out) {
  return make_noise(config, "GaussianDropout", NoiseKind::kGaussianDropout, Spatial::kNone, false, out);
}

Status make_alpha_dropout(const Json& config, std::unique_ptr<Layer>* out) {
  return make_noise(config, "AlphaDropout", NoiseKind::kAlphaDropout, Spatial::kNone, true, out);
}

}  // namespace kiln
