// Gradients of the elementwise ops (src/onnx/ops_elementwise.cc, Cast,
// Identity): each a product of the output gradient dy with the op's
// derivative, written with ops; a broadcasting operand's gradient is summed
// back to its shape. Formulas and edge choices are TF.js's where it has the op
// (relu's derivative is 0 at 0, Pow's exponent gradient is 0 where base <= 0).
#include <cmath>

#include "onnx/gradient.h"

namespace kiln {

namespace {

// A bool mask as 0/1 of `like`'s type.
OnnxValue as_type(GradientOps& g, const OnnxValue& mask, const OnnxValue& like) {
  return g.op("Cast", {&mask}, {attr_int("to", int64_t(like.type()))});
}

// dy * f'(x), where f' is given.
void unary(const GradCtx& c, GradientOps& g, Grads* out, const OnnxValue& derivative) { (*out)[0] = g.mul(c.dy(), derivative); }

void grad_identity(const GradCtx& c, GradientOps&, Grads* out) { (*out)[0] = c.dy(); }
void grad_neg(const GradCtx& c, GradientOps& g, Grads* out) { (*out)[0] = g.neg(c.dy()); }
void grad_abs(const GradCtx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.op("Sign", {&c.x()})); }
void grad_exp(const GradCtx& c, GradientOps& g, Grads* out) { unary(c, g, out, c.y()); }
void grad_log(const GradCtx& c, GradientOps& g, Grads* out) { (*out)[0] = g.div(c.dy(), c.x()); }
void grad_sqrt(const GradCtx& c, GradientOps& g, Grads* out) { (*out)[0] = g.div(c.dy(), g.mul(c.y(), g.scalar(2, c.y()))); }
void grad_reciprocal(const GradCtx& c, GradientOps& g, Grads* out) { (*out)[0] = g.neg(g.mul(c.dy(), g.mul(c.y(), c.y()))); }
void grad_sin(const GradCtx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.op("Cos", {&c.x()})); }
void grad_cos(const GradCtx& c, GradientOps& g, Grads* out) { (*out)[0] = g.neg(g.mul(c.dy(), g.op("Sin", {&c.x()}))); }
void grad_tan(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue cosx = g.op("Cos", {&c.x()});
  (*out)[0] = g.div(c.dy(), g.mul(cosx, cosx));
}
// dy / sqrt(sign_one + sign_sq * x^2)
OnnxValue over_sqrt(const GradCtx& c, GradientOps& g, double constant, double square) {
  const OnnxValue s = g.add(g.scalar(constant, c.x()), g.mul(g.scalar(square, c.x()), g.mul(c.x(), c.x())));
  return g.div(c.dy(), g.op("Sqrt", {&s}));
}
void grad_asin(const GradCtx& c, GradientOps& g, Grads* out) { (*out)[0] = over_sqrt(c, g, 1, -1); }
void grad_acos(const GradCtx& c, GradientOps& g, Grads* out) { (*out)[0] = g.neg(over_sqrt(c, g, 1, -1)); }
void grad_asinh(const GradCtx& c, GradientOps& g, Grads* out) { (*out)[0] = over_sqrt(c, g, 1, 1); }
void grad_acosh(const GradCtx& c, GradientOps& g, Grads* out) { (*out)[0] = over_sqrt(c, g, -1, 1); }
void grad_atan(const GradCtx& c, GradientOps& g, Grads* out) {
  (*out)[0] = g.div(c.dy(), g.add(g.scalar(1, c.x()), g.mul(c.x(), c.x())));
}
void grad_atanh(const GradCtx& c, GradientOps& g, Grads* out) {
  (*out)[0] = g.div(c.dy(), g.sub(g.scalar(1, c.x()), g.mul(c.x(), c.x())));
}
void grad_sinh(const GradCtx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.op("Cosh", {&c.x()})); }
void grad_cosh(const GradCtx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.op("Sinh", {&c.x()})); }
void grad_tanh(const GradCtx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.sub(g.scalar(1, c.y()), g.mul(c.y(), c.y()))); }
void grad_sigmoid(const GradCtx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.mul(c.y(), g.sub(g.scalar(1, c.y()), c.y()))); }
void grad_softplus(const GradCtx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.op("Sigmoid", {&c.x()})); }
void grad_erf(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue minus_sq = g.neg(g.mul(c.x(), c.x()));
  const OnnxValue e = g.op("Exp", {&minus_sq});
  unary(c, g, out, g.mul(g.scalar(2 / std::sqrt(M_PI), c.x()), e));
}

