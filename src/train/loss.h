// Losses: forward value and gradient, and the accuracy metric that goes with
// each. Predictions are [batch, classes]; targets are one-hot / real-valued
// [batch, classes] or, for the sparse loss, class indices [batch] or [batch, 1].
#pragma once
#include <cstdint>
#include <string>

namespace kiln {

enum class LossKind : uint8_t {
  kCategoricalCrossentropy = 0,
  kSparseCategoricalCrossentropy = 1,
  kMeanSquaredError = 2,
};
constexpr int kNumLossKinds = 3;

const char* loss_name(LossKind kind);
bool loss_from_name(const std::string& name, LossKind* out);
bool loss_is_sparse(LossKind kind);

// Mean loss over the batch. With from_logits the prediction is pre-softmax
// (cross-entropy only) and the log-softmax is computed stably.
float loss_forward(LossKind kind, bool from_logits, const float* pred, const float* target, int64_t rows,
                   int64_t cols);
// d mean-loss / d pred (or d logits with from_logits).
void loss_backward(LossKind kind, bool from_logits, const float* pred, const float* target, float* grad,
                   int64_t rows, int64_t cols);
// Rows whose prediction matches the target: argmax for multi-class, a 0.5
// threshold for a single output column.
int64_t accuracy_count(LossKind kind, const float* pred, const float* target, int64_t rows, int64_t cols);

}  // namespace kiln
