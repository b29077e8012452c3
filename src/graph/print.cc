#include "graph/print.h"

#include <vector>

namespace kiln {

namespace {
std::string ref(int id) { return id < 0 ? "_" : "%" + std::to_string(id); }

std::string typed_shape(const Value& v) { return dtype_name(v.dtype) + shape_to_string(v.shape); }

// The op's name and the attributes that matter for it.
std::string op_text(const Node& n) {
  std::string s = n.impl ? (n.op == OpKind::kOpGrad ? n.impl->name() + "Grad" : n.impl->name()) : op_name(n.op);
  switch (n.op) {
    case OpKind::kGemm:
      if (n.trans_a) s += " trans_a";
      if (n.trans_b) s += " trans_b";
      if (n.act != Activation::kLinear) s += std::string(" ") + activation_name(n.act);
      break;
    case OpKind::kActivation:
    case OpKind::kActivationGrad: s += std::string(" ") + activation_name(n.act); break;
    case OpKind::kLoss:
    case OpKind::kLossGrad:
    case OpKind::kMetric:
      s += std::string(" ") + loss_name(n.loss);
      if (n.from_logits) s += " from_logits";
      if (n.op == OpKind::kMetric) s += std::string(" ") + metric_name(n.metric);
      break;
    default: break;
  }
  return s;
}
}  // namespace

std::string value_to_string(const Graph& g, int id) {
  if (id < 0 || size_t(id) >= g.values().size()) return ref(id) + ": ?";
  return ref(id) + ": " + typed_shape(g.values()[size_t(id)]);
}

std::string node_to_string(const Graph& g, const Node& n) {
  std::string outs;
  for (int o : node_outputs(n)) outs += (outs.empty() ? "" : ", ") + ref(o);
  std::string ins;
  for (int i : n.inputs) ins += (ins.empty() ? "" : ", ") + ref(i);
  std::string s = (outs.empty() ? "" : outs + " = ") + op_text(n) + "(" + ins + ")";
  std::string types;
  for (int o : node_outputs(n))
    if (o >= 0 && size_t(o) < g.values().size()) types += (types.empty() ? "" : ", ") + typed_shape(g.values()[size_t(o)]);
  return types.empty() ? s : s + " : " + types;
}

std::string graph_to_string(const Graph& g) {
  std::string s;
  for (size_t v = 0; v < g.values().size(); ++v) {
    const Value& val = g.values()[v];
    if (val.kind == ValueKind::kTemp) continue;
    s += ref(int(v)) + " = " + (val.kind == ValueKind::kInput ? "input" : "external") + " \"" + val.name + "\" " + typed_shape(val) +
         (val.requires_grad ? " trainable" : "") + "\n";
  }
  for (const Node& n : g.nodes()) s += node_to_string(g, n) + "\n";
  return s;
}

}  // namespace kiln
