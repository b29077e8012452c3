#include "backends/cpu/cpu_backend.h"

#include <algorithm>
#include <cstring>

#include "backends/cpu/packed_weights.h"
#include "backends/host_backend.h"
#include "core/thread_pool.h"
#include "cpu/activation.h"
#include "cpu/gemm.h"

namespace kiln {

namespace {

// Row blocks of about 8192 floats per task.
int64_t rows_per_task(int64_t cols) { return std::max<int64_t>(1, 8192 / std::max<int64_t>(1, cols)); }

void run_activation(Activation act, const float* x, float* y, int64_t rows, int64_t cols) {
  parallel_range(rows, rows_per_task(cols), [&](int64_t r0, int64_t r1) {
    float* out = y + r0 * cols;
    std::memcpy(out, x + r0 * cols, size_t((r1 - r0) * cols) * sizeof(float));
    if (activation_is_rowwise(act)) rowwise_forward(act, out, r1 - r0, cols);
    else activation_forward(act, out, (r1 - r0) * cols);
  });
}

void run_activation_grad(Activation act, const float* from, const float* dy, float* dz, int64_t rows, int64_t cols) {
  parallel_range(rows, rows_per_task(cols), [&](int64_t r0, int64_t r1) {
    const int64_t off = r0 * cols;
    if (activation_is_rowwise(act)) rowwise_backward(act, from + off, dy + off, dz + off, r1 - r0, cols);
    else activation_backward(act, from + off, dy + off, dz + off, (r1 - r0) * cols);
  });
}

void run_bias_grad(const float* dz, float* db, int64_t rows, int64_t cols) {
  parallel_range(cols, 64, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) db[c] = 0.0f;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = c0; c < c1; ++c) db[c] += dz[r * cols + c];
  });
}

class CpuBackend : public HostBackend {
 public:
  const char* name() const override { return "cpu"; }
  bool host_memory() const override { return true; }
  std::string unsupported(const Node&) const override { return ""; }
  // A product's own scratch, and the ops' (src/cpu/scratch.h).
  int64_t workspace_bytes(const Node& node, const std::vector<Shape>& in, const std::vector<Shape>& out) const override {
    if (node.op != OpKind::kGemm) return HostBackend::workspace_bytes(node, in, out);
    const GemmArgs g = gemm_node_shape(node, in[0], in[1], out[0]);
    return gemm_scratch_floats(g, ThreadPool::global().num_threads()) * int64_t(sizeof(float));
  }
  Status prepare(const StepBinding& s, std::unique_ptr<Kernel>* kernel) override;
};

Status CpuBackend::prepare(const StepBinding& s, std::unique_ptr<Kernel>* kernel) {
  if ((*kernel = packed_conv2d_kernel(s)) || (*kernel = packed_gemm_kernel(s))) return Status();
  const Node& n = *s.node;
  auto in = [&](size_t i) { return s.inputs[i].host(); };
  const Shape& is0 = s.input_shapes.empty() ? Shape{} : s.input_shapes[0];
  float* out = s.outputs.empty() ? nullptr : s.outputs[0].host();
  StepContext* ctx = s.context;
  std::function<void()> run;
  switch (n.op) {
    case OpKind::kGemm: run = [g = gemm_step_args(s)] { gemm(g); }; break;
    case OpKind::kActivation:
      run = [act = n.act, x = in(0), out, rows = s.output_shapes[0][0], cols = s.output_shapes[0][1]] {
        run_activation(act, x, out, rows, cols);
      };
      break;
    case OpKind::kActivationGrad: {
      const int64_t rows = s.output_shapes[0][0], cols = shape_numel(s.output_shapes[0]) / std::max<int64_t>(1, rows);
      run = [act = n.act, from = in(0), dy = in(1), out, rows, cols] { run_activation_grad(act, from, dy, out, rows, cols); };
      break;
    }
    case OpKind::kBiasGrad: run = [dz = in(0), out, rows = is0[0], cols = is0[1]] { run_bias_grad(dz, out, rows, cols); }; break;
    case OpKind::kAdd:
    case OpKind::kLoss:
    case OpKind::kLossGrad:
    case OpKind::kMetric: run = scalar_step(s); break;
    case OpKind::kOptimizerTick:
      if (!ctx || !ctx->optimizer || !ctx->step) return Status::error("plan: the graph updates parameters but no optimizer was given");
      run = [ctx] {
        ++*ctx->step;
        ctx->grad_scale = optimizer_global_clip_scale(*ctx->optimizer, ctx->update_grads, ctx->update_sizes);
      };
      break;
    case OpKind::kUpdate: {
      if (!ctx || !ctx->optimizer || !ctx->step) return Status::error("plan: the graph updates parameters but no optimizer was given");
      std::vector<float*> slots;
      for (size_t i = 2; i < s.inputs.size(); ++i) slots.push_back(in(i));
      run = [ctx, param = in(0), grad = in(1), slots, count = shape_numel(is0)] {
        optimizer_update(*ctx->optimizer, *ctx->step, ctx->grad_scale, param, grad, slots.data(), count);
      };
      break;
    }
    case OpKind::kOp: run = [impl = n.impl, a = op_forward_args(s)] { impl->forward(a); }; break;
    case OpKind::kOpGrad: run = [impl = n.impl, b = op_backward_args(s)] { impl->backward(b); }; break;
  }
  kernel->reset(new FunctionKernel(std::move(run)));
  return Status();
}

}  // namespace

Backend* cpu_backend() {
  static CpuBackend backend;
  return &backend;
}

}  // namespace kiln
