// Embedding lookup: input 0 holds integer indices stored as floats (any
// shape [batch, ...]), input 1 the embeddings matrix [input_dim, output_dim];
// out[..., :] = embeddings[index, :], shape [batch, ..., output_dim].
//
// Indices are truncated toward zero like TF.js's cast to int32. An index
// outside [0, input_dim) (or NaN) gives a row of zeros and no gradient: a
// kernel cannot report an error, and clamping would silently read another
// word's vector. The backward pass scatter-adds dout rows into the matrix's
// gradient; the indices get none.
#pragma once
#include "graph/op.h"

namespace kiln {

class EmbeddingOp : public Op {
 public:
  std::string name() const override { return "Embedding"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  bool differentiable(int input) const override { return input == 1; }
  void backward(const OpBackwardArgs& a) const override;
};

// The row an index value selects, or -1 when out of range.
inline int64_t embedding_row(float v, int64_t input_dim) {
  return double(v) > -1.0 && double(v) < double(input_dim) ? int64_t(v) : -1;
}

}  // namespace kiln
