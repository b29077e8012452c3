#include "ops/repeat_vector.h"

#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"

namespace kiln {

Status RepeatVectorOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1 || in[0].size() != 2)
    return Status::error("RepeatVector expects one input of shape [batch, features]" +
                         (in.size() == 1 ? ", got " + shape_to_string(in[0]) : std::string()));
  *out = {{in[0][0], n_, in[0][1]}};
  return Status();
}

void RepeatVectorOp::forward(const OpForwardArgs& a) const {
  const int64_t b = a.in_shapes[0][0], f = a.in_shapes[0][1];
  parallel_range(b, std::max<int64_t>(1, 16384 / (n_ * f)), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      for (int64_t k = 0; k < n_; ++k) std::memcpy(a.out[0] + (i * n_ + k) * f, a.in[0] + i * f, size_t(f) * sizeof(float));
  });
}

void RepeatVectorOp::backward(const OpBackwardArgs& a) const {
  if (!a.din[0]) return;
  const int64_t b = a.in_shapes[0][0], f = a.in_shapes[0][1];
  parallel_range(b, std::max<int64_t>(1, 16384 / (n_ * f)), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float* d = a.din[0] + i * f;
      std::memcpy(d, a.dout[0] + i * n_ * f, size_t(f) * sizeof(float));
      for (int64_t k = 1; k < n_; ++k) {
        const float* g = a.dout[0] + (i * n_ + k) * f;
        for (int64_t j = 0; j < f; ++j) d[j] += g[j];
      }
    }
  });
}

}  // namespace kiln
