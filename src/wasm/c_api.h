// What the C ABI's files share: one last-error slot (kiln_last_error()).
#pragma once
#include <string>

#include "core/status.h"
#include "onnx/value.h"

namespace kiln {
// Records `s` as the last error; returns 0 (the ABI's failure value).
int c_api_fail(const Status& s);

// A tensor from the caller's type code (TensorProto), dims and bytes; every
// size is checked before a byte is read, so a lying caller gets an error
// naming `where`, not a read out of bounds.
Status c_api_tensor(const std::string& where, int type, const int* dims, int rank, const void* data, size_t size,
                    OnnxValue* out);
// A value handed to JavaScript as a handle (src/wasm/c_api_ops.cc: freed
// with kiln_value_free; null when the heap is exhausted).
OnnxValue* c_api_hand_out(OnnxValue v);
}  // namespace kiln
