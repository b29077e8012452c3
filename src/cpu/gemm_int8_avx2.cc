// The AVX2 micro-kernel of cpu/gemm_int8.h: 4 rows x 8 columns, one
// vpmaddwd per row and K pair (8 columns x 2 K steps of int16 in one ymm).
#include <immintrin.h>

#include <cstring>

#include "cpu/gemm_int8.h"

namespace kiln {

void gemm_int8_ukernel_avx2(int64_t k_pairs, const int16_t* a, int64_t lda, int rows, const int16_t* panel, int32_t* c,
                            int64_t ldc, int cols) {
  constexpr int kRows = 4;
  const int16_t* ar[kRows];
  for (int r = 0; r < kRows; ++r) ar[r] = a + (r < rows ? r : rows - 1) * lda;  // short tiles repeat the last row
  __m256i acc[kRows];
  for (int r = 0; r < kRows; ++r) acc[r] = _mm256_setzero_si256();
  for (int64_t q = 0; q < k_pairs; ++q) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + q * 16));
    for (int r = 0; r < kRows; ++r) {
      int32_t pair;
      std::memcpy(&pair, ar[r] + 2 * q, sizeof(pair));
      acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(_mm256_set1_epi32(pair), b));
    }
  }
  for (int r = 0; r < rows; ++r) {
    if (cols == kInt8PanelCols) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc), acc[r]);
    } else {
      int32_t tmp[kInt8PanelCols];
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tmp), acc[r]);
      std::memcpy(c + r * ldc, tmp, size_t(cols) * sizeof(int32_t));
    }
  }
}

}  // namespace kiln
