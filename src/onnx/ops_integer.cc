// ONNX's integer operators on 8-bit tensors: MatMulInteger, QLinearMatMul,
// ConvInteger and QLinearConv. The products run on src/cpu/gemm_int8.h
// (int16 multiply-adds, exact int32 sums); convolutions gather their windows
// (im2col) into int16 rows first. QLinear* requantize each int32 sum with one
// float multiplier per output channel / column, as onnxruntime does:
// round-half-even(sum * a_scale * b_scale / y_scale) + y_zero_point,
// saturated to the output's 8-bit type.
//
// The graph optimizer (qdq_fusion.cc) rewrites DequantizeLinear -> Conv /
// MatMul / Gemm [-> Relu] -> QuantizeLinear into QLinearConv / QLinearMatMul
// of Kiln's internal domain, and gives every integer op with a constant B its
// B packed at load (int8_weights.h). Internal nodes also take a float32 bias
// (added after scaling, as the float op did), a fused Relu / Relu6
// ("activation"), a transposed B ("trans_b"), and a packed B ("packed" = 1,
// with "k" and "n", or "w_shape" for filters; the B zero point input empty).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>

#include "core/broadcast.h"
#include "core/thread_pool.h"
#include "onnx/conv_geometry.h"
#include "onnx/int8_weights.h"
#include "onnx/kernel_util.h"

namespace kiln {

namespace {

const OnnxValue* optional_input(const OnnxInputs& in, size_t i) { return onnx_has_input(in, i) ? in[i] : nullptr; }

bool internal(const OnnxOpContext& ctx) { return ctx.node().domain == kKilnInternalDomain; }
bool packed_at_load(const OnnxOpContext& ctx) { return internal(ctx) && ctx.get_int("packed", 0) != 0; }

Status read_scales(const OnnxOpContext& ctx, const OnnxValue& s, int64_t per, const char* what, std::vector<float>* out) {
  if (s.type() != DataType::kFloat32) return ctx.error(std::string(what) + " scale must be float32, got " + dtype_name(s.type()));
  out->assign(s.data<float>(), s.data<float>() + s.numel());
  if (out->size() != 1 && int64_t(out->size()) != per)
    return ctx.error(std::string(what) + " scale has " + std::to_string(out->size()) + " elements; expected 1 or " +
                     std::to_string(per));
  return Status();
}

// A B packed at load: the int16 constant of an internal node.
Status packed_constant(const OnnxOpContext& ctx, const OnnxValue& v, int64_t size) {
  if (v.type() != DataType::kInt16 || v.numel() != size) return ctx.error("the packed weight does not match its shape");
  return Status();
}

// ---- requantization ----------------------------------------------------------------------

// y_scale / y_zero_point and the fused activation's clamp, as a map from a real value to the output.
struct OutputQuant {
  DataType type = DataType::kUint8;
  float inv_scale = 1, zero = 0, lo = 0, hi = 255;  // lo / hi: in quantized units, activation included
};

Status read_output_quant(const OnnxOpContext& ctx, const OnnxValue& y_scale, const OnnxValue* y_zero, OutputQuant* q) {
  q->type = y_zero ? y_zero->type() : DataType::kUint8;
  if (q->type != DataType::kUint8 && q->type != DataType::kInt8)
    return ctx.error("y_zero_point must be uint8 or int8, got " + dtype_name(q->type));
  if (y_scale.type() != DataType::kFloat32 || y_scale.numel() != 1) return ctx.error("y_scale must be one float32");
  if (y_zero && y_zero->numel() != 1) return ctx.error("y_zero_point must have one element");
  const float ys = y_scale.data<float>()[0];
  if (!(ys > 0) && !(ys < 0)) return ctx.error("y_scale must be non-zero");
  q->inv_scale = 1.0f / ys;
  q->zero = y_zero ? float(onnx_element_as_double(*y_zero, 0)) : 0.0f;
  q->lo = q->type == DataType::kUint8 ? 0.0f : -128.0f;
  q->hi = q->type == DataType::kUint8 ? 255.0f : 127.0f;
  if (!internal(ctx)) return Status();
  Activation act;
  KILN_RETURN_IF_ERROR(onnx_internal_activation(ctx, &act));
  if (act != Activation::kLinear && act != Activation::kRelu && act != Activation::kRelu6)
    return ctx.error("only Relu and Relu6 fuse into a quantized op");
  // Relu / Relu6 clamp the real value: at most the quantized images of 0 and 6.
  if (act != Activation::kLinear) q->lo = std::max(q->lo, std::nearbyint(0.0f * q->inv_scale) + q->zero);
  if (act == Activation::kRelu6) q->hi = std::min(q->hi, std::nearbyint(6.0f * q->inv_scale) + q->zero);
  return Status();
}

// out[r][c] = quantize(acc[r][c] * (row_mul[r] * col_mul[c]) + row_add[r] + col_add[c]) for real values already divided by y_scale.
template <typename Q>
void requantize_rows(const int32_t* acc, int64_t rows, int64_t cols, const float* row_mul, const float* col_mul,
                     const float* row_add, const float* col_add, const OutputQuant& q, Q* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * cols;
    Q* y = out + r * cols;
    const float rm = row_mul ? row_mul[r] : 1.0f, ra = row_add ? row_add[r] : 0.0f;
    // Clamped first (the bounds are whole numbers), then rounded half to even
    // by adding and subtracting 1.5 * 2^23: exact below 2^22, and a loop the
    // compilers vectorize, where nearbyint is a libm call on baseline x86-64.
    const float lo = q.lo - q.zero, hi = q.hi - q.zero, magic = 12582912.0f;
    for (int64_t c = 0; c < cols; ++c) {
      float v = float(a[c]) * (rm * (col_mul ? col_mul[c] : 1.0f)) + ra + (col_add ? col_add[c] : 0.0f);
      v = std::min(hi, std::max(lo, v));
      y[c] = Q((v + magic) - magic + q.zero);
    }
  }
}

Status write_quantized(const OnnxValue& acc, int64_t rows, int64_t cols, const float* row_mul, const float* col_mul,
                       const float* row_add, const float* col_add, const OutputQuant& q, OnnxValue* out) {
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(q.type, acc.shape(), out));
  if (q.type == DataType::kUint8)
    requantize_rows(acc.data<int32_t>(), rows, cols, row_mul, col_mul, row_add, col_add, q, out->data<uint8_t>());
  else
    requantize_rows(acc.data<int32_t>(), rows, cols, row_mul, col_mul, row_add, col_add, q, out->data<int8_t>());
  return Status();
}

