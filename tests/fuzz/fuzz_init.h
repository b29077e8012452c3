// libFuzzer's start-up hook, included once by each harness.
#pragma once
#include <cstdint>

#include "onnx/value.h"

// Each harness binary includes this once. Values over 64 MiB are refused, so
// a file asking for gigabytes is an error at once rather than a slow unit
// that libFuzzer's memory limit would report as a finding.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kiln::set_onnx_value_byte_limit(uint64_t(64) << 20);
  return 0;
}
