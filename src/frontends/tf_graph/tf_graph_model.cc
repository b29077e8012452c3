#include "frontends/tf_graph/tf_graph_model.h"

#include <cmath>
#include <cstring>
#include <map>

#include "core/json.h"
#include "frontends/tf_graph/tf_graph_translator.h"

namespace kiln {

namespace {

Status read_weight(const Json& spec, const uint8_t* data, size_t size, OnnxTensor* out) {
  const Json* name = spec.find("name");
  if (!name || !name->is_string()) return Status::error("a weight entry has no name");
  const std::string where = "weight '" + name->as_string() + "'";
  const Json* dtype = spec.find("dtype");
  const Json* shape = spec.find("shape");
  const Json* offset = spec.find("offset");
  if (!dtype || !dtype->is_string()) return Status::error(where + ": no dtype");
  const std::string& d = dtype->as_string();
  size_t element;
  if (d == "float32") out->data_type = DataType::kFloat32, element = 4;
  else if (d == "int32") out->data_type = DataType::kInt32, element = 4;
  else if (d == "bool") out->data_type = DataType::kBool, element = 1;
  else return Status::error(where + ": dtype '" + d + "' is not supported (float32, int32, bool)");
  if (!shape || !shape->is_array()) return Status::error(where + ": no shape");
  uint64_t count = 1;
  for (const Json& dim : shape->items()) {
    // The range first: converting 3e87 to an integer is undefined.
    if (!dim.is_number() || !(dim.as_number() >= 0 && dim.as_number() <= double(size)) ||
        dim.as_number() != std::floor(dim.as_number()))
      return Status::error(where + ": the shape must hold non-negative integers no larger than the data");
    out->dims.push_back(int64_t(dim.as_number()));
    count *= uint64_t(out->dims.back());
    if (count > size) return Status::error(where + ": its shape needs more bytes than the weight data holds");
  }
  const uint64_t bytes = count * element;
  if (!offset || !offset->is_number() || !(offset->as_number() >= 0 && offset->as_number() <= double(size)) ||
      offset->as_number() != std::floor(offset->as_number()))
    return Status::error(where + ": no byte offset");
  const uint64_t at = uint64_t(offset->as_number());
  if (at > size || bytes > size - at)
    return Status::error(where + ": bytes " + std::to_string(at) + ".." + std::to_string(at + bytes) + " lie outside the " +
                         std::to_string(size) + " bytes of weight data");
  out->name = name->as_string();
  out->data.assign(data + at, data + at + bytes);
  if (out->data_type == DataType::kBool)
    for (uint8_t& b : out->data) b = b ? 1 : 0;
  return Status();
}

}  // namespace

Status tf_graph_model_to_onnx(const std::string& manifest, const uint8_t* data, size_t size, OnnxModel* out) {
  Json json;
  KILN_RETURN_IF_ERROR(parse_json(manifest, &json));
  const Json* topology = json.find("modelTopology");
  if (!topology || !topology->is_object()) return Status::error("the model has no modelTopology object (a GraphDef)");
  const Json* signature = json.find("signature");
  if (signature && !signature->is_object()) signature = nullptr;
  const Json* specs = json.find("weights");
  if (!specs || !specs->is_array()) return Status::error("the model has no weight list");
  std::map<std::string, OnnxTensor> weights;
  for (const Json& spec : specs->items()) {
    OnnxTensor t;
    KILN_RETURN_IF_ERROR(read_weight(spec, data, size, &t));
    std::string name = t.name;
    if (!weights.emplace(name, std::move(t)).second) return Status::error("weight '" + name + "' is listed twice");
  }
  return tf_graph_to_onnx(*topology, signature, std::move(weights), out);
}

}  // namespace kiln
