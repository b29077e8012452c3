// The C ABI of the ops API (kiln.add, kiln.matMul, ... in JS): one op of the
// op set run on tensors (src/onnx/eager_op.h). Inputs as kiln_onnx_run takes
// tensors (TensorProto type codes, dims, raw bytes; type 0 marks an omitted
// optional input); the outputs stay here until the next op, read with
// kiln_op_result_*. Failures return 0 with kiln_last_error() set.
#include <string>
#include <vector>

#include "core/json.h"
#include "onnx/eager_op.h"
#include "wasm/c_api.h"

using namespace kiln;

namespace {
std::vector<OnnxValue> g_results;
bool in_range(int i, size_t n) { return i >= 0 && size_t(i) < n; }
}  // namespace

extern "C" {

int kiln_op_run(const char* op_type, const char* attributes, int n, const int* types, const void* const* data,
                const size_t* sizes, const int* ranks, const int* dims, int num_outputs) {
  g_results.clear();
  Json attrs;
  Status s = parse_json(attributes, &attrs);
  if (!s.ok()) return c_api_fail(Status::error(std::string(op_type) + ": attributes: " + s.message()));
  if (n < 0) return c_api_fail(Status::error(std::string(op_type) + ": negative input count"));
  std::vector<OnnxValue> inputs(static_cast<size_t>(n));
  const int* d = dims;
  for (int i = 0; i < n; ++i) {
    if (types[i] == 0) continue;  // omitted optional input
    s = c_api_tensor(std::string(op_type) + ": input " + std::to_string(i), types[i], d, ranks[i], data[i], sizes[i], &inputs[size_t(i)]);
    if (!s.ok()) return c_api_fail(s);
    d += ranks[i];
  }
  s = run_eager_op(op_type, attrs, inputs, num_outputs, &g_results);
  if (!s.ok()) {
    g_results.clear();
    return c_api_fail(s);
  }
  return 1;
}

int kiln_op_result_type(int i) { return in_range(i, g_results.size()) ? int(g_results[size_t(i)].type()) : 0; }
int kiln_op_result_rank(int i) { return in_range(i, g_results.size()) ? int(g_results[size_t(i)].rank()) : -1; }
int kiln_op_result_dim(int i, int d) {
  return in_range(i, g_results.size()) && in_range(d, g_results[size_t(i)].shape().size()) ? int(g_results[size_t(i)].shape()[size_t(d)]) : -1;
}
const void* kiln_op_result_data(int i) { return in_range(i, g_results.size()) ? g_results[size_t(i)].raw() : nullptr; }
// Frees the last op's outputs once JS has copied them.
void kiln_op_release() { g_results.clear(); }

}  // extern "C"
