#include "ops/reshape.h"

#include <cstring>

namespace kiln {

Status ReshapeOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1) return Status::error("Reshape takes one input");
  if (shape_numel(in[0]) != shape_numel(shape_))
    return Status::error("Reshape: cannot view " + shape_to_string(in[0]) + " as " + shape_to_string(shape_) +
                         " (element counts differ)");
  *out = {shape_};
  return Status();
}

void ReshapeOp::forward(const OpForwardArgs& a) const {
  std::memcpy(a.out[0], a.in[0], size_t(shape_numel(shape_)) * sizeof(float));
}

void ReshapeOp::backward(const OpBackwardArgs& a) const {
  if (a.din[0]) std::memcpy(a.din[0], a.dout[0], size_t(shape_numel(shape_)) * sizeof(float));
}

Status ZerosLikeOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1) return Status::error("ZerosLike takes one input");
  *out = {in[0]};
  return Status();
}

void ZerosLikeOp::forward(const OpForwardArgs& a) const {
  std::memset(a.out[0], 0, size_t(shape_numel(a.out_shapes[0])) * sizeof(float));
}

}  // namespace kiln
