// ONNX models (.onnx) and tensors (.pb) as plain structs: the part of
// onnx.proto (ONNX 1.12, IR version 8) that Kiln's importer needs, read with
// the hand-written wire reader in io/protobuf_reader.h. Fields not listed here
// are skipped. Tensor contents are decoded into one little-endian buffer
// whichever TensorProto field held them. What is read, and the limits
// against hostile files: docs/FORMAT.md, "Reading ONNX files".
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace kiln {

// Caps against hostile files, counted over a model and all its subgraphs.
constexpr size_t kOnnxMaxNodes = size_t(1) << 20;
constexpr size_t kOnnxMaxAttributes = size_t(1) << 20;

// Where a tensor's bytes live when TensorProto.data_location is EXTERNAL.
struct OnnxExternalData {
  std::string location;  // relative to the model's folder
  uint64_t offset = 0;
  int64_t length = -1;  // -1: not given, the tensor's own size is read
};

struct OnnxTensor {
  std::string name;
  DataType data_type = DataType::kUndefined;
  std::vector<int64_t> dims;  // none: a scalar
  // Elements in little-endian order; float16 and bfloat16 as raw 16-bit words,
  // bool as one byte. Empty for strings and for unresolved external data.
  std::vector<uint8_t> data;
  std::vector<std::string> strings;  // the elements of a string tensor
  bool has_external_data = false;    // true until resolve_external_data fills `data`
  OnnxExternalData external;

  int64_t element_count() const;  // product of dims (checked when parsed)
};

// TensorShapeProto.Dimension: a size, a symbolic name, or neither (unknown).
struct OnnxDim {
  int64_t value = -1;  // >= 0 when known
  std::string param;
};

// Which TypeProto a value has; only tensors carry an element type and shape.
enum class OnnxValueKind : uint8_t { kUnknown, kTensor, kSequence, kMap, kOptional, kSparseTensor };

struct OnnxValueInfo {
  std::string name;
  OnnxValueKind kind = OnnxValueKind::kUnknown;
  DataType elem_type = DataType::kUndefined;  // not validated: the importer decides
  bool has_shape = false;                             // false: rank unknown
  std::vector<OnnxDim> shape;
};

// AttributeProto.AttributeType.
enum class OnnxAttributeType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kInt = 2,
  kString = 3,
  kTensor = 4,
  kGraph = 5,
  kFloats = 6,
  kInts = 7,
  kStrings = 8,
  kTensors = 9,
  kGraphs = 10,
  kSparseTensor = 11,
  kSparseTensors = 12,
  kTypeProto = 13,
  kTypeProtos = 14,
};

struct OnnxGraph;

// The value is in the member matching `type`; type protos are not read.
struct OnnxAttribute {
  std::string name;
  OnnxAttributeType type = OnnxAttributeType::kUndefined;
  std::string ref_attr_name;  // set inside functions: the value comes from the caller
  float f = 0;
  int64_t i = 0;
  std::string s;
  OnnxTensor t;
  std::unique_ptr<OnnxGraph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<OnnxTensor> tensors;
  std::vector<OnnxGraph> graphs;
};

struct OnnxNode {
  std::string name, op_type, domain;
  std::vector<std::string> inputs, outputs;  // "" marks an omitted optional input
  std::vector<OnnxAttribute> attributes;
};

struct OnnxGraph {
  std::string name;
  std::vector<OnnxNode> nodes;
  std::vector<OnnxTensor> initializers;
  std::vector<OnnxValueInfo> inputs, outputs, value_info;
};

struct OnnxOpsetImport {
  std::string domain;  // "" is the default domain, ai.onnx
  int64_t version = 0;
};

struct OnnxModel {
  int64_t ir_version = 0;
  std::string producer_name;
  std::vector<OnnxOpsetImport> opset_imports;
  OnnxGraph graph;
};

// Parses a serialized ModelProto. Sparse initializers and sparse tensor
// attributes are errors; external tensor data is recorded, not read.
Status parse_onnx_model(const uint8_t* data, size_t size, OnnxModel* out);

// Parses a serialized TensorProto (the conformance tests' input_N.pb files).
Status parse_onnx_tensor(const uint8_t* data, size_t size, OnnxTensor* out);

// A SequenceProto or OptionalProto (ONNX's test data for sequence and optional
// values): a tensor, a sequence of values, or an optional holding none or one.
struct OnnxDataValue {
  OnnxValueKind kind = OnnxValueKind::kTensor;
  OnnxTensor tensor;                 // kTensor
  std::vector<OnnxDataValue> items;  // kSequence: its elements; kOptional: empty or one value
};
Status parse_onnx_sequence(const uint8_t* data, size_t size, OnnxDataValue* out);
Status parse_onnx_optional(const uint8_t* data, size_t size, OnnxDataValue* out);

// Reads the external data of every tensor in the model (subgraphs included).
// `read_file` returns a whole file given its location; each location is read
// once. Locations that are absolute or contain a ".." component are rejected,
// as are ranges past the end of the file.
using OnnxFileReader = std::function<Status(const std::string& location, std::vector<uint8_t>* bytes)>;
Status resolve_external_data(OnnxModel* model, const OnnxFileReader& read_file);

}  // namespace kiln
