#include "io/onnx_model.h"

#include <cstring>
#include <limits>
#include <map>

#include "io/protobuf_reader.h"

namespace kiln {

int64_t OnnxTensor::element_count() const {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  return count;
}

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// Prefixes an error with the field it happened in, e.g. "GraphProto.node: ".
Status in(const char* field, Status status) {
  if (status.ok()) return status;
  return Status::error(std::string(field) + ": " + status.message());
}

// Calls read(field) on each field of the message in r; read skips the fields it does not use.
template <typename Read>
Status for_each_field(ProtoReader* r, Read read) {
  while (!r->done()) {
    ProtoField field;
    KILN_RETURN_IF_ERROR(r->next(&field));
    KILN_RETURN_IF_ERROR(read(field));
  }
  return Status();
}

// Parses the sub-message in `field` with parse(sub, args...); errors name `where`.
template <typename Parse, typename... Args>
Status parse_message(ProtoReader* r, const ProtoField& field, const char* where, Parse parse, Args&&... args) {
  ProtoReader sub(nullptr, 0);
  KILN_RETURN_IF_ERROR(r->read_message(field, &sub));
  return in(where, parse(sub, std::forward<Args>(args)...));
}

struct Counts {
  size_t nodes = 0, attributes = 0;
};

// ---- TensorProto ----------------------------------------------------------

// TensorProto's typed data fields (numbers from onnx.proto).
constexpr uint32_t kFloatData = 4, kInt32Data = 5, kStringData = 6, kInt64Data = 7, kDoubleData = 10, kUint64Data = 11;

const char* typed_field_name(uint32_t field) {
  switch (field) {
    case kFloatData: return "float_data";
    case kInt32Data: return "int32_data";
    case kStringData: return "string_data";
    case kInt64Data: return "int64_data";
    case kDoubleData: return "double_data";
    default: return "uint64_data";
  }
}

// The typed field that holds a type's values when raw_data is not used: the
// narrow integers, bool and the 16-bit floats all travel in int32_data.
uint32_t typed_field_for(DataType type) {
  switch (type) {
    case DataType::kFloat32: return kFloatData;
    case DataType::kInt64: return kInt64Data;
    case DataType::kFloat64: return kDoubleData;
    case DataType::kUint32:
    case DataType::kUint64: return kUint64Data;
    case DataType::kString: return kStringData;
    default: return kInt32Data;
  }
}

// A TensorProto's data as read, decoded once the whole message is seen
// (data_type may follow the data).
struct TensorFields {
  std::vector<uint64_t> dims;
  const uint8_t* raw = nullptr;
  size_t raw_size = 0;
  bool has_raw = false;
  std::vector<uint64_t> values;  // the typed field's elements; floats as their bits
  uint32_t values_field = 0;     // which typed field, 0 for none
  bool external = false;
};

Status read_typed_field(ProtoReader* r, const ProtoField& field, TensorFields* t, OnnxTensor* out) {
  if (t->values_field && t->values_field != field.number) {
    return Status::error(std::string("data in both ") + typed_field_name(t->values_field) + " and " +
                         typed_field_name(field.number));
  }
  t->values_field = field.number;
  switch (field.number) {
    case kStringData: return r->read_string(field, &out->strings.emplace_back());
    case kDoubleData: return r->read_repeated_fixed64(field, &t->values);
    case kFloatData: {
      std::vector<uint32_t> bits;
      KILN_RETURN_IF_ERROR(r->read_repeated_fixed32(field, &bits));
      t->values.insert(t->values.end(), bits.begin(), bits.end());
      return Status();
    }
    default: return r->read_repeated_varint(field, &t->values);
  }
}

Status parse_decimal(const std::string& text, uint64_t* value) {
  if (text.empty() || text.size() > 18) return Status::error("'" + text + "' is not a byte count");
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Status::error("'" + text + "' is not a byte count");
    v = v * 10 + uint64_t(c - '0');
  }
  *value = v;
  return Status();
}

// StringStringEntryProto: location, offset and length; other keys are ignored.
Status parse_external_entry(ProtoReader r, OnnxExternalData* external) {
  std::string key, value;
  KILN_RETURN_IF_ERROR(for_each_field(&r, [&](const ProtoField& field) -> Status {
    if (field.number == 1) return r.read_string(field, &key);
    if (field.number == 2) return r.read_string(field, &value);
    return r.skip(field);
  }));
  uint64_t n = 0;
  if (key == "location") {
    external->location = value;
  } else if (key == "offset") {
    KILN_RETURN_IF_ERROR(parse_decimal(value, &n));
    external->offset = n;
  } else if (key == "length") {
    KILN_RETURN_IF_ERROR(parse_decimal(value, &n));
    external->length = int64_t(n);
  }
  return Status();
}

