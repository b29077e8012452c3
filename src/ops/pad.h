// Pad: zero padding and cropping in one op (ZeroPadding1D/2D, Cropping1D/2D).
// Each axis gets `before` and `after` counts; negative counts crop. So
// out[o] = in[o - before] where that index lies inside the input, else 0, and
// the gradient is the same op with the counts negated.
#pragma once
#include <vector>

#include "graph/op.h"

namespace kiln {

class PadOp : public Op {
 public:
  PadOp(std::vector<int64_t> before, std::vector<int64_t> after) : before_(std::move(before)), after_(std::move(after)) {}
  std::string name() const override { return "Pad"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  std::vector<int64_t> before_, after_;  // one per axis, batch included
};

// dst[o] = src[o - offset] where inside src, else 0 (shapes of equal rank).
void pad_reference(const float* src, const Shape& src_shape, float* dst, const Shape& dst_shape,
                   const std::vector<int64_t>& offset);

}  // namespace kiln
