#include "graph/plan.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/thread_pool.h"
#include "cpu/activation.h"
#include "cpu/gemm.h"

namespace kiln {

void AlignedFree::operator()(float* p) const { std::free(p); }

Status Plan::compile(const Graph& graph, const std::vector<float*>& externals, const OptimizerConfig* opt,
                     int64_t* step, std::unique_ptr<Plan>* out, Rng* rng) {
  const auto& values = graph.values();
  const auto& nodes = graph.nodes();
  auto plan = std::make_unique<Plan>();
  plan->opt_ = opt;
  plan->step_ = step;

  // Lifetimes: inputs live from the start; every other arena value from the
  // step that writes it to the last step that reads it (or the end, if no
  // step reads it: it is a result the caller reads back).
  const int end = int(nodes.size());
  std::vector<std::pair<int, int>> life(values.size(), {-1, -1});
  std::vector<int64_t> bytes(values.size(), 0);
  for (size_t v = 0; v < values.size(); ++v) {
    int64_t numel = shape_numel(values[v].shape);
    if (numel < 0) return Status::error("plan: value " + std::to_string(v) + " has an invalid shape " + shape_to_string(values[v].shape));
    bytes[v] = numel * int64_t(sizeof(float));
    if (values[v].kind == ValueKind::kInput) life[v] = {0, end};
  }
  std::vector<bool> read(values.size(), false);
  for (int i = 0; i < end; ++i) {
    const Node& n = nodes[size_t(i)];
    for (int in : n.inputs) {
      if (values[size_t(in)].kind == ValueKind::kExternal) continue;
      if (life[size_t(in)].first < 0) return Status::error(std::string("plan: ") + op_name(n.op) + " reads a value no earlier step writes");
      life[size_t(in)].second = std::max(life[size_t(in)].second, i);
      read[size_t(in)] = true;
    }
    for (int o : node_outputs(n))
      if (o >= 0) life[size_t(o)] = {i, i};
  }
  for (size_t v = 0; v < values.size(); ++v) {
    if (values[v].kind == ValueKind::kTemp && life[v].first >= 0 && !read[v]) life[v].second = end;
    if (life[v].first >= 0) plan->unplanned_bytes_ += bytes[v];
  }

  // One workspace region after the values, the largest any step asks for:
  // steps run one at a time, so they share it.
  int64_t workspace_floats = 0;
  for (const Node& n : nodes) {
    if (n.op != OpKind::kOp && n.op != OpKind::kOpGrad) continue;
    std::vector<Shape> in, out;
    for (size_t i = 0; i < n.inputs.size(); ++i) in.push_back(values[size_t(n.inputs[i])].shape);
    if (n.op == OpKind::kOp) {
      for (int o : n.outputs) out.push_back(values[size_t(o)].shape);
      workspace_floats = std::max(workspace_floats, n.impl->forward_workspace_floats(in, out));
    } else {  // the forward's inputs, then its outputs (saved tensors included), then the results' gradients
      const size_t nin = size_t(n.num_forward_inputs), nres = size_t(n.impl->num_results());
      std::vector<Shape> fin(in.begin(), in.begin() + long(nin)), fout(in.begin() + long(nin), in.end() - long(nres));
      workspace_floats = std::max(workspace_floats, n.impl->backward_workspace_floats(fin, fout));
    }
  }
  if (workspace_floats < 0) return Status::error("plan: a workspace size overflowed");

  std::vector<int64_t> offsets;
  const int64_t values_bytes = (plan_memory(bytes, life, &offsets) + 63) / 64 * 64;
  plan->arena_bytes_ = values_bytes + workspace_floats * int64_t(sizeof(float));
  void* arena = nullptr;
  if (plan->arena_bytes_ > 0 && (uint64_t(plan->arena_bytes_) > uint64_t(SIZE_MAX) ||  // wasm32: no wrap-around
                                 posix_memalign(&arena, 64, size_t(plan->arena_bytes_)) != 0))
    return Status::error("out of memory: the execution plan needs an arena of " + std::to_string(plan->arena_bytes_) + " bytes");
  plan->arena_.reset(static_cast<float*>(arena));
  if (arena) std::memset(arena, 0, size_t(plan->arena_bytes_));

  plan->buffers_.assign(values.size(), nullptr);
  for (size_t v = 0; v < values.size(); ++v) {
    if (values[v].kind == ValueKind::kExternal) {
      if (v >= externals.size() || !externals[v]) return Status::error("plan: external value '" + values[v].name + "' has no storage");
      plan->buffers_[v] = externals[v];
    } else if (offsets[v] >= 0) {
      plan->buffers_[v] = reinterpret_cast<float*>(static_cast<char*>(arena) + offsets[v]);
    }
  }
  float* workspace = workspace_floats > 0 ? reinterpret_cast<float*>(static_cast<char*>(arena) + values_bytes) : nullptr;
  for (const Node& n : nodes) {
    if ((n.op == OpKind::kUpdate || n.op == OpKind::kOptimizerTick) && (!opt || !step))
      return Status::error("plan: the graph updates parameters but no optimizer was given");
    PlanStep s;
    s.node = n;
    for (int in : n.inputs) {
      s.inputs.push_back(plan->buffers_[size_t(in)]);
      s.input_shapes.push_back(values[size_t(in)].shape);
    }
    if (n.output >= 0) {
      s.output = plan->buffers_[size_t(n.output)];
      s.output_shape = values[size_t(n.output)].shape;
    }
    if (n.op == OpKind::kOp) {
      s.forward.in.assign(s.inputs.begin(), s.inputs.end());
      s.forward.in_shapes = s.input_shapes;
      s.forward.rng = rng;
      s.forward.workspace = workspace;
      for (int o : n.outputs) {
        s.forward.out.push_back(plan->buffers_[size_t(o)]);
        s.forward.out_shapes.push_back(values[size_t(o)].shape);
      }
    } else if (n.op == OpKind::kOpGrad) {
      OpBackwardArgs& b = s.backward;
      const size_t nin = size_t(n.num_forward_inputs), nres = size_t(n.impl->num_results());
      const size_t nout = n.inputs.size() - nin - nres;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        if (i < nin) {
          b.in.push_back(s.inputs[i]);
          b.in_shapes.push_back(s.input_shapes[i]);
        } else if (i < nin + nout) {
          b.out.push_back(s.inputs[i]);
          b.out_shapes.push_back(s.input_shapes[i]);
        } else {
          b.dout.push_back(s.inputs[i]);
        }
      }
      for (int o : n.outputs) b.din.push_back(o >= 0 ? plan->buffers_[size_t(o)] : nullptr);
      b.workspace = workspace;
    }
    if (n.op == OpKind::kUpdate) {
      plan->update_grads_.push_back(s.inputs[1]);
      plan->update_sizes_.push_back(shape_numel(s.input_shapes[1]));
    }
    plan->steps_.push_back(std::move(s));
  }
  *out = std::move(plan);
  return Status();
}

