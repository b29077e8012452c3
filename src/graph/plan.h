// A compiled execution plan: the graph flattened into a list of kernel calls
// with every buffer address resolved ahead of time. Temporaries share one
// arena laid out by a static memory plan (values whose lifetimes do not
// overlap reuse the same bytes), so running the plan allocates nothing.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "graph/graph.h"

namespace kiln {

struct PlanStep {
  Node node;                    // op and attributes
  std::vector<float*> inputs;
  float* output = nullptr;
  std::vector<Shape> input_shapes;
  Shape output_shape;
  // kOp / kOpGrad: arguments prepared once at compile time.
  OpForwardArgs forward;
  OpBackwardArgs backward;
};

struct AlignedFree {
  void operator()(float* p) const;
};

class Plan {
 public:
  // `externals[v]` is the storage of external value v (parameters, optimizer
  // slots); `opt` and `step` are used by update nodes and may be null otherwise.
  static Status compile(const Graph& graph, const std::vector<float*>& externals, const OptimizerConfig* opt,
                        int64_t* step, std::unique_ptr<Plan>* out, Rng* rng = nullptr);

  void run();
  float* buffer(int value) const { return buffers_[size_t(value)]; }
  int64_t arena_bytes() const { return arena_bytes_; }
  int64_t unplanned_bytes() const { return unplanned_bytes_; }  // what one buffer per value would need

 private:
  std::vector<PlanStep> steps_;
  std::vector<float*> buffers_;
  std::unique_ptr<float, AlignedFree> arena_;
  int64_t arena_bytes_ = 0, unplanned_bytes_ = 0;
  const OptimizerConfig* opt_ = nullptr;
  int64_t* step_ = nullptr;
  // Every update's gradient, for global-norm clipping at the optimizer tick.
  std::vector<const float*> update_grads_;
  std::vector<int64_t> update_sizes_;
  float grad_scale_ = 1.0f;
};

// Assigns each value an arena offset so that values alive at the same time
// never overlap. lifetimes[v] = {first step, last step}, or {-1,-1} for values
// not in the arena. Returns the arena size in bytes.
int64_t plan_memory(const std::vector<int64_t>& bytes, const std::vector<std::pair<int, int>>& lifetimes,
                    std::vector<int64_t>* offsets);

}  // namespace kiln
