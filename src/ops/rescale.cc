#include "ops/rescale.h"

namespace kiln {

Status RescaleOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1) return Status::error("Rescale: expects one input");
  *out = {in[0]};
  return Status();
}

void RescaleOp::forward(const OpForwardArgs& a) const {
  const int64_t n = shape_numel(a.in_shapes[0]);
  for (int64_t i = 0; i < n; ++i) a.out[0][i] = a.in[0][i] * scale_ + offset_;
}

void RescaleOp::backward(const OpBackwardArgs& a) const {
  if (!a.din[0]) return;
  const int64_t n = shape_numel(a.in_shapes[0]);
  for (int64_t i = 0; i < n; ++i) a.din[0][i] = a.dout[0][i] * scale_;
}

}  // namespace kiln
