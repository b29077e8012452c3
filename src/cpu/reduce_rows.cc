#include "cpu/reduce_rows.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/thread_pool.h"

namespace kiln {

namespace {

constexpr int kLanes = 8;
// The lanes as two GCC/clang vectors of four: written with a plain float
// array, clang left the wasm build's loop scalar (a compare and select per
// element). Four wide keeps the native ABI free of AVX-sized values.
typedef float Lanes __attribute__((vector_size(4 * sizeof(float))));
typedef int32_t LaneMask __attribute__((vector_size(4 * sizeof(int32_t))));

Lanes load_lanes(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
// where ? b : a, lane by lane.
Lanes select(LaneMask where, Lanes b, Lanes a) { return Lanes((where & LaneMask(b)) | (~where & LaneMask(a))); }

template <RowReduce K>
Lanes combine(Lanes a, Lanes v) {
  if constexpr (K == RowReduce::kMax) return select(a < v, v, a);  // std::max's (a < v ? v : a), NaN included
  else if constexpr (K == RowReduce::kMin) return select(v < a, v, a);
  else if constexpr (K == RowReduce::kSumSquare || K == RowReduce::kL2) return a + v * v;
  else return a + v;
}
template <RowReduce K>
float combine(float a, float v) {
  if constexpr (K == RowReduce::kMax) return std::max(a, v);
  else if constexpr (K == RowReduce::kMin) return std::min(a, v);
  else if constexpr (K == RowReduce::kSumSquare || K == RowReduce::kL2) return a + v * v;
  else return a + v;
}

template <RowReduce K>
float merge(float a, float b) {
  if constexpr (K == RowReduce::kMax) return std::max(a, b);
  else if constexpr (K == RowReduce::kMin) return std::min(a, b);
  else return a + b;
}

template <RowReduce K>
void rows_of(const float* x, int64_t r0, int64_t r1, int64_t len, float* y) {
  constexpr bool extreme = K == RowReduce::kMax || K == RowReduce::kMin;
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = x + r * len;
    Lanes lo = Lanes{} + (extreme ? row[0] : 0.0f), hi = lo;
    int64_t i = 0;
    for (; i + kLanes <= len; i += kLanes) {
      lo = combine<K>(lo, load_lanes(row + i));
      hi = combine<K>(hi, load_lanes(row + i + 4));
    }
    float a = lo[0];
    for (int k = 1; k < 4; ++k) a = merge<K>(a, lo[k]);
    for (int k = 0; k < 4; ++k) a = merge<K>(a, hi[k]);
    for (; i < len; ++i) a = combine<K>(a, row[i]);
    if constexpr (K == RowReduce::kMean) a /= float(len);
    if constexpr (K == RowReduce::kL2) a = std::sqrt(a);
    y[r] = a;
  }
}

template <RowReduce K>
void run(const float* x, int64_t rows, int64_t len, float* y) {
  parallel_range(rows, std::max<int64_t>(1, 32 * 1024 / len), [&](int64_t r0, int64_t r1) { rows_of<K>(x, r0, r1, len, y); });
}

}  // namespace

void reduce_rows(RowReduce kind, const float* x, int64_t rows, int64_t len, float* y) {
  switch (kind) {
    case RowReduce::kSum: return run<RowReduce::kSum>(x, rows, len, y);
    case RowReduce::kMean: return run<RowReduce::kMean>(x, rows, len, y);
    case RowReduce::kMax: return run<RowReduce::kMax>(x, rows, len, y);
    case RowReduce::kMin: return run<RowReduce::kMin>(x, rows, len, y);
    case RowReduce::kSumSquare: return run<RowReduce::kSumSquare>(x, rows, len, y);
    case RowReduce::kL2: return run<RowReduce::kL2>(x, rows, len, y);
  }
}

}  // namespace kiln
