#include "cpu/activation.h"

#include <algorithm>
#include <cmath>
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#include "cpu/vector_math.h"

namespace kiln {

namespace {
// SELU constants (Klambauer et al.), as in TF.js.
constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScale = 1.0507009873554804934193349852946f;
// tf.leakyRelu's default slope (the leakyReLU layer's default is 0.3).
constexpr float kLeakyAlpha = 0.2f;

// For large -x vexp1 is infinity and 1 / (1 + inf) is 0: no branch is needed (and the loop vectorizes).
inline float sigmoid(float x) { return 1.0f / (1.0f + vexp1(-x)); }

// log(1 + exp(x)) without overflow.
inline float softplus(float x) { return std::max(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }

// x < 0 ? 0 : x, then (for relu6) 6 < x ? 6 : x: NaN stays NaN, as in PyTorch.
// In wasm these are f32x4.pmax/pmin, one x86 instruction each; clang's own
// vectorization used f32x4.max/min, which V8 expands to about 8 for their
// NaN and signed-zero rules (MobileNetV2 spent 8% of its time here).
void clamp_below_above(float* x, int64_t n, bool upper) {
  int64_t i = 0;
#if defined(__wasm_simd128__)
  const v128_t zero = wasm_f32x4_splat(0.0f), six = wasm_f32x4_splat(6.0f);
  for (; i + 4 <= n; i += 4) {
    v128_t v = wasm_f32x4_pmax(wasm_v128_load(x + i), zero);
    if (upper) v = wasm_f32x4_pmin(v, six);
    wasm_v128_store(x + i, v);
  }
#endif
  for (; i < n; ++i) {
    float v = x[i] < 0.0f ? 0.0f : x[i];
    x[i] = upper && 6.0f < v ? 6.0f : v;
  }
}
}  // namespace

void activation_forward(Activation act, float* x, int64_t n) {
  switch (act) {
    case Activation::kLinear:
    case Activation::kSoftmax:  // row-wise: rowwise_forward
    case Activation::kLogSoftmax:
      return;
    case Activation::kRelu:
      return clamp_below_above(x, n, false);
    case Activation::kSigmoid:
      return vsigmoid(x, x, n);
    case Activation::kTanh:
      return vtanh(x, x, n);
    case Activation::kRelu6:
      return clamp_below_above(x, n, true);
    case Activation::kElu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : std::expm1(x[i]);
      return;
    case Activation::kSelu:
      for (int64_t i = 0; i < n; ++i) x[i] = kSeluScale * (x[i] > 0.0f ? x[i] : kSeluAlpha * std::expm1(x[i]));
      return;
    case Activation::kGelu:
      // TF.js 'gelu' is the exact erf form (its tanh approximation is 'gelu_new').
      return vgelu(x, x, n);
    case Activation::kSwish:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] * sigmoid(x[i]);
      return;
    case Activation::kMish:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] * std::tanh(softplus(x[i]));
      return;
    case Activation::kHardSigmoid:
      // TF.js: clip(0.2x + 0.5, 0, 1). PyTorch's hardsigmoid uses x/6 + 0.5 instead.
      for (int64_t i = 0; i < n; ++i) x[i] = std::min(std::max(0.2f * x[i] + 0.5f, 0.0f), 1.0f);
      return;
    case Activation::kSoftplus:
      for (int64_t i = 0; i < n; ++i) x[i] = softplus(x[i]);
      return;
    case Activation::kSoftsign:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::fabs(x[i]));
      return;
    case Activation::kExponential:
      return vexp(x, x, n);
    case Activation::kLeakyRelu:
      return vleaky_relu(x, x, n, kLeakyAlpha);
  }
}

