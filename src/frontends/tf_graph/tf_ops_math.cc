// Elementwise ops, activations, comparisons, reductions, softmax, arg/top-k.
// Elementwise ops keep their input's layout: a chain of them between
// convolutions stays NCHW; a constant operand is re-laid out once to
// broadcast the same way.
#include <cstring>

#include "frontends/tf_graph/tf_graph_translator.h"

namespace kiln {

namespace {

// NHWC axis -> NCHW axis.
int64_t nchw_axis(int64_t a) { return a == 0 ? 0 : a == 3 ? 1 : a + 1; }

// A constant of rank <= 4 broadcast against an NHWC 4-D value, as the NCHW
// constant that broadcasts the same against the NCHW value.
std::string const_as_nchw(TfGraphTranslator& t, const OnnxTensor& c) {
  std::vector<int64_t> d = c.dims;
  while (d.size() < 4) d.insert(d.begin(), 1);
  const size_t es = dtype_size(c.data_type);
  OnnxTensor o;
  o.data_type = c.data_type;
  o.dims = {d[0], d[3], d[1], d[2]};
  o.data.resize(c.data.size());
  for (int64_t n = 0; n < d[0]; ++n)
    for (int64_t h = 0; h < d[1]; ++h)
      for (int64_t w = 0; w < d[2]; ++w)
        for (int64_t ch = 0; ch < d[3]; ++ch) {
          const int64_t src = ((n * d[1] + h) * d[2] + w) * d[3] + ch, dst = ((n * d[3] + ch) * d[1] + h) * d[2] + w;
          std::memcpy(o.data.data() + size_t(dst) * es, c.data.data() + size_t(src) * es, es);
        }
  return t.add_constant(c.name + "#nchw", std::move(o));
}

// The operands of an elementwise op in one layout: NCHW when one operand is
// held NCHW and every other is 4-D or a constant of rank <= 4; else TF's.
Status operands(TfGraphTranslator& t, const TfNode& n, size_t count, std::vector<std::string>* onnx, bool* nchw, int* rank) {
  std::vector<std::string> vals(count);
  bool any_nchw = false, all_fit = true;
  *rank = 0;
  for (size_t i = 0; i < count; ++i) {
    KILN_RETURN_IF_ERROR(t.input(n, i, &vals[i]));
    const int r = t.rank(vals[i]);
    any_nchw |= t.held_nchw(vals[i]);
    const OnnxTensor* c = t.constant(vals[i]);
    if (!(r == 4 || (c && c->dims.size() <= 4))) all_fit = false;
    *rank = (r < 0 || *rank < 0) ? -1 : std::max(*rank, r);
  }
  *nchw = any_nchw && all_fit;
  onnx->clear();
  for (const std::string& v : vals) {
    const OnnxTensor* c = t.constant(v);
    if (!*nchw) onnx->push_back(t.nhwc(v));
    else if (t.rank(v) == 4 && !c) onnx->push_back(t.nchw(v));
    else if (c && c->element_count() <= 1) onnx->push_back(c->name);  // scalars broadcast in any layout
    else onnx->push_back(const_as_nchw(t, *c));
  }
  if (*nchw) *rank = 4;
  return Status();
}

std::string out_for(TfGraphTranslator& t, const TfNode& n, bool nchw) { return t.fresh(nchw ? n.name + "#nchw" : n.name); }

Status elementwise(TfGraphTranslator& t, const TfNode& n, size_t count, const std::string& op, std::vector<OnnxAttribute> attrs = {}) {
  std::vector<std::string> in;
  bool nchw;
  int rank;
  KILN_RETURN_IF_ERROR(operands(t, n, count, &in, &nchw, &rank));
  const std::string out = out_for(t, n, nchw);
  t.emit(op, std::move(in), {out}, std::move(attrs));
  t.define(n, 0, out, nchw, rank);
  return Status();
}

#define UNARY(fn, onnx) \
  Status fn(TfGraphTranslator& t, const TfNode& n) { return elementwise(t, n, 1, onnx); }
#define BINARY(fn, onnx) \
  Status fn(TfGraphTranslator& t, const TfNode& n) { return elementwise(t, n, 2, onnx); }
UNARY(op_relu, "Relu")
UNARY(op_sigmoid, "Sigmoid")
UNARY(op_tanh, "Tanh")
UNARY(op_elu, "Elu")
UNARY(op_selu, "Selu")
UNARY(op_softplus, "Softplus")
UNARY(op_softsign, "Softsign")
UNARY(op_exp, "Exp")
UNARY(op_log, "Log")
UNARY(op_sqrt, "Sqrt")
UNARY(op_neg, "Neg")
UNARY(op_abs, "Abs")
UNARY(op_floor, "Floor")
UNARY(op_ceil, "Ceil")
UNARY(op_round, "Round")
UNARY(op_sign, "Sign")
UNARY(op_reciprocal, "Reciprocal")
UNARY(op_erf, "Erf")
UNARY(op_sin, "Sin")
UNARY(op_cos, "Cos")
UNARY(op_logical_not, "Not")
BINARY(op_add, "Add")
BINARY(op_sub, "Sub")
BINARY(op_mul, "Mul")
BINARY(op_div, "Div")
BINARY(op_pow, "Pow")
BINARY(op_maximum, "Max")
BINARY(op_minimum, "Min")
BINARY(op_equal, "Equal")
BINARY(op_greater, "Greater")
BINARY(op_greater_equal, "GreaterOrEqual")
BINARY(op_less, "Less")
BINARY(op_less_equal, "LessOrEqual")
BINARY(op_logical_and, "And")
BINARY(op_logical_or, "Or")
#undef UNARY
#undef BINARY

// Ops written as two ONNX ones on the same operands.
Status two_step(TfGraphTranslator& t, const TfNode& n, size_t count, const std::string& first, const std::string& second,
                bool square) {
  std::vector<std::string> in;
  bool nchw;
  int rank;
  KILN_RETURN_IF_ERROR(operands(t, n, count, &in, &nchw, &rank));
  const std::string mid = t.fresh(n.name + "#" + first), out = out_for(t, n, nchw);
  t.emit(first, std::move(in), {mid});
  if (square) t.emit(second, {mid, mid}, {out});
  else t.emit(second, {mid}, {out});
  t.define(n, 0, out, nchw, rank);
  return Status();
}
Status op_squared_difference(TfGraphTranslator& t, const TfNode& n) { return two_step(t, n, 2, "Sub", "Mul", true); }
Status op_rsqrt(TfGraphTranslator& t, const TfNode& n) { return two_step(t, n, 1, "Sqrt", "Reciprocal", false); }
Status op_not_equal(TfGraphTranslator& t, const TfNode& n) { return two_step(t, n, 2, "Equal", "Not", false); }

Status op_square(TfGraphTranslator& t, const TfNode& n) {
  std::vector<std::string> in;
  bool nchw;
  int rank;
  KILN_RETURN_IF_ERROR(operands(t, n, 1, &in, &nchw, &rank));
  const std::string out = out_for(t, n, nchw);
  t.emit("Mul", {in[0], in[0]}, {out});
  t.define(n, 0, out, nchw, rank);
  return Status();
}

Status op_relu6(TfGraphTranslator& t, const TfNode& n) {
  std::vector<std::string> in;
  bool nchw;
  int rank;
  KILN_RETURN_IF_ERROR(operands(t, n, 1, &in, &nchw, &rank));
  const std::string out = out_for(t, n, nchw);
  t.emit("Clip", {in[0], t.const_f32(n.name + "#min", {0.f}, {}), t.const_f32(n.name + "#max", {6.f}, {})}, {out});
  t.define(n, 0, out, nchw, rank);
  return Status();
}

Status op_leaky_relu(TfGraphTranslator& t, const TfNode& n) {
  float alpha;
  KILN_RETURN_IF_ERROR(n.get_float("alpha", 0.2f, &alpha));
  return elementwise(t, n, 1, "LeakyRelu", onnx_attrs(onnx_float_attr("alpha", alpha)));
}

// TF.js's Prelu(x, alpha): alpha per channel, broadcast over the last axis.
Status op_prelu(TfGraphTranslator& t, const TfNode& n) { return elementwise(t, n, 2, "PRelu"); }

// AddN: the sum of its inputs (all of one shape).
Status op_add_n(TfGraphTranslator& t, const TfNode& n) { return elementwise(t, n, n.inputs.size(), "Sum"); }

Status op_cast(TfGraphTranslator& t, const TfNode& n) {
  DataType to;
  KILN_RETURN_IF_ERROR(n.get_type("DstT", &to));
  return elementwise(t, n, 1, "Cast", onnx_attrs(onnx_int_attr("to", int64_t(to))));
}

// FloorDiv and FloorMod round toward negative infinity, for floats and integers alike.
Status floor_div_mod(TfGraphTranslator& t, const TfNode& n, bool mod) {
  DataType type;
  KILN_RETURN_IF_ERROR(n.get_type("T", &type));
  const bool is_float = type == DataType::kFloat32 || type == DataType::kFloat64 || type == DataType::kFloat16;
  std::vector<std::string> in;
  bool nchw;
  int rank;
  KILN_RETURN_IF_ERROR(operands(t, n, 2, &in, &nchw, &rank));
  const std::string out = out_for(t, n, nchw);
  if (is_float) {
    const std::string q = t.fresh(n.name + "#q"), f = t.fresh(n.name + "#floor");
    t.emit("Div", {in[0], in[1]}, {q});
    if (!mod) {
      t.emit("Floor", {q}, {out});
    } else {
      const std::string p = t.fresh(n.name + "#p");
      t.emit("Floor", {q}, {f});
      t.emit("Mul", {f, in[1]}, {p});
      t.emit("Sub", {in[0], p}, {out});
    }
  } else if (mod) {
    t.emit("Mod", {in[0], in[1]}, {out}, onnx_attrs(onnx_int_attr("fmod", 0)));  // the divisor's sign, as floor division
  } else {
    const std::string r = t.fresh(n.name + "#mod"), d = t.fresh(n.name + "#exact");
    t.emit("Mod", {in[0], in[1]}, {r}, onnx_attrs(onnx_int_attr("fmod", 0)));
    t.emit("Sub", {in[0], r}, {d});
    t.emit("Div", {d, in[1]}, {out});
  }
  t.define(n, 0, out, nchw, rank);
  return Status();
}
Status op_floor_div(TfGraphTranslator& t, const TfNode& n) { return floor_div_mod(t, n, false); }
Status op_floor_mod(TfGraphTranslator& t, const TfNode& n) { return floor_div_mod(t, n, true); }

Status op_select(TfGraphTranslator& t, const TfNode& n) {
  std::vector<std::string> v(3);
  for (size_t i = 0; i < 3; ++i) KILN_RETURN_IF_ERROR(t.input(n, i, &v[i]));
  const std::string out = t.fresh(n.name);
  t.emit("Where", {t.nhwc(v[0]), t.nhwc(v[1]), t.nhwc(v[2])}, {out});
  t.define(n, 0, out, false, t.rank(v[1]));
  return Status();
}

// Mean, Sum, Max, Min, Prod over constant axes. A 4-D NCHW input is reduced
// in place when the kept axes come out in TF's order.
Status reduce(TfGraphTranslator& t, const TfNode& n, const char* onnx_op) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  std::vector<int64_t> axes;
  KILN_RETURN_IF_ERROR(t.const_ints(n, 1, &axes));
  bool keep;
  KILN_RETURN_IF_ERROR(n.get_bool("keep_dims", false, &keep));
  const int r = t.rank(x);
  if (axes.empty()) {  // TF reduces nothing; ONNX would reduce everything
    t.define(n, 0, t.nhwc(x), false, r);
    return Status();
  }
  bool nchw = false;
  std::vector<int64_t> onnx_axes = axes;
  if (t.held_nchw(x) && r == 4) {
    bool has[4] = {false, false, false, false};
    for (int64_t& a : onnx_axes) {
      const int64_t p = a < 0 ? a + 4 : a;
      if (p < 0 || p > 3) return n.error("reduction axis out of range");
      has[p] = true;
      a = nchw_axis(p);
    }
    // Kept C before kept H or W would come out in another order.
    nchw = keep || has[3] || (has[1] && has[2]);
  }
  if (!nchw) onnx_axes = axes;
  // Mean or Max over exactly H and W of an image (squeeze-excite blocks, global
  // pooling heads): the global pool, which the runtime's channels-last pass
  // runs on the NHWC value as it is (a ReduceMean would need it back in NCHW).
  const bool spatial = nchw && onnx_axes.size() == 2 &&
                       ((onnx_axes[0] == 2 && onnx_axes[1] == 3) || (onnx_axes[0] == 3 && onnx_axes[1] == 2));
  const std::string kind = onnx_op;
  if (spatial && (kind == "ReduceMean" || kind == "ReduceMax")) {
    const std::string pooled = keep ? out_for(t, n, true) : t.fresh(n.name + "#pooled");
    t.emit(kind == "ReduceMean" ? "GlobalAveragePool" : "GlobalMaxPool", {t.nchw(x)}, {pooled});
    if (keep) {
      t.define(n, 0, pooled, true, 4);
      return Status();
    }
    const std::string out = out_for(t, n, false);  // [N, C]: the same in either layout
    t.emit("Squeeze", {pooled, t.const_i64(n.name + "#axes", {2, 3})}, {out});
    t.define(n, 0, out, false, 2);
    return Status();
  }
  const std::string in = nchw ? t.nchw(x) : t.nhwc(x);
  const bool out_nchw = nchw && keep;
  const std::string out = out_for(t, n, out_nchw);
  if (std::string(onnx_op) == "ReduceSum")
    t.emit(onnx_op, {in, t.const_i64(n.name + "#axes", onnx_axes)}, {out}, onnx_attrs(onnx_int_attr("keepdims", keep)));
  else
    t.emit(onnx_op, {in}, {out}, onnx_attrs(onnx_ints_attr("axes", onnx_axes), onnx_int_attr("keepdims", keep)));
  t.define(n, 0, out, out_nchw, r < 0 ? -1 : keep ? r : r - int(axes.size()));
  return Status();
}
Status op_mean(TfGraphTranslator& t, const TfNode& n) { return reduce(t, n, "ReduceMean"); }
Status op_sum(TfGraphTranslator& t, const TfNode& n) { return reduce(t, n, "ReduceSum"); }
Status op_max(TfGraphTranslator& t, const TfNode& n) { return reduce(t, n, "ReduceMax"); }
Status op_min(TfGraphTranslator& t, const TfNode& n) { return reduce(t, n, "ReduceMin"); }
Status op_prod(TfGraphTranslator& t, const TfNode& n) { return reduce(t, n, "ReduceProd"); }

Status softmax(TfGraphTranslator& t, const TfNode& n, const char* op) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  const std::string out = t.fresh(n.name);
  t.emit(op, {t.nhwc(x)}, {out}, onnx_attrs(onnx_int_attr("axis", -1)));
  t.define(n, 0, out, false, t.rank(x));
  return Status();
}
Status op_softmax(TfGraphTranslator& t, const TfNode& n) { return softmax(t, n, "Softmax"); }
Status op_log_softmax(TfGraphTranslator& t, const TfNode& n) { return softmax(t, n, "LogSoftmax"); }

