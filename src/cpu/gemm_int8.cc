#include "cpu/gemm_int8.h"

#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

namespace kiln {

namespace {

constexpr int kRows = 4;  // rows per micro-kernel call

void ukernel_scalar(int64_t k_pairs, const int16_t* a, int64_t lda, int rows, const int16_t* panel, int32_t* c,
                    int64_t ldc, int cols) {
  for (int r = 0; r < rows; ++r) {
    int32_t acc[kInt8PanelCols] = {};
    const int16_t* ar = a + r * lda;
    for (int64_t q = 0; q < k_pairs; ++q) {
      const int16_t* bq = panel + q * 2 * kInt8PanelCols;
      for (int j = 0; j < kInt8PanelCols; ++j) acc[j] += int32_t(ar[2 * q]) * bq[2 * j] + int32_t(ar[2 * q + 1]) * bq[2 * j + 1];
    }
    for (int j = 0; j < cols; ++j) c[r * ldc + j] = acc[j];
  }
}

#if defined(__wasm_simd128__)
// 4 rows x 8 columns: 8 accumulators, two panel vectors and a splat of one
// row's K pair per step; i32x4.dot_i16x8_s does 8 multiply-adds.
void ukernel_wasm_simd128(int64_t k_pairs, const int16_t* a, int64_t lda, int rows, const int16_t* panel, int32_t* c,
                          int64_t ldc, int cols) {
  const int16_t* ar[kRows];
  for (int r = 0; r < kRows; ++r) ar[r] = a + std::min(r, rows - 1) * lda;  // short tiles repeat the last row
  v128_t acc[kRows][2];
  for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = wasm_i32x4_splat(0);
  for (int64_t q = 0; q < k_pairs; ++q) {
    const v128_t b0 = wasm_v128_load(panel + q * 16), b1 = wasm_v128_load(panel + q * 16 + 8);
    for (int r = 0; r < kRows; ++r) {
      const v128_t x = wasm_v128_load32_splat(ar[r] + 2 * q);
      acc[r][0] = wasm_i32x4_add(acc[r][0], wasm_i32x4_dot_i16x8(x, b0));
      acc[r][1] = wasm_i32x4_add(acc[r][1], wasm_i32x4_dot_i16x8(x, b1));
    }
  }
  for (int r = 0; r < rows; ++r) {
    if (cols == kInt8PanelCols) {
      wasm_v128_store(c + r * ldc, acc[r][0]);
      wasm_v128_store(c + r * ldc + 4, acc[r][1]);
    } else {
      int32_t tmp[kInt8PanelCols];
      wasm_v128_store(tmp, acc[r][0]);
      wasm_v128_store(tmp + 4, acc[r][1]);
      std::memcpy(c + r * ldc, tmp, size_t(cols) * sizeof(int32_t));
    }
  }
}
#endif

struct Kernel {
  const char* name;
  Int8MicroKernel fn;
};

Kernel choose_kernel() {
#if defined(__wasm_simd128__)
  return {"wasm_simd128_4x8", ukernel_wasm_simd128};
#else
#if defined(KILN_HAVE_X86_KERNELS)
  if (__builtin_cpu_supports("avx2")) return {"avx2_4x8", gemm_int8_ukernel_avx2};
#endif
  return {"scalar_4x8", ukernel_scalar};
#endif
}

const Kernel g_kernel = choose_kernel();

}  // namespace

const char* gemm_int8_kernel_name() { return g_kernel.name; }

int64_t int8_packed_size(int64_t k, int64_t n) {
  return (n + kInt8PanelCols - 1) / kInt8PanelCols * ((k + 1) / 2) * 2 * kInt8PanelCols;
}

Int8PackedB int8_packed_view(const int16_t* panels, int64_t k, int64_t n) { return {k, n, (k + 1) / 2, panels}; }

void pack_int8_b(const Int8Matrix& b, bool transposed, int64_t k, int64_t n, const int32_t* b_zero, bool zero_per_column,
                 std::vector<int16_t>* storage, Int8PackedB* out) {
  storage->assign(size_t(int8_packed_size(k, n)), 0);
  *out = int8_packed_view(storage->data(), k, n);
  const int64_t panels = (n + kInt8PanelCols - 1) / kInt8PanelCols;
  for (int64_t p = 0; p < panels; ++p) {
    int16_t* dst = storage->data() + p * out->k_pairs * 2 * kInt8PanelCols;
    for (int j = 0; j < kInt8PanelCols && p * kInt8PanelCols + j < n; ++j) {
      const int64_t col = p * kInt8PanelCols + j;
      const int32_t zero = b_zero ? b_zero[zero_per_column ? col : 0] : 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        const int64_t at = transposed ? col * b.ld + kk : kk * b.ld + col;
        dst[(kk / 2) * 2 * kInt8PanelCols + 2 * j + (kk & 1)] = int16_t(b.at(at) - zero);
      }
    }
  }
}

