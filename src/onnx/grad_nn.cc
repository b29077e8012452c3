// Gradients of the matrix and normalization ops: MatMul (NumPy semantics:
// 1-D operands, broadcast batch dims), Gemm, Softmax and LogSoftmax,
// inference BatchNormalization and Dropout.
#include <algorithm>

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

// Softmax's and LogSoftmax's gradient over their axis. Before opset 13 the
// input is taken as a matrix [prod(dims before axis), prod(from axis)] (axis
// default 1) and the softmax runs over its rows: the same formula on that view.
void softmax_family(const GradCtx& c, GradientOps& g, Grads* out, bool log) {
  const OnnxShape& shape = c.x().shape();
  const int64_t rank = c.x().rank();
  int64_t axis = c.node.get_int("axis", c.node.opset() < 13 ? 1 : -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank || (c.node.opset() >= 13 && axis == rank)) return g.fail("axis out of range");
  OnnxValue y = c.y(), dy = c.dy();
  if (c.node.opset() < 13) {
    int64_t rows = 1;
    for (int64_t a = 0; a < axis; ++a) rows *= shape[size_t(a)];
    const OnnxShape matrix = {rows, rows ? c.x().numel() / std::max<int64_t>(rows, 1) : 0};
    y = g.reshape(y, matrix), dy = g.reshape(dy, matrix);
    axis = 1;
  }
  const OnnxValue ax = g.ints({axis});
  const OnnxValue along = log ? dy : g.mul(dy, y);
  const OnnxValue summed = g.op("ReduceSum", {&along, &ax}, {attr_int("keepdims", 1)});
  // softmax: y (dy - sum(dy y));  logSoftmax: dy - exp(y) sum(dy)
  const OnnxValue dx = log ? g.sub(dy, g.mul(g.op("Exp", {&y}), summed)) : g.mul(y, g.sub(dy, summed));
  (*out)[0] = g.reshape(dx, shape);
}
void grad_softmax(const GradCtx& c, GradientOps& g, Grads* out) { softmax_family(c, g, out, false); }
void grad_log_softmax(const GradCtx& c, GradientOps& g, Grads* out) { softmax_family(c, g, out, true); }

// Inference BatchNormalization, y = scale (x - mean) / sqrt(var + eps) + B
// over channel axis 1 (the statistics are inputs, as when fine-tuning a
// frozen-statistics model): gradients for X, scale and B.
void grad_batch_norm(const GradCtx& c, GradientOps& g, Grads* out) {
  if (c.node.get_int("training_mode", 0) != 0 || c.outputs.size() > 1) return g.fail("only inference batch normalization is differentiable yet");
  const int64_t rank = c.x().rank();
  if (rank < 2) return g.fail("X must have rank >= 2");
  OnnxShape per_channel(size_t(rank), 1);
  per_channel[1] = c.x().shape()[1];
  std::vector<int64_t> other;
  for (int64_t a = 0; a < rank; ++a)
    if (a != 1) other.push_back(a);
  const OnnxValue scale = g.reshape(c.inputs[1], per_channel), mean = g.reshape(c.inputs[3], per_channel);
  const OnnxValue var = g.reshape(c.inputs[4], per_channel);
  const OnnxValue eps = g.scalar(c.node.get_float("epsilon", 1e-5f), c.x());
  const OnnxValue shifted = g.add(var, eps);
  const OnnxValue std_dev = g.op("Sqrt", {&shifted});
  const OnnxValue inv_std = g.op("Reciprocal", {&std_dev});
  (*out)[0] = g.mul(c.dy(), g.mul(scale, inv_std));
  const OnnxValue axes = g.ints(other);
  const OnnxValue normalized = g.mul(g.sub(c.x(), mean), inv_std);
  const OnnxValue weighted = g.mul(c.dy(), normalized);
  (*out)[1] = g.op("ReduceSum", {&weighted, &axes}, {attr_int("keepdims", 0)});
  (*out)[2] = g.op("ReduceSum", {&c.dy(), &axes}, {attr_int("keepdims", 0)});
  // The statistics too (they are inputs): d mean = -sum(dy scale / s), d var = -sum(dy scale (x - mean)) / (2 s^3).
  const OnnxValue through = g.mul(c.dy(), g.mul(scale, inv_std));
  (*out)[3] = g.neg(g.op("ReduceSum", {&through, &axes}, {attr_int("keepdims", 0)}));
  // through carries 1/s, normalized another: one more makes 1/s^3.
  const OnnxValue by_var = g.mul(through, g.mul(inv_std, g.mul(g.scalar(-0.5, c.x()), normalized)));
  (*out)[4] = g.op("ReduceSum", {&by_var, &axes}, {attr_int("keepdims", 0)});
}

// Dropout as a model runs it for inference: the identity.
void grad_dropout(const GradCtx& c, GradientOps& g, Grads* out) {
  if (c.node.get_int("training_mode", 0) != 0) return g.fail("dropout in training mode is not differentiable yet");
  (*out)[0] = c.dy();
}

const OnnxGradientEntry kGradients[] = {
    {"MatMul", grad_matmul}, {"Gemm", grad_gemm}, {"Softmax", grad_softmax}, {"LogSoftmax", grad_log_softmax},
    {"BatchNormalization", grad_batch_norm}, {"Dropout", grad_dropout},
};

}  // namespace

OnnxGradientTable onnx_nn_gradients() { return {kGradients, sizeof(kGradients) / sizeof(kGradients[0])}; }

}  // namespace kiln
