// Convolution and pooling ONNX operators (NCHW, any number of spatial axes):
// Conv, ConvTranspose, MaxPool (with Indices),
// MaxUnpool, AveragePool, LpPool and the global pools. 1-D / 2-D float32 Conv
// and ConvTranspose run on src/cpu/conv2d.h (conv2d_forward /
// conv2d_backward_data); the rest are reference loops in the tensor's type,
// accumulating in double.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/conv2d.h"
#include "onnx/conv_geometry.h"
#include "onnx/dispatch.h"
#include "onnx/op.h"

namespace kiln {

namespace {



// ---- Conv ----------------------------------------------------------------------------

// 1-D / 2-D float32 Conv on src/cpu/conv2d.h: NCHW -> NHWC, W [M, C/g, kh, kw]
// -> [kh, kw, C/g, M], and back. The kernel takes pad_top / pad_left and the
// output size; the end padding is implied (positions past the input read 0).
// The three channels-last copies, allocated so that no heap to hold them is an error.
Status conv_copies(const OnnxOpContext& ctx, int64_t xn, int64_t wn, int64_t yn, FloatArray* xt, FloatArray* wt, FloatArray* yt) {
  *xt = try_float_array(xn), *wt = try_float_array(wn), *yt = try_float_array(yn);
  if (!*xt || !*wt || !*yt)
    return ctx.error("out of memory for the channels-last copies (" + std::to_string(xn + wn + yn) + " floats)");
  return Status();
}

Status conv2d_fast(const OnnxOpContext& ctx, const ConvGeometry& g, int64_t n, int64_t c, int64_t m, int64_t cg, int64_t group,
                   const float* x, const float* w, const float* b, float* y) {
  const Conv2DParams p = conv2d_params_of(g, n, c, m, group);
  const int64_t hw = p.in_h * p.in_w, ohw = p.out_h * p.out_w, khw = p.kernel_h * p.kernel_w;
  FloatArray xt, wt, yt;
  KILN_RETURN_IF_ERROR(conv_copies(ctx, n * hw * c, khw * cg * m, n * ohw * m, &xt, &wt, &yt));
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t ci = 0; ci < c; ++ci)
      for (int64_t i = 0; i < hw; ++i) xt[size_t((ni * hw + i) * c + ci)] = x[(ni * c + ci) * hw + i];
  for (int64_t mi = 0; mi < m; ++mi)
    for (int64_t ci = 0; ci < cg; ++ci)
      for (int64_t k = 0; k < khw; ++k) wt[size_t((k * cg + ci) * m + mi)] = w[(mi * cg + ci) * khw + k];
  conv2d_forward(p, xt.get(), wt.get(), b, Activation::kLinear, yt.get());
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t mi = 0; mi < m; ++mi)
      for (int64_t i = 0; i < ohw; ++i) y[(ni * m + mi) * ohw + i] = yt[size_t((ni * ohw + i) * m + mi)];
  return Status();
}

