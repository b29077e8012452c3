#include "ops/concat.h"

#include <algorithm>
#include <cstring>

#include "core/shape.h"
#include "core/thread_pool.h"

namespace kiln {

Status ConcatOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.empty()) return Status::error("Concat needs inputs");
  const size_t ax = size_t(axis_);
  Shape s = in[0];
  if (axis_ < 0 || ax >= s.size()) return Status::error("Concat: axis " + std::to_string(axis_) + " out of range for " + shape_to_string(s));
  for (size_t i = 1; i < in.size(); ++i) {
    bool ok = in[i].size() == s.size();
    for (size_t d = 0; ok && d < s.size(); ++d) ok = d == ax || in[i][d] == in[0][d];
    if (!ok)
      return Status::error("Concat: inputs must match except along axis " + std::to_string(axis_) + ", got " +
                           shape_to_string(in[0]) + " and " + shape_to_string(in[i]));
    s[ax] += in[i][ax];
  }
  *out = {s};
  return Status();
}

// Each input is [outer, dim_i * inner]: its rows interleave into the output's rows.
void ConcatOp::forward(const OpForwardArgs& a) const {
  const Shape& os = a.out_shapes[0];
  const size_t ax = size_t(axis_);
  const int64_t outer = dims_product(os, 0, ax), inner = dims_product(os, ax + 1, os.size()), out_row = os[ax] * inner;
  parallel_range(outer, std::max<int64_t>(1, 16384 / out_row), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      int64_t pos = 0;
      for (size_t i = 0; i < a.in.size(); ++i) {
        const int64_t row = a.in_shapes[i][ax] * inner;
        std::memcpy(a.out[0] + o * out_row + pos, a.in[i] + o * row, size_t(row) * sizeof(float));
        pos += row;
      }
    }
  });
}

void ConcatOp::backward(const OpBackwardArgs& a) const {
  const Shape& os = a.out_shapes[0];
  const size_t ax = size_t(axis_);
  const int64_t outer = dims_product(os, 0, ax), inner = dims_product(os, ax + 1, os.size()), out_row = os[ax] * inner;
  parallel_range(outer, std::max<int64_t>(1, 16384 / out_row), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      int64_t pos = 0;
      for (size_t i = 0; i < a.in.size(); ++i) {
        const int64_t row = a.in_shapes[i][ax] * inner;
        if (a.din[i]) std::memcpy(a.din[i] + o * row, a.dout[0] + o * out_row + pos, size_t(row) * sizeof(float));
        pos += row;
      }
    }
  });
}

}  // namespace kiln
