#include "backends/host_backend.h"

#include <cstring>

namespace kiln {

int64_t HostBackend::workspace_bytes(const Node& node, const std::vector<Shape>& in, const std::vector<Shape>& out) const {
  return op_workspace_floats(node, in, out) * int64_t(sizeof(float));
}

void HostBackend::upload(const TensorAddress& dst, const void* src, int64_t bytes) {
  std::memcpy(dst.host(), src, size_t(bytes));
}

void HostBackend::download_async(const TensorAddress& src, void* dst, int64_t bytes) {
  std::memcpy(dst, src.host(), size_t(bytes));
}

std::function<void()> scalar_step(const StepBinding& s) {
  const Node& n = *s.node;
  const float* x = s.inputs[0].host();
  const float* y = s.inputs.size() > 1 ? s.inputs[1].host() : nullptr;
  float* out = s.outputs[0].host();
  const int64_t rows = s.input_shapes[0][0], cols = s.input_shapes[0].size() > 1 ? s.input_shapes[0][1] : 1;
  switch (n.op) {
    case OpKind::kAdd:
      return [x, y, out, count = shape_numel(s.output_shapes[0])] {
        for (int64_t i = 0; i < count; ++i) out[i] = x[i] + y[i];
      };
    case OpKind::kLoss: return [n, x, y, out, rows, cols] { out[0] = loss_forward(n.loss, n.from_logits, x, y, rows, cols); };
    case OpKind::kLossGrad: return [n, x, y, out, rows, cols] { loss_backward(n.loss, n.from_logits, x, y, out, rows, cols); };
    case OpKind::kMetric: return [n, x, y, out, rows, cols] { metric_ratio(n.metric, n.loss, x, y, rows, cols, out); };
    default: return nullptr;
  }
}

GemmArgs gemm_node_shape(const Node& node, const Shape& a, const Shape& b, const Shape& out) {
  GemmArgs g;
  g.trans_a = node.trans_a;
  g.trans_b = node.trans_b;
  g.m = out[0];
  g.n = out[1];
  g.k = g.trans_a ? a[0] : a[1];
  g.lda = a[1];
  g.ldb = b[1];
  g.ldc = g.n;
  g.act = node.act;
  return g;
}

GemmArgs gemm_step_args(const StepBinding& s) {
  GemmArgs g = gemm_node_shape(*s.node, s.input_shapes[0], s.input_shapes[1], s.output_shapes[0]);
  g.a = s.inputs[0].host();
  g.b = s.inputs[1].host();
  g.c = s.outputs[0].host();
  g.bias = s.inputs.size() > 2 ? s.inputs[2].host() : nullptr;
  g.scratch = {s.workspace.host(), s.workspace_bytes / int64_t(sizeof(float))};
  return g;
}

OpForwardArgs op_forward_args(const StepBinding& s) {
  OpForwardArgs a;
  for (const TensorAddress& t : s.inputs) a.in.push_back(t.host());
  a.in_shapes = s.input_shapes;
  for (const TensorAddress& t : s.outputs) a.out.push_back(t.host());
  a.out_shapes = s.output_shapes;
  a.rng = s.context ? s.context->rng : nullptr;
  a.workspace = s.workspace.host();
  a.workspace_floats = s.workspace_bytes / int64_t(sizeof(float));
  return a;
}

OpBackwardArgs op_backward_args(const StepBinding& s) {
  OpBackwardArgs b;
  const Node& n = *s.node;
  const size_t nin = size_t(n.num_forward_inputs), nres = size_t(n.impl->num_results());
  const size_t nout = s.inputs.size() - nin - nres;
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    if (i < nin) {
      b.in.push_back(s.inputs[i].host());
      b.in_shapes.push_back(s.input_shapes[i]);
    } else if (i < nin + nout) {
      b.out.push_back(s.inputs[i].host());
      b.out_shapes.push_back(s.input_shapes[i]);
    } else {
      b.dout.push_back(s.inputs[i].host());
    }
  }
  for (const TensorAddress& t : s.outputs) b.din.push_back(t.host());
  b.workspace = s.workspace.host();
  b.workspace_floats = s.workspace_bytes / int64_t(sizeof(float));
  return b;
}

int64_t op_workspace_floats(const Node& n, const std::vector<Shape>& in, const std::vector<Shape>& out) {
  if (n.op == OpKind::kOp) return n.impl->forward_workspace_floats(in, out);
  if (n.op != OpKind::kOpGrad) return 0;
  const size_t nin = size_t(n.num_forward_inputs), nres = size_t(n.impl->num_results());
  std::vector<Shape> fin(in.begin(), in.begin() + long(nin)), fout(in.begin() + long(nin), in.end() - long(nres));
  return n.impl->backward_workspace_floats(fin, fout);
}

}  // namespace kiln
