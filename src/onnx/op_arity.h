// How many inputs and outputs each ONNX operator takes (from ONNX's schemas,
// src/onnx/op_arity.cc, generated), checked for every node at load so a
// malformed graph is refused with the node named instead of failing later.
#pragma once
#include <string>

namespace kiln {

struct OnnxOpArity {
  const char* op_type;
  int min_inputs, max_inputs, min_outputs, max_outputs;
};

// The arity of an op of the default domain, or null when the schemas do not list it.
const OnnxOpArity* onnx_op_arity(const std::string& op_type);

}  // namespace kiln
