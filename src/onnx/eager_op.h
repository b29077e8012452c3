// One operator of the op set run on values outside any graph: the path of the
// JavaScript ops API (kiln.add, kiln.matMul, kiln.sum, ...), the way TF.js runs
// an op eagerly. The op set is the ONNX runtime's kernels (opset 18
// semantics) until issue #11 merges them with the Layers ops.
#pragma once
#include <string>
#include <vector>

#include "core/json.h"
#include "io/onnx_model.h"
#include "onnx/value.h"

namespace kiln {

constexpr int64_t kEagerOpset = 18;

// Attributes as JSON, each typed: {"axis": {"i": 1}, "alpha": {"f": 0.2},
// "mode": {"s": "constant"}, "perm": {"ints": [1, 0]}, "scales": {"floats": [2]}}.
// inputs: an undefined value marks an omitted optional input. outputs: the
// first num_outputs outputs. Errors name the op ("Gather: ...").
// opset: the default domain's version whose semantics apply (an imported
// model's own; the ops API uses kEagerOpset).
Status run_eager_op(const std::string& op_type, const Json& attributes, const std::vector<OnnxValue>& inputs,
                    int num_outputs, std::vector<OnnxValue>* outputs, int64_t opset = kEagerOpset);

// Attributes as JSON (the form above) parsed into the node's attribute list.
Status parse_eager_attributes(const std::string& op_type, const Json& attributes, std::vector<OnnxAttribute>* out);

// The same with attributes already parsed: how gradients compose ops.
// inputs: null marks an omitted optional input.
Status run_op(const std::string& op_type, std::vector<OnnxAttribute> attributes, const std::vector<const OnnxValue*>& inputs,
              int num_outputs, std::vector<OnnxValue>* outputs, int64_t opset = kEagerOpset);

struct OnnxOpEntry;
// An op set up once and run many times (the ops API calls the same op with
// the same attributes over and over): its kernel found, its node built.
struct PreparedOp {
  const OnnxOpEntry* entry = nullptr;
  OnnxNode node;
};
Status prepare_op(const std::string& op_type, std::vector<OnnxAttribute> attributes, PreparedOp* out);
// Runs it as run_op does; the node's input and output names follow the call's.
Status run_prepared_op(PreparedOp& op, const std::vector<const OnnxValue*>& inputs, int num_outputs,
                       std::vector<OnnxValue>* outputs, int64_t opset = kEagerOpset);

}  // namespace kiln