// ArgMax/ArgMin: ONNX gives int64; TF.js's result is int32 whatever output_type says.
Status arg(TfGraphTranslator& t, const TfNode& n, const char* op) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  std::vector<int64_t> axis;
  KILN_RETURN_IF_ERROR(t.const_ints(n, 1, &axis));
  if (axis.size() != 1) return n.error("the axis must be one integer");
  DataType type = DataType::kInt32;
  if (n.has("output_type")) KILN_RETURN_IF_ERROR(n.get_type("output_type", &type));
  const std::string idx = type == DataType::kInt64 ? t.fresh(n.name) : t.fresh(n.name + "#i64");
  t.emit(op, {t.nhwc(x)}, {idx}, onnx_attrs(onnx_int_attr("axis", axis[0]), onnx_int_attr("keepdims", 0)));
  std::string out = idx;
  if (type != DataType::kInt64) {
    out = t.fresh(n.name);
    t.emit("Cast", {idx}, {out}, onnx_attrs(onnx_int_attr("to", int64_t(type))));
  }
  t.define(n, 0, out, false, t.rank(x) < 0 ? -1 : t.rank(x) - 1);
  return Status();
}
Status op_arg_max(TfGraphTranslator& t, const TfNode& n) { return arg(t, n, "ArgMax"); }
Status op_arg_min(TfGraphTranslator& t, const TfNode& n) { return arg(t, n, "ArgMin"); }

