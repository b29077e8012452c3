#include "train/loss.h"

#include <algorithm>
#include <cmath>

#include "core/enum_names.h"

namespace kiln {

namespace {
constexpr float kEpsilon = 1e-7f;  // TF.js's clipping epsilon for probabilities

int64_t argmax(const float* row, int64_t cols) {
  int64_t best = 0;
  for (int64_t c = 1; c < cols; ++c)
    if (row[c] > row[best]) best = c;
  return best;
}

// log-softmax of one row at index c, computed from the max-shifted sum.
struct RowLogSumExp {
  float max, log_sum;
  RowLogSumExp(const float* row, int64_t cols) {
    max = row[0];
    for (int64_t c = 1; c < cols; ++c) max = std::max(max, row[c]);
    double sum = 0;
    for (int64_t c = 0; c < cols; ++c) sum += std::exp(double(row[c] - max));
    log_sum = float(std::log(sum));
  }
  float log_prob(float logit) const { return logit - max - log_sum; }
};

// Class index from a sparse target, clamped so a bad label cannot index out of bounds.
int64_t sparse_label(float t, int64_t cols) {
  int64_t k = int64_t(t);
  return std::min<int64_t>(std::max<int64_t>(k, 0), cols - 1);
}
}  // namespace

const char* loss_name(LossKind kind) {
  switch (kind) {
    case LossKind::kCategoricalCrossentropy: return "categoricalCrossentropy";
    case LossKind::kSparseCategoricalCrossentropy: return "sparseCategoricalCrossentropy";
    case LossKind::kMeanSquaredError: return "meanSquaredError";
  }
  return "?";
}

bool loss_from_name(const std::string& name, LossKind* out) {
  return enum_from_name(name, kNumLossKinds, loss_name, out);
}

bool loss_is_sparse(LossKind kind) { return kind == LossKind::kSparseCategoricalCrossentropy; }

float loss_forward(LossKind kind, bool from_logits, const float* pred, const float* target, int64_t rows,
                   int64_t cols) {
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = pred + r * cols;
    switch (kind) {
      case LossKind::kMeanSquaredError: {
        const float* t = target + r * cols;
        double s = 0;
        for (int64_t c = 0; c < cols; ++c) s += double(p[c] - t[c]) * (p[c] - t[c]);
        total += s / double(cols);
        break;
      }
      case LossKind::kCategoricalCrossentropy: {
        const float* t = target + r * cols;
        if (from_logits) {
          RowLogSumExp lse(p, cols);
          for (int64_t c = 0; c < cols; ++c) total -= double(t[c]) * lse.log_prob(p[c]);
        } else {
          for (int64_t c = 0; c < cols; ++c)
            total -= double(t[c]) * std::log(std::min(std::max(p[c], kEpsilon), 1.0f - kEpsilon));
        }
        break;
      }
      case LossKind::kSparseCategoricalCrossentropy: {
        int64_t k = sparse_label(target[r], cols);
        if (from_logits) total -= RowLogSumExp(p, cols).log_prob(p[k]);
        else total -= std::log(std::min(std::max(p[k], kEpsilon), 1.0f - kEpsilon));
        break;
      }
    }
  }
  return rows > 0 ? float(total / double(rows)) : 0.0f;
}

void loss_backward(LossKind kind, bool from_logits, const float* pred, const float* target, float* grad,
                   int64_t rows, int64_t cols) {
  const float inv_rows = rows > 0 ? 1.0f / float(rows) : 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = pred + r * cols;
    float* g = grad + r * cols;
    if (kind == LossKind::kMeanSquaredError) {
      const float* t = target + r * cols;
      const float scale = 2.0f * inv_rows / float(cols);
      for (int64_t c = 0; c < cols; ++c) g[c] = scale * (p[c] - t[c]);
      continue;
    }
    const bool sparse = kind == LossKind::kSparseCategoricalCrossentropy;
    const int64_t label = sparse ? sparse_label(target[r], cols) : -1;
    auto t_at = [&](int64_t c) { return sparse ? (c == label ? 1.0f : 0.0f) : target[r * cols + c]; };
    if (from_logits) {
      // d/dz of -sum t log softmax(z) = softmax(z) * sum(t) - t.
      RowLogSumExp lse(p, cols);
      float t_sum = 0;
      for (int64_t c = 0; c < cols; ++c) t_sum += t_at(c);
      for (int64_t c = 0; c < cols; ++c) g[c] = (std::exp(lse.log_prob(p[c])) * t_sum - t_at(c)) * inv_rows;
    } else {
      for (int64_t c = 0; c < cols; ++c) {
        bool clipped = p[c] < kEpsilon || p[c] > 1.0f - kEpsilon;
        g[c] = clipped ? 0.0f : -t_at(c) / p[c] * inv_rows;
      }
    }
  }
}

int64_t accuracy_count(LossKind kind, const float* pred, const float* target, int64_t rows, int64_t cols) {
  int64_t correct = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = pred + r * cols;
    if (kind == LossKind::kSparseCategoricalCrossentropy) {
      correct += argmax(p, cols) == int64_t(target[r]);
    } else if (cols == 1) {
      correct += (p[0] > 0.5f) == (target[r] > 0.5f);
    } else {
      correct += argmax(p, cols) == argmax(target + r * cols, cols);
    }
  }
  return correct;
}

}  // namespace kiln
