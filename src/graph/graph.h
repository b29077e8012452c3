// The graph IR: typed values and op nodes, with static shape inference done as
// each node is added, so a wrong shape is reported where it is made.
// graph/verify.h checks a graph's invariants, graph/print.h prints it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/activation.h"
#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"
#include "graph/op.h"
#include "train/loss.h"
#include "train/optimizer.h"

namespace kiln {

enum class ValueKind : uint8_t {
  kInput,     // fed before each run (lives in the plan's arena)
  kExternal,  // parameters and optimizer slots, owned outside the plan
  kTemp,      // produced by a node (arena, reused once dead)
};

struct Value {
  Shape shape;
  ValueKind kind = ValueKind::kTemp;
  std::string name;
  bool requires_grad = false;
  // The element type; every op of today's set computes in float32 (verify_graph checks it).
  DataType dtype = DataType::kFloat32;
};

enum class OpKind : uint8_t {
  kGemm,           // out = act(op(A) op(B) + bias); inputs A, B[, bias]
  kActivation,     // act(x) as its own node: row-wise ones, and those whose gradient needs x
  kActivationGrad, // inputs y (or x, see activation_grad_needs_input), dy: dz = dy * act'(x)
  kBiasGrad,       // input dz [rows, cols]: db = column sums
  kAdd,            // elementwise sum of two same-shape values (gradient fan-in)
  kLoss,           // inputs prediction (or logits when fused), target -> [1]
  kLossGrad,       // same inputs -> d loss / d first input
  kMetric,         // inputs prediction, target -> [2] the metric's ratio (metric_ratio)
  kOptimizerTick,  // advances the optimizer's step counter
  kUpdate,         // inputs param, grad[, slot0[, slot1]]: in-place optimizer step
  kOp,             // a layer-level Op (graph/op.h): inputs -> outputs (results, then saved tensors)
  kOpGrad,         // its backward: inputs = forward inputs, forward outputs, d results -> d inputs
};
const char* op_name(OpKind op);

struct Node {
  OpKind op;
  std::vector<int> inputs;
  int output = -1;  // -1 for in-place nodes (updates)
  // Attributes (only those of `op` matter).
  bool trans_a = false, trans_b = false;
  Activation act = Activation::kLinear;
  LossKind loss = LossKind::kMeanSquaredError;
  bool from_logits = false;
  Metric metric = Metric::kAccuracy;
  OpPtr impl;                // kOp, kOpGrad
  std::vector<int> outputs;  // kOp, kOpGrad (entries may be -1 for gradients not wanted)
  int num_forward_inputs = 0;  // kOpGrad
};

// Every value a node writes (output, or the outputs list).
std::vector<int> node_outputs(const Node& n);

class Graph {
 public:
  int add_input(Shape shape, std::string name);
  int add_external(Shape shape, std::string name, bool requires_grad);

  // Each adder infers the output shape and returns its value id via `out`.
  Status gemm(int a, int b, int bias, bool trans_a, bool trans_b, Activation act, int* out);
  Status activation(int x, Activation act, int* out);
  // `from`: the activation's output, or its input where activation_grad_needs_input(act).
  Status activation_grad(int from, int dy, Activation act, int* out);
  Status bias_grad(int dz, int* out);
  Status add(int x, int y, int* out);
  Status loss(int pred, int target, LossKind kind, bool from_logits, int* out);
  Status loss_grad(int pred, int target, LossKind kind, bool from_logits, int* out);
  Status metric(int pred, int target, LossKind kind, Metric metric, int* out);
  void optimizer_tick();
  Status update(int param, int grad, const std::vector<int>& slots);
  // Appends a layer-level op; `outputs` gets its results (saved tensors are
  // internal to the graph).
  Status op(OpPtr impl, const std::vector<int>& inputs, std::vector<int>* outputs);
  // Single-result convenience.
  Status op(OpPtr impl, const std::vector<int>& inputs, int* out);
  // A same-element-count view with another shape (copied; cheap next to the ops around it).
  Status reshape(int x, Shape shape, int* out);
  // A value of zeros shaped like `like` (gradient of an unused result).
  Status zeros_like(int like, int* out);

  // Low-level: a temporary for a gradient, and appending a prepared node (autodiff).
  int add_grad_temp(Shape shape) { return new_temp(std::move(shape), false); }
  void push_node(Node node) { nodes_.push_back(std::move(node)); }
  // For rewriting passes (src/passes): a new temporary, and the node list replaced.
  int add_temp(Shape shape) { return new_temp(std::move(shape), false); }
  void set_nodes(std::vector<Node> nodes) { nodes_ = std::move(nodes); }

  const std::vector<Value>& values() const { return values_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  Value& value(int id) { return values_[size_t(id)]; }

  // Drops nodes whose outputs nothing uses, keeping those that write
  // `roots` or have side effects (updates, ticks).
  void eliminate_dead_nodes(const std::vector<int>& roots);

 private:
  int new_temp(Shape shape, bool requires_grad);
  Status add_loss_node(OpKind op, int pred, int target, LossKind kind, bool from_logits, int* out);
  std::vector<Value> values_;
  std::vector<Node> nodes_;
};

// Reverse-mode autodiff: appends to `g` the nodes computing d(seed)/d(v) for
// every value v that requires a gradient, where `seed_grad` holds d loss /
// d `seed`. grads[v] is the gradient's value id, or -1 when none.
Status append_backward(Graph& g, int seed, int seed_grad, std::vector<int>* grads);
// The same from several seeds at once (one per model output).
Status append_backward(Graph& g, const std::vector<std::pair<int, int>>& seeds, std::vector<int>* grads);

}  // namespace kiln