// TopKV2: values and int32 indices along the last axis.
Status op_top_k(TfGraphTranslator& t, const TfNode& n) {
  std::string x, k;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  KILN_RETURN_IF_ERROR(t.input(n, 1, &k));
  bool sorted;
  KILN_RETURN_IF_ERROR(n.get_bool("sorted", true, &sorted));
  const std::string k64 = t.fresh(n.name + "#k"), kv = t.fresh(n.name + "#kv");
  t.emit("Cast", {t.nhwc(k)}, {k64}, onnx_attrs(onnx_int_attr("to", int64_t(DataType::kInt64))));
  t.emit("Reshape", {k64, t.const_i64(n.name + "#one", {1})}, {kv});
  const std::string values = t.fresh(n.name), idx = t.fresh(n.name + "#i64"), idx32 = t.fresh(n.name + ":1");
  t.emit("TopK", {t.nhwc(x), kv}, {values, idx}, onnx_attrs(onnx_int_attr("axis", -1), onnx_int_attr("largest", 1), onnx_int_attr("sorted", sorted)));
  t.emit("Cast", {idx}, {idx32}, onnx_attrs(onnx_int_attr("to", int64_t(DataType::kInt32))));
  t.define(n, 0, values, false, t.rank(x));
  t.define(n, 1, idx32, false, t.rank(x));
  return Status();
}

}  // namespace

