// Kernels the graph optimizer (src/onnx/layout_nhwc.cc) substitutes for ONNX
// ones: they run in Kiln's native channels-last layout on the fast CPU
// kernels (src/cpu/conv2d*.cc, pool2d.cc), so a chain of convolutions never
// transposes between them. They live in the internal domain
// kKilnInternalDomain, which user models cannot name (the loader rejects
// every domain but the default one before the optimizer runs).
//   NhwcConv         X [N,H,W,C], W packed for gemm() (im2col B, or 16 Winograd planes
//                    with winograd = 1) or [kh,kw,C/group,M] (grouped), B [M];
//                    Conv's attributes + activation, filter sizes, packed_nr
//   NhwcPool         MaxPool / AveragePool on [N,H,W,C]; their attributes + kind (0 max, 1 average) (pool2d_nhwc.h)
//   NhwcGlobalPool   [N,H,W,C] -> [N,C,1,1] (the same bytes as [N,1,1,C]); kind
//   NhwcChannelAffine  y = act(x * scale[c] + shift[c]) over the last axis: inference BatchNormalization
//   AddActivation    y = act(a + b) (any layout; broadcasting as Add)
// (Named outside the ops_*.cc pattern so the wasm build keeps it at -O3.)
#include <algorithm>

#include "core/thread_pool.h"
#include "cpu/activation.h"
#include "cpu/gemm.h"
#include "cpu/pool2d.h"
#include "onnx/conv_geometry.h"
#include "onnx/kernel_util.h"
#include "onnx/op.h"
#include "onnx/pool2d_nhwc.h"

namespace kiln {

Status onnx_internal_activation(const OnnxOpContext& ctx, Activation* out) {
  const int64_t code = ctx.get_int("activation", 0);
  if (code < 0 || code >= kNumActivations || activation_is_rowwise(Activation(code)))
    return ctx.error("invalid fused activation " + std::to_string(code));
  *out = Activation(code);
  return Status();
}

namespace {

// Smallest share of an elementwise pass worth handing to another thread.
constexpr int64_t kMinTaskFloats = 16 * 1024;

Status require_nhwc_float(const OnnxOpContext& ctx, const OnnxValue& x) {
  if (x.type() != DataType::kFloat32 || x.rank() != 4)
    return ctx.error("expects a float32 [N, H, W, C] tensor, got " + dtype_name(x.type()) + " " +
                     onnx_shape_string(x.shape()));
  return Status();
}

// Floats of B [k, n] packed by gemm_pack_b for micro-kernel width nr.
int64_t packed_floats(int64_t k, int64_t n, int64_t nr) { return k * ((n + nr - 1) / nr) * nr; }

Status op_nhwc_conv(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue &x = *in[0], &w = *in[1];
  KILN_RETURN_IF_ERROR(require_nhwc_float(ctx, x));
  const OnnxValue* b = onnx_has_input(in, 2) ? in[2] : nullptr;
  const OnnxShape& xs = x.shape();
  const std::vector<int64_t> kernel = ctx.get_ints("kernel_shape");
  const int64_t group = ctx.get_int("group", 1), cg = ctx.get_int("filter_in_channels", 0),
                m = ctx.get_int("filter_out_channels", 0), nr = ctx.get_int("packed_nr", 0);
  const bool winograd = ctx.get_int("winograd", 0) != 0;
  if (kernel.size() != 2 || kernel[0] < 1 || kernel[1] < 1 || cg < 1 || m < 1 || nr < 0 || nr > 64 || (winograd && !nr))
    return ctx.error("bad filter attributes");
  if (group < 1 || cg * group != xs[3] || m % group) return ctx.error("channels do not match group " + std::to_string(group));
  if (b && b->numel() != m) return ctx.error("B must have " + std::to_string(m) + " elements");
  // The filter as the optimizer left it: 16 packed Winograd planes, the
  // packed im2col B, or [kh, kw, C/group, M] for grouped convs.
  const int64_t want = winograd ? 16 * packed_floats(cg, m, nr)
                       : nr     ? packed_floats(kernel[0] * kernel[1] * cg, m, nr)
                                : kernel[0] * kernel[1] * cg * m;
  if (w.type() != DataType::kFloat32 || w.numel() != want) return ctx.error("packed filter has the wrong size");
  ConvGeometry g;
  KILN_RETURN_IF_ERROR(init_conv_geometry(ctx, {xs[1], xs[2]}, kernel, &g));
  KILN_RETURN_IF_ERROR(resolve_conv_pads(ctx, &g, false));
  if (g.pb[0] < 0 || g.pb[1] < 0) return ctx.error("negative pads");
  Activation act;
  KILN_RETURN_IF_ERROR(onnx_internal_activation(ctx, &act));
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kFloat32, {xs[0], g.out[0], g.out[1], m}, &(*out)[0]));
  if ((*out)[0].numel() == 0) return Status();
  const Conv2DParams p = conv2d_params_of(g, xs[0], xs[3], m, group);
  const float* bias = b ? b->data<float>() : nullptr;
  float* y = (*out)[0].data<float>();
  const Conv2DPackedFilter packed{w.data<float>(), int(nr)};
  const int threads = ThreadPool::global().num_threads();
  Scratch scratch;
  if (winograd) {
    if (!conv2d_winograd_applies(p)) return ctx.error("Winograd filter for a conv it does not apply to");
    KILN_RETURN_IF_ERROR(ctx.scratch(conv2d_winograd_scratch_floats(p, threads, true, true), &scratch));
    conv2d_forward_winograd_transformed(p, x.data<float>(), nullptr, bias, act, y, packed, scratch);
  } else if (nr) {
    if (group != 1) return ctx.error("a packed filter needs group 1");
    KILN_RETURN_IF_ERROR(ctx.scratch(conv2d_forward_im2col_scratch_floats(p, threads, true), &scratch));
    conv2d_forward_im2col(p, x.data<float>(), nullptr, bias, act, y, packed, scratch);
  } else {
    KILN_RETURN_IF_ERROR(ctx.scratch(conv2d_forward_scratch_floats(p, threads), &scratch));
    conv2d_forward(p, x.data<float>(), w.data<float>(), bias, act, y, scratch);
  }
  return Status();
}

