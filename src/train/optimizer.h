// Optimizers, with TF.js semantics (which match PyTorch's for these):
//   sgd:       w -= lr * g
//   momentum:  v = m * v + g;  w -= lr * v            (nesterov: w -= lr * (g + m * v))
//   adam:      m1 = b1 m1 + (1-b1) g;  m2 = b2 m2 + (1-b2) g^2;
//              w -= lr * (m1 / (1-b1^t)) / (sqrt(m2 / (1-b2^t)) + eps)
#pragma once
#include <cstdint>
#include <string>

namespace kiln {

enum class OptimizerKind : uint8_t { kSgd = 0, kAdam = 1 };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kSgd;
  float learning_rate = 0.01f;
  float momentum = 0.0f;  // sgd only
  bool nesterov = false;  // sgd only
  float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-7f;  // adam only
};

// State tensors each parameter needs (same shape as the parameter).
int optimizer_num_slots(const OptimizerConfig& config);
std::string optimizer_describe(const OptimizerConfig& config);

// One step on n elements; `step` counts from 1 (Adam's bias correction).
void optimizer_update(const OptimizerConfig& config, int64_t step, float* param, const float* grad,
                      float* slot0, float* slot1, int64_t n);

}  // namespace kiln
