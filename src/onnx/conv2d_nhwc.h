// Conv2DNhwc: Kiln's own eager op (the ops API's conv2d, as TF.js defines
// it): x [N, H, W, C] and the filter [KH, KW, C, M] as TF.js lays them out,
// y [N, OH, OW, M], on the src/cpu kernels the Layers models run (im2col +
// GEMM, Winograd), with no transposes around them. Attributes: strides and
// dilations (two ints each), and padding: auto_pad "SAME" / "VALID" (TF's
// rules: the odd row and column at the end) or pads [top, left, bottom, right].
// Its gradient (grad_conv.cc) is the same kernels' backward passes.
#pragma once
#include "core/status.h"
#include "cpu/conv2d.h"
#include "onnx/op.h"

namespace kiln {

// The kernels' parameters for a node of this op on x and w of these shapes.
Status conv2d_nhwc_params(const OnnxOpContext& ctx, const OnnxShape& x, const OnnxShape& w, Conv2DParams* p);

OnnxOpTable kiln_conv_ops();  // eager only, like kiln_random_ops

}  // namespace kiln
