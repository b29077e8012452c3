#include "ops/prelu.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/broadcast.h"
#include "core/thread_pool.h"

namespace kiln {

namespace {
Shape alpha_full_shape(const Shape& alpha) {
  Shape s = {1};
  s.insert(s.end(), alpha.begin(), alpha.end());
  return s;
}
}  // namespace

Status PReluOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 2) return Status::error("PReLU takes an input and alpha");
  if (!BroadcastRows::compatible(in[0], alpha_full_shape(in[1])))
    return Status::error("PReLU: alpha " + shape_to_string(in[1]) + " does not fit input " + shape_to_string(in[0]));
  *out = {in[0]};
  return Status();
}

void PReluOp::forward(const OpForwardArgs& a) const {
  const BroadcastRows br(a.in_shapes[0], alpha_full_shape(a.in_shapes[1]));
  const int64_t cols = br.cols(), st = br.small_col_stride();
  parallel_range(br.rows(), std::max<int64_t>(1, 8192 / cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* x = a.in[0] + r * cols;
      const float* al = a.in[1] + br.small_offset(r);
      float* y = a.out[0] + r * cols;
      for (int64_t c = 0; c < cols; ++c) y[c] = x[c] < 0.0f ? al[c * st] * x[c] : x[c];
    }
  });
}

void PReluOp::backward(const OpBackwardArgs& a) const {
  const BroadcastRows br(a.in_shapes[0], alpha_full_shape(a.in_shapes[1]));
  const int64_t cols = br.cols(), st = br.small_col_stride();
  const float* x = a.in[0];
  const float* dy = a.dout[0];
  if (a.din[0]) {
    parallel_range(br.rows(), std::max<int64_t>(1, 8192 / cols), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const float* al = a.in[1] + br.small_offset(r);
        const float* xr = x + r * cols;
        const float* g = dy + r * cols;
        float* d = a.din[0] + r * cols;
        for (int64_t c = 0; c < cols; ++c) d[c] = xr[c] > 0.0f ? g[c] : al[c * st] * g[c];
      }
    });
  }
  if (a.din[1]) {
    // Accumulated in double, serially: alpha is small next to the input.
    const int64_t na = shape_numel(a.in_shapes[1]);
    std::vector<double> acc(size_t(na), 0.0);
    for (int64_t r = 0; r < br.rows(); ++r) {
      double* da = acc.data() + br.small_offset(r);
      const float* xr = x + r * cols;
      const float* g = dy + r * cols;
      if (st == 1) {
        for (int64_t c = 0; c < cols; ++c) da[c] += xr[c] > 0.0f ? 0.0 : double(g[c]) * double(xr[c]);
      } else {
        double s = 0;
        for (int64_t c = 0; c < cols; ++c) s += xr[c] > 0.0f ? 0.0 : double(g[c]) * double(xr[c]);
        da[0] += s;
      }
    }
    for (int64_t i = 0; i < na; ++i) a.din[1][i] = float(acc[size_t(i)]);
  }
}

}  // namespace kiln
