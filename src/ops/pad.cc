#include "ops/pad.h"

#include <algorithm>
#include <cstring>

#include "core/shape.h"
#include "core/thread_pool.h"

namespace kiln {

Status PadOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1) return Status::error("Pad takes one input");
  if (in[0].size() != before_.size() || in[0].size() != after_.size())
    return Status::error("Pad: padding for " + std::to_string(before_.size()) + " axes cannot apply to " + shape_to_string(in[0]));
  Shape s = in[0];
  for (size_t d = 0; d < s.size(); ++d) {
    s[d] += before_[d] + after_[d];
    if (s[d] <= 0)
      return Status::error("Pad: cropping " + std::to_string(-before_[d]) + " + " + std::to_string(-after_[d]) +
                           " leaves nothing of axis " + std::to_string(d) + " of " + shape_to_string(in[0]));
  }
  *out = {s};
  return Status();
}

void pad_reference(const float* src, const Shape& src_shape, float* dst, const Shape& dst_shape,
                   const std::vector<int64_t>& offset) {
  const size_t rank = dst_shape.size();
  const int64_t cols = dst_shape.back(), rows = shape_numel(dst_shape) / cols;
  const int64_t src_cols = src_shape.back(), off_c = offset.back();
  // The output columns that come from the input, and where they start there.
  const int64_t c0 = std::max<int64_t>(0, off_c), c1 = std::min<int64_t>(cols, src_cols + off_c);
  const std::vector<int64_t> src_strides = shape_strides(src_shape);
  parallel_range(rows, std::max<int64_t>(1, 16384 / cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* o = dst + r * cols;
      int64_t rem = r, src_off = 0;
      bool inside = c1 > c0;
      for (size_t d = rank - 1; d-- > 0 && inside;) {
        const int64_t i = rem % dst_shape[d] - offset[d];
        rem /= dst_shape[d];
        inside = i >= 0 && i < src_shape[d];
        src_off += i * src_strides[d];
      }
      if (!inside) {
        std::memset(o, 0, size_t(cols) * sizeof(float));
        continue;
      }
      if (c0 > 0) std::memset(o, 0, size_t(c0) * sizeof(float));
      std::memcpy(o + c0, src + src_off + (c0 - off_c), size_t(c1 - c0) * sizeof(float));
      if (c1 < cols) std::memset(o + c1, 0, size_t(cols - c1) * sizeof(float));
    }
  });
}

void PadOp::forward(const OpForwardArgs& a) const { pad_reference(a.in[0], a.in_shapes[0], a.out[0], a.out_shapes[0], before_); }

void PadOp::backward(const OpBackwardArgs& a) const {
  if (!a.din[0]) return;
  std::vector<int64_t> neg(before_.size());
  for (size_t d = 0; d < neg.size(); ++d) neg[d] = -before_[d];
  pad_reference(a.dout[0], a.out_shapes[0], a.din[0], a.in_shapes[0], neg);
}

}  // namespace kiln
