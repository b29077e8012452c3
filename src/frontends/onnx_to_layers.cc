#include "frontends/onnx_to_layers.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "core/json.h"
#include "io/onnx_model.h"

namespace kiln {

namespace {

// How a translated value is laid out: NHWC for 4-D images (ONNX's NCHW
// permuted), kPooled for a global pool's [N, C] standing for ONNX's [N, C, 1, 1].
enum class Layout : uint8_t { kPlain, kNhwc, kPooled };

struct Value {
  int node = -1;  // topology node, output 0
  int rank = 0;   // ONNX rank, batch included
  Layout layout = Layout::kPlain;
  bool nonneg = false;  // every element >= 0 (lets zero padding stand for -inf before a max pool)
};

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
  return "[" + s + "]";
}

Json ints_json(const std::vector<int64_t>& v) {
  Json a = Json::array();
  for (int64_t x : v) a.push(Json::number(double(x)));
  return a;
}

const OnnxAttribute* find_attr(const OnnxNode& n, const char* name) {
  for (const OnnxAttribute& a : n.attributes)
    if (a.name == name) return &a;
  return nullptr;
}
int64_t attr_int(const OnnxNode& n, const char* name, int64_t dflt) {
  const OnnxAttribute* a = find_attr(n, name);
  return a ? a->i : dflt;
}
float attr_float(const OnnxNode& n, const char* name, float dflt) {
  const OnnxAttribute* a = find_attr(n, name);
  return a ? a->f : dflt;
}
std::vector<int64_t> attr_ints(const OnnxNode& n, const char* name, std::vector<int64_t> dflt) {
  const OnnxAttribute* a = find_attr(n, name);
  return a ? a->ints : dflt;
}
std::string attr_string(const OnnxNode& n, const char* name, const std::string& dflt) {
  const OnnxAttribute* a = find_attr(n, name);
  return a ? a->s : dflt;
}

// A constant's elements as doubles (float, double and integer tensors).
Status tensor_values(const OnnxTensor& t, std::vector<double>* out) {
  const int64_t n = t.element_count();
  out->assign(size_t(n), 0.0);
  const size_t es = dtype_size(t.data_type);
  if (t.has_external_data) return Status::error("tensor '" + t.name + "' keeps its data in an external file, which this loader cannot read");
  if (es == 0 || t.data.size() != size_t(n) * es) return Status::error("tensor '" + t.name + "' has an unsupported element type or size");
  const uint8_t* p = t.data.data();
  for (int64_t i = 0; i < n; ++i, p += es) {
    double v;
    switch (t.data_type) {
      case DataType::kFloat32: { float f; std::memcpy(&f, p, 4); v = f; break; }
      case DataType::kFloat64: std::memcpy(&v, p, 8); break;
      case DataType::kInt64: { int64_t x; std::memcpy(&x, p, 8); v = double(x); break; }
      case DataType::kInt32: { int32_t x; std::memcpy(&x, p, 4); v = x; break; }
      default: return Status::error("tensor '" + t.name + "': element type " + std::to_string(int(t.data_type)) + " is not supported here");
    }
    (*out)[size_t(i)] = v;
  }
  return Status();
}

// A shape or padding entry read from a constant: an integer of sane size (a
// hostile file's 1e30 would overflow the conversion).
bool as_int(double v, int64_t* out) {
  if (!(std::fabs(v) <= double(int64_t(1) << 40)) || v != std::floor(v)) return false;
  *out = int64_t(v);
  return true;
}

class Translator {
 public:
  Translator(const OnnxGraph& g, int64_t opset, const OnnxImportOptions& o, LayersImport* out)
      : g_(g), opset13_(opset >= 13), options_(o), out_(out) {}

  Status run() {
    for (const OnnxTensor& t : g_.initializers) consts_[t.name] = &t;
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      for (const std::string& in : g_.nodes[i].inputs) consumers_[in].push_back(i);
    for (const OnnxValueInfo& o : g_.outputs) consumers_[o.name].push_back(SIZE_MAX);
    std::set<std::string> unsupported;
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (!known(g_.nodes[i].op_type)) unsupported.insert(g_.nodes[i].op_type);
    if (!unsupported.empty()) {
      std::string list;
      for (const std::string& op : unsupported) list += (list.empty() ? "" : ", ") + op;
      return Status::error("cannot make a trainable model: no Layers translation for the operator(s) " + list +
                           " (kiln.onnx.load runs the model for inference)");
    }
    KILN_RETURN_IF_ERROR(add_inputs());
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (skip_.count(i)) continue;
      Status s = translate(i);
      if (!s.ok()) return Status::error(where(g_.nodes[i]) + ": " + s.message());
    }
    KILN_RETURN_IF_ERROR(add_outputs());
    Json topo = Json::object();
    topo.set("className", Json::string("Model"));
    topo.set("layers", std::move(layers_));
    topo.set("nodes", std::move(nodes_));
    topo.set("inputs", std::move(inputs_));
    topo.set("outputs", std::move(outputs_));
    out_->topology = topo.dump();
    return Status();
  }

