// Kernels whose constant weights are packed once (prepare), not at every run:
// a convolution's filter as GEMM panels (im2col) or as 16 Winograd planes,
// transformed and packed; a dense layer's kernel as GEMM panels. The packed
// copy is refreshed when the plan's constants version says the weights
// changed. Null where packing does not apply (the plain kernel runs then).
#pragma once
#include <memory>

#include "backends/backend.h"

namespace kiln {

std::unique_ptr<Kernel> packed_conv2d_kernel(const StepBinding& step);
std::unique_ptr<Kernel> packed_gemm_kernel(const StepBinding& step);

}  // namespace kiln
