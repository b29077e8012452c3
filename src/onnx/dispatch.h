// Runs a templated kernel body for the C++ element type of an ONNX tensor:
// fn(T{}) is called with a value of the matching type (its value is unused).
#pragma once
#include <cstdint>

#include "io/onnx_model.h"

namespace kiln {

// Float types (float32, float64).
template <typename Fn>
bool onnx_dispatch_float(DataType t, Fn&& fn) {
  switch (t) {
    case DataType::kFloat32: fn(float{}); return true;
    case DataType::kFloat64: fn(double{}); return true;
    default: return false;
  }
}

// Every numeric type but 16-bit floats (bool excluded).
template <typename Fn>
bool onnx_dispatch_numeric(DataType t, Fn&& fn) {
  switch (t) {
    case DataType::kFloat32: fn(float{}); return true;
    case DataType::kFloat64: fn(double{}); return true;
    case DataType::kInt8: fn(int8_t{}); return true;
    case DataType::kInt16: fn(int16_t{}); return true;
    case DataType::kInt32: fn(int32_t{}); return true;
    case DataType::kInt64: fn(int64_t{}); return true;
    case DataType::kUint8: fn(uint8_t{}); return true;
    case DataType::kUint16: fn(uint16_t{}); return true;
    case DataType::kUint32: fn(uint32_t{}); return true;
    case DataType::kUint64: fn(uint64_t{}); return true;
    default: return false;
  }
}

// Numeric types and bool (stored as uint8_t): copies, gathers, comparisons.
template <typename Fn>
bool onnx_dispatch_any(DataType t, Fn&& fn) {
  if (t == DataType::kBool) {
    fn(uint8_t{});
    return true;
  }
  if (t == DataType::kFloat16 || t == DataType::kBfloat16) {
    fn(uint16_t{});  // moved as raw 16-bit words
    return true;
  }
  return onnx_dispatch_numeric(t, fn);
}

}  // namespace kiln
