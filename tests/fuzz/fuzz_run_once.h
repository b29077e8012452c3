// What every harness does after a successful load: run the model once on
// zero inputs of its declared shapes (symbolic dimensions as 1), so kernels
// and the memory plan see whatever the file describes. Inputs over a million
// elements are skipped: they only make the run slow, not reach new code.
#pragma once
#include <memory>
#include <vector>

#include "api/model.h"
#include "core/shape.h"
#include "onnx/session.h"

namespace kiln {

constexpr int64_t kFuzzMaxInputElements = int64_t(1) << 20;

inline void fuzz_run_session(const OnnxSession& s) {
  std::vector<OnnxValue> feeds;
  for (const OnnxValueInfo& in : s.inputs()) {
    if (in.kind != OnnxValueKind::kTensor) return;
    OnnxShape shape;
    for (const OnnxDim& d : in.shape) shape.push_back(d.value > 0 ? d.value : 1);
    const int64_t n = shape_numel(shape);
    if (n < 0 || n > kFuzzMaxInputElements) return;
    OnnxValue v;
    if (!OnnxValue::make(in.elem_type == DataType::kUndefined ? DataType::kFloat32 : in.elem_type, shape, &v).ok()) return;
    feeds.push_back(std::move(v));
  }
  std::vector<OnnxValue> outputs;
  (void)s.run(feeds, &outputs);
}

inline void fuzz_run_model(Model& m) {
  std::vector<std::vector<float>> xs;
  std::vector<const float*> ins;
  for (size_t i = 0; i < m.num_inputs(); ++i) {
    const int64_t n = shape_numel(m.input_shape(i));
    if (n < 0 || n > kFuzzMaxInputElements) return;
    xs.emplace_back(size_t(n), 0.5f);
    ins.push_back(xs.back().data());
  }
  std::vector<std::vector<float>> ys;
  std::vector<float*> outs;
  for (size_t i = 0; i < m.num_outputs(); ++i) {
    const int64_t n = shape_numel(m.output_shape(i));
    if (n < 0 || n > kFuzzMaxInputElements) return;
    ys.emplace_back(size_t(n), 0.0f);
    outs.push_back(ys.back().data());
  }
  (void)m.predict(ins, 1, outs);
}

}  // namespace kiln

