// The channels-last pass of the graph optimizer. ONNX images are NCHW; Kiln's
// fast conv and pool kernels are NHWC. Converting at every Conv (what the
// plain Conv kernel does) costs three transposes per node; instead this pass
// gives each value produced by a rewritten node an NHWC twin ("<name>#nhwc")
// and keeps the chain channels-last:
//  - Conv (2-D, float filters known at load) -> NhwcConv with the filter
//    packed once to [kh, kw, C/group, M], plus a following Relu / Clip(0, 6) /
//    Sigmoid / Tanh fused into it;
//  - MaxPool / AveragePool / BatchNormalization / the global pools, the
//    elementwise ops and Concat on channels keep NHWC when their input has it;
//  - a zero Pad of H and W before an AveragePool becomes the pool's own
//    padding (counted in the average);
//  - Resize (upsampling between conv blocks) runs on the NHWC value with its
//    scales or sizes permuted;
//  - Add (residual connections) becomes AddActivation, absorbing a following
//    activation as Conv does;
//  - every other reader, and the graph outputs, get the NCHW value back
//    through one Transpose, emitted where it is first needed.
#include <algorithm>
#include <cstring>

#include "cpu/conv2d.h"
#include "cpu/gemm.h"
#include "onnx/graph_optimizer.h"
#include "onnx/kernel_util.h"

namespace kiln {

namespace {

const std::set<std::string> kUnaryOps = {"Relu", "Sigmoid",  "Tanh", "LeakyRelu", "Clip", "HardSigmoid", "HardSwish",
                                         "Elu",  "Selu",     "Celu", "Softplus",  "Softsign", "Exp", "Neg", "Abs",
                                         "Sqrt", "Erf",      "Identity", "ThresholdedRelu"};
const std::set<std::string> kBinaryOps = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "PRelu"};

class NhwcRewriter {
 public:
  NhwcRewriter(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats)
      : g_(g), stats_(stats), readers_(count_onnx_readers(g->nodes)) {}

  void run() {
    const std::vector<const OnnxNode*>& nodes = g_->nodes;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const OnnxNode& n = *nodes[i];
      const OnnxNode* next = i + 1 < nodes.size() ? nodes[i + 1] : nullptr;
      bool fused_next = false;
      if (n.domain.empty() && rewrite(n, next, &fused_next)) {
        ++stats_->nhwc_nodes;
        if (fused_next) ++i;
        continue;
      }
      for (const std::string& in : n.inputs) ensure_nchw(in);
      out_.push_back(&n);
    }
    for (const std::string& o : g_->outputs) ensure_nchw(o);
    g_->nodes = std::move(out_);
  }

 private:
  bool rewrite(const OnnxNode& n, const OnnxNode* next, bool* fused_next) {
    if (n.outputs.size() != 1 || n.inputs.empty() || n.inputs[0].empty()) return false;
    if (n.op_type == "Conv") return conv(n, next, fused_next);
    if (n.op_type == "MaxPool" || n.op_type == "AveragePool") return pool(n);
    if (n.op_type == "GlobalAveragePool" || n.op_type == "GlobalMaxPool") return global_pool(n);
    if (n.op_type == "BatchNormalization") return batch_norm(n, next, fused_next);
    if (n.op_type == "Concat") return concat(n);
    if (n.op_type == "Pad") return pad(n, next, fused_next);
    if (n.op_type == "Resize") return resize(n);
    if (n.op_type == "Shape") return shape(n);
    if (kUnaryOps.count(n.op_type)) return unary(n);
    if (kBinaryOps.count(n.op_type)) return binary(n, next, fused_next);
    return false;
  }

  // ---- the rewrites ----

