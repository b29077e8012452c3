#include "onnx/pool2d_nhwc.h"

#include <algorithm>
#include <string>

#include "onnx/conv_geometry.h"
#include "onnx/kernel_util.h"

namespace kiln {

Status pool2d_nhwc_params(const OnnxOpContext& ctx, const OnnxShape& xs, Pool2DParams* p, PoolKind* kind, bool* include_pad) {
  if (xs.size() != 4) return ctx.error("expects x [N, H, W, C], got " + onnx_shape_string(xs));
  *kind = ctx.get_int("kind", 0) == 1 ? PoolKind::kAverage : PoolKind::kMax;
  const bool ceil_mode = ctx.get_int("ceil_mode", 0) != 0;
  *include_pad = *kind == PoolKind::kAverage && ctx.get_int("count_include_pad", 0) != 0;
  if (*include_pad && ceil_mode) return ctx.error("count_include_pad with ceil_mode is not supported here");
  ConvGeometry g;
  KILN_RETURN_IF_ERROR(init_conv_geometry(ctx, {xs[1], xs[2]}, ctx.get_ints("kernel_shape"), &g));
  KILN_RETURN_IF_ERROR(resolve_conv_pads(ctx, &g, ceil_mode));
  if (g.d[0] != 1 || g.d[1] != 1 || g.pb[0] < 0 || g.pb[1] < 0) return ctx.error("dilated or negatively padded pooling");
  p->batch = xs[0], p->in_h = xs[1], p->in_w = xs[2], p->channels = xs[3];
  p->out_h = g.out[0], p->out_w = g.out[1], p->pool_h = g.k[0], p->pool_w = g.k[1];
  p->stride_h = g.s[0], p->stride_w = g.s[1], p->pad_top = g.pb[0], p->pad_left = g.pb[1];
  return Status();
}

namespace {

// Average pooling that counts padded cells (count_include_pad = 1, no
// ceil_mode) divides by pool_h * pool_w; pool2d_forward divides by the cells
// inside the input, so rescale each output position by inside / window.
void include_padding_in_average(const Pool2DParams& p, float* y) {
  auto inside = [](int64_t start, int64_t pool, int64_t size) {
    return std::min(start + pool, size) - std::max<int64_t>(start, 0);
  };
  const float window = float(p.pool_h * p.pool_w);
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t oh = 0; oh < p.out_h; ++oh)
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const int64_t cells = inside(oh * p.stride_h - p.pad_top, p.pool_h, p.in_h) *
                              inside(ow * p.stride_w - p.pad_left, p.pool_w, p.in_w);
        if (cells == p.pool_h * p.pool_w) continue;
        const float scale = float(cells) / window;
        float* row = y + ((n * p.out_h + oh) * p.out_w + ow) * p.channels;
        for (int64_t c = 0; c < p.channels; ++c) row[c] *= scale;
      }
}

const OnnxOpEntry kOps[] = {{"Pool2DNhwc", op_pool2d_nhwc, false}};

}  // namespace

Status op_pool2d_nhwc(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (x.type() != DataType::kFloat32) return ctx.error("expects a float32 [N, H, W, C] tensor, got " + dtype_name(x.type()));
  Pool2DParams p;
  PoolKind kind;
  bool include_pad;
  KILN_RETURN_IF_ERROR(pool2d_nhwc_params(ctx, x.shape(), &p, &kind, &include_pad));
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kFloat32, {p.batch, p.out_h, p.out_w, p.channels}, &(*out)[0]));
  if ((*out)[0].numel() == 0) return Status();
  float* y = (*out)[0].data<float>();
  pool2d_forward(kind, p, x.data<float>(), y);
  if (include_pad) include_padding_in_average(p, y);
  return Status();
}

OnnxOpTable kiln_pool_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
