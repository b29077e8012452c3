#include "onnx/session.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>

#include "core/thread_pool.h"
#include "io/kiln_graph_format.h"
#include "onnx/memory_plan.h"
#include "onnx/op_arity.h"

namespace kiln {

namespace {
bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// A kernel's error names its node: kernels say it themselves through
// OnnxOpContext::error, but shared helpers (allocation) cannot.
Status name_node(const OnnxNode& n, Status s) {
  if (s.ok()) return s;
  const std::string prefix = n.op_type + " node '" + n.name + "'";
  if (s.message().compare(0, prefix.size(), prefix) == 0) return s;
  return Status::error(prefix + ": " + s.message());
}
}  // namespace

Status OnnxSession::load(const uint8_t* data, size_t size, std::unique_ptr<OnnxSession>* out,
                         const OnnxFileReader* read_file, const OnnxSessionOptions& options) {
  OnnxModel model;
  KILN_RETURN_IF_ERROR(read_onnx_or_kiln_graph(data, size, &model));  // .onnx bytes or a `kiln convert` file
  if (read_file) KILN_RETURN_IF_ERROR(resolve_external_data(&model, *read_file));
  return load_model(std::move(model), out, options);
}

Status OnnxSession::load_model(OnnxModel model, std::unique_ptr<OnnxSession>* out, const OnnxSessionOptions& options) {
  std::unique_ptr<OnnxSession> s(new OnnxSession);
  s->model_ = std::move(model);
  KILN_RETURN_IF_ERROR(s->prepare(options));
  KILN_RETURN_IF_ERROR(s->finish_load(options));
  *out = std::move(s);
  return Status();
}

Status OnnxSession::finish_load(const OnnxSessionOptions& options) {
  optimize_ = options.optimize;
  std::vector<const OnnxNode*> nodes;
  KILN_RETURN_IF_ERROR(fold_constants(&nodes));
  if (options.optimize) {
    OnnxGraphToOptimize g{std::move(nodes), &constants_, {}, &optimized_nodes_, opset_, {}};
    for (const OnnxValueInfo& o : model_.graph.outputs) g.outputs.insert(o.name);
    KILN_RETURN_IF_ERROR(optimize_onnx_graph(&g, &stats_));
    nodes = std::move(g.nodes);
  }
  KILN_RETURN_IF_ERROR(build_steps(nodes));
  plan_memory();
  // The slots hold what the steps read; the parsed weights and unused constants can go.
  constants_.clear();
  model_.graph.initializers.clear();
  return Status();
}

namespace {

// Op types without a kernel in `g` and its subgraphs, as "domain.Op".
void collect_missing_ops(const OnnxGraph& g, std::set<std::string>* missing) {
  for (const OnnxNode& n : g.nodes) {
    if (!is_default_domain(n.domain) || !find_onnx_op(n.op_type)) missing->insert(n.domain.empty() ? n.op_type : n.domain + "." + n.op_type);
    for (const OnnxAttribute& a : n.attributes) {
      if (a.g) collect_missing_ops(*a.g, missing);
      for (const OnnxGraph& sub : a.graphs) collect_missing_ops(sub, missing);
    }
  }
}

bool has_graph_attribute(const OnnxNode& n) {
  for (const OnnxAttribute& a : n.attributes)
    if (a.g || !a.graphs.empty()) return true;
  return false;
}

// The key of a node's subgraphs: its first named output (outputs stay unique
// and keep their names through every optimizer rewrite; inputs may be renamed).
std::string subgraph_key(const OnnxNode& n) {
  for (const std::string& o : n.outputs)
    if (!o.empty()) return o;
  return "";
}

}  // namespace

std::vector<std::string> OnnxSession::outer_scope_names() const {
  const OnnxGraph& g = model_.graph;
  std::set<std::string> defined, seen;
  for (const OnnxValueInfo& in : g.inputs) defined.insert(in.name);
  for (const OnnxTensor& t : g.initializers) defined.insert(t.name);
  for (const OnnxNode& n : g.nodes)
    for (const std::string& o : n.outputs) defined.insert(o);
  std::vector<std::string> names;
  auto add = [&](const std::string& name) {
    if (!name.empty() && !defined.count(name) && seen.insert(name).second) names.push_back(name);
  };
  for (const OnnxNode& n : g.nodes)
    for (const std::string& in : n.inputs) add(in);
  for (const OnnxValueInfo& o : g.outputs) add(o.name);
  return names;
}

Status OnnxSession::load_subgraphs(OnnxNode* n, const OnnxSessionOptions& options) {
  const std::string key = subgraph_key(*n);
  const std::string where = "invalid ONNX model: node '" + n->name + "' (" + n->op_type + ")";
  if (key.empty()) return Status::error(where + " names no output");
  auto subs = std::make_unique<NodeSubgraphs>();
  std::vector<std::string> outer;
  std::set<std::string> outer_set;
  for (OnnxAttribute& a : n->attributes) {
    if (!a.graphs.empty()) return Status::error(where + ": attribute '" + a.name + "' holds a list of graphs, which no operator Kiln runs takes");
    if (!a.g) continue;
    std::unique_ptr<OnnxSession> sub(new OnnxSession);
    sub->model_.graph = std::move(*a.g);  // the node keeps an empty graph; the session owns the body
    sub->model_.opset_imports = model_.opset_imports;
    sub->is_subgraph_ = true;
    const Status st = sub->prepare(options);
    if (!st.ok()) return Status::error("in the '" + a.name + "' graph of node '" + n->name + "' (" + n->op_type + "): " + st.message());
    for (const std::string& name : sub->outer_scope_names())
      if (outer_set.insert(name).second) outer.push_back(name);
    subs->view.graphs.emplace_back(a.name, sub.get());
    subs->sessions.push_back(std::move(sub));
  }
  // Every subgraph takes the union of outer-scope values, in one order, after its own inputs.
  for (size_t i = 0; i < subs->sessions.size(); ++i) {
    OnnxSession& sub = *subs->sessions[i];
    for (const std::string& name : outer) sub.inputs_.push_back(OnnxValueInfo{name, OnnxValueKind::kUnknown, DataType::kUndefined, false, {}});
    const Status st = sub.finish_load(options);
    if (!st.ok())
      return Status::error("in the '" + subs->view.graphs[i].first + "' graph of node '" + n->name + "' (" + n->op_type + "): " + st.message());
  }
  subs->view.num_outer_inputs = outer.size();
  n->inputs.insert(n->inputs.end(), outer.begin(), outer.end());
  if (!subgraphs_.emplace(key, std::move(subs)).second) return Status::error(where + " writes '" + key + "' a second time");
  return Status();
}

Status OnnxSession::prepare(const OnnxSessionOptions& options) {
  for (const OnnxOpsetImport& o : model_.opset_imports)
    if (is_default_domain(o.domain)) opset_ = o.version;
  if (opset_ == 0) return Status::error("invalid ONNX model: it imports no version of the default operator set");
  if (opset_ > 18) return Status::error("ONNX opset " + std::to_string(opset_) + " is newer than Kiln supports (up to 18)");
  OnnxGraph& g = model_.graph;
  // Unsupported ops (subgraphs included) are listed together, so one load names them all.
  std::set<std::string> missing;
  collect_missing_ops(g, &missing);
  if (!missing.empty()) {
    std::string list;
    for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Status::error("ONNX model uses operators Kiln does not support: " + list);
  }
  // Input and output counts against ONNX's schemas: a malformed node is named here, not when it runs.
  for (const OnnxNode& n : g.nodes) {
    const OnnxOpArity* a = onnx_op_arity(n.op_type);
    if (!a) continue;
    const std::string where = "invalid ONNX model: node '" + n.name + "' (" + n.op_type + ")";
    auto range = [](int lo, int hi) {
      return lo == hi ? std::to_string(lo) : hi == std::numeric_limits<int>::max() ? std::to_string(lo) + " or more"
                                                                                : std::to_string(lo) + " to " + std::to_string(hi);
    };
    if (n.inputs.size() < size_t(a->min_inputs) || n.inputs.size() > size_t(a->max_inputs))
      return Status::error(where + " has " + std::to_string(n.inputs.size()) + " inputs; " + n.op_type + " takes " +
                           range(a->min_inputs, a->max_inputs));
    if (n.outputs.size() < size_t(a->min_outputs) || n.outputs.size() > size_t(a->max_outputs))
      return Status::error(where + " has " + std::to_string(n.outputs.size()) + " outputs; " + n.op_type + " gives " +
                           range(a->min_outputs, a->max_outputs));
    for (int i = 0; i < a->min_inputs && a->max_inputs != std::numeric_limits<int>::max(); ++i)
      if (n.inputs[size_t(i)].empty()) return Status::error(where + ": input " + std::to_string(i) + " is required");
  }
  for (OnnxNode& n : g.nodes)
    if (has_graph_attribute(n)) KILN_RETURN_IF_ERROR(load_subgraphs(&n, options));
  for (OnnxTensor& t : model_.graph.initializers) {
    OnnxValue v;
    const Status st = OnnxValue::from_tensor(t, &v);
    if (!st.ok()) return Status::error("initializer '" + t.name + "': " + st.message());
    constants_[t.name] = std::move(v);
    std::vector<uint8_t>().swap(t.data);  // each weight is held once while loading (peak memory)
  }
  // Inputs that have initializers are constants with defaults (IR < 4 lists them all).
  for (const OnnxValueInfo& in : g.inputs)
    if (!constants_.count(in.name)) inputs_.push_back(in);
  num_graph_inputs_ = inputs_.size();
  return Status();
}

Status OnnxSession::fold_constants(std::vector<const OnnxNode*>* remaining_out) {
  const OnnxGraph& g = model_.graph;
  std::set<std::string> known;  // produced so far: graph inputs, constants, earlier outputs
  for (const OnnxValueInfo& in : inputs_) known.insert(in.name);
  for (const auto& [name, v] : constants_) known.insert(name);
  std::vector<const OnnxNode*> remaining;
  std::map<std::string, std::vector<const OnnxNode*>> readers;  // for keep_weight_dequantize
  for (const OnnxNode& n : g.nodes)
    for (const std::string& in : n.inputs) readers[in].push_back(&n);
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
    // Weight DequantizeLinears stay for the optimizer's QDQ fusion (which folds those it does not fuse).
    const bool keep = optimize_ && keep_weight_dequantize(n, constants_, readers);
    if (all_constant && op->deterministic && !op->any_value && !keep) {
      OnnxInputs ins;
      for (const std::string& in : n.inputs) ins.push_back(in.empty() ? nullptr : &constants_.at(in));
      std::vector<OnnxValue> outs(n.outputs.size());
      KILN_RETURN_IF_ERROR(name_node(n, op->kernel(OnnxOpContext(n, opset_), ins, &outs)));
      for (size_t k = 0; k < n.outputs.size(); ++k)
        if (!n.outputs[k].empty()) constants_[n.outputs[k]] = std::move(outs[k]);
      ++folded_;
    } else {
      remaining.push_back(&n);
    }
    for (const std::string& o : n.outputs)
      if (!o.empty() && !known.insert(o).second)
        return Status::error("invalid ONNX model: node '" + n.name + "' (" + n.op_type + ") writes '" + o +
                             "', which an input, an initializer or an earlier node already provides");
  }
  for (const OnnxValueInfo& o : g.outputs)
    if (!known.count(o.name)) return Status::error("invalid ONNX model: no node produces the output '" + o.name + "'");
  *remaining_out = std::move(remaining);
  return Status();
}