namespace {

void run_gemm(const PlanStep& s) {
  GemmArgs g;
  const Shape &sa = s.input_shapes[0], &sb = s.input_shapes[1];
  g.trans_a = s.node.trans_a;
  g.trans_b = s.node.trans_b;
  g.m = s.output_shape[0];
  g.n = s.output_shape[1];
  g.k = g.trans_a ? sa[0] : sa[1];
  g.a = s.inputs[0];
  g.lda = sa[1];
  g.b = s.inputs[1];
  g.ldb = sb[1];
  g.c = s.output;
  g.ldc = g.n;
  g.bias = s.inputs.size() > 2 ? s.inputs[2] : nullptr;
  g.act = s.node.act;
  gemm(g);
}

void run_bias_grad(const PlanStep& s) {
  const int64_t rows = s.input_shapes[0][0], cols = s.input_shapes[0][1];
  const float* dz = s.inputs[0];
  parallel_range(cols, 64, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) s.output[c] = 0.0f;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = c0; c < c1; ++c) s.output[c] += dz[r * cols + c];
  });
}

void run_activation(const PlanStep& s) {
  const int64_t rows = s.output_shape[0], cols = s.output_shape[1];
  parallel_range(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, cols)), [&](int64_t r0, int64_t r1) {
    float* out = s.output + r0 * cols;
    std::memcpy(out, s.inputs[0] + r0 * cols, size_t((r1 - r0) * cols) * sizeof(float));
    if (activation_is_rowwise(s.node.act)) rowwise_forward(s.node.act, out, r1 - r0, cols);
    else activation_forward(s.node.act, out, (r1 - r0) * cols);
  });
}

void run_activation_grad(const PlanStep& s) {
  const int64_t rows = s.output_shape[0], cols = shape_numel(s.output_shape) / std::max<int64_t>(1, rows);
  parallel_range(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, cols)), [&](int64_t r0, int64_t r1) {
    const int64_t off = r0 * cols;
    if (activation_is_rowwise(s.node.act))
      rowwise_backward(s.node.act, s.inputs[0] + off, s.inputs[1] + off, s.output + off, r1 - r0, cols);
    else
      activation_backward(s.node.act, s.inputs[0] + off, s.inputs[1] + off, s.output + off, (r1 - r0) * cols);
  });
}

}  // namespace

void Plan::run() {
  for (const PlanStep& s : steps_) {
    switch (s.node.op) {
      case OpKind::kGemm: run_gemm(s); break;
      case OpKind::kActivation: run_activation(s); break;
      case OpKind::kActivationGrad: run_activation_grad(s); break;
      case OpKind::kBiasGrad: run_bias_grad(s); break;
      case OpKind::kAdd:
        for (int64_t i = 0, n = shape_numel(s.output_shape); i < n; ++i) s.output[i] = s.inputs[0][i] + s.inputs[1][i];
        break;
      case OpKind::kLoss:
        s.output[0] = loss_forward(s.node.loss, s.node.from_logits, s.inputs[0], s.inputs[1], s.input_shapes[0][0],
                                   s.input_shapes[0][1]);
        break;
      case OpKind::kLossGrad:
        loss_backward(s.node.loss, s.node.from_logits, s.inputs[0], s.inputs[1], s.output, s.input_shapes[0][0],
                      s.input_shapes[0][1]);
        break;
      case OpKind::kMetric:
        metric_ratio(s.node.metric, s.node.loss, s.inputs[0], s.inputs[1], s.input_shapes[0][0], s.input_shapes[0][1], s.output);
        break;
      case OpKind::kOptimizerTick:
        ++*step_;
        grad_scale_ = optimizer_global_clip_scale(*opt_, update_grads_, update_sizes_);
        break;
      case OpKind::kUpdate:
        optimizer_update(*opt_, *step_, grad_scale_, s.inputs[0], s.inputs[1], s.inputs.data() + 2,
                         shape_numel(s.input_shapes[0]));
        break;
      case OpKind::kOp: s.node.impl->forward(s.forward); break;
      case OpKind::kOpGrad: s.node.impl->backward(s.backward); break;
    }
  }
}

}  // namespace kiln
