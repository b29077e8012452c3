// The native C++ API of ONNX (include/kiln/onnx.h, kiln::onnx): sessions over
// src/onnx/session.h, file descriptions, Kiln graph conversion and export over
// src/io, throwing kiln::Error.
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/dtype.h"
#include "io/kiln_graph_format.h"
#include "io/model_format.h"
#include "io/onnx_export.h"
#include "kiln/onnx.h"
#include "onnx/model_summary.h"
#include "onnx/session.h"

namespace kiln::onnx {

namespace {
void check(const Status& s) {
  if (!s.ok()) throw Error(s.message());
}

bool slurp(const std::string& path, std::vector<uint8_t>* bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  bytes->assign(std::istreambuf_iterator<char>(f), {});
  return !f.bad();
}

std::vector<uint8_t> read_whole_file(const std::string& path) {
  std::vector<uint8_t> bytes;
  if (!slurp(path, &bytes)) throw Error("cannot open " + path);
  return bytes;
}

// External-data files, relative to the model's folder (resolve_external_data
// refuses absolute paths and "..").
OnnxFileReader folder_reader(const std::string& model_path) {
  const size_t slash = model_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : model_path.substr(0, slash + 1);
  return [dir](const std::string& location, std::vector<uint8_t>* bytes) {
    return slurp(dir + location, bytes) ? Status() : Status::error("cannot open " + dir + location);
  };
}

DataType tensor_type(const std::string& what, const std::string& name) {
  DataType type;
  if (!dtype_from_name(name, &type) || type == DataType::kString)
    throw Error(what + ": unknown or unsupported dtype '" + name + "' (float32, float64, float16, bfloat16, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool)");
  return type;
}

const char* kind_name(OnnxValueKind k) {
  switch (k) {
    case OnnxValueKind::kTensor: return "tensor";
    case OnnxValueKind::kSequence: return "sequence";
    case OnnxValueKind::kMap: return "map";
    case OnnxValueKind::kOptional: return "optional";
    case OnnxValueKind::kSparseTensor: return "sparse_tensor";
    default: return "unknown";
  }
}

ValueInfo value_info(const OnnxValueInfo& v) {
  ValueInfo info;
  info.name = v.name;
  info.kind = kind_name(v.kind);
  info.dtype = v.elem_type == DataType::kUndefined ? "" : dtype_name(v.elem_type);
  info.has_shape = v.has_shape;
  for (const OnnxDim& d : v.shape) {
    info.shape.push_back(d.value >= 0 ? d.value : -1);
    info.dim_names.push_back(d.value >= 0 ? "" : d.param);
  }
  return info;
}

void to_values(const std::vector<Tensor>& inputs, std::vector<OnnxValue>* feeds) {
  feeds->assign(inputs.size(), OnnxValue());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    const std::string what = "onnx run: input " + std::to_string(i);
    const DataType type = tensor_type(what, t.dtype);
    check(OnnxValue::make_uninitialized(type, t.shape, &(*feeds)[i]));
    OnnxValue& v = (*feeds)[i];
    if (t.raw_bytes() != v.bytes()) {
      const size_t size = dtype_size(type);
      const std::string held = t.raw_bytes() % size ? std::to_string(t.raw_bytes()) + " bytes (not whole elements)"
                                                     : std::to_string(t.raw_bytes() / size) + " values";
      throw Error(what + " (" + t.dtype + ") has " + held + "; its shape " + onnx_shape_string(t.shape) + " needs " +
                  std::to_string(v.numel()) + (type != DataType::kFloat32 && !t.data.empty() ? " (only float32 values go in `data`)" : ""));
    }
    if (v.bytes()) std::memcpy(v.raw(), t.raw(), v.bytes());
  }
}
}  // namespace

const void* Tensor::raw() const { return dtype == "float32" ? static_cast<const void*>(data.data()) : bytes.data(); }
size_t Tensor::raw_bytes() const { return dtype == "float32" ? data.size() * sizeof(float) : bytes.size(); }

Tensor Tensor::from_raw(const std::string& dtype, std::vector<int64_t> shape, const void* elements) {
  const DataType type = tensor_type("Tensor::from_raw", dtype);
  OnnxValue probe;  // checks the shape and sizes it
  check(OnnxValue::make_uninitialized(type, shape, &probe));
  Tensor t;
  t.shape = std::move(shape);
  t.dtype = dtype;
  const auto* p = static_cast<const uint8_t*>(elements);
  if (type == DataType::kFloat32) {
    t.data.resize(size_t(probe.numel()));
    if (probe.bytes()) std::memcpy(t.data.data(), p, probe.bytes());
  } else {
    t.bytes.assign(p, p + probe.bytes());
  }
  return t;
}

struct Session::Impl {
  std::unique_ptr<OnnxSession> session;
};

Session::Session() : impl_(new Impl) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