// Checks dims and the element count, then copies the data into out->data.
Status decode_tensor(const TensorFields& t, OnnxTensor* out) {
  int64_t count = 1;
  for (uint64_t d : t.dims) {
    if (d > uint64_t(kInt64Max)) return Status::error("negative dimension " + std::to_string(int64_t(d)));
    if (d && count > kInt64Max / int64_t(d)) return Status::error("the product of dims overflows");
    count *= int64_t(d);
    out->dims.push_back(int64_t(d));
  }
  const std::string type_name = "data type " + std::to_string(int(out->data_type));
  size_t width = dtype_size(out->data_type);
  if (out->data_type != DataType::kString && width == 0) return Status::error(type_name + " is not supported");
  if (t.external) {
    if (out->data_type == DataType::kString) return Status::error("string tensors cannot be external");
    if (t.has_raw || t.values_field) return Status::error("external tensor also has data in the file");
    if (out->external.location.empty()) return Status::error("external data without a location");
    if (count > kInt64Max / int64_t(width)) return Status::error("tensor size overflows");
    if (out->external.length >= 0 && out->external.length != count * int64_t(width)) {
      return Status::error("external data length " + std::to_string(out->external.length) + " is not " +
                           std::to_string(count) + " elements of " + std::to_string(width) + " bytes");
    }
    out->has_external_data = true;
    return Status();
  }
  uint32_t expected = typed_field_for(out->data_type);
  if (t.values_field && t.values_field != expected) {
    return Status::error(std::string(typed_field_name(t.values_field)) + " cannot hold " + type_name);
  }
  if (t.has_raw && (t.values_field || out->data_type == DataType::kString)) {
    return Status::error(t.values_field ? "data in both raw_data and a typed field" : "raw_data cannot hold strings");
  }
  if (t.has_raw && t.raw_size % width) {
    return Status::error("raw_data of " + std::to_string(t.raw_size) + " bytes is not a whole number of " +
                         std::to_string(width) + "-byte elements");
  }
  size_t present = t.values.size();
  if (t.has_raw) present = t.raw_size / width;
  if (out->data_type == DataType::kString) present = out->strings.size();
  if (uint64_t(present) != uint64_t(count)) {
    return Status::error("holds " + std::to_string(present) + " elements but its dims make " + std::to_string(count));
  }
  if (t.has_raw) {
    out->data.assign(t.raw, t.raw + t.raw_size);
  } else if (width) {
    // Each value's low `width` bytes, little-endian: int32_data carries
    // narrower types (and 16-bit float words) in its low bits.
    out->data.resize(t.values.size() * width);
    uint8_t* p = out->data.data();
    for (uint64_t v : t.values) {
      for (size_t b = 0; b < width; ++b) *p++ = uint8_t(v >> (8 * b));
    }
  }
  return Status();
}

Status parse_tensor(ProtoReader r, OnnxTensor* out) {
  TensorFields t;
  KILN_RETURN_IF_ERROR(for_each_field(&r, [&](const ProtoField& field) -> Status {
    int64_t v = 0;
    switch (field.number) {
      case 1: return r.read_repeated_varint(field, &t.dims);
      case 2:
        KILN_RETURN_IF_ERROR(r.read_int64(field, &v));
        if (v < 0 || v > std::numeric_limits<int32_t>::max())
          return Status::error("invalid data type " + std::to_string(v));
        out->data_type = DataType(int32_t(v));
        return Status();
      case kFloatData:
      case kInt32Data:
      case kStringData:
      case kInt64Data:
      case kDoubleData:
      case kUint64Data: return in("TensorProto", read_typed_field(&r, field, &t, out));
      case 8: return r.read_string(field, &out->name);
      case 9:
        KILN_RETURN_IF_ERROR(r.read_bytes(field, &t.raw, &t.raw_size));
        t.has_raw = true;
        return Status();
      case 13: return parse_message(&r, field, "TensorProto.external_data", parse_external_entry, &out->external);
      case 14:
        KILN_RETURN_IF_ERROR(r.read_int64(field, &v));
        t.external = v == 1;  // DataLocation EXTERNAL
        return Status();
      default: return r.skip(field);
    }
  }));
  Status status = decode_tensor(t, out);
  if (!status.ok()) return Status::error("tensor '" + out->name + "': " + status.message());
  return status;
}

