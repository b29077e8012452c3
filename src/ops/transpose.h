// Transpose: permutes the axes of a tensor (the Permute layer, and Flatten
// with channelsFirst data). out.shape[d] = in.shape[perm[d]]; the batch axis
// is an axis like any other here (layers keep perm[0] = 0).
#pragma once
#include <vector>

#include "graph/op.h"

namespace kiln {

class TransposeOp : public Op {
 public:
  explicit TransposeOp(std::vector<int> perm) : perm_(std::move(perm)) {}
  std::string name() const override { return "Transpose"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  std::vector<int> perm_;
};

// out[i_0, ..., i_r-1] = in[j] with j[perm[d]] = i_d; out_shape[d] = in_shape[perm[d]].
void transpose_reference(const float* in, const Shape& in_shape, const std::vector<int>& perm, float* out);

}  // namespace kiln
