#include "io/onnx_writer.h"

#include "io/protobuf_writer.h"

namespace kiln {

namespace {

ProtoWriter tensor_proto(const OnnxTensor& t) {
  ProtoWriter w;
  w.write_packed_int64(1, t.dims);  // dims
  w.write_int64(2, int64_t(t.data_type));
  w.write_string(8, t.name);
  if (t.data_type == DataType::kString) {
    for (const std::string& s : t.strings) w.write_string(6, s);  // string_data
  } else {
    w.write_bytes(9, t.data.data(), t.data.size());  // raw_data, little-endian
  }
  return w;
}

ProtoWriter value_info_proto(const OnnxValueInfo& v) {
  ProtoWriter shape;  // TensorShapeProto
  for (const OnnxDim& d : v.shape) {
    ProtoWriter dim;
    if (d.value >= 0) {
      dim.write_int64(1, d.value);  // dim_value
    } else if (!d.param.empty()) {
      dim.write_string(2, d.param);  // dim_param
    }
    shape.write_message(1, dim);
  }
  ProtoWriter tensor;  // TypeProto.Tensor
  tensor.write_int64(1, int64_t(v.elem_type));
  if (v.has_shape) tensor.write_message(2, shape);
  ProtoWriter type;  // TypeProto
  type.write_message(1, tensor);
  ProtoWriter w;
  w.write_string(1, v.name);
  w.write_message(2, type);
  return w;
}

Status attribute_proto(const OnnxNode& node, const OnnxAttribute& a, ProtoWriter* w) {
  w->write_string(1, a.name);
  w->write_int64(20, int64_t(a.type));
  switch (a.type) {
    case OnnxAttributeType::kFloat: w->write_float(2, a.f); break;
    case OnnxAttributeType::kInt: w->write_int64(3, a.i); break;
    case OnnxAttributeType::kString: w->write_string(4, a.s); break;
    case OnnxAttributeType::kTensor: w->write_message(5, tensor_proto(a.t)); break;
    case OnnxAttributeType::kFloats: w->write_packed_float(7, a.floats); break;
    case OnnxAttributeType::kInts: w->write_packed_int64(8, a.ints); break;
    case OnnxAttributeType::kStrings:
      for (const std::string& s : a.strings) w->write_string(9, s);
      break;
    default:
      return Status::error("onnx writer: node '" + node.name + "' (" + node.op_type + "): attribute '" + a.name +
                           "' has type " + std::to_string(int(a.type)) + ", which the writer does not support");
  }
  return Status();
}

Status node_proto(const OnnxNode& n, ProtoWriter* w) {
  for (const std::string& s : n.inputs) w->write_string(1, s);
  for (const std::string& s : n.outputs) w->write_string(2, s);
  w->write_string(3, n.name);
  w->write_string(4, n.op_type);
  for (const OnnxAttribute& a : n.attributes) {
    ProtoWriter sub;
    KILN_RETURN_IF_ERROR(attribute_proto(n, a, &sub));
    w->write_message(5, sub);
  }
  if (!n.domain.empty()) w->write_string(7, n.domain);
  return Status();
}

Status graph_proto(const OnnxGraph& g, ProtoWriter* w) {
  for (const OnnxNode& n : g.nodes) {
    ProtoWriter sub;
    KILN_RETURN_IF_ERROR(node_proto(n, &sub));
    w->write_message(1, sub);
  }
  w->write_string(2, g.name);
  for (const OnnxTensor& t : g.initializers) w->write_message(5, tensor_proto(t));
  for (const OnnxValueInfo& v : g.inputs) w->write_message(11, value_info_proto(v));
  for (const OnnxValueInfo& v : g.outputs) w->write_message(12, value_info_proto(v));
  for (const OnnxValueInfo& v : g.value_info) w->write_message(13, value_info_proto(v));
  return Status();
}

}  // namespace

Status serialize_onnx_model(const OnnxModel& model, std::vector<uint8_t>* out) {
  ProtoWriter w;
  w.write_int64(1, model.ir_version);
  w.write_string(2, model.producer_name);
  ProtoWriter graph;
  KILN_RETURN_IF_ERROR(graph_proto(model.graph, &graph));
  w.write_message(7, graph);
  for (const OnnxOpsetImport& o : model.opset_imports) {
    ProtoWriter sub;
    if (!o.domain.empty()) sub.write_string(1, o.domain);
    sub.write_int64(2, o.version);
    w.write_message(8, sub);
  }
  *out = w.take();
  return Status();
}

}  // namespace kiln