Status op_conv(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue &x = *in[0], &w = *in[1];
  const OnnxValue* b = in.size() > 2 && in[2] && in[2]->defined() ? in[2] : nullptr;
  if (w.type() != x.type() || (b && b->type() != x.type())) return ctx.error("X, W and B must share a type");
  if (w.rank() != x.rank() || x.rank() < 3) return ctx.error("X and W must have the same rank (>= 3)");
  const int64_t group = ctx.get_int("group", 1);
  const int64_t n = x.shape()[0], c = x.shape()[1], m = w.shape()[0], cg = w.shape()[1];
  if (group < 1 || c % group || m % group || cg * group != c) return ctx.error("channels do not match group " + std::to_string(group));
  if (b && b->numel() != m) return ctx.error("B must have " + std::to_string(m) + " elements");
  std::vector<int64_t> kernel = ctx.get_ints("kernel_shape", OnnxShape(w.shape().begin() + 2, w.shape().end()));
  if (kernel != OnnxShape(w.shape().begin() + 2, w.shape().end())) return ctx.error("kernel_shape does not match W");
  ConvGeometry g;
  KILN_RETURN_IF_ERROR(init_nchw_geometry(ctx, x.shape(), kernel, &g));
  KILN_RETURN_IF_ERROR(resolve_conv_pads(ctx, &g, false));
  OnnxShape os = {n, m};
  os.insert(os.end(), g.out.begin(), g.out.end());
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), os, &(*out)[0]));
  OnnxValue& y = (*out)[0];
  if (y.numel() == 0) return Status();
  if (x.type() == DataType::kFloat32 && g.nd <= 2) {
    KILN_RETURN_IF_ERROR(conv2d_fast(ctx, g, n, c, m, cg, group, x.data<float>(), w.data<float>(), b ? b->data<float>() : nullptr, y.data<float>()));
    return Status();
  }
  std::vector<int64_t> tab;
  KILN_RETURN_IF_ERROR(window_table(g, &tab));
  const int64_t oc = onnx_product(g.out), kc = onnx_product(g.k), ic = onnx_product(g.in), mg = m / group;
  const bool ok = onnx_dispatch_float(x.type(), [&](auto zero) {
    using T = decltype(zero);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    T* py = y.data<T>();
    for (int64_t ni = 0; ni < n; ++ni)
      for (int64_t mi = 0; mi < m; ++mi) {
        const int64_t gi = mi / mg;
        const T bias = b ? b->data<T>()[mi] : T(0);
        T* yo = py + (ni * m + mi) * oc;
        for (int64_t o = 0; o < oc; ++o) {
          double acc = 0;
          const int64_t* t = &tab[size_t(o * kc)];
          for (int64_t ci = 0; ci < cg; ++ci) {
            const T* xc = px + (ni * c + gi * cg + ci) * ic;
            const T* wk = pw + (mi * cg + ci) * kc;
            for (int64_t kk = 0; kk < kc; ++kk)
              if (t[kk] >= 0) acc += double(xc[t[kk]]) * double(wk[kk]);
          }
          yo[o] = T(acc) + bias;
        }
      }
  });
  if (!ok) return ctx.error("expects float tensors, got " + dtype_name(x.type()));
  return Status();
}

// ---- ConvTranspose ------------------------------------------------------------------

