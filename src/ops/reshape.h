// Reshape: the same elements under another shape (Flatten, Reshape layers,
// and the graph's own rank changes). Kept a copy: a view would need aliasing
// in the memory planner, and the copy is small beside the ops around it.
#pragma once
#include "graph/op.h"

namespace kiln {

class ReshapeOp : public Op {
 public:
  explicit ReshapeOp(Shape shape) : shape_(std::move(shape)) {}
  std::string name() const override { return "Reshape"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;
  bool has_reference() const override { return true; }  // its one kernel is a plain copy

 private:
  Shape shape_;  // full target shape, batch included
};

// Zeros shaped like its input (the gradient of a result nothing uses).
class ZerosLikeOp : public Op {
 public:
  std::string name() const override { return "ZerosLike"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  bool differentiable(int) const override { return false; }
  void backward(const OpBackwardArgs&) const override {}
  bool has_reference() const override { return true; }  // a plain fill
};

}  // namespace kiln
