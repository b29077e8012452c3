// Gradients of the reductions (src/onnx/ops_reduce.cc, opset 18: axes as an
// optional second input). The output gradient is reshaped to the kept-dims
// shape, stretched back over the reduced axes, and weighted by the
// reduction's derivative. Max and Min send it to every element equal to the
// result (TF.js's rule for ties).
#include "onnx/gradient.h"

namespace kiln {

namespace {

// The output's shape with the reduced axes kept as 1, or false (and g failed).
bool kept_shape(const GradCtx& c, GradientOps& g, OnnxShape* kept, int64_t* count) {
  const int64_t rank = c.x().rank();
  std::vector<int64_t> axes;
  if (c.inputs.size() > 1 && c.inputs[1].defined()) {
    const Status s = c.inputs[1].to_int64s(&axes);
    if (!s.ok()) return g.fail(s.message()), false;
  } else if (c.node.has("axes")) {
    axes = c.node.get_ints("axes");
  }
  if (axes.empty() && c.node.get_int("noop_with_empty_axes", 0) == 0)
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  *kept = c.x().shape();
  *count = 1;
  for (int64_t a : axes) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) return g.fail("axis out of range"), false;
    *count *= (*kept)[size_t(a)];
    (*kept)[size_t(a)] = 1;
  }
  return true;
}

// dy and y with the reduced axes kept, stretched to x's shape.
struct Stretched {
  OnnxValue dy, y;
  int64_t count = 1;
};
bool stretch(const GradCtx& c, GradientOps& g, Stretched* s) {
  OnnxShape kept;
  if (!kept_shape(c, g, &kept, &s->count)) return false;
  s->dy = g.expand_to(g.reshape(c.output_grads[0], kept), c.x().shape());
  s->y = g.expand_to(g.reshape(c.outputs[0], kept), c.x().shape());
  return g.status().ok();
}

void grad_sum(const GradCtx& c, GradientOps& g, Grads* out) {
  Stretched s;
  if (stretch(c, g, &s)) (*out)[0] = s.dy;
}
void grad_mean(const GradCtx& c, GradientOps& g, Grads* out) {
  Stretched s;
  if (stretch(c, g, &s)) (*out)[0] = g.div(s.dy, g.scalar(double(s.count), s.dy));
}
void grad_extreme(const GradCtx& c, GradientOps& g, Grads* out) {
  Stretched s;
  if (!stretch(c, g, &s)) return;
  const OnnxValue hit = g.op("Equal", {&c.x(), &s.y});
  (*out)[0] = g.mul(s.dy, g.op("Cast", {&hit}, {attr_int("to", int64_t(c.x().type()))}));
}
void grad_log_sum_exp(const GradCtx& c, GradientOps& g, Grads* out) {
  Stretched s;
  if (!stretch(c, g, &s)) return;
  const OnnxValue shifted = g.sub(c.x(), s.y);
  (*out)[0] = g.mul(s.dy, g.op("Exp", {&shifted}));
}
void grad_sum_square(const GradCtx& c, GradientOps& g, Grads* out) {
  Stretched s;
  if (stretch(c, g, &s)) (*out)[0] = g.mul(s.dy, g.mul(c.x(), g.scalar(2, c.x())));
}
void grad_l1(const GradCtx& c, GradientOps& g, Grads* out) {
  Stretched s;
  if (stretch(c, g, &s)) (*out)[0] = g.mul(s.dy, g.op("Sign", {&c.x()}));
}
// x / ||x||, and 0 where the norm is 0 (the subgradient TF.js's and PyTorch's norms give there).
void grad_l2(const GradCtx& c, GradientOps& g, Grads* out) {
  Stretched s;
  if (!stretch(c, g, &s)) return;
  const OnnxValue zero = g.scalar(0, c.x());
  const OnnxValue is_zero = g.op("Equal", {&s.y, &zero});
  const OnnxValue one = g.scalar(1, c.x());
  const OnnxValue safe = g.op("Where", {&is_zero, &one, &s.y});
  (*out)[0] = g.mul(s.dy, g.div(c.x(), safe));
}

const OnnxGradientEntry kGradients[] = {
    {"ReduceSum", grad_sum}, {"ReduceMean", grad_mean}, {"ReduceMax", grad_extreme}, {"ReduceMin", grad_extreme},
    {"ReduceLogSumExp", grad_log_sum_exp}, {"ReduceSumSquare", grad_sum_square}, {"ReduceL1", grad_l1}, {"ReduceL2", grad_l2},
    // Indices: nothing to differentiate.
    {"ArgMax", nullptr}, {"ArgMin", nullptr},
};

}  // namespace

OnnxGradientTable onnx_reduce_gradients() { return {kGradients, sizeof(kGradients) / sizeof(kGradients[0])}; }

}  // namespace kiln
