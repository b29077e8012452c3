#include "cpu/vector_math.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#include "core/thread_pool.h"

namespace kiln {

namespace {
// Elementwise passes shorter than this stay on the calling thread.
constexpr int64_t kMinTaskFloats = 32 * 1024;
}  // namespace

#if defined(__wasm_simd128__)
// vexp1 on four lanes, written out: clang vectorizes vexp1's loop one vector
// at a time, and V8 then waits on each step's latency; two vectors per
// iteration (below) overlap them. The same operations in the same order as
// vexp1, so the results are identical.
// e^r for r = x - n ln2 (Cody and Waite), by vexp1's degree-6 polynomial.
inline v128_t exp_reduced4(v128_t x, v128_t n) {
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693145751953125f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(1.428606765330187045e-06f)));
  v128_t p = wasm_f32x4_splat(1.0f / 720.0f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 120.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 24.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 6.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  return wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
}
inline v128_t vexp4(v128_t in) {
  const v128_t lo = wasm_f32x4_splat(-87.33654f), magic = wasm_f32x4_splat(12582912.0f);
  const v128_t x = wasm_f32x4_pmin(wasm_f32x4_splat(88.72283f), wasm_f32x4_pmax(lo, in));
  const v128_t n = wasm_f32x4_sub(wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)), magic), magic);
  const v128_t p = exp_reduced4(x, n);
  const v128_t ni = wasm_i32x4_trunc_sat_f32x4(n), half = wasm_i32x4_shr(ni, 1), bias = wasm_i32x4_splat(127);
  const v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(half, bias), 23);
  const v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_sub(ni, half), bias), 23);
  v128_t e = wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
  e = wasm_v128_bitselect(wasm_f32x4_splat(0.0f), e, wasm_f32x4_lt(in, lo));
  e = wasm_v128_bitselect(wasm_f32x4_splat(HUGE_VALF), e, wasm_f32x4_gt(in, wasm_f32x4_splat(88.72283f)));
  return wasm_v128_bitselect(e, in, wasm_f32x4_eq(in, in));
}

// verf1 and vtanh1 on four lanes, the same operations in the same order
// (pmin / pmax choose as std::min / std::max do), so the same results: clang
// leaves their clamps and selects scalar in wasm, a few times slower.
inline v128_t poly4(v128_t x2, std::initializer_list<float> c) {
  auto it = c.begin();
  v128_t p = wasm_f32x4_splat(*it++);
  for (; it != c.end(); ++it) p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), wasm_f32x4_splat(*it));
  return p;
}
inline v128_t verf4(v128_t x) {
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, wasm_f32x4_splat(-4.0f)), wasm_f32x4_splat(4.0f));
  const v128_t x2 = wasm_f32x4_mul(x, x);
  const v128_t p = poly4(x2, {-2.72614225801306e-10f, 2.77068142495902e-08f, -2.10102402082508e-06f, -5.69250639462346e-05f,
                              -7.34990630326855e-04f, -2.95459980854025e-03f, -1.60960333262415e-02f});
  const v128_t q = poly4(x2, {-1.45660718464996e-05f, -2.13374055278905e-04f, -1.68282697438203e-03f, -7.37332916720468e-03f,
                              -1.42647390514189e-02f});
  return wasm_f32x4_div(wasm_f32x4_mul(x, p), q);
}
inline v128_t vtanh4(v128_t x) {
  const v128_t ax = wasm_f32x4_abs(x), x2 = wasm_f32x4_mul(x, x);
  const v128_t p = poly4(x2, {-929569.0f / 638512875.0f, 21844.0f / 6081075.0f, -1382.0f / 155925.0f, 62.0f / 2835.0f,
                              -17.0f / 315.0f, 2.0f / 15.0f, -1.0f / 3.0f});
  const v128_t near = wasm_f32x4_add(x, wasm_f32x4_mul(wasm_f32x4_mul(x, x2), p));
  const v128_t one = wasm_f32x4_splat(1.0f);
  const v128_t e = vexp4(wasm_f32x4_mul(wasm_f32x4_splat(2.0f), wasm_f32x4_pmin(ax, wasm_f32x4_splat(9.0f))));
  const v128_t far = wasm_f32x4_sub(one, wasm_f32x4_div(wasm_f32x4_splat(2.0f), wasm_f32x4_add(e, one)));
  const v128_t sided = wasm_v128_bitselect(wasm_f32x4_neg(far), far, wasm_f32x4_lt(x, wasm_f32x4_splat(0.0f)));
  return wasm_v128_bitselect(near, sided, wasm_f32x4_lt(ax, wasm_f32x4_splat(0.5f)));
}
// pmax(x, 0) is x < 0 ? 0 : x, NaN kept.
inline v128_t vrelu4(v128_t x) { return wasm_f32x4_pmax(x, wasm_f32x4_splat(0.0f)); }
// vgelu's expression on four lanes.
inline v128_t vgelu4(v128_t x) {
  const v128_t erf = verf4(wasm_f32x4_mul(x, wasm_f32x4_splat(float(M_SQRT1_2))));
  return wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_splat(0.5f), x), wasm_f32x4_add(wasm_f32x4_splat(1.0f), erf));
}
#endif

