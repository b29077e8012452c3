// The C ABI for trainable imports and frozen layers: an ONNX file as a Model
// handle (the same handle kiln_model_create gives), and Keras's
// `layer.trainable`. Failures return 0 with kiln_last_error() set.
#include <memory>

#include "api/model_import.h"
#include "wasm/c_api.h"

using namespace kiln;

extern "C" {

// `shapes`: optional input shapes without the batch, as [rank, d0, d1, ..., rank, ...]
// (`shapes_len` ints in all; 0 keeps the declared shapes).
Model* kiln_onnx_to_model(const uint8_t* data, int size, const int* shapes, int shapes_len, unsigned seed) {
  if (size < 0 || shapes_len < 0) {
    c_api_fail(Status::error("negative size"));
    return nullptr;
  }
  OnnxImportOptions options;
  for (int i = 0; i < shapes_len;) {
    const int rank = shapes[i++];
    if (rank < 1 || rank > shapes_len - i) {
      c_api_fail(Status::error("malformed input shapes"));
      return nullptr;
    }
    options.input_shapes.emplace_back(shapes + i, shapes + i + rank);
    for (int64_t d : options.input_shapes.back())
      if (d < 1) {
        c_api_fail(Status::error("input dimensions must be positive"));
        return nullptr;
      }
    i += rank;
  }
  std::unique_ptr<Model> m;
  Status s = import_onnx_model(data, size_t(size), options, seed, &m);
  if (!s.ok()) {
    c_api_fail(s);
    return nullptr;
  }
  return m.release();
}

int kiln_model_set_layer_trainable(Model* m, const char* layer, int trainable) {
  Status s = m->set_layer_trainable(layer, trainable != 0);
  return s.ok() ? 1 : c_api_fail(s);
}

}  // extern "C"
