// Kiln graph files: an ONNX model in the .kiln container (written by
// `kiln convert`). The ONNX ModelProto is kept as it was, minus the graph's
// initializers, which move to a table of 64-byte-aligned tensors that may be
// stored as float16 or per-channel int8 (weight-only quantization: widened
// back to float32 at load). Layout and checks: docs/FORMAT.md, "Kiln graph
// files". Reading checks every field and rejects a bad file with a message
// naming the field; nothing is allocated from unchecked sizes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/onnx_model.h"

namespace kiln {

// The header's version field: layer models (io/model_format.h) use 1..255,
// so a layer-model reader meets an unknown version, never a misread file.
constexpr uint32_t kKilnGraphVersion = 256;

// How float32 weights of kMinQuantizedElements or more are stored; smaller
// tensors (biases, batch-norm parameters: cheap, and sensitive to rounding)
// and every other type stay as they are.
enum class WeightEncoding : uint8_t { kFloat32 = 0, kFloat16 = 1, kInt8 = 2 };
constexpr int64_t kMinQuantizedElements = 1024;

// A tensor as the table stores it (for `kiln inspect`).
struct KilnGraphTensorInfo {
  std::string name;
  DataType data_type = DataType::kUndefined;
  WeightEncoding encoding = WeightEncoding::kFloat32;  // kFloat32 here: raw, as in ONNX
  int64_t elements = 0;
  uint64_t stored_bytes = 0;
};

// True when the bytes start like a Kiln graph file (magic and version); the
// rest is checked by decode_kiln_graph.
bool is_kiln_graph(const uint8_t* data, size_t size);

// Converts a serialized ONNX ModelProto. `external` reads external-data files
// (relative to the model's folder), whose tensors are then stored in the file.
// `min_quantized_elements` lets tests quantize small models' tensors too.
Status encode_kiln_graph(const uint8_t* onnx, size_t size, WeightEncoding encoding, std::vector<uint8_t>* out,
                         const OnnxFileReader* external = nullptr,
                         int64_t min_quantized_elements = kMinQuantizedElements);

// The model as parse_onnx_model gives it for the original file, initializers
// in their original order, quantized ones widened back to float32.
// `stored` (optional) receives each table entry as stored.
Status decode_kiln_graph(const uint8_t* data, size_t size, OnnxModel* out,
                         std::vector<KilnGraphTensorInfo>* stored = nullptr);

// Either kind of file: a Kiln graph file or a serialized ONNX ModelProto.
Status read_onnx_or_kiln_graph(const uint8_t* data, size_t size, OnnxModel* out);

}  // namespace kiln
