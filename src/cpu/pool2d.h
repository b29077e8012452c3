// 2-D max / average pooling and global pooling on raw NHWC float buffers (no
// graph knowledge), with TensorFlow / TF.js semantics. 1-D pooling is the
// caller's in_h = pool_h = stride_h = 1 case.
//
// Semantics (TF and TF.js CPU agree on the forward pass):
//  - padded cells never take part: max is over the real cells of the window,
//    average divides by the number of real cells (not pool_h * pool_w);
//  - max uses strict '>' scanning the window row-major from -inf, so the
//    FIRST maximal element wins, NaN never wins (TF.js CPU's pool()), and the
//    max gradient goes only to that element (TF.js CPU's maxPoolPositions);
//  - the average gradient is the exact derivative of the forward pass, i.e.
//    dy / real_count per window. TF.js CPU's AvgPoolGrad divides by
//    pool_h * pool_w even for 'same' border windows (inconsistent with its own
//    forward); we follow TensorFlow's AvgPoolGrad, which matches the forward.
//
// Each op has a fast path (vectorized over contiguous channels, multithreaded)
// and a scalar double-accumulating reference the tests use.
#pragma once
#include <cstdint>

#include "core/status.h"

namespace kiln {

enum class PoolKind { kMax, kAverage };

struct Pool2DParams {
  int64_t batch = 0, in_h = 0, in_w = 0, channels = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t pool_h = 1, pool_w = 1, stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;  // bottom/right padding is implied by out_h/out_w
};

// Fills *out with TF 'same' / 'valid' sizes: same gives out = ceil(in / stride),
// pad_total = max((out - 1) * stride + pool - in, 0), pad_top = pad_total / 2
// (the extra row goes to the bottom); valid gives
// out = (in - pool) / stride + 1 and needs pool <= in. Sizes, pool and strides
// must be positive (batch may be 0).
Status pool2d_params(int64_t batch, int64_t in_h, int64_t in_w, int64_t channels, int64_t pool_h, int64_t pool_w,
                     int64_t stride_h, int64_t stride_w, bool same_padding, Pool2DParams* out);

// x: [batch, in_h, in_w, channels] -> y: [batch, out_h, out_w, channels].
void pool2d_forward(PoolKind kind, const Pool2DParams& p, const float* x, float* y);
void pool2d_forward_reference(PoolKind kind, const Pool2DParams& p, const float* x, float* y);

// dx = d loss / d x (overwrites dx). Max pooling recomputes the window argmax
// from x (so dx never depends on how y was rounded); y is accepted for API
// symmetry and may be null. Average pooling uses neither x nor y.
void pool2d_backward(PoolKind kind, const Pool2DParams& p, const float* x, const float* y, const float* dy,
                     float* dx);
void pool2d_backward_reference(PoolKind kind, const Pool2DParams& p, const float* x, const float* y,
                               const float* dy, float* dx);

// Global pooling over the middle axis: x [batch, spatial, channels] ->
// y [batch, channels] (spatial = H * W for 2-D, steps for 1-D; spatial >= 1).
void global_pool_forward(PoolKind kind, int64_t batch, int64_t spatial, int64_t channels, const float* x,
                         float* y);
void global_pool_forward_reference(PoolKind kind, int64_t batch, int64_t spatial, int64_t channels,
                                   const float* x, float* y);
// Overwrites dx; same max/argmax rules as pool2d_backward (y may be null).
void global_pool_backward(PoolKind kind, int64_t batch, int64_t spatial, int64_t channels, const float* x,
                          const float* y, const float* dy, float* dx);
void global_pool_backward_reference(PoolKind kind, int64_t batch, int64_t spatial, int64_t channels,
                                    const float* x, const float* y, const float* dy, float* dx);

}  // namespace kiln