// ---- ValueInfoProto -------------------------------------------------------

Status parse_dim(ProtoReader r, OnnxDim* dim) {
  return for_each_field(&r, [&](const ProtoField& field) -> Status {
    if (field.number == 1) {
      KILN_RETURN_IF_ERROR(r.read_int64(field, &dim->value));
      if (dim->value < 0) return Status::error("negative dim_value " + std::to_string(dim->value));
      return Status();
    }
    if (field.number == 2) return r.read_string(field, &dim->param);
    return r.skip(field);
  });
}

// TypeProto.Tensor: elem_type and shape (TensorShapeProto, whose dims are field 1).
Status parse_tensor_type(ProtoReader r, OnnxValueInfo* info) {
  return for_each_field(&r, [&](const ProtoField& field) -> Status {
    if (field.number == 1) {
      int64_t v = 0;
      KILN_RETURN_IF_ERROR(r.read_int64(field, &v));
      info->elem_type = DataType(int32_t(v));
      return Status();
    }
    if (field.number != 2) return r.skip(field);
    ProtoReader shape(nullptr, 0);
    KILN_RETURN_IF_ERROR(r.read_message(field, &shape));
    info->has_shape = true;
    return for_each_field(&shape, [&](const ProtoField& dim) -> Status {
      if (dim.number != 1) return shape.skip(dim);
      return parse_message(&shape, dim, "TensorShapeProto.dim", parse_dim, &info->shape.emplace_back());
    });
  });
}

Status parse_type(ProtoReader r, OnnxValueInfo* info) {
  return for_each_field(&r, [&](const ProtoField& field) -> Status {
    switch (field.number) {
      case 1:
        info->kind = OnnxValueKind::kTensor;
        return parse_message(&r, field, "TypeProto.tensor_type", parse_tensor_type, info);
      case 4: info->kind = OnnxValueKind::kSequence; break;
      case 5: info->kind = OnnxValueKind::kMap; break;
      case 8: info->kind = OnnxValueKind::kSparseTensor; break;
      case 9: info->kind = OnnxValueKind::kOptional; break;
    }
    return r.skip(field);
  });
}

Status parse_value_info(ProtoReader r, OnnxValueInfo* info) {
  return for_each_field(&r, [&](const ProtoField& field) -> Status {
    if (field.number == 1) return r.read_string(field, &info->name);
    if (field.number == 2) return parse_message(&r, field, "ValueInfoProto.type", parse_type, info);
    return r.skip(field);
  });
}

// ---- NodeProto, AttributeProto, GraphProto (mutually recursive) -----------

Status parse_graph(ProtoReader r, Counts* counts, OnnxGraph* graph);

Status parse_attribute(ProtoReader r, Counts* counts, OnnxAttribute* a) {
  return for_each_field(&r, [&](const ProtoField& field) -> Status {
    int64_t v = 0;
    std::vector<uint32_t> bits;
    std::vector<uint64_t> ints;
    switch (field.number) {
      case 1: return r.read_string(field, &a->name);
      case 2: return r.read_float(field, &a->f);
      case 3: return r.read_int64(field, &a->i);
      case 4: return r.read_string(field, &a->s);
      case 5: return parse_message(&r, field, "AttributeProto.t", parse_tensor, &a->t);
      case 6: {
        ProtoReader sub(nullptr, 0);
        KILN_RETURN_IF_ERROR(r.read_message(field, &sub));
        a->g = std::make_unique<OnnxGraph>();
        return in("AttributeProto.g", parse_graph(sub, counts, a->g.get()));
      }
      case 7:
        KILN_RETURN_IF_ERROR(r.read_repeated_fixed32(field, &bits));
        for (uint32_t b : bits) std::memcpy(&a->floats.emplace_back(), &b, 4);
        return Status();
      case 8:
        KILN_RETURN_IF_ERROR(r.read_repeated_varint(field, &ints));
        for (uint64_t i : ints) a->ints.push_back(int64_t(i));
        return Status();
      case 9: return r.read_string(field, &a->strings.emplace_back());
      case 10: return parse_message(&r, field, "AttributeProto.tensors", parse_tensor, &a->tensors.emplace_back());
      case 11:
        return parse_message(&r, field, "AttributeProto.graphs", parse_graph, counts, &a->graphs.emplace_back());
      case 20:
        KILN_RETURN_IF_ERROR(r.read_int64(field, &v));
        a->type = OnnxAttributeType(int32_t(v));
        return Status();
      case 21: return r.read_string(field, &a->ref_attr_name);
      case 22:
      case 23: return Status::error("attribute '" + a->name + "': sparse tensors are not supported");
      default: return r.skip(field);
    }
  });
}

