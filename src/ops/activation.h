// Activation functions: forward and gradient, by name (TF.js semantics).
// Elementwise ones are fused into the GEMM epilogue; softmax and logSoftmax
// work on whole rows and run as their own graph node.
#pragma once
#include <cstdint>
#include <string>

namespace kiln {

// Codes are stored in model files: append new ones at the end.
enum class Activation : uint8_t {
  kLinear = 0, kRelu = 1, kSigmoid = 2, kTanh = 3, kSoftmax = 4,
  kRelu6 = 5, kElu = 6, kSelu = 7, kGelu = 8, kSwish = 9, kMish = 10, kHardSigmoid = 11,
  kSoftplus = 12, kSoftsign = 13, kLogSoftmax = 14, kExponential = 15, kLeakyRelu = 16,
};
constexpr int kNumActivations = 17;

const char* activation_name(Activation act);
// Accepts TF.js spellings ("relu", "linear", ...); false when unknown.
bool activation_from_name(const std::string& name, Activation* out);

// Softmax and logSoftmax: computed over each row, not elementwise.
bool activation_is_rowwise(Activation act);
// gelu, swish, mish: the gradient is not a function of the output, so it is
// computed from the activation's input.
bool activation_grad_needs_input(Activation act);

// y = act(x) in place on n elements (elementwise activations only).
void activation_forward(Activation act, float* x, int64_t n);
// dz = dy * act'(x), from `from`: the activation's output y, or its input x
// where activation_grad_needs_input(act). In place allowed.
void activation_backward(Activation act, const float* from, const float* dy, float* dz, int64_t n);

// Row-wise softmax / logSoftmax of a [rows, cols] matrix, in place, max-subtracted.
void rowwise_forward(Activation act, float* x, int64_t rows, int64_t cols);
// Their gradients from the output y: softmax dz = y * (dy - sum(dy * y)),
// logSoftmax dz = dy - exp(y) * sum(dy).
void rowwise_backward(Activation act, const float* y, const float* dy, float* dz, int64_t rows, int64_t cols);

}  // namespace kiln
