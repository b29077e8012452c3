// 3-D max / average pooling on raw NDHWC float buffers, with the semantics of
// the 2-D kernels (src/cpu/pool2d.h): padded cells never take part (average
// divides by the real cells of the window), the first maximal element wins
// and takes the whole max gradient, NaN never wins.
#pragma once
#include <cstdint>

#include "core/status.h"
#include "cpu/pool2d.h"

namespace kiln {

struct Pool3DParams {
  int64_t batch = 0, in[3] = {1, 1, 1}, channels = 1, out[3] = {1, 1, 1};
  int64_t pool[3] = {1, 1, 1}, stride[3] = {1, 1, 1}, pad[3] = {0, 0, 0};  // leading padding
};

// TF 'same' (out = ceil(in / stride)) or 'valid' (pool <= in) sizes per axis.
Status pool3d_params(int64_t batch, const int64_t in[3], int64_t channels, const int64_t pool[3], const int64_t stride[3],
                     bool same_padding, Pool3DParams* out);

// x [batch, d, h, w, c] -> y [batch, od, oh, ow, c].
void pool3d_forward(PoolKind kind, const Pool3DParams& p, const float* x, float* y);
// dx = d loss / d x (overwrites dx); max pooling finds each window's argmax in x again.
void pool3d_backward(PoolKind kind, const Pool3DParams& p, const float* x, const float* dy, float* dx);

}  // namespace kiln
