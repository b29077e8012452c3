#include "onnx/memory_plan.h"

#include <algorithm>

namespace kiln {

OnnxMemoryPlan plan_onnx_memory(const std::vector<OnnxPlanStep>& steps, const std::vector<bool>& pinned) {
  const size_t slots = pinned.size();
  // A Reshape-like output lives in its input's storage: plan the root value.
  std::vector<int> root(slots);
  for (size_t s = 0; s < slots; ++s) root[s] = int(s);
  for (const OnnxPlanStep& st : steps)
    if (st.output_aliases_input && !st.inputs.empty() && st.inputs[0] >= 0 && !st.outputs.empty() && st.outputs[0] >= 0)
      root[size_t(st.outputs[0])] = root[size_t(st.inputs[0])];
  std::vector<bool> root_pinned(slots, false);
  for (size_t s = 0; s < slots; ++s)
    if (pinned[s]) root_pinned[size_t(root[s])] = true;
  // A root's storage is free after the last step reading it or any alias of it.
  std::vector<int> last_use(slots, -1);
  for (size_t i = 0; i < steps.size(); ++i) {
    for (int s : steps[i].inputs)
      if (s >= 0) last_use[size_t(root[size_t(s)])] = int(i);
    for (int s : steps[i].outputs)
      if (s >= 0) last_use[size_t(root[size_t(s)])] = std::max(last_use[size_t(root[size_t(s)])], int(i));
  }
  OnnxMemoryPlan plan;
  std::vector<int> buffer_of_root(slots, -1), free_buffers;
  for (size_t i = 0; i < steps.size(); ++i) {
    std::vector<int>& bufs = plan.buffer_of_output.emplace_back(steps[i].outputs.size(), -1);
    for (size_t k = 0; k < steps[i].outputs.size(); ++k) {
      const int s = steps[i].outputs[k];
      if (s < 0 || root[size_t(s)] != s || root_pinned[size_t(s)]) continue;
      int b;
      if (free_buffers.empty()) {
        b = plan.num_buffers++;
      } else {
        b = free_buffers.back();
        free_buffers.pop_back();
      }
      buffer_of_root[size_t(s)] = bufs[k] = b;
    }
    // Buffers whose values die here are reusable from the next step on (this
    // step still reads its inputs while writing its outputs).
    for (size_t s = 0; s < slots; ++s)
      if (buffer_of_root[s] >= 0 && last_use[s] == int(i)) {
        free_buffers.push_back(buffer_of_root[s]);
        buffer_of_root[s] = -1;
      }
  }
  return plan;
}

}  // namespace kiln
