// The C ABI of ONNX (kiln.onnx in JS): load a model, describe its inputs and
// outputs, run it on float32 tensors; export a Kiln model. Results stay in the
// handle until the next run; an export's bytes until the next export.
// Failures return 0 / null with kiln_last_error() set.
#include <cstring>
#include <memory>
#include <vector>

#include "io/model_format.h"
#include "io/onnx_export.h"
#include "onnx/session.h"
#include "wasm/c_api.h"

using namespace kiln;

namespace {
struct OnnxHandle {
  std::unique_ptr<OnnxSession> session;
  std::vector<OnnxValue> results;  // float32, from the last run
};

std::vector<uint8_t> g_exported;

bool in_range(int i, size_t n) { return i >= 0 && size_t(i) < n; }

// Non-float32 outputs (int64 indices, bool masks) come back as float32 copies.
Status to_float(const OnnxValue& v, OnnxValue* out) {
  if (v.type() == OnnxDataType::kFloat) {
    *out = v;
    return Status();
  }
  KILN_RETURN_IF_ERROR(OnnxValue::make(OnnxDataType::kFloat, v.shape(), out));
  const std::vector<double> d = v.to_doubles();
  for (size_t i = 0; i < d.size(); ++i) out->data<float>()[i] = float(d[i]);
  return Status();
}
}  // namespace

extern "C" {

OnnxHandle* kiln_onnx_load(const uint8_t* data, int size) {
  auto h = std::make_unique<OnnxHandle>();
  Status s = size < 0 ? Status::error("negative size") : OnnxSession::load(data, size_t(size), &h->session);
  if (!s.ok()) {
    c_api_fail(s);
    return nullptr;
  }
  return h.release();
}

void kiln_onnx_free(OnnxHandle* h) { delete h; }

int kiln_onnx_num_inputs(OnnxHandle* h) { return int(h->session->inputs().size()); }
int kiln_onnx_num_outputs(OnnxHandle* h) { return int(h->session->outputs().size()); }
const char* kiln_onnx_input_name(OnnxHandle* h, int i) {
  return in_range(i, h->session->inputs().size()) ? h->session->inputs()[size_t(i)].name.c_str() : "";
}
const char* kiln_onnx_output_name(OnnxHandle* h, int i) {
  return in_range(i, h->session->outputs().size()) ? h->session->outputs()[size_t(i)].name.c_str() : "";
}
// The declared input shape: rank -1 when unknown; a dim -1 when symbolic (e.g. the batch).
int kiln_onnx_input_rank(OnnxHandle* h, int i) {
  if (!in_range(i, h->session->inputs().size())) return -1;
  const OnnxValueInfo& v = h->session->inputs()[size_t(i)];
  return v.has_shape ? int(v.shape.size()) : -1;
}
int kiln_onnx_input_dim(OnnxHandle* h, int i, int d) {
  if (!in_range(i, h->session->inputs().size())) return -1;
  const OnnxValueInfo& v = h->session->inputs()[size_t(i)];
  return in_range(d, v.shape.size()) ? int(v.shape[size_t(d)].value) : -1;
}
int kiln_onnx_input_type(OnnxHandle* h, int i) {
  return in_range(i, h->session->inputs().size()) ? int(h->session->inputs()[size_t(i)].elem_type) : 0;
}

// data[i]: input i's float32 values; ranks[i] its rank; dims: all inputs' dims, concatenated.
int kiln_onnx_run(OnnxHandle* h, const float* const* data, const int* ranks, const int* dims) {
  const size_t n = h->session->inputs().size();
  std::vector<OnnxValue> feeds(n);
  const int* d = dims;
  for (size_t i = 0; i < n; ++i) {
    OnnxShape shape(d, d + ranks[i]);
    d += ranks[i];
    Status s = OnnxValue::make(OnnxDataType::kFloat, shape, &feeds[i]);
    if (!s.ok()) return c_api_fail(Status::error("input '" + h->session->inputs()[i].name + "': " + s.message()));
    if (feeds[i].numel() > 0) std::memcpy(feeds[i].raw(), data[i], feeds[i].bytes());
  }
  std::vector<OnnxValue> outs;
  Status s = h->session->run(feeds, &outs);
  if (!s.ok()) return c_api_fail(s);
  h->results.assign(outs.size(), OnnxValue());
  for (size_t i = 0; i < outs.size(); ++i) {
    s = to_float(outs[i], &h->results[i]);
    if (!s.ok()) return c_api_fail(s);
  }
  return 1;
}

int kiln_onnx_result_rank(OnnxHandle* h, int i) { return in_range(i, h->results.size()) ? int(h->results[size_t(i)].rank()) : -1; }
int kiln_onnx_result_dim(OnnxHandle* h, int i, int d) {
  return in_range(i, h->results.size()) && in_range(d, h->results[size_t(i)].shape().size())
             ? int(h->results[size_t(i)].shape()[size_t(d)])
             : -1;
}
const float* kiln_onnx_result_data(OnnxHandle* h, int i) {
  return in_range(i, h->results.size()) ? h->results[size_t(i)].data<float>() : nullptr;
}

// A Kiln model file (the bytes of model.save()) as an ONNX file: its bytes,
// kiln_onnx_exported_size() long. From the saved form, as natively
// (src/api/onnx_api.cc), so JS needs no access to the model's handle.
const uint8_t* kiln_onnx_export(const uint8_t* saved, int size) {
  std::unique_ptr<Model> model;
  std::vector<uint8_t> bytes;
  Status s = size < 0 ? Status::error("negative size") : decode_model(saved, size_t(size), &model);
  if (s.ok()) s = export_onnx_model(*model, &bytes);
  if (!s.ok()) {
    c_api_fail(s);
    return nullptr;
  }
  g_exported = std::move(bytes);
  return g_exported.data();
}
int kiln_onnx_exported_size() { return int(g_exported.size()); }

}  // extern "C"
