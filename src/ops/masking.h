// Mask-making ops (TF.js's masks: float 0/1, one value per step).
//  * MaskingOp (the Masking layer): mask = any(x != value) over the last
//    axis, y = x * mask (broadcast over the last axis); results y, mask.
//    dx = dy * mask; the mask has no gradient.
//  * NonZeroMaskOp (Embedding's maskZero): mask = ids != 0, same shape.
#pragma once
#include "graph/op.h"

namespace kiln {

class MaskingOp : public Op {
 public:
  explicit MaskingOp(float value) : value_(value) {}
  std::string name() const override { return "Masking"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  int num_results() const override { return 2; }
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  float value_;
};

class NonZeroMaskOp : public Op {
 public:
  std::string name() const override { return "NonZeroMask"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  bool differentiable(int) const override { return false; }
  void backward(const OpBackwardArgs&) const override {}
};

}  // namespace kiln
