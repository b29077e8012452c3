#include "frontends/tf_graph/tf_graph_translator.h"

#include <cstring>

namespace kiln {

const std::map<std::string, TfOpTranslator>& tf_op_translators() {
  static const std::map<std::string, TfOpTranslator> table = [] {
    std::map<std::string, TfOpTranslator> t;
    add_tf_nn_ops(&t);
    add_tf_math_ops(&t);
    add_tf_shape_ops(&t);
    return t;
  }();
  return table;
}

std::string TfGraphTranslator::canonical(const std::string& input) {
  const size_t colon = input.rfind(':');
  if (colon == std::string::npos) return input;
  const std::string index = input.substr(colon + 1);
  if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos) return input;
  return index == "0" ? input.substr(0, colon) : input;
}

std::string TfGraphTranslator::output_name(const TfNode& n, int k) { return k == 0 ? n.name : n.name + ":" + std::to_string(k); }

Status TfGraphTranslator::input(const TfNode& n, size_t i, std::string* value) const {
  if (i >= n.inputs.size()) return n.error("needs at least " + std::to_string(i + 1) + " inputs, has " + std::to_string(n.inputs.size()));
  *value = canonical(n.inputs[i]);
  if (!values_.count(*value)) return n.error("reads '" + n.inputs[i] + "', which no earlier node produces");
  return Status();
}

std::string TfGraphTranslator::nhwc(const std::string& value) {
  Value& v = values_.at(value);
  if (v.nhwc.empty()) {
    v.nhwc = fresh(value);
    emit("Transpose", {v.nchw}, {v.nhwc}, onnx_attrs(onnx_ints_attr("perm", {0, 2, 3, 1})));
  }
  return v.nhwc;
}

std::string TfGraphTranslator::nchw(const std::string& value) {
  Value& v = values_.at(value);
  if (v.nchw.empty()) {
    v.nchw = fresh(value + "#nchw");
    emit("Transpose", {v.nhwc}, {v.nchw}, onnx_attrs(onnx_ints_attr("perm", {0, 3, 1, 2})));
  }
  return v.nchw;
}

bool TfGraphTranslator::held_nchw(const std::string& value) const {
  auto it = values_.find(value);
  return it != values_.end() && !it->second.nchw.empty() && it->second.nhwc.empty();
}

int TfGraphTranslator::rank(const std::string& value) const {
  auto it = values_.find(value);
  return it == values_.end() ? -1 : it->second.rank;
}

const OnnxTensor* TfGraphTranslator::constant(const std::string& value) const {
  auto it = constants_.find(value);
  return it == constants_.end() ? nullptr : &g_->initializers[it->second];
}

Status TfGraphTranslator::const_ints(const TfNode& n, size_t i, std::vector<int64_t>* out) const {
  std::string v;
  KILN_RETURN_IF_ERROR(input(n, i, &v));
  const OnnxTensor* t = constant(v);
  if (!t) return n.error("input " + std::to_string(i) + " ('" + v + "') must be a constant");
  out->clear();
  const int64_t count = t->element_count();
  for (int64_t k = 0; k < count; ++k) {
    if (t->data_type == DataType::kInt32) {
      int32_t x;
      std::memcpy(&x, t->data.data() + 4 * k, 4);
      out->push_back(x);
    } else if (t->data_type == DataType::kInt64) {
      int64_t x;
      std::memcpy(&x, t->data.data() + 8 * k, 8);
      out->push_back(x);
    } else {
      return n.error("input " + std::to_string(i) + " ('" + v + "') must hold integers");
    }
  }
  return Status();
}

void TfGraphTranslator::define(const TfNode& n, int k, const std::string& onnx, bool nchw, int rank) {
  Value& v = values_[output_name(n, k)];
  v = Value{};
  (nchw ? v.nchw : v.nhwc) = onnx;
  v.rank = rank;
}

std::string TfGraphTranslator::fresh(const std::string& base) {
  std::string name = base;
  for (int i = 1; names_.count(name); ++i) name = base + "#" + std::to_string(i);
  names_.insert(name);
  return name;
}

void TfGraphTranslator::emit(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                             std::vector<OnnxAttribute> attrs) {
  OnnxNode node;
  node.op_type = op;
  node.name = outputs.empty() ? op : outputs[0];
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  node.attributes = std::move(attrs);
  g_->nodes.push_back(std::move(node));
}

std::string TfGraphTranslator::add_constant(const std::string& base, OnnxTensor t) {
  t.name = fresh(base);
  g_->initializers.push_back(std::move(t));
  return g_->initializers.back().name;
}

