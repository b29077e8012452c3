// cpu/gemm_int8.h against a plain triple loop in int64: uint8 and int8
// operands, scalar and per-row / per-column zero points, B given as is or
// transposed, shapes that leave partial tiles (rows % 4, columns % 8, odd K)
// and products large enough to be split over the thread pool.
#include "cpu/gemm_int8.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/thread_pool.h"

namespace kiln {
namespace {

TEST(GemmInt8, MatchesAPlainLoopForEverySignZeroPointAndShape) {
  std::mt19937 rng(11);
  struct Shape {
    int64_t m, k, n;
  };
  const Shape shapes[] = {{1, 1, 1},    {3, 5, 7},     {4, 8, 8},      {5, 17, 9},
                          {13, 64, 33}, {1, 768, 768}, {70, 300, 130}, {257, 31, 3}};
  int checked = 0;
  ThreadPool& pool = ThreadPool::global();
  const int threads_before = pool.num_threads();
  for (int threads : {1, 3}) {
    pool.resize(threads);
    for (const Shape& s : shapes)
      for (int signs = 0; signs < 4; ++signs)
        for (bool transposed : {false, true}) {
          const bool a_signed = signs & 1, b_signed = signs & 2;
          std::vector<uint8_t> a(size_t(s.m * s.k)), b(size_t(s.k * s.n));
          for (uint8_t& v : a) v = uint8_t(rng());
          for (uint8_t& v : b) v = uint8_t(rng());
          auto value = [](const std::vector<uint8_t>& v, size_t i, bool is_signed) {
            return is_signed ? int64_t(int8_t(v[i])) : int64_t(v[i]);
          };
          std::vector<int32_t> az(size_t(s.m)), bz(size_t(s.n));
          for (int32_t& z : az) z = a_signed ? int32_t(rng() % 256) - 128 : int32_t(rng() % 256);
          for (int32_t& z : bz) z = b_signed ? int32_t(rng() % 256) - 128 : int32_t(rng() % 256);
          const bool per_row = (s.m + signs) % 2 == 0, per_col = transposed;
          Int8PackedB packed;
          std::vector<int16_t> storage;
          pack_int8_b({b.data(), b_signed, transposed ? s.k : s.n}, transposed, s.k, s.n, bz.data(), per_col, &storage,
                      &packed);
          std::vector<int16_t> a16(size_t(s.m * 2 * packed.k_pairs));
          widen_int8_rows({a.data(), a_signed, s.k}, s.m, s.k, az.data(), per_row, packed.k_pairs, a16.data());
          std::vector<int32_t> c(size_t(s.m * (s.n + 3)), -7);  // ldc > n: the gap must stay untouched
          gemm_int8(a16.data(), s.m, packed, c.data(), s.n + 3);
          for (int64_t i = 0; i < s.m; ++i) {
            for (int64_t j = 0; j < s.n; ++j) {
              int64_t want = 0;
              for (int64_t q = 0; q < s.k; ++q) {
                const int64_t bv = value(b, size_t(transposed ? j * s.k + q : q * s.n + j), b_signed);
                want += (value(a, size_t(i * s.k + q), a_signed) - az[size_t(per_row ? i : 0)]) *
                        (bv - bz[size_t(per_col ? j : 0)]);
              }
              ASSERT_EQ(c[size_t(i * (s.n + 3) + j)], want)
                  << s.m << "x" << s.k << "x" << s.n << " signs " << signs << " at " << i << "," << j;
            }
            for (int64_t j = s.n; j < s.n + 3; ++j) ASSERT_EQ(c[size_t(i * (s.n + 3) + j)], -7);
          }
          ++checked;
        }
  }
  pool.resize(threads_before);
  EXPECT_EQ(checked, 128);
  std::printf("[gemm_int8] kernel %s, checked on 1 and 3 threads\n", gemm_int8_kernel_name());
}

}  // namespace
}  // namespace kiln
