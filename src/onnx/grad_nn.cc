// Gradients of the matrix and normalization ops: MatMul (NumPy semantics:
// 1-D operands, broadcast batch dims), Gemm, Softmax and LogSoftmax (one
// axis, opset 13+).
#include "onnx/gradient.h"

namespace kiln {

namespace {

// Swaps the last two axes.
OnnxValue swap_last(GradientOps& g, const OnnxValue& v) {
  std::vector<int64_t> perm;
  for (int64_t a = 0; a < v.rank(); ++a) perm.push_back(a);
  if (v.rank() >= 2) std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return g.transpose(v, perm);
}

void grad_matmul(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue &a = c.inputs[0], &b = c.inputs[1];
  if (a.rank() == 0 || b.rank() == 0) return g.fail("operands must have rank >= 1");
  // 1-D operands as matrices: a as [1, K], b as [K, 1]; dy gains those axes back.
  const OnnxValue a2 = a.rank() == 1 ? g.reshape(a, {1, a.shape()[0]}) : a;
  const OnnxValue b2 = b.rank() == 1 ? g.reshape(b, {b.shape()[0], 1}) : b;
  OnnxShape out2(c.dy().shape().begin(), c.dy().shape().end() - (a.rank() == 1 ? 0 : 1) - (b.rank() == 1 ? 0 : 1));
  out2.push_back(a2.shape()[size_t(a2.rank() - 2)]);
  out2.push_back(b2.shape()[size_t(b2.rank() - 1)]);
  const OnnxValue d = g.reshape(c.dy(), out2);
  const OnnxValue bt = swap_last(g, b2), at = swap_last(g, a2);
  const OnnxValue da = g.unbroadcast(g.op("MatMul", {&d, &bt}), a2.shape());
  const OnnxValue db = g.unbroadcast(g.op("MatMul", {&at, &d}), b2.shape());
  (*out)[0] = g.reshape(da, a.shape());
  (*out)[1] = g.reshape(db, b.shape());
}

// Y = alpha A' B' + beta C, A' = transA ? A^T : A, B' likewise.
void grad_gemm(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue &a = c.inputs[0], &b = c.inputs[1];
  const bool ta = c.node.get_int("transA", 0) != 0, tb = c.node.get_int("transB", 0) != 0;
  const OnnxValue alpha = g.scalar(c.node.get_float("alpha", 1.0f), c.dy());
  const OnnxValue at = swap_last(g, a), bt = swap_last(g, b), dyt = swap_last(g, c.dy());
  // dA' = dy B'^T and dB' = A'^T dy; a transposed operand takes the transpose.
  const OnnxValue da = ta ? g.op("MatMul", {tb ? &bt : &b, &dyt}) : g.op("MatMul", {&c.dy(), tb ? &b : &bt});
  const OnnxValue db = tb ? g.op("MatMul", {&dyt, ta ? &at : &a}) : g.op("MatMul", {ta ? &a : &at, &c.dy()});
  (*out)[0] = g.mul(da, alpha);
  (*out)[1] = g.mul(db, alpha);
  if (c.inputs.size() > 2 && c.inputs[2].defined())
    (*out)[2] = g.unbroadcast(g.mul(c.dy(), g.scalar(c.node.get_float("beta", 1.0f), c.dy())), c.inputs[2].shape());
}

OnnxValue sum_over_axis(const GradCtx& c, GradientOps& g, const OnnxValue& v) {
  const OnnxValue axis = g.ints({c.node.get_int("axis", -1)});
  return g.op("ReduceSum", {&v, &axis}, {attr_int("keepdims", 1)});
}

// dx = y (dy - sum(dy y))
void grad_softmax(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue& y = c.outputs[0];
  if (c.node.opset() < 13) return g.fail("opset 13+ (one axis) only");
  (*out)[0] = g.mul(y, g.sub(c.dy(), sum_over_axis(c, g, g.mul(c.dy(), y))));
}

// dx = dy - exp(y) sum(dy)
void grad_log_softmax(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue p = g.op("Exp", {&c.outputs[0]});
  (*out)[0] = g.sub(c.dy(), g.mul(p, sum_over_axis(c, g, c.dy())));
}

const OnnxGradientEntry kGradients[] = {
    {"MatMul", grad_matmul}, {"Gemm", grad_gemm}, {"Softmax", grad_softmax}, {"LogSoftmax", grad_log_softmax},
};

}  // namespace

OnnxGradientTable onnx_nn_gradients() { return {kGradients, sizeof(kGradients) / sizeof(kGradients[0])}; }

}  // namespace kiln
