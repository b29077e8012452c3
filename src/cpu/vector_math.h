// Float math over arrays, written so compilers vectorize it (SIMD128 in wasm,
// AVX2 natively): exp and erf as polynomials with no libm call and no branch
// per element, and the row-wise softmax built on them. libm's expf/erff are
// scalar calls (in wasm, software); transformer exports spend their time in
// Softmax, GELU's Erf and the like, so these run at memory speed instead.
// Accuracy: exp within 2 ulp on its range; erf within 1e-6 absolute; tanh
// within 2e-7 absolute and 1e-6 relative.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace kiln {

// e^x for one float, vectorizable: x = n ln2 + r with |r| <= ln2/2, e^r by a
// degree-6 polynomial, 2^n put straight into the exponent bits. Inputs are
// clamped to the finite range: below -87.3 the result is 0, above 88.7 infinity.
inline float vexp1(float in) {
  // The bound first: std::max(bound, NaN) is the bound, so x is always a
  // number and the int conversions below stay defined (NaN is put back at the end).
  const float x = std::min(88.72283f, std::max(-87.33654f, in));
  // Round to nearest with the 1.5 * 2^23 trick: adds only, so it vectorizes on any SIMD.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  // ln2 split in two so r keeps its low bits (Cody and Waite).
  float r = x - n * 0.693145751953125f;
  r = r - n * 1.428606765330187045e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n for n in [-126, 127]: 2^(n/2) twice keeps n = -126 - 1 (x near -87.3) representable.
  const int32_t half = int32_t(n) >> 1;
  const int32_t bits1 = (half + 127) << 23, bits2 = (int32_t(n) - half + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &bits1, 4);
  std::memcpy(&s2, &bits2, 4);
  const float e = in < -87.33654f ? 0.0f : in > 88.72283f ? HUGE_VALF : p * s1 * s2;  // beyond: e^x under- or overflows
  return in == in ? e : in;                               // NaN in, NaN out
}

// erf(x), vectorizable: x P(x^2) / Q(x^2) on x clamped to [-4, 4] (erf is
// +-1 in float beyond), the rational minimax form fast math libraries use.
inline float verf1(float x) {
  x = std::min(std::max(x, -4.0f), 4.0f);
  const float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return x * p / q;
}

// tanh(x), vectorizable with one division: its odd Taylor series to x^15
// below |x| = 0.5 (truncation under 5e-8, no cancellation near 0), and
// 1 - 2 / (e^(2|x|) + 1) with its sign above; both computed, one selected.
inline float vtanh1(float x) {
  const float ax = std::fabs(x);
  const float x2 = x * x;
  float p = -929569.0f / 638512875.0f;
  p = p * x2 + 21844.0f / 6081075.0f;
  p = p * x2 - 1382.0f / 155925.0f;
  p = p * x2 + 62.0f / 2835.0f;
  p = p * x2 - 17.0f / 315.0f;
  p = p * x2 + 2.0f / 15.0f;
  p = p * x2 - 1.0f / 3.0f;
  const float near = x + x * x2 * p;
  const float far = 1.0f - 2.0f / (vexp1(2.0f * std::min(ax, 9.0f)) + 1.0f);
  return ax < 0.5f ? near : (x < 0.0f ? -far : far);
}

// y[i] = e^x[i], erf(x[i]) and tanh(x[i]) over n floats (in place allowed).
void vexp(const float* x, float* y, int64_t n);
void verf(const float* x, float* y, int64_t n);
void vtanh(const float* x, float* y, int64_t n);
// y[i] = x[i] / 2 * (1 + erf(x[i] / sqrt 2)), the exact GELU (y may be x).
void vgelu(const float* x, float* y, int64_t n);
// y[i] = 1 / (1 + e^-x[i]): vexp1 saturates, so no branch for large |x|.
void vsigmoid(const float* x, float* y, int64_t n);
// y[i] = x[i] < 0 ? 0 : x[i]: NaN stays NaN (PyTorch's and TF.js's relu).
void vrelu(const float* x, float* y, int64_t n);
// y[i] = x[i] >= 0 ? x[i] : alpha * x[i] (NaN stays NaN).
void vleaky_relu(const float* x, float* y, int64_t n, float alpha);
// Softmax (log: logSoftmax) of each row of a [rows, cols] matrix, max-subtracted; threaded over rows.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols, bool log);

}  // namespace kiln