 private:
  static bool known(const std::string& op) {
    static const std::set<std::string> ops{"Conv", "BatchNormalization", "Relu", "Clip", "Sigmoid", "Tanh", "LeakyRelu",
                                           "Elu", "Softmax", "Add", "Sum", "Concat", "MaxPool", "AveragePool",
                                           "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Reshape", "Gemm", "MatMul",
                                           "Dropout", "Identity", "Constant", "Pad"};
    return ops.count(op) > 0;
  }
  static std::string where(const OnnxNode& n) {
    return "node '" + (n.name.empty() ? n.outputs.empty() ? std::string("?") : n.outputs[0] : n.name) + "' (" + n.op_type + ")";
  }

  // A layer name from the node: PyTorch exports name nodes by module path
  // ("/features/features.0/features.0.0/Conv"), so the module ("features.0.0") names the layer.
  std::string layer_name(const OnnxNode& n, const std::string& suffix = "") {
    std::string base = n.name;
    if (!base.empty() && base[0] == '/') {
      std::vector<std::string> parts;
      size_t start = 1;
      for (size_t p = base.find('/', start); ; p = base.find('/', start)) {
        parts.push_back(base.substr(start, p == std::string::npos ? std::string::npos : p - start));
        if (p == std::string::npos) break;
        start = p + 1;
      }
      base = parts.size() >= 2 ? parts[parts.size() - 2] : parts.back();
    }
    for (char& c : base)
      if (c == '/' || c == ':' || c == ' ') c = '_';
    if (base.empty()) {
      base = n.op_type;
      for (char& c : base) c = char(std::tolower(static_cast<unsigned char>(c)));
    }
    return unique(base + suffix);
  }
  std::string unique(const std::string& base) {
    std::string name = base;
    for (int k = 1; names_.count(name); ++k) name = base + "_" + std::to_string(k);
    names_.insert(name);
    return name;
  }

  // Appends a layer applied once to `inputs`; returns the node index.
  int add_layer(const std::string& cls, Json config, const std::string& name, const std::vector<int>& inputs) {
    config.set("name", Json::string(name));
    Json layer = Json::object();
    layer.set("className", Json::string(cls));
    layer.set("config", std::move(config));
    layers_.push(std::move(layer));
    Json ins = Json::array();
    for (int n : inputs) ins.push(Json::array().push(Json::number(n)).push(Json::number(0)));
    Json node = Json::object();
    node.set("layer", Json::number(double(layers_.items().size() - 1)));
    node.set("inputs", std::move(ins));
    nodes_.push(std::move(node));
    return int(nodes_.items().size() - 1);
  }
  void add_weight(const std::string& layer, const char* weight, std::vector<float> v) {
    out_->weights.push_back({layer + "/" + weight, std::move(v)});
  }

  Status add_inputs() {
    size_t k = 0;
    for (const OnnxValueInfo& in : g_.inputs) {
      if (consts_.count(in.name)) continue;  // an initializer listed as an input (IR < 4)
      Shape shape;
      if (k < options_.input_shapes.size()) {
        shape = options_.input_shapes[k];
      } else {
        if (in.kind != OnnxValueKind::kTensor || !in.has_shape || in.shape.size() < 2)
          return Status::error("input '" + in.name + "' has no declared shape of rank 2 or more; give its shape (without the batch)");
        for (size_t d = 1; d < in.shape.size(); ++d) {
          if (in.shape[d].value <= 0)
            return Status::error("input '" + in.name + "' has the symbolic dimension " + std::to_string(d) +
                                 "; give its shape (without the batch)");
          shape.push_back(in.shape[d].value);
        }
      }
      if (in.elem_type != DataType::kFloat32) return Status::error("input '" + in.name + "' is not float32");
      if (shape.size() != 1 && shape.size() != 3)
        return Status::error("input '" + in.name + "' has rank " + std::to_string(shape.size() + 1) +
                             "; trainable imports take [batch, features] or [batch, channels, height, width]");
      ++k;
      Json config = Json::object();
      Json batch_shape = Json::array();
      batch_shape.push(Json());
      for (int64_t d : shape) batch_shape.push(Json::number(double(d)));
      config.set("batchInputShape", std::move(batch_shape));
      config.set("shape", ints_json(shape));
      std::string name = unique(in.name);
      int node = add_layer("InputLayer", std::move(config), name, {});
      inputs_.push(Json::number(node));
      Value v{node, int(shape.size()) + 1, Layout::kPlain, false};
      if (shape.size() == 3) {  // NCHW -> NHWC once, here
        Json p = Json::object();
        p.set("dims", ints_json({2, 3, 1}));
        v.node = add_layer("Permute", std::move(p), unique(name + "_to_channels_last"), {node});
        v.layout = Layout::kNhwc;
      }
      values_[in.name] = v;
    }
    if (k < options_.input_shapes.size())
      return Status::error(std::to_string(options_.input_shapes.size()) + " input shapes given for " + std::to_string(k) + " input(s)");
    if (k == 0) return Status::error("the model has no inputs");
    return Status();
  }