// The float32 bias of an internal node's input i (one per output channel / column), if any.
Status float_bias(const OnnxOpContext& ctx, const OnnxInputs& in, size_t i, int64_t count, std::vector<float>* out) {
  out->clear();
  const OnnxValue* b = optional_input(in, i);
  if (!b) return Status();
  if (!internal(ctx)) return ctx.error("takes " + std::to_string(i) + " inputs at most");
  if (b->type() != DataType::kFloat32 || b->numel() != count)
    return ctx.error("the fused bias must be float32 with " + std::to_string(count) + " elements");
  out->assign(b->data<float>(), b->data<float>() + count);
  return Status();
}

// ---- matmul ------------------------------------------------------------------------------

struct MatmulShape {
  int64_t m = 0, k = 0, n = 0, batches = 0;
};

// y (int32) = (a - a_zero) x (b - b_zero): a [..., m, k], b [..., k, n] with
// batch dims broadcast (or packed at load: 2-D); a's zero point scalar or per row.
Status int8_matmul(const OnnxOpContext& ctx, const OnnxValue& a, const OnnxValue* a_zero, const OnnxValue& b,
                   const OnnxValue* b_zero, OnnxValue* y, MatmulShape* dims) {
  const bool packed = packed_at_load(ctx), trans_b = internal(ctx) && ctx.get_int("trans_b", 0) != 0;
  if (!is_8bit_tensor(a)) return ctx.error("A must be uint8 or int8, got " + dtype_name(a.type()));
  if (!packed && !is_8bit_tensor(b)) return ctx.error("B must be uint8 or int8, got " + dtype_name(b.type()));
  if (a.rank() < 1 || (!packed && b.rank() < 1)) return ctx.error("operands must have rank >= 1");
  if (trans_b && !packed && b.rank() != 2) return ctx.error("a transposed B must be 2-D");
  OnnxShape sb = packed ? OnnxShape{ctx.get_int("k", 0), ctx.get_int("n", 0)}
                        : trans_b ? OnnxShape{b.shape()[1], b.shape()[0]} : b.shape();
  OnnxShape sa = a.shape();
  const bool b_vector = !packed && b.rank() == 1;
  if (sa.size() == 1) sa.insert(sa.begin(), 1);
  if (sb.size() == 1) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  if (sb[sb.size() - 2] != k)
    return ctx.error("shapes " + onnx_shape_string(a.shape()) + " and " + onnx_shape_string(sb) + " do not multiply");
  OnnxShape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2), batch;
  const Status bs = broadcast_shape(ba, bb, &batch);
  if (!bs.ok()) return ctx.error(bs.message());
  std::vector<int32_t> az;
  bool a_per_row = false;
  KILN_RETURN_IF_ERROR(read_int8_zero_points(ctx, a_zero, a, m, "A's", &az, &a_per_row));
  OnnxShape ys = batch;
  if (a.rank() > 1) ys.push_back(m);
  if (!b_vector) ys.push_back(n);
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kInt32, ys, y));
  std::vector<int64_t> oa, ob;
  BroadcastIndex(ba, batch).offsets(&oa);
  BroadcastIndex(bb, batch).offsets(&ob);
  Int8PackedB pb;
  std::vector<int16_t> storage, a16;
  if (packed) {
    KILN_RETURN_IF_ERROR(packed_constant(ctx, b, int8_packed_size(k, n)));
    pb = int8_packed_view(b.data<int16_t>(), k, n);
  }
  int64_t packed_batch = -1;
  for (size_t bi = 0; bi < oa.size(); ++bi) {
    if (!packed && ob[bi] != packed_batch) {  // a broadcast B (a weight) is packed once
      if (b.rank() <= 2) {
        KILN_RETURN_IF_ERROR(pack_onnx_int8_matmul_b(ctx, b_vector ? b.reshaped({k, 1}) : b, b_zero, trans_b, &storage, &pb));
      } else {
        std::vector<int32_t> bz;
        bool per_col = false;
        KILN_RETURN_IF_ERROR(read_int8_zero_points(ctx, b_zero, b, n, "B's", &bz, &per_col));
        pack_int8_b(int8_matrix_of(b, ob[bi] * k * n, n), false, k, n, bz.data(), per_col, &storage, &pb);
      }
      packed_batch = ob[bi];
    }
    KILN_RETURN_IF_ERROR(resize_or_error(&a16, m * 2 * pb.k_pairs, "a widened copy of A"));
    widen_int8_rows(int8_matrix_of(a, oa[bi] * m * k, k), m, k, az.data(), a_per_row, pb.k_pairs, a16.data());
    gemm_int8(a16.data(), m, pb, y->data<int32_t>() + int64_t(bi) * m * n, n);
  }
  *dims = {m, k, n, int64_t(oa.size())};
  return Status();
}