// Where(x > 0, dy * above, dy * below)
void piecewise(const GradCtx& c, GradientOps& g, Grads* out, const OnnxValue& above, const OnnxValue& below) {
  const OnnxValue zero = g.scalar(0, c.x());
  const OnnxValue positive = g.op("Greater", {&c.x(), &zero});
  const OnnxValue a = g.mul(c.dy(), above), b = g.mul(c.dy(), below);
  (*out)[0] = g.op("Where", {&positive, &a, &b});
}
void grad_relu(const GradCtx& c, GradientOps& g, Grads* out) { piecewise(c, g, out, g.scalar(1, c.x()), g.scalar(0, c.x())); }
void grad_leaky_relu(const GradCtx& c, GradientOps& g, Grads* out) {
  piecewise(c, g, out, g.scalar(1, c.x()), g.scalar(c.node.get_float("alpha", 0.01f), c.x()));
}
void grad_elu(const GradCtx& c, GradientOps& g, Grads* out) {
  piecewise(c, g, out, g.scalar(1, c.x()), g.add(c.y(), g.scalar(c.node.get_float("alpha", 1.0f), c.y())));
}
void grad_selu(const GradCtx& c, GradientOps& g, Grads* out) {
  const double alpha = c.node.get_float("alpha", 1.67326319217681884765625f);
  const double gamma = c.node.get_float("gamma", 1.05070102214813232421875f);
  piecewise(c, g, out, g.scalar(gamma, c.x()), g.add(c.y(), g.scalar(alpha * gamma, c.y())));
}

// ---- binary (broadcasting) -------------------------------------------------------

const OnnxValue& a(const GradCtx& c) { return c.inputs[0]; }
const OnnxValue& b(const GradCtx& c) { return c.inputs[1]; }

void both(const GradCtx& c, GradientOps& g, Grads* out, const OnnxValue& da, const OnnxValue& db) {
  (*out)[0] = g.unbroadcast(da, a(c).shape());
  (*out)[1] = g.unbroadcast(db, b(c).shape());
}
void grad_add(const GradCtx& c, GradientOps& g, Grads* out) { both(c, g, out, c.dy(), c.dy()); }
void grad_sub(const GradCtx& c, GradientOps& g, Grads* out) { both(c, g, out, c.dy(), g.neg(c.dy())); }
void grad_mul(const GradCtx& c, GradientOps& g, Grads* out) { both(c, g, out, g.mul(c.dy(), b(c)), g.mul(c.dy(), a(c))); }
void grad_div(const GradCtx& c, GradientOps& g, Grads* out) {
  both(c, g, out, g.div(c.dy(), b(c)), g.neg(g.div(g.mul(c.dy(), c.y()), b(c))));
}
void grad_pow(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue bm1 = g.sub(b(c), g.scalar(1, b(c)));
  const OnnxValue da = g.mul(c.dy(), g.mul(b(c), g.op("Pow", {&a(c), &bm1})));
  const OnnxValue zero = g.scalar(0, a(c));
  const OnnxValue positive = g.op("Greater", {&a(c), &zero});
  const OnnxValue log = g.op("Log", {&a(c)});
  const OnnxValue log_a = g.op("Where", {&positive, &log, &zero});
  both(c, g, out, da, g.mul(c.dy(), g.mul(c.y(), log_a)));
}
// Max / Min of two operands: dy goes to a where `a_wins` (a >= b for Max,
// a <= b for Min; ties to a, as TF.js), to b elsewhere.
void pick(const GradCtx& c, GradientOps& g, Grads* out, const char* a_wins) {
  if (c.inputs.size() != 2) return g.fail("only two operands are differentiable");
  const OnnxValue mask = as_type(g, g.op(a_wins, {&a(c), &b(c)}), c.dy());
  both(c, g, out, g.mul(c.dy(), mask), g.mul(c.dy(), g.sub(g.scalar(1, mask), mask)));
}
void grad_max(const GradCtx& c, GradientOps& g, Grads* out) { pick(c, g, out, "GreaterOrEqual"); }
void grad_min(const GradCtx& c, GradientOps& g, Grads* out) { pick(c, g, out, "LessOrEqual"); }

