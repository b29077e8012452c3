// A TF.js graph model as the JS loader hands it to the core: model.json's
// topology and signature plus the decoded weights (float32, int32 or bool, one
// buffer), turned into an ONNX model the ONNX runtime runs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"
#include "io/onnx_model.h"

namespace kiln {

// `manifest` is JSON: {"modelTopology": GraphDef, "signature": {...} or null,
// "weights": [{"name", "dtype": "float32"|"int32"|"bool", "shape": [...], "offset": bytes}]};
// every weight's bytes lie in data[offset, offset + size). Every size and
// offset is checked before a byte is read.
Status tf_graph_model_to_onnx(const std::string& manifest, const uint8_t* data, size_t size, OnnxModel* out);

}  // namespace kiln