  Status add_outputs() {
    for (const OnnxValueInfo& o : g_.outputs) {
      auto it = values_.find(o.name);
      if (it == values_.end()) return Status::error("output '" + o.name + "' is a constant or not computed");
      Value v = it->second;
      if (v.layout == Layout::kNhwc) {
        Json p = Json::object();
        p.set("dims", ints_json({3, 1, 2}));
        v.node = add_layer("Permute", std::move(p), unique(o.name + "_to_channels_first"), {v.node});
      } else if (v.layout == Layout::kPooled) {
        Json r = Json::object();
        r.set("targetShape", ints_json({-1, 1, 1}));
        v.node = add_layer("Reshape", std::move(r), unique(o.name + "_unsqueezed"), {v.node});
      }
      outputs_.push(Json::array().push(Json::number(v.node)).push(Json::number(0)));
    }
    return Status();
  }

  Status input(const OnnxNode& n, size_t i, Value* v) {
    if (i >= n.inputs.size() || n.inputs[i].empty()) return Status::error("input " + std::to_string(i) + " is missing");
    auto it = values_.find(n.inputs[i]);
    if (it == values_.end()) {
      if (consts_.count(n.inputs[i])) return Status::error("input '" + n.inputs[i] + "' is a constant where a computed value is needed");
      return Status::error("input '" + n.inputs[i] + "' is not computed before this node");
    }
    *v = it->second;
    return Status();
  }
  const OnnxTensor* constant(const OnnxNode& n, size_t i) const {
    if (i >= n.inputs.size() || n.inputs[i].empty()) return nullptr;
    auto it = consts_.find(n.inputs[i]);
    return it == consts_.end() ? nullptr : it->second;
  }
  Status floats(const OnnxTensor& t, std::vector<float>* out) {
    std::vector<double> d;
    KILN_RETURN_IF_ERROR(tensor_values(t, &d));
    out->assign(d.begin(), d.end());
    return Status();
  }
  // The node that alone reads `value`, when it is not also a graph output.
  const OnnxNode* sole_consumer(const std::string& value, size_t* index) const {
    auto it = consumers_.find(value);
    if (it == consumers_.end() || it->second.size() != 1 || it->second[0] == SIZE_MAX) return nullptr;
    *index = it->second[0];
    return &g_.nodes[*index];
  }
  void set(const OnnxNode& n, Value v) {
    if (!n.outputs.empty()) values_[n.outputs[0]] = v;
  }

  // A channels-last image as the flat [N, C*H*W] rows ONNX's NCHW flattening gives.
  Value flatten(const Value& v, const std::string& name) {
    Value r = v;
    if (v.layout == Layout::kNhwc) {
      Json p = Json::object();
      p.set("dims", ints_json({3, 1, 2}));
      r.node = add_layer("Permute", std::move(p), unique(name + "_to_channels_first"), {v.node});
    }
    if (v.layout != Layout::kPooled && v.rank != 2) r.node = add_layer("Flatten", Json::object(), unique(name), {r.node});
    r.rank = 2;
    r.layout = Layout::kPlain;
    return r;
  }
  // A pooled [N, C] back to a 1x1 image, for a node that needs the image.
  Value as_image(const Value& v, const std::string& name) {
    if (v.layout != Layout::kPooled) return v;
    Json r = Json::object();
    r.set("targetShape", ints_json({1, 1, -1}));
    Value out = v;
    out.node = add_layer("Reshape", std::move(r), unique(name + "_unsqueezed"), {v.node});
    out.rank = 4;
    out.layout = Layout::kNhwc;
    return out;
  }

