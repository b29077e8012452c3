#include "onnx/model_summary.h"

#include <algorithm>
#include <map>

#include "onnx/value.h"

namespace kiln {
namespace {

const char* encoding_name(WeightEncoding e) {
  switch (e) {
    case WeightEncoding::kFloat16: return "float16";
    case WeightEncoding::kInt8: return "int8 per-channel";
    default: return "as in ONNX";
  }
}

std::string value_line(const OnnxValueInfo& v) {
  std::string s = "  " + v.name + ": ";
  if (v.kind != OnnxValueKind::kTensor) return s + "(not a tensor)\n";
  s += dtype_name(v.elem_type);
  if (!v.has_shape) return s + " (rank unknown)\n";
  s += " [";
  for (size_t d = 0; d < v.shape.size(); ++d)
    s += (d ? ", " : "") + (v.shape[d].value >= 0 ? std::to_string(v.shape[d].value) : v.shape[d].param.empty() ? "?" : v.shape[d].param);
  return s + "]\n";
}

struct Tally {
  int64_t tensors = 0, elements = 0;
  uint64_t bytes = 0;
};

std::string tally_line(const std::string& label, const Tally& t) {
  return "  " + label + ": " + std::to_string(t.elements) + " elements in " + std::to_string(t.tensors) + " tensors, " +
         std::to_string(t.bytes) + " bytes\n";
}

}  // namespace

std::string onnx_model_summary(const OnnxModel& model, const std::vector<KilnGraphTensorInfo>* stored) {
  const OnnxGraph& g = model.graph;
  std::string s = "IR version " + std::to_string(model.ir_version) +
                  (model.producer_name.empty() ? "" : ", producer " + model.producer_name) + "\nopset:";
  for (const OnnxOpsetImport& o : model.opset_imports) s += " " + (o.domain.empty() ? "ai.onnx" : o.domain) + " " + std::to_string(o.version);
  // Inputs that have initializers are constants, not inputs (IR < 4 lists them all).
  std::map<std::string, bool> initialized;
  for (const OnnxTensor& t : g.initializers) initialized[t.name] = true;
  s += "\ninputs:\n";
  for (const OnnxValueInfo& v : g.inputs)
    if (!initialized.count(v.name)) s += value_line(v);
  s += "outputs:\n";
  for (const OnnxValueInfo& v : g.outputs) s += value_line(v);

  std::map<std::string, int64_t> ops;
  for (const OnnxNode& n : g.nodes) ++ops[n.domain.empty() ? n.op_type : n.domain + "." + n.op_type];
  std::vector<std::pair<std::string, int64_t>> by_count(ops.begin(), ops.end());
  std::stable_sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  s += "nodes: " + std::to_string(g.nodes.size());
  for (size_t i = 0; i < by_count.size(); ++i) s += (i ? ", " : " (") + by_count[i].first + " " + std::to_string(by_count[i].second);
  s += by_count.empty() ? "\n" : ")\n";

  Tally total;
  std::map<std::string, Tally> by_type;
  for (const OnnxTensor& t : g.initializers) {
    Tally& k = by_type[dtype_name(t.data_type)];
    const int64_t n = t.element_count();
    const uint64_t bytes = uint64_t(n) * dtype_size(t.data_type);
    for (Tally* x : {&k, &total}) x->tensors += 1, x->elements += n, x->bytes += bytes;
  }
  s += "parameters: " + std::to_string(total.elements) + " in " + std::to_string(total.tensors) + " initializers, " +
       std::to_string(total.bytes) + " bytes\n";
  for (const auto& [name, t] : by_type) s += tally_line(name, t);
  if (stored) {
    std::map<std::string, Tally> by_encoding;
    for (const KilnGraphTensorInfo& t : *stored) {
      Tally& k = by_encoding[encoding_name(t.encoding)];
      k.tensors += 1, k.elements += t.elements, k.bytes += t.stored_bytes;
    }
    s += "stored in the file as:\n";
    for (const auto& [name, t] : by_encoding) s += tally_line(name, t);
  }
  return s;
}

}  // namespace kiln
