#include "ops/embedding.h"

#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"

namespace kiln {

Status EmbeddingOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 2) return Status::error("Embedding takes indices and the embeddings matrix");
  if (in[1].size() != 2) return Status::error("Embedding: the embeddings must be a matrix, got " + shape_to_string(in[1]));
  if (in[0].empty()) return Status::error("Embedding: the indices need a batch axis");
  Shape s = in[0];
  s.push_back(in[1][1]);
  *out = {s};
  return Status();
}

void EmbeddingOp::forward(const OpForwardArgs& a) const {
  const int64_t n = shape_numel(a.in_shapes[0]), vocab = a.in_shapes[1][0], dim = a.in_shapes[1][1];
  const float* idx = a.in[0];
  const float* w = a.in[1];
  float* out = a.out[0];
  parallel_range(n, std::max<int64_t>(1, 16384 / dim), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t row = embedding_row(idx[i], vocab);
      if (row >= 0) std::memcpy(out + i * dim, w + row * dim, size_t(dim) * sizeof(float));
      else std::memset(out + i * dim, 0, size_t(dim) * sizeof(float));
    }
  });
}

void EmbeddingOp::backward(const OpBackwardArgs& a) const {
  float* dw = a.din[1];
  if (!dw) return;
  const int64_t n = shape_numel(a.in_shapes[0]), vocab = a.in_shapes[1][0], dim = a.in_shapes[1][1];
  const float* idx = a.in[0];
  const float* g = a.dout[0];
  std::memset(dw, 0, size_t(vocab * dim) * sizeof(float));
  // Tasks own disjoint column ranges, so repeated indices never race.
  parallel_range(dim, std::max<int64_t>(16, 65536 / std::max<int64_t>(1, n)), [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t row = embedding_row(idx[i], vocab);
      if (row < 0) continue;
      const float* gi = g + i * dim;
      float* d = dw + row * dim;
      for (int64_t c = c0; c < c1; ++c) d[c] += gi[c];
    }
  });
}

}  // namespace kiln
