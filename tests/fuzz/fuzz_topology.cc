// Layers topologies as JSON (TF.js / Keras model configs): parse, build,
// predict once.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_init.h"
#include "fuzz_run_once.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  std::unique_ptr<kiln::Model> model;
  if (!kiln::Model::create(json, 7, &model, int64_t(1) << 18).ok()) return 0;
  kiln::fuzz_run_model(*model);
  return 0;
}
