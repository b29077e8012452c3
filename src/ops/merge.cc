#include "ops/merge.h"

#include <cstring>

#include "core/thread_pool.h"

namespace kiln {

const char* merge_kind_name(MergeKind kind) {
  switch (kind) {
    case MergeKind::kAdd: return "Add";
    case MergeKind::kSubtract: return "Subtract";
    case MergeKind::kMultiply: return "Multiply";
    case MergeKind::kAverage: return "Average";
    case MergeKind::kMaximum: return "Maximum";
    case MergeKind::kMinimum: return "Minimum";
  }
  return "?";
}

Status MergeOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (kind_ == MergeKind::kSubtract ? in.size() != 2 : in.size() < 2)
    return Status::error(std::string(name()) + (kind_ == MergeKind::kSubtract ? " takes exactly two inputs" : " takes at least two inputs") +
                         ", got " + std::to_string(in.size()));
  for (size_t i = 1; i < in.size(); ++i)
    if (in[i] != in[0])
      return Status::error(std::string(name()) + ": inputs must have the same shape, got " + shape_to_string(in[0]) + " and " +
                           shape_to_string(in[i]));
  *out = {in[0]};
  return Status();
}

namespace {
constexpr int64_t kChunk = 16384;
}

void MergeOp::forward(const OpForwardArgs& a) const {
  const int64_t n = shape_numel(a.out_shapes[0]);
  const size_t k = a.in.size();
  float* y = a.out[0];
  parallel_range(n, kChunk, [&](int64_t b, int64_t e) {
    const float* x0 = a.in[0];
    for (int64_t i = b; i < e; ++i) y[i] = x0[i];
    for (size_t j = 1; j < k; ++j) {
      const float* x = a.in[j];
      switch (kind_) {
        case MergeKind::kAdd:
        case MergeKind::kAverage:
          for (int64_t i = b; i < e; ++i) y[i] += x[i];
          break;
        case MergeKind::kSubtract:
          for (int64_t i = b; i < e; ++i) y[i] -= x[i];
          break;
        case MergeKind::kMultiply:
          for (int64_t i = b; i < e; ++i) y[i] *= x[i];
          break;
        case MergeKind::kMaximum:
          for (int64_t i = b; i < e; ++i) y[i] = x[i] > y[i] ? x[i] : y[i];
          break;
        case MergeKind::kMinimum:
          for (int64_t i = b; i < e; ++i) y[i] = x[i] < y[i] ? x[i] : y[i];
          break;
      }
    }
    if (kind_ == MergeKind::kAverage) {
      const float inv = 1.0f / float(k);
      for (int64_t i = b; i < e; ++i) y[i] *= inv;
    }
  });
}

void MergeOp::backward(const OpBackwardArgs& a) const {
  const int64_t n = shape_numel(a.out_shapes[0]);
  const size_t k = a.in.size();
  const float* dy = a.dout[0];
  parallel_range(n, kChunk, [&](int64_t b, int64_t e) {
    for (size_t j = 0; j < k; ++j) {
      float* dx = a.din[j];
      if (!dx) continue;
      switch (kind_) {
        case MergeKind::kAdd:
          std::memcpy(dx + b, dy + b, size_t(e - b) * sizeof(float));
          break;
        case MergeKind::kSubtract:
          if (j == 0) std::memcpy(dx + b, dy + b, size_t(e - b) * sizeof(float));
          else for (int64_t i = b; i < e; ++i) dx[i] = -dy[i];
          break;
        case MergeKind::kAverage: {
          const float inv = 1.0f / float(k);
          for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * inv;
          break;
        }
        case MergeKind::kMultiply:
          // The product of the other inputs (no division: inputs may be zero).
          for (int64_t i = b; i < e; ++i) dx[i] = dy[i];
          for (size_t m = 0; m < k; ++m) {
            if (m == j) continue;
            const float* x = a.in[m];
            for (int64_t i = b; i < e; ++i) dx[i] *= x[i];
          }
          break;
        case MergeKind::kMaximum:
        case MergeKind::kMinimum: {
          // The gradient goes to the first input equal to the result.
          const float* y = a.out[0];
          for (int64_t i = b; i < e; ++i) {
            size_t first = 0;
            while (first < k && a.in[first][i] != y[i]) ++first;
            dx[i] = first == j ? dy[i] : 0.0f;
          }
          break;
        }
      }
    }
  });
}

}  // namespace kiln
