// WebAssembly SIMD128 micro-kernels. Without relaxed-simd there is no FMA, so
// each step is mul + add. V8 maps v128 values to the 16 xmm registers on x86;
// measured with bench/wasm_gemm.mjs (Node 20, 1 and 2 threads, the MLP
// shapes), 4x8 (8 accumulators) was the most consistent: 25-28 GFLOP/s on one
// thread where 6x8 (12 accumulators, spilling) reached 18-21. 2x16 was close
// on one thread and is kept as the tested alternative.
#if defined(__wasm_simd128__)
#include "cpu/gemm_kernels.h"
#include "cpu/gemm_ukernel_wasm.h"

namespace kiln {
namespace {

template <int kMr, int kNv>
void ukernel_wasm_simd128(int64_t kc, const float* a, int64_t rs, int64_t cs, const float* b, float* c, int64_t ldc,
                          const GemmTileStore& store, int64_t tiles) {
  wasm_ukernel<kMr, kNv>(kc, a, rs, cs, b, c, ldc, store, tiles,
                         [](v128_t x, v128_t y, v128_t acc) { return wasm_f32x4_add(acc, wasm_f32x4_mul(x, y)); });
}

}  // namespace

const GemmMicroKernel kGemmKernelWasmSimd128 = {"wasm_simd128_4x8", 4, 8, ukernel_wasm_simd128<4, 2>};
const GemmMicroKernel kGemmKernelWasmSimd128Wide = {"wasm_simd128_2x16", 2, 16, ukernel_wasm_simd128<2, 4>};

}  // namespace kiln
#endif