  bool conv(const OnnxNode& n, const OnnxNode* next, bool* fused_next) {
    const OnnxValue* w = n.inputs.size() > 1 ? float_constant(*g_, n.inputs[1]) : nullptr;
    const bool has_bias = n.inputs.size() > 2 && !n.inputs[2].empty();
    const OnnxValue* b = has_bias ? float_constant(*g_, n.inputs[2]) : nullptr;
    if (!w || w->rank() != 4 || (has_bias && (!b || b->numel() != w->shape()[0])) || !pads_non_negative(n)) return false;
    const OnnxShape& ws = w->shape();  // [M, C/group, kh, kw] -> [kh, kw, C/group, M]
    OnnxValue packed;
    if (!OnnxValue::make(DataType::kFloat32, {ws[2], ws[3], ws[1], ws[0]}, &packed).ok()) return false;
    const int64_t khw = ws[2] * ws[3];
    for (int64_t m = 0; m < ws[0]; ++m)
      for (int64_t c = 0; c < ws[1]; ++c)
        for (int64_t k = 0; k < khw; ++k)
          packed.data<float>()[(k * ws[1] + c) * ws[0] + m] = w->data<float>()[(m * ws[1] + c) * khw + k];
    OnnxNode c = internal_node(n, "NhwcConv");
    const int64_t group = OnnxOpContext(n, g_->opset).get_int("group", 1);
    c.attributes.push_back(onnx_ints_attr("kernel_shape", {ws[2], ws[3]}));
    c.attributes.push_back(onnx_int_attr("filter_in_channels", ws[1]));
    c.attributes.push_back(onnx_int_attr("filter_out_channels", ws[0]));
    // The GEMM's B packed once: each Winograd plane, or the im2col filter (one group).
    if (OnnxValue u; winograd_filter(n, packed, &u)) {
      c.attributes.push_back(onnx_int_attr("winograd", 1));
      const int64_t plane = gemm_packed_b_floats(ws[1], ws[0]);
      if (!OnnxValue::make(DataType::kFloat32, {16 * plane}, &packed).ok()) return false;  // too large: keep Conv
      int nr = 0;
      for (int64_t xi = 0; xi < 16; ++xi)
        nr = gemm_pack_b(u.data<float>() + xi * ws[1] * ws[0], ws[0], ws[1], ws[0], packed.data<float>() + xi * plane);
      c.attributes.push_back(onnx_int_attr("packed_nr", nr));
    } else if (group == 1) {
      const int64_t k = ws[1] * khw;
      OnnxValue b;
      if (!OnnxValue::make(DataType::kFloat32, {gemm_packed_b_floats(k, ws[0])}, &b).ok()) return false;
      c.attributes.push_back(onnx_int_attr("packed_nr", gemm_pack_b(packed.data<float>(), ws[0], k, ws[0], b.data<float>())));
      packed = std::move(b);
    }
    c.inputs = {as_nhwc(n.inputs[0]), add_onnx_constant(g_, n.inputs[1] + "#nhwc", std::move(packed))};
    if (has_bias) c.inputs.push_back(n.inputs[2]);
    drop_if_unread(n.inputs[1]);
    finish_with_activation(std::move(c), n, next, fused_next);
    return true;
  }

  // For a conv Winograd F(2x2, 3x3) will run, the filter transformed at load
  // (16 planes of [C, M]) instead of at every call.
  bool winograd_filter(const OnnxNode& n, const OnnxValue& packed, OnnxValue* u) const {
    const OnnxOpContext ctx(n, g_->opset);
    const OnnxShape& ps = packed.shape();  // [kh, kw, C/group, M]
    const std::vector<int64_t> s = ctx.get_ints("strides", {1, 1}), d = ctx.get_ints("dilations", {1, 1});
    if (s.size() != 2 || d.size() != 2) return false;
    Conv2DParams p;
    p.kernel_h = ps[0], p.kernel_w = ps[1], p.in_c = ps[2], p.out_c = ps[3], p.groups = ctx.get_int("group", 1);
    p.stride_h = s[0], p.stride_w = s[1], p.dilation_h = d[0], p.dilation_w = d[1];
    if (!conv2d_winograd_applies(p)) return false;
    if (!OnnxValue::make(DataType::kFloat32, {conv2d_winograd_filter_floats(p)}, u).ok()) return false;
    conv2d_winograd_filter(p, packed.data<float>(), u->data<float>());
    return true;
  }

