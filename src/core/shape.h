// Tensor shapes: row-major dimensions with overflow-checked element counts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

using Shape = std::vector<int64_t>;

// Elements in `shape`, or -1 when a dimension is negative or the product
// exceeds `max_elements` (default 2^40: more than any model Kiln can hold in
// memory; the ONNX runtime caps values at 2^31).
constexpr int64_t kMaxShapeElements = int64_t(1) << 40;
int64_t shape_numel(const Shape& shape, int64_t max_elements = kMaxShapeElements);
std::string shape_to_string(const Shape& shape);

// Row-major strides of `shape` (in elements).
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

}  // namespace kiln
