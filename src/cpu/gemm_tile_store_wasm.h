// The wasm micro-kernels' tile store (GemmTileStore): old C, bias, clamp.
// f32x4.pmax/pmin are one x86 instruction each and keep NaN from x.
#pragma once
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include "cpu/gemm.h"

namespace kiln {

template <int kMr, int kNv>
inline void store_tile(v128_t (&acc)[kMr][kNv], float* c, int64_t ldc, const GemmTileStore& store) {
  v128_t bias[kNv];
  for (int v = 0; v < kNv; ++v) bias[v] = store.bias ? wasm_v128_load(store.bias + 4 * v) : wasm_f32x4_splat(0.0f);
  const v128_t lo = wasm_f32x4_splat(store.lo), hi = wasm_f32x4_splat(store.hi);
  for (int i = 0; i < kMr; ++i) {
    float* ci = c + i * ldc;
    for (int v = 0; v < kNv; ++v) {
      v128_t x = acc[i][v];
      if (store.accumulate) x = wasm_f32x4_add(x, wasm_v128_load(ci + 4 * v));
      if (store.bias) x = wasm_f32x4_add(x, bias[v]);
      if (store.clamp) x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, lo), hi);
      wasm_v128_store(ci + 4 * v, x);
    }
  }
}

}  // namespace kiln
#endif
