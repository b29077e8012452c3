// ONNX model files (or Kiln graph files, which read_onnx_or_kiln_graph also
// takes): parse, load a session (folding, optimizer, memory plan), run once.
#include <cstddef>
#include <cstdint>

#include "fuzz_init.h"
#include "fuzz_run_once.h"
#include "io/kiln_graph_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kiln::OnnxModel model;
  if (!kiln::read_onnx_or_kiln_graph(data, size, &model).ok()) return 0;
  std::unique_ptr<kiln::OnnxSession> session;
  if (!kiln::OnnxSession::load_model(std::move(model), &session).ok()) return 0;
  kiln::fuzz_run_session(*session);
  return 0;
}
