// Small helpers shared by the ONNX kernel families: optional inputs, integer
// inputs (shape tensors, axes), index walks and scalar conversions (row-major
// strides: shape_strides in core/shape.h).
#pragma once
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/float16.h"
#include "onnx/dispatch.h"
#include "onnx/op.h"

namespace kiln {

// Whether optional input i was given (present and not the empty name).
inline bool onnx_has_input(const OnnxInputs& in, size_t i) { return i < in.size() && in[i] && in[i]->defined(); }

// Input i's elements as int64, erroring with its role ("starts", "axes", ...).
inline Status onnx_int64s_input(const OnnxOpContext& ctx, const OnnxInputs& in, size_t i, const char* what,
                                std::vector<int64_t>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  const Status st = in[i]->to_int64s(out);
  if (!st.ok()) return ctx.error(std::string(what) + ": " + st.message());
  return Status();
}

// Walks the elements of `shape` in row-major order, calling fn(flat, coords) for each.
template <typename F>
void onnx_for_each_index(const OnnxShape& shape, F fn) {
  const int64_t n = onnx_checked_numel(shape);
  std::vector<int64_t> c(shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    fn(i, c);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
}

// Element i of any numeric / bool / 16-bit float value as a double.
inline double onnx_element_as_double(const OnnxValue& v, int64_t i) {
  if (v.type() == DataType::kFloat16) return onnx_half_to_float(v.data<uint16_t>()[i]);
  if (v.type() == DataType::kBfloat16) return onnx_bfloat16_to_float(v.data<uint16_t>()[i]);
  double d = 0;
  onnx_dispatch_any(v.type(), [&](auto zero) { d = double(v.data<decltype(zero)>()[i]); });
  return d;
}

// d as T, for integer T the way wasm's saturating truncation gives it (the
// build uses -mnontrapping-fptoint): NaN is 0 and values past T's range
// clamp, natively too (a plain cast is undefined behaviour there).
template <typename T>
T onnx_saturating_cast(double d) {
  if constexpr (std::is_floating_point_v<T>) {
    return T(d);
  } else {
    if (d != d) return T(0);
    if (d <= double(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
    if (d >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return T(d);
  }
}

// Stores d as element i of v (any numeric / bool / 16-bit float type).
inline void onnx_store_double(OnnxValue* v, int64_t i, double d) {
  if (v->type() == DataType::kFloat16) {
    v->data<uint16_t>()[i] = onnx_float_to_half(float(d));
  } else if (v->type() == DataType::kBfloat16) {
    v->data<uint16_t>()[i] = onnx_float_to_bfloat16(float(d));
  } else if (v->type() == DataType::kBool) {
    v->data<uint8_t>()[i] = d != 0;
  } else {
    onnx_dispatch_numeric(v->type(), [&](auto zero) { v->data<decltype(zero)>()[i] = onnx_saturating_cast<decltype(zero)>(d); });
  }
}

}  // namespace kiln
