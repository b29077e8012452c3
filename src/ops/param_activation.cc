#include "ops/param_activation.h"

#include <cmath>

#include "core/thread_pool.h"

namespace kiln {

namespace {
constexpr int64_t kChunk = 16384;
}

std::string ParamActivationOp::name() const {
  switch (s_.kind) {
    case ParamActivation::kRelu: return "ReLU";
    case ParamActivation::kLeakyRelu: return "LeakyReLU";
    case ParamActivation::kElu: return "ELU";
    case ParamActivation::kThresholdedRelu: return "ThresholdedReLU";
  }
  return "?";
}

Status ParamActivationOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1) return Status::error(name() + " takes one input");
  *out = {in[0]};
  return Status();
}

void param_activation_forward(const ParamActivationSpec& s, const float* x, float* y, int64_t n) {
  const float a = s.alpha, t = s.threshold, mx = s.max_value;
  const bool has_max = std::isfinite(mx);  // Keras clips to [0, maxValue] only when one is given
  switch (s.kind) {
    case ParamActivation::kRelu:
      for (int64_t i = 0; i < n; ++i) {
        float pos = t != 0.0f ? (x[i] > t ? x[i] : 0.0f) : (x[i] > 0.0f ? x[i] : 0.0f);
        if (has_max) pos = pos < 0.0f ? 0.0f : (pos > mx ? mx : pos);
        const float neg = t - x[i] > 0.0f ? t - x[i] : 0.0f;
        y[i] = pos - a * neg;
      }
      return;
    case ParamActivation::kLeakyRelu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? a * x[i] : x[i];
      return;
    case ParamActivation::kElu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : a * std::expm1(x[i]);
      return;
    case ParamActivation::kThresholdedRelu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > t ? x[i] : 0.0f;
      return;
  }
}

void param_activation_backward(const ParamActivationSpec& s, const float* x, const float* dy, float* dx, int64_t n) {
  const float a = s.alpha, t = s.threshold, mx = s.max_value;
  const bool has_max = std::isfinite(mx);  // Keras clips to [0, maxValue] only when one is given
  switch (s.kind) {
    case ParamActivation::kRelu:
      for (int64_t i = 0; i < n; ++i) {
        // The positive part passes where x is above the threshold (above 0
        // when that is 0) and inside the clip range; the negative part below it.
        const bool on = x[i] > (t != 0.0f ? t : 0.0f) && (!has_max || (x[i] >= 0.0f && x[i] <= mx));
        dx[i] = dy[i] * ((on ? 1.0f : 0.0f) + (x[i] < t ? a : 0.0f));
      }
      return;
    case ParamActivation::kLeakyRelu:
      for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : a * dy[i];
      return;
    case ParamActivation::kElu:
      for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * a * std::exp(x[i]);
      return;
    case ParamActivation::kThresholdedRelu:
      for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > t ? dy[i] : 0.0f;
      return;
  }
}

void ParamActivationOp::forward(const OpForwardArgs& a) const {
  const int64_t n = shape_numel(a.in_shapes[0]);
  parallel_range(n, kChunk, [&](int64_t b, int64_t e) { param_activation_forward(s_, a.in[0] + b, a.out[0] + b, e - b); });
}

void ParamActivationOp::backward(const OpBackwardArgs& a) const {
  if (!a.din[0]) return;
  const int64_t n = shape_numel(a.in_shapes[0]);
  parallel_range(n, kChunk, [&](int64_t b, int64_t e) {
    param_activation_backward(s_, a.in[0] + b, a.dout[0] + b, a.din[0] + b, e - b);
  });
}

}  // namespace kiln
