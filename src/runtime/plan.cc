#include "runtime/plan.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "backends/cpu/cpu_backend.h"
#include "core/json.h"
#include "core/thread_pool.h"
#include "graph/verify.h"

namespace kiln {

void AlignedFree::operator()(float* p) const { std::free(p); }

namespace {

// Moves a value between two backends' memories, one side of which is the host's.
class CopyKernel : public Kernel {
 public:
  CopyKernel(Backend* from, TensorAddress src, Backend* to, TensorAddress dst, int64_t bytes)
      : from_(from), src_(src), to_(to), dst_(dst), bytes_(bytes) {}
  void run() override {
    if (from_->host_memory()) {
      to_->upload(dst_, src_.host(), bytes_);
    } else {
      from_->download_async(src_, dst_.host(), bytes_);
      from_->synchronize();  // the next step reads it
    }
  }

 private:
  Backend* from_;
  TensorAddress src_;
  Backend* to_;
  TensorAddress dst_;
  int64_t bytes_;
};

// A step of the flat list before memory exists: a node (node >= 0) or a
// copy of value `inputs[0]` into `outputs[0]`, on `backend`.
struct FlatStep {
  int node = -1;
  bool constant = false;  // reads only constants
  Backend* backend = nullptr;
  std::vector<int> inputs, outputs;  // value ids (mirrors included); outputs in node_outputs() order, -1 allowed
  int64_t workspace_bytes = 0;       // what its kernel asked for
};

struct FlatValue {
  Shape shape;
  ValueKind kind;
  Backend* home;
  bool constant = false;
};

bool shares_memory(Backend* a, Backend* b) { return a == b || (a->host_memory() && b->host_memory()); }

// Externals nothing writes, and what deterministic, side-effect-free nodes
// compute from them alone; node_constant[i] for nodes of the latter kind.
std::vector<bool> constant_values(const Graph& graph, std::vector<bool>* node_constant) {
  const auto& values = graph.values();
  const auto& nodes = graph.nodes();
  std::vector<bool> written(values.size(), false), constant(values.size(), false);
  for (const Node& n : nodes)
    if (writes_host_state(n))
      for (int in : n.inputs) written[size_t(in)] = true;
  for (size_t v = 0; v < values.size(); ++v) constant[v] = values[v].kind == ValueKind::kExternal && !written[v];
  node_constant->assign(nodes.size(), false);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    const bool pure = n.op == OpKind::kGemm || n.op == OpKind::kActivation || n.op == OpKind::kAdd ||
                      (n.op == OpKind::kOp && n.impl->deterministic() && !n.impl->has_side_effects());
    if (!pure || n.inputs.empty()) continue;
    bool all = true;
    for (int in : n.inputs) all = all && constant[size_t(in)];
    if (!all) continue;
    (*node_constant)[i] = true;
    for (int o : node_outputs(n))
      if (o >= 0) constant[size_t(o)] = true;
  }
  return constant;
}

}  // namespace

