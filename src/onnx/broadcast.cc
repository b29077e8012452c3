#include "onnx/broadcast.h"

#include <algorithm>

namespace kiln {

Status onnx_broadcast_shape(const OnnxShape& a, const OnnxShape& b, OnnxShape* out) {
  const size_t rank = std::max(a.size(), b.size());
  OnnxShape s(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return Status::error("shapes " + onnx_shape_string(a) + " and " + onnx_shape_string(b) + " do not broadcast");
    s[i] = da == 1 ? db : da;
  }
  *out = std::move(s);
  return Status();
}

BroadcastIndex::BroadcastIndex(const OnnxShape& in, const OnnxShape& out) : out_(out), strides_(out.size(), 0) {
  identity_ = in == out;
  scalar_ = onnx_checked_numel(in) == 1;
  int64_t stride = 1;
  for (size_t k = 0; k < in.size(); ++k) {
    const size_t axis_in = in.size() - 1 - k, axis_out = out.size() - 1 - k;
    strides_[axis_out] = in[axis_in] == 1 ? 0 : stride;
    stride *= in[axis_in];
  }
}

void BroadcastIndex::offsets(std::vector<int64_t>* offsets) const {
  const int64_t n = onnx_checked_numel(out_);
  offsets->resize(size_t(std::max<int64_t>(n, 0)));
  if (n <= 0) return;
  std::vector<int64_t> idx(out_.size(), 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    (*offsets)[size_t(i)] = off;
    for (size_t d = out_.size(); d-- > 0;) {  // odometer increment
      ++idx[d];
      off += strides_[d];
      if (idx[d] < out_[d]) break;
      off -= strides_[d] * out_[d];
      idx[d] = 0;
    }
  }
}

}  // namespace kiln