Status parse_node(ProtoReader r, Counts* counts, OnnxNode* node) {
  return for_each_field(&r, [&](const ProtoField& field) -> Status {
    switch (field.number) {
      case 1: return r.read_string(field, &node->inputs.emplace_back());
      case 2: return r.read_string(field, &node->outputs.emplace_back());
      case 3: return r.read_string(field, &node->name);
      case 4: return r.read_string(field, &node->op_type);
      case 5:
        if (++counts->attributes > kOnnxMaxAttributes) {
          return Status::error("more than " + std::to_string(kOnnxMaxAttributes) + " attributes");
        }
        return parse_message(&r, field, "NodeProto.attribute", parse_attribute, counts,
                             &node->attributes.emplace_back());
      case 7: return r.read_string(field, &node->domain);
      default: return r.skip(field);
    }
  });
}

Status parse_graph(ProtoReader r, Counts* counts, OnnxGraph* graph) {
  return for_each_field(&r, [&](const ProtoField& field) -> Status {
    switch (field.number) {
      case 1:
        if (++counts->nodes > kOnnxMaxNodes)
          return Status::error("more than " + std::to_string(kOnnxMaxNodes) + " nodes");
        return parse_message(&r, field, "GraphProto.node", parse_node, counts, &graph->nodes.emplace_back());
      case 2: return r.read_string(field, &graph->name);
      case 5:
        return parse_message(&r, field, "GraphProto.initializer", parse_tensor, &graph->initializers.emplace_back());
      case 11: return parse_message(&r, field, "GraphProto.input", parse_value_info, &graph->inputs.emplace_back());
      case 12: return parse_message(&r, field, "GraphProto.output", parse_value_info, &graph->outputs.emplace_back());
      case 13:
        return parse_message(&r, field, "GraphProto.value_info", parse_value_info, &graph->value_info.emplace_back());
      case 15: return Status::error("sparse initializers are not supported");
      default: return r.skip(field);
    }
  });
}

Status parse_opset(ProtoReader r, OnnxOpsetImport* opset) {
  return for_each_field(&r, [&](const ProtoField& field) -> Status {
    if (field.number == 1) return r.read_string(field, &opset->domain);
    if (field.number == 2) return r.read_int64(field, &opset->version);
    return r.skip(field);
  });
}

Status parse_model(ProtoReader r, OnnxModel* model) {
  Counts counts;
  bool has_graph = false;
  KILN_RETURN_IF_ERROR(for_each_field(&r, [&](const ProtoField& field) -> Status {
    switch (field.number) {
      case 1: return r.read_int64(field, &model->ir_version);
      case 2: return r.read_string(field, &model->producer_name);
      case 7: {
        ProtoReader sub(nullptr, 0);
        KILN_RETURN_IF_ERROR(r.read_message(field, &sub));
        model->graph = OnnxGraph();
        KILN_RETURN_IF_ERROR(in("ModelProto.graph", parse_graph(sub, &counts, &model->graph)));
        has_graph = true;
        return Status();
      }
      case 8:
        return parse_message(&r, field, "ModelProto.opset_import", parse_opset, &model->opset_imports.emplace_back());
      default: return r.skip(field);
    }
  }));
  return has_graph ? Status() : Status::error("the model has no graph");
}

// ---- SequenceProto, OptionalProto ------------------------------------------

Status parse_sequence(ProtoReader r, int depth, OnnxDataValue* out);
Status parse_optional(ProtoReader r, int depth, OnnxDataValue* out);

// A contained value in field 3 (tensor), 5 (sequence) or 7 (optional) of
// either message; maps (6) and sparse tensors (4) are refused.
Status parse_contained(ProtoReader* r, const ProtoField& field, int depth, OnnxDataValue* out) {
  if (depth > 8) return Status::error("sequences and optionals nest too deeply");
  switch (field.number) {
    case 3: out->kind = OnnxValueKind::kTensor; return parse_message(r, field, "tensor", parse_tensor, &out->tensor);
    case 5: return parse_message(r, field, "sequence", parse_sequence, depth + 1, out);
    case 7: return parse_message(r, field, "optional", parse_optional, depth + 1, out);
    case 4: return Status::error("sparse tensors are not supported");
    case 6: return Status::error("maps are not supported");
    default: return r->skip(field);
  }
}