  // An activation applied to the output of node `i` as its own layer, or
  // folded into the producing conv/dense config when that node alone reads it.
  bool foldable_activation(size_t i, std::string* act, size_t* consumer) {
    const OnnxNode& n = g_.nodes[i];
    if (n.outputs.empty()) return false;
    const OnnxNode* c = sole_consumer(n.outputs[0], consumer);
    if (!c) return false;
    return activation_of(*c, act);
  }
  bool activation_of(const OnnxNode& n, std::string* act) {
    if (n.op_type == "Relu") *act = "relu";
    else if (n.op_type == "Sigmoid") *act = "sigmoid";
    else if (n.op_type == "Tanh") *act = "tanh";
    else if (n.op_type == "Clip") {
      float lo, hi;
      if (!clip_bounds(n, &lo, &hi)) return false;
      if (lo == 0 && hi == 6) *act = "relu6";
      else if (lo == 0 && std::isinf(hi) && hi > 0) *act = "relu";
      else return false;
    } else {
      return false;
    }
    return true;
  }
  bool clip_bounds(const OnnxNode& n, float* lo, float* hi) {
    *lo = -std::numeric_limits<float>::infinity();
    *hi = std::numeric_limits<float>::infinity();
    if (find_attr(n, "min")) *lo = attr_float(n, "min", *lo);
    if (find_attr(n, "max")) *hi = attr_float(n, "max", *hi);
    for (size_t k = 1; k <= 2 && k < n.inputs.size(); ++k) {
      if (n.inputs[k].empty()) continue;
      const OnnxTensor* t = constant(n, k);
      std::vector<double> v;
      if (!t || !tensor_values(*t, &v).ok() || v.size() != 1) return false;
      (k == 1 ? *lo : *hi) = float(v[0]);
    }
    return true;
  }

  // Conv/pool padding: "same" or "valid" for the layer, after a ZeroPadding2D
  // when ONNX's explicit pads match neither.
  Status padding(const OnnxNode& n, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
                 const std::vector<int64_t>& d, Value* x, std::string* mode, bool zero_pad_ok) {
    const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
    *mode = "valid";
    if (auto_pad == "SAME_UPPER") {  // TF's 'same': the extra pixel after
      *mode = "same";
      return Status();
    }
    if (auto_pad == "VALID") return Status();
    if (auto_pad != "NOTSET") return Status::error("auto_pad " + auto_pad + " is not supported");
    std::vector<int64_t> p = attr_ints(n, "pads", {0, 0, 0, 0});
    if (p.size() != 4) return Status::error("pads " + join(p) + " must have 4 entries");
    if (p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0) return Status();
    bool same = true;
    for (int a = 0; a < 2; ++a) {
      const int64_t total = d[a] * (k[a] - 1);
      same = same && s[a] == 1 && total % 2 == 0 && p[a] == total / 2 && p[a + 2] == total / 2;
    }
    if (same) {
      *mode = "same";
      return Status();
    }
    if (!zero_pad_ok) return Status::error("pads " + join(p) + " match neither 'same' nor 'valid' padding here");
    Json z = Json::object();
    z.set("padding", Json::array().push(ints_json({p[0], p[2]})).push(ints_json({p[1], p[3]})));
    x->node = add_layer("ZeroPadding2D", std::move(z), layer_name(n, "_pad"), {x->node});
    return Status();
  }

