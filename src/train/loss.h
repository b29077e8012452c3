// Losses (forward value and gradient) and metrics, with TF.js names and
// formulas. Predictions are [batch, classes]; targets are one-hot / real-valued
// [batch, classes] or, for the sparse loss, class indices [batch] or [batch, 1].
#pragma once
#include <cstdint>
#include <string>

#include "core/activation.h"

namespace kiln {

enum class LossKind : uint8_t {
  kCategoricalCrossentropy = 0,
  kSparseCategoricalCrossentropy = 1,
  kMeanSquaredError = 2,
  // Codes are stored in model files: append new ones at the end.
  kBinaryCrossentropy = 3,
  kMeanAbsoluteError = 4,
  kHuberLoss = 5,
  kHinge = 6,
  kKullbackLeiblerDivergence = 7,
  kCosineProximity = 8,
  kSquaredHinge = 9,
  kCategoricalHinge = 10,
  kLogcosh = 11,
  kMeanSquaredLogarithmicError = 12,
  kMeanAbsolutePercentageError = 13,
  kPoisson = 14,
};
constexpr int kNumLossKinds = 15;

const char* loss_name(LossKind kind);
bool loss_from_name(const std::string& name, LossKind* out);
bool loss_is_sparse(LossKind kind);
// True where the loss is computed from the logits of this output activation:
// softmax with (sparse) categorical cross-entropy, sigmoid with binary cross-entropy.
bool loss_fuses_with(LossKind kind, Activation output_activation);

// Mean loss over the batch (per row: TF.js's reduction over the last axis).
// With from_logits the prediction is the pre-softmax (cross-entropy) or
// pre-sigmoid (binary cross-entropy) value and the loss is computed stably.
float loss_forward(LossKind kind, bool from_logits, const float* pred, const float* target, int64_t rows,
                   int64_t cols);
// d mean-loss / d pred (or d logits with from_logits).
void loss_backward(LossKind kind, bool from_logits, const float* pred, const float* target, float* grad,
                   int64_t rows, int64_t cols);
// Metrics, by their TF.js names ('acc' is accepted for accuracy).
enum class Metric : uint8_t {
  kAccuracy = 0,  // follows the loss: binaryAccuracy, sparseCategoricalAccuracy or categoricalAccuracy
  kBinaryAccuracy = 1,
  kCategoricalAccuracy = 2,
  kSparseCategoricalAccuracy = 3,
  kPrecision = 4,  // binary outputs, prediction > 0.5 is positive, target == 1 is positive
  kRecall = 5,
};
constexpr int kNumMetrics = 6;
const char* metric_name(Metric metric);
bool metric_from_name(const std::string& name, Metric* out);
// Whether the metric can read this loss's targets (class indices or not).
bool metric_fits_loss(Metric metric, LossKind kind);

// A batch's metric as a ratio: out[0] / out[1] (0 when out[1] is 0). Sums of
// both over batches give the metric over all of them. Accuracies count rows
// (a row's binary accuracy is the fraction of its columns on the right side of
// 0.5); precision is TP / (TP + FP) and recall TP / (TP + FN), over elements.
void metric_ratio(Metric metric, LossKind kind, const float* pred, const float* target, int64_t rows, int64_t cols,
                  float out[2]);

}  // namespace kiln
