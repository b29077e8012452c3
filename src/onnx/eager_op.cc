#include "onnx/eager_op.h"

#include "onnx/op.h"

namespace kiln {
namespace {

Status parse_attribute(const std::string& op_type, const std::string& name, const Json& spec, OnnxAttribute* out) {
  const auto bad = [&](const std::string& why) { return Status::error(op_type + ": attribute '" + name + "' " + why); };
  if (!spec.is_object() || spec.members().size() != 1) return bad("must be one typed value ({\"i\": 1}, {\"floats\": [...]}, ...)");
  out->name = name;
  if (const Json* v = spec.find("i")) {
    if (!v->is_number()) return bad("must be a number");
    out->type = OnnxAttributeType::kInt, out->i = int64_t(v->as_number());
  } else if (const Json* v = spec.find("f")) {
    if (!v->is_number()) return bad("must be a number");
    out->type = OnnxAttributeType::kFloat, out->f = float(v->as_number());
  } else if (const Json* v = spec.find("s")) {
    if (!v->is_string()) return bad("must be a string");
    out->type = OnnxAttributeType::kString, out->s = v->as_string();
  } else if (const Json* v = spec.find("ints")) {
    if (!v->is_array()) return bad("must be an array");
    out->type = OnnxAttributeType::kInts;
    for (const Json& x : v->items()) {
      if (!x.is_number()) return bad("must hold numbers");
      out->ints.push_back(int64_t(x.as_number()));
    }
  } else if (const Json* v = spec.find("floats")) {
    if (!v->is_array()) return bad("must be an array");
    out->type = OnnxAttributeType::kFloats;
    for (const Json& x : v->items()) {
      if (!x.is_number()) return bad("must hold numbers");
      out->floats.push_back(float(x.as_number()));
    }
  } else {
    return bad("has an unknown type (i, f, s, ints, floats)");
  }
  return Status();
}

}  // namespace

Status parse_eager_attributes(const std::string& op_type, const Json& attributes, std::vector<OnnxAttribute>* out) {
  if (!attributes.is_object()) return Status::error(op_type + ": attributes must be a JSON object");
  for (const auto& [name, spec] : attributes.members()) {
    OnnxAttribute a;
    KILN_RETURN_IF_ERROR(parse_attribute(op_type, name, spec, &a));
    out->push_back(std::move(a));
  }
  return Status();
}

Status run_eager_op(const std::string& op_type, const Json& attributes, const std::vector<OnnxValue>& inputs,
                    int num_outputs, std::vector<OnnxValue>* outputs, int64_t opset) {
  std::vector<OnnxAttribute> attrs;
  KILN_RETURN_IF_ERROR(parse_eager_attributes(op_type, attributes, &attrs));
  std::vector<const OnnxValue*> in;
  for (const OnnxValue& v : inputs) in.push_back(v.defined() ? &v : nullptr);
  return run_op(op_type, std::move(attrs), in, num_outputs, outputs, opset);
}

Status prepare_op(const std::string& op_type, std::vector<OnnxAttribute> attributes, PreparedOp* out) {
  const OnnxOpEntry* op = find_eager_op(op_type);
  if (!op) return Status::error("unknown op '" + op_type + "'");
  if (op->any_value) return Status::error(op_type + ": takes sequences or subgraphs, not run as a single op");
  out->entry = op;
  out->node = OnnxNode();
  out->node.name = op_type, out->node.op_type = op_type;
  out->node.attributes = std::move(attributes);
  return Status();
}

Status run_prepared_op(PreparedOp& op, const std::vector<const OnnxValue*>& inputs, int num_outputs,
                       std::vector<OnnxValue>* outputs, int64_t opset) {
  const std::string& op_type = op.node.op_type;
  if (opset < 1 || opset > kEagerOpset) return Status::error(op_type + ": opset " + std::to_string(opset) + " is out of range (1 to " + std::to_string(kEagerOpset) + ")");
  if (num_outputs < 1 || num_outputs > 64) return Status::error(op_type + ": output count " + std::to_string(num_outputs) + " out of range");
  OnnxNode& node = op.node;
  // Kernels see which optional inputs are given by their names ("" = omitted).
  node.inputs.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool given = inputs[i] != nullptr;
    if (given && !inputs[i]->is_tensor()) return Status::error(op_type + ": input " + std::to_string(i) + " is not a tensor");
    if (given != !node.inputs[i].empty()) node.inputs[i] = given ? "in" + std::to_string(i) : "";
  }
  for (size_t i = node.outputs.size(); i < size_t(num_outputs); ++i) node.outputs.push_back("out" + std::to_string(i));
  node.outputs.resize(size_t(num_outputs));
  std::vector<float> scratch;
  outputs->assign(size_t(num_outputs), OnnxValue());
  const Status s = op.entry->kernel(OnnxOpContext(node, opset, &scratch), inputs, outputs);
  if (!s.ok()) return s;
  for (int i = 0; i < num_outputs; ++i)
    if (!(*outputs)[size_t(i)].is_tensor())
      return Status::error(op_type + ": output " + std::to_string(i) + " was not computed");
  return Status();
}

Status run_op(const std::string& op_type, std::vector<OnnxAttribute> attributes, const std::vector<const OnnxValue*>& inputs,
              int num_outputs, std::vector<OnnxValue>* outputs, int64_t opset) {
  PreparedOp op;
  KILN_RETURN_IF_ERROR(prepare_op(op_type, std::move(attributes), &op));
  return run_prepared_op(op, inputs, num_outputs, outputs, opset);
}

}  // namespace kiln