  Status conv(size_t i) {
    const OnnxNode& n = g_.nodes[i];
    Value x;
    KILN_RETURN_IF_ERROR(input(n, 0, &x));
    x = as_image(x, layer_name(n, "_in"));
    const OnnxTensor* w = constant(n, 1);
    if (!w) return Status::error("the filter must be a constant");
    if (x.layout != Layout::kNhwc || w->dims.size() != 4) return Status::error("only 2-D convolutions (NCHW images) are supported");
    const int64_t o = w->dims[0], ig = w->dims[1], kh = w->dims[2], kw = w->dims[3];
    const int64_t groups = attr_int(n, "group", 1);
    if (groups < 1 || o % groups != 0) return Status::error("group " + std::to_string(groups) + " does not divide the filters");
    const std::vector<int64_t> k{kh, kw}, s = attr_ints(n, "strides", {1, 1}), d = attr_ints(n, "dilations", {1, 1});
    if (s.size() != 2 || d.size() != 2) return Status::error("strides and dilations need 2 entries");
    std::vector<float> wv;
    KILN_RETURN_IF_ERROR(floats(*w, &wv));
    std::string mode, act = "linear";
    size_t act_node;
    const bool fold = foldable_activation(i, &act, &act_node);
    if (!fold) act = "linear";
    const std::string name = layer_name(n);
    KILN_RETURN_IF_ERROR(padding(n, k, s, d, &x, &mode, true));
    const bool depthwise = groups > 1 && ig == 1;
    Json c = Json::object();
    if (!depthwise) c.set("filters", Json::number(double(o)));
    c.set("kernelSize", ints_json(k));
    c.set("strides", ints_json(s));
    c.set("dilationRate", ints_json(d));
    c.set("padding", Json::string(mode));
    c.set("activation", Json::string(act));
    const OnnxTensor* b = constant(n, 2);
    c.set("useBias", Json::boolean(b != nullptr));
    std::vector<float> kernel(wv.size());
    if (depthwise) {  // [C*m, 1, kh, kw] -> [kh, kw, C, m]
      const int64_t m = o / groups;
      c.set("depthMultiplier", Json::number(double(m)));
      for (int64_t ch = 0; ch < groups; ++ch)
        for (int64_t j = 0; j < m; ++j)
          for (int64_t t = 0; t < kh * kw; ++t) kernel[size_t((t * groups + ch) * m + j)] = wv[size_t((ch * m + j) * kh * kw + t)];
    } else {  // [O, I/g, kh, kw] -> [kh, kw, I/g, O]
      if (groups > 1) c.set("groups", Json::number(double(groups)));
      for (int64_t oc = 0; oc < o; ++oc)
        for (int64_t ic = 0; ic < ig; ++ic)
          for (int64_t t = 0; t < kh * kw; ++t) kernel[size_t((t * ig + ic) * o + oc)] = wv[size_t((oc * ig + ic) * kh * kw + t)];
    }
    Value y = x;
    y.node = add_layer(depthwise ? "DepthwiseConv2D" : "Conv2D", std::move(c), name, {x.node});
    y.nonneg = act == "relu" || act == "relu6" || act == "sigmoid";
    add_weight(name, depthwise ? "depthwise_kernel" : "kernel", std::move(kernel));
    if (b) {
      std::vector<float> bv;
      KILN_RETURN_IF_ERROR(floats(*b, &bv));
      if (int64_t(bv.size()) != o) return Status::error("bias has " + std::to_string(bv.size()) + " values for " + std::to_string(o) + " filters");
      add_weight(name, "bias", std::move(bv));
    }
    set(n, y);
    if (fold) {
      skip_.insert(act_node);
      set(g_.nodes[act_node], y);
    }
    return Status();
  }

  Status dense(size_t i) {
    const OnnxNode& n = g_.nodes[i];
    Value x;
    KILN_RETURN_IF_ERROR(input(n, 0, &x));
    if (x.layout == Layout::kPooled) x.layout = Layout::kPlain;  // [N, C] is what Gemm reads after a flatten
    if (x.rank != 2 || x.layout != Layout::kPlain) return Status::error("the data input must be a matrix [batch, features]");
    const OnnxTensor* b = constant(n, 1);
    if (!b || b->dims.size() != 2) return Status::error("the weight matrix must be a 2-D constant");
    const bool gemm = n.op_type == "Gemm";
    if (gemm && attr_int(n, "transA", 0)) return Status::error("transA = 1 is not supported");
    const bool trans_b = gemm && attr_int(n, "transB", 0);
    const float alpha = gemm ? attr_float(n, "alpha", 1.f) : 1.f, beta = gemm ? attr_float(n, "beta", 1.f) : 1.f;
    const int64_t kin = trans_b ? b->dims[1] : b->dims[0], units = trans_b ? b->dims[0] : b->dims[1];
    std::vector<float> bv, kernel(size_t(kin * units));
    KILN_RETURN_IF_ERROR(floats(*b, &bv));
    for (int64_t r = 0; r < kin; ++r)
      for (int64_t c = 0; c < units; ++c) kernel[size_t(r * units + c)] = alpha * (trans_b ? bv[size_t(c * kin + r)] : bv[size_t(r * units + c)]);
    // The bias: Gemm's C, or the constant of an Add that alone reads a MatMul.
    const OnnxTensor* bias = gemm ? constant(n, 2) : nullptr;
    size_t add_node = SIZE_MAX;
    if (!gemm && !n.outputs.empty()) {
      size_t c;
      const OnnxNode* a = sole_consumer(n.outputs[0], &c);
      if (a && a->op_type == "Add" && a->inputs.size() == 2) {
        const OnnxTensor* t = constant(*a, a->inputs[0] == n.outputs[0] ? 1 : 0);
        if (t && t->element_count() == units) {
          bias = t;
          add_node = c;
        }
      }
    }
    std::vector<float> biasv;
    if (bias) {
      KILN_RETURN_IF_ERROR(floats(*bias, &biasv));
      if (biasv.size() == 1) biasv.assign(size_t(units), biasv[0]);
      if (int64_t(biasv.size()) != units) return Status::error("the bias must have 1 or " + std::to_string(units) + " values");
      for (float& v : biasv) v *= gemm ? beta : 1.f;
    }
    const size_t last = add_node != SIZE_MAX ? add_node : i;
    std::string act = "linear";
    size_t act_node;
    const bool fold = foldable_activation(last, &act, &act_node);
    if (!fold) act = "linear";
    const std::string name = layer_name(n);
    Json c = Json::object();
    c.set("units", Json::number(double(units)));
    c.set("activation", Json::string(act));
    c.set("useBias", Json::boolean(bias != nullptr));
    Value y{add_layer("Dense", std::move(c), name, {x.node}), 2, Layout::kPlain, act == "relu" || act == "relu6" || act == "sigmoid"};
    add_weight(name, "kernel", std::move(kernel));
    if (bias) add_weight(name, "bias", std::move(biasv));
    set(n, y);
    if (add_node != SIZE_MAX) {
      skip_.insert(add_node);
      set(g_.nodes[add_node], y);
    }
    if (fold) {
      skip_.insert(act_node);
      set(g_.nodes[act_node], y);
    }
    return Status();
  }

