// Trainable models from imported files: ONNX today (frontends/onnx_to_layers.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "api/model.h"
#include "frontends/onnx_to_layers.h"

namespace kiln {

// A model from a front-end's topology and weights.
Status create_imported_model(const LayersImport& in, uint64_t seed, std::unique_ptr<Model>* out);

// An ONNX file (.onnx bytes) as a trainable model; see onnx_to_layers.
Status import_onnx_model(const uint8_t* data, size_t size, const OnnxImportOptions& options, uint64_t seed,
                         std::unique_ptr<Model>* out);

}  // namespace kiln
