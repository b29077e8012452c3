// Dot: the batch-wise dot product of the Dot layer (TF.js batchDot). Input x
// of shape [B, ...] is contracted along axis ax with input y along axis ay:
//   out[b, <x's other axes>, <y's other axes>] = sum_k x[b, .., k, ..] * y[b, .., k, ..]
// and an output with no axis besides the batch gets a trailing 1 ([B, 1]).
// With normalize, each input is first L2-normalized along its contracted axis
// as TF.js does it: v / sqrt(max(sum v^2, 1e-7)).
#pragma once
#include "graph/op.h"

namespace kiln {

class DotOp : public Op {
 public:
  DotOp(int ax, int ay, bool normalize) : ax_(ax), ay_(ay), normalize_(normalize) {}
  std::string name() const override { return "Dot"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  int ax_, ay_;  // contracted axes, batch included (>= 1)
  bool normalize_;
};

}  // namespace kiln