Status op_matmul_integer(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  MatmulShape d;
  return int8_matmul(ctx, *in[0], optional_input(in, 2), *in[1], optional_input(in, 3), &(*out)[0], &d);
}

Status op_qlinear_matmul(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  for (size_t i : {0, 1, 3, 4, 6}) KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  OnnxValue acc;
  MatmulShape d;
  KILN_RETURN_IF_ERROR(int8_matmul(ctx, *in[0], optional_input(in, 2), *in[3], optional_input(in, 5), &acc, &d));
  std::vector<float> as, bs, bias;
  KILN_RETURN_IF_ERROR(read_scales(ctx, *in[1], d.m, "A's", &as));
  KILN_RETURN_IF_ERROR(read_scales(ctx, *in[4], d.n, "B's", &bs));
  KILN_RETURN_IF_ERROR(float_bias(ctx, in, 8, d.n, &bias));
  OutputQuant q;
  KILN_RETURN_IF_ERROR(read_output_quant(ctx, *in[6], optional_input(in, 7), &q));
  // Per row: A's scale over y_scale; per column: B's scale, and the bias over y_scale.
  std::vector<float> row_mul, col_mul, col_add;
  KILN_RETURN_IF_ERROR(resize_or_error(&row_mul, d.batches * d.m, "working memory"));
  KILN_RETURN_IF_ERROR(resize_or_error(&col_mul, d.n, "working memory"));
  for (int64_t r = 0; r < d.batches * d.m; ++r) row_mul[size_t(r)] = as[as.size() == 1 ? 0 : size_t(r % d.m)] * q.inv_scale;
  for (int64_t c = 0; c < d.n; ++c) col_mul[size_t(c)] = bs[bs.size() == 1 ? 0 : size_t(c)];
  for (float b : bias) col_add.push_back(b * q.inv_scale);
  return write_quantized(acc, d.batches * d.m, d.n, row_mul.data(), col_mul.data(), nullptr,
                         col_add.empty() ? nullptr : col_add.data(), q, &(*out)[0]);
}

