// Reductions of float32 rows ([rows, len], each row contiguous): the fast
// path of the op set's reductions over trailing axes (a LayerNorm's mean and
// variance, global pooling of NCHW, the ops API's sum/mean/max). Each row is
// reduced in 8 independent lanes so the loop vectorizes; rows split over the
// thread pool. The op set's generic loops (src/onnx/ops_reduce.cc) are the reference.
#pragma once
#include <cstdint>

namespace kiln {

enum class RowReduce { kSum, kMean, kMax, kMin, kSumSquare, kL2 };

// y[r] = reduce(x[r * len .. (r + 1) * len)); len >= 1.
void reduce_rows(RowReduce kind, const float* x, int64_t rows, int64_t len, float* y);

}  // namespace kiln