void grad_where(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue zero = g.scalar(0, c.dy());
  (*out)[1] = g.unbroadcast(g.op("Where", {&c.inputs[0], &c.dy(), &zero}), c.inputs[1].shape());
  (*out)[2] = g.unbroadcast(g.op("Where", {&c.inputs[0], &zero, &c.dy()}), c.inputs[2].shape());
}

// dy where lo <= x <= hi (absent bounds: unbounded), else 0; a bound given
// as a tensor takes dy where it is the one that clipped (PyTorch's clamp).
void grad_clip(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue zero = g.scalar(0, c.dy());
  // Before opset 11 the bounds are attributes (float min and max, unbounded when absent).
  OnnxValue attr_bounds[3];
  if (c.node.opset() < 11) {
    if (c.node.has("min")) attr_bounds[1] = g.scalar(c.node.get_float("min", 0), c.x());
    if (c.node.has("max")) attr_bounds[2] = g.scalar(c.node.get_float("max", 0), c.x());
  }
  OnnxValue inside;
  for (size_t i = 1; i < 3; ++i) {
    const bool input = i < c.inputs.size() && c.inputs[i].defined();
    const OnnxValue& bound = input ? c.inputs[i] : attr_bounds[i];
    if (!bound.defined()) continue;
    const OnnxValue ok = g.op(i == 1 ? "GreaterOrEqual" : "LessOrEqual", {&c.x(), &bound});
    inside = inside.defined() ? g.op("And", {&inside, &ok}) : ok;
    if (!input) continue;
    const OnnxValue clipped = g.op("Not", {&ok});
    (*out)[i] = g.unbroadcast(g.op("Where", {&clipped, &c.dy(), &zero}), c.inputs[i].shape());
  }
  (*out)[0] = inside.defined() ? g.op("Where", {&inside, &c.dy(), &zero}) : c.dy();
}

void grad_cast(const GradCtx& c, GradientOps& g, Grads* out) {
  (*out)[0] = c.dy().type() == c.x().type() ? c.dy() : g.op("Cast", {&c.dy()}, {attr_int("to", int64_t(c.x().type()))});
}

const OnnxGradientEntry kGradients[] = {
    {"Identity", grad_identity}, {"Neg", grad_neg}, {"Abs", grad_abs}, {"Exp", grad_exp}, {"Log", grad_log},
    {"Sqrt", grad_sqrt}, {"Reciprocal", grad_reciprocal}, {"Sin", grad_sin}, {"Cos", grad_cos}, {"Tan", grad_tan},
    {"Asin", grad_asin}, {"Acos", grad_acos}, {"Atan", grad_atan}, {"Sinh", grad_sinh}, {"Cosh", grad_cosh},
    {"Tanh", grad_tanh}, {"Asinh", grad_asinh}, {"Acosh", grad_acosh}, {"Atanh", grad_atanh}, {"Sigmoid", grad_sigmoid},
    {"Softplus", grad_softplus}, {"Erf", grad_erf}, {"Relu", grad_relu}, {"LeakyRelu", grad_leaky_relu}, {"Elu", grad_elu},
    {"Selu", grad_selu}, {"Add", grad_add}, {"Sub", grad_sub}, {"Mul", grad_mul}, {"Div", grad_div}, {"Pow", grad_pow},
    {"Max", grad_max}, {"Min", grad_min}, {"Where", grad_where}, {"Clip", grad_clip}, {"Cast", grad_cast},
    // Piecewise constant or not numeric: no gradient flows (zero, as TF.js).
    {"Sign", nullptr}, {"Floor", nullptr}, {"Ceil", nullptr}, {"Round", nullptr}, {"IsNaN", nullptr}, {"IsInf", nullptr},
    {"Not", nullptr}, {"And", nullptr}, {"Or", nullptr}, {"Xor", nullptr}, {"Equal", nullptr}, {"Less", nullptr},
    {"LessOrEqual", nullptr}, {"Greater", nullptr}, {"GreaterOrEqual", nullptr},
};

}  // namespace

OnnxGradientTable onnx_elementwise_gradients() { return {kGradients, sizeof(kGradients) / sizeof(kGradients[0])}; }

}  // namespace kiln
