#include "ops/reverse_time.h"

#include <cstring>

namespace kiln {

namespace {
// The same permutation forward and backward (it is its own inverse).
void reverse_steps(const float* x, const Shape& s, float* y) {
  const int64_t steps = s[1], step_n = shape_numel(s) / (s[0] * s[1]);
  for (int64_t b = 0; b < s[0]; ++b)
    for (int64_t t = 0; t < steps; ++t)
      std::memcpy(y + (b * steps + t) * step_n, x + (b * steps + steps - 1 - t) * step_n, size_t(step_n) * sizeof(float));
}
}  // namespace

Status ReverseTimeOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1 || in[0].size() < 2) return Status::error("ReverseTime: takes one input [batch, steps, ...]");
  *out = {in[0]};
  return Status();
}

void ReverseTimeOp::forward(const OpForwardArgs& a) const { reverse_steps(a.in[0], a.in_shapes[0], a.out[0]); }

void ReverseTimeOp::backward(const OpBackwardArgs& a) const {
  if (a.din[0]) reverse_steps(a.dout[0], a.in_shapes[0], a.din[0]);
}

}  // namespace kiln