void widen_int8_rows(const Int8Matrix& a, int64_t m, int64_t k, const int32_t* a_zero, bool zero_per_row, int64_t k_pairs,
                     int16_t* out) {
  for (int64_t i = 0; i < m; ++i) {
    const int32_t zero = a_zero ? a_zero[zero_per_row ? i : 0] : 0;
    int16_t* row = out + i * 2 * k_pairs;
    if (a.is_signed) {
      const int8_t* src = static_cast<const int8_t*>(a.data) + i * a.ld;
      for (int64_t kk = 0; kk < k; ++kk) row[kk] = int16_t(src[kk] - zero);
    } else {
      const uint8_t* src = static_cast<const uint8_t*>(a.data) + i * a.ld;
      for (int64_t kk = 0; kk < k; ++kk) row[kk] = int16_t(src[kk] - zero);
    }
    for (int64_t kk = k; kk < 2 * k_pairs; ++kk) row[kk] = 0;
  }
}

void gemm_int8(const int16_t* a16, int64_t m, const Int8PackedB& b, int32_t* c, int64_t ldc) {
  if (m <= 0 || b.n <= 0) return;
  const int64_t lda = 2 * b.k_pairs, panels = (b.n + kInt8PanelCols - 1) / kInt8PanelCols;
  const int64_t row_blocks = (m + kRows - 1) / kRows, panel_size = b.k_pairs * 2 * kInt8PanelCols;
  auto run = [&](int64_t rb0, int64_t rb1, int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int cols = int(std::min<int64_t>(kInt8PanelCols, b.n - p * kInt8PanelCols));
      for (int64_t rb = rb0; rb < rb1; ++rb) {
        const int rows = int(std::min<int64_t>(kRows, m - rb * kRows));
        g_kernel.fn(b.k_pairs, a16 + rb * kRows * lda, lda, rows, b.panels + p * panel_size,
                    c + rb * kRows * ldc + p * kInt8PanelCols, ldc, cols);
      }
    }
  };
  ThreadPool& pool = ThreadPool::global();
  const int threads = pool.num_threads();
  // Small products run on the calling thread: waking the pool costs more.
  if (threads == 1 || m * b.n * b.k < (int64_t(1) << 18)) return run(0, row_blocks, 0, panels);
  // Split the columns when there are enough panels (each B panel read by one
  // thread), else the rows.
  const bool by_panels = panels >= 2 * threads || panels >= row_blocks;
  const int64_t units = by_panels ? panels : row_blocks;
  const int tasks = int(std::min<int64_t>(units, int64_t(threads) * 2));
  pool.parallel_for(tasks, [&](int t) {
    const int64_t u0 = units * t / tasks, u1 = units * (t + 1) / tasks;
    if (by_panels) run(0, row_blocks, u0, u1);
    else run(u0, u1, 0, panels);
  });
}

}  // namespace kiln
