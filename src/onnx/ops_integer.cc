// ONNX's integer operators on 8-bit tensors: MatMulInteger, QLinearMatMul,
// ConvInteger and QLinearConv. The products run on src/cpu/gemm_int8.h
// (int16 multiply-adds, exact int32 sums); convolutions gather their windows
// (im2col) into int16 rows first. QLinear* requantize each int32 sum in
// double: round-half-even(sum * a_scale * b_scale / y_scale) + y_zero_point,
// saturated to the output's 8-bit type.
//
// The graph optimizer (qdq_fusion.cc) rewrites DequantizeLinear -> Conv /
// MatMul / Gemm [-> Relu] -> QuantizeLinear into these ops in Kiln's internal
// domain, where QLinearConv and QLinearMatMul also take a float32 bias (added
// after scaling, as the float op did), a fused Relu / Relu6 ("activation")
// and, for Gemm, a transposed B ("trans_b").
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/broadcast.h"
#include "cpu/gemm_int8.h"
#include "onnx/conv_geometry.h"
#include "onnx/kernel_util.h"

namespace kiln {

namespace {

const OnnxValue* optional_input(const OnnxInputs& in, size_t i) { return onnx_has_input(in, i) ? in[i] : nullptr; }

bool is_8bit(const OnnxValue& v) { return v.type() == OnnxDataType::kUint8 || v.type() == OnnxDataType::kInt8; }

Int8Matrix matrix_of(const OnnxValue& v, int64_t offset, int64_t ld) {
  Int8Matrix m;
  m.is_signed = v.type() == OnnxDataType::kInt8;
  m.data = static_cast<const uint8_t*>(v.raw()) + offset;
  m.ld = ld;
  return m;
}

// Zero points as int32: one for all (scalar), or `per` of them (per row / column / channel).
Status read_zero_points(const OnnxOpContext& ctx, const OnnxValue* zp, const OnnxValue& of, int64_t per, const char* what,
                        std::vector<int32_t>* out, bool* per_index) {
  *per_index = false;
  out->assign(1, 0);
  if (!zp) return Status();
  if (zp->type() != of.type())
    return ctx.error(std::string(what) + " zero point must be " + onnx_type_name(of.type()) + ", got " + onnx_type_name(zp->type()));
  std::vector<int64_t> v;
  KILN_RETURN_IF_ERROR(zp->to_int64s(&v));
  if (v.size() != 1 && int64_t(v.size()) != per)
    return ctx.error(std::string(what) + " zero point has " + std::to_string(v.size()) + " elements; expected 1 or " +
                     std::to_string(per));
  out->assign(v.begin(), v.end());
  *per_index = v.size() != 1;
  return Status();
}

Status read_scales(const OnnxOpContext& ctx, const OnnxValue& s, int64_t per, const char* what, std::vector<double>* out) {
  if (s.type() != OnnxDataType::kFloat) return ctx.error(std::string(what) + " scale must be float32, got " + onnx_type_name(s.type()));
  *out = s.to_doubles();
  if (out->size() != 1 && int64_t(out->size()) != per)
    return ctx.error(std::string(what) + " scale has " + std::to_string(out->size()) + " elements; expected 1 or " +
                     std::to_string(per));
  return Status();
}

// ---- matmul ----------------------------------------------------------------------------

struct MatmulShape {
  int64_t m = 0, k = 0, n = 0, batches = 0;
};

// y (int32) = (a - a_zero) x (b - b_zero): a [..., m, k], b [..., k, n], batch
// dims broadcast; a's zero point scalar or per row, b's scalar or per column.
Status int8_matmul(const OnnxOpContext& ctx, const OnnxValue& a, const OnnxValue* a_zero, const OnnxValue& b,
                   const OnnxValue* b_zero, bool trans_b, OnnxValue* y, MatmulShape* dims) {
  if (!is_8bit(a) || !is_8bit(b))
    return ctx.error("A and B must be uint8 or int8, got " + onnx_type_name(a.type()) + " and " + onnx_type_name(b.type()));
  if (a.rank() < 1 || b.rank() < 1) return ctx.error("operands must have rank >= 1");
  if (trans_b && b.rank() != 2) return ctx.error("a transposed B must be 2-D");
  OnnxShape sa = a.shape(), sb = trans_b ? OnnxShape{b.shape()[1], b.shape()[0]} : b.shape();
  if (sa.size() == 1) sa.insert(sa.begin(), 1);
  if (sb.size() == 1) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  if (sb[sb.size() - 2] != k)
    return ctx.error("shapes " + onnx_shape_string(a.shape()) + " and " + onnx_shape_string(b.shape()) + " do not multiply");
  OnnxShape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2), batch;
  const Status bs = broadcast_shape(ba, bb, &batch);
  if (!bs.ok()) return ctx.error(bs.message());
  std::vector<int32_t> az, bz;
  bool a_per_row = false, b_per_col = false;
  KILN_RETURN_IF_ERROR(read_zero_points(ctx, a_zero, a, m, "A's", &az, &a_per_row));
  KILN_RETURN_IF_ERROR(read_zero_points(ctx, b_zero, b, n, "B's", &bz, &b_per_col));
  OnnxShape ys = batch;
  if (a.rank() > 1) ys.push_back(m);
  if (b.rank() > 1) ys.push_back(n);
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(OnnxDataType::kInt32, ys, y));
  std::vector<int64_t> oa, ob;
  BroadcastIndex(ba, batch).offsets(&oa);
  BroadcastIndex(bb, batch).offsets(&ob);
  Int8PackedB packed;
  std::vector<int16_t> a16;
  int64_t packed_batch = -1;
  for (size_t bi = 0; bi < oa.size(); ++bi) {
    if (ob[bi] != packed_batch) {  // broadcast B (a weight) is packed once
      pack_int8_b(matrix_of(b, ob[bi] * k * n, trans_b ? k : n), trans_b, k, n, bz.data(), b_per_col, &packed);
      packed_batch = ob[bi];
    }
    a16.resize(size_t(m * 2 * packed.k_pairs));
    widen_int8_rows(matrix_of(a, oa[bi] * m * k, k), m, k, az.data(), a_per_row, packed.k_pairs, a16.data());
    gemm_int8(a16.data(), m, packed, y->data<int32_t>() + int64_t(bi) * m * n, n);
  }
  *dims = {m, k, n, int64_t(oa.size())};
  return Status();
}

