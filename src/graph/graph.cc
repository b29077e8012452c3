#include "graph/graph.h"

#include <algorithm>

#include "ops/reshape.h"

namespace kiln {

const char* op_name(OpKind op) {
  switch (op) {
    case OpKind::kGemm: return "Gemm";
    case OpKind::kActivation: return "Activation";
    case OpKind::kActivationGrad: return "ActivationGrad";
    case OpKind::kBiasGrad: return "BiasGrad";
    case OpKind::kAdd: return "Add";
    case OpKind::kLoss: return "Loss";
    case OpKind::kLossGrad: return "LossGrad";
    case OpKind::kMetric: return "Metric";
    case OpKind::kOptimizerTick: return "OptimizerTick";
    case OpKind::kUpdate: return "Update";
    case OpKind::kOp: return "Op";
    case OpKind::kOpGrad: return "OpGrad";
  }
  return "?";
}

std::vector<int> node_outputs(const Node& n) {
  if (n.op == OpKind::kOp || n.op == OpKind::kOpGrad) return n.outputs;
  if (n.output >= 0) return {n.output};
  return {};
}

namespace {
Status shape_error(const char* op, const std::string& what, const Shape& a, const Shape& b) {
  return Status::error(std::string(op) + ": " + what + " (got " + shape_to_string(a) + " and " +
                       shape_to_string(b) + ")");
}
bool is_matrix(const Shape& s) { return s.size() == 2; }
}  // namespace

int Graph::add_input(Shape shape, std::string name) {
  values_.push_back({std::move(shape), ValueKind::kInput, std::move(name), false});
  return int(values_.size()) - 1;
}

int Graph::add_external(Shape shape, std::string name, bool requires_grad) {
  values_.push_back({std::move(shape), ValueKind::kExternal, std::move(name), requires_grad});
  return int(values_.size()) - 1;
}

int Graph::new_temp(Shape shape, bool requires_grad) {
  values_.push_back({std::move(shape), ValueKind::kTemp, "", requires_grad});
  return int(values_.size()) - 1;
}

Status Graph::gemm(int a, int b, int bias, bool trans_a, bool trans_b, Activation act, int* out) {
  const Shape &sa = value(a).shape, &sb = value(b).shape;
  if (!is_matrix(sa) || !is_matrix(sb)) return shape_error("Gemm", "inputs must be matrices", sa, sb);
  if (activation_is_rowwise(act)) return Status::error(std::string("Gemm: ") + activation_name(act) + " is not an elementwise epilogue");
  int64_t m = trans_a ? sa[1] : sa[0], ka = trans_a ? sa[0] : sa[1];
  int64_t kb = trans_b ? sb[1] : sb[0], n = trans_b ? sb[0] : sb[1];
  if (ka != kb) return shape_error("Gemm", "inner dimensions differ", sa, sb);
  if (bias >= 0 && value(bias).shape != Shape{n})
    return shape_error("Gemm", "bias must have one value per output column", value(bias).shape, {n});
  bool rg = value(a).requires_grad || value(b).requires_grad || (bias >= 0 && value(bias).requires_grad);
  Node node{OpKind::kGemm, {a, b}};
  if (bias >= 0) node.inputs.push_back(bias);
  node.trans_a = trans_a;
  node.trans_b = trans_b;
  node.act = act;
  node.output = *out = new_temp({m, n}, rg);
  nodes_.push_back(node);
  return Status();
}

Status Graph::activation(int x, Activation act, int* out) {
  if (!is_matrix(value(x).shape)) return Status::error("Activation: input must be a matrix, got " + shape_to_string(value(x).shape));
  Node node{OpKind::kActivation, {x}};
  node.act = act;
  node.output = *out = new_temp(value(x).shape, value(x).requires_grad);
  nodes_.push_back(node);
  return Status();
}

Status Graph::activation_grad(int from, int dy, Activation act, int* out) {
  if (value(from).shape != value(dy).shape) return shape_error("ActivationGrad", "y and dy differ", value(from).shape, value(dy).shape);
  Node node{OpKind::kActivationGrad, {from, dy}};
  node.act = act;
  node.output = *out = new_temp(value(from).shape, false);
  nodes_.push_back(node);
  return Status();
}

Status Graph::bias_grad(int dz, int* out) {
  const Shape& s = value(dz).shape;
  if (!is_matrix(s)) return Status::error("BiasGrad: input must be a matrix, got " + shape_to_string(s));
  Node node{OpKind::kBiasGrad, {dz}};
  node.output = *out = new_temp({s[1]}, false);
  nodes_.push_back(node);
  return Status();
}

Status Graph::add(int x, int y, int* out) {
  if (value(x).shape != value(y).shape) return shape_error("Add", "shapes differ", value(x).shape, value(y).shape);
  Node node{OpKind::kAdd, {x, y}};
  node.output = *out = new_temp(value(x).shape, false);
  nodes_.push_back(node);
  return Status();
}

static Status check_loss_inputs(const char* op, const Shape& p, const Shape& t, LossKind kind) {
  if (!is_matrix(p)) return Status::error(std::string(op) + ": prediction must be [batch, units], got " + shape_to_string(p));
  if (loss_is_sparse(kind)) {
    if (t != Shape{p[0]} && t != Shape{p[0], 1})
      return shape_error(op, "sparse targets must be [batch] or [batch, 1] class indices", p, t);
  } else if (t != p) {
    return shape_error(op, std::string(loss_name(kind)) + " needs targets shaped like the predictions", p, t);
  }
  return Status();
}

Status Graph::loss(int pred, int target, LossKind kind, bool from_logits, int* out) {
  return add_loss_node(OpKind::kLoss, pred, target, kind, from_logits, out);
}

Status Graph::loss_grad(int pred, int target, LossKind kind, bool from_logits, int* out) {
  return add_loss_node(OpKind::kLossGrad, pred, target, kind, from_logits, out);
}

// Loss: a [1] scalar that carries requires_grad; LossGrad: d/d pred, shaped like pred.
Status Graph::add_loss_node(OpKind op, int pred, int target, LossKind kind, bool from_logits, int* out) {
  KILN_RETURN_IF_ERROR(check_loss_inputs(op_name(op), value(pred).shape, value(target).shape, kind));
  Node node{op, {pred, target}};
  node.loss = kind;
  node.from_logits = from_logits;
  const bool is_loss = op == OpKind::kLoss;
  node.output = *out = new_temp(is_loss ? Shape{1} : value(pred).shape, is_loss && value(pred).requires_grad);
  nodes_.push_back(node);
  return Status();
}

Status Graph::metric(int pred, int target, LossKind kind, Metric metric, int* out) {
  KILN_RETURN_IF_ERROR(check_loss_inputs("Metric", value(pred).shape, value(target).shape, kind));
  if (!metric_fits_loss(metric, kind))
    return Status::error(std::string("metric ") + metric_name(metric) + " does not fit the loss " + loss_name(kind) +
                         (loss_is_sparse(kind) ? " (its targets are class indices)" : " (its targets are not class indices)"));
  Node node{OpKind::kMetric, {pred, target}};
  node.loss = kind;
  node.metric = metric;
  node.output = *out = new_temp({2}, false);
  nodes_.push_back(node);
  return Status();
}

void Graph::optimizer_tick() { nodes_.push_back(Node{OpKind::kOptimizerTick, {}}); }

Status Graph::update(int param, int grad, const std::vector<int>& slots) {
  if (value(param).shape != value(grad).shape)
    return shape_error("Update", "parameter and gradient differ", value(param).shape, value(grad).shape);
  Node node{OpKind::kUpdate, {param, grad}};
  for (int s : slots) {
    if (value(s).shape != value(param).shape) return shape_error("Update", "optimizer slot differs from parameter", value(s).shape, value(param).shape);
    node.inputs.push_back(s);
  }
  nodes_.push_back(node);
  return Status();
}

Status Graph::op(OpPtr impl, const std::vector<int>& inputs, std::vector<int>* outputs) {
  std::vector<Shape> in_shapes;
  bool rg = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] < 0 || size_t(inputs[i]) >= values_.size()) return Status::error(impl->name() + ": bad input value");
    in_shapes.push_back(value(inputs[i]).shape);
    rg = rg || (value(inputs[i]).requires_grad && impl->differentiable(int(i)));
  }
  std::vector<Shape> out_shapes;
  KILN_RETURN_IF_ERROR(impl->infer(in_shapes, &out_shapes));
  if (int(out_shapes.size()) < impl->num_results()) return Status::error(impl->name() + ": shape inference gave too few outputs");
  Node node{OpKind::kOp, inputs};
  for (size_t i = 0; i < out_shapes.size(); ++i) {
    if (shape_numel(out_shapes[i]) < 0) return Status::error(impl->name() + ": output shape " + shape_to_string(out_shapes[i]) + " is too large");
    node.outputs.push_back(new_temp(out_shapes[i], rg && int(i) < impl->num_results()));
  }
  outputs->assign(node.outputs.begin(), node.outputs.begin() + impl->num_results());
  node.impl = std::move(impl);
  nodes_.push_back(std::move(node));
  return Status();
}

