// The C ABI of the ops API (kiln.add, kiln.matMul, ... in JS): one op of the
// op set run on tensors (src/onnx/eager_op.h) and its gradients
// (src/onnx/gradient.h). Tensors cross as value handles that stay in the
// heap between ops, so a chain of ops copies nothing in or out; JS reads a
// value's bytes when the program reads the tensor.
#include <new>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/json.h"
#include "onnx/eager_op.h"
#include "onnx/gradient.h"
#include "wasm/c_api.h"

using namespace kiln;

namespace {
std::unordered_set<const OnnxValue*>& live_values();
}

namespace kiln {
OnnxValue* c_api_hand_out(OnnxValue v) {
  auto* h = new (std::nothrow) OnnxValue(std::move(v));
  if (h) live_values().insert(h);
  return h;
}
}  // namespace kiln

namespace {
std::vector<OnnxValue> g_results;
bool in_range(int i, size_t n) { return i >= 0 && size_t(i) < n; }

// Values JS holds between ops (a tensor's data stays in the heap from one op
// to the next): each a heap OnnxValue; its address is the handle. Only
// handles made here are accepted, so a stale or made-up one is an error.
std::unordered_set<const OnnxValue*>& live_values() {
  static std::unordered_set<const OnnxValue*> live;
  return live;
}
bool is_live(const OnnxValue* v) { return v && live_values().count(v) != 0; }

// n value handles (null: an omitted optional input) as values sharing their bytes.
Status read_handles(const std::string& what, int n, const OnnxValue* const* handles, std::vector<OnnxValue>* out) {
  if (n < 0) return Status::error(what + ": negative count");
  out->assign(static_cast<size_t>(n), OnnxValue());
  for (int i = 0; i < n; ++i) {
    if (!handles[i]) continue;
    if (!is_live(handles[i])) return Status::error(what + " " + std::to_string(i) + ": not a live value handle");
    const OnnxValue& v = *handles[i];
    if (v.type() == DataType::kBool)
      for (int64_t k = 0; k < v.numel(); ++k)
        if (v.data<uint8_t>()[k] > 1) return Status::error(what + " " + std::to_string(i) + ": bool elements must be 0 or 1");
    (*out)[size_t(i)] = v;
  }
  return Status();
}

bool parse_attributes(const char* op_type, const char* attributes, Json* attrs) {
  const Status s = parse_json(attributes, attrs);
  return s.ok() || c_api_fail(Status::error(std::string(op_type) + ": attributes: " + s.message()));
}
}  // namespace

extern "C" {

// A new value of `type` (TensorProto code) and shape, its bytes uninitialized
// for the caller to fill through kiln_value_data; null with kiln_last_error() set.
OnnxValue* kiln_value_create(int type, int rank, const int* dims) {
  if (rank < 0) return c_api_fail(Status::error("value: negative rank")), nullptr;
  OnnxValue v;
  const Status s = OnnxValue::make_uninitialized(DataType(type), OnnxShape(dims, dims + rank), &v);
  if (!s.ok()) return c_api_fail(Status::error("value: " + s.message())), nullptr;
  OnnxValue* h = c_api_hand_out(std::move(v));
  if (!h) c_api_fail(Status::error("out of memory for a value handle"));
  return h;
}
void* kiln_value_data(OnnxValue* v) { return is_live(v) && v->is_tensor() && v->bytes() ? v->raw() : nullptr; }
int kiln_value_type(const OnnxValue* v) { return is_live(v) ? int(v->type()) : 0; }
int kiln_value_rank(const OnnxValue* v) { return is_live(v) ? int(v->rank()) : -1; }
int kiln_value_dim(const OnnxValue* v, int d) {
  return is_live(v) && in_range(d, v->shape().size()) ? int(v->shape()[size_t(d)]) : -1;
}
// Another handle to the same bytes (a tape's snapshot), or null.
OnnxValue* kiln_value_share(const OnnxValue* v) { return is_live(v) ? c_api_hand_out(*v) : nullptr; }
// Frees a handle (the bytes go when no value holds them); 0 for a handle that is not live.
int kiln_value_free(OnnxValue* v) {
  if (!is_live(v)) return 0;
  live_values().erase(v);
  delete v;
  return 1;
}

// One op of the op set (src/onnx/eager_op.h) on n value handles (null: an
// omitted optional input); its num_outputs results are read with
// kiln_op_result_take. Failures return 0 with kiln_last_error() set.
// opset: the semantics of the default domain to run it under (18 for the ops
// API; an imported graph's own version).
int kiln_op_run(const char* op_type, const char* attributes, int n, const OnnxValue* const* inputs, int num_outputs, int opset) {
  g_results.clear();
  Json attrs;
  if (!parse_attributes(op_type, attributes, &attrs)) return 0;
  std::vector<OnnxValue> in;
  Status s = read_handles(std::string(op_type) + ": input", n, inputs, &in);
  if (s.ok()) s = run_eager_op(op_type, attrs, in, num_outputs, &g_results, opset);
  if (!s.ok()) {
    g_results.clear();
    return c_api_fail(s);
  }
  return 1;
}

// The gradients of one op (src/onnx/gradient.h): the handles are its n_in
// inputs, its n_out outputs, then one gradient per output. The results are
// the inputs' gradients, none where an input takes none.
int kiln_op_grad(const char* op_type, const char* attributes, int n_in, int n_out, const OnnxValue* const* values, int opset) {
  g_results.clear();
  Json attrs;
  if (!parse_attributes(op_type, attributes, &attrs)) return 0;
  if (n_in < 0 || n_out < 1) return c_api_fail(Status::error(std::string(op_type) + " gradient: bad tensor counts"));
  std::vector<OnnxValue> all;
  Status s = read_handles(std::string(op_type) + " gradient: tensor", n_in + 2 * n_out, values, &all);
  if (s.ok()) {
    const std::vector<OnnxValue> inputs(all.begin(), all.begin() + n_in), outputs(all.begin() + n_in, all.begin() + n_in + n_out),
        grads(all.begin() + n_in + n_out, all.end());
    s = run_eager_gradient(op_type, attrs, inputs, outputs, grads, &g_results, opset);
  }
  if (!s.ok()) {
    g_results.clear();
    return c_api_fail(s);
  }
  return 1;
}

// The last op's result i as a value handle (null where there is none: an
// input without a gradient). Each result can be taken once.
OnnxValue* kiln_op_result_take(int i) {
  if (!in_range(i, g_results.size()) || !g_results[size_t(i)].is_tensor()) return nullptr;
  OnnxValue* h = c_api_hand_out(std::move(g_results[size_t(i)]));
  if (!h) c_api_fail(Status::error("out of memory for a value handle"));
  g_results[size_t(i)] = OnnxValue();
  return h;
}

// Frees the last op's outputs once JS has copied them.
void kiln_op_release() { g_results.clear(); }

}  // extern "C"
