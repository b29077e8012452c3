#include "onnx/conv_geometry.h"

#include <algorithm>

namespace kiln {

Status init_conv_geometry(const OnnxOpContext& ctx, const std::vector<int64_t>& spatial_in,
                          const std::vector<int64_t>& kernel, ConvGeometry* g) {
  g->nd = int64_t(spatial_in.size());
  if (g->nd < 1) return ctx.error("input must have rank >= 3");
  g->in = spatial_in;
  g->k = kernel;
  if (int64_t(g->k.size()) != g->nd) return ctx.error("kernel_shape must have one entry per spatial axis");
  g->s = ctx.get_ints("strides", std::vector<int64_t>(g->nd, 1));
  g->d = ctx.get_ints("dilations", std::vector<int64_t>(g->nd, 1));
  if (int64_t(g->s.size()) != g->nd || int64_t(g->d.size()) != g->nd) return ctx.error("strides/dilations must have one entry per spatial axis");
  for (int64_t i = 0; i < g->nd; ++i)
    if (g->s[i] < 1 || g->d[i] < 1 || g->k[i] < 1) return ctx.error("kernel, strides and dilations must be positive");
  return Status();
}

Status resolve_conv_pads(const OnnxOpContext& ctx, ConvGeometry* g, bool ceil_mode) {
  const std::string auto_pad = ctx.get_string("auto_pad", "NOTSET");
  const int64_t nd = g->nd;
  g->pb.assign(nd, 0), g->pe.assign(nd, 0), g->out.assign(nd, 0);
  if (auto_pad == "NOTSET" || auto_pad.empty()) {
    std::vector<int64_t> pads = ctx.get_ints("pads", std::vector<int64_t>(2 * nd, 0));
    if (int64_t(pads.size()) != 2 * nd) return ctx.error("pads must have 2 * spatial rank entries");
    for (int64_t i = 0; i < nd; ++i) g->pb[i] = pads[i], g->pe[i] = pads[nd + i];
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (int64_t i = 0; i < nd; ++i) {
      const int64_t out = (g->in[i] + g->s[i] - 1) / g->s[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * g->s[i] + g->d[i] * (g->k[i] - 1) + 1 - g->in[i]);
      if (auto_pad == "SAME_UPPER") g->pb[i] = total / 2;
      else g->pb[i] = total - total / 2;
      g->pe[i] = total - g->pb[i];
    }
  } else if (auto_pad != "VALID") {
    return ctx.error("unknown auto_pad '" + auto_pad + "'");
  }
  for (int64_t i = 0; i < nd; ++i) {
    const int64_t span = g->in[i] + g->pb[i] + g->pe[i] - g->d[i] * (g->k[i] - 1) - 1;
    if (span < 0) return ctx.error("kernel larger than padded input");
    int64_t o = ceil_mode ? (span + g->s[i] - 1) / g->s[i] + 1 : span / g->s[i] + 1;
    // A window must start inside the input or the begin padding (ceil_mode).
    if (ceil_mode && (o - 1) * g->s[i] >= g->in[i] + g->pb[i]) --o;
    g->out[i] = o;
  }
  return Status();
}

Conv2DParams conv2d_params_of(const ConvGeometry& g, int64_t batch, int64_t in_c, int64_t out_c, int64_t groups) {
  const bool one_d = g.nd == 1;
  Conv2DParams p;
  p.batch = batch, p.in_c = in_c, p.out_c = out_c, p.groups = groups;
  p.in_h = one_d ? 1 : g.in[0], p.in_w = one_d ? g.in[0] : g.in[1];
  p.out_h = one_d ? 1 : g.out[0], p.out_w = one_d ? g.out[0] : g.out[1];
  p.kernel_h = one_d ? 1 : g.k[0], p.kernel_w = one_d ? g.k[0] : g.k[1];
  p.stride_h = one_d ? 1 : g.s[0], p.stride_w = one_d ? g.s[0] : g.s[1];
  p.dilation_h = one_d ? 1 : g.d[0], p.dilation_w = one_d ? g.d[0] : g.d[1];
  p.pad_top = one_d ? 0 : g.pb[0], p.pad_left = one_d ? g.pb[0] : g.pb[1];
  return p;
}

int64_t onnx_product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

// Geometry of an NCHW (N, C, spatial...) input.
Status init_nchw_geometry(const OnnxOpContext& ctx, const OnnxShape& x, const std::vector<int64_t>& kernel, ConvGeometry* g) {
  if (x.size() < 3) return ctx.error("input must have rank >= 3");
  return init_conv_geometry(ctx, OnnxShape(x.begin() + 2, x.end()), kernel, g);
}

// Per (output position, kernel position) the flat input offset or -1 (padding).
// Table of size out_count * k_count.
Status window_table(const ConvGeometry& g, std::vector<int64_t>* table) {
  const int64_t oc = onnx_product(g.out), kc = onnx_product(g.k);
  KILN_RETURN_IF_ERROR(resize_or_error(table, oc * kc, "a table of window offsets"));
  std::vector<int64_t>& t = *table;
  std::vector<int64_t> oi(g.nd, 0);
  for (int64_t o = 0; o < oc; ++o) {
    std::vector<int64_t> ki(g.nd, 0);
    for (int64_t kk = 0; kk < kc; ++kk) {
      int64_t off = 0;
      bool inside = true;
      for (int64_t a = 0; a < g.nd; ++a) {
        const int64_t p = oi[a] * g.s[a] - g.pb[a] + ki[a] * g.d[a];
        if (p < 0 || p >= g.in[a]) inside = false;
        off = off * g.in[a] + p;
      }
      t[size_t(o * kc + kk)] = inside ? off : -1;
      for (int64_t a = g.nd - 1; a >= 0; --a) {
        if (++ki[a] < g.k[a]) break;
        ki[a] = 0;
      }
    }
    for (int64_t a = g.nd - 1; a >= 0; --a) {
      if (++oi[a] < g.out[a]) break;
      oi[a] = 0;
    }
  }
  return Status();
}

Status padded_window_counts(const ConvGeometry& g, std::vector<int64_t>* counts) {
  const int64_t oc = onnx_product(g.out);
  KILN_RETURN_IF_ERROR(resize_or_error(counts, oc, "working memory", int64_t(1)));
  std::vector<int64_t> oi(g.nd, 0);
  for (int64_t o = 0; o < oc; ++o) {
    int64_t cnt = 1;
    for (int64_t a = 0; a < g.nd; ++a) {
      int64_t ca = 0;
      for (int64_t kk = 0; kk < g.k[a]; ++kk) {
        const int64_t q = oi[a] * g.s[a] - g.pb[a] + kk * g.d[a];
        if (q >= -g.pb[a] && q < g.in[a] + g.pe[a]) ++ca;
      }
      cnt *= ca;
    }
    (*counts)[size_t(o)] = cnt;
    for (int64_t a = g.nd - 1; a >= 0; --a) {
      if (++oi[a] < g.out[a]) break;
      oi[a] = 0;
    }
  }
  return Status();
}

namespace {
int64_t floordiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
}  // namespace

Status init_conv_transpose_geometry(const OnnxOpContext& ctx, const OnnxValue& x, const OnnxValue& w, ConvTransposeGeometry* g) {
  if (w.type() != x.type()) return ctx.error("X, W and B must share a type");
  if (w.rank() != x.rank() || x.rank() < 3) return ctx.error("W must have the rank of X (>= 3)");
  const int64_t group = g->group = ctx.get_int("group", 1);
  g->n = x.shape()[0], g->c = x.shape()[1], g->mg = w.shape()[1];
  if (group < 1 || g->c % group || w.shape()[0] != g->c) return ctx.error("channels do not match group");
  g->m = g->mg * group, g->cg = g->c / group;
  const int64_t nd = g->nd = x.rank() - 2;
  std::vector<int64_t>& k = g->k = ctx.get_ints("kernel_shape", OnnxShape(w.shape().begin() + 2, w.shape().end()));
  if (k != OnnxShape(w.shape().begin() + 2, w.shape().end())) return ctx.error("kernel_shape does not match W");
  std::vector<int64_t>& s = g->s = ctx.get_ints("strides", std::vector<int64_t>(nd, 1));
  std::vector<int64_t>& d = g->d = ctx.get_ints("dilations", std::vector<int64_t>(nd, 1));
  std::vector<int64_t> op = ctx.get_ints("output_padding", std::vector<int64_t>(nd, 0));
  std::vector<int64_t> pads = ctx.get_ints("pads", std::vector<int64_t>(2 * nd, 0));
  std::vector<int64_t> oshape = ctx.get_ints("output_shape");
  const std::string auto_pad = ctx.get_string("auto_pad", "NOTSET");
  if (int64_t(k.size()) != nd || int64_t(s.size()) != nd || int64_t(d.size()) != nd || int64_t(op.size()) != nd || int64_t(pads.size()) != 2 * nd)
    return ctx.error("attribute lengths do not match the spatial rank");
  // Bounded so the output-size arithmetic below cannot overflow.
  constexpr int64_t kMaxAttr = int64_t(1) << 20, kMaxPad = int64_t(1) << 31;
  for (int64_t i = 0; i < nd; ++i)
    if (s[size_t(i)] < 1 || d[size_t(i)] < 1 || op[size_t(i)] < 0 || s[size_t(i)] > kMaxAttr || d[size_t(i)] > kMaxAttr ||
        op[size_t(i)] > kMaxAttr)
      return ctx.error("strides and dilations must be in [1, 2^20] and output_padding in [0, 2^20]");
  for (int64_t p : pads)
    if (p < 0 || p > kMaxPad) return ctx.error("pads must be in [0, 2^31], got " + std::to_string(p));
  if (!oshape.empty() && int64_t(oshape.size()) > nd) oshape.erase(oshape.begin(), oshape.end() - nd);
  if (!oshape.empty() && int64_t(oshape.size()) != nd)
    return ctx.error("output_shape has " + std::to_string(oshape.size()) + " entries for " + std::to_string(nd) + " spatial axes");
  for (int64_t o : oshape)
    if (o < 0 || o > kMaxPad) return ctx.error("output_shape entries must be in [0, 2^31], got " + std::to_string(o));
  g->xin.assign(x.shape().begin() + 2, x.shape().end());
  g->pb.assign(size_t(nd), 0);
  g->yout.assign(size_t(nd), 0);
  for (int64_t i = 0; i < nd; ++i) {
    const int64_t full = s[i] * (g->xin[i] - 1) + op[i] + (k[i] - 1) * d[i] + 1;
    if (!oshape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t target = !oshape.empty() ? oshape[i] : g->xin[i] * s[i];
      const int64_t total = full - target;
      if (auto_pad == "SAME_UPPER") g->pb[i] = floordiv(total, 2);
      else g->pb[i] = total - floordiv(total, 2);
      g->yout[i] = target;
    } else {
      if (auto_pad == "VALID") pads.assign(2 * nd, 0);
      g->pb[i] = pads[i];
      g->yout[i] = full - pads[i] - pads[nd + i];
    }
    if (g->yout[i] < 0) return ctx.error("negative output size");
  }
  return Status();
}

Conv2DParams conv_transpose_params(const ConvTransposeGeometry& g) {
  const bool one_d = g.nd == 1;
  Conv2DParams p;
  p.batch = g.n, p.in_c = g.m, p.out_c = g.c, p.groups = g.group;
  p.in_h = one_d ? 1 : g.yout[0], p.in_w = one_d ? g.yout[0] : g.yout[1];
  p.out_h = one_d ? 1 : g.xin[0], p.out_w = one_d ? g.xin[0] : g.xin[1];
  p.kernel_h = one_d ? 1 : g.k[0], p.kernel_w = one_d ? g.k[0] : g.k[1];
  p.stride_h = one_d ? 1 : g.s[0], p.stride_w = one_d ? g.s[0] : g.s[1];
  p.dilation_h = one_d ? 1 : g.d[0], p.dilation_w = one_d ? g.d[0] : g.d[1];
  p.pad_top = one_d ? 0 : g.pb[0], p.pad_left = one_d ? g.pb[0] : g.pb[1];
  return p;
}

}  // namespace kiln
