// Softmax along any axis (the Softmax layer with an axis other than the last;
// the last axis uses the graph's row-wise softmax node). The input is viewed
// as [outer, n, inner] around the axis; max-subtracted like rowwise_forward.
#pragma once
#include "graph/op.h"

namespace kiln {

class SoftmaxOp : public Op {
 public:
  explicit SoftmaxOp(int axis) : axis_(axis) {}  // batch included
  std::string name() const override { return "Softmax"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  // From the output y: dx = y * (dy - sum_axis(dy * y)).
  void backward(const OpBackwardArgs& a) const override;

 private:
  int axis_;
};

}  // namespace kiln