// out = saturate(round-half-even(multiplier(i, acc[i]) / y_scale) + y_zero): the QLinear ops' output.
// The fused activation of an internal node: Relu and Relu6 clamp the real value before it is quantized.
Status fused_clamp(const OnnxOpContext& ctx, double* lo, double* hi) {
  *lo = -std::numeric_limits<double>::infinity(), *hi = std::numeric_limits<double>::infinity();
  if (ctx.node().domain != kKilnInternalDomain) return Status();
  Activation act;
  KILN_RETURN_IF_ERROR(onnx_internal_activation(ctx, &act));
  if (act == Activation::kRelu || act == Activation::kRelu6) *lo = 0;
  if (act == Activation::kRelu6) *hi = 6;
  if (act != Activation::kLinear && act != Activation::kRelu && act != Activation::kRelu6)
    return ctx.error("only Relu and Relu6 fuse into a quantized op");
  return Status();
}

template <typename Multiplier>
Status requantize(const OnnxOpContext& ctx, const OnnxValue& acc, const OnnxValue& y_scale, const OnnxValue* y_zero,
                  Multiplier multiplier, OnnxValue* out) {
  double act_lo = 0, act_hi = 0;
  KILN_RETURN_IF_ERROR(fused_clamp(ctx, &act_lo, &act_hi));
  const OnnxDataType t = y_zero ? y_zero->type() : OnnxDataType::kUint8;
  if (t != OnnxDataType::kUint8 && t != OnnxDataType::kInt8) return ctx.error("y_zero_point must be uint8 or int8, got " + onnx_type_name(t));
  if (y_scale.type() != OnnxDataType::kFloat || y_scale.numel() != 1) return ctx.error("y_scale must be one float32");
  if (y_zero && y_zero->numel() != 1) return ctx.error("y_zero_point must have one element");
  const double ys = y_scale.data<float>()[0];
  if (!(ys > 0) && !(ys < 0)) return ctx.error("y_scale must be non-zero");
  const double z = y_zero ? y_zero->to_doubles()[0] : 0.0;
  const double lo = t == OnnxDataType::kUint8 ? 0 : -128, hi = t == OnnxDataType::kUint8 ? 255 : 127;
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(t, acc.shape(), out));
  const int32_t* a = acc.data<int32_t>();
  for (int64_t i = 0; i < acc.numel(); ++i) {
    const double real = std::max(act_lo, std::min(act_hi, multiplier(i, a[i])));
    const double q = std::max(lo, std::min(hi, std::nearbyint(real / ys) + z));
    if (t == OnnxDataType::kUint8) out->data<uint8_t>()[i] = uint8_t(q);
    else out->data<int8_t>()[i] = int8_t(q);
  }
  return Status();
}

