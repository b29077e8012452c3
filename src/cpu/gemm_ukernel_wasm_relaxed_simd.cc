// WebAssembly relaxed-SIMD micro-kernel: f32x4.relaxed_madd is one fused
// multiply-add on x86 with FMA3 and on ARM, where SIMD128 needs a mul and an
// add. Measured in Node (min of 15 bursts, 1 thread): 35-38 GFLOP/s against
// the SIMD128 4x8 kernel's 28-30; 2x16 was equal, 5x8 and 6x8 slower.
// Linked only into the *-relaxed wasm variants (CMakeLists.txt), which the JS
// loader picks when the engine validates relaxed SIMD.
//
// clang 14 knows the instruction only as the pre-standard f32x4.fma (opcode
// 0xaf); scripts/wasm_standard_relaxed_simd.mjs rewrites it to the standard
// encoding after linking. The operands go in the standard order, a * b + c.
#if defined(__wasm_relaxed_simd__)
#include "cpu/gemm_kernels.h"
#include "cpu/gemm_ukernel_wasm.h"

namespace kiln {
namespace {

void ukernel_wasm_relaxed_simd(int64_t kc, const float* a, int64_t rs, int64_t cs, const float* b, float* c,
                               int64_t ldc, const GemmTileStore& store, int64_t tiles) {
  wasm_ukernel<4, 2>(kc, a, rs, cs, b, c, ldc, store, tiles,
                     [](v128_t x, v128_t y, v128_t acc) { return __builtin_wasm_fma_f32x4(x, y, acc); });
}

}  // namespace

const GemmMicroKernel kGemmKernelWasmRelaxedSimd = {"wasm_relaxed_simd_4x8", 4, 8, ukernel_wasm_relaxed_simd};

}  // namespace kiln
#endif
