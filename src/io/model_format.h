// Kiln's model file (.kiln): one binary file holding the architecture, the
// weights as raw little-endian float32 (each tensor 64-byte aligned, so a
// loader can use them in place) and, optionally, the optimizer state.
// The layout is specified in docs/FORMAT.md. Reading checks every field and
// rejects a bad file with a message naming the field.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "api/model.h"

namespace kiln {

// Writes version 2 for plain dense stacks and 3 (JSON topology) for every
// other model; reads versions 1 to 3 (docs/FORMAT.md).
constexpr uint32_t kModelFormatVersion = 3;

Status encode_model(Model& model, bool include_optimizer, std::vector<uint8_t>* out);
Status decode_model(const uint8_t* data, size_t size, std::unique_ptr<Model>* out);

}  // namespace kiln
