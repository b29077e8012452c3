// A compiled execution plan: the graph placed on backends and flattened into
// a list of prepared kernel calls, with every buffer resolved ahead of time.
// Each backend gets one arena laid out by a static memory plan (values whose
// lifetimes do not overlap reuse the same bytes) that also holds the largest
// workspace its kernels ask for, so running the plan allocates nothing.
// Where a value crosses backends the plan copies it (upload / download), and
// the caller reads inputs and results in host memory whatever ran them.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/json.h"
#include "graph/graph.h"
#include "runtime/placement.h"

namespace kiln {

struct AlignedFree {
  void operator()(float* p) const;
};

struct PlanOptions {
  BackendChoice backends;  // empty: the CPU backend alone
  // Values the caller reads after run(): alive to the end and in host
  // memory. Empty: every value no step reads.
  std::vector<int> results;
  // The externals nothing in the plan writes stay as they are between runs
  // until this counter changes (the model bumps it whenever its weights may
  // have). With it, steps that read only such constants (batch-norm folding
  // of weights) run once per change instead of every run, and kernels may
  // keep data derived from constant inputs (packed filters). Null: externals
  // may change between any two runs.
  const uint64_t* constants_version = nullptr;
  // Inputs fed between run_first_part() and run_rest() (an eager model
  // call's output gradients, known only after its outputs were used): the
  // steps split at the first that reads one, and results written before the
  // split can be read after the first part.
  std::vector<int> late_inputs;
};

// One step of the flat list, for reports: a node or a copy between backends.
struct PlacedStep {
  int node = -1;  // graph node index; -1 for a copy
  std::string op;  // the node's op, or "Copy"
  std::string backend;  // where it runs (a copy: its destination)
  std::string fallback;  // why the preferred backend did not take the node; empty when it did
  bool constant = false;  // reads only constants: runs once per change of them, not every run
};

class Plan {
 public:
  // `externals[v]` is the storage of external value v (parameters, optimizer
  // slots); `opt` and `step` are used by update nodes and may be null otherwise.
  static Status compile(const Graph& graph, const std::vector<float*>& externals, const OptimizerConfig* opt,
                        int64_t* step, std::unique_ptr<Plan>* out, Rng* rng = nullptr,
                        const PlanOptions* options = nullptr);

  void run();
  // The two parts of a plan with late inputs (PlanOptions::late_inputs): run
  // the first, read its results and feed the late inputs, then run the rest.
  // The arena holds what the rest needs from the first part in between, so
  // no other run of this plan may come between them.
  void run_first_part();
  void run_rest();
  // Host address of a graph value: inputs, results, and every value a
  // host-memory backend holds; null for a value only a device holds.
  float* buffer(int value) const { return host_[size_t(value)]; }
  int64_t arena_bytes() const { return arena_bytes_; }  // every backend's arena together
  int64_t unplanned_bytes() const { return unplanned_bytes_; }  // what one buffer per value would need
  const std::vector<PlacedStep>& placement() const { return placement_; }
  // {"steps": [{op, backend, node?, fallback?, constant?}], "copies": n, "fallbacks": n}
  Json placement_json() const;

 private:
  struct Step {
    Backend* backend;
    std::unique_ptr<Kernel> kernel;
  };
  std::vector<Node> nodes_;  // the graph's nodes; bindings point here
  std::vector<std::unique_ptr<BackendBuffer>> memory_;  // arenas, and the externals lent by the caller
  std::vector<float*> host_;
  std::vector<Step> steps_;
  std::vector<Step> constant_steps_;  // run before steps_ when the constants changed
  size_t split_ = 0;  // steps_[split_..] depend on the late inputs (split_ == steps_.size() when there are none)
  const uint64_t* constants_version_ = nullptr;
  uint64_t constants_seen_ = 0;
  bool constants_ready_ = false;
  std::vector<Backend*> backends_;  // every backend a step runs on
  std::vector<PlacedStep> placement_;
  std::unique_ptr<StepContext> context_;
  int64_t arena_bytes_ = 0, unplanned_bytes_ = 0;
};

// Assigns each value an arena offset so that values alive at the same time
// never overlap. lifetimes[v] = {first step, last step}, or {-1,-1} for values
// not in the arena. Returns the arena size in bytes.
int64_t plan_memory(const std::vector<int64_t>& bytes, const std::vector<std::pair<int, int>>& lifetimes,
                    std::vector<int64_t>* offsets);

}  // namespace kiln