Status Plan::compile(const Graph& graph, const std::vector<float*>& externals, const OptimizerConfig* opt,
                     int64_t* step, std::unique_ptr<Plan>* out, Rng* rng, const PlanOptions* options) {
  KILN_RETURN_IF_ERROR(verify_graph(graph));
  const auto& nodes = graph.nodes();
  auto plan = std::make_unique<Plan>();
  plan->nodes_ = nodes;

  BackendChoice choice;
  if (options) choice = options->backends;
  if (choice.order.empty()) choice.order.push_back(cpu_backend());
  std::vector<NodePlacement> placed;
  KILN_RETURN_IF_ERROR(place_nodes(graph, choice, &placed));

  // Inputs and externals are in host memory; every other value where the
  // node that writes it runs. A node reading a value another backend's
  // memory holds reads a mirror, copied just before the first such reader.
  Backend* host = cpu_backend();
  std::vector<FlatValue> values;
  for (const Value& v : graph.values()) {
    if (shape_numel(v.shape) < 0) return Status::error("plan: value '" + v.name + "' has an invalid shape " + shape_to_string(v.shape));
    values.push_back({v.shape, v.kind, v.kind == ValueKind::kTemp ? nullptr : host});
  }
  std::vector<bool> node_constant;
  if (options && options->constants_version) {
    const std::vector<bool> constant = constant_values(graph, &node_constant);
    for (size_t v = 0; v < graph.values().size(); ++v) values[v].constant = constant[v];
  } else {
    node_constant.assign(nodes.size(), false);
  }
  std::map<std::pair<int, Backend*>, int> mirrors;
  std::vector<FlatStep> flat;
  auto mirror_on = [&](int v, Backend* b) {
    auto it = mirrors.find({v, b});
    if (it != mirrors.end()) return it->second;
    const int m = int(values.size());
    const bool constant = values[size_t(v)].constant;
    values.push_back({values[size_t(v)].shape, ValueKind::kTemp, b, constant});
    flat.push_back({-1, constant, b, {v}, {m}});
    mirrors[{v, b}] = m;
    return m;
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    Backend* b = placed[i].backend;
    FlatStep s{int(i), node_constant[i], b, {}, node_outputs(n)};
    for (int in : n.inputs) {
      if (!values[size_t(in)].home)
        return Status::error(std::string("plan: ") + node_op_name(n) + " reads a value no earlier step writes");
      s.inputs.push_back(shares_memory(values[size_t(in)].home, b) ? in : mirror_on(in, b));
    }
    for (int o : s.outputs)
      if (o >= 0) values[size_t(o)].home = b;
    flat.push_back(std::move(s));
  }

  // With late inputs, the first part ends before the first step reading one
  // (a mirror copy of one included).
  size_t split = flat.size();
  if (options)
    for (size_t i = 0; i < flat.size() && split == flat.size(); ++i)
      for (int in : flat[i].inputs)
        if (std::find(options->late_inputs.begin(), options->late_inputs.end(), in) != options->late_inputs.end()) split = i;
  std::vector<size_t> writer(values.size(), flat.size());
  for (size_t i = 0; i < flat.size(); ++i)
    for (int o : flat[i].outputs)
      if (o >= 0) writer[size_t(o)] = i;
  // Which values depend on a late input (none without them).
  std::unique_ptr<std::vector<bool>> late;
  if (options && !options->late_inputs.empty()) {
    late = std::make_unique<std::vector<bool>>(values.size(), false);
    for (int v : options->late_inputs) (*late)[size_t(v)] = true;
    for (const FlatStep& s : flat)
      if (std::any_of(s.inputs.begin(), s.inputs.end(), [&](int in) { return (*late)[size_t(in)]; }))
        for (int o : s.outputs)
          if (o >= 0) (*late)[size_t(o)] = true;
  }

  // What the caller reads back must be in host memory.
  std::vector<int> results;
  if (options && !options->results.empty()) {
    results = options->results;
  } else {
    std::vector<bool> read(graph.values().size(), false);
    for (const Node& n : nodes)
      for (int in : n.inputs) read[size_t(in)] = true;
    for (size_t v = 0; v < graph.values().size(); ++v)
      if (values[v].kind == ValueKind::kTemp && values[v].home && !read[v]) results.push_back(int(v));
  }
  std::vector<int> host_view(values.size());  // graph value -> the value the caller reads
  for (size_t v = 0; v < host_view.size(); ++v) host_view[v] = int(v);
  for (int r : results) {
    if (r < 0 || size_t(r) >= graph.values().size() || !values[size_t(r)].home)
      return Status::error("plan: result value " + std::to_string(r) + " is not computed by the graph");
    // The caller reads what does not need the late inputs after the first part:
    // a step order that computes one later would hand it unwritten memory.
    if (late && !(*late)[size_t(r)] && writer[size_t(r)] >= split)
      return Status::error("plan: result '" + graph.values()[size_t(r)].name + "' needs no late input but is computed after the first part");
    if (values[size_t(r)].home->host_memory()) continue;
    host_view[size_t(r)] = mirror_on(r, host);
    // A result of the first part is copied back within it.
    if (writer[size_t(r)] < split) {
      std::rotate(flat.begin() + std::ptrdiff_t(split), flat.end() - 1, flat.end());
      ++split;
    }
  }

  // Lifetimes over the flat list: inputs from the start, every other value
  // from the step that writes it to the last step that reads it; results to the end.
  const int end = int(flat.size());
  std::vector<std::pair<int, int>> life(values.size(), {-1, -1});
  std::vector<int64_t> bytes(values.size(), 0);
  for (size_t v = 0; v < values.size(); ++v) {
    bytes[v] = shape_numel(values[v].shape) * int64_t(sizeof(float));
    if (values[v].kind == ValueKind::kInput) life[v] = {0, end};
  }
  for (int i = 0; i < end; ++i) {
    for (int in : flat[size_t(i)].inputs)
      if (values[size_t(in)].kind != ValueKind::kExternal) life[size_t(in)].second = std::max(life[size_t(in)].second, i);
    for (int o : flat[size_t(i)].outputs)
      if (o >= 0) life[size_t(o)] = {i, i};
  }
  for (int r : results) life[size_t(host_view[size_t(r)])].second = end;
  // Constants computed in the plan are kept from one run to the next.
  for (size_t v = 0; v < values.size(); ++v)
    if (values[v].constant && life[v].first >= 0) life[v] = {0, end};
  for (size_t v = 0; v < values.size(); ++v)
    if (life[v].first >= 0) plan->unplanned_bytes_ += bytes[v];

  // One arena per backend: its values, then the largest workspace its steps ask for.
  for (const FlatStep& s : flat)
    if (std::find(plan->backends_.begin(), plan->backends_.end(), s.backend) == plan->backends_.end()) plan->backends_.push_back(s.backend);
  if (std::find(plan->backends_.begin(), plan->backends_.end(), host) == plan->backends_.end()) plan->backends_.push_back(host);
  std::vector<TensorAddress> address(values.size());
  std::map<Backend*, TensorAddress> workspace;
  auto shapes_of = [&](const std::vector<int>& ids) {
    std::vector<Shape> s;
    for (int id : ids) s.push_back(id >= 0 ? values[size_t(id)].shape : Shape{});
    return s;
  };
  for (Backend* b : plan->backends_) {
    std::vector<std::pair<int, int>> own(values.size(), {-1, -1});
    for (size_t v = 0; v < values.size(); ++v)
      if (values[v].home == b && values[v].kind != ValueKind::kExternal) own[v] = life[v];
    int64_t workspace_bytes = 0;
    for (FlatStep& s : flat)
      if (s.backend == b && s.node >= 0) {
        s.workspace_bytes = b->workspace_bytes(nodes[size_t(s.node)], shapes_of(s.inputs), shapes_of(s.outputs));
        workspace_bytes = std::max(workspace_bytes, s.workspace_bytes);
      }
    if (workspace_bytes < 0) return Status::error("plan: a workspace size overflowed");
    std::vector<int64_t> offsets;
    const int64_t values_bytes = (plan_memory(bytes, own, &offsets) + 63) / 64 * 64;
    const int64_t total = values_bytes + workspace_bytes;
    if (total == 0) continue;
    std::unique_ptr<BackendBuffer> arena;
    Status st = b->alloc(total, &arena);
    if (!st.ok())
      return Status::error("out of memory: the execution plan needs an arena of " + std::to_string(total) + " bytes on the " +
                           b->name() + " backend");
    for (size_t v = 0; v < values.size(); ++v)
      if (offsets[v] >= 0) address[v] = {arena.get(), offsets[v]};
    if (workspace_bytes > 0) workspace[b] = {arena.get(), values_bytes};
    plan->arena_bytes_ += total;
    plan->memory_.push_back(std::move(arena));
  }
  for (size_t v = 0; v < graph.values().size(); ++v) {
    if (values[v].kind != ValueKind::kExternal) continue;
    if (v >= externals.size() || !externals[v]) return Status::error("plan: external value '" + graph.values()[v].name + "' has no storage");
    plan->memory_.push_back(HostBuffer::borrow(externals[v], bytes[v]));
    address[v] = {plan->memory_.back().get(), 0};
  }
  plan->host_.assign(graph.values().size(), nullptr);
  for (size_t v = 0; v < plan->host_.size(); ++v) {
    const FlatValue& shown = values[size_t(host_view[v])];
    if (shown.home && shown.home->host_memory()) plan->host_[v] = address[size_t(host_view[v])].host();
  }

  // Prepare every step's kernel with its buffers.
  plan->context_ = std::make_unique<StepContext>();
  plan->context_->rng = rng;
  plan->context_->optimizer = opt;
  plan->context_->step = step;
  if (options && options->constants_version) {
    plan->constants_version_ = options->constants_version;
    plan->context_->constants_version = options->constants_version;
  }
  for (const FlatStep& s : flat) {
    Step exec{s.backend, nullptr};
    PlacedStep report;
    report.backend = s.backend->name();
    if (s.node < 0) {
      Backend* from = values[size_t(s.inputs[0])].home;
      if (!from->host_memory() && !s.backend->host_memory())
        return Status::error(std::string("plan: no copy path from the ") + from->name() + " backend to the " + s.backend->name() + " backend");
      exec.kernel.reset(new CopyKernel(from, address[size_t(s.inputs[0])], s.backend, address[size_t(s.outputs[0])], bytes[size_t(s.outputs[0])]));
      report.op = "Copy";
    } else {
      const Node& n = plan->nodes_[size_t(s.node)];
      StepBinding binding;
      binding.node = &n;
      for (int in : s.inputs) {
        binding.inputs.push_back(address[size_t(in)]);
        binding.constant_inputs.push_back(values[size_t(in)].constant);
      }
      binding.input_shapes = shapes_of(s.inputs);
      for (int o : s.outputs) binding.outputs.push_back(o >= 0 ? address[size_t(o)] : TensorAddress{});
      binding.output_shapes = shapes_of(s.outputs);
      binding.workspace = workspace.count(s.backend) ? workspace[s.backend] : TensorAddress{};
      binding.workspace_bytes = binding.workspace.buffer ? s.workspace_bytes : 0;
      binding.context = plan->context_.get();
      KILN_RETURN_IF_ERROR(s.backend->prepare(binding, &exec.kernel));
      if (n.op == OpKind::kUpdate) {
        plan->context_->update_grads.push_back(binding.inputs[1].host());
        plan->context_->update_sizes.push_back(shape_numel(binding.input_shapes[1]));
      }
      report.node = s.node;
      report.op = node_op_name(n);
      report.fallback = placed[size_t(s.node)].fallback;
    }
    report.constant = s.constant;
    plan->placement_.push_back(report);
    (s.constant ? plan->constant_steps_ : plan->steps_).push_back(std::move(exec));
    if (size_t(&s - flat.data()) < split && !s.constant) plan->split_ = plan->steps_.size();
  }
  *out = std::move(plan);
  return Status();
}