Status op_conv_transpose(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue &x = *in[0], &w = *in[1];
  const OnnxValue* b = in.size() > 2 && in[2] && in[2]->defined() ? in[2] : nullptr;
  ConvTransposeGeometry g;
  KILN_RETURN_IF_ERROR(init_conv_transpose_geometry(ctx, x, w, &g));
  if (b && b->type() != x.type()) return ctx.error("X, W and B must share a type");
  const int64_t nd = g.nd, n = g.n, c = g.c, m = g.m, mg = g.mg, cg = g.cg;
  const std::vector<int64_t> &xin = g.xin, &k = g.k, &s = g.s, &d = g.d, &pb = g.pb, &yout = g.yout;
  if (b && b->numel() != m) return ctx.error("B must have " + std::to_string(m) + " elements");
  OnnxShape os = {n, m};
  os.insert(os.end(), yout.begin(), yout.end());
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), os, &(*out)[0]));
  OnnxValue& y = (*out)[0];
  if (y.numel() == 0) return Status();
  if (x.type() == DataType::kFloat32 && nd <= 2) {
    // conv2d_backward_data of the forward conv mapping Y (in) to X (out).
    const Conv2DParams p = conv_transpose_params(g);
    const int64_t hw = p.out_h * p.out_w, yhw = p.in_h * p.in_w, khw = p.kernel_h * p.kernel_w;
    FloatArray xt, wt, yt;
    KILN_RETURN_IF_ERROR(conv_copies(ctx, n * hw * c, khw * mg * c, n * yhw * m, &xt, &wt, &yt));
    const float* px = x.data<float>();
    const float* pw = w.data<float>();
    for (int64_t ni = 0; ni < n; ++ni)
      for (int64_t ci = 0; ci < c; ++ci)
        for (int64_t i = 0; i < hw; ++i) xt[size_t((ni * hw + i) * c + ci)] = px[(ni * c + ci) * hw + i];
    for (int64_t ci = 0; ci < c; ++ci)
      for (int64_t mo = 0; mo < mg; ++mo)
        for (int64_t kk = 0; kk < khw; ++kk) wt[size_t((kk * mg + mo) * c + ci)] = pw[(ci * mg + mo) * khw + kk];
    conv2d_backward_data(p, xt.get(), wt.get(), yt.get());
    float* py = y.data<float>();
    for (int64_t ni = 0; ni < n; ++ni)
      for (int64_t mi = 0; mi < m; ++mi) {
        const float bias = b ? b->data<float>()[mi] : 0.0f;
        for (int64_t i = 0; i < yhw; ++i) py[(ni * m + mi) * yhw + i] = yt[size_t((ni * yhw + i) * m + mi)] + bias;
      }
    return Status();
  }
  const int64_t ic = onnx_product(xin), kc = onnx_product(k), oc = onnx_product(yout);
  std::vector<double> acc;
  KILN_RETURN_IF_ERROR(resize_or_error(&acc, oc, "working memory"));
  const bool ok = onnx_dispatch_float(x.type(), [&](auto zero) {
    using T = decltype(zero);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    T* py = y.data<T>();
    std::vector<int64_t> ii(nd), ki(nd);
    for (int64_t ni = 0; ni < n; ++ni)
      for (int64_t mi = 0; mi < m; ++mi) {
        const int64_t gi = mi / mg, mo = mi % mg;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t ci = 0; ci < cg; ++ci) {
          const int64_t cc = gi * cg + ci;
          const T* xc = px + (ni * c + cc) * ic;
          const T* wk = pw + (cc * mg + mo) * kc;
          std::fill(ii.begin(), ii.end(), 0);
          for (int64_t p = 0; p < ic; ++p) {
            const double xv = double(xc[p]);
            std::fill(ki.begin(), ki.end(), 0);
            for (int64_t kk = 0; kk < kc; ++kk) {
              int64_t off = 0;
              bool inside = true;
              for (int64_t a = 0; a < nd; ++a) {
                const int64_t q = ii[a] * s[a] + ki[a] * d[a] - pb[a];
                if (q < 0 || q >= yout[a]) { inside = false; break; }
                off = off * yout[a] + q;
              }
              if (inside) acc[size_t(off)] += xv * double(wk[kk]);
              for (int64_t a = nd - 1; a >= 0; --a) {
                if (++ki[a] < k[a]) break;
                ki[a] = 0;
              }
            }
            for (int64_t a = nd - 1; a >= 0; --a) {
              if (++ii[a] < xin[a]) break;
              ii[a] = 0;
            }
          }
        }
        const double bias = b ? double(b->data<T>()[mi]) : 0.0;
        T* yo = py + (ni * m + mi) * oc;
        for (int64_t o = 0; o < oc; ++o) yo[o] = T(acc[size_t(o)] + bias);
      }
  });
  if (!ok) return ctx.error("expects float tensors, got " + dtype_name(x.type()));
  return Status();
}

// ---- pooling -------------------------------------------------------------------------

enum class PoolKind { kMax, kAvg, kLp };

