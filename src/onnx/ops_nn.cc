// Neural-network ONNX operators on float32, running on Kiln's CPU kernels:
// MatMul and Gemm (src/cpu/gemm.h).
#include <algorithm>

#include "cpu/gemm.h"
#include "onnx/broadcast.h"
#include "onnx/op.h"

namespace kiln {

namespace {

Status require_float(const OnnxOpContext& ctx, const OnnxValue& v, const char* what) {
  if (v.type() != OnnxDataType::kFloat) return ctx.error(std::string(what) + " must be float32, got " + onnx_type_name(v.type()));
  return Status();
}

// MatMul with numpy semantics: 1-D operands gain and lose a unit axis, batch axes broadcast.
Status op_matmul(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue &a = *in[0], &b = *in[1];
  KILN_RETURN_IF_ERROR(require_float(ctx, a, "A"));
  KILN_RETURN_IF_ERROR(require_float(ctx, b, "B"));
  if (a.rank() == 0 || b.rank() == 0) return ctx.error("operands must have rank >= 1");
  OnnxShape sa = a.shape(), sb = b.shape();
  if (sa.size() == 1) sa.insert(sa.begin(), 1);
  if (sb.size() == 1) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  if (sb[sb.size() - 2] != k) return ctx.error("shapes " + onnx_shape_string(a.shape()) + " and " + onnx_shape_string(b.shape()) + " do not multiply");
  OnnxShape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2), batch;
  const Status bs = onnx_broadcast_shape(ba, bb, &batch);
  if (!bs.ok()) return ctx.error(bs.message());
  OnnxShape shape = batch;
  if (a.rank() > 1) shape.push_back(m);
  if (b.rank() > 1) shape.push_back(n);
  KILN_RETURN_IF_ERROR(OnnxValue::make(OnnxDataType::kFloat, shape, &(*out)[0]));
  std::vector<int64_t> oa, ob;
  BroadcastIndex(ba, batch).offsets(&oa);
  BroadcastIndex(bb, batch).offsets(&ob);
  float* y = (*out)[0].data<float>();
  for (size_t i = 0; i < oa.size(); ++i) {
    GemmArgs g;
    g.m = m, g.n = n, g.k = k;
    g.a = a.data<float>() + oa[i] * m * k, g.lda = k;
    g.b = b.data<float>() + ob[i] * k * n, g.ldb = n;
    g.c = y + int64_t(i) * m * n, g.ldc = n;
    if (m * n > 0) {
      if (k == 0) std::fill(g.c, g.c + m * n, 0.0f);
      else gemm(g);
    }
  }
  return Status();
}

// Gemm: Y = alpha * op(A) op(B) + beta * C, C broadcast to [M, N].
Status op_gemm(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue &a = *in[0], &b = *in[1];
  KILN_RETURN_IF_ERROR(require_float(ctx, a, "A"));
  KILN_RETURN_IF_ERROR(require_float(ctx, b, "B"));
  if (a.rank() != 2 || b.rank() != 2) return ctx.error("A and B must be matrices");
  const bool ta = ctx.get_int("transA", 0) != 0, tb = ctx.get_int("transB", 0) != 0;
  const float alpha = ctx.get_float("alpha", 1.0f), beta = ctx.get_float("beta", 1.0f);
  const int64_t m = ta ? a.shape()[1] : a.shape()[0], k = ta ? a.shape()[0] : a.shape()[1];
  const int64_t kb = tb ? b.shape()[1] : b.shape()[0], n = tb ? b.shape()[0] : b.shape()[1];
  if (k != kb) return ctx.error("inner dimensions differ: " + onnx_shape_string(a.shape()) + " and " + onnx_shape_string(b.shape()));
  KILN_RETURN_IF_ERROR(OnnxValue::make(OnnxDataType::kFloat, {m, n}, &(*out)[0]));
  float* y = (*out)[0].data<float>();
  if (in.size() > 2 && in[2] && in[2]->defined() && beta != 0) {
    const OnnxValue& c = *in[2];
    KILN_RETURN_IF_ERROR(require_float(ctx, c, "C"));
    OnnxShape s;
    if (!onnx_broadcast_shape(c.shape(), {m, n}, &s).ok() || s != OnnxShape{m, n})
      return ctx.error("C of shape " + onnx_shape_string(c.shape()) + " does not broadcast to [" + std::to_string(m) + ", " + std::to_string(n) + "]");
    std::vector<int64_t> oc;
    BroadcastIndex(c.shape(), {m, n}).offsets(&oc);
    for (size_t i = 0; i < oc.size(); ++i) y[i] = beta * c.data<float>()[oc[i]];
  }
  if (m * n == 0 || k == 0 || alpha == 0) return Status();
  // y (+)= alpha * op(A) op(B): gemm accumulates onto y when C was added.
  std::vector<float> scaled;
  const float* pa = a.data<float>();
  if (alpha != 1.0f) {
    scaled.assign(pa, pa + a.numel());
    for (float& v : scaled) v *= alpha;
    pa = scaled.data();
  }
  GemmArgs g;
  g.trans_a = ta, g.trans_b = tb;
  g.m = m, g.n = n, g.k = k;
  g.a = pa, g.lda = a.shape()[1];
  g.b = b.data<float>(), g.ldb = b.shape()[1];
  g.c = y, g.ldc = n;
  g.accumulate = in.size() > 2 && in[2] && in[2]->defined() && beta != 0;
  gemm(g);
  return Status();
}

const OnnxOpEntry kOps[] = {
    {"MatMul", op_matmul},
    {"Gemm", op_gemm},
};

}  // namespace

OnnxOpTable onnx_nn_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
