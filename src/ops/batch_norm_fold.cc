#include "ops/batch_norm_fold.h"

#include <cmath>

namespace kiln {

Status BatchNormFoldOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  const size_t n = 3 + size_t(has_bias_) + size_t(has_gamma_) + size_t(has_beta_);
  if (in.size() != n || in[0].empty()) return Status::error("BatchNormFold: bad inputs");
  const int64_t f = in[0].back();
  for (size_t i = 1; i < n; ++i)
    if (in[i] != Shape{f}) return Status::error("BatchNormFold: parameters must be [" + std::to_string(f) + "]");
  *out = {in[0], Shape{f}};
  return Status();
}

void BatchNormFoldOp::forward(const OpForwardArgs& a) const {
  const int64_t f = a.in_shapes[0].back(), rows = shape_numel(a.in_shapes[0]) / f;
  size_t k = 1;
  const float* bias = has_bias_ ? a.in[k++] : nullptr;
  const float* gamma = has_gamma_ ? a.in[k++] : nullptr;
  const float* beta = has_beta_ ? a.in[k++] : nullptr;
  const float *mean = a.in[k], *var = a.in[k + 1];
  float* scale = a.out[1];  // s first, then overwritten by bias'
  for (int64_t c = 0; c < f; ++c) scale[c] = (gamma ? gamma[c] : 1.f) / std::sqrt(var[c] + eps_);
  const float* w = a.in[0];
  float* wf = a.out[0];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < f; ++c) wf[r * f + c] = w[r * f + c] * scale[c];
  for (int64_t c = 0; c < f; ++c) scale[c] = ((bias ? bias[c] : 0.f) - mean[c]) * scale[c] + (beta ? beta[c] : 0.f);
}

}  // namespace kiln
