#include "graph/verify.h"

#include <string>
#include <vector>

#include "graph/print.h"

namespace kiln {

namespace {
Status node_error(const Graph& g, size_t i, const std::string& what) {
  return Status::error("graph verification: node " + std::to_string(i) + " (" + node_to_string(g, g.nodes()[i]) + "): " + what);
}
}  // namespace

Status verify_graph(const Graph& g) {
  const std::vector<Value>& values = g.values();
  std::vector<bool> defined(values.size(), false);
  for (size_t v = 0; v < values.size(); ++v) {
    defined[v] = values[v].kind != ValueKind::kTemp;
    // Every kernel of today's op set computes in float32; typed ops declare more.
    if (values[v].dtype != DataType::kFloat32)
      return Status::error("graph verification: value %" + std::to_string(v) + " is " + dtype_name(values[v].dtype) +
                           "; the graph's ops compute in float32 only");
  }
  const std::vector<Node>& nodes = g.nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    for (int in : n.inputs) {
      if (in < 0 || size_t(in) >= values.size()) return node_error(g, i, "reads value " + std::to_string(in) + ", which does not exist");
      if (!defined[size_t(in)]) return node_error(g, i, "reads %" + std::to_string(in) + " before any node writes it");
    }
    if (n.op == OpKind::kUpdate && (n.inputs.empty() || values[size_t(n.inputs[0])].kind != ValueKind::kExternal))
      return node_error(g, i, "updates a value that is not a parameter");
    for (int out : node_outputs(n)) {
      if (out < 0) continue;  // a gradient nothing wants
      if (size_t(out) >= values.size()) return node_error(g, i, "writes value " + std::to_string(out) + ", which does not exist");
      if (values[size_t(out)].kind != ValueKind::kTemp) return node_error(g, i, "writes %" + std::to_string(out) + ", an input or parameter");
      if (defined[size_t(out)]) return node_error(g, i, "writes %" + std::to_string(out) + ", which an earlier node wrote");
      defined[size_t(out)] = true;
    }
    if (n.op == OpKind::kOp) {
      std::vector<Shape> in_shapes, out_shapes;
      for (int in : n.inputs) in_shapes.push_back(values[size_t(in)].shape);
      const Status st = n.impl->infer(in_shapes, &out_shapes);
      if (!st.ok()) return node_error(g, i, st.message());
      if (out_shapes.size() != n.outputs.size()) return node_error(g, i, "its op gives " + std::to_string(out_shapes.size()) + " outputs");
      for (size_t k = 0; k < out_shapes.size(); ++k)
        if (n.outputs[k] >= 0 && values[size_t(n.outputs[k])].shape != out_shapes[k])
          return node_error(g, i, "output " + std::to_string(k) + " holds " + shape_to_string(values[size_t(n.outputs[k])].shape) +
                                      " but its op infers " + shape_to_string(out_shapes[k]));
    }
  }
  return Status();
}

}  // namespace kiln
