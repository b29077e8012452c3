// Exporting a Kiln model to ONNX (kiln.onnx.export in JS,
// kiln::onnx::export_model natively): the same inputs (channels-last, as
// Kiln takes them) give the same outputs in any ONNX runtime. The file has
// IR version 8, the default-domain opset 17, a symbolic batch dimension
// ("batch") on every input and output, and float32 weights as raw_data.
// Which layers map to which operators: io/onnx_export_layers.h and
// docs/ONNX.md; a layer without a mapping is an error naming it.
#pragma once
#include <cstdint>
#include <vector>

#include "api/model.h"

namespace kiln {

constexpr int64_t kOnnxExportIrVersion = 8;
constexpr int64_t kOnnxExportOpset = 17;

// Non-const: the model's weight buffers are read through Model::weight_data.
Status export_onnx_model(Model& model, std::vector<uint8_t>* out);

}  // namespace kiln
