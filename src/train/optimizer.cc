#include "train/optimizer.h"

#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"

namespace kiln {
namespace {

bool in_unit(float x) { return x >= 0 && x < 1; }
bool nonneg(float x) { return x >= 0 && std::isfinite(x); }

double sum_squares(const float* g, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(g[i]) * double(g[i]);
  return s;
}

// Keras's clip_by_norm factor: norm <= limit keeps the gradient as it is.
float clip_scale(double sum_sq, float limit) {
  const double norm = std::sqrt(sum_sq);
  return norm > limit ? float(limit / norm) : 1.0f;
}

}  // namespace

Status optimizer_validate(const OptimizerConfig& c) {
  if (int(c.kind) >= kNumOptimizerKinds) return Status::error("compile: unknown optimizer");
  if (!(c.learning_rate > 0) || !std::isfinite(c.learning_rate)) return Status::error("compile: learning rate must be a positive number");
  if (!nonneg(c.momentum)) return Status::error("compile: momentum must be >= 0");
  if (!in_unit(c.beta1) || !in_unit(c.beta2)) return Status::error("compile: beta1 and beta2 must be in [0, 1)");
  if (!(c.epsilon > 0) || !std::isfinite(c.epsilon)) return Status::error("compile: epsilon must be > 0");
  if (!nonneg(c.weight_decay) || !nonneg(c.decay) || !nonneg(c.initial_accumulator))
    return Status::error("compile: weightDecay, decay and initialAccumulatorValue must be >= 0");
  if (!in_unit(c.rho)) return Status::error("compile: rho (rmsprop's decay) must be in [0, 1)");
  if (!nonneg(c.clip_value) || !nonneg(c.clip_norm) || !nonneg(c.global_clipnorm))
    return Status::error("compile: clipValue, clipNorm and globalClipnorm must be >= 0");
  if ((c.clip_value > 0) + (c.clip_norm > 0) + (c.global_clipnorm > 0) > 1)
    return Status::error("compile: set at most one of clipValue, clipNorm and globalClipnorm");
  const LearningRateSchedule& s = c.schedule;
  if (int(s.kind) >= kNumScheduleKinds) return Status::error("compile: unknown learning-rate schedule");
  if ((s.kind == ScheduleKind::kExponential || s.kind == ScheduleKind::kCosine) && s.decay_steps <= 0)
    return Status::error("compile: schedule decaySteps must be > 0");
  if (s.kind == ScheduleKind::kExponential && !(s.decay_rate > 0 && std::isfinite(s.decay_rate)))
    return Status::error("compile: schedule decayRate must be > 0");
  if (s.kind == ScheduleKind::kCosine && !(s.alpha >= 0 && s.alpha <= 1)) return Status::error("compile: schedule alpha must be in [0, 1]");
  if (s.kind == ScheduleKind::kPiecewise) {
    if (s.boundaries.empty() || s.boundaries.size() > kMaxScheduleBoundaries || s.values.size() != s.boundaries.size() + 1)
      return Status::error("compile: piecewise schedule needs 1..1024 boundaries and one more value");
    for (size_t i = 0; i < s.boundaries.size(); ++i)
      if (s.boundaries[i] < 0 || (i > 0 && s.boundaries[i] <= s.boundaries[i - 1]))
        return Status::error("compile: piecewise schedule boundaries must be increasing and >= 0");
    for (float v : s.values)
      if (!(v > 0) || !std::isfinite(v)) return Status::error("compile: piecewise schedule values must be positive");
  } else if (!s.boundaries.empty() || !s.values.empty()) {
    return Status::error("compile: only a piecewise schedule has boundaries and values");
  }
  return Status();
}

int optimizer_num_slots(const OptimizerConfig& c) {
  switch (c.kind) {
    case OptimizerKind::kSgd: return c.momentum != 0.0f ? 1 : 0;
    case OptimizerKind::kAdagrad: return 1;
    case OptimizerKind::kRmsprop: return 1 + (c.momentum != 0.0f) + c.centered;
    default: return 2;
  }
}

float optimizer_slot_initial_value(const OptimizerConfig& c, int slot) {
  return c.kind == OptimizerKind::kAdagrad && slot == 0 ? c.initial_accumulator : 0.0f;
}

bool optimizer_same_state(const OptimizerConfig& a, const OptimizerConfig& b) {
  return a.kind == b.kind && optimizer_num_slots(a) == optimizer_num_slots(b) && (a.momentum != 0) == (b.momentum != 0) &&
         a.centered == b.centered;
}

float optimizer_learning_rate(const OptimizerConfig& c, int64_t step) {
  const LearningRateSchedule& s = c.schedule;
  const double k = double(std::max<int64_t>(step - 1, 0));
  switch (s.kind) {
    case ScheduleKind::kConstant: return c.learning_rate;
    case ScheduleKind::kExponential: {
      double p = k / double(s.decay_steps);
      if (s.staircase) p = std::floor(p);
      return float(double(c.learning_rate) * std::pow(double(s.decay_rate), p));
    }
    case ScheduleKind::kPiecewise: {
      size_t i = 0;
      while (i < s.boundaries.size() && k > double(s.boundaries[i])) ++i;
      return s.values[i];
    }
    case ScheduleKind::kCosine: {
      const double x = std::min(k, double(s.decay_steps)) / double(s.decay_steps);
      const double cosine = 0.5 * (1.0 + std::cos(3.14159265358979323846 * x));
      return float(double(c.learning_rate) * ((1.0 - s.alpha) * cosine + s.alpha));
    }
  }
  return c.learning_rate;
}

float optimizer_global_clip_scale(const OptimizerConfig& c, const std::vector<const float*>& grads,
                                  const std::vector<int64_t>& sizes) {
  if (c.global_clipnorm <= 0) return 1.0f;
  double sum = 0;
  for (size_t i = 0; i < grads.size(); ++i) sum += sum_squares(grads[i], sizes[i]);
  return clip_scale(sum, c.global_clipnorm);
}

void optimizer_update(const OptimizerConfig& c, int64_t step, float grad_scale, float* w, const float* grad,
                      float* const* slots, int64_t n) {
  const float lr = optimizer_learning_rate(c, step);
  if (c.clip_norm > 0) grad_scale = clip_scale(sum_squares(grad, n), c.clip_norm);
  const float scale = grad_scale, cv = c.clip_value;
  auto g = [&](int64_t i) {
    const float x = grad[i] * scale;
    return cv > 0 ? std::min(std::max(x, -cv), cv) : x;
  };
  float* s0 = optimizer_num_slots(c) > 0 ? slots[0] : nullptr;
  float* s1 = optimizer_num_slots(c) > 1 ? slots[1] : nullptr;
  float* s2 = optimizer_num_slots(c) > 2 ? slots[2] : nullptr;
  const float b1 = c.beta1, b2 = c.beta2, eps = c.epsilon, mom = c.momentum, rho = c.rho;
  const float c1 = 1.0f / float(1.0 - std::pow(double(b1), double(step)));
  const float c2 = 1.0f / float(1.0 - std::pow(double(b2), double(step)));
  parallel_range(n, 16384, [&](int64_t begin, int64_t end) {
    switch (c.kind) {
      case OptimizerKind::kSgd:
        for (int64_t i = begin; i < end; ++i) {
          const float gi = g(i);
          if (mom == 0.0f) {
            w[i] -= lr * gi;
          } else {
            s0[i] = mom * s0[i] + gi;
            w[i] -= lr * (c.nesterov ? gi + mom * s0[i] : s0[i]);
          }
        }
        break;
      case OptimizerKind::kAdamW:
      case OptimizerKind::kAdam: {
        const float keep = c.kind == OptimizerKind::kAdamW ? 1.0f - lr * c.weight_decay : 1.0f;
        for (int64_t i = begin; i < end; ++i) {
          const float gi = g(i);
          const float m = s0[i] = b1 * s0[i] + (1.0f - b1) * gi;
          const float v = s1[i] = b2 * s1[i] + (1.0f - b2) * gi * gi;
          w[i] = w[i] * keep - lr * (m * c1) / (std::sqrt(v * c2) + eps);
        }
        break;
      }
      case OptimizerKind::kAdamax: {
        const float rate = lr / (1.0f + c.decay * float(step - 1)) * c1;
        for (int64_t i = begin; i < end; ++i) {
          const float gi = g(i);
          const float m = s0[i] = b1 * s0[i] + (1.0f - b1) * gi;
          const float u = s1[i] = std::max(b2 * s1[i], std::fabs(gi));
          w[i] -= rate * m / (u + eps);
        }
        break;
      }
      case OptimizerKind::kAdagrad:
        for (int64_t i = begin; i < end; ++i) {
          const float gi = g(i);
          s0[i] += gi * gi;
          w[i] -= lr * gi / std::sqrt(s0[i] + eps);
        }
        break;
      case OptimizerKind::kAdadelta:
        for (int64_t i = begin; i < end; ++i) {
          const float gi = g(i);
          s0[i] = rho * s0[i] + (1.0f - rho) * gi * gi;
          const float d = std::sqrt(s1[i] + eps) / std::sqrt(s0[i] + eps) * gi;
          s1[i] = rho * s1[i] + (1.0f - rho) * d * d;
          w[i] -= lr * d;
        }
        break;
      case OptimizerKind::kRmsprop: {
        float* moment = mom != 0.0f ? s1 : nullptr;
        float* mean_grad = c.centered ? (moment ? s2 : s1) : nullptr;
        for (int64_t i = begin; i < end; ++i) {
          const float gi = g(i);
          float s = s0[i] = rho * s0[i] + (1.0f - rho) * gi * gi;
          if (mean_grad) {
            const float mg = mean_grad[i] = rho * mean_grad[i] + (1.0f - rho) * gi;
            s -= mg * mg;
          }
          const float v = lr * gi / std::sqrt(s + eps);
          w[i] -= moment ? (moment[i] = mom * moment[i] + v) : v;
        }
        break;
      }
    }
  });
}

}  // namespace kiln
