#include "layers/initializer_config.h"

#include <cmath>
#include <vector>

#include "core/enum_names.h"

namespace kiln {

namespace {

// A number parameter of the config (absent or null: `dflt`).
Status number_param(const std::string& cls, const Json& config, const char* key, double dflt, double* out) {
  const Json* v = config.find(key);
  if (!v || v->is_null()) {
    *out = dflt;
    return Status();
  }
  if (!v->is_number() || !std::isfinite(v->as_number())) return Status::error(cls + ": " + key + " must be a finite number");
  *out = v->as_number();
  return Status();
}

Status string_param(const std::string& cls, const Json& config, const char* key, std::string* out) {
  const Json* v = config.find(key);
  if (!v || v->is_null()) return Status();
  if (!v->is_string()) return Status::error(cls + ": " + key + " must be a string");
  *out = v->as_string();
  return Status();
}

// VarianceScaling's scale, mode and distribution, over the preset's.
Status variance_scaling(const std::string& cls, const Json& config, Initializer* out) {
  KILN_RETURN_IF_ERROR(number_param(cls, config, "scale", out->a, &out->a));
  if (!(out->a > 0)) return Status::error(cls + ": scale must be positive, got " + std::to_string(out->a));
  std::string mode, dist;
  KILN_RETURN_IF_ERROR(string_param(cls, config, "mode", &mode));
  KILN_RETURN_IF_ERROR(string_param(cls, config, "distribution", &dist));
  if (!mode.empty()) {
    const std::string m = folded_name(mode);
    if (m == "fanin") out->mode = FanMode::kFanIn;
    else if (m == "fanout") out->mode = FanMode::kFanOut;
    else if (m == "fanavg") out->mode = FanMode::kFanAvg;
    else return Status::error(cls + ": mode '" + mode + "' is not one of fanIn, fanOut, fanAvg");
  }
  if (!dist.empty()) {
    // TF.js's 'normal' is truncated; Keras writes 'truncated_normal' and 'untruncated_normal'.
    const std::string d = folded_name(dist);
    if (d == "normal" || d == "truncatednormal") out->distribution = ScalingDistribution::kTruncatedNormal;
    else if (d == "uniform") out->distribution = ScalingDistribution::kUniform;
    else if (d == "untruncatednormal") out->distribution = ScalingDistribution::kNormal;
    else return Status::error(cls + ": distribution '" + dist + "' is not one of normal, uniform, truncatedNormal, untruncatedNormal");
  }
  return Status();
}

}  // namespace

Status initializer_from_json(const Json& value, Initializer* out) {
  if (value.is_string()) {
    if (folded_name(value.as_string()) == "constant")
      return Status::error("'constant' needs its value: {className: 'Constant', config: {value: ...}}");
    if (!initializer_from_name(value.as_string(), out)) return Status::error("unknown initializer '" + value.as_string() + "'");
    return Status();
  }
  const Json* cls_json = value.is_object() ? value.find("className") : nullptr;
  if (value.is_object() && !cls_json) cls_json = value.find("class_name");
  if (!cls_json || !cls_json->is_string()) return Status::error("must be an initializer name or {className, config}");
  const std::string cls = cls_json->as_string();
  static const Json kEmpty = Json::object();
  const Json* cfg = value.find("config");
  const Json& config = cfg && cfg->is_object() ? *cfg : kEmpty;
  const Json* seed = config.find("seed");
  if (seed && !seed->is_null())
    return Status::error(cls + ": a seed of its own is not supported (Kiln seeds a whole model: kiln.sequential({seed}))");
  std::vector<const char*> params;  // the config keys this class reads
  if (folded_name(cls) == "constant") {
    const Json* v = config.find("value");
    if (!v || !v->is_number() || !std::isfinite(v->as_number())) return Status::error("Constant: value must be a finite number");
    *out = Initializer{InitializerKind::kConstant, v->as_number()};
    params = {"value"};
  } else {
    if (!initializer_from_name(cls, out)) return Status::error("unknown initializer '" + cls + "'");
    switch (out->kind) {
      case InitializerKind::kRandomUniform:
        KILN_RETURN_IF_ERROR(number_param(cls, config, "minval", out->a, &out->a));
        KILN_RETURN_IF_ERROR(number_param(cls, config, "maxval", out->b, &out->b));
        if (!(out->a < out->b)) return Status::error(cls + ": minval must be below maxval");
        params = {"minval", "maxval"};
        break;
      case InitializerKind::kRandomNormal:
      case InitializerKind::kTruncatedNormal:
        KILN_RETURN_IF_ERROR(number_param(cls, config, "mean", out->a, &out->a));
        KILN_RETURN_IF_ERROR(number_param(cls, config, "stddev", out->b, &out->b));
        if (!(out->b >= 0)) return Status::error(cls + ": stddev must not be negative");
        params = {"mean", "stddev"};
        break;
      case InitializerKind::kOrthogonal:
      case InitializerKind::kIdentity:
        KILN_RETURN_IF_ERROR(number_param(cls, config, "gain", out->a, &out->a));
        params = {"gain"};
        break;
      case InitializerKind::kVarianceScaling:  // the Glorot, He and LeCun presets too (TF.js writes their parameters)
        KILN_RETURN_IF_ERROR(variance_scaling(cls, config, out));
        params = {"scale", "mode", "distribution"};
        break;
      default: break;
    }
  }
  for (const auto& [key, v] : config.members()) {
    bool known = key == "seed";
    for (const char* p : params) known = known || key == p;
    if (!known && !v.is_null()) return Status::error(cls + ": argument '" + key + "' is not supported");
  }
  return Status();
}

Json initializer_to_json(const Initializer& init) {
  Json config = Json::object();
  switch (init.kind) {
    case InitializerKind::kConstant: config.set("value", Json::number(init.a)); break;
    case InitializerKind::kRandomUniform: config.set("minval", Json::number(init.a)).set("maxval", Json::number(init.b)); break;
    case InitializerKind::kRandomNormal:
    case InitializerKind::kTruncatedNormal: config.set("mean", Json::number(init.a)).set("stddev", Json::number(init.b)); break;
    case InitializerKind::kOrthogonal:
    case InitializerKind::kIdentity: config.set("gain", Json::number(init.a)); break;
    case InitializerKind::kVarianceScaling: {
      static const char* kModes[] = {"fanIn", "fanOut", "fanAvg"};
      static const char* kDists[] = {"normal", "uniform", "untruncatedNormal"};
      config.set("scale", Json::number(init.a))
          .set("mode", Json::string(kModes[int(init.mode)]))
          .set("distribution", Json::string(kDists[int(init.distribution)]));
      break;
    }
    default: break;
  }
  return Json::object().set("className", Json::string(initializer_class_name(init))).set("config", config);
}

}  // namespace kiln
