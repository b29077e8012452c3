// Tensor shapes: row-major dimensions with overflow-checked element counts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

using Shape = std::vector<int64_t>;

// Elements in `shape`, or -1 when a dimension is negative or the product
// exceeds 2^40 (more than any model Kiln can hold in memory).
int64_t shape_numel(const Shape& shape);
std::string shape_to_string(const Shape& shape);

}  // namespace kiln
