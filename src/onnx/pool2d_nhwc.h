// Max and average pooling on [N, H, W, C], the src/cpu pool2d kernels' own
// layout, as two ops: NhwcPool (internal, where the graph optimizer's
// channels-last pass puts ONNX's MaxPool and AveragePool) and Pool2DNhwc
// (Kiln's own eager op: the ops API's maxPool and avgPool, as TF.js defines
// them, with no transposes around the kernel). Attributes: kind (0 max,
// 1 average), kernel_shape and strides (two ints each), auto_pad
// "SAME_UPPER" / "VALID" or pads [top, left, bottom, right], ceil_mode and
// count_include_pad as ONNX's. The gradient (grad_conv.cc) is the kernels'
// backward pass.
#pragma once
#include "core/status.h"
#include "cpu/pool2d.h"
#include "onnx/op.h"

namespace kiln {

// The kernels' parameters for a node of these ops on x of this shape; *include_pad: an
// average that counts padded cells.
Status pool2d_nhwc_params(const OnnxOpContext& ctx, const OnnxShape& x, Pool2DParams* p, PoolKind* kind, bool* include_pad);

Status op_pool2d_nhwc(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out);

OnnxOpTable kiln_pool_ops();  // eager only, like kiln_conv_ops

}  // namespace kiln
