// The ONNX front-end for training: translates an ONNX model (a PyTorch
// export, say) into a Layers topology plus the model's weights, so it can be
// fine-tuned (fit, frozen layers, a new head through the functional API),
// saved in Kiln's format and exported again. Inference-only use goes through
// OnnxSession, which covers far more operators; this path covers the ones
// convolutional classifiers and MLPs are built from (docs/ONNX.md, "Fine-tuning").
//
// Inputs and outputs keep ONNX's layout (NCHW images): the topology permutes
// to channels-last once after each input and back before each 4-D output.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/shape.h"
#include "core/status.h"

namespace kiln {

struct OnnxImportOptions {
  // Per graph input, its shape without the batch (NCHW for images), replacing
  // the declared one: a fully convolutional network runs at any image size.
  // Empty: the declared shapes, which must be static apart from the batch.
  std::vector<Shape> input_shapes;
};

struct LayersImport {
  std::string topology;  // the Layers topology JSON (docs/FORMAT.md)
  // "<layer>/<weight>" -> values in the layer's own layout (TF.js's).
  std::vector<std::pair<std::string, std::vector<float>>> weights;
};

// Errors name the node and operator; operators this path cannot translate are
// listed together in one message.
Status onnx_to_layers(const uint8_t* data, size_t size, const OnnxImportOptions& options, LayersImport* out);

}  // namespace kiln
