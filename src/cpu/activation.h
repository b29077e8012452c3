// Activation functions: forward and gradient, by name (TF.js semantics).
// Elementwise ones are fused into the GEMM epilogue; softmax and logSoftmax
// work on whole rows and run as their own graph node. CPU kernels: the
// Activation codes and names are vocabulary in src/core/activation.h.
#pragma once
#include <cstdint>

#include "core/activation.h"

namespace kiln {

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