void add_tf_math_ops(std::map<std::string, TfOpTranslator>* table) {
  table->insert({
      {"Relu", op_relu}, {"Relu6", op_relu6}, {"LeakyRelu", op_leaky_relu}, {"Prelu", op_prelu},
      {"Sigmoid", op_sigmoid}, {"Tanh", op_tanh}, {"Elu", op_elu}, {"Selu", op_selu},
      {"Softplus", op_softplus}, {"Softsign", op_softsign}, {"Exp", op_exp}, {"Log", op_log},
      {"Sqrt", op_sqrt}, {"Rsqrt", op_rsqrt}, {"Square", op_square}, {"Neg", op_neg}, {"Abs", op_abs},
      {"Floor", op_floor}, {"Ceil", op_ceil}, {"Round", op_round}, {"Sign", op_sign},
      {"Reciprocal", op_reciprocal}, {"Inv", op_reciprocal}, {"Erf", op_erf}, {"Sin", op_sin}, {"Cos", op_cos},
      {"Add", op_add}, {"AddV2", op_add}, {"BiasAdd", op_add}, {"Sub", op_sub}, {"Mul", op_mul},
      {"RealDiv", op_div}, {"Div", op_div}, {"Pow", op_pow}, {"Maximum", op_maximum}, {"Minimum", op_minimum},
      {"SquaredDifference", op_squared_difference}, {"FloorDiv", op_floor_div}, {"FloorMod", op_floor_mod},
      {"AddN", op_add_n}, {"Cast", op_cast},
      {"Equal", op_equal}, {"NotEqual", op_not_equal}, {"Greater", op_greater}, {"GreaterEqual", op_greater_equal},
      {"Less", op_less}, {"LessEqual", op_less_equal}, {"LogicalAnd", op_logical_and}, {"LogicalOr", op_logical_or},
      {"LogicalNot", op_logical_not}, {"Select", op_select}, {"SelectV2", op_select},
      {"Mean", op_mean}, {"Sum", op_sum}, {"Max", op_max}, {"Min", op_min}, {"Prod", op_prod},
      {"Softmax", op_softmax}, {"LogSoftmax", op_log_softmax},
      {"ArgMax", op_arg_max}, {"ArgMin", op_arg_min}, {"TopKV2", op_top_k},
  });
}

}  // namespace kiln