// The float32 bias (one per output channel / column) of an internal node's input i, if any.
Status float_bias(const OnnxOpContext& ctx, const OnnxInputs& in, size_t i, int64_t count, std::vector<double>* out) {
  out->clear();
  const OnnxValue* b = optional_input(in, i);
  if (!b) return Status();
  if (ctx.node().domain != kKilnInternalDomain) return ctx.error("takes " + std::to_string(i) + " inputs at most");
  if (b->type() != OnnxDataType::kFloat || b->numel() != count)
    return ctx.error("the fused bias must be float32 with " + std::to_string(count) + " elements");
  *out = b->to_doubles();
  return Status();
}

Status op_matmul_integer(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  MatmulShape d;
  return int8_matmul(ctx, *in[0], optional_input(in, 2), *in[1], optional_input(in, 3), false, &(*out)[0], &d);
}

Status op_qlinear_matmul(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  for (size_t i : {0, 1, 3, 4, 6}) KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  const bool internal = ctx.node().domain == kKilnInternalDomain;
  OnnxValue acc;
  MatmulShape d;
  KILN_RETURN_IF_ERROR(int8_matmul(ctx, *in[0], optional_input(in, 2), *in[3], optional_input(in, 5),
                                   internal && ctx.get_int("trans_b", 0) != 0, &acc, &d));
  std::vector<double> as, bs;
  KILN_RETURN_IF_ERROR(read_scales(ctx, *in[1], d.m, "A's", &as));
  KILN_RETURN_IF_ERROR(read_scales(ctx, *in[4], d.n, "B's", &bs));
  std::vector<double> bias;
  KILN_RETURN_IF_ERROR(float_bias(ctx, in, 8, d.n, &bias));
  return requantize(ctx, acc, *in[6], optional_input(in, 7), [&](int64_t i, int32_t v) {
    const double sa = as.size() == 1 ? as[0] : as[size_t((i / d.n) % d.m)];
    const double sb = bs.size() == 1 ? bs[0] : bs[size_t(i % d.n)];
    return double(v) * sa * sb + (bias.empty() ? 0.0 : bias[size_t(i % d.n)]);
  }, &(*out)[0]);
}

// ---- convolution -----------------------------------------------------------------------