// ---- convolution -------------------------------------------------------------------------

// The windows of one image as a packed B [c / group * kernel size, output
// positions] (cpu/gemm_int8.h's panels of 8 positions by pairs of K), panels
// [p0, p1) only: threads each gather and multiply their own. `offsets[k]` is
// where window element k lies relative to an output position's `base`:
// 2-D images are zero-padded beforehand, so no read needs a bounds check.
void gather_panels(const int16_t* image, const std::vector<std::ptrdiff_t>& offsets, const std::vector<std::ptrdiff_t>& base, int64_t p0,
                   int64_t p1, int16_t* out) {
  const int64_t kdim = int64_t(offsets.size()), k_pairs = (kdim + 1) / 2, positions = int64_t(base.size());
  const int64_t panel_size = k_pairs * 2 * kInt8PanelCols;
  for (int64_t p = p0; p < p1; ++p) {
    int16_t* panel = out + p * panel_size;
    const int cols = int(std::min<int64_t>(kInt8PanelCols, positions - p * kInt8PanelCols));
    const int16_t* src[kInt8PanelCols];
    for (int j = 0; j < kInt8PanelCols; ++j) src[j] = image + base[size_t(p * kInt8PanelCols + std::min(j, cols - 1))];
    for (int64_t q = 0; q < kdim / 2; ++q) {
      const std::ptrdiff_t o0 = offsets[size_t(2 * q)], o1 = offsets[size_t(2 * q + 1)];
      int16_t* dst = panel + q * 2 * kInt8PanelCols;
      for (int j = 0; j < kInt8PanelCols; ++j) dst[2 * j] = src[j][o0], dst[2 * j + 1] = src[j][o1];
    }
    if (kdim % 2) {  // the last K step pairs with a zero
      const std::ptrdiff_t o0 = offsets[size_t(kdim - 1)];
      int16_t* dst = panel + (kdim / 2) * 2 * kInt8PanelCols;
      for (int j = 0; j < kInt8PanelCols; ++j) dst[2 * j] = src[j][o0], dst[2 * j + 1] = 0;
    }
  }
}

// Other ranks: windows by the geometry's table (-1: padding).
void gather_panels_table(const int16_t* image, int64_t channels, const ConvGeometry& g, const std::vector<int64_t>& table,
                         int64_t p0, int64_t p1, int16_t* out) {
  const int64_t kc = onnx_product(g.k), oc = onnx_product(g.out), ic = onnx_product(g.in), kdim = channels * kc;
  const int64_t panel_size = (kdim + 1) / 2 * 2 * kInt8PanelCols;
  std::fill(out + p0 * panel_size, out + p1 * panel_size, int16_t(0));
  for (int64_t p = p0; p < p1; ++p)
    for (int j = 0; j < kInt8PanelCols && p * kInt8PanelCols + j < oc; ++j) {
      const int64_t* t = table.data() + (p * kInt8PanelCols + j) * kc;
      for (int64_t ci = 0; ci < channels; ++ci)
        for (int64_t kk = 0; kk < kc; ++kk) {
          const int64_t k = ci * kc + kk;
          if (t[kk] >= 0) out[p * panel_size + (k / 2) * 2 * kInt8PanelCols + 2 * j + (k & 1)] = image[ci * ic + t[kk]];
        }
    }
}

