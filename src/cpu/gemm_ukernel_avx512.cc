// AVX-512 micro-kernel, 8x32: 16 zmm accumulators. Compiled with -mavx512f
// for this file only; chosen at run time when the CPU has AVX-512F.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace kiln {
namespace {

constexpr int kMr = 8, kNr = 32;

void ukernel_avx512(int64_t kc, const float* a, int64_t rs, int64_t cs, const float* b, float* c, int64_t ldc,
                    bool accumulate) {
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
  for (int i = 0; i < kMr; ++i) {
    float* ci = c + i * ldc;
    if (accumulate) {
      acc0[i] = _mm512_add_ps(acc0[i], _mm512_loadu_ps(ci));
      acc1[i] = _mm512_add_ps(acc1[i], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, acc0[i]);
    _mm512_storeu_ps(ci + 16, acc1[i]);
  }
}

}  // namespace

const GemmMicroKernel kGemmKernelAvx512 = {"avx512_8x32", kMr, kNr, ukernel_avx512};

}  // namespace kiln