// y (int32, NCHW) = conv(x - x_zero, w - w_zero): x / w uint8 or int8, x's
// zero point scalar, w's scalar or per output channel; any spatial rank.
Status int8_conv(const OnnxOpContext& ctx, const OnnxValue& x, const OnnxValue* x_zero, const OnnxValue& w,
                 const OnnxValue* w_zero, OnnxValue* y) {
  if (!is_8bit(x) || !is_8bit(w))
    return ctx.error("x and w must be uint8 or int8, got " + onnx_type_name(x.type()) + " and " + onnx_type_name(w.type()));
  if (w.rank() != x.rank() || x.rank() < 3) return ctx.error("x and w must have the same rank (>= 3)");
  const OnnxShape kernel(w.shape().begin() + 2, w.shape().end());
  if (ctx.get_ints("kernel_shape", kernel) != kernel) return ctx.error("kernel_shape does not match w");
  const int64_t group = ctx.get_int("group", 1);
  const int64_t n = x.shape()[0], c = x.shape()[1], m = w.shape()[0], cg = w.shape()[1];
  if (group < 1 || c % group || m % group || cg * group != c) return ctx.error("channels do not match group");
  std::vector<int32_t> xz, wz;
  bool x_per = false, w_per = false;
  KILN_RETURN_IF_ERROR(read_zero_points(ctx, x_zero, x, 1, "x's", &xz, &x_per));
  KILN_RETURN_IF_ERROR(read_zero_points(ctx, w_zero, w, m, "w's", &wz, &w_per));
  ConvGeometry g;
  KILN_RETURN_IF_ERROR(init_nchw_geometry(ctx, x.shape(), kernel, &g));
  KILN_RETURN_IF_ERROR(resolve_conv_pads(ctx, &g, false));
  OnnxShape ys = {n, m};
  ys.insert(ys.end(), g.out.begin(), g.out.end());
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(OnnxDataType::kInt32, ys, y));
  const int64_t kc = onnx_product(g.k), oc = onnx_product(g.out), ic = onnx_product(g.in), mg = m / group, kdim = cg * kc;
  const std::vector<int64_t> tab = window_table(g);
  // x minus its zero point once, so padding (outside every window) is a plain 0.
  std::vector<int16_t> x16(size_t(x.numel()));
  const Int8Matrix xm = matrix_of(x, 0, x.numel());
  for (int64_t i = 0; i < x.numel(); ++i) x16[size_t(i)] = int16_t(xm.at(i) - xz[0]);
  Int8PackedB packed;
  std::vector<int16_t> cols;
  std::vector<int32_t> prod(size_t(oc * mg));
  int32_t* py = y->data<int32_t>();
  for (int64_t gi = 0; gi < group; ++gi) {
    // B = this group's filters transposed: [cg * kc, mg], zero points per output channel.
    pack_int8_b(matrix_of(w, gi * mg * kdim, kdim), true, kdim, mg, wz.data() + (w_per ? gi * mg : 0), w_per, &packed);
    const int64_t row = 2 * packed.k_pairs;
    cols.assign(size_t(oc * row), 0);
    for (int64_t ni = 0; ni < n; ++ni) {
      // im2col: one int16 row per output position, (channel, kernel offset) along it.
      for (int64_t ci = 0; ci < cg; ++ci) {
        const int16_t* xc = x16.data() + (ni * c + gi * cg + ci) * ic;
        for (int64_t o = 0; o < oc; ++o) {
          const int64_t* t = tab.data() + o * kc;
          int16_t* dst = cols.data() + o * row + ci * kc;
          for (int64_t kk = 0; kk < kc; ++kk) dst[kk] = t[kk] >= 0 ? xc[t[kk]] : 0;
        }
      }
      gemm_int8(cols.data(), oc, packed, prod.data(), mg);
      for (int64_t j = 0; j < mg; ++j) {
        int32_t* dst = py + (ni * m + gi * mg + j) * oc;
        for (int64_t o = 0; o < oc; ++o) dst[o] = prod[size_t(o * mg + j)];
      }
    }
  }
  return Status();
}

Status op_conv_integer(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  return int8_conv(ctx, *in[0], optional_input(in, 2), *in[1], optional_input(in, 3), &(*out)[0]);
}

// QLinearConv: y = quantize((conv_int + bias[m]) * x_scale * w_scale[m]).
Status op_qlinear_conv(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  for (size_t i : {0, 1, 3, 4, 6}) KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  OnnxValue acc;
  KILN_RETURN_IF_ERROR(int8_conv(ctx, *in[0], optional_input(in, 2), *in[3], optional_input(in, 5), &acc));
  const int64_t m = acc.shape()[1], per_channel = onnx_product(OnnxShape(acc.shape().begin() + 2, acc.shape().end()));
  std::vector<double> xs, ws, bias, float_b;
  KILN_RETURN_IF_ERROR(read_scales(ctx, *in[1], 1, "x's", &xs));
  KILN_RETURN_IF_ERROR(read_scales(ctx, *in[4], m, "w's", &ws));
  const OnnxValue* b = optional_input(in, 8);
  if (b && b->type() == OnnxDataType::kFloat) {
    KILN_RETURN_IF_ERROR(float_bias(ctx, in, 8, m, &float_b));
  } else if (b) {
    if (b->type() != OnnxDataType::kInt32 || b->numel() != m) return ctx.error("B must be int32 with one value per output channel");
    bias = b->to_doubles();
  }
  return requantize(ctx, acc, *in[6], optional_input(in, 7), [&](int64_t i, int32_t v) {
    const size_t ch = size_t((i / per_channel) % m);
    return (double(v) + (bias.empty() ? 0.0 : bias[ch])) * xs[0] * (ws.size() == 1 ? ws[0] : ws[ch]) +
           (float_b.empty() ? 0.0 : float_b[ch]);
  }, &(*out)[0]);
}

const OnnxOpEntry kOps[] = {
    {"MatMulInteger", op_matmul_integer},
    {"QLinearMatMul", op_qlinear_matmul},
    {"ConvInteger", op_conv_integer},
    {"QLinearConv", op_qlinear_conv},
};

}  // namespace

OnnxOpTable onnx_integer_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
