#include "io/onnx_export_graph.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace kiln {

namespace {
template <typename T>
std::vector<uint8_t> le_bytes(const std::vector<T>& v) {
  // Kiln's targets (x86-64, wasm32, arm64) are little-endian, as raw_data is.
  std::vector<uint8_t> out(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}
}  // namespace

std::vector<int64_t> perm_to_channels_first(size_t rank) {
  std::vector<int64_t> p{0, int64_t(rank) - 1};
  for (size_t d = 1; d + 1 < rank; ++d) p.push_back(int64_t(d));
  return p;
}

std::vector<int64_t> perm_to_channels_last(size_t rank) {
  std::vector<int64_t> p{0};
  for (size_t d = 2; d < rank; ++d) p.push_back(int64_t(d));
  p.push_back(1);
  return p;
}

std::string OnnxGraphBuilder::fresh(const std::string& hint) {
  int& n = used_[hint];
  return n++ == 0 ? hint : hint + "_" + std::to_string(n - 1);
}

std::vector<std::string> OnnxGraphBuilder::node_n(const std::string& op, std::vector<std::string> inputs,
                                                  int num_outputs, std::vector<OnnxAttribute> attrs) {
  OnnxNode n;
  n.name = fresh(prefix_ + "/" + op);
  n.op_type = op;
  n.inputs = std::move(inputs);
  for (int i = 0; i < num_outputs; ++i) n.outputs.push_back(num_outputs == 1 ? n.name : n.name + ":" + std::to_string(i));
  n.attributes = std::move(attrs);
  graph_.nodes.push_back(std::move(n));
  return graph_.nodes.back().outputs;
}

std::string OnnxGraphBuilder::floats(const std::string& key, const Shape& dims, const std::vector<float>& data) {
  auto it = keyed_.find(key);
  if (it != keyed_.end()) return it->second;
  OnnxTensor t;
  t.name = fresh(key);
  t.data_type = DataType::kFloat32;
  t.dims = dims;
  t.data = le_bytes(data);
  graph_.initializers.push_back(std::move(t));
  return keyed_[key] = graph_.initializers.back().name;
}

std::string OnnxGraphBuilder::int64s(const std::string& hint, const std::vector<int64_t>& data) {
  std::string key = hint;
  for (int64_t v : data) key += "_" + std::to_string(v);
  auto it = keyed_.find(key);
  if (it != keyed_.end()) return it->second;
  OnnxTensor t;
  t.name = fresh(hint);
  t.data_type = DataType::kInt64;
  t.dims = {int64_t(data.size())};
  t.data = le_bytes(data);
  graph_.initializers.push_back(std::move(t));
  return keyed_[key] = graph_.initializers.back().name;
}

std::string OnnxGraphBuilder::scalar(float v) {
  char key[48];
  std::snprintf(key, sizeof key, "const_%.9g", double(v));
  return floats(key, {}, {v});
}

std::string OnnxGraphBuilder::transpose(const std::string& x, std::vector<int64_t> perm,
                                        std::map<std::string, std::string>* cache) {
  auto it = cache->find(x);
  if (it != cache->end()) return it->second;
  const std::string y = node("Transpose", {x}, onnx_attrs(onnx_ints_attr("perm", std::move(perm))));
  (*cache)[x] = y;
  return y;
}

std::string OnnxGraphBuilder::kiln_layout(const ExportValue& v) {
  return v.channels_first ? transpose(v.name, perm_to_channels_last(v.shape.size() + 1), &to_kiln_) : v.name;
}

std::string OnnxGraphBuilder::channels_first(const ExportValue& v) {
  return v.channels_first ? v.name : transpose(v.name, perm_to_channels_first(v.shape.size() + 1), &to_cf_);
}

Status OnnxGraphBuilder::activation(Activation act, const std::string& x, const std::string& where, std::string* out) {
  switch (act) {
    case Activation::kLinear: *out = x; return Status();
    case Activation::kRelu: *out = node("Relu", {x}); return Status();
    case Activation::kSigmoid: *out = node("Sigmoid", {x}); return Status();
    case Activation::kTanh: *out = node("Tanh", {x}); return Status();
    case Activation::kElu: *out = node("Elu", {x}, onnx_attrs(onnx_float_attr("alpha", 1.0f))); return Status();
    case Activation::kSelu: *out = node("Selu", {x}); return Status();  // ONNX's defaults are SELU's constants
    case Activation::kSoftplus: *out = node("Softplus", {x}); return Status();
    case Activation::kSoftsign: *out = node("Softsign", {x}); return Status();
    case Activation::kExponential: *out = node("Exp", {x}); return Status();
    case Activation::kRelu6: *out = node("Clip", {x, scalar(0), scalar(6)}); return Status();
    case Activation::kLeakyRelu:  // the 'leakyRelu' activation string: TF.js's alpha 0.2
      *out = node("LeakyRelu", {x}, onnx_attrs(onnx_float_attr("alpha", 0.2f)));
      return Status();
    case Activation::kHardSigmoid:  // TF.js: clip(0.2 x + 0.5, 0, 1)
      *out = node("HardSigmoid", {x}, onnx_attrs(onnx_float_attr("alpha", 0.2f), onnx_float_attr("beta", 0.5f)));
      return Status();
    case Activation::kSoftmax: *out = node("Softmax", {x}, onnx_attrs(onnx_int_attr("axis", -1))); return Status();
    case Activation::kLogSoftmax: *out = node("LogSoftmax", {x}, onnx_attrs(onnx_int_attr("axis", -1))); return Status();
    case Activation::kSwish: *out = node("Mul", {x, node("Sigmoid", {x})}); return Status();
    case Activation::kMish: *out = node("Mul", {x, node("Tanh", {node("Softplus", {x})})}); return Status();
    case Activation::kGelu: {  // exact form x/2 (1 + erf(x / sqrt 2)); the Gelu op needs opset 20
      const std::string e = node("Erf", {node("Mul", {x, scalar(float(1 / std::sqrt(2.0)))})});
      *out = node("Mul", {node("Mul", {x, scalar(0.5f)}), node("Add", {e, scalar(1)})});
      return Status();
    }
  }
  return Status::error(where + ": activation " + std::to_string(int(act)) + " has no ONNX form");
}

}  // namespace kiln