void activation_backward(Activation act, const float* from, const float* dy, float* dz, int64_t n) {
  const float* y = from;  // the output, for every activation but gelu, swish and mish
  const float* x = from;
  switch (act) {
    case Activation::kLinear:
    case Activation::kSoftmax:  // row-wise: rowwise_backward
    case Activation::kLogSoftmax:
      for (int64_t i = 0; i < n; ++i) dz[i] = dy[i];
      return;
    case Activation::kRelu:
      for (int64_t i = 0; i < n; ++i) dz[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      return;
    case Activation::kSigmoid:
      for (int64_t i = 0; i < n; ++i) dz[i] = dy[i] * y[i] * (1.0f - y[i]);
      return;
    case Activation::kTanh:
      for (int64_t i = 0; i < n; ++i) dz[i] = dy[i] * (1.0f - y[i] * y[i]);
      return;
    case Activation::kRelu6:
      for (int64_t i = 0; i < n; ++i) dz[i] = y[i] > 0.0f && y[i] < 6.0f ? dy[i] : 0.0f;
      return;
    case Activation::kElu:  // exp(x) = y + 1 below zero
      for (int64_t i = 0; i < n; ++i) dz[i] = y[i] > 0.0f ? dy[i] : dy[i] * (y[i] + 1.0f);
      return;
    case Activation::kSelu:  // scale * alpha * exp(x) = y + scale * alpha below zero
      for (int64_t i = 0; i < n; ++i) dz[i] = dy[i] * (y[i] > 0.0f ? kSeluScale : y[i] + kSeluScale * kSeluAlpha);
      return;
    case Activation::kGelu:
      for (int64_t i = 0; i < n; ++i) {
        const float cdf = 0.5f * (1.0f + std::erf(x[i] * float(M_SQRT1_2)));
        const float pdf = std::exp(-0.5f * x[i] * x[i]) * float(0.5 * M_2_SQRTPI * M_SQRT1_2);
        dz[i] = dy[i] * (cdf + x[i] * pdf);
      }
      return;
    case Activation::kSwish:
      for (int64_t i = 0; i < n; ++i) {
        const float s = sigmoid(x[i]);
        dz[i] = dy[i] * (s + x[i] * s * (1.0f - s));
      }
      return;
    case Activation::kMish:
      for (int64_t i = 0; i < n; ++i) {
        const float t = std::tanh(softplus(x[i]));
        dz[i] = dy[i] * (t + x[i] * sigmoid(x[i]) * (1.0f - t * t));
      }
      return;
    case Activation::kHardSigmoid:
      for (int64_t i = 0; i < n; ++i) dz[i] = y[i] > 0.0f && y[i] < 1.0f ? 0.2f * dy[i] : 0.0f;
      return;
    case Activation::kSoftplus:  // sigmoid(x) = 1 - exp(-y)
      for (int64_t i = 0; i < n; ++i) dz[i] = -dy[i] * std::expm1(-y[i]);
      return;
    case Activation::kSoftsign:  // 1 / (1 + |x|)^2 = (1 - |y|)^2
      for (int64_t i = 0; i < n; ++i) dz[i] = dy[i] * (1.0f - std::fabs(y[i])) * (1.0f - std::fabs(y[i]));
      return;
    case Activation::kExponential:
      for (int64_t i = 0; i < n; ++i) dz[i] = dy[i] * y[i];
      return;
    case Activation::kLeakyRelu:
      for (int64_t i = 0; i < n; ++i) dz[i] = y[i] > 0.0f ? dy[i] : kLeakyAlpha * dy[i];
      return;
  }
}

void rowwise_forward(Activation act, float* x, int64_t rows, int64_t cols) {
  softmax_rows(x, x, rows, cols, act == Activation::kLogSoftmax);
}

void rowwise_backward(Activation act, const float* y, const float* dy, float* dz, int64_t rows, int64_t cols) {
  const bool log = act == Activation::kLogSoftmax;
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dzr = dz + r * cols;
    float dot = 0.0f;
    if (log) {
      for (int64_t c = 0; c < cols; ++c) dot += dyr[c];
      for (int64_t c = 0; c < cols; ++c) dzr[c] = dyr[c] - std::exp(yr[c]) * dot;
    } else {
      for (int64_t c = 0; c < cols; ++c) dot += yr[c] * dyr[c];
      for (int64_t c = 0; c < cols; ++c) dzr[c] = yr[c] * (dyr[c] - dot);
    }
  }
}

}  // namespace kiln