namespace {
// y[i] = f1(x[i]), with f4 on whole vectors in wasm.
template <typename F1, typename F4>
void map_floats(const float* x, float* y, int64_t n, F1 f1, F4 f4) {
  parallel_range(n, kMinTaskFloats, [&](int64_t a, int64_t b) {
    int64_t i = a;
#if defined(__wasm_simd128__)
    for (; i + 4 <= b; i += 4) wasm_v128_store(y + i, f4(wasm_v128_load(x + i)));
#else
    (void)f4;
#endif
    for (; i < b; ++i) y[i] = f1(x[i]);
  });
}
#if defined(__wasm_simd128__)
#define KILN_VEC4(f) [](v128_t v) { return f(v); }
#else
#define KILN_VEC4(f) nullptr
#endif
}  // namespace

void vexp(const float* x, float* y, int64_t n) {
  parallel_range(n, kMinTaskFloats, [&](int64_t a, int64_t b) {
    int64_t i = a;
#if defined(__wasm_simd128__)
    for (; i + 8 <= b; i += 8) {
      const v128_t e0 = vexp4(wasm_v128_load(x + i)), e1 = vexp4(wasm_v128_load(x + i + 4));
      wasm_v128_store(y + i, e0);
      wasm_v128_store(y + i + 4, e1);
    }
#endif
    for (; i < b; ++i) y[i] = vexp1(x[i]);
  });
}

void verf(const float* x, float* y, int64_t n) { map_floats(x, y, n, verf1, KILN_VEC4(verf4)); }

void vtanh(const float* x, float* y, int64_t n) { map_floats(x, y, n, vtanh1, KILN_VEC4(vtanh4)); }

void vgelu(const float* x, float* y, int64_t n) {
  map_floats(x, y, n, [](float v) { return 0.5f * v * (1.0f + verf1(v * float(M_SQRT1_2))); }, KILN_VEC4(vgelu4));
}

void vsigmoid(const float* x, float* y, int64_t n) {
  parallel_range(n, kMinTaskFloats, [&](int64_t a, int64_t b) {
    int64_t i = a;
#if defined(__wasm_simd128__)
    // clang leaves the loop below scalar in wasm: two vectors at a time, the same results.
    const v128_t one = wasm_f32x4_splat(1.0f);
    for (; i + 8 <= b; i += 8) {
      const v128_t e0 = vexp4(wasm_f32x4_neg(wasm_v128_load(x + i))), e1 = vexp4(wasm_f32x4_neg(wasm_v128_load(x + i + 4)));
      wasm_v128_store(y + i, wasm_f32x4_div(one, wasm_f32x4_add(one, e0)));
      wasm_v128_store(y + i + 4, wasm_f32x4_div(one, wasm_f32x4_add(one, e1)));
    }
#endif
    for (; i < b; ++i) y[i] = 1.0f / (1.0f + vexp1(-x[i]));
  });
}

// (clang leaves the compare + select of these two scalar in wasm.)
void vrelu(const float* x, float* y, int64_t n) {
  map_floats(x, y, n, [](float v) { return v < 0.0f ? 0.0f : v; }, KILN_VEC4(vrelu4));
}

void vleaky_relu(const float* x, float* y, int64_t n, float alpha) {
#if defined(__wasm_simd128__)
  const v128_t zero = wasm_f32x4_splat(0.0f), k = wasm_f32x4_splat(alpha);
  auto f4 = [=](v128_t v) { return wasm_v128_bitselect(v, wasm_f32x4_mul(k, v), wasm_f32x4_ge(v, zero)); };
#else
  std::nullptr_t f4 = nullptr;
#endif
  map_floats(x, y, n, [=](float v) { return v >= 0.0f ? v : alpha * v; }, f4);
}