std::string TfGraphTranslator::const_i64(const std::string& base, const std::vector<int64_t>& v, bool scalar) {
  OnnxTensor t;
  t.data_type = DataType::kInt64;
  if (!scalar) t.dims = {int64_t(v.size())};
  t.data.resize(8 * v.size());
  if (!v.empty()) std::memcpy(t.data.data(), v.data(), t.data.size());
  return add_constant(base, std::move(t));
}

std::string TfGraphTranslator::const_f32(const std::string& base, const std::vector<float>& v, const std::vector<int64_t>& dims) {
  OnnxTensor t;
  t.data_type = DataType::kFloat32;
  t.dims = dims;
  t.data.resize(4 * v.size());
  if (!v.empty()) std::memcpy(t.data.data(), v.data(), t.data.size());
  return add_constant(base, std::move(t));
}

void TfGraphTranslator::add_tf_constant(const std::string& value, OnnxTensor t) {
  t.name = value;
  names_.insert(value);
  const int r = int(t.dims.size());
  g_->initializers.push_back(std::move(t));
  Value& v = values_[value];
  v = Value{};
  v.nhwc = value;
  v.rank = r;
}

// The node a value comes from ("x:1" -> "x").
static std::string node_of(const std::string& input) {
  const std::string v = TfGraphTranslator::canonical(input);
  const size_t colon = v.rfind(':');
  return colon == std::string::npos ? v : v.substr(0, colon);
}

// A Const node: its value from the weights (TF.js's converter moves every
// constant there) or from its own tensor attribute when small and inline.
static Status const_value(const TfNode& n, std::map<std::string, OnnxTensor>* weights, OnnxTensor* out) {
  auto it = weights->find(n.name);
  if (it != weights->end()) {
    *out = std::move(it->second);
    weights->erase(it);
    return Status();
  }
  return n.error("its value is not among the weights");
}

Status TfGraphTranslator::placeholder(const TfNode& n, std::vector<std::string>* inputs) {
  DataType type;
  KILN_RETURN_IF_ERROR(n.get_type("dtype", &type));
  std::vector<int64_t> dims;
  bool known;
  KILN_RETURN_IF_ERROR(n.get_shape("shape", &dims, &known));
  OnnxValueInfo info;
  info.name = n.name;
  info.kind = OnnxValueKind::kTensor;
  info.elem_type = type;
  info.has_shape = known;
  for (int64_t d : dims) {
    OnnxDim od;
    od.value = d;
    info.shape.push_back(od);
  }
  g_->inputs.push_back(info);
  names_.insert(n.name);
  define(n, 0, n.name, false, known ? int(dims.size()) : -1);
  inputs->push_back(n.name);
  return Status();
}

Status TfGraphTranslator::translate_node(const TfNode& n, std::map<std::string, OnnxTensor>* weights) {
  if (n.op == "Const") {
    OnnxTensor t;
    KILN_RETURN_IF_ERROR(const_value(n, weights, &t));
    add_tf_constant(n.name, std::move(t));
    constants_[n.name] = g_->initializers.size() - 1;
    return Status();
  }
  auto it = tf_op_translators().find(n.op);
  if (it == tf_op_translators().end()) return n.error("the op is not supported");
  return it->second(*this, n);
}

