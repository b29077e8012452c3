// The static memory plan of an ONNX session: at load, each value a kernel
// writes is given one of a few reusable buffers, so that values whose
// lifetimes do not overlap share storage. Shapes (the batch size) are only
// known at run time, so buffers are sized by their first use and grow when a
// later run needs more; a run at the same shapes allocates nothing.
#pragma once
#include <vector>

namespace kiln {

struct OnnxPlanStep {
  std::vector<int> inputs, outputs;  // value slots, -1 when omitted
  bool output_aliases_input = false;  // Reshape-like: output 0 shares input 0's storage
};

struct OnnxMemoryPlan {
  std::vector<std::vector<int>> buffer_of_output;  // per step, per output: buffer or -1
  int num_buffers = 0;
};

// `pinned[slot]`: values that never get a planned buffer (feeds, constants,
// graph outputs, which the caller keeps); values aliasing them are pinned too.
OnnxMemoryPlan plan_onnx_memory(const std::vector<OnnxPlanStep>& steps, const std::vector<bool>& pinned);

}  // namespace kiln
