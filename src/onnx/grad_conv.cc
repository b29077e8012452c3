// Gradients of convolution and pooling (NCHW, as src/onnx/ops_conv.cc runs
// them). Conv's data and filter gradients are the src/cpu kernels' backward
// passes (the ones Layers models train with), on channels-last copies; the
// pools walk the same window table as their forward kernels, so a window
// the forward skipped (padding) takes no gradient.
#include "cpu/conv2d.h"
#include "cpu/pool2d.h"
#include "onnx/conv2d_nhwc.h"
#include "onnx/conv_geometry.h"
#include "onnx/gradient.h"
#include "onnx/pool2d_nhwc.h"

namespace kiln {

namespace {

// An uninitialized float32 value of `shape`, or undefined (and g failed).
OnnxValue make(GradientOps& g, const OnnxShape& shape) {
  OnnxValue v;
  if (!g.status().ok()) return v;
  const Status s = OnnxValue::make_uninitialized(DataType::kFloat32, shape, &v);
  if (!s.ok()) g.fail(s.message());
  return v;
}

// Both convolution gradients on channels-last copies: x and dy as
// [N, H, W, C] and W as the forward filter [KH, KW, C/g, M] (1-D: H = 1,
// the same memory); `kernels` fills dx and dw in that layout, and the
// results go back to NCHW, with the bias gradient (dy summed over all but
// the channel axis) when there is a bias.
template <typename Kernels>
void channels_last_gradients(const GradCtx& c, GradientOps& g, Grads* out, Kernels kernels) {
  const bool two_d = c.x().rank() == 4;
  const std::vector<int64_t> to_nhwc = two_d ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 2, 1};
  const std::vector<int64_t> from_nhwc = two_d ? std::vector<int64_t>{0, 3, 1, 2} : std::vector<int64_t>{0, 2, 1};
  const std::vector<int64_t> w_to_hwio = two_d ? std::vector<int64_t>{2, 3, 1, 0} : std::vector<int64_t>{2, 1, 0};
  const std::vector<int64_t> w_from_hwio = two_d ? std::vector<int64_t>{3, 2, 0, 1} : std::vector<int64_t>{2, 1, 0};
  const OnnxValue xt = g.transpose(c.x(), to_nhwc), dyt = g.transpose(c.dy(), to_nhwc), wt = g.transpose(c.inputs[1], w_to_hwio);
  OnnxValue dxt = make(g, xt.shape()), dwt = make(g, wt.shape());
  if (!g.status().ok()) return;
  kernels(xt.data<float>(), dyt.data<float>(), wt.data<float>(), dxt.data<float>(), dwt.data<float>());
  (*out)[0] = g.transpose(dxt, from_nhwc);
  (*out)[1] = g.transpose(dwt, w_from_hwio);
  if (c.inputs.size() > 2 && c.inputs[2].defined()) {
    const OnnxValue axes = g.ints(two_d ? std::vector<int64_t>{0, 2, 3} : std::vector<int64_t>{0, 2});
    (*out)[2] = g.op("ReduceSum", {&c.dy(), &axes}, {attr_int("keepdims", 0)});
  }
}

bool float_1d_or_2d(const OnnxValue& x) { return x.type() == DataType::kFloat32 && (x.rank() == 3 || x.rank() == 4); }

// Any number of spatial axes (3-D and up): plain loops over the forward's
// window table (input offset, or -1 for padding, per output and kernel position).
void grad_conv_nd(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue &xv = c.x(), &w = c.inputs[1];
  ConvGeometry geo;
  Status s = init_nchw_geometry(c.node, xv.shape(), OnnxShape(w.shape().begin() + 2, w.shape().end()), &geo);
  if (s.ok()) s = resolve_conv_pads(c.node, &geo, false);
  std::vector<int64_t> tab;
  if (s.ok()) s = window_table(geo, &tab);
  if (!s.ok()) return g.fail(s.message());
  const int64_t n = xv.shape()[0], ch = xv.shape()[1], m = w.shape()[0], cg = w.shape()[1];
  const int64_t groups = c.node.get_int("group", 1);
  if (groups < 1 || cg * groups != ch || m % groups != 0) return g.fail("channels do not match the group count");
  const int64_t mg = m / groups, oc = onnx_product(geo.out), kc = onnx_product(geo.k), ic = onnx_product(geo.in);
  OnnxValue dx = make(g, xv.shape()), dw = make(g, w.shape());
  if (!g.status().ok()) return;
  const float *px = xv.data<float>(), *pw = w.data<float>(), *pdy = c.dy().data<float>();
  float *pdx = dx.data<float>(), *pdw = dw.data<float>();
  std::fill(pdx, pdx + dx.numel(), 0.0f);
  std::vector<double> dw_acc(size_t(w.numel()), 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t mo = 0; mo < m; ++mo) {
      const int64_t first = mo / mg * cg;  // the group's first input channel
      const float* dyp = pdy + (b * m + mo) * oc;
      for (int64_t ci = 0; ci < cg; ++ci) {
        const float* xp = px + (b * ch + first + ci) * ic;
        float* dxp = pdx + (b * ch + first + ci) * ic;
        const float* wp = pw + (mo * cg + ci) * kc;
        double* dwp = dw_acc.data() + (mo * cg + ci) * kc;
        for (int64_t o = 0; o < oc; ++o) {
          const float d = dyp[o];
          const int64_t* t = &tab[size_t(o * kc)];
          for (int64_t kk = 0; kk < kc; ++kk) {
            if (t[kk] < 0) continue;
            dxp[t[kk]] += d * wp[kk];
            dwp[kk] += double(d) * double(xp[t[kk]]);
          }
        }
      }
    }
  for (size_t i = 0; i < dw_acc.size(); ++i) pdw[i] = float(dw_acc[i]);
  (*out)[0] = dx;
  (*out)[1] = dw;
  if (c.inputs.size() > 2 && c.inputs[2].defined()) {
    std::vector<int64_t> axes{0};
    for (int64_t a = 2; a < xv.rank(); ++a) axes.push_back(a);
    const OnnxValue ax = g.ints(axes);
    (*out)[2] = g.op("ReduceSum", {&c.dy(), &ax}, {attr_int("keepdims", 0)});
  }
}

void grad_conv(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue &xv = c.x(), &w = c.inputs[1];
  if (xv.type() == DataType::kFloat32 && xv.rank() > 4) return grad_conv_nd(c, g, out);
  if (!float_1d_or_2d(xv)) return g.fail("only float32 convolutions are differentiable yet");
  ConvGeometry geo;
  Status s = init_nchw_geometry(c.node, xv.shape(), OnnxShape(w.shape().begin() + 2, w.shape().end()), &geo);
  if (s.ok()) s = resolve_conv_pads(c.node, &geo, false);
  if (!s.ok()) return g.fail(s.message());
  const Conv2DParams p = conv2d_params_of(geo, xv.shape()[0], xv.shape()[1], w.shape()[0], c.node.get_int("group", 1));
  channels_last_gradients(c, g, out, [&](const float* x, const float* dy, const float* wf, float* dx, float* dw) {
    conv2d_backward_data(p, dy, wf, dx);
    conv2d_backward_filter(p, x, dy, dw);
  });
}

// Conv2DNhwc: already in the kernels' layout, so their backward passes directly.
void grad_conv2d_nhwc(const GradCtx& c, GradientOps& g, Grads* out) {
  Conv2DParams p;
  const Status s = conv2d_nhwc_params(c.node, c.x().shape(), c.inputs[1].shape(), &p);
  if (!s.ok()) return g.fail(s.message());
  OnnxValue dx = make(g, c.x().shape()), dw = make(g, c.inputs[1].shape());
  if (!g.status().ok()) return;
  if (dx.numel()) conv2d_backward_data(p, c.dy().data<float>(), c.inputs[1].data<float>(), dx.data<float>());
  if (dw.numel()) conv2d_backward_filter(p, c.x().data<float>(), c.dy().data<float>(), dw.data<float>());
  (*out)[0] = dx;
  (*out)[1] = dw;
}

// ConvTranspose is the data gradient of a convolution Y -> X (W [C, M/g, k...]
// is that convolution's filter), so its own gradients are that convolution
// (for X) and its filter gradient with input and output gradient swapped (for W).
void grad_conv_transpose(const GradCtx& c, GradientOps& g, Grads* out) {
  if (!float_1d_or_2d(c.x())) return g.fail("only 1-D and 2-D float32 transposed convolutions are differentiable yet");
  ConvTransposeGeometry geo;
  const Status s = init_conv_transpose_geometry(c.node, c.x(), c.inputs[1], &geo);
  if (!s.ok()) return g.fail(s.message());
  const Conv2DParams p = conv_transpose_params(geo);
  channels_last_gradients(c, g, out, [&](const float* x, const float* dy, const float* wf, float* dx, float* dw) {
    conv2d_forward(p, dy, wf, nullptr, Activation::kLinear, dx);
    conv2d_backward_filter(p, dy, x, dw);
  });
}

// MaxPool (dy to the first largest element of each window, as the forward
// picks it) and AveragePool (dy spread over the window, divided as the forward divides).
void grad_pool(const GradCtx& c, GradientOps& g, Grads* out, bool max) {
  const OnnxValue& xv = c.x();
  if (xv.type() != DataType::kFloat32) return g.fail("only float32 pooling is differentiable yet");
  ConvGeometry geo;
  Status s = init_nchw_geometry(c.node, xv.shape(), c.node.get_ints("kernel_shape"), &geo);
  if (s.ok()) s = resolve_conv_pads(c.node, &geo, c.node.get_int("ceil_mode", 0) != 0);
  std::vector<int64_t> tab, padded;
  if (s.ok()) s = window_table(geo, &tab);
  const bool include_pad = !max && c.node.get_int("count_include_pad", 0) != 0;
  if (s.ok() && include_pad) s = padded_window_counts(geo, &padded);
  if (!s.ok()) return g.fail(s.message());
  OnnxValue dx = make(g, xv.shape());
  if (!g.status().ok()) return;
  const int64_t oc = onnx_product(geo.out), kc = onnx_product(geo.k), ic = onnx_product(geo.in);
  const int64_t planes = xv.shape()[0] * xv.shape()[1];
  const float* px = xv.data<float>();
  const float* pdy = c.dy().data<float>();
  float* pdx = dx.data<float>();
  std::fill(pdx, pdx + dx.numel(), 0.0f);
  for (int64_t nc = 0; nc < planes; ++nc) {
    const float* xc = px + nc * ic;
    float* dxc = pdx + nc * ic;
    for (int64_t o = 0; o < oc; ++o) {
      const int64_t* t = &tab[size_t(o * kc)];
      const float d = pdy[nc * oc + o];
      if (max) {
        int64_t arg = -1;
        for (int64_t kk = 0; kk < kc; ++kk)
          if (t[kk] >= 0 && (arg < 0 || xc[t[kk]] > xc[arg])) arg = t[kk];
        if (arg >= 0) dxc[arg] += d;
      } else {
        int64_t cnt = 0;
        for (int64_t kk = 0; kk < kc; ++kk) cnt += t[kk] >= 0;
        if (include_pad) cnt = padded[size_t(o)];
        if (cnt == 0) continue;
        for (int64_t kk = 0; kk < kc; ++kk)
          if (t[kk] >= 0) dxc[t[kk]] += d / float(cnt);
      }
    }
  }
  (*out)[0] = dx;
}
void grad_max_pool(const GradCtx& c, GradientOps& g, Grads* out) { grad_pool(c, g, out, true); }

// Pool2DNhwc: the pool2d kernels' backward pass, in their layout.
void grad_pool2d_nhwc(const GradCtx& c, GradientOps& g, Grads* out) {
  Pool2DParams p;
  PoolKind kind;
  bool include_pad;
  const Status s = pool2d_nhwc_params(c.node, c.x().shape(), &p, &kind, &include_pad);
  if (!s.ok()) return g.fail(s.message());
  if (include_pad) return g.fail("an average pool that counts padded cells is not differentiable yet");
  OnnxValue dx = make(g, c.x().shape());
  if (!g.status().ok()) return;
  if (dx.numel()) pool2d_backward(kind, p, c.x().data<float>(), nullptr, c.dy().data<float>(), dx.data<float>());
  (*out)[0] = dx;
}
void grad_average_pool(const GradCtx& c, GradientOps& g, Grads* out) { grad_pool(c, g, out, false); }

// The global pools: dy stretched over the spatial axes (averaged, or to the maxima).
void grad_global_average_pool(const GradCtx& c, GradientOps& g, Grads* out) {
  const int64_t spatial = c.x().numel() / std::max<int64_t>(c.x().shape()[0] * c.x().shape()[1], 1);
  (*out)[0] = g.div(g.expand_to(c.dy(), c.x().shape()), g.scalar(double(spatial), c.dy()));
}
void grad_global_max_pool(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue y = g.expand_to(c.outputs[0], c.x().shape());
  const OnnxValue hit = g.op("Equal", {&c.x(), &y});
  (*out)[0] = g.mul(g.expand_to(c.dy(), c.x().shape()), g.op("Cast", {&hit}, {attr_int("to", int64_t(c.x().type()))}));
}

const OnnxGradientEntry kGradients[] = {
    {"Conv", grad_conv}, {"Conv2DNhwc", grad_conv2d_nhwc},
    {"ConvTranspose", grad_conv_transpose},
    {"MaxPool", grad_max_pool}, {"Pool2DNhwc", grad_pool2d_nhwc},
    {"AveragePool", grad_average_pool},
    {"GlobalAveragePool", grad_global_average_pool},
    {"GlobalMaxPool", grad_global_max_pool},
};

}  // namespace

OnnxGradientTable onnx_conv_gradients() { return {kGradients, sizeof(kGradients) / sizeof(kGradients[0])}; }

}  // namespace kiln
