#include "onnx/session.h"

#include <algorithm>
#include <set>

namespace kiln {

namespace {
bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }
}  // namespace

Status OnnxSession::load(const uint8_t* data, size_t size, std::unique_ptr<OnnxSession>* out,
                         const OnnxFileReader* read_file) {
  std::unique_ptr<OnnxSession> s(new OnnxSession);
  KILN_RETURN_IF_ERROR(parse_onnx_model(data, size, &s->model_));
  if (read_file) KILN_RETURN_IF_ERROR(resolve_external_data(&s->model_, *read_file));
  KILN_RETURN_IF_ERROR(s->prepare());
  KILN_RETURN_IF_ERROR(s->fold_constants());
  *out = std::move(s);
  return Status();
}

Status OnnxSession::prepare() {
  for (const OnnxOpsetImport& o : model_.opset_imports)
    if (is_default_domain(o.domain)) opset_ = o.version;
  if (opset_ == 0) return Status::error("invalid ONNX model: it imports no version of the default operator set");
  if (opset_ > 18) return Status::error("ONNX opset " + std::to_string(opset_) + " is newer than Kiln supports (up to 18)");
  const OnnxGraph& g = model_.graph;
  // Unsupported ops are listed together, so one load names them all.
  std::set<std::string> missing;
  for (const OnnxNode& n : g.nodes)
    if (!is_default_domain(n.domain) || !find_onnx_op(n.op_type)) missing.insert(n.domain.empty() ? n.op_type : n.domain + "." + n.op_type);
  if (!missing.empty()) {
    std::string list;
    for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Status::error("ONNX model uses operators Kiln does not support: " + list);
  }
  for (const OnnxTensor& t : g.initializers) {
    OnnxValue v;
    const Status st = OnnxValue::from_tensor(t, &v);
    if (!st.ok()) return Status::error("initializer '" + t.name + "': " + st.message());
    constants_[t.name] = std::move(v);
  }
  // Inputs that have initializers are constants with defaults (IR < 4 lists them all).
  for (const OnnxValueInfo& in : g.inputs)
    if (!constants_.count(in.name)) inputs_.push_back(in);
  return Status();
}

Status OnnxSession::fold_constants() {
  const OnnxGraph& g = model_.graph;
  std::set<std::string> known;  // produced so far: graph inputs, constants, earlier outputs
  for (const OnnxValueInfo& in : inputs_) known.insert(in.name);
  for (const auto& [name, v] : constants_) known.insert(name);
  std::vector<const OnnxNode*> remaining;
  for (const OnnxNode& n : g.nodes) {
    bool all_constant = true;
    for (const std::string& in : n.inputs) {
      if (in.empty()) continue;
      if (!known.count(in))
        return Status::error("invalid ONNX model: node '" + n.name + "' (" + n.op_type + ") reads '" + in +
                             "', which no earlier node, input or initializer provides");
      if (!constants_.count(in)) all_constant = false;
    }
    const OnnxOpEntry* op = find_onnx_op(n.op_type);
    if (all_constant && op->deterministic) {
      OnnxInputs ins;
      for (const std::string& in : n.inputs) ins.push_back(in.empty() ? nullptr : &constants_.at(in));
      std::vector<OnnxValue> outs(n.outputs.size());
      KILN_RETURN_IF_ERROR(op->kernel(OnnxOpContext(n, opset_), ins, &outs));
      for (size_t k = 0; k < n.outputs.size(); ++k)
        if (!n.outputs[k].empty()) constants_[n.outputs[k]] = std::move(outs[k]);
      ++folded_;
    } else {
      remaining.push_back(&n);
    }
    for (const std::string& o : n.outputs)
      if (!o.empty()) known.insert(o);
  }
  for (const OnnxValueInfo& o : g.outputs)
    if (!known.count(o.name)) return Status::error("invalid ONNX model: no node produces the output '" + o.name + "'");

  // Slots: one per value name; constants keep theirs filled.
  auto slot = [&](const std::string& name) {
    auto it = slot_of_.find(name);
    if (it != slot_of_.end()) return it->second;
    const int s = int(slot_of_.size());
    slot_of_[name] = s;
    return s;
  };
  for (const OnnxValueInfo& in : inputs_) input_slots_.push_back(slot(in.name));
  for (const OnnxNode* n : remaining) {
    Step st{n, find_onnx_op(n->op_type), {}, {}, {}};
    for (const std::string& in : n->inputs) st.inputs.push_back(in.empty() ? -1 : slot(in));
    for (const std::string& o : n->outputs) st.outputs.push_back(o.empty() ? -1 : slot(o));
    steps_.push_back(std::move(st));
  }
  for (const OnnxValueInfo& o : g.outputs) output_slots_.push_back(slot(o.name));
  constant_slots_.assign(slot_of_.size(), OnnxValue());
  for (const auto& [name, v] : constants_)
    if (slot_of_.count(name)) constant_slots_[size_t(slot_of_[name])] = v;
  // Free each non-constant, non-output value after its last reader.
  std::vector<int> last_use(slot_of_.size(), -1);
  for (size_t i = 0; i < steps_.size(); ++i)
    for (int s : steps_[i].inputs)
      if (s >= 0) last_use[size_t(s)] = int(i);
  std::set<int> keep(output_slots_.begin(), output_slots_.end());
  for (size_t s = 0; s < last_use.size(); ++s)
    if (last_use[s] >= 0 && !constant_slots_[s].defined() && !keep.count(int(s)))
      steps_[size_t(last_use[s])].release.push_back(int(s));
  return Status();
}

