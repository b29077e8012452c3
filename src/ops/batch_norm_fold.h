// BatchNormFold: an inference batch norm's per-channel affine folded into the
// convolution before it, as the weights that convolution then uses:
//   s = gamma / sqrt(var + eps);  kernel' = kernel * s (along the last axis,
//   the filters);  bias' = (bias - mean) * s + beta.
// Computed at every run from the current weights (a few multiplies per weight,
// next to a convolution's many), so a plan stays right while weights change.
// Inserted by src/passes/fold_batch_norm.cc into inference plans only.
#pragma once
#include "graph/op.h"

namespace kiln {

// Inputs: kernel [..., filters], then bias, gamma, beta where present
// (`has_*`), then moving mean and variance ([filters] each). Outputs: kernel', bias'.
class BatchNormFoldOp : public Op {
 public:
  BatchNormFoldOp(bool has_bias, bool has_gamma, bool has_beta, float eps)
      : has_bias_(has_bias), has_gamma_(has_gamma), has_beta_(has_beta), eps_(eps) {}
  std::string name() const override { return "BatchNormFold"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  int num_results() const override { return 2; }
  void forward(const OpForwardArgs& a) const override;
  // Inference plans only: nothing asks for its gradient.
  bool differentiable(int /*input*/) const override { return false; }
  void backward(const OpBackwardArgs& /*a*/) const override {}

 private:
  bool has_bias_, has_gamma_, has_beta_;
  float eps_;
};

}  // namespace kiln
