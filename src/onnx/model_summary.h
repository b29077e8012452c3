// What `kiln inspect` prints for an ONNX model or a Kiln graph file: opset,
// inputs and outputs with their shapes, operators by count, and parameters
// (initializer elements and bytes) by data type and, for Kiln graph files,
// by storage encoding.
#pragma once
#include <string>
#include <vector>

#include "io/kiln_graph_format.h"
#include "io/onnx_model.h"

namespace kiln {

// `stored`: the Kiln graph file's table (decode_kiln_graph), null for .onnx.
std::string onnx_model_summary(const OnnxModel& model, const std::vector<KilnGraphTensorInfo>* stored);

}  // namespace kiln
