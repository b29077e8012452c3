// PReLU: y = x < 0 ? alpha * x : x with a learned alpha (input 1) shaped like
// a sample (batch excluded), with size-1 dimensions along shared axes. The
// alpha gradient sums dy * x over the batch and the shared axes, where x <= 0
// (tf.prelu's gradient).
#pragma once
#include "graph/op.h"

namespace kiln {

class PReluOp : public Op {
 public:
  std::string name() const override { return "PReLU"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;
};

}  // namespace kiln
