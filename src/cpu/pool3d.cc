// Plain loops over windows with channels innermost (contiguous in NDHWC, so
// they vectorize); 3-D pooling layers are rare enough that this needs no threads.
#include "cpu/pool3d.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace kiln {

namespace {

// The window of output position o along an axis, clipped to the input: [lo, hi).
void window(const Pool3DParams& p, int axis, int64_t o, int64_t* lo, int64_t* hi) {
  const int64_t start = o * p.stride[axis] - p.pad[axis];
  *lo = std::max<int64_t>(start, 0);
  *hi = std::min<int64_t>(start + p.pool[axis], p.in[axis]);
}

// Calls f(output offset, list of input offsets of the window) for every output position of image n.
template <typename F>
void for_each_window(const Pool3DParams& p, int64_t n, std::vector<int64_t>* cells, F f) {
  const int64_t c = p.channels;
  const int64_t in_image = p.in[0] * p.in[1] * p.in[2] * c, out_image = p.out[0] * p.out[1] * p.out[2] * c;
  int64_t at = n * out_image;
  for (int64_t od = 0; od < p.out[0]; ++od)
    for (int64_t oh = 0; oh < p.out[1]; ++oh)
      for (int64_t ow = 0; ow < p.out[2]; ++ow, at += c) {
        int64_t d0, d1, h0, h1, w0, w1;
        window(p, 0, od, &d0, &d1);
        window(p, 1, oh, &h0, &h1);
        window(p, 2, ow, &w0, &w1);
        cells->clear();
        for (int64_t d = d0; d < d1; ++d)
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) cells->push_back(n * in_image + ((d * p.in[1] + h) * p.in[2] + w) * c);
        f(at, *cells);
      }
}

}  // namespace

Status pool3d_params(int64_t batch, const int64_t in[3], int64_t channels, const int64_t pool[3], const int64_t stride[3],
                     bool same_padding, Pool3DParams* out) {
  Pool3DParams p;
  if (batch < 0 || channels < 1) return Status::error("pool3d: channels must be positive");
  p.batch = batch;
  p.channels = channels;
  for (int i = 0; i < 3; ++i) {
    if (in[i] < 1 || pool[i] < 1 || stride[i] < 1) return Status::error("pool3d: sizes, pool sizes and strides must be positive");
    p.in[i] = in[i], p.pool[i] = pool[i], p.stride[i] = stride[i];
    if (same_padding) {
      p.out[i] = (in[i] + stride[i] - 1) / stride[i];
      p.pad[i] = std::max<int64_t>((p.out[i] - 1) * stride[i] + pool[i] - in[i], 0) / 2;
    } else {
      if (pool[i] > in[i])
        return Status::error("pool3d: pool size " + std::to_string(pool[i]) + " is larger than the input (" +
                             std::to_string(in[i]) + ") with 'valid' padding");
      p.out[i] = (in[i] - pool[i]) / stride[i] + 1;
    }
  }
  *out = p;
  return Status();
}

void pool3d_forward(PoolKind kind, const Pool3DParams& p, const float* x, float* y) {
  std::vector<int64_t> cells;
  const int64_t c = p.channels;
  for (int64_t n = 0; n < p.batch; ++n)
    for_each_window(p, n, &cells, [&](int64_t at, const std::vector<int64_t>& window_cells) {
      float* out = y + at;
      if (kind == PoolKind::kMax) {
        std::fill(out, out + c, -std::numeric_limits<float>::infinity());
        for (int64_t cell : window_cells)
          for (int64_t ch = 0; ch < c; ++ch) out[ch] = x[cell + ch] > out[ch] ? x[cell + ch] : out[ch];
      } else {
        std::fill(out, out + c, 0.0f);
        for (int64_t cell : window_cells)
          for (int64_t ch = 0; ch < c; ++ch) out[ch] += x[cell + ch];
        const float scale = 1.0f / float(window_cells.size());
        for (int64_t ch = 0; ch < c; ++ch) out[ch] *= scale;
      }
    });
}

void pool3d_backward(PoolKind kind, const Pool3DParams& p, const float* x, const float* dy, float* dx) {
  std::memset(dx, 0, size_t(p.batch * p.in[0] * p.in[1] * p.in[2] * p.channels) * sizeof(float));
  std::vector<int64_t> cells;
  const int64_t c = p.channels;
  for (int64_t n = 0; n < p.batch; ++n)
    for_each_window(p, n, &cells, [&](int64_t at, const std::vector<int64_t>& window_cells) {
      if (kind == PoolKind::kAverage) {
        const float scale = 1.0f / float(window_cells.size());
        for (int64_t cell : window_cells)
          for (int64_t ch = 0; ch < c; ++ch) dx[cell + ch] += dy[at + ch] * scale;
        return;
      }
      for (int64_t ch = 0; ch < c; ++ch) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t arg = -1;
        for (int64_t cell : window_cells)
          if (x[cell + ch] > best) best = x[cell + ch], arg = cell;
        if (arg >= 0) dx[arg + ch] += dy[at + ch];
      }
    });
}

}  // namespace kiln
