// The C ABI of the ops API (kiln.add, kiln.matMul, ... in JS): one op of the
// op set run on tensors (src/onnx/eager_op.h) and its gradients
// (src/onnx/gradient.h). Tensors cross as value handles that stay in the
// heap between ops, so a chain of ops copies nothing in or out; JS reads a
// value's bytes when the program reads the tensor.
#include <map>
#include <new>
#include <string>
#include <string_view>
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

// n value handles (null: an omitted optional input), checked: live, and
// bool elements 0 or 1. Messages name `what` (built only on failure).
Status check_handles(const char* op_type, const char* what, int n, const OnnxValue* const* handles) {
  const auto fail = [&](int i, const char* why) {
    return Status::error(std::string(op_type) + what + " " + std::to_string(i) + ": " + why);
  };
  if (n < 0) return Status::error(std::string(op_type) + what + ": negative count");
  for (int i = 0; i < n; ++i) {
    if (!handles[i]) continue;
    if (!is_live(handles[i])) return fail(i, "not a live value handle");
    const OnnxValue& v = *handles[i];
    if (v.type() == DataType::kBool)
      for (int64_t k = 0; k < v.numel(); ++k)
        if (v.data<uint8_t>()[k] > 1) return fail(i, "bool elements must be 0 or 1");
  }
  return Status();
}

// The handles as values sharing their bytes.
std::vector<OnnxValue> values_of(int n, const OnnxValue* const* handles) {
  std::vector<OnnxValue> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    if (handles[i]) out[size_t(i)] = *handles[i];
  return out;
}

// Ops prepared by op type and attribute text (JSON): the ops API sends the
// same few pairs again and again, so each is looked up and parsed once (a
// bounded cache). Null with kiln_last_error() set for an unknown op or bad
// attributes.
PreparedOp* prepared_op(const char* op_type, const char* text) {
  static std::map<std::string, std::map<std::string, PreparedOp, std::less<>>, std::less<>> cache;
  static size_t size = 0;
  auto outer = cache.find(std::string_view(op_type));
  if (outer != cache.end()) {
    const auto it = outer->second.find(std::string_view(text));
    if (it != outer->second.end()) return &it->second;
  }
  Json json;
  Status s = parse_json(text, &json);
  std::vector<OnnxAttribute> attrs;
  if (s.ok()) s = parse_eager_attributes(op_type, json, &attrs);
  if (!s.ok()) return c_api_fail(Status::error(std::string(op_type) + ": attributes: " + s.message())), nullptr;
  PreparedOp op;
  s = prepare_op(op_type, std::move(attrs), &op);
  if (!s.ok()) return c_api_fail(s), nullptr;
  if (size >= 1024) cache.clear(), size = 0;
  ++size;
  return &cache[op_type].emplace(text, std::move(op)).first->second;
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
// A value's element type, rank and dims in one call: out = [type, rank,
// dims...] (room for 2 + max_rank ints); the rank, or -1 for a handle that
// is not live or a rank above max_rank.
int kiln_value_info(const OnnxValue* v, int* out, int max_rank) {
  if (!is_live(v) || int64_t(v->rank()) > max_rank) return -1;
  out[0] = int(v->type());
  out[1] = int(v->rank());
  for (size_t d = 0; d < v->shape().size(); ++d) out[2 + d] = int(v->shape()[d]);
  return int(v->rank());
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
  PreparedOp* op = prepared_op(op_type, attributes);
  if (!op) return 0;
  Status s = check_handles(op_type, ": input", n, inputs);
  if (s.ok()) {
    const std::vector<const OnnxValue*> in(inputs, inputs + n);  // null: an omitted optional input
    s = run_prepared_op(*op, in, num_outputs, &g_results, opset);
  }
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
  Status s = check_handles(op_type, " gradient: tensor", n_in + 2 * n_out, values);
  if (s.ok()) {
    const std::vector<OnnxValue> all = values_of(n_in + 2 * n_out, values);
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