  bool pool(const OnnxNode& n) {
    if (!nhwc_.count(n.inputs[0]) || !pads_non_negative(n)) return false;
    const OnnxOpContext ctx(n, g_->opset);
    const bool average = n.op_type == "AveragePool";
    if (ctx.get_ints("kernel_shape").size() != 2 || ctx.get_int("storage_order", 0) != 0) return false;
    for (int64_t d : ctx.get_ints("dilations"))
      if (d != 1) return false;
    if (average && ctx.get_int("count_include_pad", 0) != 0 && ctx.get_int("ceil_mode", 0) != 0) return false;
    OnnxNode c = internal_node(n, "NhwcPool");
    c.attributes.push_back(onnx_int_attr("kind", average ? 1 : 0));
    c.inputs = {nhwc_.at(n.inputs[0])};
    c.outputs = {produce_nhwc(n.outputs[0])};
    emit(std::move(c));
    return true;
  }

  // [N, H, W, C] -> [N, C, 1, 1]: the output is NCHW already (same bytes as NHWC).
  bool global_pool(const OnnxNode& n) {
    if (!nhwc_.count(n.inputs[0])) return false;
    OnnxNode c = internal_node(n, "NhwcGlobalPool");
    c.attributes.push_back(onnx_int_attr("kind", n.op_type == "GlobalAveragePool" ? 1 : 0));
    c.inputs = {nhwc_.at(n.inputs[0])};
    emit(std::move(c));
    return true;
  }

  bool batch_norm(const OnnxNode& n, const OnnxNode* next, bool* fused_next) {
    const OnnxValue* gamma = n.inputs.size() == 5 ? float_constant(*g_, n.inputs[1]) : nullptr;
    std::vector<double> s, t;
    if (!nhwc_.count(n.inputs[0]) || !gamma || !batch_norm_as_affine(*g_, n, gamma->numel(), &s, &t)) return false;
    OnnxValue scale, shift;
    OnnxValue::make(DataType::kFloat32, {int64_t(s.size())}, &scale);
    OnnxValue::make(DataType::kFloat32, {int64_t(t.size())}, &shift);
    std::copy(s.begin(), s.end(), scale.data<float>());
    std::copy(t.begin(), t.end(), shift.data<float>());
    OnnxNode c = internal_node(n, "NhwcChannelAffine");
    c.attributes.clear();
    c.inputs = {nhwc_.at(n.inputs[0]), add_onnx_constant(g_, n.outputs[0] + "#scale", std::move(scale)),
                add_onnx_constant(g_, n.outputs[0] + "#shift", std::move(shift))};
    finish_with_activation(std::move(c), n, next, fused_next);
    return true;
  }

  bool concat(const OnnxNode& n) {
    for (const std::string& in : n.inputs)
      if (in.empty() || !nhwc_.count(in)) return false;
    const int64_t axis = OnnxOpContext(n, g_->opset).get_int("axis", 0);
    if (axis != 1 && axis != -3) return false;
    OnnxNode c = clone_onnx_node(n);
    for (OnnxAttribute& a : c.attributes)
      if (a.name == "axis") a.i = 3;
    for (std::string& in : c.inputs) in = nhwc_.at(in);
    c.outputs = {produce_nhwc(n.outputs[0])};
    emit(std::move(c));
    return true;
  }

  // Pad's begin/end amounts are per NCHW axis: reorder them to N, H, W, C.
  bool pad(const OnnxNode& n, const OnnxNode* next, bool* fused_next) {
    if (!nhwc_.count(n.inputs[0]) || (n.inputs.size() > 3 && !n.inputs[3].empty())) return false;
    std::vector<int64_t> pads = OnnxOpContext(n, g_->opset).get_ints("pads");  // NCHW begins, then ends
    if (g_->opset >= 11) {
      auto it = n.inputs.size() > 1 ? g_->constants->find(n.inputs[1]) : g_->constants->end();
      if (it == g_->constants->end() || !it->second.to_int64s(&pads).ok()) return false;
    }
    if (pads.size() != 8) return false;
    if (*fused_next = zero_pad_before_average_pool(n, pads, next); *fused_next) return true;
    OnnxNode c = clone_onnx_node(n);
    const std::vector<int64_t> nhwc_pads = {pads[0], pads[2], pads[3], pads[1], pads[4], pads[6], pads[7], pads[5]};
    if (g_->opset >= 11) {
      c.inputs[1] = add_onnx_constant(g_, n.inputs[1] + "#nhwc", OnnxValue::vector_i64(nhwc_pads));
    } else {
      for (OnnxAttribute& a : c.attributes)
        if (a.name == "pads") a.ints = nhwc_pads;
    }
    c.inputs[0] = nhwc_.at(n.inputs[0]);
    c.outputs = {produce_nhwc(n.outputs[0])};
    emit(std::move(c));
    return true;
  }

