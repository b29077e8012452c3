// Elementwise merges of two or more same-shape inputs (the Add, Subtract,
// Multiply, Average, Maximum and Minimum layers).
//
// Gradients follow TF.js, where an n-ary maximum/minimum is a chain of binary
// ones whose gradient goes to the first argument on ties (tf.maximum's
// greaterEqual / tf.minimum's lessEqual): the whole gradient goes to the first
// input holding the extreme value.
#pragma once
#include "graph/op.h"

namespace kiln {

enum class MergeKind { kAdd, kSubtract, kMultiply, kAverage, kMaximum, kMinimum };
const char* merge_kind_name(MergeKind kind);

class MergeOp : public Op {
 public:
  explicit MergeOp(MergeKind kind) : kind_(kind) {}
  std::string name() const override { return merge_kind_name(kind_); }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  MergeKind kind_;
};

}  // namespace kiln
