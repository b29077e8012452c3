// WebAssembly SIMD128 micro-kernels. Without relaxed-simd there is no FMA, so
// each step is mul + add. V8 maps v128 values to the 16 xmm registers on x86;
// measured with bench/wasm_gemm.mjs (Node 20, 1 and 2 threads, the MLP
// shapes), 4x8 (8 accumulators) was the most consistent: 25-28 GFLOP/s on one
// thread where 6x8 (12 accumulators, spilling) reached 18-21. 2x16 was close
// on one thread and is kept as the tested alternative.
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include "cpu/gemm_kernels.h"
#include "cpu/gemm_tile_store_wasm.h"

namespace kiln {
namespace {

// kMr rows x kNv vectors of 4 columns.
template <int kMr, int kNv>
void ukernel_wasm_simd128(int64_t kc, const float* a_first, int64_t rs, int64_t cs, const float* b_panel, float* c,
                          int64_t ldc, const GemmTileStore& store, int64_t tiles) {
  // `tiles` row tiles down the same B panel: tile t reads A from a_first + t * kMr * rs.
  for (int64_t t = 0; t < tiles; ++t, c += kMr * ldc) {
    const float* a = a_first + t * kMr * rs;
    const float* b = b_panel;
    v128_t acc[kMr][kNv];
    for (int i = 0; i < kMr; ++i)
      for (int v = 0; v < kNv; ++v) acc[i][v] = wasm_f32x4_splat(0.0f);
    for (int64_t p = 0; p < kc; ++p) {
      v128_t bv[kNv];
      for (int v = 0; v < kNv; ++v) bv[v] = wasm_v128_load(b + 4 * v);
      for (int i = 0; i < kMr; ++i) {
        v128_t ai = wasm_v128_load32_splat(a + i * rs);
        for (int v = 0; v < kNv; ++v) acc[i][v] = wasm_f32x4_add(acc[i][v], wasm_f32x4_mul(ai, bv[v]));
      }
      a += cs;
      b += 4 * kNv;
    }
    store_tile<kMr, kNv>(acc, c, ldc, store);
  }
}

}  // namespace

const GemmMicroKernel kGemmKernelWasmSimd128 = {"wasm_simd128_4x8", 4, 8, ukernel_wasm_simd128<4, 2>};
const GemmMicroKernel kGemmKernelWasmSimd128Wide = {"wasm_simd128_2x16", 2, 16, ukernel_wasm_simd128<2, 4>};

}  // namespace kiln
#endif
