// The interface every layer-level op implements (conv, pooling, norms,
// recurrent cells, shape ops, ...). An op is a small object holding its
// attributes; the graph stores it in a node, the plan calls its kernels with
// buffers resolved ahead of time. Kernels themselves live in src/cpu and know
// nothing of graphs: an Op only translates shapes and attributes into calls.
//
// Outputs: the first num_results() are what the op computes; any further ones
// are tensors saved for the backward pass (a dropout mask, batch statistics,
// recurrent gate activations). They live in the plan's arena like any value.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/shape.h"
#include "core/status.h"

namespace kiln {

struct OpForwardArgs {
  std::vector<const float*> in;
  std::vector<Shape> in_shapes;
  std::vector<float*> out;
  std::vector<Shape> out_shapes;
  Rng* rng = nullptr;  // the model's generator (dropout, noise)
  float* workspace = nullptr;  // forward_workspace_floats() floats in the plan's arena
  int64_t workspace_floats = 0;  // what the plan allocated (sized when it was compiled)
};

struct OpBackwardArgs {
  std::vector<const float*> in;  // the forward inputs
  std::vector<Shape> in_shapes;
  std::vector<const float*> out;  // the forward outputs, saved tensors included
  std::vector<Shape> out_shapes;
  std::vector<const float*> dout;  // d loss / d result, one per result (never null)
  std::vector<float*> din;         // d loss / d input, null where not wanted; overwritten
  float* workspace = nullptr;      // backward_workspace_floats() floats in the plan's arena
  int64_t workspace_floats = 0;    // what the plan allocated (sized when it was compiled)
};

class Op {
 public:
  virtual ~Op() = default;
  virtual std::string name() const = 0;
  // Output shapes (batch included) from input shapes, or an error naming the problem.
  virtual Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const = 0;
  virtual int num_results() const { return 1; }
  virtual void forward(const OpForwardArgs& a) const = 0;
  // False for inputs with no gradient (indices, labels, state written in place).
  virtual bool differentiable(int /*input*/) const { return true; }
  virtual void backward(const OpBackwardArgs& a) const = 0;
  // True when forward writes into an external input (moving statistics,
  // stateful recurrent state): such nodes are never dropped as dead.
  virtual bool has_side_effects() const { return false; }
  // False for ops that draw random numbers (dropout, noise): never computed
  // once and reused, even when every input is a constant.
  virtual bool deterministic() const { return true; }
  // Scratch floats forward/backward need for these shapes (inputs, outputs
  // with saved tensors). The plan holds them in its arena: no op keeps
  // hidden buffers of its own.
  virtual int64_t forward_workspace_floats(const std::vector<Shape>& /*in*/, const std::vector<Shape>& /*out*/) const { return 0; }
  virtual int64_t backward_workspace_floats(const std::vector<Shape>& /*in*/, const std::vector<Shape>& /*out*/) const { return 0; }
  // Reference kernels (plain loops, double accumulators) for ops whose
  // forward/backward run fast kernels: the reference backend runs these and
  // test-backend-ops compares every backend with them. Ops without them
  // leave has_reference() false, and that backend leaves them to the CPU.
  virtual bool has_reference() const { return false; }
  virtual void forward_reference(const OpForwardArgs& a) const { forward(a); }
  virtual void backward_reference(const OpBackwardArgs& a) const { backward(a); }
};

using OpPtr = std::shared_ptr<const Op>;

}  // namespace kiln