// y (int32, NCHW) = conv(x - x_zero, w - w_zero): x / w uint8 or int8, x's
// zero point scalar, w's scalar or per output channel; any spatial rank. The
// filters are the GEMM's A (rows widened at load on internal nodes), each
// image's windows its B, so the product is NCHW as it comes.
Status int8_conv(const OnnxOpContext& ctx, const OnnxValue& x, const OnnxValue* x_zero, const OnnxValue& w,
                 const OnnxValue* w_zero, OnnxValue* y) {
  const bool packed = packed_at_load(ctx);
  const OnnxShape w_shape = packed ? ctx.get_ints("w_shape") : w.shape();
  if (!is_8bit_tensor(x)) return ctx.error("x must be uint8 or int8, got " + dtype_name(x.type()));
  if (!packed && !is_8bit_tensor(w)) return ctx.error("w must be uint8 or int8, got " + dtype_name(w.type()));
  if (int64_t(w_shape.size()) != x.rank() || x.rank() < 3) return ctx.error("x and w must have the same rank (>= 3)");
  const OnnxShape kernel(w_shape.begin() + 2, w_shape.end());
  if (ctx.get_ints("kernel_shape", kernel) != kernel) return ctx.error("kernel_shape does not match w");
  const int64_t group = ctx.get_int("group", 1);
  const int64_t n = x.shape()[0], c = x.shape()[1], m = w_shape[0], cg = w_shape[1];
  if (group < 1 || c % group || m % group || cg * group != c) return ctx.error("channels do not match group");
  std::vector<int32_t> xz;
  bool x_per = false;
  KILN_RETURN_IF_ERROR(read_int8_zero_points(ctx, x_zero, x, 1, "x's", &xz, &x_per));
  ConvGeometry g;
  KILN_RETURN_IF_ERROR(init_nchw_geometry(ctx, x.shape(), kernel, &g));
  KILN_RETURN_IF_ERROR(resolve_conv_pads(ctx, &g, false));
  OnnxShape ys = {n, m};
  ys.insert(ys.end(), g.out.begin(), g.out.end());
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kInt32, ys, y));
  const int64_t oc = onnx_product(g.out), ic = onnx_product(g.in), mg = m / group, kdim = cg * onnx_product(g.k);
  const int64_t row = int8_conv_row_size(kdim);
  std::vector<int16_t> widened;
  const int16_t* w_rows = nullptr;
  if (packed) {
    KILN_RETURN_IF_ERROR(packed_constant(ctx, w, m * row));
    w_rows = w.data<int16_t>();
  } else {
    KILN_RETURN_IF_ERROR(widen_onnx_int8_conv_w(ctx, w, w_zero, &widened));
    w_rows = widened.data();
  }
  if (y->numel() == 0) return Status();
  // x minus its zero point, once: padding (outside every window) is then a
  // plain 0. 2-D images are stored padded, so the gather needs no checks.
  const bool two_d = g.nd == 2;
  const int64_t ph = two_d ? g.in[0] + g.pb[0] + g.pe[0] : 1, pw = two_d ? g.in[1] + g.pb[1] + g.pe[1] : ic;
  const int64_t plane = two_d ? ph * pw : ic;
  std::vector<int16_t> x16;
  KILN_RETURN_IF_ERROR(resize_or_error(&x16, n * c * plane, "a widened copy of the input"));
  auto widen = [&](auto zero_value) {
    using T = decltype(zero_value);
    const T* src = x.data<T>();
    const int16_t z = int16_t(xz[0]);
    for (int64_t nc = 0; nc < n * c; ++nc) {
      int16_t* dst = x16.data() + nc * plane;
      const T* row = src + nc * ic;
      const int64_t rows = two_d ? g.in[0] : 1, cols = two_d ? g.in[1] : ic;
      for (int64_t r = 0; r < rows; ++r) {
        int16_t* d = two_d ? dst + (r + g.pb[0]) * pw + g.pb[1] : dst;
        for (int64_t col = 0; col < cols; ++col) d[col] = int16_t(row[r * cols + col] - z);
      }
    }
  };
  if (x.type() == DataType::kInt8) widen(int8_t(0));
  else widen(uint8_t(0));
  std::vector<std::ptrdiff_t> offsets, base;  // pointer-sized: 32-bit index math in wasm
  std::vector<int64_t> table;
  if (two_d) {
    for (int64_t ci = 0; ci < cg; ++ci)
      for (int64_t i = 0; i < g.k[0]; ++i)
        for (int64_t j = 0; j < g.k[1]; ++j) offsets.push_back(ci * plane + i * g.d[0] * pw + j * g.d[1]);
    for (int64_t yo = 0; yo < g.out[0]; ++yo)
      for (int64_t xo = 0; xo < g.out[1]; ++xo) base.push_back(yo * g.s[0] * pw + xo * g.s[1]);
  } else {
    KILN_RETURN_IF_ERROR(window_table(g, &table));
  }
  std::vector<int16_t> windows;
  KILN_RETURN_IF_ERROR(resize_or_error(&windows, int8_packed_size(kdim, oc), "the packed windows"));
  int32_t* py = y->data<int32_t>();
  // Tasks own ranges of output positions: each gathers those windows and
  // multiplies them by every filter of the group (nested GEMMs run serially).
  const int64_t panels = (oc + kInt8PanelCols - 1) / kInt8PanelCols, panel_size = (kdim + 1) / 2 * 2 * kInt8PanelCols;
  ThreadPool& pool = ThreadPool::global();
  const int tasks = mg * kdim * oc < (int64_t(1) << 18) ? 1 : int(std::min<int64_t>(panels, 2 * pool.num_threads()));
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t gi = 0; gi < group; ++gi) {
      const int16_t* image = x16.data() + (ni * c + gi * cg) * plane;
      int32_t* out = py + (ni * m + gi * mg) * oc;
      auto run = [&](int t) {
        const int64_t p0 = panels * t / tasks, p1 = panels * (t + 1) / tasks;
        if (p0 == p1) return;
        if (two_d) gather_panels(image, offsets, base, p0, p1, windows.data());
        else gather_panels_table(image, cg, g, table, p0, p1, windows.data());
        const int64_t cols = std::min(oc, p1 * kInt8PanelCols) - p0 * kInt8PanelCols;
        gemm_int8(w_rows + gi * mg * row, mg, int8_packed_view(windows.data() + p0 * panel_size, kdim, cols),
                  out + p0 * kInt8PanelCols, oc);
      };
      if (tasks == 1) run(0);
      else pool.parallel_for(tasks, run);
    }
  return Status();
}