Session Session::load(const uint8_t* data, size_t size) {
  Session s;
  check(OnnxSession::load(data, size, &s.impl_->session));
  return s;
}

Session Session::load_file(const std::string& path) {
  const std::vector<uint8_t> bytes = read_whole_file(path);
  const OnnxFileReader reader = folder_reader(path);
  Session s;
  check(OnnxSession::load(bytes.data(), bytes.size(), &s.impl_->session, &reader));
  return s;
}

std::vector<ValueInfo> Session::inputs() const {
  std::vector<ValueInfo> out;
  for (const OnnxValueInfo& v : impl_->session->inputs()) out.push_back(value_info(v));
  return out;
}

std::vector<ValueInfo> Session::outputs() const {
  std::vector<ValueInfo> out;
  for (const OnnxValueInfo& v : impl_->session->outputs()) out.push_back(value_info(v));
  return out;
}

std::vector<std::string> Session::input_names() const {
  std::vector<std::string> names;
  for (const OnnxValueInfo& v : impl_->session->inputs()) names.push_back(v.name);
  return names;
}

std::vector<std::string> Session::output_names() const {
  std::vector<std::string> names;
  for (const OnnxValueInfo& v : impl_->session->outputs()) names.push_back(v.name);
  return names;
}

std::vector<Tensor> Session::run(const std::vector<Tensor>& inputs) const {
  std::vector<OnnxValue> feeds, outs;
  to_values(inputs, &feeds);
  check(impl_->session->run(feeds, &outs));
  std::vector<Tensor> result;
  for (size_t i = 0; i < outs.size(); ++i) {
    const OnnxValue& v = outs[i];
    if (!v.is_tensor())
      throw Error("onnx run: output '" + impl_->session->outputs()[i].name + "' is a " + kind_name(v.kind()) +
                  "; the C++ API returns tensors only (kiln.onnx in JS returns sequences too)");
    result.push_back(Tensor::from_raw(dtype_name(v.type()), v.shape(), v.raw()));
  }
  return result;
}

std::vector<std::string> Session::plan() const { return impl_->session->plan_lines(); }
std::string Session::plan_summary() const { return impl_->session->plan_summary(); }

std::vector<Session::CallTiming> Session::profile(const std::vector<Tensor>& inputs) const {
  std::vector<OnnxValue> feeds, outs;
  to_values(inputs, &feeds);
  std::vector<OnnxSession::StepTiming> times;
  check(impl_->session->run(feeds, &outs, &times));
  const std::vector<std::string> lines = impl_->session->plan_lines();
  std::vector<CallTiming> result;
  for (size_t k = 0; k < times.size(); ++k) result.push_back({k < lines.size() ? lines[k] : "", times[k].ms, times[k].input_shapes});
  return result;
}

std::string describe(const uint8_t* data, size_t size) {
  OnnxModel model;
  std::vector<KilnGraphTensorInfo> stored;
  const bool graph_file = is_kiln_graph(data, size);
  check(graph_file ? decode_kiln_graph(data, size, &model, &stored) : parse_onnx_model(data, size, &model));
  return std::string(graph_file ? "Kiln graph file" : "ONNX model") + ", " +
         onnx_model_summary(model, graph_file ? &stored : nullptr);
}

ConvertResult to_kiln_graph(const std::string& onnx_path, WeightStorage storage) {
  static_assert(kMinNarrowElements == kMinQuantizedElements, "the public constant names the format's");
  const std::vector<uint8_t> onnx = read_whole_file(onnx_path);
  const OnnxFileReader reader = folder_reader(onnx_path);
  const WeightEncoding encoding = storage == WeightStorage::kFloat16 ? WeightEncoding::kFloat16
                                  : storage == WeightStorage::kInt8  ? WeightEncoding::kInt8
                                                                     : WeightEncoding::kFloat32;
  ConvertResult result;
  check(encode_kiln_graph(onnx.data(), onnx.size(), encoding, &result.bytes, &reader));
  // Read back what was written: the counts come from the table, and a file
  // that does not decode is never returned as a success.
  OnnxModel model;
  std::vector<KilnGraphTensorInfo> stored;
  check(decode_kiln_graph(result.bytes.data(), result.bytes.size(), &model, &stored));
  result.tensors = stored.size();
  for (const KilnGraphTensorInfo& t : stored) result.narrow += t.encoding != WeightEncoding::kFloat32;
  return result;
}

// Through the saved form: it carries the topology and weights the exporter reads.
std::vector<uint8_t> export_model(const Sequential& model) {
  const std::vector<uint8_t> saved = model.save();
  std::unique_ptr<Model> m;
  check(decode_model(saved.data(), saved.size(), &m));
  std::vector<uint8_t> out;
  check(export_onnx_model(*m, &out));
  return out;
}

}  // namespace kiln::onnx
