// Factory of the Embedding layer (inputDim, outputDim, embeddingsInitializer;
// inputLength is accepted and ignored; maskZero is refused: Kiln has no masks).
#pragma once
#include "layers/layer.h"

namespace kiln {

Status make_embedding(const Json& config, std::unique_ptr<Layer>* out);

}  // namespace kiln