Status Graph::op(OpPtr impl, const std::vector<int>& inputs, int* out) {
  std::vector<int> outs;
  KILN_RETURN_IF_ERROR(op(std::move(impl), inputs, &outs));
  *out = outs.at(0);
  return Status();
}

Status Graph::reshape(int x, Shape shape, int* out) {
  if (value(x).shape == shape) {
    *out = x;
    return Status();
  }
  return op(std::make_shared<ReshapeOp>(std::move(shape)), {x}, out);
}

Status Graph::zeros_like(int like, int* out) { return op(std::make_shared<ZerosLikeOp>(), {like}, out); }

void Graph::eliminate_dead_nodes(const std::vector<int>& roots) {
  std::vector<bool> live(values_.size(), false);
  for (int r : roots) live[size_t(r)] = true;
  std::vector<bool> keep(nodes_.size(), false);
  for (size_t i = nodes_.size(); i-- > 0;) {
    const Node& n = nodes_[i];
    const std::vector<int> outs = node_outputs(n);
    keep[i] = outs.empty() || (n.impl && n.op == OpKind::kOp && n.impl->has_side_effects());
    for (int o : outs) keep[i] = keep[i] || (o >= 0 && live[size_t(o)]);
    if (keep[i])
      for (int in : n.inputs) live[size_t(in)] = true;
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (keep[i]) kept.push_back(nodes_[i]);
  nodes_.swap(kept);
}

// Adds `contribution` into grads[v], summing when a value feeds several nodes.
static Status accumulate_grad(Graph& g, std::vector<int>& grads, int v, int contribution) {
  if (grads[size_t(v)] < 0) {
    grads[size_t(v)] = contribution;
    return Status();
  }
  int sum;
  KILN_RETURN_IF_ERROR(g.add(grads[size_t(v)], contribution, &sum));
  grads[size_t(v)] = sum;
  return Status();
}

// A layer-level op's backward: one OpGrad node reading the forward inputs,
// the forward outputs (saved tensors included) and each result's gradient
// (zeros for results nothing used), writing the gradient of every input that
// needs one.
static Status append_op_backward(Graph& g, const Node& node, std::vector<int>& grads) {
  const int results = node.impl->num_results();
  bool any = false;
  for (int r = 0; r < results; ++r)
    any = any || (grads[size_t(node.outputs[size_t(r)])] >= 0 && g.values()[size_t(node.outputs[size_t(r)])].requires_grad);
  if (!any) return Status();
  Node grad{OpKind::kOpGrad, node.inputs};
  grad.impl = node.impl;
  grad.num_forward_inputs = int(node.inputs.size());
  for (int o : node.outputs) grad.inputs.push_back(o);
  for (int r = 0; r < results; ++r) {
    int dy = grads[size_t(node.outputs[size_t(r)])];
    if (dy < 0) KILN_RETURN_IF_ERROR(g.zeros_like(node.outputs[size_t(r)], &dy));
    grad.inputs.push_back(dy);
  }
  std::vector<int> din(node.inputs.size(), -1);
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const int x = node.inputs[i];
    if (!g.values()[size_t(x)].requires_grad || !node.impl->differentiable(int(i))) continue;
    din[i] = g.add_grad_temp(g.values()[size_t(x)].shape);
  }
  grad.outputs = din;
  g.push_node(std::move(grad));
  grads.resize(g.values().size(), -1);
  for (size_t i = 0; i < din.size(); ++i)
    if (din[i] >= 0) KILN_RETURN_IF_ERROR(accumulate_grad(g, grads, node.inputs[i], din[i]));
  return Status();
}

