// A TensorFlow GraphDef node as TF.js's converter writes it in a graph
// model's model.json (protobuf's JSON mapping): name, op, inputs ("x", "x:1",
// "^control"), and attributes read with their TF types. Parsed once at import.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "io/onnx_model.h"

namespace kiln {

struct TfNode {
  std::string name, op;
  std::vector<std::string> inputs;          // data inputs
  std::vector<std::string> control_inputs;  // "^name" inputs, without the caret: ordering only
  const Json* attr = nullptr;       // the node's "attr" object (may be null)

  bool has(const char* key) const;
  // Attribute getters: the default when absent, an error naming the node when malformed.
  Status get_int(const char* key, int64_t dflt, int64_t* out) const;
  Status get_ints(const char* key, std::vector<int64_t>* out) const;  // list.i (empty when absent)
  Status get_float(const char* key, float dflt, float* out) const;
  Status get_bool(const char* key, bool dflt, bool* out) const;
  Status get_string(const char* key, const std::string& dflt, std::string* out) const;  // s (base64 decoded)
  Status get_strings(const char* key, std::vector<std::string>* out) const;             // list.s
  Status get_type(const char* key, DataType* out) const;                            // type: DT_FLOAT, ...
  // shape: dims (-1 unknown); *known false for unknownRank.
  Status get_shape(const char* key, std::vector<int64_t>* dims, bool* known) const;

  Status error(const std::string& what) const;
};

// A TF type as TF.js reads it: float32 (DT_FLOAT, DT_HALF, DT_DOUBLE), int32
// (DT_INT32, DT_INT64, DT_INT8, DT_UINT8) or bool; kUndefined otherwise.
DataType tf_data_type(const std::string& name);
// Standard base64 (protobuf's JSON bytes).
bool tf_base64_decode(const std::string& in, std::string* out);
// Reads one node (checks name and op are strings, inputs a list of strings).
Status tf_parse_node(const Json& json, TfNode* out);

}  // namespace kiln
