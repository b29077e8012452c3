// CategoryEncoding: integer category ids (held as floats, as every Layers
// value) to per-sample vectors of num_tokens: one-hot (one id per sample),
// multi-hot (1 where an id occurs) or counts. An id outside [0, num_tokens)
// is reported (graph/op_errors.h). Not differentiable: ids are not continuous.
#pragma once
#include <cstdint>

#include "graph/op.h"

namespace kiln {

enum class CategoryOutput { kOneHot, kMultiHot, kCount };

class CategoryEncodingOp : public Op {
 public:
  CategoryEncodingOp(int64_t num_tokens, CategoryOutput mode) : num_tokens_(num_tokens), mode_(mode) {}
  std::string name() const override { return "CategoryEncoding"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  bool differentiable(int) const override { return false; }
  void backward(const OpBackwardArgs&) const override {}

 private:
  int64_t num_tokens_;
  CategoryOutput mode_;
};

}  // namespace kiln
