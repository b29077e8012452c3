// Fusions of what transformer exports write out op by op:
//  - LayerNorm: ReduceMean -> Sub -> Pow(2) -> ReduceMean -> Add(eps) -> Sqrt
//    -> Div -> Mul(gamma) -> Add(beta) over the last axis becomes one
//    LayerNormalization (cpu/normalization.h's row kernel);
//  - GELU: Div(x, sqrt 2) -> Erf -> Add(1) -> Mul(x) -> Mul(0.5) becomes one
//    Gelu (the vectorized erf), and GPT-2's tanh form
//    0.5 x (1 + tanh(0.79788 (x + 0.044715 x^3))) one Gelu(approximate = tanh);
//  - MatMul by a constant 2-D B followed by Add of a constant bias row (and a
//    Relu / Relu6 / Sigmoid / Tanh / Gelu) becomes one internal MatMul whose
//    GEMM epilogue adds the bias and applies the activation.
// Each replaced value must have no other reader and not be a graph output.
#include <cmath>
#include <map>
#include <set>

#include "onnx/graph_optimizer.h"

namespace kiln {

namespace {

struct Graph {
  OnnxGraphToOptimize* g;
  std::map<std::string, const OnnxNode*> producer;
  std::map<std::string, std::vector<const OnnxNode*>> readers;

