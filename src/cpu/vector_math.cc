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

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols, bool log) {
  if (cols <= 0) return;
  parallel_range(rows, std::max<int64_t>(1, kMinTaskFloats / cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* in = x + r * cols;
      float* out = y + r * cols;
      float mx = in[0];
      for (int64_t c = 1; c < cols; ++c) mx = std::max(mx, in[c]);
      float sum = 0.0f;
      if (log) {  // in may be out: read it whole before writing
        for (int64_t c = 0; c < cols; ++c) sum += vexp1(in[c] - mx);
        const float shift = mx + std::log(sum);
        for (int64_t c = 0; c < cols; ++c) out[c] = in[c] - shift;
        continue;
      }
      for (int64_t c = 0; c < cols; ++c) {
        out[c] = vexp1(in[c] - mx);
        sum += out[c];
      }
      const float inv = 1.0f / sum;
      for (int64_t c = 0; c < cols; ++c) out[c] *= inv;
    }
  });
}

}  // namespace kiln
