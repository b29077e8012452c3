// An ONNX model as a graph for JavaScript to run op by op through the ops
// API (js/src/onnx_graph.ts: kiln.onnx.loadGraph), where the autograd tape
// sees every node, so any model whose ops have gradients can be fine-tuned.
// kiln_onnx_graph describes it as JSON (opset, inputs, outputs, nodes with
// their attributes in the eager ops' typed form, initializer names); the
// initializers and Constant nodes' values are then taken as value handles
// with kiln_onnx_graph_value. Only what an op-by-op run can express is
// accepted: the default domain, no subgraphs, tensor attributes only on
// Constant; anything else is an error naming the node.
#include <string>
#include <vector>

#include "core/json.h"
#include "io/onnx_model.h"
#include "onnx/eager_op.h"
#include "onnx/value.h"
#include "wasm/c_api.h"

using namespace kiln;

namespace {

std::string g_graph_json;
std::vector<OnnxValue> g_graph_values;

Json shape_json(const OnnxValueInfo& info) {
  if (!info.has_shape) return Json();
  Json dims = Json::array();
  for (const OnnxDim& d : info.shape) dims.push(d.value >= 0 ? Json::number(double(d.value)) : Json());
  return dims;
}

Status attribute_json(const OnnxNode& node, const OnnxAttribute& a, Json* out) {
  const auto bad = [&](const std::string& why) {
    return Status::error(node.op_type + " node '" + node.name + "': attribute '" + a.name + "' " + why);
  };
  if (!a.ref_attr_name.empty()) return bad("refers to a function attribute");
  switch (a.type) {
    case OnnxAttributeType::kInt: *out = Json::object().set("i", Json::number(double(a.i))); return Status();
    case OnnxAttributeType::kFloat: *out = Json::object().set("f", Json::number(a.f)); return Status();
    case OnnxAttributeType::kString: *out = Json::object().set("s", Json::string(a.s)); return Status();
    case OnnxAttributeType::kInts: {
      Json v = Json::array();
      for (int64_t x : a.ints) v.push(Json::number(double(x)));
      *out = Json::object().set("ints", std::move(v));
      return Status();
    }
    case OnnxAttributeType::kFloats: {
      Json v = Json::array();
      for (float x : a.floats) v.push(Json::number(x));
      *out = Json::object().set("floats", std::move(v));
      return Status();
    }
    case OnnxAttributeType::kGraph: case OnnxAttributeType::kGraphs:
      return bad("is a subgraph: control flow runs in kiln.onnx.load, not op by op");
    default:
      return bad("has a type an op-by-op run does not take");
  }
}

Status describe(const uint8_t* data, size_t size) {
  OnnxModel model;
  KILN_RETURN_IF_ERROR(parse_onnx_model(data, size, &model));
  int64_t opset = 0;
  for (const OnnxOpsetImport& o : model.opset_imports)
    if (o.domain.empty() || o.domain == "ai.onnx") opset = o.version;
  if (opset < 7 || opset > kEagerOpset)
    return Status::error("the model imports opset " + std::to_string(opset) + " of the default domain; op-by-op runs take 7 to " +
                         std::to_string(kEagerOpset));
  std::vector<OnnxValue> values;
  Json values_json = Json::array();
  const auto add_value = [&](const std::string& name, const OnnxTensor& t, bool constant) -> Status {
    if (t.has_external_data) return Status::error("initializer '" + name + "' keeps its data in an external file, which this call cannot read");
    OnnxValue v;
    const Status s = OnnxValue::from_tensor(t, &v);
    if (!s.ok()) return Status::error("initializer '" + name + "': " + s.message());
    values.push_back(std::move(v));
    values_json.push(Json::object().set("name", Json::string(name)).set("constant", Json::boolean(constant)));
    return Status();
  };
  for (const OnnxTensor& t : model.graph.initializers) KILN_RETURN_IF_ERROR(add_value(t.name, t, false));
  Json nodes = Json::array();
  for (const OnnxNode& n : model.graph.nodes) {
    if (!n.domain.empty() && n.domain != "ai.onnx")
      return Status::error(n.op_type + " node '" + n.name + "': domain '" + n.domain + "' is not the default one");
    if (n.op_type == "Constant") {
      const OnnxAttribute* value = nullptr;
      for (const OnnxAttribute& a : n.attributes)
        if (a.name == "value" && a.type == OnnxAttributeType::kTensor) value = &a;
      if (!value || n.outputs.size() != 1)
        return Status::error("Constant node '" + n.name + "': only a tensor 'value' is supported here");
      KILN_RETURN_IF_ERROR(add_value(n.outputs[0], value->t, true));
      continue;
    }
    Json attrs = Json::object();
    for (const OnnxAttribute& a : n.attributes) {
      Json v;
      KILN_RETURN_IF_ERROR(attribute_json(n, a, &v));
      attrs.set(a.name, std::move(v));
    }
    Json ins = Json::array(), outs = Json::array();
    for (const std::string& i : n.inputs) ins.push(Json::string(i));
    for (const std::string& o : n.outputs) outs.push(Json::string(o));
    nodes.push(Json::object().set("op", Json::string(n.op_type)).set("name", Json::string(n.name)).set("inputs", std::move(ins))
                   .set("outputs", std::move(outs)).set("attributes", std::move(attrs)));
  }
  Json inputs = Json::array(), outputs = Json::array();
  for (const OnnxValueInfo& i : model.graph.inputs) {
    bool is_initializer = false;
    for (const OnnxTensor& t : model.graph.initializers) is_initializer |= t.name == i.name;
    if (is_initializer) continue;  // old exporters list initializers as inputs too
    inputs.push(Json::object().set("name", Json::string(i.name)).set("type", Json::number(double(int(i.elem_type))))
                    .set("shape", shape_json(i)));
  }
  for (const OnnxValueInfo& o : model.graph.outputs) outputs.push(Json::string(o.name));
  g_graph_json = Json::object().set("opset", Json::number(double(opset))).set("inputs", std::move(inputs))
                     .set("outputs", std::move(outputs)).set("nodes", std::move(nodes)).set("values", std::move(values_json)).dump();
  g_graph_values = std::move(values);
  return Status();
}

}  // namespace

extern "C" {

// The model's description as JSON (valid until the next call), or null with
// kiln_last_error() set.
const char* kiln_onnx_graph(const uint8_t* data, int size) {
  g_graph_values.clear();
  const Status s = size < 0 ? Status::error("negative size") : describe(data, size_t(size));
  if (!s.ok()) return c_api_fail(s), nullptr;
  return g_graph_json.c_str();
}

// Value i of the last description's "values" (an initializer or a Constant's
// value) as a handle, or null.
OnnxValue* kiln_onnx_graph_value(int i) {
  if (i < 0 || size_t(i) >= g_graph_values.size()) return nullptr;
  return c_api_hand_out(g_graph_values[size_t(i)]);
}

// Frees the last description's values once JS has taken them.
void kiln_onnx_graph_release() {
  g_graph_values.clear();
  g_graph_json.clear();
}

}  // extern "C"
