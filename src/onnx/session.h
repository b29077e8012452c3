// A loaded ONNX model, ready to run: kiln.onnx.load(bytes) in JS, OnnxSession
// natively. Loading parses the file, checks that every node has a kernel and
// that the graph is ordered, folds every node whose inputs are all constants
// (the shape arithmetic PyTorch exports) into a constant, optimizes the graph
// (graph_optimizer.h) and plans its memory (memory_plan.h). The result is a
// flat list of kernel calls. Running makes those calls in order, writing into
// the planned buffers and dropping each value after its last use; shapes come
// from the inputs, so the batch size may change per run. One run at a time
// per session (runs lock).
#pragma once
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/onnx_model.h"
#include "onnx/graph_optimizer.h"
#include "onnx/op.h"
#include "onnx/value.h"

namespace kiln {

struct OnnxSessionOptions {
  bool optimize = true;  // false: run the graph as written (tests compare both)
};

class OnnxSession : public OnnxSubgraph {
 public:
  // `read_file` supplies external-data files (may be null when there are none).
  static Status load(const uint8_t* data, size_t size, std::unique_ptr<OnnxSession>* out,
                     const OnnxFileReader* read_file = nullptr, const OnnxSessionOptions& options = {});
  // The same from a parsed model (external data already resolved).
  static Status load_model(OnnxModel model, std::unique_ptr<OnnxSession>* out, const OnnxSessionOptions& options = {});

  // The graph's inputs (initializers excluded) and outputs, in model order.
  const std::vector<OnnxValueInfo>& inputs() const { return inputs_; }
  const std::vector<OnnxValueInfo>& outputs() const { return model_.graph.outputs; }
  int64_t opset() const { return opset_; }
  size_t num_nodes_to_run() const { return steps_.size(); }
  size_t num_folded_nodes() const { return folded_; }
  const OnnxOptimizeStats& optimize_stats() const { return stats_; }
  // The kernel calls, one line each: "op_type  inputs -> outputs  [buffer]".
  std::vector<std::string> plan_lines() const;
  // Counts: kernel calls, rewrites, planned buffers and their bytes after the last run.
  std::string plan_summary() const;

  // One kernel call of a profiled run: its wall time and its inputs' shapes.
  struct StepTiming {
    double ms = 0;
    std::string input_shapes;  // "[1, 64, 128], [128, 512]"
  };
  // feeds: one value per input, in inputs() order. outputs: one per output.
  // profile (optional): every kernel call, in plan_lines() order (kiln profile).
  Status run(const std::vector<OnnxValue>& feeds, std::vector<OnnxValue>* outputs,
             std::vector<StepTiming>* profile = nullptr) const;

  // OnnxSubgraph: a graph attribute run by its node's kernel (If, Loop, ...).
  size_t num_graph_inputs() const override { return num_graph_inputs_; }
  size_t num_graph_outputs() const override { return model_.graph.outputs.size(); }
  Status run_subgraph(const std::vector<OnnxValue>& feeds, std::vector<OnnxValue>* outputs) const override {
    return run(feeds, outputs);
  }

 private:
  // The sessions of one node's graph attributes and the view its kernel gets.
  struct NodeSubgraphs {
    std::vector<std::unique_ptr<OnnxSession>> sessions;
    OnnxNodeSubgraphs view;
  };
  struct Step {
    const OnnxNode* node;
    const OnnxOpEntry* op;
    const OnnxNodeSubgraphs* subgraphs;  // null for nodes without graph attributes
    std::vector<int> inputs;   // slot per node input, -1 when omitted
    std::vector<int> outputs;  // slot per node output, -1 when omitted
    std::vector<int> release;  // slots whose last use is this step
    std::vector<int> buffers;  // planned buffer per output, -1 for none
  };
  Status prepare(const OnnxSessionOptions& options);
  // Constant folding, optimization, steps and memory plan (after prepare()).
  Status finish_load(const OnnxSessionOptions& options);
  // Loads the graph attributes of `n` as sessions and appends the outer-scope
  // values they read to its inputs.
  Status load_subgraphs(OnnxNode* n, const OnnxSessionOptions& options);
  // Names the nodes read (graph outputs included) that this graph does not define.
  std::vector<std::string> outer_scope_names() const;
  Status fold_constants(std::vector<const OnnxNode*>* remaining);
  Status build_steps(const std::vector<const OnnxNode*>& nodes);
  void plan_memory();
  Status check_feed(size_t i, const OnnxValue& v) const;

  OnnxModel model_;
  int64_t opset_ = 0;
  bool optimize_ = true;          // OnnxSessionOptions::optimize
  bool is_subgraph_ = false;      // feeds' shapes are not checked (bodies' declared shapes are often stale)
  size_t num_graph_inputs_ = 0;   // inputs_ before the outer-scope values a subgraph appends
  std::map<std::string, std::unique_ptr<NodeSubgraphs>> subgraphs_;  // by the node's first output
  std::vector<OnnxValueInfo> inputs_;
  std::map<std::string, OnnxValue> constants_;
  size_t folded_ = 0;
  OnnxOptimizeStats stats_;
  std::deque<OnnxNode> optimized_nodes_;  // nodes the optimizer created (steps point here)
  // Run-time layout: every value has a slot; constants are filled once.
  std::map<std::string, int> slot_of_;
  std::vector<OnnxValue> constant_slots_;  // by slot (undefined where not constant)
  std::vector<int> input_slots_, output_slots_;
  std::vector<Step> steps_;
  // The planned buffers, kept between runs; the mutex makes runs take turns.
  mutable std::mutex run_mutex_;
  mutable std::vector<std::shared_ptr<ByteBuffer>> buffers_;
  mutable std::vector<float> scratch_;  // kernels' scratch (OnnxOpContext::scratch)
  mutable std::vector<OnnxValue> run_slots_;  // run()'s values by slot, kept for its capacity
};

}  // namespace kiln
