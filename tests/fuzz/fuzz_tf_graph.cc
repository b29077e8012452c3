// TF.js graph models: model.json and its weight bytes, split at the first
// NUL byte of the input (the seeds are built that way). Translate, load the
// session, run once.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "frontends/tf_graph/tf_graph_model.h"
#include "fuzz_init.h"
#include "fuzz_run_once.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const void* nul = std::memchr(data, 0, size);
  const size_t split = nul ? size_t(static_cast<const uint8_t*>(nul) - data) : size;
  const std::string manifest(reinterpret_cast<const char*>(data), split);
  const uint8_t* weights = data + std::min(split + 1, size);
  const size_t weight_bytes = size - std::min(split + 1, size);
  kiln::OnnxModel model;
  if (!kiln::tf_graph_model_to_onnx(manifest, weights, weight_bytes, &model).ok()) return 0;
  std::unique_ptr<kiln::OnnxSession> session;
  if (!kiln::OnnxSession::load_model(std::move(model), &session).ok()) return 0;
  kiln::fuzz_run_session(*session);
  return 0;
}
