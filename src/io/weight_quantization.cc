#include "io/weight_quantization.h"

#include <algorithm>
#include <cmath>

#include "core/float16.h"

namespace kiln {

bool fits_float16(const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!(std::fabs(x[i]) <= 65504.0f)) return false;  // NaN fails too
  return true;
}

void quantize_float16(const float* x, size_t n, uint16_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = onnx_float_to_half(x[i]);
}

void dequantize_float16(const uint16_t* q, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = onnx_half_to_float(q[i]);
}

bool all_finite(const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

void quantize_int8(const float* x, size_t channels, size_t per_channel, float* scales, int8_t* q) {
  for (size_t c = 0; c < channels; ++c) {
    const float* row = x + c * per_channel;
    float max_abs = 0;
    for (size_t i = 0; i < per_channel; ++i) max_abs = std::max(max_abs, std::fabs(row[i]));
    const float scale = max_abs / 127.0f;
    scales[c] = scale;
    for (size_t i = 0; i < per_channel; ++i) {
      // Clamped: x / scale can round a hair past 127 at the channel's maximum.
      const float r = scale > 0 ? std::nearbyint(row[i] / scale) : 0.0f;
      q[c * per_channel + i] = int8_t(std::min(127.0f, std::max(-127.0f, r)));
    }
  }
}

void dequantize_int8(const int8_t* q, const float* scales, size_t channels, size_t per_channel, float* out) {
  for (size_t c = 0; c < channels; ++c)
    for (size_t i = 0; i < per_channel; ++i) out[c * per_channel + i] = float(q[c * per_channel + i]) * scales[c];
}

}  // namespace kiln
