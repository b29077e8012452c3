#include "backends/reference/reference_backend.h"

#include <algorithm>
#include <cstring>

#include "backends/host_backend.h"
#include "cpu/activation.h"
#include "cpu/gemm.h"

namespace kiln {

namespace {

class ReferenceBackend : public HostBackend {
 public:
  const char* name() const override { return "reference"; }
  bool host_memory() const override { return false; }
  std::string unsupported(const Node& n) const override {
    if ((n.op == OpKind::kOp || n.op == OpKind::kOpGrad) && !n.impl->has_reference())
      return "no reference kernel for " + n.impl->name();
    if (n.op == OpKind::kUpdate || n.op == OpKind::kOptimizerTick) return "optimizer steps update host-owned parameters";
    return "";
  }
  Status prepare(const StepBinding& s, std::unique_ptr<Kernel>* kernel) override;
};

Status ReferenceBackend::prepare(const StepBinding& s, std::unique_ptr<Kernel>* kernel) {
  const Node& n = *s.node;
  if (!unsupported(n).empty()) return Status::error("reference backend: " + unsupported(n));
  auto in = [&](size_t i) { return s.inputs[i].host(); };
  const Shape& is0 = s.input_shapes.empty() ? Shape{} : s.input_shapes[0];
  float* out = s.outputs.empty() ? nullptr : s.outputs[0].host();
  std::function<void()> run;
  switch (n.op) {
    case OpKind::kGemm: run = [g = gemm_step_args(s)] { gemm_reference(g); }; break;
    case OpKind::kActivation:
      run = [act = n.act, x = in(0), out, rows = s.output_shapes[0][0], cols = s.output_shapes[0][1]] {
        std::memcpy(out, x, size_t(rows * cols) * sizeof(float));
        if (activation_is_rowwise(act)) rowwise_forward(act, out, rows, cols);
        else activation_forward(act, out, rows * cols);
      };
      break;
    case OpKind::kActivationGrad: {
      const int64_t count = shape_numel(s.output_shapes[0]), rows = s.output_shapes[0][0];
      run = [act = n.act, from = in(0), dy = in(1), out, count, rows] {
        if (activation_is_rowwise(act)) rowwise_backward(act, from, dy, out, rows, count / std::max<int64_t>(1, rows));
        else activation_backward(act, from, dy, out, count);
      };
      break;
    }
    case OpKind::kBiasGrad:
      run = [dz = in(0), out, rows = is0[0], cols = is0[1]] {
        for (int64_t c = 0; c < cols; ++c) {
          double sum = 0;
          for (int64_t r = 0; r < rows; ++r) sum += double(dz[r * cols + c]);
          out[c] = float(sum);
        }
      };
      break;
    case OpKind::kAdd:
    case OpKind::kLoss:
    case OpKind::kLossGrad:
    case OpKind::kMetric: run = scalar_step(s); break;
    case OpKind::kOp: run = [impl = n.impl, a = op_forward_args(s)] { impl->forward_reference(a); }; break;
    case OpKind::kOpGrad: run = [impl = n.impl, b = op_backward_args(s)] { impl->backward_reference(b); }; break;
    case OpKind::kOptimizerTick:
    case OpKind::kUpdate: break;  // refused above
  }
  kernel->reset(new FunctionKernel(std::move(run)));
  return Status();
}

}  // namespace

Backend* reference_backend() {
  static ReferenceBackend backend;
  return &backend;
}

}  // namespace kiln
