#include "ops/masking.h"

namespace kiln {

Status MaskingOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1 || in[0].size() < 2) return Status::error("Masking: takes one input of rank >= 2 (batch included)");
  *out = {in[0], Shape(in[0].begin(), in[0].end() - 1)};
  return Status();
}

void MaskingOp::forward(const OpForwardArgs& a) const {
  const int64_t features = a.in_shapes[0].back(), rows = shape_numel(a.out_shapes[1]);
  const float* x = a.in[0];
  float *y = a.out[0], *mask = a.out[1];
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * features;
    bool keep = false;
    for (int64_t f = 0; f < features && !keep; ++f) keep = xr[f] != value_;  // NaN != value: kept, as in TF.js
    mask[r] = keep ? 1.0f : 0.0f;
    for (int64_t f = 0; f < features; ++f) y[r * features + f] = keep ? xr[f] : 0.0f;
  }
}

void MaskingOp::backward(const OpBackwardArgs& a) const {
  if (!a.din[0]) return;
  const int64_t features = a.in_shapes[0].back(), rows = shape_numel(a.out_shapes[1]);
  const float* mask = a.out[1];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t f = 0; f < features; ++f) a.din[0][r * features + f] = mask[r] != 0.0f ? a.dout[0][r * features + f] : 0.0f;
}

Status NonZeroMaskOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1) return Status::error("NonZeroMask: takes one input");
  *out = {in[0]};
  return Status();
}

void NonZeroMaskOp::forward(const OpForwardArgs& a) const {
  const int64_t n = shape_numel(a.in_shapes[0]);
  for (int64_t i = 0; i < n; ++i) a.out[0][i] = a.in[0][i] != 0.0f ? 1.0f : 0.0f;
}

}  // namespace kiln
