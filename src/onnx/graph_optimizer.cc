#include "onnx/graph_optimizer.h"
#include "onnx/kernel_util.h"

#include <algorithm>
#include <cmath>

namespace kiln {

OnnxNode clone_onnx_node(const OnnxNode& n) {
  OnnxNode c;
  c.name = n.name, c.op_type = n.op_type, c.domain = n.domain;
  c.inputs = n.inputs, c.outputs = n.outputs;
  for (const OnnxAttribute& a : n.attributes) {
    OnnxAttribute b;
    b.name = a.name, b.type = a.type, b.ref_attr_name = a.ref_attr_name;
    b.f = a.f, b.i = a.i, b.s = a.s, b.t = a.t;
    b.floats = a.floats, b.ints = a.ints, b.strings = a.strings, b.tensors = a.tensors;
    c.attributes.push_back(std::move(b));
  }
  return c;
}

std::map<std::string, int> count_onnx_readers(const std::vector<const OnnxNode*>& nodes) {
  std::map<std::string, int> readers;
  for (const OnnxNode* n : nodes)
    for (const std::string& in : n->inputs)
      if (!in.empty()) ++readers[in];
  return readers;
}

int reader_count(const std::map<std::string, int>& readers, const std::string& name) {
  auto it = readers.find(name);
  return it == readers.end() ? 0 : it->second;
}

const OnnxValue* float_constant(const OnnxGraphToOptimize& g, const std::string& name) {
  auto it = g.constants->find(name);
  if (it == g.constants->end() || it->second.type() != DataType::kFloat32) return nullptr;
  return &it->second;
}

bool fusable_activation(const OnnxGraphToOptimize& g, const OnnxNode& n, Activation* out) {
  if (!n.domain.empty() || n.inputs.empty() || n.outputs.size() != 1) return false;
  if (n.op_type == "Relu") *out = Activation::kRelu;
  else if (n.op_type == "Sigmoid") *out = Activation::kSigmoid;
  else if (n.op_type == "Tanh") *out = Activation::kTanh;
  else if (n.op_type != "Clip") return false;
  if (n.op_type != "Clip") return true;
  // Clip(0, 6) is relu6; its bounds are attributes before opset 11, inputs after.
  const OnnxOpContext ctx(n, g.opset);
  double lo = ctx.get_float("min", -INFINITY), hi = ctx.get_float("max", INFINITY);
  if (g.opset >= 11) {
    auto bound = [&](size_t i, double* v) {
      if (i >= n.inputs.size() || n.inputs[i].empty()) return false;
      const OnnxValue* c = float_constant(g, n.inputs[i]);
      if (!c || c->numel() != 1) return false;
      *v = c->data<float>()[0];
      return true;
    };
    if (!bound(1, &lo) || !bound(2, &hi)) return false;
  }
  if (lo != 0 || hi != 6) return false;
  *out = Activation::kRelu6;
  return true;
}

bool batch_norm_as_affine(const OnnxGraphToOptimize& g, const OnnxNode& bn, int64_t channels,
                          std::vector<double>* scale, std::vector<double>* shift) {
  if (bn.inputs.size() != 5 || bn.outputs.empty()) return false;
  for (size_t k = 1; k < bn.outputs.size(); ++k)
    if (!bn.outputs[k].empty()) return false;  // training-mode statistics are read
  const OnnxOpContext ctx(bn, g.opset);
  if (ctx.get_int("training_mode", 0) != 0 || ctx.get_int("spatial", 1) != 1) return false;
  const OnnxValue* p[4];  // gamma, beta, mean, var
  for (size_t i = 0; i < 4; ++i) {
    p[i] = float_constant(g, bn.inputs[i + 1]);
    if (!p[i] || p[i]->numel() != channels) return false;
  }
  const double eps = ctx.get_float("epsilon", 1e-5f);
  scale->resize(size_t(channels)), shift->resize(size_t(channels));
  for (int64_t k = 0; k < channels; ++k) {
    const double s = double(p[0]->data<float>()[k]) / std::sqrt(double(p[3]->data<float>()[k]) + eps);
    (*scale)[size_t(k)] = s;
    (*shift)[size_t(k)] = double(p[1]->data<float>()[k]) - double(p[2]->data<float>()[k]) * s;
  }
  return true;
}

std::string fresh_onnx_name(OnnxGraphToOptimize* g, const std::string& base) {
  std::string name = base;
  for (int k = 1; g->names.count(name) || g->constants->count(name); ++k) name = base + "#" + std::to_string(k);
  g->names.insert(name);
  return name;
}

std::string add_onnx_constant(OnnxGraphToOptimize* g, const std::string& base, OnnxValue v) {
  const std::string name = fresh_onnx_name(g, base);
  (*g->constants)[name] = std::move(v);
  return name;
}

namespace {

// A Pad that adds nothing (PyTorch exports one before some average pools).
bool pads_are_zero(const OnnxGraphToOptimize& g, const OnnxNode& n) {
  std::vector<int64_t> pads = OnnxOpContext(n, g.opset).get_ints("pads");
  if (g.opset >= 11) {
    auto it = n.inputs.size() > 1 ? g.constants->find(n.inputs[1]) : g.constants->end();
    if (it == g.constants->end() || !it->second.to_int64s(&pads).ok()) return false;
  }
  if (pads.empty()) return false;
  for (int64_t p : pads)
    if (p != 0) return false;
  return true;
}

bool is_removable_identity(const OnnxGraphToOptimize& g, const OnnxNode& n) {
  if (!n.domain.empty() || n.inputs.empty() || n.inputs[0].empty() || n.outputs.empty()) return false;
  for (size_t k = 1; k < n.outputs.size(); ++k)
    if (!n.outputs[k].empty()) return false;  // Dropout's mask is read
  if (n.op_type == "Identity") return true;
  if (n.op_type == "Transpose") {  // an explicit identity permutation
    const std::vector<int64_t> perm = OnnxOpContext(n, g.opset).get_ints("perm");
    for (size_t i = 0; i < perm.size(); ++i)
      if (perm[i] != int64_t(i)) return false;
    return !perm.empty();
  }
  if (n.op_type == "Pad") return pads_are_zero(g, n);
  if (n.op_type != "Dropout") return false;
  if (g.opset < 12 || n.inputs.size() < 3 || n.inputs[2].empty()) return true;  // inference: a copy
  auto it = g.constants->find(n.inputs[2]);
  return it != g.constants->end() && it->second.numel() == 1 && onnx_element_as_double(it->second, 0) == 0;
}

// Drops Identity / inference Dropout nodes; readers of their outputs read the input.
void remove_identities(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats) {
  std::map<std::string, std::string> renamed;
  std::vector<const OnnxNode*> kept;
  for (const OnnxNode* n : g->nodes) {
    bool changed = false;
    for (const std::string& in : n->inputs) changed |= renamed.count(in) > 0;
    if (changed) {
      OnnxNode c = clone_onnx_node(*n);
      for (std::string& in : c.inputs)
        if (renamed.count(in)) in = renamed[in];
      g->owned->push_back(std::move(c));
      n = &g->owned->back();
    }
    if (is_removable_identity(*g, *n) && !g->outputs.count(n->outputs[0])) {
      renamed[n->outputs[0]] = n->inputs[0];
      ++stats->noops_removed;
      continue;
    }
    kept.push_back(n);
  }
  g->nodes = std::move(kept);
}

// Two Transposes that cancel, and a Reshape-like node whose only reader is a
// Reshape to a fixed shape: the first node's work is undone or redone, so
// the pair becomes nothing (transposes) or the second alone (reshapes).
void remove_layout_noops(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats) {
  static const std::set<std::string> kReshapeLike = {"Reshape", "Flatten", "Squeeze", "Unsqueeze"};
  const std::map<std::string, int> readers = count_onnx_readers(g->nodes);
  std::map<std::string, const OnnxNode*> producer;
  std::map<std::string, std::string> renamed;
  std::set<const OnnxNode*> dropped;
  std::vector<const OnnxNode*> kept;
  auto cancels = [&](const OnnxNode& first, const OnnxNode& second) {
    const std::vector<int64_t> p1 = OnnxOpContext(first, g->opset).get_ints("perm"),
                               p2 = OnnxOpContext(second, g->opset).get_ints("perm");
    if (p1.empty() || p1.size() != p2.size()) return false;
    for (size_t i = 0; i < p2.size(); ++i)
      if (p2[i] < 0 || p2[i] >= int64_t(p1.size()) || p1[size_t(p2[i])] != int64_t(i)) return false;
    return true;
  };
  auto fixed_shape = [&](const OnnxNode& reshape) {  // no 0 entries copying the input's dims
    std::vector<int64_t> shape;
    auto it = reshape.inputs.size() > 1 ? g->constants->find(reshape.inputs[1]) : g->constants->end();
    if (it == g->constants->end() || !it->second.to_int64s(&shape).ok()) return false;
    return OnnxOpContext(reshape, g->opset).get_int("allowzero", 0) != 0 ||
           std::find(shape.begin(), shape.end(), 0) == shape.end();
  };
  for (const OnnxNode* n : g->nodes) {
    if (std::any_of(n->inputs.begin(), n->inputs.end(), [&](const std::string& in) { return renamed.count(in) > 0; })) {
      OnnxNode c = clone_onnx_node(*n);
      for (std::string& in : c.inputs)
        if (renamed.count(in)) in = renamed[in];
      g->owned->push_back(std::move(c));
      n = &g->owned->back();
    }
    auto pit = n->inputs.empty() ? producer.end() : producer.find(n->inputs[0]);
    const OnnxNode* p = pit == producer.end() ? nullptr : pit->second;
    const bool sole_reader = p && p->domain.empty() && n->domain.empty() && reader_count(readers, n->inputs[0]) == 1 &&
                             !g->outputs.count(n->inputs[0]);
    if (sole_reader && n->op_type == "Transpose" && p->op_type == "Transpose" && cancels(*p, *n) &&
        !g->outputs.count(n->outputs[0])) {
      dropped.insert(p);
      renamed[n->outputs[0]] = p->inputs[0];
      stats->noops_removed += 2;
      continue;
    }
    if (sole_reader && n->op_type == "Reshape" && kReshapeLike.count(p->op_type) && fixed_shape(*n)) {
      OnnxNode c = clone_onnx_node(*n);
      c.inputs[0] = p->inputs[0];
      g->owned->push_back(std::move(c));
      n = &g->owned->back();
      dropped.insert(p);
      ++stats->noops_removed;
    }
    kept.push_back(n);
    for (const std::string& o : n->outputs) producer[o] = n;
  }
  g->nodes.clear();
  for (const OnnxNode* n : kept)
    if (!dropped.count(n)) g->nodes.push_back(n);
}

// Conv -> BatchNormalization (inference, constant parameters, the conv's only
// reader) becomes one Conv: W'[m] = W[m] * scale[m], B' = B * scale + shift.
void fold_conv_batch_norm(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats) {
  const std::map<std::string, int> readers = count_onnx_readers(g->nodes);
  std::map<std::string, const OnnxNode*> producer;
  std::set<const OnnxNode*> folded;
  std::map<const OnnxNode*, const OnnxNode*> replacement;  // BN node -> folded conv
  for (const OnnxNode* n : g->nodes)
    for (const std::string& o : n->outputs) producer[o] = n;
  for (const OnnxNode* bn : g->nodes) {
    if (!bn->domain.empty() || bn->op_type != "BatchNormalization" || bn->inputs.empty()) continue;
    auto pit = producer.find(bn->inputs[0]);
    if (pit == producer.end()) continue;
    const OnnxNode* conv = pit->second;
    if (!conv->domain.empty() || conv->op_type != "Conv" || conv->outputs.size() != 1 || conv->inputs.size() < 2) continue;
    if (reader_count(readers, conv->outputs[0]) != 1 || g->outputs.count(conv->outputs[0])) continue;
    const OnnxValue* w = float_constant(*g, conv->inputs[1]);
    const bool has_bias = conv->inputs.size() > 2 && !conv->inputs[2].empty();
    const OnnxValue* b = has_bias ? float_constant(*g, conv->inputs[2]) : nullptr;
    if (!w || w->rank() < 3 || (has_bias && !b)) continue;
    const int64_t m = w->shape()[0];
    std::vector<double> scale, shift;
    if ((b && b->numel() != m) || !batch_norm_as_affine(*g, *bn, m, &scale, &shift)) continue;
    OnnxValue nw, nb;
    OnnxValue::make(DataType::kFloat32, w->shape(), &nw);
    OnnxValue::make(DataType::kFloat32, {m}, &nb);
    const int64_t per = w->numel() / m;
    for (int64_t o = 0; o < m; ++o) {
      for (int64_t i = 0; i < per; ++i) nw.data<float>()[o * per + i] = float(double(w->data<float>()[o * per + i]) * scale[size_t(o)]);
      nb.data<float>()[o] = float((b ? double(b->data<float>()[o]) : 0.0) * scale[size_t(o)] + shift[size_t(o)]);
    }
    OnnxNode c = clone_onnx_node(*conv);
    c.inputs.resize(3);
    if (reader_count(readers, conv->inputs[1]) == 1 && !g->outputs.count(conv->inputs[1])) g->constants->erase(conv->inputs[1]);
    c.inputs[1] = add_onnx_constant(g, conv->inputs[1] + "#bn", std::move(nw));
    c.inputs[2] = add_onnx_constant(g, conv->outputs[0] + "#bias", std::move(nb));
    c.outputs[0] = bn->outputs[0];
    g->owned->push_back(std::move(c));
    folded.insert(conv);
    replacement[bn] = &g->owned->back();
    ++stats->batch_norms_folded;
  }
  std::vector<const OnnxNode*> kept;
  for (const OnnxNode* n : g->nodes) {
    if (folded.count(n)) continue;
    auto r = replacement.find(n);
    kept.push_back(r == replacement.end() ? n : r->second);
  }
  g->nodes = std::move(kept);
}

// Gemm with transB and a constant B (PyTorch's Linear) gets B transposed once
// at load: gemm() then streams B's rows at batch 1 and packs it with plain
// copies at larger batches, instead of gathering a column per element.
void pretranspose_gemm_weights(OnnxGraphToOptimize* g) {
  const std::map<std::string, int> readers = count_onnx_readers(g->nodes);
  for (const OnnxNode*& n : g->nodes) {
    if (!n->domain.empty() || n->op_type != "Gemm" || n->inputs.size() < 2) continue;
    const OnnxOpContext ctx(*n, g->opset);
    const OnnxValue* b = float_constant(*g, n->inputs[1]);
    if (ctx.get_int("transB", 0) == 0 || !b || b->rank() != 2) continue;
    const int64_t rows = b->shape()[0], cols = b->shape()[1];
    OnnxValue t;
    if (!OnnxValue::make(DataType::kFloat32, {cols, rows}, &t).ok()) continue;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) t.data<float>()[j * rows + i] = b->data<float>()[i * cols + j];
    OnnxNode c = clone_onnx_node(*n);
    for (OnnxAttribute& a : c.attributes)
      if (a.name == "transB") a.i = 0;
    if (reader_count(readers, n->inputs[1]) == 1 && !g->outputs.count(n->inputs[1])) g->constants->erase(n->inputs[1]);
    c.inputs[1] = add_onnx_constant(g, n->inputs[1] + "#t", std::move(t));
    g->owned->push_back(std::move(c));
    n = &g->owned->back();
  }
}

// Gemm -> Relu / Clip(0, 6) / Sigmoid / Tanh becomes one internal Gemm whose
// epilogue applies the activation.
void fuse_gemm_activation(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats) {
  const std::map<std::string, int> readers = count_onnx_readers(g->nodes);
  std::vector<const OnnxNode*> kept;
  for (size_t i = 0; i < g->nodes.size(); ++i) {
    const OnnxNode* n = g->nodes[i];
    Activation act;
    if (n->domain.empty() && n->op_type == "Gemm" && n->outputs.size() == 1 && i + 1 < g->nodes.size() &&
        !g->outputs.count(n->outputs[0]) && reader_count(readers, n->outputs[0]) == 1 &&
        fusable_activation(*g, *g->nodes[i + 1], &act) && g->nodes[i + 1]->inputs[0] == n->outputs[0]) {
      OnnxNode c = clone_onnx_node(*n);
      c.domain = kKilnInternalDomain;
      c.outputs[0] = g->nodes[i + 1]->outputs[0];
      c.attributes.push_back(onnx_int_attr("activation", int64_t(act)));
      g->owned->push_back(std::move(c));
      kept.push_back(&g->owned->back());
      ++i;
      ++stats->activations_fused;
      continue;
    }
    kept.push_back(n);
  }
  g->nodes = std::move(kept);
}

}  // namespace

Status optimize_onnx_graph(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats) {
  for (const OnnxNode* n : g->nodes) {
    g->names.insert(n->inputs.begin(), n->inputs.end());
    g->names.insert(n->outputs.begin(), n->outputs.end());
  }
  g->names.insert(g->outputs.begin(), g->outputs.end());
  KILN_RETURN_IF_ERROR(fuse_qdq(g, stats));
  remove_identities(g, stats);
  remove_layout_noops(g, stats);
  fuse_transformer_patterns(g, stats);
  fold_conv_batch_norm(g, stats);
  pretranspose_gemm_weights(g);
  fuse_gemm_activation(g, stats);
  KILN_RETURN_IF_ERROR(convert_to_nhwc(g, stats));
  // The layout pass restores NCHW where a reader needs it; where that reader
  // was itself a Transpose back to NHWC (imported TF graphs), the pair cancels.
  remove_layout_noops(g, stats);
  return Status();
}

}  // namespace kiln
