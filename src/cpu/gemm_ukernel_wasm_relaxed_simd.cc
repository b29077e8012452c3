// WebAssembly relaxed-SIMD micro-kernel: f32x4.relaxed_madd is one fused
// multiply-add on x86 with FMA3 and on ARM, where SIMD128 needs a mul and an
// add, and the 4x8 SIMD128 kernel already runs at the mul+add port limit.
// Linked only into the *-relaxed wasm variants (CMakeLists.txt), which the JS
// loader picks when the engine validates relaxed SIMD.
//
// clang 14 knows the instruction only as the pre-standard f32x4.fma (opcode
// 0xaf); scripts/wasm_standard_relaxed_simd.mjs rewrites it to the standard
// encoding after linking. The operands go in the standard order, a * b + c.
#if defined(__wasm_relaxed_simd__)
#include <wasm_simd128.h>

#include "cpu/gemm_kernels.h"
#include "cpu/gemm_tile_store_wasm.h"

namespace kiln {
namespace {

// kMr rows x kNv vectors of 4 columns.
template <int kMr, int kNv>
void ukernel_wasm_relaxed_simd(int64_t kc, const float* a_first, int64_t rs, int64_t cs, const float* b_panel, float* c,
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
        for (int v = 0; v < kNv; ++v) acc[i][v] = __builtin_wasm_fma_f32x4(ai, bv[v], acc[i][v]);
      }
      a += cs;
      b += 4 * kNv;
    }
    store_tile<kMr, kNv>(acc, c, ldc, store);
  }
}

}  // namespace

const GemmMicroKernel kGemmKernelWasmRelaxedSimd = {"wasm_relaxed_simd_4x8", 4, 8, ukernel_wasm_relaxed_simd<4, 2>};

}  // namespace kiln
#endif
