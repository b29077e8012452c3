// RepeatVector: [batch, features] -> [batch, n, features], every step a copy
// of the input row; the gradient sums the n steps.
#pragma once
#include "graph/op.h"

namespace kiln {

class RepeatVectorOp : public Op {
 public:
  explicit RepeatVectorOp(int64_t n) : n_(n) {}
  std::string name() const override { return "RepeatVector"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  int64_t n_;
};

}  // namespace kiln
