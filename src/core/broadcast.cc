#include "core/broadcast.h"

#include <algorithm>

namespace kiln {

Status broadcast_shape(const Shape& a, const Shape& b, Shape* out) {
  const size_t rank = std::max(a.size(), b.size());
  Shape s(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return Status::error("shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not broadcast");
    s[i] = da == 1 ? db : da;
  }
  *out = std::move(s);
  return Status();
}

bool broadcasts_to(const Shape& in, const Shape& out) {
  Shape s;
  return broadcast_shape(in, out, &s).ok() && s == out;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  const std::vector<int64_t> st = shape_strides(in);
  std::vector<int64_t> strides(out.size(), 0);
  for (size_t k = 0; k < in.size(); ++k) {
    const size_t axis_in = in.size() - 1 - k, axis_out = out.size() - 1 - k;
    strides[axis_out] = in[axis_in] == 1 ? 0 : st[axis_in];
  }
  return strides;
}

BroadcastIndex::BroadcastIndex(const Shape& in, const Shape& out) : out_(out), strides_(broadcast_strides(in, out)) {
  identity_ = in == out;
  scalar_ = shape_numel(in) == 1;
}

void BroadcastIndex::offsets(std::vector<int64_t>* offsets) const {
  const int64_t n = shape_numel(out_, kMaxOffsets);
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