Status pool(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, PoolKind kind) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (!ctx.has("kernel_shape")) return ctx.error("kernel_shape is required");
  ConvGeometry g;
  KILN_RETURN_IF_ERROR(init_nchw_geometry(ctx, x.shape(), ctx.get_ints("kernel_shape"), &g));
  KILN_RETURN_IF_ERROR(resolve_conv_pads(ctx, &g, ctx.get_int("ceil_mode", 0) != 0));
  const bool include_pad = ctx.get_int("count_include_pad", 0) != 0;
  const int64_t storage_order = ctx.get_int("storage_order", 0);
  const double p = double(ctx.get_int("p", 2));
  const int64_t n = x.shape()[0], c = x.shape()[1];
  OnnxShape os = {n, c};
  os.insert(os.end(), g.out.begin(), g.out.end());
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), os, &(*out)[0]));
  const bool want_idx = kind == PoolKind::kMax && out->size() > 1;
  if (want_idx) KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kInt64, os, &(*out)[1]));
  std::vector<int64_t> tab;
  KILN_RETURN_IF_ERROR(window_table(g, &tab));
  const int64_t oc = onnx_product(g.out), kc = onnx_product(g.k), ic = onnx_product(g.in);
  std::vector<int64_t> padded_count;
  if (kind == PoolKind::kAvg && include_pad) KILN_RETURN_IF_ERROR(padded_window_counts(g, &padded_count));
  OnnxValue& y = (*out)[0];
  auto body = [&](auto zero) {
    using T = decltype(zero);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    int64_t* pi = want_idx ? (*out)[1].data<int64_t>() : nullptr;
    for (int64_t nc = 0; nc < n * c; ++nc) {
      const T* xc = px + nc * ic;
      T* yo = py + nc * oc;
      for (int64_t o = 0; o < oc; ++o) {
        const int64_t* t = &tab[size_t(o * kc)];
        if (kind == PoolKind::kMax) {
          T best = std::numeric_limits<T>::lowest();
          int64_t arg = -1;
          for (int64_t kk = 0; kk < kc; ++kk)
            if (t[kk] >= 0 && (arg < 0 || xc[t[kk]] > best)) best = xc[t[kk]], arg = t[kk];
          yo[o] = best;
          if (pi) {
            int64_t idx = arg;
            if (storage_order == 1 && g.nd == 2) idx = (arg % g.in[1]) * g.in[0] + arg / g.in[1];
            pi[nc * oc + o] = nc * ic + idx;
          }
        } else if (kind == PoolKind::kAvg) {
          double sum = 0;
          int64_t cnt = 0;
          for (int64_t kk = 0; kk < kc; ++kk)
            if (t[kk] >= 0) sum += double(xc[t[kk]]), ++cnt;
          if (include_pad) cnt = padded_count[size_t(o)];
          yo[o] = T(cnt ? sum / double(cnt) : 0.0);
        } else {
          double sum = 0;
          for (int64_t kk = 0; kk < kc; ++kk)
            if (t[kk] >= 0) sum += std::pow(std::fabs(double(xc[t[kk]])), p);
          yo[o] = T(std::pow(sum, 1.0 / p));
        }
      }
    }
  };
  bool ok = onnx_dispatch_float(x.type(), body);
  if (!ok && kind == PoolKind::kMax) ok = onnx_dispatch_numeric(x.type(), body);
  if (!ok) return ctx.error("unsupported type " + dtype_name(x.type()));
  return Status();
}

Status op_max_pool(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { return pool(ctx, in, out, PoolKind::kMax); }
Status op_average_pool(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { return pool(ctx, in, out, PoolKind::kAvg); }
Status op_lp_pool(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { return pool(ctx, in, out, PoolKind::kLp); }

Status global_pool(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, bool is_max) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (x.rank() < 3) return ctx.error("input must have rank >= 3");
  OnnxShape os(x.shape().size(), 1);
  os[0] = x.shape()[0], os[1] = x.shape()[1];
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), os, &(*out)[0]));
  const int64_t nc = os[0] * os[1], ic = nc ? x.numel() / nc : 0;
  OnnxValue& y = (*out)[0];
  const bool ok = onnx_dispatch_float(x.type(), [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < nc; ++i) {
      const T* xc = x.data<T>() + i * ic;
      if (is_max) {
        T best = std::numeric_limits<T>::lowest();
        for (int64_t j = 0; j < ic; ++j) best = std::max(best, xc[j]);
        y.data<T>()[i] = best;
      } else {
        double sum = 0;
        for (int64_t j = 0; j < ic; ++j) sum += double(xc[j]);
        y.data<T>()[i] = T(ic ? sum / double(ic) : 0.0);
      }
    }
  });
  if (!ok) return ctx.error("expects a float tensor, got " + dtype_name(x.type()));
  return Status();
}

