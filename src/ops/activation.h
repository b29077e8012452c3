// Activation functions: forward and gradient, by name. Elementwise ones are
// fused into the GEMM epilogue; softmax works on whole rows.
#pragma once
#include <cstdint>
#include <string>

namespace kiln {

enum class Activation : uint8_t { kLinear = 0, kRelu = 1, kSigmoid = 2, kTanh = 3, kSoftmax = 4 };
constexpr int kNumActivations = 5;

const char* activation_name(Activation act);
// Accepts TF.js spellings ("relu", "linear", ...); false when unknown.
bool activation_from_name(const std::string& name, Activation* out);

// y = act(x) in place on n elements (elementwise activations only).
void activation_forward(Activation act, float* x, int64_t n);
// dz = dy * act'(x), written from the activation's output y (in place allowed).
void activation_backward(Activation act, const float* y, const float* dy, float* dz, int64_t n);

// Row-wise softmax of a [rows, cols] matrix, in place, max-subtracted.
void softmax_rows(float* x, int64_t rows, int64_t cols);
// Gradient of row-wise softmax from its output y: dz = y * (dy - sum(dy * y)).
void softmax_rows_backward(const float* y, const float* dy, float* dz, int64_t rows, int64_t cols);

}  // namespace kiln