Status append_backward(Graph& g, int seed, int seed_grad, std::vector<int>* grads_out) {
  return append_backward(g, {{seed, seed_grad}}, grads_out);
}

Status append_backward(Graph& g, const std::vector<std::pair<int, int>>& seeds, std::vector<int>* grads_out) {
  std::vector<int> grads(g.values().size(), -1);
  for (const auto& s : seeds) KILN_RETURN_IF_ERROR(accumulate_grad(g, grads, s.first, s.second));
  const size_t forward_nodes = g.nodes().size();
  for (size_t i = forward_nodes; i-- > 0;) {
    const Node node = g.nodes()[i];  // copy: adding nodes reallocates
    if (node.op == OpKind::kOp) {
      grads.resize(g.values().size(), -1);
      KILN_RETURN_IF_ERROR(append_op_backward(g, node, grads));
      continue;
    }
    if (node.output < 0) continue;
    const int dy = grads[size_t(node.output)];
    if (dy < 0 || !g.values()[size_t(node.output)].requires_grad) continue;
    grads.resize(g.values().size(), -1);
    switch (node.op) {
      case OpKind::kGemm: {
        if (node.trans_a || node.trans_b) return Status::error("autodiff: Gemm with transposed inputs has no gradient rule");
        int a = node.inputs[0], b = node.inputs[1];
        if (activation_grad_needs_input(node.act))
          return Status::error(std::string("autodiff: a Gemm epilogue cannot give the gradient of ") + activation_name(node.act) +
                               " (it needs the input): use a separate Activation node");
        int dz = dy;
        if (node.act != Activation::kLinear) KILN_RETURN_IF_ERROR(g.activation_grad(node.output, dy, node.act, &dz));
        int tmp;
        if (g.values()[size_t(b)].requires_grad) {
          KILN_RETURN_IF_ERROR(g.gemm(a, dz, -1, true, false, Activation::kLinear, &tmp));  // A^T dZ
          grads.resize(g.values().size(), -1);
          KILN_RETURN_IF_ERROR(accumulate_grad(g, grads, b, tmp));
        }
        if (node.inputs.size() > 2 && g.values()[size_t(node.inputs[2])].requires_grad) {
          KILN_RETURN_IF_ERROR(g.bias_grad(dz, &tmp));
          grads.resize(g.values().size(), -1);
          KILN_RETURN_IF_ERROR(accumulate_grad(g, grads, node.inputs[2], tmp));
        }
        if (g.values()[size_t(a)].requires_grad) {
          KILN_RETURN_IF_ERROR(g.gemm(dz, b, -1, false, true, Activation::kLinear, &tmp));  // dZ B^T
          grads.resize(g.values().size(), -1);
          KILN_RETURN_IF_ERROR(accumulate_grad(g, grads, a, tmp));
        }
        break;
      }
      case OpKind::kActivation: {
        int dx;
        const int from = activation_grad_needs_input(node.act) ? node.inputs[0] : node.output;
        KILN_RETURN_IF_ERROR(g.activation_grad(from, dy, node.act, &dx));
        grads.resize(g.values().size(), -1);
        KILN_RETURN_IF_ERROR(accumulate_grad(g, grads, node.inputs[0], dx));
        break;
      }
      default:
        return Status::error(std::string("autodiff: no gradient rule for ") + op_name(node.op));
    }
  }
  grads.resize(g.values().size(), -1);
  *grads_out = grads;
  return Status();
}

}  // namespace kiln
