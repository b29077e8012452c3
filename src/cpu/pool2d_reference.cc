// Scalar pooling references: one window at a time, double accumulation,
// written for obviousness. The fast paths in pool2d.cc are tested against them.
#include <algorithm>
#include <limits>
#include <vector>

#include "cpu/pool2d.h"

namespace kiln {
namespace {

// Real (unpadded) input range [lo, hi) of output index o along one axis.
inline void window(int64_t o, int64_t stride, int64_t pad, int64_t pool, int64_t in, int64_t* lo, int64_t* hi) {
  const int64_t start = o * stride - pad;
  *lo = std::max<int64_t>(start, 0);
  *hi = std::min<int64_t>(start + pool, in);
}

// Flat index (into one image) of the first maximal real cell, or -1 when no
// cell beats -inf (all -inf or NaN): such a window passes no gradient, as in TF.js.
int64_t window_argmax(const Pool2DParams& p, const float* img, int64_t oh, int64_t ow, int64_t c) {
  int64_t h0, h1, w0, w1;
  window(oh, p.stride_h, p.pad_top, p.pool_h, p.in_h, &h0, &h1);
  window(ow, p.stride_w, p.pad_left, p.pool_w, p.in_w, &w0, &w1);
  float best = -std::numeric_limits<float>::infinity();
  int64_t arg = -1;
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      const float v = img[(h * p.in_w + w) * p.channels + c];
      if (v > best) best = v, arg = h * p.in_w + w;
    }
  return arg;
}

}  // namespace

void pool2d_forward_reference(PoolKind kind, const Pool2DParams& p, const float* x, float* y) {
  for (int64_t b = 0; b < p.batch; ++b) {
    const float* img = x + b * p.in_h * p.in_w * p.channels;
    for (int64_t oh = 0; oh < p.out_h; ++oh)
      for (int64_t ow = 0; ow < p.out_w; ++ow)
        for (int64_t c = 0; c < p.channels; ++c) {
          float* out = y + ((b * p.out_h + oh) * p.out_w + ow) * p.channels + c;
          if (kind == PoolKind::kMax) {
            const int64_t arg = window_argmax(p, img, oh, ow, c);
            *out = arg < 0 ? -std::numeric_limits<float>::infinity() : img[arg * p.channels + c];
            continue;
          }
          int64_t h0, h1, w0, w1;
          window(oh, p.stride_h, p.pad_top, p.pool_h, p.in_h, &h0, &h1);
          window(ow, p.stride_w, p.pad_left, p.pool_w, p.in_w, &w0, &w1);
          double sum = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) sum += img[(h * p.in_w + w) * p.channels + c];
          *out = float(sum / double((h1 - h0) * (w1 - w0)));
        }
  }
}

void pool2d_backward_reference(PoolKind kind, const Pool2DParams& p, const float* x, const float* /*y*/,
                               const float* dy, float* dx) {
  const int64_t image = p.in_h * p.in_w * p.channels;
  std::vector<double> acc(static_cast<size_t>(image));
  for (int64_t b = 0; b < p.batch; ++b) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const float* img = x + b * image;
    for (int64_t oh = 0; oh < p.out_h; ++oh)
      for (int64_t ow = 0; ow < p.out_w; ++ow)
        for (int64_t c = 0; c < p.channels; ++c) {
          const double g = dy[((b * p.out_h + oh) * p.out_w + ow) * p.channels + c];
          if (kind == PoolKind::kMax) {
            const int64_t arg = window_argmax(p, img, oh, ow, c);
            if (arg >= 0) acc[size_t(arg * p.channels + c)] += g;
            continue;
          }
          int64_t h0, h1, w0, w1;
          window(oh, p.stride_h, p.pad_top, p.pool_h, p.in_h, &h0, &h1);
          window(ow, p.stride_w, p.pad_left, p.pool_w, p.in_w, &w0, &w1);
          const double share = g / double((h1 - h0) * (w1 - w0));
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) acc[size_t((h * p.in_w + w) * p.channels + c)] += share;
        }
    for (int64_t i = 0; i < image; ++i) dx[b * image + i] = float(acc[size_t(i)]);
  }
}

void global_pool_forward_reference(PoolKind kind, int64_t batch, int64_t spatial, int64_t channels,
                                   const float* x, float* y) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c) {
      const float* col = x + b * spatial * channels + c;
      if (kind == PoolKind::kMax) {
        float best = -std::numeric_limits<float>::infinity();
        for (int64_t s = 0; s < spatial; ++s) best = col[s * channels] > best ? col[s * channels] : best;
        y[b * channels + c] = best;
      } else {
        double sum = 0;
        for (int64_t s = 0; s < spatial; ++s) sum += col[s * channels];
        y[b * channels + c] = float(sum / double(spatial));
      }
    }
}

void global_pool_backward_reference(PoolKind kind, int64_t batch, int64_t spatial, int64_t channels,
                                    const float* x, const float* /*y*/, const float* dy, float* dx) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c) {
      const float* col = x + b * spatial * channels + c;
      float* dcol = dx + b * spatial * channels + c;
      const float g = dy[b * channels + c];
      if (kind == PoolKind::kMax) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t arg = -1;
        for (int64_t s = 0; s < spatial; ++s)
          if (col[s * channels] > best) best = col[s * channels], arg = s;
        for (int64_t s = 0; s < spatial; ++s) dcol[s * channels] = s == arg ? g : 0.0f;
      } else {
        const float share = float(double(g) / double(spatial));
        for (int64_t s = 0; s < spatial; ++s) dcol[s * channels] = share;
      }
    }
}

}  // namespace kiln
