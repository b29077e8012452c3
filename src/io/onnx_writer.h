// Serializes the ONNX structs of io/onnx_model.h back into a ModelProto, with
// io/protobuf_writer.h. Covers what Kiln's exporter emits: tensors (raw_data,
// or string_data for strings), scalar and list attributes, tensor attributes,
// value infos with fixed or symbolic dims. Field numbers are onnx.proto's.
#pragma once
#include <cstdint>
#include <vector>

#include "core/status.h"
#include "io/onnx_model.h"

namespace kiln {

// Fails, naming the node and attribute, on attribute kinds it does not write
// (graphs, sparse tensors, type protos).
Status serialize_onnx_model(const OnnxModel& model, std::vector<uint8_t>* out);

}  // namespace kiln
