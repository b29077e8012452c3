// The element types of Kiln's tensors, one vocabulary for the graph IR, the
// ONNX runtime and the JavaScript API (js/src/dtypes.ts uses the same names).
// Numbered as ONNX's TensorProto.DataType, so files and the JS API pass the
// number as it is.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln {

enum class DataType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUint32 = 12,
  kUint64 = 13,
  kBfloat16 = 16,
};

// Bytes per element; 0 for strings and undefined (no fixed width).
size_t dtype_size(DataType type);
// "float32", "int64", "bool", ... (numbers for codes Kiln does not know: "type 14").
std::string dtype_name(DataType type);
// The type dtype_name gives that name; false for any other text.
bool dtype_from_name(const std::string& name, DataType* type);
// float16, bfloat16, float32, float64.
bool dtype_is_float(DataType type);

}  // namespace kiln
