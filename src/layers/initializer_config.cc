#include "layers/initializer_config.h"

#include <cctype>
#include <cmath>

namespace kiln {

namespace {

// "fan_in" and "fanIn" both read as "fanin": Keras files write snake case, TF.js camel case.
std::string folded(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '_') out += char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

double number_or(const Json& config, const char* key, double dflt) {
  const Json* v = config.find(key);
  return v && v->is_number() ? v->as_number() : dflt;
}

// The VarianceScaling parameters Kiln's named initializers stand for.
Status variance_scaling(const Json& config, Initializer* out) {
  const Json* mode = config.find("mode");
  const Json* dist = config.find("distribution");
  const double scale = number_or(config, "scale", 1.0);
  const std::string m = mode && mode->is_string() ? folded(mode->as_string()) : "fanin";
  const std::string d = dist && dist->is_string() ? folded(dist->as_string()) : "normal";
  const bool uniform = d == "uniform";
  if (!uniform && d != "normal" && d != "truncatednormal")
    return Status::error("VarianceScaling: distribution '" + (dist && dist->is_string() ? dist->as_string() : std::string("?")) +
                         "' is not supported (uniform, normal or truncatedNormal)");
  if (scale == 1.0 && m == "fanavg") *out = uniform ? Initializer::kGlorotUniform : Initializer::kGlorotNormal;
  else if (scale == 2.0 && m == "fanin") *out = uniform ? Initializer::kHeUniform : Initializer::kHeNormal;
  else if (scale == 1.0 && m == "fanin") *out = uniform ? Initializer::kLecunUniform : Initializer::kLecunNormal;
  else
    return Status::error("VarianceScaling with scale " + std::to_string(scale) + " and mode '" +
                         (mode && mode->is_string() ? mode->as_string() : std::string("fanIn")) +
                         "' is not supported (Kiln has the Glorot, He and LeCun variants: scale 1 fanAvg, 2 fanIn, 1 fanIn)");
  return Status();
}

// Fixed parameters of Kiln's initializers; a config that asks for others is refused.
Status check_fixed(const std::string& cls, const Json& config, const char* key, double want) {
  const Json* v = config.find(key);
  if (!v || v->is_null()) return Status();
  if (!v->is_number() || std::fabs(v->as_number() - want) > 1e-9 * std::fabs(want) + 1e-12)
    return Status::error(cls + ": " + key + " must be " + std::to_string(want) + " (the only value Kiln implements)");
  return Status();
}

}  // namespace

Status initializer_from_json(const Json& value, Initializer* out) {
  if (value.is_string()) {
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
  if (folded(cls) == "variancescaling") return variance_scaling(config, out);
  std::string name = cls;
  name[0] = char(std::tolower(static_cast<unsigned char>(name[0])));
  if (!initializer_from_name(name, out)) return Status::error("unknown initializer '" + cls + "'");
  switch (*out) {
    case Initializer::kRandomUniform:
      KILN_RETURN_IF_ERROR(check_fixed(cls, config, "minval", -0.05));
      return check_fixed(cls, config, "maxval", 0.05);
    case Initializer::kRandomNormal:
    case Initializer::kTruncatedNormal:
      KILN_RETURN_IF_ERROR(check_fixed(cls, config, "mean", 0.0));
      return check_fixed(cls, config, "stddev", 0.05);
    case Initializer::kOrthogonal: return check_fixed(cls, config, "gain", 1.0);
    default: break;
  }
  for (const auto& [key, v] : config.members())
    if (key != "seed" && !v.is_null()) return Status::error(cls + ": argument '" + key + "' is not supported");
  return Status();
}

}  // namespace kiln