Status OnnxSession::build_steps(const std::vector<const OnnxNode*>& nodes) {
  // Slots: one per value name; constants keep theirs filled.
  auto slot = [&](const std::string& name) {
    auto it = slot_of_.find(name);
    if (it != slot_of_.end()) return it->second;
    const int s = int(slot_of_.size());
    slot_of_[name] = s;
    return s;
  };
  for (const OnnxValueInfo& in : inputs_) input_slots_.push_back(slot(in.name));
  for (const OnnxNode* n : nodes) {
    const bool internal = n->domain == kKilnInternalDomain;
    auto sub = subgraphs_.find(subgraph_key(*n));
    Step st{n, internal ? find_onnx_internal_op(n->op_type) : find_onnx_op(n->op_type),
            sub == subgraphs_.end() ? nullptr : &sub->second->view, {}, {}, {}, {}};
    if (!st.op) return Status::error("internal error: no kernel for the optimized node " + n->op_type);
    for (const std::string& in : n->inputs) st.inputs.push_back(in.empty() ? -1 : slot(in));
    for (const std::string& o : n->outputs) st.outputs.push_back(o.empty() ? -1 : slot(o));
    steps_.push_back(std::move(st));
  }
  for (const OnnxValueInfo& o : model_.graph.outputs) output_slots_.push_back(slot(o.name));
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

void OnnxSession::plan_memory() {
  // Ops whose output shares its input's bytes (OnnxValue::reshaped).
  static const std::set<std::string> kAliasing = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"};
  std::vector<OnnxPlanStep> plan_steps;
  for (const Step& st : steps_)
    plan_steps.push_back({st.inputs, st.outputs, st.node->domain.empty() && kAliasing.count(st.node->op_type) > 0});
  std::vector<bool> pinned(slot_of_.size(), false);
  for (size_t s = 0; s < pinned.size(); ++s) pinned[s] = constant_slots_[s].defined();
  for (int s : input_slots_) pinned[size_t(s)] = true;
  for (int s : output_slots_) pinned[size_t(s)] = true;
  const OnnxMemoryPlan plan = plan_onnx_memory(plan_steps, pinned);
  for (size_t i = 0; i < steps_.size(); ++i) steps_[i].buffers = plan.buffer_of_output[i];
  buffers_.assign(size_t(plan.num_buffers), nullptr);
}

std::vector<std::string> OnnxSession::plan_lines() const {
  std::vector<std::string> names(slot_of_.size());
  for (const auto& [name, s] : slot_of_) names[size_t(s)] = name;
  auto list = [&](const std::vector<int>& slots) {
    std::string out;
    for (int s : slots) out += (out.empty() ? "" : ", ") + (s < 0 ? std::string("-") : names[size_t(s)]);
    return out;
  };
  std::vector<std::string> lines;
  for (const Step& st : steps_) {
    std::string line = st.node->op_type + "  " + list(st.inputs) + " -> " + list(st.outputs);
    std::string bufs;
    for (int b : st.buffers)
      if (b >= 0) bufs += (bufs.empty() ? "" : ", ") + std::to_string(b);
    if (!bufs.empty()) line += "  [buffer " + bufs + "]";
    lines.push_back(line);
  }
  return lines;
}

std::string OnnxSession::plan_summary() const {
  size_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(run_mutex_);
    for (const auto& b : buffers_) bytes += b ? b->size() : 0;
  }
  return std::to_string(steps_.size()) + " kernel calls (" + std::to_string(folded_) + " nodes folded at load, " +
         std::to_string(stats_.batch_norms_folded) + " batch norms folded into convs, " +
         std::to_string(stats_.activations_fused) + " activations fused, " + std::to_string(stats_.noops_removed) +
         " no-ops removed, " + std::to_string(stats_.nhwc_nodes) + " nodes channels-last, " +
         std::to_string(stats_.layout_transposes) + " layout transposes, " + std::to_string(stats_.qdq_fused) +
         " quantized patterns as integer ops, " + std::to_string(stats_.transformer_fused) + " transformer patterns fused); " + std::to_string(buffers_.size()) +
         " planned buffers, " + std::to_string(bytes) + " bytes after the last run";
}

