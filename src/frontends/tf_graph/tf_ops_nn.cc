// Convolutions, pooling, batch norm, resizing and matrix products: NHWC TF
// ops as NCHW ONNX ones (filters re-laid out once at import), with the
// activations TF fuses into them (_FusedConv2D, _FusedMatMul) emitted after.
#include <cmath>
#include <cstring>

#include "frontends/tf_graph/tf_graph_translator.h"

namespace kiln {

namespace {

std::vector<float> floats_of(const OnnxTensor& t) {
  std::vector<float> v(size_t(t.element_count()));
  if (!v.empty()) std::memcpy(v.data(), t.data.data(), 4 * v.size());
  return v;
}

Status float_const(TfGraphTranslator& t, const TfNode& n, size_t i, const OnnxTensor** out) {
  std::string v;
  KILN_RETURN_IF_ERROR(t.input(n, i, &v));
  *out = t.constant(v);
  if (!*out || (*out)->data_type != DataType::kFloat32) return n.error("input " + std::to_string(i) + " must be a float32 constant");
  return Status();
}

Status check_nhwc(const TfNode& n) {
  std::string format;
  KILN_RETURN_IF_ERROR(n.get_string("data_format", "NHWC", &format));
  if (format != "NHWC") return n.error("data_format " + format + " is not supported (NHWC only)");
  return Status();
}

// strides/dilations/ksize as [1, h, w, 1] -> {h, w}.
Status spatial(const TfNode& n, const char* key, std::vector<int64_t>* hw) {
  std::vector<int64_t> v;
  KILN_RETURN_IF_ERROR(n.get_ints(key, &v));
  if (v.empty()) {
    *hw = {1, 1};
    return Status();
  }
  if (v.size() != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1)
    return n.error(std::string(key) + " must be [1, h, w, 1]");
  *hw = {v[1], v[2]};
  return Status();
}

// TF padding as ONNX attributes: SAME -> SAME_UPPER (TF puts the extra row at the end), EXPLICIT -> pads.
Status padding_attrs(const TfNode& n, std::vector<OnnxAttribute>* attrs) {
  std::string padding;
  KILN_RETURN_IF_ERROR(n.get_string("padding", "VALID", &padding));
  if (padding == "SAME") attrs->push_back(onnx_string_attr("auto_pad", "SAME_UPPER"));
  else if (padding == "EXPLICIT") {
    std::vector<int64_t> e;
    KILN_RETURN_IF_ERROR(n.get_ints("explicit_paddings", &e));
    if (e.size() != 8 || e[0] || e[1] || e[6] || e[7]) return n.error("explicit_paddings must pad only H and W");
    attrs->push_back(onnx_ints_attr("pads", {e[2], e[4], e[3], e[5]}));
  } else if (padding != "VALID") return n.error("padding " + padding + " is not supported");
  return Status();
}

// One activation (a TF op name) applied to `x` into `out`; `layout_nchw` tells how a per-channel alpha is laid out.
Status emit_activation(TfGraphTranslator& t, const TfNode& n, const std::string& kind, const std::string& x,
                       const std::string& out, bool layout_nchw, const OnnxTensor* alpha) {
  if (kind == "Relu") t.emit("Relu", {x}, {out});
  else if (kind == "Relu6") t.emit("Clip", {x, t.const_f32(out + "#min", {0.f}, {}), t.const_f32(out + "#max", {6.f}, {})}, {out});
  else if (kind == "Elu") t.emit("Elu", {x}, {out});
  else if (kind == "Selu") t.emit("Selu", {x}, {out});
  else if (kind == "Sigmoid") t.emit("Sigmoid", {x}, {out});
  else if (kind == "Tanh") t.emit("Tanh", {x}, {out});
  else if (kind == "LeakyRelu") {
    float a;
    KILN_RETURN_IF_ERROR(n.get_float("leakyrelu_alpha", 0.2f, &a));
    t.emit("LeakyRelu", {x}, {out}, onnx_attrs(onnx_float_attr("alpha", a)));
  } else if (kind == "Prelu") {
    if (!alpha) return n.error("Prelu needs its alpha");
    const std::vector<float> a = floats_of(*alpha);
    const int64_t c = int64_t(a.size());
    t.emit("PRelu", {x, t.const_f32(out + "#alpha", a, layout_nchw ? std::vector<int64_t>{c, 1, 1} : std::vector<int64_t>{c})}, {out});
  } else {
    return n.error("fused activation " + kind + " is not supported");
  }
  return Status();
}

// Conv2D, DepthwiseConv2dNative and their fused forms.
Status conv(TfGraphTranslator& t, const TfNode& n, bool depthwise, bool fused) {
  KILN_RETURN_IF_ERROR(check_nhwc(n));
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  const OnnxTensor* f;
  KILN_RETURN_IF_ERROR(float_const(t, n, 1, &f));
  if (f->dims.size() != 4) return n.error("the filter must be 4-D");
  const int64_t kh = f->dims[0], kw = f->dims[1], ci = f->dims[2], co = f->dims[3];
  const std::vector<float> hwio = floats_of(*f);
  // HWIO -> OIHW; depthwise [kh, kw, C, M] -> [C*M, 1, kh, kw] (output channel c*M + m).
  const int64_t outs = depthwise ? ci * co : co, ins = depthwise ? 1 : ci;
  std::vector<float> oihw(hwio.size());
  for (int64_t y = 0; y < kh; ++y)
    for (int64_t xx = 0; xx < kw; ++xx)
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t o = 0; o < co; ++o) {
          const float w = hwio[size_t(((y * kw + xx) * ci + i) * co + o)];
          const int64_t oc = depthwise ? i * co + o : o, ic = depthwise ? 0 : i;
          oihw[size_t(((oc * ins + ic) * kh + y) * kw + xx)] = w;
        }
  std::vector<int64_t> strides, dilations;
  KILN_RETURN_IF_ERROR(spatial(n, "strides", &strides));
  KILN_RETURN_IF_ERROR(spatial(n, "dilations", &dilations));
  std::vector<OnnxAttribute> attrs = onnx_attrs(onnx_ints_attr("kernel_shape", {kh, kw}), onnx_ints_attr("strides", strides),
                                      onnx_ints_attr("dilations", dilations));
  if (depthwise) attrs.push_back(onnx_int_attr("group", ci));
  KILN_RETURN_IF_ERROR(padding_attrs(n, &attrs));
  std::vector<std::string> inputs = {t.nchw(x), t.const_f32(n.name + "#filter", oihw, {outs, ins, kh, kw})};
  std::vector<std::string> ops;
  if (fused) KILN_RETURN_IF_ERROR(n.get_strings("fused_ops", &ops));
  size_t k = 0;
  const OnnxTensor* alpha = nullptr;
  if (k < ops.size() && ops[k] == "BiasAdd") {
    const OnnxTensor* b;
    KILN_RETURN_IF_ERROR(float_const(t, n, 2, &b));
    if (b->element_count() != outs) return n.error("the bias must have one value per output channel");
    inputs.push_back(b->name);
    ++k;
    if (k < ops.size() && ops[k] == "Prelu") KILN_RETURN_IF_ERROR(float_const(t, n, 3, &alpha));
  } else if (k < ops.size() && ops[k] == "FusedBatchNorm") {
    // Scale, offset, mean, variance folded into the filter and a bias.
    const OnnxTensor *sc, *of, *mu, *var;
    KILN_RETURN_IF_ERROR(float_const(t, n, 2, &sc));
    KILN_RETURN_IF_ERROR(float_const(t, n, 3, &of));
    KILN_RETURN_IF_ERROR(float_const(t, n, 4, &mu));
    KILN_RETURN_IF_ERROR(float_const(t, n, 5, &var));
    float eps;
    KILN_RETURN_IF_ERROR(n.get_float("epsilon", 1e-3f, &eps));
    const std::vector<float> s = floats_of(*sc), o = floats_of(*of), m = floats_of(*mu), v = floats_of(*var);
    if (int64_t(s.size()) != outs || o.size() != s.size() || m.size() != s.size() || v.size() != s.size())
      return n.error("batch norm parameters must have one value per output channel");
    std::vector<float> w = oihw, bias(s.size());
    const size_t per = w.size() / s.size();
    for (size_t c = 0; c < s.size(); ++c) {
      const float a = s[c] / std::sqrt(v[c] + eps);
      for (size_t q = 0; q < per; ++q) w[c * per + q] *= a;
      bias[c] = o[c] - m[c] * a;
    }
    inputs[1] = t.const_f32(n.name + "#filter_bn", w, {outs, ins, kh, kw});
    inputs.push_back(t.const_f32(n.name + "#bias_bn", bias, {outs}));
    ++k;
  }
  if (ops.size() > k + 1) return n.error("fuses more ops than Kiln translates");
  const std::string conv_out = k < ops.size() ? t.fresh(n.name + "#conv") : t.fresh(n.name + "#nchw");
  t.emit("Conv", std::move(inputs), {conv_out}, std::move(attrs));
  std::string result = conv_out;
  if (k < ops.size()) {
    result = t.fresh(n.name + "#nchw");
    KILN_RETURN_IF_ERROR(emit_activation(t, n, ops[k], conv_out, result, true, alpha));
  }
  t.define(n, 0, result, true, 4);
  return Status();
}

Status op_conv2d(TfGraphTranslator& t, const TfNode& n) { return conv(t, n, false, false); }
Status op_fused_conv2d(TfGraphTranslator& t, const TfNode& n) { return conv(t, n, false, true); }
Status op_depthwise(TfGraphTranslator& t, const TfNode& n) { return conv(t, n, true, false); }
Status op_fused_depthwise(TfGraphTranslator& t, const TfNode& n) { return conv(t, n, true, true); }

Status pool(TfGraphTranslator& t, const TfNode& n, const char* onnx_op) {
  KILN_RETURN_IF_ERROR(check_nhwc(n));
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  std::vector<int64_t> k, s;
  KILN_RETURN_IF_ERROR(spatial(n, "ksize", &k));
  KILN_RETURN_IF_ERROR(spatial(n, "strides", &s));
  std::vector<OnnxAttribute> attrs = onnx_attrs(onnx_ints_attr("kernel_shape", k), onnx_ints_attr("strides", s));
  KILN_RETURN_IF_ERROR(padding_attrs(n, &attrs));
  const std::string out = t.fresh(n.name + "#nchw");
  t.emit(onnx_op, {t.nchw(x)}, {out}, std::move(attrs));  // AveragePool's default count_include_pad 0 is TF's
  t.define(n, 0, out, true, 4);
  return Status();
}
Status op_max_pool(TfGraphTranslator& t, const TfNode& n) { return pool(t, n, "MaxPool"); }
Status op_avg_pool(TfGraphTranslator& t, const TfNode& n) { return pool(t, n, "AveragePool"); }

Status op_fused_batch_norm(TfGraphTranslator& t, const TfNode& n) {
  KILN_RETURN_IF_ERROR(check_nhwc(n));
  bool training;
  KILN_RETURN_IF_ERROR(n.get_bool("is_training", false, &training));
  if (training) return n.error("is_training batch norm is not supported (export the model for inference)");
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  std::vector<std::string> params;
  for (size_t i = 1; i <= 4; ++i) {
    std::string p;
    KILN_RETURN_IF_ERROR(t.input(n, i, &p));
    params.push_back(t.nhwc(p));
  }
  float eps;
  KILN_RETURN_IF_ERROR(n.get_float("epsilon", 1e-3f, &eps));
  const std::string out = t.fresh(n.name + "#nchw");
  t.emit("BatchNormalization", {t.nchw(x), params[0], params[1], params[2], params[3]}, {out}, onnx_attrs(onnx_float_attr("epsilon", eps)));
  t.define(n, 0, out, true, 4);
  return Status();
}

// ResizeBilinear / ResizeNearestNeighbor: ONNX Resize with the new [N, C] + size.
Status resize(TfGraphTranslator& t, const TfNode& n, bool bilinear) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  std::vector<int64_t> size;
  KILN_RETURN_IF_ERROR(t.const_ints(n, 1, &size));
  if (size.size() != 2) return n.error("size must hold [height, width]");
  bool align, half;
  KILN_RETURN_IF_ERROR(n.get_bool("align_corners", false, &align));
  KILN_RETURN_IF_ERROR(n.get_bool("half_pixel_centers", false, &half));
  if (align && half) return n.error("align_corners and half_pixel_centers cannot both be set");
  const std::string in = t.nchw(x);
  const std::string shape = t.fresh(n.name + "#shape"), nc = t.fresh(n.name + "#nc"), sizes = t.fresh(n.name + "#sizes");
  t.emit("Shape", {in}, {shape});
  t.emit("Slice", {shape, t.const_i64(n.name + "#s0", {0}), t.const_i64(n.name + "#s1", {2})}, {nc});
  t.emit("Concat", {nc, t.const_i64(n.name + "#hw", size)}, {sizes}, onnx_attrs(onnx_int_attr("axis", 0)));
  std::string ctm = align ? "align_corners" : half ? (bilinear ? "half_pixel" : "tf_half_pixel_for_nn") : "asymmetric";
  std::vector<OnnxAttribute> attrs = onnx_attrs(onnx_string_attr("mode", bilinear ? "linear" : "nearest"),
                                      onnx_string_attr("coordinate_transformation_mode", ctm));
  if (!bilinear) attrs.push_back(onnx_string_attr("nearest_mode", align ? "round_prefer_ceil" : "floor"));
  const std::string out = t.fresh(n.name + "#nchw");
  t.emit("Resize", {in, "", "", sizes}, {out}, std::move(attrs));
  t.define(n, 0, out, true, 4);
  return Status();
}
Status op_resize_bilinear(TfGraphTranslator& t, const TfNode& n) { return resize(t, n, true); }
Status op_resize_nearest(TfGraphTranslator& t, const TfNode& n) { return resize(t, n, false); }

