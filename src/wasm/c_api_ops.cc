// The C ABI of the ops API (kiln.add, kiln.matMul, ... in JS): one op of the
// op set run on tensors (src/onnx/eager_op.h). Inputs as kiln_onnx_run takes
// tensors (TensorProto type codes, dims, raw bytes; type 0 marks an omitted
// optional input); the outputs stay here until the next op, read with
// kiln_op_result_*. Failures return 0 with kiln_last_error() set.
#include <string>
#include <vector>

#include "core/json.h"
#include "onnx/eager_op.h"
#include "onnx/gradient.h"
#include "wasm/c_api.h"

using namespace kiln;

namespace {
std::vector<OnnxValue> g_results;
bool in_range(int i, size_t n) { return i >= 0 && size_t(i) < n; }

// n tensors as kiln_op_run describes them (type 0: omitted), named "<what> i" in errors.
Status read_tensors(const std::string& what, int n, const int* types, const void* const* data, const size_t* sizes,
                    const int* ranks, const int* dims, std::vector<OnnxValue>* out) {
  if (n < 0) return Status::error(what + ": negative count");
  out->assign(static_cast<size_t>(n), OnnxValue());
  const int* d = dims;
  for (int i = 0; i < n; ++i) {
    if (types[i] == 0) continue;  // omitted optional input
    KILN_RETURN_IF_ERROR(c_api_tensor(what + " " + std::to_string(i), types[i], d, ranks[i], data[i], sizes[i], &(*out)[size_t(i)]));
    d += ranks[i];
  }
  return Status();
}

bool parse_attributes(const char* op_type, const char* attributes, Json* attrs) {
  const Status s = parse_json(attributes, attrs);
  return s.ok() || c_api_fail(Status::error(std::string(op_type) + ": attributes: " + s.message()));
}
}  // namespace

extern "C" {

int kiln_op_run(const char* op_type, const char* attributes, int n, const int* types, const void* const* data,
                const size_t* sizes, const int* ranks, const int* dims, int num_outputs) {
  g_results.clear();
  Json attrs;
  if (!parse_attributes(op_type, attributes, &attrs)) return 0;
  std::vector<OnnxValue> inputs;
  Status s = read_tensors(std::string(op_type) + ": input", n, types, data, sizes, ranks, dims, &inputs);
  if (s.ok()) s = run_eager_op(op_type, attrs, inputs, num_outputs, &g_results);
  if (!s.ok()) {
    g_results.clear();
    return c_api_fail(s);
  }
  return 1;
}

// The gradients of one op (src/onnx/gradient.h): the tensors are its
// n_in inputs, its n_out outputs, then one gradient per output, described
// as kiln_op_run's inputs. The results are the inputs' gradients, type 0
// where an input takes none.
int kiln_op_grad(const char* op_type, const char* attributes, int n_in, int n_out, const int* types, const void* const* data,
                 const size_t* sizes, const int* ranks, const int* dims) {
  g_results.clear();
  Json attrs;
  if (!parse_attributes(op_type, attributes, &attrs)) return 0;
  if (n_in < 0 || n_out < 1) return c_api_fail(Status::error(std::string(op_type) + " gradient: bad tensor counts"));
  std::vector<OnnxValue> all;
  Status s = read_tensors(std::string(op_type) + " gradient: tensor", n_in + 2 * n_out, types, data, sizes, ranks, dims, &all);
  if (s.ok()) {
    const std::vector<OnnxValue> inputs(all.begin(), all.begin() + n_in), outputs(all.begin() + n_in, all.begin() + n_in + n_out),
        grads(all.begin() + n_in + n_out, all.end());
    s = run_eager_gradient(op_type, attrs, inputs, outputs, grads, &g_results);
  }
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
const void* kiln_op_result_data(int i) {
  return in_range(i, g_results.size()) && g_results[size_t(i)].is_tensor() ? g_results[size_t(i)].raw() : nullptr;
}
// Frees the last op's outputs once JS has copied them.
void kiln_op_release() { g_results.clear(); }

}  // extern "C"
