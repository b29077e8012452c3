// Gradients of the elementwise ops (src/onnx/ops_elementwise.cc, Cast,
// Identity): each a product of the output gradient dy with the op's
// derivative, written with ops; a broadcasting operand's gradient is summed
// back to its shape. Formulas and edge choices are TF.js's where it has the op
// (relu's derivative is 0 at 0, Pow's exponent gradient is 0 where base <= 0).
#include <cmath>

#include "onnx/gradient.h"

namespace kiln {

namespace {

using Grads = std::vector<OnnxValue>;
using Ctx = OnnxGradientContext;

const OnnxValue& dy(const Ctx& c) { return c.output_grads[0]; }
const OnnxValue& x(const Ctx& c) { return c.inputs[0]; }
const OnnxValue& y(const Ctx& c) { return c.outputs[0]; }

// A bool mask as 0/1 of `like`'s type.
OnnxValue as_type(GradientOps& g, const OnnxValue& mask, const OnnxValue& like) {
  return g.op("Cast", {&mask}, {attr_int("to", int64_t(like.type()))});
}

// dy * f'(x), where f' is given.
void unary(const Ctx& c, GradientOps& g, Grads* out, const OnnxValue& derivative) { (*out)[0] = g.mul(dy(c), derivative); }

void grad_identity(const Ctx& c, GradientOps&, Grads* out) { (*out)[0] = dy(c); }
void grad_neg(const Ctx& c, GradientOps& g, Grads* out) { (*out)[0] = g.neg(dy(c)); }
void grad_abs(const Ctx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.op("Sign", {&x(c)})); }
void grad_exp(const Ctx& c, GradientOps& g, Grads* out) { unary(c, g, out, y(c)); }
void grad_log(const Ctx& c, GradientOps& g, Grads* out) { (*out)[0] = g.div(dy(c), x(c)); }
void grad_sqrt(const Ctx& c, GradientOps& g, Grads* out) { (*out)[0] = g.div(dy(c), g.mul(y(c), g.scalar(2, y(c)))); }
void grad_reciprocal(const Ctx& c, GradientOps& g, Grads* out) { (*out)[0] = g.neg(g.mul(dy(c), g.mul(y(c), y(c)))); }
void grad_sin(const Ctx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.op("Cos", {&x(c)})); }
void grad_cos(const Ctx& c, GradientOps& g, Grads* out) { (*out)[0] = g.neg(g.mul(dy(c), g.op("Sin", {&x(c)}))); }
void grad_tan(const Ctx& c, GradientOps& g, Grads* out) {
  const OnnxValue cosx = g.op("Cos", {&x(c)});
  (*out)[0] = g.div(dy(c), g.mul(cosx, cosx));
}
// dy / sqrt(sign_one + sign_sq * x^2)
OnnxValue over_sqrt(const Ctx& c, GradientOps& g, double constant, double square) {
  const OnnxValue s = g.add(g.scalar(constant, x(c)), g.mul(g.scalar(square, x(c)), g.mul(x(c), x(c))));
  return g.div(dy(c), g.op("Sqrt", {&s}));
}
void grad_asin(const Ctx& c, GradientOps& g, Grads* out) { (*out)[0] = over_sqrt(c, g, 1, -1); }
void grad_acos(const Ctx& c, GradientOps& g, Grads* out) { (*out)[0] = g.neg(over_sqrt(c, g, 1, -1)); }
void grad_asinh(const Ctx& c, GradientOps& g, Grads* out) { (*out)[0] = over_sqrt(c, g, 1, 1); }
void grad_acosh(const Ctx& c, GradientOps& g, Grads* out) { (*out)[0] = over_sqrt(c, g, -1, 1); }
void grad_atan(const Ctx& c, GradientOps& g, Grads* out) {
  (*out)[0] = g.div(dy(c), g.add(g.scalar(1, x(c)), g.mul(x(c), x(c))));
}
void grad_atanh(const Ctx& c, GradientOps& g, Grads* out) {
  (*out)[0] = g.div(dy(c), g.sub(g.scalar(1, x(c)), g.mul(x(c), x(c))));
}
void grad_sinh(const Ctx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.op("Cosh", {&x(c)})); }
void grad_cosh(const Ctx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.op("Sinh", {&x(c)})); }
void grad_tanh(const Ctx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.sub(g.scalar(1, y(c)), g.mul(y(c), y(c)))); }
void grad_sigmoid(const Ctx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.mul(y(c), g.sub(g.scalar(1, y(c)), y(c)))); }
void grad_softplus(const Ctx& c, GradientOps& g, Grads* out) { unary(c, g, out, g.op("Sigmoid", {&x(c)})); }
void grad_erf(const Ctx& c, GradientOps& g, Grads* out) {
  const OnnxValue minus_sq = g.neg(g.mul(x(c), x(c)));
  const OnnxValue e = g.op("Exp", {&minus_sq});
  unary(c, g, out, g.mul(g.scalar(2 / std::sqrt(M_PI), x(c)), e));
}

