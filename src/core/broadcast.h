// Numpy-style broadcasting, shared vocabulary (core) for the Layers ops
// (src/ops: PReLU's alpha, a dropout mask with a noise shape) and the ONNX
// runtime (src/onnx: multidirectional broadcasting of the elementwise ops,
// MatMul's batch axes, Expand, Where). One rule: shapes align at their last
// axis, and each pair of dimensions is equal or one of them is 1.
#pragma once
#include <cstdint>
#include <vector>

#include "core/shape.h"
#include "core/status.h"

namespace kiln {

// The broadcast shape of a and b, or an error naming both shapes
// ("shapes [2, 3] and [4] do not broadcast").
Status broadcast_shape(const Shape& a, const Shape& b, Shape* out);

// Whether `in` broadcasts to exactly `out` (unidirectional: no higher rank,
// each dimension equal to out's or 1).
bool broadcasts_to(const Shape& in, const Shape& out);

// Strides of an input of shape `in` per axis of `out` (in broadcast to out):
// right-aligned row-major strides of `in`, 0 where `in` is broadcast.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Walks an output of shape `out` and yields the flat offset into an input of
// shape `in` (already broadcastable to `out`) for each output element, in order.
class BroadcastIndex {
 public:
  BroadcastIndex(const Shape& in, const Shape& out);
  // Offsets for output elements [0, n): fills `offsets` (none when the output
  // has a negative dimension or more than kMaxOffsets elements).
  void offsets(std::vector<int64_t>* offsets) const;
  bool identity() const { return identity_; }  // same shape: offset == index
  bool scalar() const { return scalar_; }      // one element read everywhere

  static constexpr int64_t kMaxOffsets = int64_t(1) << 31;

 private:
  Shape out_;
  std::vector<int64_t> strides_;  // per output axis; 0 where broadcast
  bool identity_ = false, scalar_ = false;
};

// Two inputs broadcast to `out`, walked as runs: stretches of output elements
// along which each input either advances one element at a time (step 1) or
// stays on one element (step 0). Adjacent axes that walk alike are merged
// first, so an NHWC tensor with a per-channel operand is N*H*W runs of C, and
// an NCHW one with [C, 1, 1] is N*C runs of H*W: inner loops the compiler
// vectorizes, with no per-element index table.
class BroadcastLoop {
 public:
  BroadcastLoop(const Shape& a, const Shape& b, const Shape& out);
  int64_t runs() const { return runs_; }
  int64_t run_length() const { return len_; }
  int64_t a_step() const { return a_step_; }
  int64_t b_step() const { return b_step_; }
  // Calls fn(out_offset, a_offset, b_offset) for runs [begin, end), in order.
  template <typename F>
  void for_runs(int64_t begin, int64_t end, F fn) const {
    if (begin >= end) return;
    const size_t k = outer_.size();
    std::vector<int64_t> idx(k, 0);
    int64_t oa = 0, ob = 0, r = begin;
    for (size_t d = k; d-- > 0;) {  // the start run's position
      idx[d] = r % outer_[d];
      r /= outer_[d];
      oa += idx[d] * a_strides_[d], ob += idx[d] * b_strides_[d];
    }
    for (int64_t run = begin; run < end; ++run) {
      fn(run * len_, oa, ob);
      for (size_t d = k; d-- > 0;) {  // odometer increment
        oa += a_strides_[d], ob += b_strides_[d];
        if (++idx[d] < outer_[d]) break;
        oa -= a_strides_[d] * outer_[d], ob -= b_strides_[d] * outer_[d];
        idx[d] = 0;
      }
    }
  }

 private:
  std::vector<int64_t> outer_, a_strides_, b_strides_;  // the merged axes outside the run
  int64_t runs_ = 0, len_ = 1, a_step_ = 0, b_step_ = 0;
};

// A tensor of shape `full` seen as rows of its last axis, each paired with
// the offset of the matching row of an operand of shape `small` (same rank,
// each dimension equal to full's or 1). Within a row the operand advances by
// `small_col_stride` (1, or 0 when the last axis is broadcast).
class BroadcastRows {
 public:
  BroadcastRows(const Shape& full, const Shape& small)
      : full_(full), strides_(broadcast_strides(small, full)) {
    cols_ = full.empty() ? 1 : full.back();
    rows_ = cols_ > 0 ? shape_numel(full) / cols_ : 0;
    small_col_stride_ = full.empty() ? 0 : strides_.back();
  }
  // True when `small` fits `full` (same rank; each dimension equal or 1).
  static bool compatible(const Shape& full, const Shape& small) {
    return full.size() == small.size() && broadcasts_to(small, full);
  }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t small_col_stride() const { return small_col_stride_; }
  int64_t small_offset(int64_t row) const {
    int64_t off = 0;
    for (size_t d = full_.size() - 1; d-- > 0;) {
      const int64_t idx = row % full_[d];
      row /= full_[d];
      off += idx * strides_[d];
    }
    return off;
  }

 private:
  Shape full_;
  std::vector<int64_t> strides_;
  int64_t rows_ = 0, cols_ = 1, small_col_stride_ = 0;
};

}  // namespace kiln