namespace {
#if defined(__wasm_simd128__)
// wasm: clang leaves the lane loop below scalar (compare + select per
// element), so the row's max is written with SIMD128 directly (its sum is
// taken with the exponentials, exp_shifted_sum).
// pmax is std::max's (a < b ? b : a), NaN handling included.
float lanes_max(v128_t m) {
  float l[4];
  wasm_v128_store(l, m);
  return std::max(std::max(l[0], l[1]), std::max(l[2], l[3]));
}
float row_max(const float* v, int64_t n) {
  v128_t m0 = wasm_f32x4_splat(v[0]), m1 = m0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    m0 = wasm_f32x4_pmax(m0, wasm_v128_load(v + i));
    m1 = wasm_f32x4_pmax(m1, wasm_v128_load(v + i + 4));
  }
  float m = lanes_max(wasm_f32x4_pmax(m0, m1));
  for (; i < n; ++i) m = std::max(m, v[i]);
  return m;
}
#else
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
#endif
// out[i] = exp(in[i] - shift), and their sum: one pass.
#if defined(__wasm_simd128__)
// e^x for x <= 0 or NaN (a softmax's shifted inputs): as vexp1, but 2^n
// comes from the rounding constant's low bits (its 127 makes them the
// exponent), no clamps: below -87.33654 the result is 0. Within 1 ulp of vexp1.
inline v128_t vexp4_nonpositive(v128_t x) {
  const v128_t magic = wasm_f32x4_splat(12583039.0f);  // 1.5 * 2^23 + 127
  const v128_t vn = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)), magic);
  const v128_t scale = wasm_i32x4_shl(vn, 23);  // 2^n, n in [-126, 0]
  const v128_t n = wasm_f32x4_sub(vn, magic);
  const v128_t p = exp_reduced4(x, n);
  // A NaN x made r and p NaN, so the product is NaN too.
  return wasm_v128_andnot(wasm_f32x4_mul(p, scale), wasm_f32x4_lt(x, wasm_f32x4_splat(-87.33654f)));
}
float exp_shifted_sum(const float* in, float* out, int64_t n, float shift) {
  const v128_t sh = wasm_f32x4_splat(shift);
  v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0;
  int64_t i = 0;
  // Four vectors per iteration: each exp is a long dependent chain.
  for (; i + 16 <= n; i += 16) {
    const v128_t e0 = vexp4_nonpositive(wasm_f32x4_sub(wasm_v128_load(in + i), sh));
    const v128_t e1 = vexp4_nonpositive(wasm_f32x4_sub(wasm_v128_load(in + i + 4), sh));
    const v128_t e2 = vexp4_nonpositive(wasm_f32x4_sub(wasm_v128_load(in + i + 8), sh));
    const v128_t e3 = vexp4_nonpositive(wasm_f32x4_sub(wasm_v128_load(in + i + 12), sh));
    wasm_v128_store(out + i, e0);
    wasm_v128_store(out + i + 4, e1);
    wasm_v128_store(out + i + 8, e2);
    wasm_v128_store(out + i + 12, e3);
    s0 = wasm_f32x4_add(s0, wasm_f32x4_add(e0, e2));
    s1 = wasm_f32x4_add(s1, wasm_f32x4_add(e1, e3));
  }
  for (; i + 4 <= n; i += 4) {
    const v128_t e0 = vexp4_nonpositive(wasm_f32x4_sub(wasm_v128_load(in + i), sh));
    wasm_v128_store(out + i, e0);
    s0 = wasm_f32x4_add(s0, e0);
  }
  float l[4];
  wasm_v128_store(l, wasm_f32x4_add(s0, s1));
  float s = (l[0] + l[1]) + (l[2] + l[3]);
  for (; i < n; ++i) s += out[i] = vexp1(in[i] - shift);
  return s;
}
#else
// Kept out of line: inlined into the row loop below, compilers leave it scalar.
__attribute__((noinline)) void exp_shifted(const float* in, float* out, int64_t n, float shift) {
  for (int64_t i = 0; i < n; ++i) out[i] = vexp1(in[i] - shift);
}
float exp_shifted_sum(const float* in, float* out, int64_t n, float shift) {
  exp_shifted(in, out, n, shift);
  return row_sum(out, n);
}
#endif
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
          sum += exp_shifted_sum(in + c, buffer, m, mx);
        }
        const float shift = mx + std::log(sum);
        for (int64_t c = 0; c < cols; ++c) out[c] = in[c] - shift;
        continue;
      }
      const float inv = 1.0f / exp_shifted_sum(in, out, cols, mx);
      for (int64_t c = 0; c < cols; ++c) out[c] *= inv;
    }
  });
}

}  // namespace kiln
