// Optimizers. TF.js names, defaults and update rules where TF.js has the
// optimizer; Keras/PyTorch where it does not (AdamW, schedules, clipping).
// g is the (clipped) gradient, t the 1-based step, lr the scheduled rate:
//   sgd:       w -= lr * g
//   momentum:  v = m v + g;  w -= lr v                 (nesterov: w -= lr (g + m v))       TF.js = PyTorch
//   adam:      m1 = b1 m1 + (1-b1) g;  m2 = b2 m2 + (1-b2) g^2;
//              w -= lr (m1 / (1-b1^t)) / (sqrt(m2 / (1-b2^t)) + eps)                       TF.js = PyTorch
//   adamw:     w -= lr wd w, then adam                 (Keras/PyTorch AdamW, decoupled weight decay)
//   adamax:    m1 as adam;  u = max(b2 u, |g|);
//              w -= lr / (1 + decay (t-1)) / (1-b1^t) * m1 / (u + eps)                    TF.js (eps outside the max)
//   adagrad:   a += g^2 (a starts at initialAccumulatorValue);  w -= lr g / sqrt(a + eps)   TF.js (eps inside the sqrt)
//   adadelta:  a = rho a + (1-rho) g^2;  d = sqrt(u + eps) / sqrt(a + eps) g;
//              u = rho u + (1-rho) d^2;  w -= lr d                                         Keras = PyTorch (TF.js
//              divides by the accumulator from before this step's g^2 instead)
//   rmsprop:   s = r s + (1-r) g^2;  centered: c = r c + (1-r) g, s' = s - c^2 (else s' = s);
//              v = m v + lr g / sqrt(s' + eps);  w -= v                                    TF.js (eps inside the sqrt,
//              lr inside the momentum buffer; centered: TF.js subtracts eps, a sign slip Kiln does not copy)
// Learning-rate schedules (Keras, evaluated at k = t-1, the updates done before this one):
//   exponential: lr0 rate^(k / steps)  (staircase: floor(k / steps))
//   piecewise:   values[i] for boundaries[i-1] < k <= boundaries[i]  (values has one more entry)
//   cosine:      lr0 ((1-alpha) 0.5 (1 + cos(pi min(k, steps) / steps)) + alpha)
// Gradient clipping (Keras; at most one): clipValue clamps each element, clipNorm
// rescales each tensor to norm <= clipNorm, globalClipnorm rescales all gradients
// together so their joint norm is <= globalClipnorm.
#pragma once
#include <cstdint>
#include <vector>

#include "core/status.h"

namespace kiln {

enum class OptimizerKind : uint8_t { kSgd = 0, kAdam = 1, kAdamW = 2, kAdamax = 3, kAdagrad = 4, kAdadelta = 5, kRmsprop = 6 };
constexpr int kNumOptimizerKinds = 7;
enum class ScheduleKind : uint8_t { kConstant = 0, kExponential = 1, kPiecewise = 2, kCosine = 3 };
constexpr int kNumScheduleKinds = 4;
constexpr int kMaxOptimizerSlots = 3;
constexpr size_t kMaxScheduleBoundaries = 1024;

struct LearningRateSchedule {
  ScheduleKind kind = ScheduleKind::kConstant;
  int64_t decay_steps = 1;  // exponential, cosine
  float decay_rate = 1.0f;  // exponential
  bool staircase = false;   // exponential
  float alpha = 0.0f;       // cosine: final fraction of the initial rate
  std::vector<int64_t> boundaries;  // piecewise, increasing
  std::vector<float> values;        // piecewise, boundaries.size() + 1 rates
};

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kSgd;
  float learning_rate = 0.01f;  // the initial rate when a schedule is set
  float momentum = 0.0f;        // sgd, rmsprop
  bool nesterov = false;        // sgd
  float beta1 = 0.9f, beta2 = 0.999f;  // adam, adamw, adamax
  float epsilon = 1e-7f;               // every adaptive optimizer
  float weight_decay = 0.0f;           // adamw
  float decay = 0.0f;                  // adamax (TF.js inverse-time decay)
  float initial_accumulator = 0.1f;    // adagrad
  float rho = 0.95f;                   // adadelta; rmsprop's TF.js "decay" (0.9 there)
  bool centered = false;               // rmsprop
  float clip_value = 0.0f, clip_norm = 0.0f, global_clipnorm = 0.0f;  // 0: off
  LearningRateSchedule schedule;
};

Status optimizer_validate(const OptimizerConfig& config);
// State tensors each parameter needs (same shape as the parameter), and what they start at.
int optimizer_num_slots(const OptimizerConfig& config);
float optimizer_slot_initial_value(const OptimizerConfig& config, int slot);
// True when b can continue from a's state (same kind and slot meanings).
bool optimizer_same_state(const OptimizerConfig& a, const OptimizerConfig& b);
// The scheduled rate for 1-based step t.
float optimizer_learning_rate(const OptimizerConfig& config, int64_t step);
// The factor globalClipnorm scales every gradient by (1 when off).
float optimizer_global_clip_scale(const OptimizerConfig& config, const std::vector<const float*>& grads,
                                  const std::vector<int64_t>& sizes);

// One step on n elements; `step` counts from 1. slots holds optimizer_num_slots pointers.
void optimizer_update(const OptimizerConfig& config, int64_t step, float grad_scale, float* param, const float* grad,
                      float* const* slots, int64_t n);

}  // namespace kiln
