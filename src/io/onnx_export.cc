#include "io/onnx_export.h"

#include <map>
#include <memory>

#include "io/onnx_export_layers.h"
#include "io/onnx_writer.h"

namespace kiln {

namespace {

OnnxValueInfo value_info(const std::string& name, const Shape& shape) {
  OnnxValueInfo v;
  v.name = name;
  v.kind = OnnxValueKind::kTensor;
  v.elem_type = DataType::kFloat32;
  v.has_shape = true;
  v.shape.push_back(OnnxDim{-1, "batch"});
  for (int64_t d : shape) v.shape.push_back(OnnxDim{d, ""});
  return v;
}

// The topology's parts, checked already by Model::create.
struct Topology {
  Json root;
  const Json* layers = nullptr;
  const Json* nodes = nullptr;
  const Json* inputs = nullptr;
  const Json* outputs = nullptr;
};

Status read_topology(const Model& model, Topology* t) {
  KILN_RETURN_IF_ERROR(parse_json(model.topology(), &t->root));
  t->layers = t->root.find("layers");
  t->nodes = t->root.find("nodes");
  t->inputs = t->root.find("inputs");
  t->outputs = t->root.find("outputs");
  if (!t->layers || !t->nodes || !t->inputs || !t->outputs) return Status::error("onnx export: the model's topology is incomplete");
  return Status();
}

int index_of(const Json& j) { return int(j.as_number()); }

}  // namespace

Status export_onnx_model(Model& model, std::vector<uint8_t>* out) {
  Topology topo;
  KILN_RETURN_IF_ERROR(read_topology(model, &topo));
  std::map<std::string, size_t> weight_index;
  for (size_t i = 0; i < model.num_weights(); ++i) weight_index[model.weight_name(i)] = i;

  OnnxModel onnx;
  onnx.ir_version = kOnnxExportIrVersion;
  onnx.producer_name = "kiln";
  onnx.opset_imports.push_back({"", kOnnxExportOpset});
  OnnxGraphBuilder b;
  b.graph().name = "kiln";

  // Fresh copies of the layers, built again, give each node's output shapes.
  const auto& layers = topo.layers->items();
  std::vector<std::unique_ptr<Layer>> fresh(layers.size());
  std::vector<std::vector<ExportValue>> values;  // per node, per output
  for (const Json& node : topo.nodes->items()) {
    const int li = index_of(*node.find("layer"));
    const Json& layer_json = layers[size_t(li)];
    const std::string cls = layer_json.find("className")->as_string();
    const Json& config = *layer_json.find("config");
    if (!fresh[size_t(li)]) KILN_RETURN_IF_ERROR(make_layer(cls, config, &fresh[size_t(li)]));
    Layer& layer = *fresh[size_t(li)];

    LayerExport l{b, layer.name(), cls, config, {}, {}, {}};
    std::vector<Shape> in_shapes;
    for (const Json& ref : node.find("inputs")->items()) {
      l.inputs.push_back(values[size_t(index_of(ref.items()[0]))][size_t(index_of(ref.items()[1]))]);
      in_shapes.push_back(l.inputs.back().shape);
    }
    std::vector<WeightSpec> specs;
    KILN_RETURN_IF_ERROR(layer.build(in_shapes, &specs, &l.output_shapes));
    l.weight = [&model, &weight_index, &layer](const std::string& spec, ExportWeight* w) {
      const std::string full = layer.name() + "/" + spec;
      auto it = weight_index.find(full);
      if (it == weight_index.end()) return Status::error("onnx export: the model has no weight '" + full + "'");
      w->shape = model.weight_shape(it->second);
      w->data = model.weight_data(it->second);
      w->key = full;
      return Status();
    };
    b.set_prefix(layer.name());

    std::vector<ExportValue> outs;
    if (cls == "InputLayer") {
      outs.push_back({b.fresh(layer.name()), l.output_shapes[0], false});
    } else {
      const LayerExporter exporter = find_layer_exporter(cls);
      if (!exporter)
        return Status::error("onnx export: layer '" + layer.name() + "' (" + cls + ") has no ONNX equivalent in Kiln's exporter");
      KILN_RETURN_IF_ERROR(exporter(l, &outs));
      if (outs.size() != l.output_shapes.size()) return l.error("exported " + std::to_string(outs.size()) + " outputs, expected " +
                                                                 std::to_string(l.output_shapes.size()));
      for (size_t k = 0; k < outs.size(); ++k) outs[k].shape = l.output_shapes[k];
    }
    values.push_back(std::move(outs));
  }

  // Inputs in the model's order (predict's), which need not be the nodes' order.
  for (const Json& in : topo.inputs->items()) {
    const ExportValue& v = values[size_t(index_of(in))][0];
    b.graph().inputs.push_back(value_info(v.name, v.shape));
  }
  // Outputs: named after their layers, in Kiln's layout.
  b.set_prefix("output");
  for (const Json& ref : topo.outputs->items()) {
    const int n = index_of(ref.items()[0]), k = index_of(ref.items()[1]);
    const ExportValue& v = values[size_t(n)][size_t(k)];
    const Layer& layer = *fresh[size_t(index_of(*topo.nodes->items()[size_t(n)].find("layer")))];
    const std::string name = b.fresh(layer.name() + (k > 0 ? "_" + std::to_string(k) : ""));
    OnnxNode id;
    id.name = name + "/Identity";
    id.op_type = "Identity";
    id.inputs = {b.kiln_layout(v)};
    id.outputs = {name};
    b.graph().nodes.push_back(std::move(id));
    b.graph().outputs.push_back(value_info(name, v.shape));
  }
  onnx.graph = std::move(b.graph());
  return serialize_onnx_model(onnx, out);
}

}  // namespace kiln
