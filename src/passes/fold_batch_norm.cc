#include "passes/fold_batch_norm.h"

#include <memory>

#include "ops/batch_norm_fold.h"
#include "ops/conv2d_op.h"
#include "ops/normalization_op.h"
#include "ops/reshape.h"

namespace kiln {

namespace {

// How many times each value is read (roots count as a read).
std::vector<int> use_counts(const Graph& g, const std::vector<int>& roots) {
  std::vector<int> uses(g.values().size(), 0);
  for (const Node& n : g.nodes())
    for (int in : n.inputs) ++uses[size_t(in)];
  for (int r : roots) uses[size_t(r)] += 2;  // never folded away
  return uses;
}

// The node reading `value`, when exactly one node reads it once.
int sole_reader(const Graph& g, const std::vector<int>& uses, int value) {
  if (uses[size_t(value)] != 1) return -1;
  for (size_t j = 0; j < g.nodes().size(); ++j)
    for (int in : g.nodes()[j].inputs)
      if (in == value) return int(j);
  return -1;
}

bool is_op(const Node& n, const char* name) { return n.op == OpKind::kOp && n.impl && n.impl->name() == name; }
bool is_reshape(const Node& n) { return is_op(n, "Reshape") && n.outputs.size() == 1; }

}  // namespace

int fold_batch_norms(Graph& g, const std::vector<int>& roots) {
  const std::vector<int> uses = use_counts(g, roots);
  std::vector<Node> nodes = g.nodes();
  std::vector<bool> removed(nodes.size(), false);
  std::vector<std::pair<size_t, Node>> inserted;  // fold nodes, placed before the conv at index first
  int folded = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    Node& conv = nodes[i];
    // Ops are told apart by name: the wasm build has no RTTI.
    const auto* c = is_op(conv, "Conv2D") ? static_cast<const Conv2DOp*>(conv.impl.get()) : nullptr;
    if (!c || c->attrs().transpose || c->attrs().act != Activation::kLinear || conv.outputs.size() != 1) continue;
    const int bn_index = sole_reader(g, uses, conv.outputs[0]);
    if (bn_index < 0) continue;
    const Node& bn_node = nodes[size_t(bn_index)];
    const auto* bn = is_op(bn_node, "BatchNormalization") ? static_cast<const BatchNormOp*>(bn_node.impl.get()) : nullptr;
    if (!bn || bn->training() || bn_node.inputs[0] != conv.outputs[0]) continue;

    const bool has_bias = conv.inputs.size() > 2;
    Node fold{OpKind::kOp, {conv.inputs[1]}};
    if (has_bias) fold.inputs.push_back(conv.inputs[2]);
    fold.inputs.insert(fold.inputs.end(), bn_node.inputs.begin() + 1, bn_node.inputs.end());
    fold.impl = std::make_shared<BatchNormFoldOp>(has_bias, bn->has_gamma(), bn->has_beta(), bn->eps());
    const int64_t filters = c->attrs().filters;
    fold.outputs = {g.add_temp(g.values()[size_t(conv.inputs[1])].shape), g.add_temp({filters})};

    Conv2DAttrs attrs = c->attrs();
    int out = bn_node.outputs[0];
    removed[size_t(bn_index)] = true;
    // An elementwise activation that alone reads the batch norm's output moves
    // into the conv's epilogue. Activation nodes work on matrices, so a layer's
    // activation is a reshape to [rows, channels], the activation, and a
    // reshape back (two copies): all three go.
    const int flat = sole_reader(g, uses, out);
    const int act = flat >= 0 && is_reshape(nodes[size_t(flat)]) ? sole_reader(g, uses, nodes[size_t(flat)].outputs[0]) : -1;
    const int back = act >= 0 && nodes[size_t(act)].op == OpKind::kActivation && !activation_is_rowwise(nodes[size_t(act)].act)
                         ? sole_reader(g, uses, nodes[size_t(act)].output)
                         : -1;
    if (back >= 0 && is_reshape(nodes[size_t(back)]) &&
        g.values()[size_t(nodes[size_t(back)].outputs[0])].shape == g.values()[size_t(out)].shape) {
      attrs.act = nodes[size_t(act)].act;
      out = nodes[size_t(back)].outputs[0];
      for (int k : {flat, act, back}) removed[size_t(k)] = true;
    }
    conv.inputs = {conv.inputs[0], fold.outputs[0], fold.outputs[1]};
    conv.impl = std::make_shared<Conv2DOp>(attrs);
    conv.outputs = {out};
    inserted.push_back({i, std::move(fold)});
    ++folded;
  }
  if (folded == 0) return 0;
  std::vector<Node> rewritten;
  size_t next = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (; next < inserted.size() && inserted[next].first == i; ++next) rewritten.push_back(std::move(inserted[next].second));
    if (!removed[i]) rewritten.push_back(std::move(nodes[i]));
  }
  g.set_nodes(std::move(rewritten));
  return folded;
}

}  // namespace kiln
