// AVX-512 micro-kernel, 8x32: 16 zmm accumulators. Compiled with -mavx512f
// for this file only; chosen at run time when the CPU has AVX-512F.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

// GCC 12 warns inside its own _mm512_max_ps/_mm512_min_ps (an _mm512_undefined_ps
// passthrough it cannot see is overwritten): a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace kiln {
namespace {

constexpr int kMr = 8, kNr = 32;

void ukernel_avx512(int64_t kc, const float* a_first, int64_t rs, int64_t cs, const float* b_panel, float* c,
                    int64_t ldc, const GemmTileStore& store, int64_t tiles) {
  // `tiles` row tiles down the same B panel: tile t reads A from a_first + t * kMr * rs.
  for (int64_t t = 0; t < tiles; ++t, c += kMr * ldc) {
    const float* a = a_first + t * kMr * rs;
    const float* b = b_panel;
    __m512 acc0[kMr], acc1[kMr];
    for (int i = 0; i < kMr; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kc; ++p) {
      __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
      for (int i = 0; i < kMr; ++i) {
        __m512 ai = _mm512_set1_ps(a[i * rs]);
        acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
        acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
      }
      a += cs;
      b += kNr;
    }
    const __m512 bias0 = store.bias ? _mm512_loadu_ps(store.bias) : _mm512_setzero_ps();
    const __m512 bias1 = store.bias ? _mm512_loadu_ps(store.bias + 16) : _mm512_setzero_ps();
    const __m512 lo = _mm512_set1_ps(store.lo), hi = _mm512_set1_ps(store.hi);
    for (int i = 0; i < kMr; ++i) {
      float* ci = c + i * ldc;
      if (store.accumulate) {
        acc0[i] = _mm512_add_ps(acc0[i], _mm512_loadu_ps(ci));
        acc1[i] = _mm512_add_ps(acc1[i], _mm512_loadu_ps(ci + 16));
      }
      acc0[i] = _mm512_add_ps(acc0[i], bias0);
      acc1[i] = _mm512_add_ps(acc1[i], bias1);
      if (store.clamp) {  // max(lo, x) and min(hi, x) return x when it is NaN
        acc0[i] = _mm512_min_ps(hi, _mm512_max_ps(lo, acc0[i]));
        acc1[i] = _mm512_min_ps(hi, _mm512_max_ps(lo, acc1[i]));
      }
      _mm512_storeu_ps(ci, acc0[i]);
      _mm512_storeu_ps(ci + 16, acc1[i]);
    }
  }
}

}  // namespace

const GemmMicroKernel kGemmKernelAvx512 = {"avx512_8x32", kMr, kNr, ukernel_avx512};

}  // namespace kiln
