// Exporting Dense, the activation layers, the noise layers (identity at
// inference), BatchNormalization, LayerNormalization and Embedding.
#include <cmath>

#include "io/onnx_export_layers.h"
#include "layers/arg_utils.h"
#include "layers/config.h"

namespace kiln {

namespace {

Status dense(LayerExport& l, std::vector<ExportValue>* out) {
  ConfigReader r(l.config, l.name);
  Activation act;
  bool use_bias;
  KILN_RETURN_IF_ERROR(r.get_activation("activation", Activation::kLinear, &act));
  KILN_RETURN_IF_ERROR(r.get_bool("useBias", true, &use_bias));
  ExportValue x = l.inputs[0];
  x.name = l.b.kiln_layout(x);
  x.channels_first = false;
  std::string kernel, bias;
  KILN_RETURN_IF_ERROR(l.weight_input("kernel", &kernel));
  if (use_bias) KILN_RETURN_IF_ERROR(l.weight_input("bias", &bias));
  if (x.shape.size() == 1) {  // [batch, in] x [in, units]: one Gemm
    std::vector<std::string> in{x.name, kernel};
    if (use_bias) in.push_back(bias);
    x.name = l.b.node("Gemm", in);
  } else {  // any rank: applied to the last axis
    x.name = l.b.node("MatMul", {x.name, kernel});
    if (use_bias) x.name = l.b.node("Add", {x.name, bias});
  }
  KILN_RETURN_IF_ERROR(l.activate(act, &x));
  out->push_back(x);
  return Status();
}

Status relu_layer(LayerExport& l, ExportValue* x) {
  ConfigReader r(l.config, l.name);
  double slope, threshold;
  KILN_RETURN_IF_ERROR(r.get_float("negativeSlope", 0, &slope));
  KILN_RETURN_IF_ERROR(r.get_float("threshold", 0, &threshold));
  if (threshold != 0) return l.error("threshold != 0 has no ONNX equivalent here");
  x->name = slope == 0 ? l.b.node("Relu", {x->name})
                       : l.b.node("LeakyRelu", {x->name}, onnx_attrs(onnx_float_attr("alpha", float(slope))));
  if (r.has("maxValue")) {
    double mx;
    KILN_RETURN_IF_ERROR(r.get_float("maxValue", 0, &mx));
    x->name = l.b.node("Clip", {x->name, "", l.b.scalar(float(mx))});
  }
  return Status();
}

Status activation_layer(LayerExport& l, std::vector<ExportValue>* out) {
  ConfigReader r(l.config, l.name);
  ExportValue x = l.inputs[0];
  double v;
  if (l.cls == "Activation") {
    Activation act;
    KILN_RETURN_IF_ERROR(r.get_activation("activation", Activation::kLinear, &act));
    KILN_RETURN_IF_ERROR(l.activate(act, &x));
  } else if (l.cls == "ReLU") {
    KILN_RETURN_IF_ERROR(relu_layer(l, &x));
  } else if (l.cls == "LeakyReLU") {
    KILN_RETURN_IF_ERROR(r.get_float("alpha", 0.3, &v));  // TF.js default
    x.name = l.b.node("LeakyRelu", {x.name}, onnx_attrs(onnx_float_attr("alpha", float(v))));
  } else if (l.cls == "ELU") {
    KILN_RETURN_IF_ERROR(r.get_float("alpha", 1.0, &v));
    x.name = l.b.node("Elu", {x.name}, onnx_attrs(onnx_float_attr("alpha", float(v))));
  } else if (l.cls == "ThresholdedReLU") {
    KILN_RETURN_IF_ERROR(r.get_float("theta", 1.0, &v));
    x.name = l.b.node("ThresholdedRelu", {x.name}, onnx_attrs(onnx_float_attr("alpha", float(v))));
  } else if (l.cls == "PReLU") {  // alpha [...input shape] broadcasts over the batch
    x.name = l.b.kiln_layout(x);
    x.channels_first = false;
    std::string alpha;
    KILN_RETURN_IF_ERROR(l.weight_input("alpha", &alpha));
    x.name = l.b.node("PRelu", {x.name, alpha});
  } else {  // Softmax
    std::vector<int64_t> axis;
    KILN_RETURN_IF_ERROR(get_int_list(l.config, l.name, "axis", true, kNoNull, &axis));
    if (axis.size() > 1) return l.error("softmax over several axes has no ONNX equivalent");
    x.name = l.b.kiln_layout(x);
    x.channels_first = false;
    x.name = l.b.node("Softmax", {x.name}, onnx_attrs(onnx_int_attr("axis", axis.empty() ? -1 : axis[0])));
  }
  out->push_back(x);
  return Status();
}

// BatchNormalization and LayerNormalization share these (TF.js defaults).
Status norm_config(const LayerExport& l, bool* center, bool* scale, double* eps) {
  ConfigReader r(l.config, l.name);
  KILN_RETURN_IF_ERROR(r.get_bool("center", true, center));
  KILN_RETURN_IF_ERROR(r.get_bool("scale", true, scale));
  return r.get_float("epsilon", 1e-3, eps);
}

// Inference form: y = x * gamma / sqrt(var + eps) + (beta - mean * gamma / sqrt(var + eps)),
// folded in double; the constants broadcast over the channel axis in either layout.
Status batch_norm(LayerExport& l, std::vector<ExportValue>* out) {
  bool center, scale;
  double eps;
  KILN_RETURN_IF_ERROR(norm_config(l, &center, &scale, &eps));
  ExportWeight mean, var, gamma, beta;
  KILN_RETURN_IF_ERROR(l.weight("moving_mean", &mean));
  KILN_RETURN_IF_ERROR(l.weight("moving_variance", &var));
  if (scale) KILN_RETURN_IF_ERROR(l.weight("gamma", &gamma));
  if (center) KILN_RETURN_IF_ERROR(l.weight("beta", &beta));
  const int64_t c = mean.shape[0];
  std::vector<float> mul(static_cast<size_t>(c)), add(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) {
    const double s = (scale ? double(gamma.data[i]) : 1.0) / std::sqrt(double(var.data[i]) + eps);
    mul[size_t(i)] = float(s);
    add[size_t(i)] = float((center ? double(beta.data[i]) : 0.0) - double(mean.data[i]) * s);
  }
  ExportValue x = l.inputs[0];
  Shape dims{c};
  if (x.channels_first) dims.resize(x.shape.size(), 1);  // [c, 1, ..., 1]
  const std::string tag = x.channels_first ? "/cf" : "";
  x.name = l.b.node("Mul", {x.name, l.b.floats(mean.key + "/folded_scale" + tag, dims, mul)});
  x.name = l.b.node("Add", {x.name, l.b.floats(mean.key + "/folded_shift" + tag, dims, add)});
  out->push_back(x);
  return Status();
}

Status layer_norm(LayerExport& l, std::vector<ExportValue>* out) {
  bool center, scale;
  double eps;
  KILN_RETURN_IF_ERROR(norm_config(l, &center, &scale, &eps));
  ExportValue x = l.inputs[0];
  x.name = l.b.kiln_layout(x);
  x.channels_first = false;
  const int64_t c = x.shape.back();
  std::string gamma, beta;
  if (scale) {
    KILN_RETURN_IF_ERROR(l.weight_input("gamma", &gamma));
  } else {  // ONNX requires a scale
    gamma = l.b.floats("ones_" + std::to_string(c), {c}, std::vector<float>(size_t(c), 1.0f));
  }
  std::vector<std::string> in{x.name, gamma};
  if (center) {
    KILN_RETURN_IF_ERROR(l.weight_input("beta", &beta));
    in.push_back(beta);
  }
  x.name = l.b.node("LayerNormalization", in, onnx_attrs(onnx_int_attr("axis", -1), onnx_float_attr("epsilon", float(eps))));
  out->push_back(x);
  return Status();
}

// Kiln's inputs are float32: indices are cast (truncated, as Kiln does).
// Out-of-range indices, zero rows in Kiln, are an error in ONNX's Gather.
Status embedding(LayerExport& l, std::vector<ExportValue>* out) {
  std::string table;
  KILN_RETURN_IF_ERROR(l.weight_input("embeddings", &table));
  ExportValue x = l.inputs[0];
  const std::string idx = l.b.node("Cast", {l.b.kiln_layout(x)}, onnx_attrs(onnx_int_attr("to", int64_t(DataType::kInt64))));
  out->push_back({l.b.node("Gather", {table, idx}, onnx_attrs(onnx_int_attr("axis", 0))), {}, false});
  return Status();
}

}  // namespace

Status export_core_layer(LayerExport& l, std::vector<ExportValue>* out) {
  if (l.cls == "Dense") return dense(l, out);
  if (l.cls == "BatchNormalization") return batch_norm(l, out);
  if (l.cls == "LayerNormalization") return layer_norm(l, out);
  if (l.cls == "Embedding") return embedding(l, out);
  if (l.cls.find("Dropout") != std::string::npos || l.cls == "GaussianNoise") {  // inactive at inference
    out->push_back(l.inputs[0]);
    return Status();
  }
  return activation_layer(l, out);
}

}  // namespace kiln