Status TfGraphTranslator::translate(const Json& graph, const Json* signature, std::map<std::string, OnnxTensor> weights,
                                    std::vector<std::string>* input_names, std::vector<std::string>* output_names) {
  const Json* nodes_json = graph.find("node");
  if (!nodes_json || !nodes_json->is_array()) return Status::error("the graph has no node list");
  std::vector<TfNode> nodes(nodes_json->items().size());
  for (size_t i = 0; i < nodes.size(); ++i) KILN_RETURN_IF_ERROR(tf_parse_node(nodes_json->items()[i], &nodes[i]));
  // Control flow and unknown ops are listed together before anything is built.
  std::set<std::string> unsupported;
  for (const TfNode& n : nodes)
    if (n.op != "Const" && n.op != "Placeholder" && !tf_op_translators().count(n.op)) unsupported.insert(n.op);
  if (!unsupported.empty()) {
    std::string list;
    for (const std::string& op : unsupported) list += (list.empty() ? "" : ", ") + op;
    return Status::error("the graph uses TensorFlow ops Kiln does not translate: " + list);
  }
  // Nodes in an order where every input comes first (graph models are usually sorted already).
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!index.emplace(nodes[i].name, i).second) return Status::error("two nodes are named '" + nodes[i].name + "'");
  std::vector<int> state(nodes.size(), 0);  // 0 new, 1 visiting, 2 done
  std::vector<size_t> order;
  for (size_t root = 0; root < nodes.size(); ++root) {
    std::vector<std::pair<size_t, size_t>> stack{{root, 0}};
    while (!stack.empty()) {
      auto& [i, next] = stack.back();
      if (state[i] == 2) { stack.pop_back(); continue; }
      state[i] = 1;
      if (next < nodes[i].inputs.size()) {
        const std::string in = nodes[i].inputs[next++];
        auto p = index.find(node_of(in));
        if (p == index.end()) return nodes[i].error("reads '" + in + "', which is not a node of the graph");
        if (state[p->second] == 1) return nodes[i].error("is part of a cycle (control flow is not supported)");
        if (state[p->second] == 0) stack.push_back({p->second, 0});
        continue;
      }
      state[i] = 2;
      order.push_back(i);
      stack.pop_back();
    }
  }
  // Outputs: the signature's, else (as TF.js) every node nothing reads.
  std::vector<std::string> outs;
  const Json* sig_outputs = signature ? signature->find("outputs") : nullptr;
  if (sig_outputs && sig_outputs->is_object() && !sig_outputs->members().empty()) {
    for (const auto& [key, entry] : sig_outputs->members()) {
      const Json* name = entry.find("name");
      if (!name || !name->is_string()) return Status::error("signature output '" + key + "' has no name");
      outs.push_back(name->as_string());
    }
  } else {
    std::set<std::string> read;
    for (const TfNode& n : nodes) {
      for (const std::string& in : n.inputs) read.insert(node_of(in));
      for (const std::string& in : n.control_inputs) read.insert(node_of(in));
    }
    for (const TfNode& n : nodes)
      if (!read.count(n.name) && n.op != "NoOp") outs.push_back(n.name);
  }
  // As TF.js, only the nodes the outputs need run (every placeholder stays an input).
  std::vector<bool> needed(nodes.size(), false);
  std::vector<size_t> stack;
  for (const std::string& o : outs) {
    auto p = index.find(node_of(o));
    if (p == index.end()) return Status::error("the graph's output '" + o + "' is not produced by any node");
    stack.push_back(p->second);
  }
  while (!stack.empty()) {
    const size_t i = stack.back();
    stack.pop_back();
    if (needed[i]) continue;
    needed[i] = true;
    for (const std::string& in : nodes[i].inputs) stack.push_back(index.at(node_of(in)));
  }
  for (size_t i : order) {
    if (nodes[i].op == "Placeholder") KILN_RETURN_IF_ERROR(placeholder(nodes[i], input_names));
    else if (needed[i]) KILN_RETURN_IF_ERROR(translate_node(nodes[i], &weights));
  }
  for (const std::string& o : outs) {
    const std::string v = canonical(o);
    if (!values_.count(v)) return Status::error("the graph's output '" + o + "' is not produced by any node");
    const std::string onnx = nhwc(v);
    OnnxValueInfo info;
    info.name = o;
    info.kind = OnnxValueKind::kTensor;
    if (onnx != o) {
      names_.insert(o);
      emit("Identity", {onnx}, {o});
    }
    g_->outputs.push_back(info);
    output_names->push_back(o);
  }
  drop_unread_initializers();
  return Status();
}

// Constants the translation re-laid out (filters, per-channel operands) or
// read at import only (shapes, axes) are dropped: the model holds each weight once.
void TfGraphTranslator::drop_unread_initializers() {
  std::set<std::string> read;
  for (const OnnxNode& n : g_->nodes)
    for (const std::string& in : n.inputs) read.insert(in);
  for (const OnnxValueInfo& o : g_->outputs) read.insert(o.name);
  std::vector<OnnxTensor> kept;
  for (OnnxTensor& t : g_->initializers)
    if (read.count(t.name)) kept.push_back(std::move(t));
  g_->initializers = std::move(kept);
  constants_.clear();  // indices into the old list
}

Status tf_graph_to_onnx(const Json& graph, const Json* signature, std::map<std::string, OnnxTensor> weights, OnnxModel* out) {
  *out = OnnxModel{};
  out->ir_version = 8;
  out->producer_name = "kiln tfjs graph import";
  out->opset_imports.push_back({"", 13});
  TfGraphTranslator t(&out->graph);
  std::vector<std::string> ins, outs;
  return t.translate(graph, signature, std::move(weights), &ins, &outs);
}

}  // namespace kiln
