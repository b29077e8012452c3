// Numpy-style (multidirectional) broadcasting for ONNX's elementwise ops:
// the output shape, and for each output element the offsets of the elements
// of each input it reads.
#pragma once
#include <vector>

#include "onnx/value.h"

namespace kiln {

// The broadcast shape of a and b, or an error naming both shapes.
Status onnx_broadcast_shape(const OnnxShape& a, const OnnxShape& b, OnnxShape* out);

// Walks an output of shape `out` and yields the flat offset into an input of
// shape `in` (already broadcastable to `out`) for each output element, in order.
class BroadcastIndex {
 public:
  BroadcastIndex(const OnnxShape& in, const OnnxShape& out);
  // Offsets for output elements [0, n): fills `offsets`.
  void offsets(std::vector<int64_t>* offsets) const;
  bool identity() const { return identity_; }  // same shape: offset == index
  bool scalar() const { return scalar_; }      // one element read everywhere

 private:
  OnnxShape out_;
  std::vector<int64_t> strides_;  // per output axis; 0 where broadcast
  bool identity_ = false, scalar_ = false;
};

}  // namespace kiln
