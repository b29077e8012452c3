#include "ops/activation.h"

#include <algorithm>
#include <cmath>

#include "core/enum_names.h"

namespace kiln {

const char* activation_name(Activation act) {
  switch (act) {
    case Activation::kLinear: return "linear";
    case Activation::kRelu: return "relu";
    case Activation::kSigmoid: return "sigmoid";
    case Activation::kTanh: return "tanh";
    case Activation::kSoftmax: return "softmax";
  }
  return "?";
}

bool activation_from_name(const std::string& name, Activation* out) {
  return enum_from_name(name, kNumActivations, activation_name, out);
}

static inline float sigmoid(float x) {
  // Branches keep exp() from overflowing for large |x|.
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  float e = std::exp(x);
  return e / (1.0f + e);
}

void activation_forward(Activation act, float* x, int64_t n) {
  switch (act) {
    case Activation::kLinear:
    case Activation::kSoftmax:  // row-wise: handled by softmax_rows
      return;
    case Activation::kRelu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
      return;
    case Activation::kSigmoid:
      for (int64_t i = 0; i < n; ++i) x[i] = sigmoid(x[i]);
      return;
    case Activation::kTanh:
      for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
      return;
  }
}

void activation_backward(Activation act, const float* y, const float* dy, float* dz, int64_t n) {
  switch (act) {
    case Activation::kLinear:
    case Activation::kSoftmax:
      for (int64_t i = 0; i < n; ++i) dz[i] = dy[i];
      return;
    case Activation::kRelu:
      for (int64_t i = 0; i < n; ++i) dz[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      return;
    case Activation::kSigmoid:
      for (int64_t i = 0; i < n; ++i) dz[i] = dy[i] * y[i] * (1.0f - y[i]);
      return;
    case Activation::kTanh:
      for (int64_t i = 0; i < n; ++i) dz[i] = dy[i] * (1.0f - y[i] * y[i]);
      return;
  }
}

void softmax_rows(float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    float mx = row[0];
    for (int64_t c = 1; c < cols; ++c) mx = std::max(mx, row[c]);
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; ++c) {
      row[c] = std::exp(row[c] - mx);
      sum += row[c];
    }
    float inv = 1.0f / sum;
    for (int64_t c = 0; c < cols; ++c) row[c] *= inv;
  }
}

void softmax_rows_backward(const float* y, const float* dy, float* dz, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float dot = 0.0f;
    for (int64_t c = 0; c < cols; ++c) dot += yr[c] * dyr[c];
    float* dzr = dz + r * cols;
    for (int64_t c = 0; c < cols; ++c) dzr[c] = yr[c] * (dyr[c] - dot);
  }
}

}  // namespace kiln