Status OnnxSession::check_feed(size_t i, const OnnxValue& v) const {
  const OnnxValueInfo& info = inputs_[i];
  if (info.kind == OnnxValueKind::kUnknown && v.defined()) return Status();  // subgraphs' outer values: every call of a Loop body
  const std::string where = "input '" + info.name + "'";
  if (!v.defined()) return Status::error(where + " is missing");
  if (info.kind == OnnxValueKind::kUnknown || info.kind == OnnxValueKind::kOptional) return Status();
  if (info.kind == OnnxValueKind::kSequence) {
    if (v.kind() != OnnxValueKind::kSequence) return Status::error(where + " must be a sequence, got a " + onnx_value_description(v));
    return Status();
  }
  if (!v.is_tensor()) return Status::error(where + " must be a tensor, got a " + onnx_value_description(v));
  if (info.elem_type != DataType::kUndefined && v.type() != info.elem_type)
    return Status::error(where + " must be " + dtype_name(info.elem_type) + ", got " + dtype_name(v.type()));
  if (!info.has_shape || is_subgraph_) return Status();
  if (v.rank() != int64_t(info.shape.size()))
    return Status::error(where + " must have rank " + std::to_string(info.shape.size()) + ", got shape " +
                         onnx_shape_string(v.shape()));
  for (size_t d = 0; d < info.shape.size(); ++d)
    if (info.shape[d].value >= 0 && info.shape[d].value != v.shape()[d])
      return Status::error(where + ": dimension " + std::to_string(d) + " must be " + std::to_string(info.shape[d].value) +
                           ", got shape " + onnx_shape_string(v.shape()));
  return Status();
}