  // PyTorch exports avg_pool2d(padding=p, count_include_pad=True) as a zero
  // Pad of H and W, then an AveragePool without pads: one NhwcPool with those
  // pads, counted in the average, does both without the padded copy.
  bool zero_pad_before_average_pool(const OnnxNode& n, const std::vector<int64_t>& pads, const OnnxNode* next) {
    if (!next || !next->domain.empty() || next->op_type != "AveragePool" || next->outputs.size() != 1 ||
        next->inputs.empty() || next->inputs[0] != n.outputs[0] || readers_[n.outputs[0]] != 1 ||
        g_->outputs.count(n.outputs[0]))
      return false;
    const OnnxOpContext pad_ctx(n, g_->opset), pool(*next, g_->opset);
    if (pad_ctx.get_string("mode", "constant") != "constant" || pad_ctx.get_float("value", 0) != 0) return false;
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
      auto it = g_->constants->find(n.inputs[2]);
      if (it == g_->constants->end() || it->second.numel() != 1 || onnx_element_as_double(it->second, 0) != 0) return false;
    }
    if (pads[0] || pads[1] || pads[4] || pads[5]) return false;  // batch and channels unpadded
    for (int64_t p : pads)
      if (p < 0) return false;
    if (pool.get_ints("kernel_shape").size() != 2 || pool.get_int("ceil_mode", 0) != 0 ||
        pool.get_string("auto_pad", "NOTSET") != "NOTSET")
      return false;
    for (int64_t p : pool.get_ints("pads"))
      if (p != 0) return false;
    for (int64_t d : pool.get_ints("dilations"))
      if (d != 1) return false;
    OnnxNode c = internal_node(*next, "NhwcPool");
    std::vector<OnnxAttribute> attrs;
    for (OnnxAttribute& a : c.attributes)
      if (a.name != "pads" && a.name != "count_include_pad") attrs.push_back(std::move(a));
    c.attributes = std::move(attrs);
    c.attributes.push_back(onnx_ints_attr("pads", {pads[2], pads[3], pads[6], pads[7]}));
    c.attributes.push_back(onnx_int_attr("count_include_pad", 1));
    c.attributes.push_back(onnx_int_attr("kind", 1));
    c.inputs = {nhwc_.at(n.inputs[0])};
    c.outputs = {produce_nhwc(next->outputs[0])};
    emit(std::move(c));
    ++stats_->noops_removed;  // the Pad
    return true;
  }

  // Elementwise ops with extra inputs that are constants (Clip's bounds) or absent.
  bool unary(const OnnxNode& n) {
    if (!nhwc_.count(n.inputs[0])) return false;
    for (size_t i = 1; i < n.inputs.size(); ++i)
      if (!n.inputs[i].empty() && !g_->constants->count(n.inputs[i])) return false;
    OnnxNode c = clone_onnx_node(n);
    c.inputs[0] = nhwc_.at(n.inputs[0]);
    c.outputs = {produce_nhwc(n.outputs[0])};
    emit(std::move(c));
    return true;
  }

  // Broadcasting ops whose inputs are NHWC values or float constants of rank
  // <= 4 (those are permuted once, as NCHW broadcasting would align them).
  bool binary(const OnnxNode& n, const OnnxNode* next, bool* fused_next) {
    bool any_nhwc = false;
    for (const std::string& in : n.inputs) {
      if (in.empty()) return false;
      if (nhwc_.count(in)) any_nhwc = true;
      else if (const OnnxValue* k = float_constant(*g_, in); !k || k->rank() > 4) return false;
    }
    if (!any_nhwc) return false;
    OnnxNode c = clone_onnx_node(n);
    for (std::string& in : c.inputs) in = nhwc_.count(in) ? nhwc_.at(in) : permuted_constant(in);
    if (n.op_type == "Add" && n.inputs.size() == 2) {  // a residual sum, usually followed by Relu
      c.op_type = "AddActivation", c.domain = kKilnInternalDomain;
      finish_with_activation(std::move(c), n, next, fused_next);
      return true;
    }
    c.outputs = {produce_nhwc(n.outputs[0])};
    emit(std::move(c));
    return true;
  }

  // Resize (opset 11+) works per axis, so it runs on the NHWC value as it is
  // once its scales or sizes are permuted to [N, H, W, C] (the sizes with a
  // Gather when they are computed, as TF's upsampling computes them). A
  // region of interest (tf_crop_and_resize) keeps the NCHW path.
  bool resize(const OnnxNode& n) {
    if (g_->opset < 11 || !nhwc_.count(n.inputs[0]) || n.inputs.size() < 3) return false;
    if (!n.inputs[1].empty()) {
      const OnnxValue* roi = g_->constants->count(n.inputs[1]) ? &g_->constants->at(n.inputs[1]) : nullptr;
      if (!roi || roi->numel() != 0) return false;
    }
    OnnxNode c = clone_onnx_node(n);
    c.inputs[0] = nhwc_.at(n.inputs[0]);
    for (size_t i = 2; i < c.inputs.size() && i < 4; ++i) {
      if (c.inputs[i].empty()) continue;
      auto k = g_->constants->find(c.inputs[i]);
      if (k != g_->constants->end() && k->second.numel() == 0) continue;  // an empty scales input: unused
      if (k != g_->constants->end() && k->second.numel() != 4) return false;
      const std::string permuted = fresh_onnx_name(g_, c.inputs[i] + "#nhwc");
      OnnxNode gather;
      gather.name = permuted, gather.op_type = "Gather";
      gather.inputs = {c.inputs[i], add_onnx_constant(g_, permuted + "#order", OnnxValue::vector_i64({0, 2, 3, 1}))};
      gather.outputs = {permuted};
      emit(std::move(gather));  // a constant's Gather is a few elements per run
      c.inputs[i] = permuted;
    }
    c.outputs = {produce_nhwc(n.outputs[0])};
    emit(std::move(c));
    return true;
  }

  // Shape of a value held channels-last: the NHWC twin's shape reordered,
  // instead of transposing the whole value back only to read its shape.
  bool shape(const OnnxNode& n) {
    if (!nhwc_.count(n.inputs[0]) || !nchw_missing_.count(n.inputs[0]) || !n.attributes.empty()) return false;
    OnnxNode s = clone_onnx_node(n);
    const std::string nhwc_shape = fresh_onnx_name(g_, n.outputs[0] + "#nhwc");
    s.inputs = {nhwc_.at(n.inputs[0])}, s.outputs = {nhwc_shape};
    emit(std::move(s));
    OnnxNode gather;
    gather.name = n.outputs[0], gather.op_type = "Gather";
    gather.inputs = {nhwc_shape, add_onnx_constant(g_, n.outputs[0] + "#order", OnnxValue::vector_i64({0, 3, 1, 2}))};
    gather.outputs = {n.outputs[0]};
    emit(std::move(gather));
    return true;
  }

  // ---- helpers ----

  // Emits `c` writing `n`'s output, or the output of a following activation it absorbs.
  void finish_with_activation(OnnxNode c, const OnnxNode& n, const OnnxNode* next, bool* fused_next) {
    const std::string& y = n.outputs[0];
    Activation act = Activation::kLinear;
    // fusable_activation sets `act` for any activation node: ask only about one that reads y.
    *fused_next = next && !g_->outputs.count(y) && readers_[y] == 1 && !next->inputs.empty() && next->inputs[0] == y &&
                  fusable_activation(*g_, *next, &act);
    if (!*fused_next) act = Activation::kLinear;
    if (*fused_next) ++stats_->activations_fused;
    c.attributes.push_back(onnx_int_attr("activation", int64_t(act)));
    c.outputs = {produce_nhwc(*fused_next ? next->outputs[0] : y)};
    emit(std::move(c));
  }

  // The original filter, once packed, is dropped when nothing else reads it:
  // load holds each weight about once, not in every layout at the same time.
  void drop_if_unread(const std::string& name) {
    if (readers_[name] == 1 && !g_->outputs.count(name)) g_->constants->erase(name);
  }

  bool pads_non_negative(const OnnxNode& n) const {
    for (int64_t p : OnnxOpContext(n, g_->opset).get_ints("pads"))
      if (p < 0) return false;
    return true;
  }

  OnnxNode internal_node(const OnnxNode& n, const char* op_type) const {
    OnnxNode c = clone_onnx_node(n);
    c.op_type = op_type;
    c.domain = kKilnInternalDomain;
    return c;
  }

  void emit(OnnxNode n) {
    g_->owned->push_back(std::move(n));
    out_.push_back(&g_->owned->back());
  }

  void transpose(const std::string& from, const std::string& to, std::vector<int64_t> perm) {
    OnnxNode t;
    t.name = to, t.op_type = "Transpose";
    t.inputs = {from}, t.outputs = {to};
    t.attributes.push_back(onnx_ints_attr("perm", std::move(perm)));
    emit(std::move(t));
    ++stats_->layout_transposes;
  }

  // The NHWC twin of an NCHW value, transposing it the first time it is asked for.
  std::string as_nhwc(const std::string& v) {
    auto it = nhwc_.find(v);
    if (it != nhwc_.end()) return it->second;
    const std::string name = fresh_onnx_name(g_, v + "#nhwc");
    transpose(v, name, {0, 2, 3, 1});
    nhwc_[v] = name;
    return name;
  }

  // Names the NHWC twin a rewritten node writes; the NCHW value does not exist yet.
  std::string produce_nhwc(const std::string& v) {
    nhwc_[v] = fresh_onnx_name(g_, v + "#nhwc");
    nchw_missing_.insert(v);
    return nhwc_[v];
  }

  void ensure_nchw(const std::string& v) {
    if (!nchw_missing_.erase(v)) return;
    transpose(nhwc_.at(v), v, {0, 3, 1, 2});
  }

  // A float constant broadcast against NCHW values, rewritten for NHWC ones:
  // padded to rank 4 with leading 1s, then permuted to [d0, d2, d3, d1].
  std::string permuted_constant(const std::string& name) {
    const OnnxValue& k = g_->constants->at(name);
    if (k.numel() == 1) return name;
    OnnxShape s4(size_t(4 - k.rank()), 1);
    s4.insert(s4.end(), k.shape().begin(), k.shape().end());
    OnnxValue p;
    OnnxValue::make(DataType::kFloat32, {s4[0], s4[2], s4[3], s4[1]}, &p);
    for (int64_t a = 0; a < s4[0]; ++a)
      for (int64_t c = 0; c < s4[1]; ++c)
        for (int64_t h = 0; h < s4[2]; ++h)
          for (int64_t w = 0; w < s4[3]; ++w)
            p.data<float>()[((a * s4[2] + h) * s4[3] + w) * s4[1] + c] =
                k.data<float>()[((a * s4[1] + c) * s4[2] + h) * s4[3] + w];
    return add_onnx_constant(g_, name + "#nhwc", std::move(p));
  }

  OnnxGraphToOptimize* g_;
  OnnxOptimizeStats* stats_;
  std::map<std::string, int> readers_;
  std::vector<const OnnxNode*> out_;
  std::map<std::string, std::string> nhwc_;  // value -> its NHWC twin
  std::set<std::string> nchw_missing_;       // values that so far exist only as their NHWC twin
};

}  // namespace

Status convert_to_nhwc(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats) {
  NhwcRewriter(g, stats).run();
  return Status();
}

}  // namespace kiln
