#include "ops/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace kiln {

namespace {

// For each output index along one axis: the two source indices and the
// second's weight (bilinear), or the one source index (nearest, weight 0).
struct Tap {
  int64_t lo, hi;
  double frac;
};

std::vector<Tap> taps(int64_t in, int64_t out, bool bilinear) {
  const double scale = out > 1 ? double(in - 1) / double(out - 1) : double(in) / double(out);
  std::vector<Tap> t(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    const double src = double(o) * scale;
    if (bilinear) {
      const int64_t lo = int64_t(std::floor(src));
      t[size_t(o)] = {lo, std::min(in - 1, int64_t(std::ceil(src))), src - double(lo)};
    } else {
      const int64_t i = std::min(in - 1, int64_t(std::round(src)));  // half away from zero, as Math.round for src >= 0
      t[size_t(o)] = {i, i, 0.0};
    }
  }
  return t;
}

}  // namespace

Status ResizeOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1 || in[0].size() != 4) return Status::error("Resize: expects [batch, rows, cols, channels]");
  *out = {{in[0][0], out_h_, out_w_, in[0][3]}};
  return Status();
}

void ResizeOp::forward(const OpForwardArgs& a) const {
  const Shape& s = a.in_shapes[0];
  const int64_t n = s[0], h = s[1], w = s[2], c = s[3];
  const std::vector<Tap> ty = taps(h, out_h_, bilinear_), tx = taps(w, out_w_, bilinear_);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < out_h_; ++oy)
      for (int64_t ox = 0; ox < out_w_; ++ox) {
        const Tap &y = ty[size_t(oy)], &x = tx[size_t(ox)];
        const float* tl = a.in[0] + ((b * h + y.lo) * w + x.lo) * c;
        const float* tr = a.in[0] + ((b * h + y.lo) * w + x.hi) * c;
        const float* bl = a.in[0] + ((b * h + y.hi) * w + x.lo) * c;
        const float* br = a.in[0] + ((b * h + y.hi) * w + x.hi) * c;
        float* dst = a.out[0] + ((b * out_h_ + oy) * out_w_ + ox) * c;
        const float fx = float(x.frac), fy = float(y.frac);
        for (int64_t k = 0; k < c; ++k) {
          const float top = tl[k] + (tr[k] - tl[k]) * fx, bottom = bl[k] + (br[k] - bl[k]) * fx;
          dst[k] = top + (bottom - top) * fy;
        }
      }
}

void ResizeOp::backward(const OpBackwardArgs& a) const {
  if (!a.din[0]) return;
  const Shape& s = a.in_shapes[0];
  const int64_t n = s[0], h = s[1], w = s[2], c = s[3];
  const std::vector<Tap> ty = taps(h, out_h_, bilinear_), tx = taps(w, out_w_, bilinear_);
  float* dx = a.din[0];
  std::memset(dx, 0, size_t(n * h * w * c) * sizeof(float));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < out_h_; ++oy)
      for (int64_t ox = 0; ox < out_w_; ++ox) {
        const Tap &y = ty[size_t(oy)], &x = tx[size_t(ox)];
        const float* g = a.dout[0] + ((b * out_h_ + oy) * out_w_ + ox) * c;
        const float fx = float(x.frac), fy = float(y.frac);
        const float wts[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
        const int64_t at[4] = {(b * h + y.lo) * w + x.lo, (b * h + y.lo) * w + x.hi, (b * h + y.hi) * w + x.lo, (b * h + y.hi) * w + x.hi};
        for (int q = 0; q < 4; ++q)
          if (wts[q] != 0.0f)
            for (int64_t k = 0; k < c; ++k) dx[at[q] * c + k] += g[k] * wts[q];
      }
}

}  // namespace kiln