void Plan::run() {
  run_first_part();
  run_rest();
}

void Plan::run_first_part() {
  ThreadPool::RunScope fixed_thread_count;
  if (!constant_steps_.empty() && (!constants_ready_ || *constants_version_ != constants_seen_)) {
    for (Step& s : constant_steps_) s.kernel->run();
    constants_seen_ = *constants_version_;
    constants_ready_ = true;
  }
  for (size_t i = 0; i < split_; ++i) steps_[i].kernel->run();
  for (Backend* b : backends_) b->synchronize();
}

void Plan::run_rest() {
  ThreadPool::RunScope fixed_thread_count;
  for (size_t i = split_; i < steps_.size(); ++i) steps_[i].kernel->run();
  for (Backend* b : backends_) b->synchronize();
}

Json Plan::placement_json() const {
  Json steps = Json::array();
  int copies = 0, fallbacks = 0;
  for (const PlacedStep& p : placement_) {
    Json step = Json::object();
    step.set("op", Json::string(p.op)).set("backend", Json::string(p.backend));
    if (p.node >= 0) step.set("node", Json::number(p.node));
    if (!p.fallback.empty()) step.set("fallback", Json::string(p.fallback));
    if (p.constant) step.set("constant", Json::boolean(true));
    steps.push(std::move(step));
    copies += p.node < 0;
    fallbacks += !p.fallback.empty();
  }
  Json out = Json::object();
  out.set("steps", std::move(steps)).set("copies", Json::number(copies)).set("fallbacks", Json::number(fallbacks));
  return out;
}

}  // namespace kiln