  explicit Graph(OnnxGraphToOptimize* graph) : g(graph) {
    for (const OnnxNode* n : g->nodes) {
      for (const std::string& o : n->outputs) producer[o] = n;
      for (const std::string& in : n->inputs) readers[in].push_back(n);
    }
  }
  // The node of type `op` that writes `value`, or null.
  const OnnxNode* made_by(const std::string& value, const char* op) const {
    auto it = producer.find(value);
    return it != producer.end() && it->second->domain.empty() && it->second->op_type == op ? it->second : nullptr;
  }
  // The only node reading `value` (not a graph output), of type `op`, or null.
  const OnnxNode* only_reader(const std::string& value, const char* op) const {
    auto it = readers.find(value);
    if (it == readers.end() || it->second.size() != 1 || g->outputs.count(value)) return nullptr;
    const OnnxNode* r = it->second[0];
    return r->domain.empty() && r->op_type == op ? r : nullptr;
  }
  bool private_value(const std::string& value, size_t readers_expected) const {
    auto it = readers.find(value);
    return it != readers.end() && it->second.size() == readers_expected && !g->outputs.count(value);
  }
  // A float constant of one element equal to `want` (within tol), or any when want is NaN (returned in *v).
  bool scalar(const std::string& name, double want, double tol, float* v = nullptr) const {
    const OnnxValue* c = float_constant(*g, name);
    if (!c || c->numel() != 1) return false;
    if (v) *v = c->data<float>()[0];
    return std::isnan(want) || std::fabs(c->data<float>()[0] - want) <= tol;
  }
  // The other input of a binary node, given one of them.
  static std::string other(const OnnxNode& n, const std::string& one) {
    if (n.inputs.size() != 2) return "";
    return n.inputs[0] == one ? n.inputs[1] : n.inputs[1] == one ? n.inputs[0] : "";
  }
};

bool reduces_last_axis(const OnnxGraphToOptimize& g, const OnnxNode& n) {
  if (OnnxOpContext(n, g.opset).get_int("keepdims", 1) != 1) return false;
  std::vector<int64_t> axes = OnnxOpContext(n, g.opset).get_ints("axes");
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) {  // opset 18: axes as an input
    auto it = g.constants->find(n.inputs[1]);
    if (it == g.constants->end() || !it->second.to_int64s(&axes).ok()) return false;
  }
  return axes.size() == 1 && axes[0] == -1;
}

// A match: the nodes it replaces and the fused node, placed where `anchor` was.
struct Fusion {
  std::set<const OnnxNode*> gone;
  const OnnxNode* anchor = nullptr;
  OnnxNode fused;
};

// One LayerNorm chain from its first ReduceMean; false when it does not match.
bool fuse_layer_norm(OnnxGraphToOptimize* g, const Graph& G, const OnnxNode* mean, Fusion* f) {
  if (mean->inputs.empty() || !reduces_last_axis(*g, *mean)) return false;
  const std::string x = mean->inputs[0];
  const OnnxNode* sub = G.only_reader(mean->outputs[0], "Sub");
  if (!sub || sub->inputs[0] != x || sub->inputs[1] != mean->outputs[0] || !G.private_value(sub->outputs[0], 2)) return false;
  const OnnxNode *pow = nullptr, *div = nullptr;
  for (const OnnxNode* r : G.readers.at(sub->outputs[0])) {
    if (r->op_type == "Pow" && r->inputs[0] == sub->outputs[0]) pow = r;
    if (r->op_type == "Div" && r->inputs[0] == sub->outputs[0]) div = r;
  }
  if (!pow || !div || !G.scalar(pow->inputs[1], 2.0, 0.0)) return false;
  const OnnxNode* var = G.only_reader(pow->outputs[0], "ReduceMean");
  if (!var || !reduces_last_axis(*g, *var)) return false;
  const OnnxNode* add_eps = G.only_reader(var->outputs[0], "Add");
  float eps = 0;
  if (!add_eps || !G.scalar(Graph::other(*add_eps, var->outputs[0]), NAN, 0, &eps) || !(eps > 0)) return false;
  const OnnxNode* sqrt = G.only_reader(add_eps->outputs[0], "Sqrt");
  if (!sqrt || G.only_reader(sqrt->outputs[0], "Div") != div || div->inputs[1] != sqrt->outputs[0]) return false;
  const OnnxNode* mul = G.only_reader(div->outputs[0], "Mul");
  if (!mul) return false;
  const std::string gamma = Graph::other(*mul, div->outputs[0]);
  const OnnxNode* add = G.only_reader(mul->outputs[0], "Add");
  if (!add) return false;
  const std::string beta = Graph::other(*add, mul->outputs[0]);
  const OnnxValue *gv = float_constant(*g, gamma), *bv = float_constant(*g, beta);
  if (!gv || !bv || gv->rank() != 1 || bv->shape() != gv->shape()) return false;
  OnnxNode ln;
  ln.name = mean->name;
  ln.op_type = "LayerNormalization";
  ln.domain = kKilnInternalDomain;  // the standard kernel, whatever opset the model imports
  ln.inputs = {x, gamma, beta};
  ln.outputs = {add->outputs[0]};
  ln.attributes = onnx_attrs(onnx_int_attr("axis", -1), onnx_float_attr("epsilon", eps));
  *f = {{mean, sub, pow, var, add_eps, sqrt, div, mul, add}, mean, std::move(ln)};
  return true;
}

OnnxNode gelu_node(const std::string& name, const std::string& x, const std::string& y, const char* approximate) {
  OnnxNode gelu;
  gelu.name = name, gelu.op_type = "Gelu", gelu.domain = kKilnInternalDomain;
  gelu.inputs = {x}, gelu.outputs = {y};
  gelu.attributes = onnx_attrs(onnx_string_attr("approximate", approximate));
  return gelu;
}

// One GELU from its Erf; false when it does not match.
bool fuse_gelu(OnnxGraphToOptimize*, const Graph& G, const OnnxNode* erf, Fusion* f) {
  const OnnxNode* div = erf->inputs.empty() ? nullptr : G.made_by(erf->inputs[0], "Div");
  if (!div || !G.private_value(div->outputs[0], 1) || !G.scalar(div->inputs[1], std::sqrt(2.0), 1e-4)) return false;
  const std::string x = div->inputs[0];
  const OnnxNode* add = G.only_reader(erf->outputs[0], "Add");
  if (!add || !G.scalar(Graph::other(*add, erf->outputs[0]), 1.0, 0.0)) return false;
  const OnnxNode* mul_x = G.only_reader(add->outputs[0], "Mul");
  if (!mul_x || Graph::other(*mul_x, add->outputs[0]) != x) return false;
  const OnnxNode* half = G.only_reader(mul_x->outputs[0], "Mul");
  if (!half || !G.scalar(Graph::other(*half, mul_x->outputs[0]), 0.5, 0.0)) return false;
  *f = {{div, erf, add, mul_x, half}, div, gelu_node(erf->name, x, half->outputs[0], "none")};
  return true;
}

// GPT-2's tanh GELU from its Tanh; false when it does not match.
bool fuse_gelu_tanh(OnnxGraphToOptimize*, const Graph& G, const OnnxNode* tanh, Fusion* f) {
  const OnnxNode* scale = tanh->inputs.empty() ? nullptr : G.made_by(tanh->inputs[0], "Mul");
  if (!scale || !G.private_value(scale->outputs[0], 1)) return false;
  const OnnxNode* sum = nullptr;
  for (const std::string& in : scale->inputs)
    if (G.scalar(Graph::other(*scale, in), 0.7978845608, 1e-5)) sum = G.made_by(in, "Add");
  if (!sum || !G.private_value(sum->outputs[0], 1)) return false;
  const OnnxNode *cube_scale = nullptr, *cube = nullptr;
  std::string x;
  for (const std::string& in : sum->inputs) {
    const OnnxNode* m = G.made_by(in, "Mul");
    if (!m || !G.private_value(in, 1)) continue;
    for (const std::string& min : m->inputs) {
      const OnnxNode* p = G.made_by(min, "Pow");
      if (p && G.private_value(min, 1) && G.scalar(Graph::other(*m, min), 0.044715, 1e-6) && G.scalar(p->inputs[1], 3.0, 0.0) &&
          p->inputs[0] == Graph::other(*sum, in))
        cube_scale = m, cube = p, x = p->inputs[0];
    }
  }
  if (!cube) return false;
  const OnnxNode* add1 = G.only_reader(tanh->outputs[0], "Add");
  if (!add1 || !G.scalar(Graph::other(*add1, tanh->outputs[0]), 1.0, 0.0)) return false;
  const OnnxNode* product = G.only_reader(add1->outputs[0], "Mul");
  if (!product) return false;
  const OnnxNode* half = G.made_by(Graph::other(*product, add1->outputs[0]), "Mul");
  if (!half || !G.private_value(half->outputs[0], 1) || Graph::other(*half, x).empty() || !G.scalar(Graph::other(*half, x), 0.5, 0.0))
    return false;
  *f = {{half, cube, cube_scale, sum, scale, tanh, add1, product}, product, gelu_node(tanh->name, x, product->outputs[0], "tanh")};
  return true;
}

// MatMul(a, constant B [k, n]) + bias [n] (+ activation); false when it does not match.
bool fuse_matmul_bias(OnnxGraphToOptimize* g, const Graph& G, const OnnxNode* mm, Fusion* f) {
  if (mm->inputs.size() != 2) return false;
  const OnnxValue* b = float_constant(*g, mm->inputs[1]);
  if (!b || b->rank() != 2) return false;
  const OnnxNode* add = G.only_reader(mm->outputs[0], "Add");
  if (!add) return false;
  const std::string bias = Graph::other(*add, mm->outputs[0]);
  const OnnxValue* bv = float_constant(*g, bias);
  if (!bv || bv->numel() != b->shape()[1] || bv->rank() < 1 || bv->shape().back() != b->shape()[1]) return false;
  for (size_t d = 0; d + 1 < bv->shape().size(); ++d)
    if (bv->shape()[d] != 1) return false;
  std::string out = add->outputs[0];
  std::set<const OnnxNode*> gone = {mm, add};
  Activation act = Activation::kLinear;
  auto it = G.readers.find(out);
  if (it != G.readers.end() && it->second.size() == 1 && !g->outputs.count(out)) {
    const OnnxNode* next = it->second[0];
    if (fusable_activation(*g, *next, &act)) {
      gone.insert(next), out = next->outputs[0];
    } else if (next->domain == kKilnInternalDomain && next->op_type == "Gelu" &&
               OnnxOpContext(*next, g->opset).get_string("approximate", "none") == "none") {
      act = Activation::kGelu;
      gone.insert(next), out = next->outputs[0];
    } else {
      act = Activation::kLinear;
    }
  }
  OnnxNode fused = clone_onnx_node(*mm);
  fused.domain = kKilnInternalDomain;
  fused.inputs = {mm->inputs[0], mm->inputs[1], bv->rank() == 1 ? bias : add_onnx_constant(g, bias + "#row", bv->reshaped({bv->numel()}))};
  fused.outputs = {out};
  fused.attributes.push_back(onnx_int_attr("activation", int64_t(act)));
  *f = {std::move(gone), mm, std::move(fused)};
  return true;
}

// Fuses every match of `fuse` starting at a node of type `op` (matches never
// share nodes: each starts where the last one's nodes end), in one rebuild.
template <typename Fuse>
int fuse_all(OnnxGraphToOptimize* g, const char* op, Fuse fuse) {
  const Graph G(g);
  std::vector<Fusion> fusions;
  std::set<const OnnxNode*> taken;
  std::map<const OnnxNode*, size_t> anchors;
  for (const OnnxNode* n : g->nodes) {
    if (n->op_type != op || !n->domain.empty() || taken.count(n)) continue;
    Fusion f;
    if (!fuse(g, G, n, &f)) continue;
    bool overlaps = false;
    for (const OnnxNode* x : f.gone) overlaps = overlaps || taken.count(x) > 0;
    if (overlaps) continue;
    taken.insert(f.gone.begin(), f.gone.end());
    anchors[f.anchor] = fusions.size();
    fusions.push_back(std::move(f));
  }
  if (fusions.empty()) return 0;
  std::vector<const OnnxNode*> kept;
  for (const OnnxNode* n : g->nodes) {
    auto a = anchors.find(n);
    if (a != anchors.end()) {
      g->owned->push_back(std::move(fusions[a->second].fused));
      kept.push_back(&g->owned->back());
    } else if (!taken.count(n)) {
      kept.push_back(n);
    }
  }
  g->nodes = std::move(kept);
  return int(fusions.size());
}

}  // namespace

void fuse_transformer_patterns(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats) {
  stats->transformer_fused += fuse_all(g, "ReduceMean", fuse_layer_norm);
  stats->transformer_fused += fuse_all(g, "Erf", fuse_gelu);
  stats->transformer_fused += fuse_all(g, "Tanh", fuse_gelu_tanh);
  stats->transformer_fused += fuse_all(g, "MatMul", fuse_matmul_bias);
}

}  // namespace kiln