Status op_global_average_pool(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { return global_pool(ctx, in, out, false); }
Status op_global_max_pool(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { return global_pool(ctx, in, out, true); }

// ---- MaxUnpool ------------------------------------------------------------------------

Status op_max_unpool(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue &x = *in[0], &ind = *in[1];
  if (ind.shape() != x.shape()) return ctx.error("I must have the shape of X");
  const int64_t nd = x.rank() - 2;
  if (nd < 1) return ctx.error("X must have rank >= 3");
  const std::vector<int64_t> k = ctx.get_ints("kernel_shape");
  const std::vector<int64_t> s = ctx.get_ints("strides", std::vector<int64_t>(nd, 1));
  const std::vector<int64_t> pads = ctx.get_ints("pads", std::vector<int64_t>(2 * nd, 0));
  if (int64_t(k.size()) != nd || int64_t(s.size()) != nd || int64_t(pads.size()) != 2 * nd) return ctx.error("attribute lengths do not match the spatial rank");
  // Indices address the inferred unpooled shape; an explicit output_shape
  // places that shape's elements at the same coordinates of a larger output.
  OnnxShape inferred = x.shape();
  for (int64_t i = 0; i < nd; ++i) inferred[size_t(2 + i)] = (x.shape()[size_t(2 + i)] - 1) * s[size_t(i)] + k[size_t(i)] - pads[size_t(i)] - pads[size_t(nd + i)];
  OnnxShape os = inferred;
  if (in.size() > 2 && in[2] && in[2]->defined()) {
    std::vector<int64_t> v;
    KILN_RETURN_IF_ERROR(in[2]->to_int64s(&v));
    if (v.size() != os.size()) return ctx.error("output_shape must have the rank of X");
    os = v;
  }
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), os, &(*out)[0]));
  std::vector<int64_t> idx;
  KILN_RETURN_IF_ERROR(ind.to_int64s(&idx));
  if (os != inferred) {
    for (int64_t& v : idx) {
      if (v < 0) continue;
      std::vector<int64_t> co(os.size());
      int64_t r = v;
      for (int64_t a = int64_t(os.size()) - 1; a >= 0; --a) co[size_t(a)] = r % inferred[size_t(a)], r /= inferred[size_t(a)];
      co[0] += r * inferred[0];
      int64_t o = 0;
      for (size_t a = 0; a < os.size(); ++a) {
        if (co[a] >= os[a]) { o = -1; break; }
        o = o * os[a] + co[a];
      }
      v = o;
    }
  }
  const int64_t total = (*out)[0].numel();
  OnnxValue& y = (*out)[0];
  Status st;
  const bool ok = onnx_dispatch_numeric(x.type(), [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (idx[size_t(i)] < 0 || idx[size_t(i)] >= total) {
        st = ctx.error("index out of range");
        return;
      }
      y.data<T>()[idx[size_t(i)]] = x.data<T>()[i];
    }
  });
  if (!ok) return ctx.error("unsupported type " + dtype_name(x.type()));
  return st;
}

const OnnxOpEntry kOps[] = {
    {"Conv", op_conv},
    {"MaxUnpool", op_max_unpool},
    {"ConvTranspose", op_conv_transpose},
    {"MaxPool", op_max_pool},
    {"AveragePool", op_average_pool},
    {"LpPool", op_lp_pool},
    {"GlobalAveragePool", op_global_average_pool},
    {"GlobalMaxPool", op_global_max_pool},
};

}  // namespace

OnnxOpTable onnx_conv_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
