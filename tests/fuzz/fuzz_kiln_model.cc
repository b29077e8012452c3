// Kiln model files (docs/FORMAT.md): decode, predict once.
#include <cstddef>
#include <cstdint>

#include "fuzz_init.h"
#include "fuzz_run_once.h"
#include "io/model_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<kiln::Model> model;
  if (!kiln::decode_model(data, size, &model).ok()) return 0;
  kiln::fuzz_run_model(*model);
  return 0;
}
