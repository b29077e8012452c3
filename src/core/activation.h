// Activation functions: the vocabulary (core) that layers, the graph, the
// CPU kernels (the GEMM and conv epilogues) and the ONNX runtime share: the
// Activation codes, their TF.js names, and what kind of kernel each needs.
// The kernels themselves (forward and gradient) are in src/cpu/activation.h.
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

}  // namespace kiln