// Where(x > 0, dy * above, dy * below)
void piecewise(const Ctx& c, GradientOps& g, Grads* out, const OnnxValue& above, const OnnxValue& below) {
  const OnnxValue zero = g.scalar(0, x(c));
  const OnnxValue positive = g.op("Greater", {&x(c), &zero});
  const OnnxValue a = g.mul(dy(c), above), b = g.mul(dy(c), below);
  (*out)[0] = g.op("Where", {&positive, &a, &b});
}
void grad_relu(const Ctx& c, GradientOps& g, Grads* out) { piecewise(c, g, out, g.scalar(1, x(c)), g.scalar(0, x(c))); }
void grad_leaky_relu(const Ctx& c, GradientOps& g, Grads* out) {
  piecewise(c, g, out, g.scalar(1, x(c)), g.scalar(c.node.get_float("alpha", 0.01f), x(c)));
}
void grad_elu(const Ctx& c, GradientOps& g, Grads* out) {
  piecewise(c, g, out, g.scalar(1, x(c)), g.add(y(c), g.scalar(c.node.get_float("alpha", 1.0f), y(c))));
}
void grad_selu(const Ctx& c, GradientOps& g, Grads* out) {
  const double alpha = c.node.get_float("alpha", 1.67326319217681884765625f);
  const double gamma = c.node.get_float("gamma", 1.05070102214813232421875f);
  piecewise(c, g, out, g.scalar(gamma, x(c)), g.add(y(c), g.scalar(alpha * gamma, y(c))));
}

// ---- binary (broadcasting) -------------------------------------------------------

const OnnxValue& a(const Ctx& c) { return c.inputs[0]; }
const OnnxValue& b(const Ctx& c) { return c.inputs[1]; }

void both(const Ctx& c, GradientOps& g, Grads* out, const OnnxValue& da, const OnnxValue& db) {
  (*out)[0] = g.unbroadcast(da, a(c).shape());
  (*out)[1] = g.unbroadcast(db, b(c).shape());
}
void grad_add(const Ctx& c, GradientOps& g, Grads* out) { both(c, g, out, dy(c), dy(c)); }
void grad_sub(const Ctx& c, GradientOps& g, Grads* out) { both(c, g, out, dy(c), g.neg(dy(c))); }
void grad_mul(const Ctx& c, GradientOps& g, Grads* out) { both(c, g, out, g.mul(dy(c), b(c)), g.mul(dy(c), a(c))); }
void grad_div(const Ctx& c, GradientOps& g, Grads* out) {
  both(c, g, out, g.div(dy(c), b(c)), g.neg(g.div(g.mul(dy(c), y(c)), b(c))));
}
void grad_pow(const Ctx& c, GradientOps& g, Grads* out) {
  const OnnxValue bm1 = g.sub(b(c), g.scalar(1, b(c)));
  const OnnxValue da = g.mul(dy(c), g.mul(b(c), g.op("Pow", {&a(c), &bm1})));
  const OnnxValue zero = g.scalar(0, a(c));
  const OnnxValue positive = g.op("Greater", {&a(c), &zero});
  const OnnxValue log = g.op("Log", {&a(c)});
  const OnnxValue log_a = g.op("Where", {&positive, &log, &zero});
  both(c, g, out, da, g.mul(dy(c), g.mul(y(c), log_a)));
}
// Max / Min of two operands: dy goes to a where `a_wins` (a >= b for Max,
// a <= b for Min; ties to a, as TF.js), to b elsewhere.
void pick(const Ctx& c, GradientOps& g, Grads* out, const char* a_wins) {
  if (c.inputs.size() != 2) return g.fail("only two operands are differentiable");
  const OnnxValue mask = as_type(g, g.op(a_wins, {&a(c), &b(c)}), dy(c));
  both(c, g, out, g.mul(dy(c), mask), g.mul(dy(c), g.sub(g.scalar(1, mask), mask)));
}
void grad_max(const Ctx& c, GradientOps& g, Grads* out) { pick(c, g, out, "GreaterOrEqual"); }
void grad_min(const Ctx& c, GradientOps& g, Grads* out) { pick(c, g, out, "LessOrEqual"); }

void grad_where(const Ctx& c, GradientOps& g, Grads* out) {
  const OnnxValue zero = g.scalar(0, dy(c));
  (*out)[1] = g.unbroadcast(g.op("Where", {&c.inputs[0], &dy(c), &zero}), c.inputs[1].shape());
  (*out)[2] = g.unbroadcast(g.op("Where", {&c.inputs[0], &zero, &dy(c)}), c.inputs[2].shape());
}

// dy where lo <= x <= hi (absent bounds: unbounded), else 0; a bound given
// as a tensor takes dy where it is the one that clipped (PyTorch's clamp).
void grad_clip(const Ctx& c, GradientOps& g, Grads* out) {
  const OnnxValue zero = g.scalar(0, dy(c));
  OnnxValue inside;
  for (size_t i = 1; i < 3 && i < c.inputs.size(); ++i) {
    if (!c.inputs[i].defined()) continue;
    const OnnxValue ok = g.op(i == 1 ? "GreaterOrEqual" : "LessOrEqual", {&x(c), &c.inputs[i]});
    inside = inside.defined() ? g.op("And", {&inside, &ok}) : ok;
    const OnnxValue clipped = g.op("Not", {&ok});
    (*out)[i] = g.unbroadcast(g.op("Where", {&clipped, &dy(c), &zero}), c.inputs[i].shape());
  }
  (*out)[0] = inside.defined() ? g.op("Where", {&inside, &dy(c), &zero}) : dy(c);
}

void grad_cast(const Ctx& c, GradientOps& g, Grads* out) {
  (*out)[0] = dy(c).type() == x(c).type() ? dy(c) : g.op("Cast", {&dy(c)}, {attr_int("to", int64_t(x(c).type()))});
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
