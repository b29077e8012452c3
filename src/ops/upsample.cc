#include "ops/upsample.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/shape.h"
#include "core/thread_pool.h"

namespace kiln {

namespace {
// Source rows of each output row for bilinear resizing (TF.js, no half-pixel
// centers): lo = y / s, hi = min(lo + 1, n - 1), weight of hi = (y % s) / s.
struct Taps {
  std::vector<int64_t> lo, hi;
  std::vector<float> frac;
};
Taps make_taps(int64_t n, int64_t s) {
  Taps t;
  for (int64_t y = 0; y < n * s; ++y) {
    const int64_t lo = y / s;
    t.lo.push_back(lo);
    t.hi.push_back(std::min(lo + 1, n - 1));
    t.frac.push_back(float(y % s) / float(s));
  }
  return t;
}
}  // namespace

UpSampleOp::View UpSampleOp::view(const Shape& in) const {
  const size_t h = size_t(h_axis_), after = h + size_t(spatial_rank_);
  return {dims_product(in, 0, h), in[h], spatial_rank_ == 2 ? in[h + 1] : 1, dims_product(in, after, in.size())};
}

Status UpSampleOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1) return Status::error("UpSample takes one input");
  if (h_axis_ < 1 || size_t(h_axis_ + spatial_rank_) > in[0].size())
    return Status::error("UpSample: input " + shape_to_string(in[0]) + " lacks the spatial axes");
  Shape s = in[0];
  s[size_t(h_axis_)] *= sh_;
  if (spatial_rank_ == 2) s[size_t(h_axis_) + 1] *= sw_;
  *out = {s};
  return Status();
}

void UpSampleOp::forward(const OpForwardArgs& a) const {
  const View v = view(a.in_shapes[0]);
  const int64_t oh = v.h * sh_, ow = v.w * sw_, inner = v.inner;
  const float* in = a.in[0];
  float* out = a.out[0];
  if (!bilinear_) {
    parallel_range(v.outer * oh, std::max<int64_t>(1, 4096 / (ow * inner)), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t o = r / oh, y = r % oh;
        const float* src = in + (o * v.h + y / sh_) * v.w * inner;
        float* dst = out + r * ow * inner;
        if (inner == 1) {
          for (int64_t x = 0; x < ow; ++x) dst[x] = src[x / sw_];
        } else {
          for (int64_t x = 0; x < ow; ++x) std::memcpy(dst + x * inner, src + (x / sw_) * inner, size_t(inner) * sizeof(float));
        }
      }
    });
    return;
  }
  const Taps ty = make_taps(v.h, sh_), tx = make_taps(v.w, sw_);
  parallel_range(v.outer * oh, std::max<int64_t>(1, 2048 / (ow * inner)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t o = r / oh, y = r % oh;
      const float* top = in + (o * v.h + ty.lo[size_t(y)]) * v.w * inner;
      const float* bot = in + (o * v.h + ty.hi[size_t(y)]) * v.w * inner;
      const float fy = ty.frac[size_t(y)];
      float* dst = out + r * ow * inner;
      for (int64_t x = 0; x < ow; ++x) {
        const int64_t l = tx.lo[size_t(x)] * inner, rr = tx.hi[size_t(x)] * inner;
        const float fx = tx.frac[size_t(x)];
        float* d = dst + x * inner;
        for (int64_t c = 0; c < inner; ++c) {
          const float t = top[l + c] + (top[rr + c] - top[l + c]) * fx;
          const float b = bot[l + c] + (bot[rr + c] - bot[l + c]) * fx;
          d[c] = t + (b - t) * fy;
        }
      }
    }
  });
}

void UpSampleOp::backward(const OpBackwardArgs& a) const {
  float* din = a.din[0];
  if (!din) return;
  const View v = view(a.in_shapes[0]);
  const int64_t oh = v.h * sh_, ow = v.w * sw_, inner = v.inner, plane = v.h * v.w * inner;
  const float* dout = a.dout[0];
  const Taps ty = bilinear_ ? make_taps(v.h, sh_) : Taps(), tx = bilinear_ ? make_taps(v.w, sw_) : Taps();
  // Each outer slice scatters only into its own slice of din.
  parallel_range(v.outer, 1, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      float* di = din + o * plane;
      std::memset(di, 0, size_t(plane) * sizeof(float));
      for (int64_t y = 0; y < oh; ++y) {
        const float* g = dout + (o * oh + y) * ow * inner;
        if (!bilinear_) {
          float* row = di + (y / sh_) * v.w * inner;
          for (int64_t x = 0; x < ow; ++x) {
            float* d = row + (x / sw_) * inner;
            const float* gx = g + x * inner;
            for (int64_t c = 0; c < inner; ++c) d[c] += gx[c];
          }
          continue;
        }
        const float fy = ty.frac[size_t(y)];
        float* top = di + ty.lo[size_t(y)] * v.w * inner;
        float* bot = di + ty.hi[size_t(y)] * v.w * inner;
        for (int64_t x = 0; x < ow; ++x) {
          const int64_t l = tx.lo[size_t(x)] * inner, rr = tx.hi[size_t(x)] * inner;
          const float fx = tx.frac[size_t(x)];
          const float wtl = (1 - fy) * (1 - fx), wtr = (1 - fy) * fx, wbl = fy * (1 - fx), wbr = fy * fx;
          const float* gx = g + x * inner;
          for (int64_t c = 0; c < inner; ++c) {
            top[l + c] += gx[c] * wtl;
            top[rr + c] += gx[c] * wtr;
            bot[l + c] += gx[c] * wbl;
            bot[rr + c] += gx[c] * wbr;
          }
        }
      }
    }
  });
}

}  // namespace kiln
