// QDQ models (QuantizeLinear / DequantizeLinear around float ops, as PyTorch
// and onnxruntime's quantizer export them) run their convolutions and matrix
// products in int8: each
//     DequantizeLinear(x_q) -> Conv / MatMul / Gemm (weight: DequantizeLinear
//     of a constant) [-> Relu / Clip(0, 6)] -> QuantizeLinear
// becomes one QLinearConv / QLinearMatMul of Kiln's internal domain (float32
// bias and the activation fused, see ops_integer.cc), so the activations stay
// 8-bit between them and the weights are never dequantized. Patterns that do
// not match run as written; their constant weight DequantizeLinears are
// folded here (the session keeps them unfolded for this pass to see).
// Every integer op with a constant B (fused or written so, like onnxruntime's
// dynamic quantization: MatMulInteger) then gets that B packed once, here.
#include <map>
#include <set>

#include "onnx/graph_optimizer.h"
#include "onnx/int8_weights.h"

namespace kiln {

namespace {

bool is_op(const OnnxNode* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }

const OnnxValue* constant(const OnnxGraphToOptimize& g, const std::string& name) {
  auto it = g.constants->find(name);
  return it == g.constants->end() ? nullptr : &it->second;
}

bool is_8bit(const OnnxValue* v) { return v && is_8bit_tensor(*v); }

// A DequantizeLinear / QuantizeLinear's scale and zero point are constants
// with one element each (per-tensor), or, when `per_axis_ok`, 1-D along `axis` 0.
bool constant_quant_params(const OnnxGraphToOptimize& g, const OnnxNode& n, bool per_axis_ok, int64_t axis) {
  if (n.inputs.size() < 2) return false;
  const OnnxValue* scale = constant(g, n.inputs[1]);
  if (!scale || scale->type() != DataType::kFloat32) return false;
  const OnnxValue* zero = n.inputs.size() > 2 && !n.inputs[2].empty() ? constant(g, n.inputs[2]) : nullptr;
  if (n.inputs.size() > 2 && !n.inputs[2].empty() && !zero) return false;
  if (scale->numel() == 1) return true;
  return per_axis_ok && scale->rank() == 1 && OnnxOpContext(n, g.opset).get_int("axis", 1) == axis;
}

std::string input_or_empty(const OnnxNode& n, size_t i) { return i < n.inputs.size() ? n.inputs[i] : ""; }

// The node reading its constant 8-bit B packed for cpu/gemm_int8.h (an
// internal node with "packed" = 1), or null when B is not constant or does not pack.
const OnnxNode* with_packed_weight(OnnxGraphToOptimize* g, const OnnxNode& n) {
  const bool conv = n.op_type == "ConvInteger" || n.op_type == "QLinearConv";
  const bool matmul = n.op_type == "MatMulInteger" || n.op_type == "QLinearMatMul";
  if ((!conv && !matmul) || (!n.domain.empty() && n.domain != kKilnInternalDomain)) return nullptr;
  const OnnxOpContext ctx(n, g->opset);
  if (ctx.get_int("packed", 0) != 0) return nullptr;
  const size_t wi = n.op_type == "MatMulInteger" || n.op_type == "ConvInteger" ? 1 : 3, zi = wi + 2;
  const OnnxValue* w = constant(*g, input_or_empty(n, wi));
  const std::string zero_name = input_or_empty(n, zi);
  const OnnxValue* zero = zero_name.empty() ? nullptr : constant(*g, zero_name);
  if (!is_8bit(w) || (!zero_name.empty() && !zero)) return nullptr;
  std::vector<int16_t> storage;
  OnnxNode c = clone_onnx_node(n);
  c.domain = kKilnInternalDomain;
  if (matmul) {
    Int8PackedB view;
    const bool trans_b = n.domain == kKilnInternalDomain && ctx.get_int("trans_b", 0) != 0;
    if (w->rank() != 2 || !pack_onnx_int8_matmul_b(ctx, *w, zero, trans_b, &storage, &view).ok()) return nullptr;
    c.attributes.push_back(onnx_int_attr("k", view.k));
    c.attributes.push_back(onnx_int_attr("n", view.n));
  } else {
    if (!widen_onnx_int8_conv_w(ctx, *w, zero, &storage).ok()) return nullptr;
    c.attributes.push_back(onnx_ints_attr("w_shape", w->shape()));
  }
  c.attributes.push_back(onnx_int_attr("packed", 1));
  OnnxValue packed;
  if (!OnnxValue::make_uninitialized(DataType::kInt16, {int64_t(storage.size())}, &packed).ok()) return nullptr;
  std::copy(storage.begin(), storage.end(), packed.data<int16_t>());
  c.inputs[wi] = add_onnx_constant(g, c.inputs[wi] + "#int8_packed", std::move(packed));
  if (zi < c.inputs.size()) c.inputs[zi] = "";
  g->owned->push_back(std::move(c));
  return &g->owned->back();
}

}  // namespace

bool keep_weight_dequantize(const OnnxNode& n, const std::map<std::string, OnnxValue>& constants,
                            const std::map<std::string, std::vector<const OnnxNode*>>& readers) {
  if (!is_op(&n, "DequantizeLinear") || n.inputs.empty() || n.outputs.empty()) return false;
  auto w = constants.find(n.inputs[0]);
  if (w == constants.end() || !is_8bit(&w->second)) return false;
  auto r = readers.find(n.outputs[0]);
  if (r == readers.end()) return false;
  for (const OnnxNode* reader : r->second)
    if ((is_op(reader, "Conv") || is_op(reader, "MatMul") || is_op(reader, "Gemm")) && reader->inputs.size() > 1 &&
        reader->inputs[1] == n.outputs[0])
      return true;
  return false;
}

Status fuse_qdq(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats) {
  std::map<std::string, const OnnxNode*> producer;
  std::map<std::string, std::vector<const OnnxNode*>> readers;
  for (const OnnxNode* n : g->nodes) {
    for (const std::string& o : n->outputs) producer[o] = n;
    for (const std::string& in : n->inputs)
      if (!in.empty()) readers[in].push_back(n);
  }
  auto sole_reader = [&](const std::string& value) -> const OnnxNode* {
    auto it = readers.find(value);
    if (it == readers.end() || it->second.size() != 1 || g->outputs.count(value)) return nullptr;
    return it->second[0];
  };
  auto produced_by = [&](const std::string& value) -> const OnnxNode* {
    auto it = producer.find(value);
    return it == producer.end() ? nullptr : it->second;
  };
  std::map<const OnnxNode*, const OnnxNode*> replaced;  // the op node -> its fused node
  std::set<const OnnxNode*> dropped;
  for (const OnnxNode* n : g->nodes) {
    const bool conv = is_op(n, "Conv"), matmul = is_op(n, "MatMul"), gemm = is_op(n, "Gemm");
    if (!conv && !matmul && !gemm) continue;
    if (n->inputs.size() < 2 || n->outputs.size() != 1) continue;
    const OnnxOpContext op(*n, g->opset);
    if (gemm && (op.get_int("transA", 0) != 0 || op.get_float("alpha", 1) != 1 || op.get_float("beta", 1) != 1)) continue;
    const bool trans_b = gemm && op.get_int("transB", 0) != 0;
    const OnnxNode* dx = produced_by(n->inputs[0]);
    const OnnxNode* dw = produced_by(n->inputs[1]);
    if (!is_op(dx, "DequantizeLinear") || !is_op(dw, "DequantizeLinear")) continue;
    if (constant(*g, dx->inputs[0]) || !constant_quant_params(*g, *dx, false, 0)) continue;
    const OnnxValue* w = constant(*g, dw->inputs[0]);
    // Per-channel weight scales run along the output channels: axis 0 of a
    // Conv filter or a transposed Gemm weight, axis 1 of a MatMul weight.
    if (!is_8bit(w) || (!conv && w->rank() != 2) || !constant_quant_params(*g, *dw, true, conv || trans_b ? 0 : 1))
      continue;
    const std::string bias = input_or_empty(*n, 2);
    if (!bias.empty()) {
      const OnnxValue* b = float_constant(*g, bias);
      if (!b || b->rank() != 1) continue;
    }
    // The float result, through an optional Relu / Relu6, into one QuantizeLinear.
    const OnnxNode* next = sole_reader(n->outputs[0]);
    Activation act = Activation::kLinear;
    const OnnxNode* activation = nullptr;
    if (next && fusable_activation(*g, *next, &act) && (act == Activation::kRelu || act == Activation::kRelu6)) {
      activation = next;
      next = sole_reader(next->outputs[0]);
    } else {
      act = Activation::kLinear;
    }
    if (!is_op(next, "QuantizeLinear") || !constant_quant_params(*g, *next, false, 0)) continue;
    OnnxNode fused;
    fused.name = n->name;
    fused.domain = kKilnInternalDomain;
    fused.op_type = conv ? "QLinearConv" : "QLinearMatMul";
    fused.inputs = {dx->inputs[0], dx->inputs[1], input_or_empty(*dx, 2), dw->inputs[0], dw->inputs[1],
                    input_or_empty(*dw, 2), next->inputs[1], input_or_empty(*next, 2)};
    if (!bias.empty()) fused.inputs.push_back(bias);
    fused.outputs = {next->outputs[0]};
    if (conv) fused.attributes = clone_onnx_node(*n).attributes;  // pads, strides, dilations, group
    fused.attributes.push_back(onnx_int_attr("activation", int64_t(act)));
    if (trans_b) fused.attributes.push_back(onnx_int_attr("trans_b", 1));
    g->owned->push_back(std::move(fused));
    replaced[n] = &g->owned->back();
    if (activation) dropped.insert(activation);
    dropped.insert(next);
    if (sole_reader(dx->outputs[0]) == n) dropped.insert(dx);
    if (sole_reader(dw->outputs[0]) == n) dropped.insert(dw);
    ++stats->qdq_fused;
  }
  // The rest, with constant DequantizeLinears (weights no pattern took) folded.
  std::vector<const OnnxNode*> kept;
  for (const OnnxNode* n : g->nodes) {
    if (dropped.count(n)) continue;
    auto r = replaced.find(n);
    if (r != replaced.end()) n = r->second;
    if (const OnnxNode* packed = with_packed_weight(g, *n)) n = packed;
    if (n->domain == kKilnInternalDomain) {
      kept.push_back(n);
      continue;
    }
    bool all_constant = is_op(n, "DequantizeLinear");
    for (const std::string& in : n->inputs) all_constant = all_constant && (in.empty() || constant(*g, in));
    if (!all_constant) {
      kept.push_back(n);
      continue;
    }
    OnnxInputs ins;
    for (const std::string& in : n->inputs) ins.push_back(in.empty() ? nullptr : constant(*g, in));
    std::vector<OnnxValue> outs(n->outputs.size());
    KILN_RETURN_IF_ERROR(find_onnx_op(n->op_type)->kernel(OnnxOpContext(*n, g->opset), ins, &outs));
    (*g->constants)[n->outputs[0]] = std::move(outs[0]);
  }
  g->nodes = std::move(kept);
  return Status();
}

}  // namespace kiln