// MatMul / _FusedMatMul (2-D) as Gemm, BatchMatMul as MatMul.
Status matmul(TfGraphTranslator& t, const TfNode& n, bool fused, bool batch) {
  std::string a, b;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &a));
  KILN_RETURN_IF_ERROR(t.input(n, 1, &b));
  bool ta, tb;
  KILN_RETURN_IF_ERROR(n.get_bool(batch ? "adj_x" : "transpose_a", false, &ta));
  KILN_RETURN_IF_ERROR(n.get_bool(batch ? "adj_y" : "transpose_b", false, &tb));
  std::string ia = t.nhwc(a), ib = t.nhwc(b);
  if (batch) {
    auto swap_last = [&](const std::string& v, const std::string& name) {
      const int r = t.rank(v);
      if (r < 2) return std::string();
      std::vector<int64_t> perm;
      for (int i = 0; i < r; ++i) perm.push_back(i);
      std::swap(perm[size_t(r - 1)], perm[size_t(r - 2)]);
      const std::string out = t.fresh(name);
      t.emit("Transpose", {t.nhwc(v)}, {out}, onnx_attrs(onnx_ints_attr("perm", perm)));
      return out;
    };
    if (ta && (ia = swap_last(a, n.name + "#a")).empty()) return n.error("adj_x needs an input of known rank");
    if (tb && (ib = swap_last(b, n.name + "#b")).empty()) return n.error("adj_y needs an input of known rank");
    const std::string out = t.fresh(n.name);
    t.emit("MatMul", {ia, ib}, {out});
    t.define(n, 0, out, false, std::max(t.rank(a), t.rank(b)));
    return Status();
  }
  std::vector<std::string> ops;
  if (fused) KILN_RETURN_IF_ERROR(n.get_strings("fused_ops", &ops));
  std::vector<std::string> inputs = {ia, ib};
  size_t k = 0;
  const OnnxTensor* alpha = nullptr;
  if (k < ops.size() && ops[k] == "BiasAdd") {
    std::string bias;
    KILN_RETURN_IF_ERROR(t.input(n, 2, &bias));
    inputs.push_back(t.nhwc(bias));
    ++k;
    if (k < ops.size() && ops[k] == "Prelu") KILN_RETURN_IF_ERROR(float_const(t, n, 3, &alpha));
  }
  if (ops.size() > k + 1) return n.error("fuses more ops than Kiln translates");
  const std::string gemm_out = t.fresh(k < ops.size() ? n.name + "#gemm" : n.name);
  t.emit("Gemm", std::move(inputs), {gemm_out}, onnx_attrs(onnx_int_attr("transA", ta), onnx_int_attr("transB", tb)));
  std::string result = gemm_out;
  if (k < ops.size()) {
    result = t.fresh(n.name);
    KILN_RETURN_IF_ERROR(emit_activation(t, n, ops[k], gemm_out, result, false, alpha));
  }
  t.define(n, 0, result, false, 2);
  return Status();
}
Status op_matmul(TfGraphTranslator& t, const TfNode& n) { return matmul(t, n, false, false); }
Status op_fused_matmul(TfGraphTranslator& t, const TfNode& n) { return matmul(t, n, true, false); }
Status op_batch_matmul(TfGraphTranslator& t, const TfNode& n) { return matmul(t, n, false, true); }

}  // namespace

void add_tf_nn_ops(std::map<std::string, TfOpTranslator>* table) {
  table->insert({
      {"Conv2D", op_conv2d},
      {"_FusedConv2D", op_fused_conv2d},
      {"DepthwiseConv2dNative", op_depthwise},
      {"FusedDepthwiseConv2dNative", op_fused_depthwise},
      {"MaxPool", op_max_pool},
      {"AvgPool", op_avg_pool},
      {"FusedBatchNorm", op_fused_batch_norm},
      {"FusedBatchNormV2", op_fused_batch_norm},
      {"FusedBatchNormV3", op_fused_batch_norm},
      {"ResizeBilinear", op_resize_bilinear},
      {"ResizeNearestNeighbor", op_resize_nearest},
      {"MatMul", op_matmul},
      {"_FusedMatMul", op_fused_matmul},
      {"BatchMatMul", op_batch_matmul},
      {"BatchMatMulV2", op_batch_matmul},
  });
}

}  // namespace kiln
