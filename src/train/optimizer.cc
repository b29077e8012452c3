#include "train/optimizer.h"

#include <cmath>

#include "core/thread_pool.h"

namespace kiln {

int optimizer_num_slots(const OptimizerConfig& c) {
  if (c.kind == OptimizerKind::kAdam) return 2;
  return c.momentum != 0.0f ? 1 : 0;
}

std::string optimizer_describe(const OptimizerConfig& c) {
  if (c.kind == OptimizerKind::kAdam) return "adam(lr=" + std::to_string(c.learning_rate) + ")";
  if (c.momentum != 0.0f)
    return std::string(c.nesterov ? "nesterov" : "momentum") + "(lr=" + std::to_string(c.learning_rate) +
           ", momentum=" + std::to_string(c.momentum) + ")";
  return "sgd(lr=" + std::to_string(c.learning_rate) + ")";
}

void optimizer_update(const OptimizerConfig& c, int64_t step, float* w, const float* g, float* s0, float* s1,
                      int64_t n) {
  const float lr = c.learning_rate;
  if (c.kind == OptimizerKind::kAdam) {
    const float b1 = c.beta1, b2 = c.beta2, eps = c.epsilon;
    const float c1 = 1.0f / float(1.0 - std::pow(double(b1), double(step)));
    const float c2 = 1.0f / float(1.0 - std::pow(double(b2), double(step)));
    parallel_range(n, 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        float m = s0[i] = b1 * s0[i] + (1.0f - b1) * g[i];
        float v = s1[i] = b2 * s1[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= lr * (m * c1) / (std::sqrt(v * c2) + eps);
      }
    });
    return;
  }
  const float mom = c.momentum;
  parallel_range(n, 16384, [&](int64_t begin, int64_t end) {
    if (mom == 0.0f) {
      for (int64_t i = begin; i < end; ++i) w[i] -= lr * g[i];
    } else if (c.nesterov) {
      for (int64_t i = begin; i < end; ++i) {
        s0[i] = mom * s0[i] + g[i];
        w[i] -= lr * (g[i] + mom * s0[i]);
      }
    } else {
      for (int64_t i = begin; i < end; ++i) {
        s0[i] = mom * s0[i] + g[i];
        w[i] -= lr * s0[i];
      }
    }
  });
}

}  // namespace kiln
