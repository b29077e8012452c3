// The C ABI of ONNX (kiln.onnx in JS): load a model, describe its inputs and
// outputs, run it on tensors of any element type the model declares (types
// are ONNX TensorProto codes, values raw little-endian bytes); export a Kiln
// model. Results stay in the handle until the next run; an export's bytes
// until the next export. Failures return 0 / null with kiln_last_error() set.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "frontends/tf_graph/tf_graph_model.h"
#include "core/json.h"
#include "io/model_format.h"
#include "io/onnx_export.h"
#include "onnx/session.h"
#include "wasm/c_api.h"

using namespace kiln;

namespace {
struct OnnxHandle {
  std::unique_ptr<OnnxSession> session;
  // From the last run, in their own types: every output tensor, a sequence's
  // elements one after another; per output its kind and which results are its.
  std::vector<OnnxValue> results;
  struct Output {
    int kind = 0;  // 0 a tensor, 1 a sequence, 2 an empty optional
    int first = 0, count = 0;
  };
  std::vector<Output> outputs;
  bool profiling = false;          // kiln_onnx_profiling: time every kernel call of each run
  Json profile = Json::array();    // one entry per profiled run
};

std::vector<uint8_t> g_exported;
std::string g_type_name;

bool in_range(int i, size_t n) { return i >= 0 && size_t(i) < n; }

// io 0: the graph's inputs, 1: its outputs.
const OnnxValueInfo* info(OnnxHandle* h, int io, int i) {
  const std::vector<OnnxValueInfo>& list = io ? h->session->outputs() : h->session->inputs();
  return in_range(i, list.size()) ? &list[size_t(i)] : nullptr;
}

}  // namespace

namespace kiln {
Status c_api_tensor(const std::string& where, int type, const int* dims, int rank, const void* data, size_t size,
                    OnnxValue* out) {
  if (rank < 0) return Status::error(where + ": negative rank " + std::to_string(rank));
  // Uninitialized: the caller's bytes fill it whole (the size is checked first).
  Status s = OnnxValue::make_uninitialized(DataType(type), OnnxShape(dims, dims + rank), out);
  if (!s.ok()) return Status::error(where + ": " + s.message());
  if (size != out->bytes())
    return Status::error(where + ": " + std::to_string(size) + " bytes given, shape " + onnx_shape_string(out->shape()) +
                         " of " + dtype_name(out->type()) + " needs " + std::to_string(out->bytes()));
  if (size > 0) std::memcpy(out->raw(), data, size);
  if (out->type() == DataType::kBool)
    for (int64_t k = 0; k < out->numel(); ++k)
      if (out->data<uint8_t>()[k] > 1) return Status::error(where + ": bool elements must be 0 or 1");
  return Status();
}
}  // namespace kiln

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

// A TF.js graph model (see frontends/tf_graph/tf_graph_model.h for `manifest`),
// translated to ONNX and then loaded as kiln_onnx_load does.
OnnxHandle* kiln_tfjs_graph_load(const char* manifest, const uint8_t* data, int size) {
  auto h = std::make_unique<OnnxHandle>();
  OnnxModel model;
  Status s = size < 0 ? Status::error("negative size") : tf_graph_model_to_onnx(manifest, data, size_t(size), &model);
  if (s.ok()) s = OnnxSession::load_model(std::move(model), &h->session);
  if (!s.ok()) {
    c_api_fail(s);
    return nullptr;
  }
  return h.release();
}

void kiln_onnx_free(OnnxHandle* h) { delete h; }

// The graph's inputs (io 0) and outputs (io 1): count, name, element type
// (TensorProto code, 0 when undeclared), declared shape (rank -1 when unknown;
// a dim -1 when symbolic, e.g. the batch).
int kiln_onnx_count(OnnxHandle* h, int io) {
  return int(io ? h->session->outputs().size() : h->session->inputs().size());
}
const char* kiln_onnx_info_name(OnnxHandle* h, int io, int i) {
  const OnnxValueInfo* v = info(h, io, i);
  return v ? v->name.c_str() : "";
}
// What the input or output is: OnnxValueKind (0 undeclared, 1 tensor, 2 sequence, 3 map, 4 optional, 5 sparse tensor).
int kiln_onnx_info_kind(OnnxHandle* h, int io, int i) {
  const OnnxValueInfo* v = info(h, io, i);
  return v ? int(v->kind) : 0;
}
int kiln_onnx_info_type(OnnxHandle* h, int io, int i) {
  const OnnxValueInfo* v = info(h, io, i);
  return v ? int(v->elem_type) : 0;
}
int kiln_onnx_info_rank(OnnxHandle* h, int io, int i) {
  const OnnxValueInfo* v = info(h, io, i);
  return v && v->has_shape ? int(v->shape.size()) : -1;
}
int kiln_onnx_info_dim(OnnxHandle* h, int io, int i, int d) {
  const OnnxValueInfo* v = info(h, io, i);
  return v && in_range(d, v->shape.size()) ? int(v->shape[size_t(d)].value) : -1;
}

// A TensorProto code's name ("float32", "int64", "string", "bfloat16"), valid until the next call.
const char* kiln_onnx_type_name(int type) {
  g_type_name = dtype_name(DataType(type));
  return g_type_name.c_str();
}

