// Reverses a sequence along its time axis (axis 1 of [batch, steps, ...]):
// Bidirectional lines its backward layer's outputs up with the forward ones.
#pragma once
#include "graph/op.h"

namespace kiln {

class ReverseTimeOp : public Op {
 public:
  std::string name() const override { return "ReverseTime"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;
};

}  // namespace kiln
