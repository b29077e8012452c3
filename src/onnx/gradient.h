// Gradients of the op set: for an op that ran on some inputs and gave some
// outputs, the gradients of a loss with respect to its inputs, given the
// gradients with respect to its outputs (a vector-Jacobian product, as
// TF.js's gradient functions and PyTorch's backward formulas are). Each is
// written with ops of the op set itself (run_op), so a gradient runs wherever
// its ops do; a few (Conv, the pools) call their kernels' backward directly.
// Defined beside each family in src/onnx/grad_<family>.cc and collected by
// src/onnx/gradient.cc. The JS autograd (tape.ts) and, next, autodiff on
// imported graphs call them.
#pragma once
#include <string>
#include <vector>

#include "core/json.h"
#include "onnx/eager_op.h"
#include "onnx/op.h"

namespace kiln {

// An attribute of an op a gradient runs (copyable, unlike a model's
// OnnxAttribute, which may own a subgraph): made by attr_int and friends.
struct PlainAttribute {
  std::string name;
  OnnxAttributeType type = OnnxAttributeType::kUndefined;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
};

// Builds a gradient out of ops. The first failing op's error is kept and
// every later call gives an undefined value, so a gradient reads straight
// through and checks status() once at the end.
class GradientOps {
 public:
  // inputs: null marks an omitted optional input.
  OnnxValue op(const std::string& type, const std::vector<const OnnxValue*>& inputs, const std::vector<PlainAttribute>& attrs = {});
  // Ops with several outputs (Split).
  std::vector<OnnxValue> ops(const std::string& type, const std::vector<const OnnxValue*>& inputs, int num_outputs,
                             const std::vector<PlainAttribute>& attrs = {});
  // The forward node's own op and attributes on other inputs.
  OnnxValue same_op(const OnnxOpContext& node, const std::vector<const OnnxValue*>& inputs);
  OnnxValue add(const OnnxValue& a, const OnnxValue& b) { return op("Add", {&a, &b}); }
  OnnxValue sub(const OnnxValue& a, const OnnxValue& b) { return op("Sub", {&a, &b}); }
  OnnxValue mul(const OnnxValue& a, const OnnxValue& b) { return op("Mul", {&a, &b}); }
  OnnxValue div(const OnnxValue& a, const OnnxValue& b) { return op("Div", {&a, &b}); }
  OnnxValue neg(const OnnxValue& a) { return op("Neg", {&a}); }
  // A scalar of `like`'s element type.
  OnnxValue scalar(double v, const OnnxValue& like);
  // A 1-D int64 tensor (axes, shapes, permutations).
  OnnxValue ints(const std::vector<int64_t>& v);
  // `g` summed over the axes broadcasting stretched, reshaped to `shape`:
  // the gradient of an operand of a broadcasting op.
  OnnxValue unbroadcast(const OnnxValue& g, const OnnxShape& shape);
  // `g` (a reduction's gradient, its axes kept or dropped) stretched back to `shape`.
  OnnxValue expand_to(const OnnxValue& g, const OnnxShape& shape);
  OnnxValue reshape(const OnnxValue& g, const OnnxShape& shape);
  OnnxValue transpose(const OnnxValue& g, const std::vector<int64_t>& perm);
  OnnxValue zeros_like(const OnnxValue& like);
  // A failure found by the gradient itself (an unsupported attribute).
  void fail(const std::string& message);
  const Status& status() const { return status_; }

 private:
  std::vector<OnnxValue> run(const std::string& type, const std::vector<const OnnxValue*>& inputs, int num_outputs,
                             std::vector<OnnxAttribute> attrs, int64_t opset = kEagerOpset);
  Status status_;
};

PlainAttribute attr_int(const char* name, int64_t v);
PlainAttribute attr_ints(const char* name, std::vector<int64_t> v);
PlainAttribute attr_string(const char* name, std::string v);

// What a gradient sees. inputs/outputs as the op ran (undefined: an omitted
// optional input); output_grads one per output, zeros where nothing flows.
struct OnnxGradientContext {
  const OnnxOpContext& node;  // the attributes (get_int, get_ints, ...)
  const std::vector<OnnxValue>& inputs;
  const std::vector<OnnxValue>& outputs;
  const std::vector<OnnxValue>& output_grads;
  // The first input, output and output gradient: what most gradients read.
  const OnnxValue& x() const { return inputs[0]; }
  const OnnxValue& y() const { return outputs[0]; }
  const OnnxValue& dy() const { return output_grads[0]; }
};
// Short names for the gradient files.
using GradCtx = OnnxGradientContext;
using Grads = std::vector<OnnxValue>;

// Fills input_grads (sized to the inputs): undefined where an input takes no
// gradient (integer indices, shapes, conditions).
using OnnxGradient = void (*)(const OnnxGradientContext& ctx, GradientOps& g, std::vector<OnnxValue>* input_grads);

struct OnnxGradientEntry {
  const char* op_type;
  OnnxGradient gradient;  // null: the op is not differentiable (every input's gradient is zero)
};

struct OnnxGradientTable {
  const OnnxGradientEntry* entries;
  size_t count;
};

// Each family's table (src/onnx/grad_<family>.cc).
OnnxGradientTable onnx_elementwise_gradients();
OnnxGradientTable onnx_shape_gradients();
OnnxGradientTable onnx_reduce_gradients();
OnnxGradientTable onnx_nn_gradients();
OnnxGradientTable onnx_conv_gradients();

// The entry for an op type, or null when the op set has no gradient for it.
const OnnxGradientEntry* find_onnx_gradient(const std::string& op_type);
// Every op type with an entry (docs, tests).
std::vector<std::string> onnx_gradient_op_types();

// The gradients of one eager op (attributes as run_eager_op takes them).
// An op without a gradient is an error naming it; input gradients come back
// in the inputs' shapes and types (undefined where none).
// opset: the forward op's (an imported model's own); the ops a gradient
// emits are written for kEagerOpset.
Status run_eager_gradient(const std::string& op_type, const Json& attributes, const std::vector<OnnxValue>& inputs,
                          const std::vector<OnnxValue>& outputs, const std::vector<OnnxValue>& output_grads,
                          std::vector<OnnxValue>* input_grads, int64_t opset = kEagerOpset);

}  // namespace kiln
