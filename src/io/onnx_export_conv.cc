// Exporting convolutions (Conv1D, Conv2D, DepthwiseConv2D, SeparableConv2D,
// Conv2DTranspose) and poolings. ONNX Conv/Pool are channels-first: inputs are transposed once
// and results stay channels-first for the next conv/pool. TF's 'same'
// padding becomes explicit pads (the extra one, when odd, at the end).
#include <algorithm>

#include "io/onnx_export_layers.h"
#include "layers/config.h"

namespace kiln {

namespace {

// ONNX pads [begin..., end...] for spatial sizes `in`.
std::vector<int64_t> tf_pads(bool same, const Shape& in, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
                             const std::vector<int64_t>& d) {
  const size_t n = in.size();
  std::vector<int64_t> pads(2 * n, 0);
  if (!same) return pads;
  for (size_t i = 0; i < n; ++i) {
    const int64_t out = (in[i] + s[i] - 1) / s[i];
    const int64_t total = std::max<int64_t>((out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in[i], 0);
    pads[i] = total / 2;
    pads[n + i] = total - total / 2;
  }
  return pads;
}

// Conv2DTranspose is the gradient of a convolution of the output `out` with
// TF's padding: that convolution's leading pads, then whatever trailing pads
// (or, when negative, output_padding) give `out`.
void transpose_pads(bool same, const Shape& in, const Shape& out, const std::vector<int64_t>& k,
                    const std::vector<int64_t>& s, const std::vector<int64_t>& d, std::vector<int64_t>* pads,
                    std::vector<int64_t>* output_padding) {
  const size_t n = in.size();
  pads->assign(2 * n, 0);
  output_padding->assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const int64_t span = (k[i] - 1) * d[i] + 1;
    const int64_t before = same ? std::max<int64_t>((in[i] - 1) * s[i] + span - out[i], 0) / 2 : 0;
    const int64_t rest = (in[i] - 1) * s[i] + span - before - out[i];
    (*pads)[i] = before;
    (*pads)[n + i] = std::max<int64_t>(rest, 0);
    (*output_padding)[i] = std::max<int64_t>(-rest, 0);
  }
}

Shape spatial(const ExportValue& x) { return Shape(x.shape.begin(), x.shape.end() - 1); }

Status conv(LayerExport& l, std::vector<ExportValue>* out) {
  ConfigReader r(l.config, l.name);
  const size_t n = l.cls == "Conv1D" ? 1 : 2;
  std::vector<int64_t> k, s, d;
  int64_t groups, mult;
  std::string padding;
  Activation act;
  bool use_bias;
  KILN_RETURN_IF_ERROR(r.get_ints("kernelSize", n, {}, &k, 1));
  KILN_RETURN_IF_ERROR(r.get_ints("strides", n, std::vector<int64_t>(n, 1), &s, 1));
  KILN_RETURN_IF_ERROR(r.get_ints("dilationRate", n, std::vector<int64_t>(n, 1), &d, 1));
  KILN_RETURN_IF_ERROR(r.get_string("padding", "valid", &padding));
  KILN_RETURN_IF_ERROR(r.get_int("groups", 1, &groups, 1, int64_t(1) << 20));
  KILN_RETURN_IF_ERROR(r.get_int("depthMultiplier", 1, &mult, 1, 1024));
  KILN_RETURN_IF_ERROR(r.get_activation("activation", Activation::kLinear, &act));
  KILN_RETURN_IF_ERROR(r.get_bool("useBias", true, &use_bias));
  const ExportValue& in = l.inputs[0];
  const int64_t c = in.shape.back();
  const bool depthwise = l.cls == "DepthwiseConv2D" || l.cls == "SeparableConv2D";
  const bool transpose = l.cls == "Conv2DTranspose";
  std::vector<OnnxAttribute> attrs = onnx_attrs(onnx_ints_attr("kernel_shape", k), onnx_ints_attr("strides", s),
                                   onnx_ints_attr("dilations", d));
  if (transpose) {
    std::vector<int64_t> pads, output_padding;
    transpose_pads(padding == "same", spatial(in), Shape(l.output_shapes[0].begin(), l.output_shapes[0].end() - 1), k, s, d,
                   &pads, &output_padding);
    attrs.push_back(onnx_ints_attr("pads", pads));
    attrs.push_back(onnx_ints_attr("output_padding", output_padding));
  } else {
    attrs.push_back(onnx_ints_attr("pads", tf_pads(padding == "same", spatial(in), k, s, d)));
  }
  // Kiln [k..., in/groups, out] -> ONNX [out, in/groups, k...]; Conv2DTranspose
  // [k..., out, in] -> ONNX's ConvTranspose [in, out, k...], the same permutation.
  const std::vector<int64_t> perm = n == 1 ? std::vector<int64_t>{2, 1, 0} : std::vector<int64_t>{3, 2, 0, 1};
  ExportWeight w;
  KILN_RETURN_IF_ERROR(l.weight(depthwise ? "depthwise_kernel" : "kernel", &w));
  if (depthwise) {
    w.shape = {k[0], k[1], 1, c * mult};  // output channel c * mult + m, as TF
    groups = c;
  }
  attrs.push_back(onnx_int_attr("group", groups));
  Shape ws;
  std::vector<float> wd = permute_weight(w, perm, &ws);
  std::vector<std::string> inputs{l.b.channels_first(in), l.b.floats(w.key + "/oihw", ws, wd)};
  std::string bias;
  if (use_bias) KILN_RETURN_IF_ERROR(l.weight_input("bias", &bias));
  if (use_bias && l.cls != "SeparableConv2D") inputs.push_back(bias);
  ExportValue y{l.b.node(transpose ? "ConvTranspose" : "Conv", inputs, std::move(attrs)), {}, true};
  if (l.cls == "SeparableConv2D") {  // then a 1x1 convolution, with the bias
    KILN_RETURN_IF_ERROR(l.weight("pointwise_kernel", &w));
    wd = permute_weight(w, perm, &ws);
    inputs = {y.name, l.b.floats(w.key + "/oihw", ws, wd)};
    if (use_bias) inputs.push_back(bias);
    y.name = l.b.node("Conv", inputs, onnx_attrs(onnx_ints_attr("kernel_shape", {1, 1})));
  }
  y.shape = l.output_shapes[0];
  KILN_RETURN_IF_ERROR(l.activate(act, &y));
  out->push_back(y);
  return Status();
}

Status pool(LayerExport& l, std::vector<ExportValue>* out) {
  const bool avg = l.cls.find("Average") != std::string::npos;
  ExportValue x = l.inputs[0];
  if (l.cls.rfind("Global", 0) == 0) {  // a reduction over the spatial axes, in either layout
    std::vector<int64_t> axes;
    for (size_t a = 1; a < x.shape.size(); ++a) axes.push_back(int64_t(a) + (x.channels_first ? 1 : 0));
    out->push_back({l.b.node(avg ? "ReduceMean" : "ReduceMax", {x.name}, onnx_attrs(onnx_ints_attr("axes", axes), onnx_int_attr("keepdims", 0))), {}, false});
    return Status();
  }
  ConfigReader r(l.config, l.name);
  const size_t n = l.cls.find("1D") != std::string::npos ? 1 : 2;
  std::vector<int64_t> p, s;
  std::string padding;
  KILN_RETURN_IF_ERROR(r.get_ints("poolSize", n, std::vector<int64_t>(n, 2), &p, 1));
  KILN_RETURN_IF_ERROR(r.get_ints("strides", n, p, &s, 1));
  KILN_RETURN_IF_ERROR(r.get_string("padding", "valid", &padding));
  std::vector<OnnxAttribute> attrs = onnx_attrs(onnx_ints_attr("kernel_shape", p), onnx_ints_attr("strides", s),
                                   onnx_ints_attr("pads", tf_pads(padding == "same", spatial(x), p, s, std::vector<int64_t>(n, 1))));
  if (avg) attrs.push_back(onnx_int_attr("count_include_pad", 0));  // TF averages over real cells only
  out->push_back({l.b.node(avg ? "AveragePool" : "MaxPool", {l.b.channels_first(x)}, std::move(attrs)), {}, true});
  return Status();
}

}  // namespace

Status export_conv_layer(LayerExport& l, std::vector<ExportValue>* out) {
  return l.cls.find("Pool") != std::string::npos ? pool(l, out) : conv(l, out);
}

}  // namespace kiln
