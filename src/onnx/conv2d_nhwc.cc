#include "onnx/conv2d_nhwc.h"

#include <string>

namespace kiln {

Status conv2d_nhwc_params(const OnnxOpContext& ctx, const OnnxShape& x, const OnnxShape& w, Conv2DParams* p) {
  if (x.size() != 4 || w.size() != 4) return ctx.error("expects x [N, H, W, C] and a filter [KH, KW, C, M]");
  if (w[2] != x[3]) return ctx.error("the filter takes " + std::to_string(w[2]) + " channels, x has " + std::to_string(x[3]));
  const std::vector<int64_t> strides = ctx.get_ints("strides", {1, 1}), dilations = ctx.get_ints("dilations", {1, 1});
  if (strides.size() != 2 || dilations.size() != 2) return ctx.error("strides and dilations take two ints each");
  const std::string pad = ctx.get_string("auto_pad", "");
  if (pad == "SAME" || pad == "VALID")
    return conv2d_params(x[0], x[1], x[2], x[3], w[3], w[0], w[1], strides[0], strides[1], dilations[0], dilations[1], pad == "SAME", 1, p);
  const std::vector<int64_t> pads = ctx.get_ints("pads");
  if (!pad.empty() || pads.size() != 4) return ctx.error("needs auto_pad SAME or VALID, or pads [top, left, bottom, right]");
  for (int64_t v : pads)
    if (v < 0) return ctx.error("pads must not be negative");
  // The valid geometry of the padded input, then the padding put back.
  KILN_RETURN_IF_ERROR(conv2d_params(x[0], x[1] + pads[0] + pads[2], x[2] + pads[1] + pads[3], x[3], w[3], w[0], w[1], strides[0], strides[1],
                                     dilations[0], dilations[1], false, 1, p));
  p->in_h = x[1], p->in_w = x[2], p->pad_top = pads[0], p->pad_left = pads[1];
  return Status();
}

namespace {

Status op_conv2d_nhwc(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue &x = *in[0], &w = *in[1];
  if (x.type() != DataType::kFloat32 || w.type() != DataType::kFloat32) return ctx.error("takes float32 x and filter");
  Conv2DParams p;
  KILN_RETURN_IF_ERROR(conv2d_nhwc_params(ctx, x.shape(), w.shape(), &p));
  OnnxValue& y = (*out)[0];
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kFloat32, {p.batch, p.out_h, p.out_w, p.out_c}, &y));
  if (y.numel()) conv2d_forward(p, x.data<float>(), w.data<float>(), nullptr, Activation::kLinear, y.data<float>());
  return Status();
}

const OnnxOpEntry kOps[] = {{"Conv2DNhwc", op_conv2d_nhwc, false}};

}  // namespace

OnnxOpTable kiln_conv_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