  Status batch_norm(const OnnxNode& n) {
    Value x;
    KILN_RETURN_IF_ERROR(input(n, 0, &x));
    x = as_image(x, layer_name(n, "_in"));
    if (n.outputs.size() > 1 || attr_int(n, "training_mode", 0)) return Status::error("only the inference form (one output) is supported");
    if (x.layout != Layout::kNhwc && x.rank != 2) return Status::error("needs an image or a matrix input");
    static const char* names[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    const std::string name = layer_name(n);
    std::vector<std::vector<float>> w(4);
    for (size_t k = 0; k < 4; ++k) {
      const OnnxTensor* t = constant(n, k + 1);
      if (!t) return Status::error(std::string("its ") + names[k] + " must be a constant");
      KILN_RETURN_IF_ERROR(floats(*t, &w[k]));
      if (w[k].size() != w[0].size()) return Status::error("its parameters differ in length");
    }
    Json c = Json::object();
    c.set("axis", Json::number(-1));
    c.set("epsilon", Json::number(attr_float(n, "epsilon", 1e-5f)));
    c.set("momentum", Json::number(attr_float(n, "momentum", 0.9f)));
    Value y = x;
    y.node = add_layer("BatchNormalization", std::move(c), name, {x.node});
    y.nonneg = false;
    for (size_t k = 0; k < 4; ++k) add_weight(name, names[k], std::move(w[k]));
    set(n, y);
    return Status();
  }

  Status pool(const OnnxNode& n) {
    Value x;
    KILN_RETURN_IF_ERROR(input(n, 0, &x));
    x = as_image(x, layer_name(n, "_in"));
    if (x.layout != Layout::kNhwc) return Status::error("only 2-D pooling of NCHW images is supported");
    const bool max = n.op_type == "MaxPool";
    if (max && n.outputs.size() > 1) return Status::error("the indices output is not supported");
    const std::vector<int64_t> k = attr_ints(n, "kernel_shape", {}), s = attr_ints(n, "strides", {1, 1});
    if (k.size() != 2 || s.size() != 2) return Status::error("kernel_shape and strides need 2 entries");
    if (attr_int(n, "ceil_mode", 0)) return Status::error("ceil_mode = 1 is not supported");
    for (int64_t d : attr_ints(n, "dilations", {1, 1}))
      if (d != 1) return Status::error("dilations are not supported");
    // Zero padding is exact for an average that counts the padding, and for a
    // max over values known to be >= 0 (after a relu).
    const bool zero_pad_ok = max ? x.nonneg : attr_int(n, "count_include_pad", 0) != 0;
    std::string mode;
    KILN_RETURN_IF_ERROR(padding(n, k, s, {1, 1}, &x, &mode, zero_pad_ok));
    Json c = Json::object();
    c.set("poolSize", ints_json(k));
    c.set("strides", ints_json(s));
    c.set("padding", Json::string(mode));
    Value y = x;
    y.node = add_layer(max ? "MaxPooling2D" : "AveragePooling2D", std::move(c), layer_name(n), {x.node});
    set(n, y);
    return Status();
  }

  Status activation(const OnnxNode& n) {
    Value x;
    KILN_RETURN_IF_ERROR(input(n, 0, &x));
    Value y = x;
    const std::string name = layer_name(n);
    std::string act;
    if (activation_of(n, &act)) {
      Json c = Json::object();
      c.set("activation", Json::string(act));
      y.node = add_layer("Activation", std::move(c), name, {x.node});
      y.nonneg = act != "tanh";
    } else if (n.op_type == "Clip") {
      return Status::error("only Clip(0, 6) and Clip(0, inf) (relu6, relu) are supported");
    } else if (n.op_type == "LeakyRelu" || n.op_type == "Elu") {
      Json c = Json::object();
      c.set("alpha", Json::number(attr_float(n, "alpha", n.op_type == "Elu" ? 1.f : 0.01f)));
      y.node = add_layer(n.op_type == "Elu" ? "ELU" : "LeakyReLU", std::move(c), name, {x.node});
      y.nonneg = false;
    } else {  // Softmax over the channels / features
      const int64_t axis = attr_int(n, "axis", opset13_ ? -1 : 1);
      const bool rows = x.rank == 2 && (axis == 1 || axis == -1);
      const bool channels = x.layout == Layout::kNhwc && axis == 1 && opset13_;
      if (!rows && !channels) return Status::error("softmax is supported over the features of a matrix or the channels of an image");
      Json c = Json::object();
      c.set("activation", Json::string("softmax"));
      y.node = add_layer("Activation", std::move(c), name, {x.node});
      y.nonneg = true;
    }
    set(n, y);
    return Status();
  }

  Status translate(size_t i) {
    const OnnxNode& n = g_.nodes[i];
    const std::string& op = n.op_type;
    if (!n.domain.empty() && n.domain != "ai.onnx") return Status::error("domain '" + n.domain + "' is not supported");
    if (op == "Constant") {
      const OnnxAttribute* v = find_attr(n, "value");
      if (!v || v->type != OnnxAttributeType::kTensor || n.outputs.empty()) return Status::error("only tensor constants are supported");
      consts_[n.outputs[0]] = &v->t;
      return Status();
    }
    if (op == "Identity" && constant(n, 0) && !n.outputs.empty()) {  // exporters share initializers this way
      consts_[n.outputs[0]] = constant(n, 0);
      return Status();
    }
    if (op == "Conv") return conv(i);
    if (op == "Gemm" || op == "MatMul") return dense(i);
    if (op == "BatchNormalization") return batch_norm(n);
    if (op == "MaxPool" || op == "AveragePool") return pool(n);
    if (op == "Relu" || op == "Clip" || op == "Sigmoid" || op == "Tanh" || op == "LeakyRelu" || op == "Elu" || op == "Softmax")
      return activation(n);
    Value x;
    KILN_RETURN_IF_ERROR(input(n, 0, &x));
    if (op == "Identity") {
      set(n, x);
      return Status();
    }
    if (op == "Dropout") {  // a no-op at inference, as in the ONNX model; active while fitting, as in PyTorch
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) return Status::error("the training_mode input is not supported");
      if (n.outputs.size() > 1 && !n.outputs[1].empty()) return Status::error("the mask output is not supported");
      double ratio = attr_float(n, "ratio", 0.5f);
      if (const OnnxTensor* r = constant(n, 1)) {
        std::vector<double> v;
        KILN_RETURN_IF_ERROR(tensor_values(*r, &v));
        if (v.size() != 1) return Status::error("ratio must be a scalar");
        ratio = v[0];
      }
      Json c = Json::object();
      c.set("rate", Json::number(ratio));
      Value y = x;
      y.node = add_layer("Dropout", std::move(c), layer_name(n), {x.node});
      set(n, y);
      return Status();
    }
    if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
      x = as_image(x, layer_name(n, "_in"));
      if (x.layout != Layout::kNhwc) return Status::error("needs an NCHW image input");
      Value y = x;
      y.node = add_layer(op == "GlobalMaxPool" ? "GlobalMaxPooling2D" : "GlobalAveragePooling2D", Json::object(), layer_name(n), {x.node});
      y.layout = Layout::kPooled;
      set(n, y);
      return Status();
    }
    if (op == "Pad") {  // zeros around an image's height and width
      if (attr_string(n, "mode", "constant") != "constant") return Status::error("only constant padding is supported");
      const OnnxTensor* p = constant(n, 1);
      const OnnxTensor* value = constant(n, 2);
      std::vector<double> pads = {}, fill = {0};
      if (p) KILN_RETURN_IF_ERROR(tensor_values(*p, &pads));
      else for (int64_t v : attr_ints(n, "pads", {})) pads.push_back(double(v));  // opset < 11
      if (value) KILN_RETURN_IF_ERROR(tensor_values(*value, &fill));
      x = as_image(x, layer_name(n, "_in"));
      if (x.layout != Layout::kNhwc || pads.size() != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 ||
          fill.size() != 1 || fill[0] != 0)
        return Status::error("only zero padding of an image's height and width is supported");
      std::vector<int64_t> p8(8);
      for (size_t k = 0; k < 8; ++k)
        if (!as_int(pads[k], &p8[k]) || p8[k] < 0) return Status::error("pads must be non-negative integers (cropping is not supported)");
      Json z = Json::object();
      z.set("padding", Json::array().push(ints_json({p8[2], p8[6]})).push(ints_json({p8[3], p8[7]})));
      Value y = x;
      y.node = add_layer("ZeroPadding2D", std::move(z), layer_name(n), {x.node});
      set(n, y);
      return Status();
    }
    if (op == "Flatten") {
      if (attr_int(n, "axis", 1) != 1) return Status::error("only axis 1 is supported");
      set(n, flatten(x, layer_name(n)));
      return Status();
    }
    if (op == "Reshape") {
      const OnnxTensor* t = constant(n, 1);
      std::vector<double> shape;
      if (!t) return Status::error("the shape must be a constant (torch.flatten exports one; x.view(x.size(0), -1) does not)");
      KILN_RETURN_IF_ERROR(tensor_values(*t, &shape));
      if (shape.size() < 2 || (shape[0] != 0 && shape[0] != -1)) return Status::error("only reshapes that keep the batch dimension are supported");
      Value y = flatten(x, layer_name(n, "_flatten"));
      if (!(shape.size() == 2 && shape[1] == -1)) {
        std::vector<int64_t> target;
        for (size_t d = 1; d < shape.size(); ++d) {
          int64_t v;
          if (!as_int(shape[d], &v) || v < -1) return Status::error("the shape holds an invalid dimension");
          if (v == 0) return Status::error("a 0 (copy) dimension after the batch is not supported");
          target.push_back(v);
        }
        Json c = Json::object();
        c.set("targetShape", ints_json(target));
        y.node = add_layer("Reshape", std::move(c), layer_name(n), {y.node});
        y.rank = int(shape.size());
      }
      set(n, y);
      return Status();
    }
    if (op == "Add" || op == "Sum" || op == "Concat") {
      std::vector<int> ins;
      Value first = x;
      for (size_t k = 0; k < n.inputs.size(); ++k) {
        Value v;
        KILN_RETURN_IF_ERROR(input(n, k, &v));
        if (v.layout != first.layout || v.rank != first.rank) return Status::error("inputs must have the same rank and layout");
        ins.push_back(v.node);
      }
      if (ins.size() == 1) {  // a one-input Concat or Sum passes its input through
        set(n, first);
        return Status();
      }
      Value y = first;
      Json c = Json::object();
      if (op == "Concat") {
        int64_t axis = attr_int(n, "axis", 1);
        if (axis < 0) axis += x.rank;
        if (x.layout == Layout::kNhwc) axis = axis == 1 ? 3 : axis - 1;  // NCHW axis -> NHWC axis
        if (axis < 1 || axis >= x.rank) return Status::error("cannot concatenate along the batch axis");
        if (x.layout == Layout::kPooled && axis != 1) return Status::error("only channel concatenation is supported after a global pool");
        c.set("axis", Json::number(double(axis)));
        y.nonneg = true;
        for (size_t k = 0; k < n.inputs.size(); ++k) y.nonneg = y.nonneg && values_[n.inputs[k]].nonneg;
      } else {
        y.nonneg = false;
      }
      y.node = add_layer(op == "Concat" ? "Concatenate" : "Add", std::move(c), layer_name(n), ins);
      set(n, y);
      return Status();
    }
    return Status::error("no Layers translation");
  }

  const OnnxGraph& g_;
  const bool opset13_;  // Softmax's axis default changed in opset 13
  const OnnxImportOptions& options_;
  LayersImport* out_;
  std::map<std::string, const OnnxTensor*> consts_;
  std::map<std::string, std::vector<size_t>> consumers_;  // SIZE_MAX: a graph output
  std::map<std::string, Value> values_;
  std::set<size_t> skip_;  // nodes folded into an earlier layer
  std::set<std::string> names_;
  Json layers_ = Json::array(), nodes_ = Json::array(), inputs_ = Json::array(), outputs_ = Json::array();
};

}  // namespace

Status onnx_to_layers(const uint8_t* data, size_t size, const OnnxImportOptions& options, LayersImport* out) {
  OnnxModel model;
  KILN_RETURN_IF_ERROR(parse_onnx_model(data, size, &model));
  int64_t opset = 0;
  for (const OnnxOpsetImport& o : model.opset_imports)
    if (o.domain.empty() || o.domain == "ai.onnx") opset = o.version;
  if (opset == 0) return Status::error("the model imports no ai.onnx opset");
  *out = LayersImport();
  // The translator keeps pointers into `model` only while it runs.
  return Translator(model.graph, opset, options, out).run();
}

}  // namespace kiln
