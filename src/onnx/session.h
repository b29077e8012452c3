// A loaded ONNX model, ready to run: kiln.onnx.load(bytes) in JS, OnnxSession
// natively. Loading parses the file, checks that every node has a kernel and
// that the graph is ordered, and folds every node whose inputs are all
// constants (the shape arithmetic PyTorch exports) into a constant. Running
// executes the remaining nodes in order, freeing each value after its last
// use; shapes come from the inputs, so the batch size may change per run.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/onnx_model.h"
#include "onnx/op.h"
#include "onnx/value.h"

namespace kiln {

class OnnxSession {
 public:
  // `read_file` supplies external-data files (may be null when there are none).
  static Status load(const uint8_t* data, size_t size, std::unique_ptr<OnnxSession>* out,
                     const OnnxFileReader* read_file = nullptr);

  // The graph's inputs (initializers excluded) and outputs, in model order.
  const std::vector<OnnxValueInfo>& inputs() const { return inputs_; }
  const std::vector<OnnxValueInfo>& outputs() const { return model_.graph.outputs; }
  int64_t opset() const { return opset_; }
  size_t num_nodes_to_run() const { return steps_.size(); }
  size_t num_folded_nodes() const { return folded_; }

  // feeds: one value per input, in inputs() order. outputs: one per output.
  Status run(const std::vector<OnnxValue>& feeds, std::vector<OnnxValue>* outputs) const;

 private:
  struct Step {
    const OnnxNode* node;
    const OnnxOpEntry* op;
    std::vector<int> inputs;   // slot per node input, -1 when omitted
    std::vector<int> outputs;  // slot per node output, -1 when omitted
    std::vector<int> release;  // slots whose last use is this step
  };
  Status prepare();
  Status fold_constants();
  Status check_feed(size_t i, const OnnxValue& v) const;

  OnnxModel model_;
  int64_t opset_ = 0;
  std::vector<OnnxValueInfo> inputs_;
  std::map<std::string, OnnxValue> constants_;
  size_t folded_ = 0;
  // Run-time layout: every value has a slot; constants are filled once.
  std::map<std::string, int> slot_of_;
  std::vector<OnnxValue> constant_slots_;  // by slot (undefined where not constant)
  std::vector<int> input_slots_, output_slots_;
  std::vector<Step> steps_;
};

}  // namespace kiln
