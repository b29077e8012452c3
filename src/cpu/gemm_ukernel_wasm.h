// The wasm micro-kernel body, shared by the SIMD128 and relaxed-SIMD kernel
// files (which differ only in how they multiply-add), with its tile store
// (GemmTileStore: old C, bias, clamp).
#pragma once
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include "cpu/gemm.h"

namespace kiln {

// f32x4.pmax/pmin are one x86 instruction each and keep NaN from x.
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

// kMr rows x kNv vectors of 4 columns; MulAdd(a, b, acc) returns acc + a * b.
// `tiles` row tiles down the same B panel: tile t reads A from a_first + t * kMr * rs.
template <int kMr, int kNv, class MulAdd>
inline void wasm_ukernel(int64_t kc, const float* a_first, int64_t rs, int64_t cs, const float* b_panel, float* c,
                         int64_t ldc, const GemmTileStore& store, int64_t tiles, MulAdd mul_add) {
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
        for (int v = 0; v < kNv; ++v) acc[i][v] = mul_add(ai, bv[v], acc[i][v]);
      }
      a += cs;
      b += 4 * kNv;
    }
    store_tile<kMr, kNv>(acc, c, ldc, store);
  }
}

}  // namespace kiln
#endif
