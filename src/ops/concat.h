// Concat: joins inputs of equal rank along one axis (the Concatenate layer);
// every other dimension must match. The gradient splits dout back.
#pragma once
#include "graph/op.h"

namespace kiln {

class ConcatOp : public Op {
 public:
  explicit ConcatOp(int axis) : axis_(axis) {}  // axis in [0, rank), batch included
  std::string name() const override { return "Concat"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  int axis_;
};

}  // namespace kiln
