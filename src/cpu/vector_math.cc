#include "cpu/vector_math.h"

#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"

namespace kiln {

namespace {
// Elementwise passes shorter than this stay on the calling thread.
constexpr int64_t kMinTaskFloats = 32 * 1024;
}  // namespace

void vexp(const float* x, float* y, int64_t n) {
  parallel_range(n, kMinTaskFloats, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) y[i] = vexp1(x[i]);
  });
}

void verf(const float* x, float* y, int64_t n) {
  parallel_range(n, kMinTaskFloats, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) y[i] = verf1(x[i]);
  });
}

void vtanh(const float* x, float* y, int64_t n) {
  parallel_range(n, kMinTaskFloats, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) y[i] = vtanh1(x[i]);
  });
}

void vsigmoid(const float* x, float* y, int64_t n) {
  parallel_range(n, kMinTaskFloats, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) y[i] = 1.0f / (1.0f + vexp1(-x[i]));
  });
}

namespace {
// Max and sum of a row in 8 independent lanes: without reassociation the
// compiler keeps a single serial chain; lanes let it vectorize.
constexpr int kLanes = 8;
float row_max(const float* v, int64_t n) {
  float lane[kLanes];
  for (float& l : lane) l = v[0];
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) lane[k] = std::max(lane[k], v[i + k]);
  float m = lane[0];
  for (int k = 1; k < kLanes; ++k) m = std::max(m, lane[k]);
  for (; i < n; ++i) m = std::max(m, v[i]);
  return m;
}
float row_sum(const float* v, int64_t n) {
  float lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) lane[k] += v[i + k];
  float s = 0.0f;
  for (int k = 0; k < kLanes; ++k) s += lane[k];
  for (; i < n; ++i) s += v[i];
  return s;
}
// out[i] = exp(in[i] - shift): one vectorizable pass.
// Kept out of line: inlined into the row loop below, compilers leave it scalar.
__attribute__((noinline)) void exp_shifted(const float* in, float* out, int64_t n, float shift) {
  for (int64_t i = 0; i < n; ++i) out[i] = vexp1(in[i] - shift);
}
}  // namespace

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols, bool log) {
  if (cols <= 0) return;
  parallel_range(rows, std::max<int64_t>(1, kMinTaskFloats / cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* in = x + r * cols;
      float* out = y + r * cols;
      const float mx = row_max(in, cols);
      if (log) {  // in may be out: the exponentials go through a small buffer
        float buffer[256], sum = 0.0f;
        for (int64_t c = 0; c < cols; c += 256) {
          const int64_t m = std::min<int64_t>(256, cols - c);
          exp_shifted(in + c, buffer, m, mx);
          sum += row_sum(buffer, m);
        }
        const float shift = mx + std::log(sum);
        for (int64_t c = 0; c < cols; ++c) out[c] = in[c] - shift;
        continue;
      }
      exp_shifted(in, out, cols, mx);
      const float inv = 1.0f / row_sum(out, cols);
      for (int64_t c = 0; c < cols; ++c) out[c] *= inv;
    }
  });
}

}  // namespace kiln
