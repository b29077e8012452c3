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

BroadcastLoop::BroadcastLoop(const Shape& a, const Shape& b, const Shape& out) {
  const std::vector<int64_t> sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
  // Axes of size 1 walk nowhere; the rest merge (innermost first) while both
  // inputs' strides continue the inner axis's.
  std::vector<int64_t> dims, as, bs;  // innermost first
  for (size_t d = out.size(); d-- > 0;) {
    if (out[d] == 1) continue;
    if (!dims.empty() && sa[d] == as.back() * dims.back() && sb[d] == bs.back() * dims.back()) {
      dims.back() *= out[d];
      continue;
    }
    dims.push_back(out[d]), as.push_back(sa[d]), bs.push_back(sb[d]);
  }
  runs_ = shape_numel(out);
  if (dims.empty()) {  // one element
    len_ = runs_ > 0 ? 1 : 0, runs_ = runs_ > 0 ? 1 : 0;
    return;
  }
  len_ = dims[0], a_step_ = as[0], b_step_ = bs[0];
  runs_ = len_ > 0 ? runs_ / len_ : 0;
  for (size_t i = dims.size(); i-- > 1;) outer_.push_back(dims[i]), a_strides_.push_back(as[i]), b_strides_.push_back(bs[i]);
}

}  // namespace kiln
