// Runs a templated kernel body for the C++ element type of an ONNX tensor:
// fn(T{}) is called with a value of the matching type (its value is unused).
#pragma once
#include <cstdint>

#include "io/onnx_model.h"

namespace kiln {

// Float types (float32, float64).
template <typename Fn>
bool onnx_dispatch_float(OnnxDataType t, Fn&& fn) {
  switch (t) {
    case OnnxDataType::kFloat: fn(float{}); return true;
    case OnnxDataType::kDouble: fn(double{}); return true;
    default: return false;
  }
}

// Every numeric type but 16-bit floats (bool excluded).
template <typename Fn>
bool onnx_dispatch_numeric(OnnxDataType t, Fn&& fn) {
  switch (t) {
    case OnnxDataType::kFloat: fn(float{}); return true;
    case OnnxDataType::kDouble: fn(double{}); return true;
    case OnnxDataType::kInt8: fn(int8_t{}); return true;
    case OnnxDataType::kInt16: fn(int16_t{}); return true;
    case OnnxDataType::kInt32: fn(int32_t{}); return true;
    case OnnxDataType::kInt64: fn(int64_t{}); return true;
    case OnnxDataType::kUint8: fn(uint8_t{}); return true;
    case OnnxDataType::kUint16: fn(uint16_t{}); return true;
    case OnnxDataType::kUint32: fn(uint32_t{}); return true;
    case OnnxDataType::kUint64: fn(uint64_t{}); return true;
    default: return false;
  }
}

// Numeric types and bool (stored as uint8_t): copies, gathers, comparisons.
template <typename Fn>
bool onnx_dispatch_any(OnnxDataType t, Fn&& fn) {
  if (t == OnnxDataType::kBool) {
    fn(uint8_t{});
    return true;
  }
  if (t == OnnxDataType::kFloat16 || t == OnnxDataType::kBfloat16) {
    fn(uint16_t{});  // moved as raw 16-bit words
    return true;
  }
  return onnx_dispatch_numeric(t, fn);
}

}  // namespace kiln