// Input i is kinds[i] (0 a tensor, 1 a sequence, 2 an empty optional) made
// of counts[i] tensors (1, any, 0), listed one after another: for tensor t,
// types[t] its element type (TensorProto code), data[t] its bytes, sizes[t]
// bytes long, ranks[t] its rank; dims: every tensor's dims, concatenated.
// The session checks each type and shape against the model's declaration.
int kiln_onnx_run(OnnxHandle* h, const int* kinds, const int* counts, const int* types, const void* const* data,
                  const size_t* sizes, const int* ranks, const int* dims) {
  const size_t n = h->session->inputs().size();
  std::vector<OnnxValue> feeds(n);
  const int* d = dims;
  size_t t = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = h->session->inputs()[i].name;
    if (kinds[i] < 0 || kinds[i] > 2 || counts[i] < 0 || (kinds[i] == 0 && counts[i] != 1) || (kinds[i] == 2 && counts[i] != 0))
      return c_api_fail(Status::error("input '" + name + "': bad value description"));
    std::vector<OnnxValue> items(static_cast<size_t>(counts[i]));
    for (OnnxValue& item : items) {
      Status s = c_api_tensor("input '" + name + "'", types[t], d, ranks[t], data[t], sizes[t], &item);
      if (!s.ok()) return c_api_fail(s);
      d += ranks[t++];
    }
    if (kinds[i] == 0) {
      feeds[i] = std::move(items[0]);
    } else if (kinds[i] == 2) {
      feeds[i] = OnnxValue::none(DataType::kUndefined, OnnxValueKind::kTensor);
    } else {
      const DataType elem = items.empty() ? DataType::kUndefined : items[0].type();
      for (const OnnxValue& item : items)
        if (item.type() != elem)
          return c_api_fail(Status::error("input '" + name + "': a sequence's tensors must share one dtype, got " +
                                          dtype_name(elem) + " and " + dtype_name(item.type())));
      feeds[i] = OnnxValue::sequence(elem, std::move(items));
    }
  }
  std::vector<OnnxValue> outs;
  std::vector<OnnxSession::StepTiming> steps;
  Status s = h->session->run(feeds, &outs, h->profiling ? &steps : nullptr);
  if (!s.ok()) return c_api_fail(s);
  h->results.clear();
  h->outputs.clear();
  for (OnnxValue& v : outs) {
    OnnxHandle::Output& o = h->outputs.emplace_back();
    o.first = int(h->results.size());
    if (v.kind() == OnnxValueKind::kSequence) {
      o.kind = 1;
      for (const OnnxValue& item : v.items()) h->results.push_back(item);
    } else if (v.kind() == OnnxValueKind::kOptional) {
      o.kind = 2;
    } else {
      h->results.push_back(std::move(v));
    }
    o.count = int(h->results.size()) - o.first;
  }
  if (h->profiling) {
    const std::vector<std::string> lines = h->session->plan_lines();
    Json run = Json::array();
    for (size_t k = 0; k < steps.size() && k < lines.size(); ++k)
      run.push(Json::object().set("call", Json::string(lines[k])).set("inputShapes", Json::string(steps[k].input_shapes))
                                 .set("ms", Json::number(steps[k].ms)));
    h->profile.push(std::move(run));
  }
  return 1;
}

// Profiling (session.startProfiling / endProfiling in JS): on, each run's
// kernel calls are timed; off, the collected runs are returned as JSON (valid
// until the next call) and cleared.
const char* kiln_onnx_profiling(OnnxHandle* h, int on) {
  h->profiling = on != 0;
  if (on) {
    h->profile = Json::array();
    return "";
  }
  g_type_name = h->profile.dump();
  h->profile = Json::array();
  return g_type_name.c_str();
}

// Output i of the last run: its kind (0 a tensor, 1 a sequence, 2 an empty
// optional) and the results (kiln_onnx_result_*) that hold it: from
// kiln_onnx_output_first, kiln_onnx_output_count of them.
int kiln_onnx_output_kind(OnnxHandle* h, int i) { return in_range(i, h->outputs.size()) ? h->outputs[size_t(i)].kind : -1; }
int kiln_onnx_output_first(OnnxHandle* h, int i) { return in_range(i, h->outputs.size()) ? h->outputs[size_t(i)].first : 0; }
int kiln_onnx_output_count(OnnxHandle* h, int i) { return in_range(i, h->outputs.size()) ? h->outputs[size_t(i)].count : 0; }

int kiln_onnx_result_type(OnnxHandle* h, int i) { return in_range(i, h->results.size()) ? int(h->results[size_t(i)].type()) : 0; }
int kiln_onnx_result_rank(OnnxHandle* h, int i) { return in_range(i, h->results.size()) ? int(h->results[size_t(i)].rank()) : -1; }
int kiln_onnx_result_dim(OnnxHandle* h, int i, int d) {
  return in_range(i, h->results.size()) && in_range(d, h->results[size_t(i)].shape().size())
             ? int(h->results[size_t(i)].shape()[size_t(d)])
             : -1;
}
// Output i's elements, little-endian, numel x the type's size bytes.
const void* kiln_onnx_result_data(OnnxHandle* h, int i) {
  return in_range(i, h->results.size()) ? h->results[size_t(i)].raw() : nullptr;
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