Status OnnxSession::run(const std::vector<OnnxValue>& feeds, std::vector<OnnxValue>* outputs,
                        std::vector<StepTiming>* profile) const {
  if (feeds.size() != inputs_.size())
    return Status::error("the model has " + std::to_string(inputs_.size()) + " input(s), got " + std::to_string(feeds.size()));
  for (size_t i = 0; i < feeds.size(); ++i) KILN_RETURN_IF_ERROR(check_feed(i, feeds[i]));
  std::lock_guard<std::mutex> lock(run_mutex_);
  ThreadPool::RunScope fixed_thread_count;
  if (profile) profile->clear();
  // Run-time values by slot; constants are read from constant_slots_ in
  // place (no per-run copies: a Loop body runs once per iteration).
  std::vector<OnnxValue>& slots = run_slots_;
  slots.assign(constant_slots_.size(), OnnxValue());
  struct ClearOnExit {  // nothing of a run (finished or failed) stays referenced
    std::vector<OnnxValue>& values;
    ~ClearOnExit() { values.clear(); }
  } clear_on_exit{slots};
  auto value = [&](int s) -> const OnnxValue* {
    return constant_slots_[size_t(s)].defined() ? &constant_slots_[size_t(s)] : &slots[size_t(s)];
  };
  for (size_t i = 0; i < feeds.size(); ++i) slots[size_t(input_slots_[i])] = feeds[i];
  OnnxInputs ins;
  std::vector<OnnxValue> outs;
  for (const Step& st : steps_) {
    ins.clear();
    for (int s : st.inputs) ins.push_back(s < 0 ? nullptr : value(s));
    if (!st.op->any_value)
      for (size_t k = 0; k < ins.size(); ++k)
        if (ins[k] && ins[k]->defined() && !ins[k]->is_tensor())
          return Status::error(st.node->op_type + " node '" + st.node->name + "': input " + std::to_string(k) + " is a " +
                               onnx_value_description(*ins[k]) + "; this operator takes tensors");
    outs.assign(st.outputs.size(), OnnxValue());
    // Hand each output its planned buffer; the kernel's make() reuses it when
    // it is big enough and nobody still holds it.
    for (size_t k = 0; k < st.buffers.size(); ++k)
      if (st.buffers[k] >= 0) outs[k] = OnnxValue::planned_buffer(std::move(buffers_[size_t(st.buffers[k])]));
    const auto start = profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    const Status status = st.op->kernel(OnnxOpContext(*st.node, opset_, &scratch_, st.subgraphs), ins, &outs);
    if (profile) {
      StepTiming& t = profile->emplace_back();
      t.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      for (const OnnxValue* v : ins)
        t.input_shapes += (t.input_shapes.empty() ? "" : ", ") + (v && v->defined() ? onnx_shape_string(v->shape()) : "-");
    }
    for (size_t k = 0; k < st.buffers.size(); ++k)
      if (st.buffers[k] >= 0) buffers_[size_t(st.buffers[k])] = outs[k].storage();
    KILN_RETURN_IF_ERROR(name_node(*st.node, status));
    for (size_t k = 0; k < st.outputs.size(); ++k)
      if (st.outputs[k] >= 0) slots[size_t(st.outputs[k])] = std::move(outs[k]);
    for (int s : st.release) slots[size_t(s)] = OnnxValue();
  }
  outputs->clear();
  for (size_t k = 0; k < output_slots_.size(); ++k) {
    const OnnxValue& v = *value(output_slots_[k]);
    if (!v.defined()) return Status::error("output '" + model_.graph.outputs[k].name + "' was not computed");
    outputs->push_back(v);
  }
  return Status();
}

}  // namespace kiln