Status op_conv_integer(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  return int8_conv(ctx, *in[0], optional_input(in, 2), *in[1], optional_input(in, 3), &(*out)[0]);
}

// QLinearConv: y = quantize((conv_int + bias[m]) * x_scale * w_scale[m]) (+ a float bias on internal nodes).
Status op_qlinear_conv(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  for (size_t i : {0, 1, 3, 4, 6}) KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  OnnxValue acc;
  KILN_RETURN_IF_ERROR(int8_conv(ctx, *in[0], optional_input(in, 2), *in[3], optional_input(in, 5), &acc));
  const int64_t n = acc.shape()[0], m = acc.shape()[1], per_channel = acc.numel() / std::max<int64_t>(n * m, 1);
  std::vector<float> xs, ws, float_b;
  KILN_RETURN_IF_ERROR(read_scales(ctx, *in[1], 1, "x's", &xs));
  KILN_RETURN_IF_ERROR(read_scales(ctx, *in[4], m, "w's", &ws));
  std::vector<double> int_b;
  const OnnxValue* b = optional_input(in, 8);
  if (b && b->type() == DataType::kFloat32) {
    KILN_RETURN_IF_ERROR(float_bias(ctx, in, 8, m, &float_b));
  } else if (b) {
    if (b->type() != DataType::kInt32 || b->numel() != m) return ctx.error("B must be int32 with one value per output channel");
    KILN_RETURN_IF_ERROR(b->to_doubles(&int_b));
  }
  OutputQuant q;
  KILN_RETURN_IF_ERROR(read_output_quant(ctx, *in[6], optional_input(in, 7), &q));
  // One multiplier and offset per (image, channel) row of per_channel sums.
  std::vector<float> row_mul, row_add;
  KILN_RETURN_IF_ERROR(resize_or_error(&row_mul, n * m, "working memory"));
  KILN_RETURN_IF_ERROR(resize_or_error(&row_add, n * m, "working memory"));
  for (int64_t r = 0; r < n * m; ++r) {
    const size_t ch = size_t(r % m);
    const double scale = double(xs[0]) * ws[ws.size() == 1 ? 0 : ch];
    row_mul[size_t(r)] = float(scale * q.inv_scale);
    row_add[size_t(r)] = float(((int_b.empty() ? 0.0 : int_b[ch] * scale) + (float_b.empty() ? 0.0 : float_b[ch])) * q.inv_scale);
  }
  return write_quantized(acc, n * m, per_channel, row_mul.data(), nullptr, row_add.data(), nullptr, q, &(*out)[0]);
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