Status OnnxSession::check_feed(size_t i, const OnnxValue& v) const {
  const OnnxValueInfo& info = inputs_[i];
  const std::string where = "input '" + info.name + "'";
  if (!v.defined()) return Status::error(where + " is missing");
  if (info.elem_type != OnnxDataType::kUndefined && v.type() != info.elem_type)
    return Status::error(where + " must be " + onnx_type_name(info.elem_type) + ", got " + onnx_type_name(v.type()));
  if (!info.has_shape) return Status();
  if (v.rank() != int64_t(info.shape.size()))
    return Status::error(where + " must have rank " + std::to_string(info.shape.size()) + ", got shape " +
                         onnx_shape_string(v.shape()));
  for (size_t d = 0; d < info.shape.size(); ++d)
    if (info.shape[d].value >= 0 && info.shape[d].value != v.shape()[d])
      return Status::error(where + ": dimension " + std::to_string(d) + " must be " + std::to_string(info.shape[d].value) +
                           ", got shape " + onnx_shape_string(v.shape()));
  return Status();
}

Status OnnxSession::run(const std::vector<OnnxValue>& feeds, std::vector<OnnxValue>* outputs) const {
  if (feeds.size() != inputs_.size())
    return Status::error("the model has " + std::to_string(inputs_.size()) + " input(s), got " + std::to_string(feeds.size()));
  for (size_t i = 0; i < feeds.size(); ++i) KILN_RETURN_IF_ERROR(check_feed(i, feeds[i]));
  std::vector<OnnxValue> slots = constant_slots_;
  for (size_t i = 0; i < feeds.size(); ++i) slots[size_t(input_slots_[i])] = feeds[i];
  OnnxInputs ins;
  std::vector<OnnxValue> outs;
  for (const Step& st : steps_) {
    ins.clear();
    for (int s : st.inputs) ins.push_back(s < 0 ? nullptr : &slots[size_t(s)]);
    outs.assign(st.outputs.size(), OnnxValue());
    KILN_RETURN_IF_ERROR(st.op->kernel(OnnxOpContext(*st.node, opset_), ins, &outs));
    for (size_t k = 0; k < st.outputs.size(); ++k)
      if (st.outputs[k] >= 0) slots[size_t(st.outputs[k])] = std::move(outs[k]);
    for (int s : st.release) slots[size_t(s)] = OnnxValue();
  }
  outputs->clear();
  for (size_t k = 0; k < output_slots_.size(); ++k) {
    const OnnxValue& v = slots[size_t(output_slots_[k])];
    if (!v.defined()) return Status::error("output '" + model_.graph.outputs[k].name + "' was not computed");
    outputs->push_back(v);
  }
  return Status();
}

}  // namespace kiln