Status op_nhwc_global_pool(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  KILN_RETURN_IF_ERROR(require_nhwc_float(ctx, x));
  const OnnxShape& xs = x.shape();
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kFloat32, {xs[0], xs[3], 1, 1}, &(*out)[0]));
  if ((*out)[0].numel() == 0) return Status();
  if (xs[1] * xs[2] == 0) return ctx.error("cannot pool an empty image");
  const PoolKind kind = ctx.get_int("kind", 0) == 1 ? PoolKind::kAverage : PoolKind::kMax;
  global_pool_forward(kind, xs[0], xs[1] * xs[2], xs[3], x.data<float>(), (*out)[0].data<float>());
  return Status();
}

Status op_nhwc_channel_affine(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  for (size_t i = 0; i < 3; ++i) KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  const OnnxValue &x = *in[0], &scale = *in[1], &shift = *in[2];
  if (x.type() != DataType::kFloat32 || x.rank() < 1) return ctx.error("expects a float32 tensor");
  const int64_t c = x.shape().back();
  if (scale.numel() != c || shift.numel() != c) return ctx.error("scale and shift must have one value per channel");
  Activation act;
  KILN_RETURN_IF_ERROR(onnx_internal_activation(ctx, &act));
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kFloat32, x.shape(), &(*out)[0]));
  const float *px = x.data<float>(), *ps = scale.data<float>(), *pt = shift.data<float>();
  float* py = (*out)[0].data<float>();
  const int64_t rows = c ? x.numel() / c : 0;
  // Row ranges across the pool, each activated while still in cache: run
  // serially, this pass left the other threads idle (and, in wasm, asleep).
  parallel_range(rows, std::max<int64_t>(1, kMinTaskFloats / std::max<int64_t>(1, c)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = px + r * c;
      float* yr = py + r * c;
      for (int64_t k = 0; k < c; ++k) yr[k] = xr[k] * ps[k] + pt[k];
    }
    activation_forward(act, py + r0 * c, (r1 - r0) * c);
  });
  return Status();
}

// a + b, then the fused activation: one pass for same-shape float inputs (the
// residual sums of ResNets), split across the pool, else ONNX Add's
// broadcasting kernel first.
Status op_add_activation(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  Activation act;
  KILN_RETURN_IF_ERROR(onnx_internal_activation(ctx, &act));
  const OnnxValue &a = *in[0], &b = *in[1];
  if (a.type() == DataType::kFloat32 && b.type() == DataType::kFloat32 && a.shape() == b.shape()) {
    KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kFloat32, a.shape(), &(*out)[0]));
    const float *pa = a.data<float>(), *pb = b.data<float>();
    float* y = (*out)[0].data<float>();
    parallel_range(a.numel(), kMinTaskFloats, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) y[i] = pa[i] + pb[i];
      activation_forward(act, y + i0, i1 - i0);
    });
    return Status();
  }
  static const OnnxOpEntry* const add = find_onnx_op("Add");  // looked up once, not per run
  KILN_RETURN_IF_ERROR(add->kernel(ctx, in, out));
  if (act != Activation::kLinear) {
    if ((*out)[0].type() != DataType::kFloat32) return ctx.error("a fused activation needs float32");
    activation_forward(act, (*out)[0].data<float>(), (*out)[0].numel());
  }
  return Status();
}

const OnnxOpEntry kNhwcOps[] = {
    {"AddActivation", op_add_activation},
    {"NhwcConv", op_nhwc_conv},
    {"NhwcPool", op_pool2d_nhwc},
    {"NhwcGlobalPool", op_nhwc_global_pool},
    {"NhwcChannelAffine", op_nhwc_channel_affine},
};

}  // namespace

const OnnxOpEntry* find_onnx_internal_op(const std::string& op_type) {
  for (const OnnxOpEntry& e : kNhwcOps)
    if (op_type == e.op_type) return &e;
  return find_onnx_op(op_type);  // standard ops with internal attributes (Gemm + activation)
}

}  // namespace kiln
