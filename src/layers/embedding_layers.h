// Factory of the Embedding layer (inputDim, outputDim, embeddingsInitializer;
// inputLength is accepted and ignored; maskZero masks the steps whose id is 0).
#pragma once
#include "layers/layer.h"

namespace kiln {

Status make_embedding(const Json& config, std::unique_ptr<Layer>* out);

}  // namespace kiln
