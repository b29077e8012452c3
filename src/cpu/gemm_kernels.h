// Micro-kernel registry, one entry per ISA file (gemm_ukernel_<isa>.cc).
#pragma once
#include "cpu/gemm.h"

namespace kiln {

extern const GemmMicroKernel kGemmKernelScalar;
#if defined(__wasm_simd128__)
extern const GemmMicroKernel kGemmKernelWasmSimd128;
extern const GemmMicroKernel kGemmKernelWasmSimd128Wide;
// Weak: defined only in the *-relaxed variants (gemm_ukernel_wasm_relaxed_simd.cc);
// its address is null elsewhere.
extern const GemmMicroKernel kGemmKernelWasmRelaxedSimd __attribute__((weak));
#endif
#if defined(KILN_HAVE_X86_KERNELS)
extern const GemmMicroKernel kGemmKernelAvx2;
extern const GemmMicroKernel kGemmKernelAvx512;
#endif

}  // namespace kiln
