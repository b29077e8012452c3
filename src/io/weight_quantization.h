// Weight-only quantization for Kiln graph files (kiln convert --fp16 / --int8):
// weights are stored narrow and widened back to float32 at load, so compute
// stays float32 and only the file shrinks. Layouts: docs/FORMAT.md, "Kiln
// graph files".
#pragma once
#include <cstddef>
#include <cstdint>

namespace kiln {

// float16, round to nearest even (core/float16.h). Usable only when every
// value is finite and within float16's range (|x| <= 65504): see fits_float16.
bool fits_float16(const float* x, size_t n);
void quantize_float16(const float* x, size_t n, uint16_t* out);
void dequantize_float16(const uint16_t* q, size_t n, float* out);

// Symmetric int8 with one float32 scale per channel: the tensor is viewed as
// [channels, per_channel] (axis 0, the output channel of Conv and of
// PyTorch's Gemm weights), scale = max|x| / 127 over the channel and
// q = round(x / scale) in [-127, 127], so |x - q * scale| <= scale / 2.
// An all-zero channel gets scale 0. Requires finite values (all_finite).
bool all_finite(const float* x, size_t n);
void quantize_int8(const float* x, size_t channels, size_t per_channel, float* scales, int8_t* q);
void dequantize_int8(const int8_t* q, const float* scales, size_t channels, size_t per_channel, float* out);

}  // namespace kiln
