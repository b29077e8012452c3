// WebAssembly SIMD128 micro-kernel, 6x8: 12 v128 accumulators, two B vectors
// and one broadcast fit the 16 xmm registers V8 maps them to on x86.
// Without relaxed-simd there is no FMA, so each step is mul + add.
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include "cpu/gemm_kernels.h"

namespace kiln {
namespace {

constexpr int kMr = 6, kNr = 8;

void ukernel_wasm_simd128(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                          bool accumulate) {
  v128_t acc0[kMr], acc1[kMr];
  for (int i = 0; i < kMr; ++i) acc0[i] = acc1[i] = wasm_f32x4_splat(0.0f);
  for (int64_t p = 0; p < kc; ++p) {
    v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    for (int i = 0; i < kMr; ++i) {
      v128_t ai = wasm_f32x4_splat(a[i]);
      acc0[i] = wasm_f32x4_add(acc0[i], wasm_f32x4_mul(ai, b0));
      acc1[i] = wasm_f32x4_add(acc1[i], wasm_f32x4_mul(ai, b1));
    }
    a += kMr;
    b += kNr;
  }
  for (int i = 0; i < kMr; ++i) {
    float* ci = c + i * ldc;
    if (accumulate) {
      acc0[i] = wasm_f32x4_add(acc0[i], wasm_v128_load(ci));
      acc1[i] = wasm_f32x4_add(acc1[i], wasm_v128_load(ci + 4));
    }
    wasm_v128_store(ci, acc0[i]);
    wasm_v128_store(ci + 4, acc1[i]);
  }
}

}  // namespace

const GemmMicroKernel kGemmKernelWasmSimd128 = {"wasm_simd128_6x8", kMr, kNr, ukernel_wasm_simd128};

}  // namespace kiln
#endif