Status parse_sequence(ProtoReader r, int depth, OnnxDataValue* out) {
  out->kind = OnnxValueKind::kSequence;
  return for_each_field(&r, [&](const ProtoField& field) -> Status {
    if (field.number < 3 || field.number > 7) return r.skip(field);
    return parse_contained(&r, field, depth, &out->items.emplace_back());
  });
}

Status parse_optional(ProtoReader r, int depth, OnnxDataValue* out) {
  out->kind = OnnxValueKind::kOptional;
  return for_each_field(&r, [&](const ProtoField& field) -> Status {
    if (field.number < 3 || field.number > 7) return r.skip(field);
    out->items.resize(1);
    return parse_contained(&r, field, depth, &out->items[0]);
  });
}

// ---- external data ---------------------------------------------------------

// Only paths inside the model's folder: not absolute, no drive, no "..".
Status check_location(const std::string& location) {
  bool absolute =
      location.empty() || location[0] == '/' || location[0] == '\\' || (location.size() > 1 && location[1] == ':');
  size_t start = 0;
  bool parent = false;
  while (start <= location.size()) {
    size_t end = location.find_first_of("/\\", start);
    if (end == std::string::npos) end = location.size();
    parent = parent || location.compare(start, end - start, "..") == 0;
    start = end + 1;
  }
  if (absolute || parent) {
    return Status::error("external data location '" + location + "' must be a relative path inside the model's folder");
  }
  return Status();
}

void collect_tensors(OnnxGraph* graph, std::vector<OnnxTensor*>* out) {
  for (OnnxTensor& t : graph->initializers) out->push_back(&t);
  for (OnnxNode& node : graph->nodes) {
    for (OnnxAttribute& a : node.attributes) {
      out->push_back(&a.t);
      for (OnnxTensor& t : a.tensors) out->push_back(&t);
      if (a.g) collect_tensors(a.g.get(), out);
      for (OnnxGraph& g : a.graphs) collect_tensors(&g, out);
    }
  }
}

Status load_external(OnnxTensor* t, std::map<std::string, std::vector<uint8_t>>* files,
                     const OnnxFileReader& read_file) {
  KILN_RETURN_IF_ERROR(check_location(t->external.location));
  auto file = files->find(t->external.location);
  if (file == files->end()) {
    std::vector<uint8_t> bytes;
    KILN_RETURN_IF_ERROR(read_file(t->external.location, &bytes));
    file = files->emplace(t->external.location, std::move(bytes)).first;
  }
  const std::vector<uint8_t>& bytes = file->second;
  uint64_t size = uint64_t(t->element_count()) * dtype_size(t->data_type);
  uint64_t offset = t->external.offset;
  if (offset > bytes.size() || size > bytes.size() - offset) {
    return Status::error("bytes " + std::to_string(offset) + ".." + std::to_string(offset + size) +
                         " lie past the end of '" + t->external.location + "' (" + std::to_string(bytes.size()) +
                         " bytes)");
  }
  t->data.assign(bytes.begin() + size_t(offset), bytes.begin() + size_t(offset + size));
  t->has_external_data = false;
  return Status();
}

}  // namespace

Status parse_onnx_model(const uint8_t* data, size_t size, OnnxModel* out) {
  *out = OnnxModel();
  return in("invalid ONNX model", parse_model(ProtoReader(data, size), out));
}

Status parse_onnx_tensor(const uint8_t* data, size_t size, OnnxTensor* out) {
  *out = OnnxTensor();
  return in("invalid ONNX tensor", parse_tensor(ProtoReader(data, size), out));
}

Status parse_onnx_sequence(const uint8_t* data, size_t size, OnnxDataValue* out) {
  *out = OnnxDataValue();
  return in("invalid ONNX sequence", parse_sequence(ProtoReader(data, size), 0, out));
}

Status parse_onnx_optional(const uint8_t* data, size_t size, OnnxDataValue* out) {
  *out = OnnxDataValue();
  return in("invalid ONNX optional", parse_optional(ProtoReader(data, size), 0, out));
}

Status resolve_external_data(OnnxModel* model, const OnnxFileReader& read_file) {
  std::vector<OnnxTensor*> tensors;
  collect_tensors(&model->graph, &tensors);
  std::map<std::string, std::vector<uint8_t>> files;
  for (OnnxTensor* t : tensors) {
    if (!t->has_external_data) continue;
    Status s = load_external(t, &files, read_file);
    if (!s.ok()) return Status::error("external data of tensor '" + t->name + "': " + s.message());
  }
  return Status();
}

}  // namespace kiln
