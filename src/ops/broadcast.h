// Helpers shared by the simple layer ops: axis arithmetic and walking a
// tensor row by row alongside a broadcast operand (PReLU's alpha, a dropout
// mask with a noise shape).
#pragma once
#include <cstdint>
#include <vector>

#include "core/shape.h"
#include "core/status.h"

namespace kiln {

// Row-major strides of `shape`.
inline std::vector<int64_t> shape_strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
  return s;
}

// Product of shape[begin, end).
inline int64_t dims_product(const Shape& shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t d = begin; d < end && d < shape.size(); ++d) p *= shape[d];
  return p;
}

// A tensor of shape `full` seen as rows of its last axis, each paired with
// the offset of the matching row of an operand of shape `small` (same rank,
// each dimension equal to full's or 1). Within a row the operand advances by
// `small_col_stride` (1, or 0 when the last axis is broadcast).
class BroadcastRows {
 public:
  BroadcastRows(const Shape& full, const Shape& small) : full_(full) {
    const std::vector<int64_t> st = shape_strides(small);
    strides_.resize(full.size(), 0);
    for (size_t d = 0; d < full.size(); ++d) strides_[d] = small[d] == 1 ? 0 : st[d];
    cols_ = full.empty() ? 1 : full.back();
    rows_ = cols_ > 0 ? shape_numel(full) / cols_ : 0;
    small_col_stride_ = full.empty() ? 0 : strides_.back();
  }
  // True when `small` fits `full` (same rank; each dimension equal or 1).
  static bool compatible(const Shape& full, const Shape& small) {
    if (full.size() != small.size()) return false;
    for (size_t d = 0; d < full.size(); ++d)
      if (small[d] != full[d] && small[d] != 1) return false;
    return true;
  }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t small_col_stride() const { return small_col_stride_; }
  int64_t small_offset(int64_t row) const {
    int64_t off = 0;
    for (size_t d = full_.size() - 1; d-- > 0;) {
      const int64_t idx = row % full_[d];
      row /= full_[d];
      off += idx * strides_[d];
    }
    return off;
  }

 private:
  Shape full_;
  std::vector<int64_t> strides_;
  int64_t rows_ = 0, cols_ = 1, small_col_stride_ = 0;
};

}  // namespace kiln
