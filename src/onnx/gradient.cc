#include "onnx/gradient.h"

#include <algorithm>

#include "onnx/dispatch.h"
#include "onnx/eager_op.h"

namespace kiln {

PlainAttribute attr_int(const char* name, int64_t v) {
  PlainAttribute a;
  a.name = name, a.type = OnnxAttributeType::kInt, a.i = v;
  return a;
}

PlainAttribute attr_ints(const char* name, std::vector<int64_t> v) {
  PlainAttribute a;
  a.name = name, a.type = OnnxAttributeType::kInts, a.ints = std::move(v);
  return a;
}

PlainAttribute attr_string(const char* name, std::string v) {
  PlainAttribute a;
  a.name = name, a.type = OnnxAttributeType::kString, a.s = std::move(v);
  return a;
}

std::vector<OnnxValue> GradientOps::run(const std::string& type, const std::vector<const OnnxValue*>& inputs, int num_outputs,
                                        std::vector<OnnxAttribute> attrs, int64_t opset) {
  std::vector<OnnxValue> out;
  if (!status_.ok()) return std::vector<OnnxValue>(size_t(num_outputs));
  for (const OnnxValue* v : inputs)
    if (v && !v->is_tensor()) {
      fail(type + ": an input is missing");
      return std::vector<OnnxValue>(size_t(num_outputs));
    }
  status_ = run_op(type, std::move(attrs), inputs, num_outputs, &out, opset);
  if (!status_.ok()) return std::vector<OnnxValue>(size_t(num_outputs));
  return out;
}

std::vector<OnnxValue> GradientOps::ops(const std::string& type, const std::vector<const OnnxValue*>& inputs, int num_outputs,
                                        const std::vector<PlainAttribute>& attrs) {
  std::vector<OnnxAttribute> full;
  for (const PlainAttribute& a : attrs) {
    OnnxAttribute c;
    c.name = a.name, c.type = a.type, c.i = a.i, c.f = a.f, c.s = a.s, c.ints = a.ints;
    full.push_back(std::move(c));
  }
  return run(type, inputs, num_outputs, std::move(full));
}

OnnxValue GradientOps::op(const std::string& type, const std::vector<const OnnxValue*>& inputs, const std::vector<PlainAttribute>& attrs) {
  return ops(type, inputs, 1, attrs)[0];
}

OnnxValue GradientOps::same_op(const OnnxOpContext& node, const std::vector<const OnnxValue*>& inputs) {
  // Eager nodes carry plain attributes only (no graphs), so they copy field by field.
  std::vector<OnnxAttribute> attrs;
  for (const OnnxAttribute& a : node.node().attributes) {
    OnnxAttribute c;
    c.name = a.name, c.type = a.type, c.f = a.f, c.i = a.i, c.s = a.s;
    c.floats = a.floats, c.ints = a.ints, c.strings = a.strings;
    attrs.push_back(std::move(c));
  }
  return run(node.node().op_type, inputs, 1, std::move(attrs), node.opset())[0];
}

void GradientOps::fail(const std::string& message) {
  if (status_.ok()) status_ = Status::error(message);
}

OnnxValue GradientOps::scalar(double v, const OnnxValue& like) {
  OnnxValue out;
  if (!status_.ok()) return out;
  const Status s = OnnxValue::make(like.type(), {}, &out);
  if (!s.ok()) {
    status_ = s;
    return OnnxValue();
  }
  if (!onnx_dispatch_numeric(like.type(), [&](auto zero) { out.data<decltype(zero)>()[0] = decltype(zero)(v); }))
    fail("gradient: no scalar of type " + dtype_name(like.type()));
  return out;
}

OnnxValue GradientOps::ints(const std::vector<int64_t>& v) { return OnnxValue::vector_i64(v); }

OnnxValue GradientOps::reshape(const OnnxValue& g, const OnnxShape& shape) {
  if (!status_.ok()) return OnnxValue();
  if (g.shape() == shape) return g;
  const OnnxValue s = ints(shape);
  return op("Reshape", {&g, &s}, {attr_int("allowzero", 1)});
}

OnnxValue GradientOps::transpose(const OnnxValue& g, const std::vector<int64_t>& perm) {
  return op("Transpose", {&g}, {attr_ints("perm", perm)});
}

OnnxValue GradientOps::unbroadcast(const OnnxValue& g, const OnnxShape& shape) {
  if (!status_.ok() || g.shape() == shape) return g;
  const int64_t extra = g.rank() - int64_t(shape.size());
  if (extra < 0) {
    fail("gradient: cannot reduce " + onnx_shape_string(g.shape()) + " to " + onnx_shape_string(shape));
    return OnnxValue();
  }
  std::vector<int64_t> axes;
  for (int64_t a = 0; a < g.rank(); ++a)
    if (a < extra || (shape[size_t(a - extra)] == 1 && g.shape()[size_t(a)] != 1)) axes.push_back(a);
  OnnxValue summed = g;
  if (!axes.empty()) {
    const OnnxValue ax = ints(axes);
    summed = op("ReduceSum", {&g, &ax}, {attr_int("keepdims", 1)});
  }
  return reshape(summed, shape);
}

OnnxValue GradientOps::expand_to(const OnnxValue& g, const OnnxShape& shape) {
  if (!status_.ok() || g.shape() == shape) return g;
  const OnnxValue s = ints(shape);
  return op("Expand", {&g, &s});
}

OnnxValue GradientOps::zeros_like(const OnnxValue& like) {
  const OnnxValue zero = scalar(0, like);
  return expand_to(zero, like.shape());
}

namespace {

const OnnxGradientTable* all_gradient_tables(size_t* count) {
  static const OnnxGradientTable tables[] = {onnx_elementwise_gradients(), onnx_shape_gradients(), onnx_reduce_gradients(),
                                             onnx_nn_gradients(), onnx_conv_gradients()};
  *count = sizeof(tables) / sizeof(tables[0]);
  return tables;
}

bool is_float(DataType t) { return t == DataType::kFloat32 || t == DataType::kFloat64; }

}  // namespace

const OnnxGradientEntry* find_onnx_gradient(const std::string& op_type) {
  size_t n;
  const OnnxGradientTable* tables = all_gradient_tables(&n);
  for (size_t t = 0; t < n; ++t)
    for (size_t i = 0; i < tables[t].count; ++i)
      if (op_type == tables[t].entries[i].op_type) return &tables[t].entries[i];
  return nullptr;
}

std::vector<std::string> onnx_gradient_op_types() {
  size_t n;
  const OnnxGradientTable* tables = all_gradient_tables(&n);
  std::vector<std::string> out;
  for (size_t t = 0; t < n; ++t)
    for (size_t i = 0; i < tables[t].count; ++i) out.push_back(tables[t].entries[i].op_type);
  std::sort(out.begin(), out.end());
  return out;
}

Status run_eager_gradient(const std::string& op_type, const Json& attributes, const std::vector<OnnxValue>& inputs,
                          const std::vector<OnnxValue>& outputs, const std::vector<OnnxValue>& output_grads,
                          std::vector<OnnxValue>* input_grads, int64_t opset) {
  input_grads->assign(inputs.size(), OnnxValue());
  const OnnxGradientEntry* entry = find_onnx_gradient(op_type);
  if (!entry) return Status::error(op_type + ": has no gradient (it is not differentiable in Kiln yet)");
  if (output_grads.size() != outputs.size())
    return Status::error(op_type + " gradient: " + std::to_string(output_grads.size()) + " output gradients for " +
                         std::to_string(outputs.size()) + " outputs");
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].is_tensor() || !output_grads[i].is_tensor())
      return Status::error(op_type + " gradient: output " + std::to_string(i) + " or its gradient is missing");
    if (output_grads[i].shape() != outputs[i].shape() || output_grads[i].type() != outputs[i].type())
      return Status::error(op_type + " gradient: output " + std::to_string(i) + "'s gradient is " +
                           onnx_value_description(output_grads[i]) + " " + onnx_shape_string(output_grads[i].shape()) +
                           ", the output " + onnx_value_description(outputs[i]) + " " + onnx_shape_string(outputs[i].shape()));
  }
  if (!entry->gradient) return Status();
  OnnxNode node;
  node.name = op_type, node.op_type = op_type;
  KILN_RETURN_IF_ERROR(parse_eager_attributes(op_type, attributes, &node.attributes));
  for (size_t i = 0; i < inputs.size(); ++i) node.inputs.push_back(inputs[i].defined() ? "in" + std::to_string(i) : "");
  for (size_t i = 0; i < outputs.size(); ++i) node.outputs.push_back("out" + std::to_string(i));
  if (opset < 1 || opset > kEagerOpset) return Status::error(op_type + " gradient: opset " + std::to_string(opset) + " is out of range");
  OnnxOpContext ctx(node, opset);
  GradientOps g;
  entry->gradient(OnnxGradientContext{ctx, inputs, outputs, output_grads}, g, input_grads);
  if (!g.status().ok()) return Status::error(op_type + " gradient: " + g.status().message());
  input_grads->resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    OnnxValue& dx = (*input_grads)[i];
    if (!dx.defined()) continue;
    // Only float inputs take gradients (TF.js's rule: integer tensors are constants).
    if (!inputs[i].is_tensor() || !is_float(inputs[i].type())) {
      dx = OnnxValue();
      continue;
    }
    if (dx.shape() != inputs[i].shape() || dx.type() != inputs[i].type())
      return Status::error(op_type + " gradient: input " + std::to_string(i) + "'s gradient came out " +
                           onnx_value_description(dx) + " " + onnx_shape_string(dx.shape()) + " for " +
                           onnx_value_description(inputs[i]) + " " + onnx_shape_string(inputs[i].shape()));
  }
  return Status();
}

}  // namespace kiln
