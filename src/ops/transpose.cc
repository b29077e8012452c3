#include "ops/transpose.h"

#include <algorithm>
#include <cstring>

#include "core/shape.h"
#include "core/thread_pool.h"

namespace kiln {

Status TransposeOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1) return Status::error("Transpose takes one input");
  if (in[0].size() != perm_.size())
    return Status::error("Transpose: a permutation of " + std::to_string(perm_.size()) + " axes cannot apply to " +
                         shape_to_string(in[0]));
  std::vector<bool> seen(perm_.size(), false);
  Shape s(perm_.size());
  for (size_t d = 0; d < perm_.size(); ++d) {
    const int p = perm_[d];
    if (p < 0 || size_t(p) >= perm_.size() || seen[size_t(p)]) return Status::error("Transpose: invalid permutation");
    seen[size_t(p)] = true;
    s[d] = in[0][size_t(p)];
  }
  *out = {s};
  return Status();
}

void transpose_reference(const float* in, const Shape& in_shape, const std::vector<int>& perm, float* out) {
  const size_t rank = perm.size();
  const int64_t n = shape_numel(in_shape);
  if (n <= 0) return;
  if (rank == 0) {
    out[0] = in[0];
    return;
  }
  Shape out_shape(rank);
  const std::vector<int64_t> in_strides = shape_strides(in_shape);
  std::vector<int64_t> src_stride(rank);  // input stride of each output axis
  for (size_t d = 0; d < rank; ++d) {
    out_shape[d] = in_shape[size_t(perm[d])];
    src_stride[d] = in_strides[size_t(perm[d])];
  }
  const int64_t cols = out_shape.back(), rows = n / cols, inner = src_stride.back();
  parallel_range(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, cols)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t rem = r, off = 0;
      for (size_t d = rank - 1; d-- > 0;) {
        off += (rem % out_shape[d]) * src_stride[d];
        rem /= out_shape[d];
      }
      float* o = out + r * cols;
      const float* i = in + off;
      if (inner == 1) {
        std::memcpy(o, i, size_t(cols) * sizeof(float));
      } else {
        for (int64_t c = 0; c < cols; ++c) o[c] = i[c * inner];
      }
    }
  });
}

void TransposeOp::forward(const OpForwardArgs& a) const { transpose_reference(a.in[0], a.in_shapes[0], perm_, a.out[0]); }

void TransposeOp::backward(const OpBackwardArgs& a) const {
  if (!a.din[0]) return;
  std::vector<int> inverse(perm_.size());
  for (size_t d = 0; d < perm_.size(); ++d) inverse[size_t(perm_[d])] = int(d);
  transpose_reference(a.dout[0], a.out_shapes[0], inverse, a.din[0]);
}

}  // namespace kiln
