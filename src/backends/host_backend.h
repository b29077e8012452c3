// What the backends whose buffers are host memory (cpu, reference) share:
// buffers, copies and workspaces, and the host view of a step (the argument
// lists Op::forward / Op::backward and gemm() take, built from its binding).
#pragma once
#include "backends/backend.h"
#include "cpu/gemm.h"

#include <functional>

namespace kiln {

// Host buffers, memcpy copies, the ops' own workspace sizes.
class HostBackend : public Backend {
 public:
  int64_t workspace_bytes(const Node& node, const std::vector<Shape>& in, const std::vector<Shape>& out) const override;
  Status alloc(int64_t bytes, std::unique_ptr<BackendBuffer>* out) override { return HostBuffer::allocate(bytes, out); }
  void upload(const TensorAddress& dst, const void* src, int64_t bytes) override;
  void download_async(const TensorAddress& src, void* dst, int64_t bytes) override;
  void synchronize() override {}
};

// A kernel that is a closure over its prepared arguments.
class FunctionKernel : public Kernel {
 public:
  explicit FunctionKernel(std::function<void()> run) : run_(std::move(run)) {}
  void run() override { run_(); }

 private:
  std::function<void()> run_;
};

// kAdd, kLoss, kLossGrad and kMetric: one scalar implementation (src/train)
// every host-memory backend runs; null for other nodes.
std::function<void()> scalar_step(const StepBinding& step);
// A kGemm node's product from its value shapes (A, B, out): sizes, transposes, activation.
GemmArgs gemm_node_shape(const Node& node, const Shape& a, const Shape& b, const Shape& out);
// A kGemm node with its buffers: out = act(op(A) op(B) + bias).
GemmArgs gemm_step_args(const StepBinding& step);
OpForwardArgs op_forward_args(const StepBinding& step);
// The binding's inputs are the forward's inputs, then its outputs (saved
// tensors included), then the results' gradients; its outputs the inputs' gradients.
OpBackwardArgs op_backward_args(const StepBinding& step);
// The op's workspace for a kOp / kOpGrad node from the node's value shapes, in floats.
int64_t op_workspace_floats(const Node& node, const std::vector<Shape>& in, const std::vector<Shape>& out);

}  // namespace kiln
