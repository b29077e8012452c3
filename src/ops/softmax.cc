#include "ops/softmax.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/shape.h"
#include "core/thread_pool.h"

namespace kiln {

Status SoftmaxOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1) return Status::error("Softmax takes one input");
  if (axis_ < 0 || size_t(axis_) >= in[0].size())
    return Status::error("Softmax: axis " + std::to_string(axis_) + " out of range for " + shape_to_string(in[0]));
  *out = {in[0]};
  return Status();
}

void SoftmaxOp::forward(const OpForwardArgs& a) const {
  const Shape& s = a.in_shapes[0];
  const size_t ax = size_t(axis_);
  const int64_t outer = dims_product(s, 0, ax), n = s[ax], inner = dims_product(s, ax + 1, s.size());
  parallel_range(outer, std::max<int64_t>(1, 8192 / (n * inner)), [&](int64_t b, int64_t e) {
    std::vector<float> mx(static_cast<size_t>(inner)), sum(static_cast<size_t>(inner));
    for (int64_t o = b; o < e; ++o) {
      const float* x = a.in[0] + o * n * inner;
      float* y = a.out[0] + o * n * inner;
      std::copy(x, x + inner, mx.begin());
      for (int64_t j = 1; j < n; ++j)
        for (int64_t i = 0; i < inner; ++i) mx[size_t(i)] = std::max(mx[size_t(i)], x[j * inner + i]);
      std::fill(sum.begin(), sum.end(), 0.0f);
      for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < inner; ++i) {
          const float v = std::exp(x[j * inner + i] - mx[size_t(i)]);
          y[j * inner + i] = v;
          sum[size_t(i)] += v;
        }
      for (int64_t i = 0; i < inner; ++i) sum[size_t(i)] = 1.0f / sum[size_t(i)];
      for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < inner; ++i) y[j * inner + i] *= sum[size_t(i)];
    }
  });
}

void SoftmaxOp::backward(const OpBackwardArgs& a) const {
  if (!a.din[0]) return;
  const Shape& s = a.in_shapes[0];
  const size_t ax = size_t(axis_);
  const int64_t outer = dims_product(s, 0, ax), n = s[ax], inner = dims_product(s, ax + 1, s.size());
  parallel_range(outer, std::max<int64_t>(1, 8192 / (n * inner)), [&](int64_t b, int64_t e) {
    std::vector<float> dot(static_cast<size_t>(inner));
    for (int64_t o = b; o < e; ++o) {
      const float* y = a.out[0] + o * n * inner;
      const float* g = a.dout[0] + o * n * inner;
      float* d = a.din[0] + o * n * inner;
      std::fill(dot.begin(), dot.end(), 0.0f);
      for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < inner; ++i) dot[size_t(i)] += g[j * inner + i] * y[j * inner + i];
      for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < inner; ++i) d[j * inner + i] = y[j * inner + i] * (g[j * inner + i] - dot[size_t(i)]);
    }
  });
}

}  // namespace kiln
