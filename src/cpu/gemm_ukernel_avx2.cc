// AVX2 + FMA micro-kernel, 6x16: 12 ymm accumulators. Compiled with
// -mavx2 -mfma for this file only; chosen at run time when the CPU has them.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace kiln {
namespace {

constexpr int kMr = 6, kNr = 16;

void ukernel_avx2(int64_t kc, const float* a_first, int64_t rs, int64_t cs, const float* b_panel, float* c, int64_t ldc,
                  const GemmTileStore& store, int64_t tiles) {
  // `tiles` row tiles down the same B panel: tile t reads A from a_first + t * kMr * rs.
  for (int64_t t = 0; t < tiles; ++t, c += kMr * ldc) {
    const float* a = a_first + t * kMr * rs;
    const float* b = b_panel;
    __m256 acc0[kMr], acc1[kMr];
    for (int i = 0; i < kMr; ++i) acc0[i] = acc1[i] = _mm256_setzero_ps();
    for (int64_t p = 0; p < kc; ++p) {
      __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
      for (int i = 0; i < kMr; ++i) {
        __m256 ai = _mm256_broadcast_ss(a + i * rs);
        acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
        acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
      }
      a += cs;
      b += kNr;
    }
    const __m256 bias0 = store.bias ? _mm256_loadu_ps(store.bias) : _mm256_setzero_ps();
    const __m256 bias1 = store.bias ? _mm256_loadu_ps(store.bias + 8) : _mm256_setzero_ps();
    const __m256 lo = _mm256_set1_ps(store.lo), hi = _mm256_set1_ps(store.hi);
    for (int i = 0; i < kMr; ++i) {
      float* ci = c + i * ldc;
      if (store.accumulate) {
        acc0[i] = _mm256_add_ps(acc0[i], _mm256_loadu_ps(ci));
        acc1[i] = _mm256_add_ps(acc1[i], _mm256_loadu_ps(ci + 8));
      }
      acc0[i] = _mm256_add_ps(acc0[i], bias0);
      acc1[i] = _mm256_add_ps(acc1[i], bias1);
      if (store.clamp) {  // max(lo, x) and min(hi, x) return x when it is NaN
        acc0[i] = _mm256_min_ps(hi, _mm256_max_ps(lo, acc0[i]));
        acc1[i] = _mm256_min_ps(hi, _mm256_max_ps(lo, acc1[i]));
      }
      _mm256_storeu_ps(ci, acc0[i]);
      _mm256_storeu_ps(ci + 8, acc1[i]);
    }
  }
}

}  // namespace

const GemmMicroKernel kGemmKernelAvx2 = {"avx2_6x16", kMr, kNr, ukernel_avx2};

}  // namespace kiln
