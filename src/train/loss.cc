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

float clip_probability(float p) { return std::min(std::max(p, kEpsilon), 1.0f - kEpsilon); }
// TF.js clipByValue passes the gradient only inside [lo, hi] (ends included).
bool inside(float p, float lo, float hi) { return p >= lo && p <= hi; }

// Losses that are a mean over the columns of a per-element term (TF.js
// mean(..., -1)): the term, and its derivative in p. Huber uses delta 1;
// hinge and squaredHinge take the labels as given (-1/1): TF.js does not
// convert 0/1 labels. The epsilon is TF.js's: meanSquaredLogarithmicError
// clips p and t below at it (the gradient passes where p >= eps),
// meanAbsolutePercentageError clips |t| below at it, poisson adds it to p.
double elementwise_loss(LossKind kind, bool from_logits, float p, float t) {
  switch (kind) {
    case LossKind::kSquaredHinge: {
      const double m = std::max(0.0, 1.0 - double(t) * p);
      return m * m;
    }
    case LossKind::kLogcosh: {  // log(cosh(e)) = |e| + log1p(exp(-2|e|)) - log 2, stable for any e
      const double e = std::fabs(double(p) - t);
      return e + std::log1p(std::exp(-2.0 * e)) - std::log(2.0);
    }
    case LossKind::kMeanSquaredLogarithmicError: {
      const double d = std::log1p(double(std::max(p, kEpsilon))) - std::log1p(double(std::max(t, kEpsilon)));
      return d * d;
    }
    case LossKind::kMeanAbsolutePercentageError:
      return 100.0 * std::fabs(double(t) - p) / double(std::max(std::fabs(t), kEpsilon));
    case LossKind::kPoisson: return double(p) - double(t) * std::log(double(p) + kEpsilon);
    case LossKind::kMeanSquaredError: return double(p - t) * (p - t);
    case LossKind::kMeanAbsoluteError: return std::fabs(double(p) - t);
    case LossKind::kHuberLoss: {
      const double e = std::fabs(double(p) - t);
      return e <= 1 ? 0.5 * e * e : e - 0.5;
    }
    case LossKind::kHinge: return std::max(0.0, 1.0 - double(t) * p);
    case LossKind::kBinaryCrossentropy:
      if (from_logits) return std::max(double(p), 0.0) - double(p) * t + std::log1p(std::exp(-std::fabs(double(p))));
      p = clip_probability(p);
      return -(t * std::log(double(p)) + (1.0 - t) * std::log1p(-double(p)));
    default: return 0;
  }
}

float elementwise_grad(LossKind kind, bool from_logits, float p, float t) {
  switch (kind) {
    case LossKind::kSquaredHinge: return -2.0f * t * std::max(0.0f, 1.0f - t * p);
    case LossKind::kLogcosh: return std::tanh(p - t);
    case LossKind::kMeanSquaredLogarithmicError:
      if (p < kEpsilon) return 0.0f;
      return float(2.0 * (std::log1p(double(p)) - std::log1p(double(std::max(t, kEpsilon)))) / (1.0 + p));
    case LossKind::kMeanAbsolutePercentageError:
      return (p > t ? 100.0f : p < t ? -100.0f : 0.0f) / std::max(std::fabs(t), kEpsilon);
    case LossKind::kPoisson: return float(1.0 - double(t) / (double(p) + kEpsilon));
    case LossKind::kMeanSquaredError: return 2.0f * (p - t);
    case LossKind::kMeanAbsoluteError: return p > t ? 1.0f : p < t ? -1.0f : 0.0f;
    case LossKind::kHuberLoss: return std::min(std::max(p - t, -1.0f), 1.0f);
    case LossKind::kHinge: return 1.0f - t * p > 0.0f ? -t : 0.0f;
    case LossKind::kBinaryCrossentropy:
      if (from_logits) return 1.0f / (1.0f + std::exp(-p)) - t;
      return inside(p, kEpsilon, 1.0f - kEpsilon) ? (p - t) / (p * (1.0f - p)) : 0.0f;
    default: return 0;
  }
}

bool is_elementwise(LossKind kind) {
  return kind == LossKind::kMeanSquaredError || kind == LossKind::kMeanAbsoluteError || kind == LossKind::kHuberLoss ||
         kind == LossKind::kHinge || kind == LossKind::kBinaryCrossentropy || kind == LossKind::kSquaredHinge ||
         kind == LossKind::kLogcosh || kind == LossKind::kMeanSquaredLogarithmicError ||
         kind == LossKind::kMeanAbsolutePercentageError || kind == LossKind::kPoisson;
}

// categoricalHinge of one row: max(0, 1 + neg - pos) with pos = sum t p and
// neg = max (1 - t) p. Returns the margin 1 + neg - pos and neg.
double categorical_hinge_margin(const float* p, const float* t, int64_t cols, double* neg) {
  double pos = 0, mx = -INFINITY;
  for (int64_t c = 0; c < cols; ++c) {
    pos += double(t[c]) * p[c];
    mx = std::max(mx, double((1.0f - t[c]) * p[c]));
  }
  *neg = mx;
  return 1.0 + mx - pos;
}

// TF.js l2Normalize: x / sqrt(max(sum x^2, epsilon)).
float l2_norm(const float* x, int64_t cols) {
  double s = 0;
  for (int64_t c = 0; c < cols; ++c) s += double(x[c]) * x[c];
  return float(std::sqrt(std::max(s, double(kEpsilon))));
}
}  // namespace

const char* loss_name(LossKind kind) {
  switch (kind) {
    case LossKind::kCategoricalCrossentropy: return "categoricalCrossentropy";
    case LossKind::kSparseCategoricalCrossentropy: return "sparseCategoricalCrossentropy";
    case LossKind::kMeanSquaredError: return "meanSquaredError";
    case LossKind::kBinaryCrossentropy: return "binaryCrossentropy";
    case LossKind::kMeanAbsoluteError: return "meanAbsoluteError";
    case LossKind::kHuberLoss: return "huberLoss";
    case LossKind::kHinge: return "hinge";
    case LossKind::kKullbackLeiblerDivergence: return "kullbackLeiblerDivergence";
    case LossKind::kCosineProximity: return "cosineProximity";
    case LossKind::kSquaredHinge: return "squaredHinge";
    case LossKind::kCategoricalHinge: return "categoricalHinge";
    case LossKind::kLogcosh: return "logcosh";
    case LossKind::kMeanSquaredLogarithmicError: return "meanSquaredLogarithmicError";
    case LossKind::kMeanAbsolutePercentageError: return "meanAbsolutePercentageError";
    case LossKind::kPoisson: return "poisson";
  }
  return "?";
}

bool loss_from_name(const std::string& name, LossKind* out) {
  return enum_from_name(name, kNumLossKinds, loss_name, out);
}

bool loss_is_sparse(LossKind kind) { return kind == LossKind::kSparseCategoricalCrossentropy; }

bool loss_fuses_with(LossKind kind, Activation act) {
  if (act == Activation::kSoftmax)
    return kind == LossKind::kCategoricalCrossentropy || kind == LossKind::kSparseCategoricalCrossentropy;
  return act == Activation::kSigmoid && kind == LossKind::kBinaryCrossentropy;
}

float loss_forward(LossKind kind, bool from_logits, const float* pred, const float* target, int64_t rows,
                   int64_t cols) {
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = pred + r * cols;
    switch (kind) {
      case LossKind::kMeanSquaredError:
      case LossKind::kMeanAbsoluteError:
      case LossKind::kHuberLoss:
      case LossKind::kHinge:
      case LossKind::kBinaryCrossentropy:
      case LossKind::kSquaredHinge:
      case LossKind::kLogcosh:
      case LossKind::kMeanSquaredLogarithmicError:
      case LossKind::kMeanAbsolutePercentageError:
      case LossKind::kPoisson: {
        const float* t = target + r * cols;
        double s = 0;
        for (int64_t c = 0; c < cols; ++c) s += elementwise_loss(kind, from_logits, p[c], t[c]);
        total += s / double(cols);
        break;
      }
      case LossKind::kKullbackLeiblerDivergence: {  // sum t log(clip(t) / clip(p)), clipped to [eps, 1]
        const float* t = target + r * cols;
        for (int64_t c = 0; c < cols; ++c)
          total += double(t[c]) * std::log(double(std::min(std::max(t[c], kEpsilon), 1.0f)) /
                                           double(std::min(std::max(p[c], kEpsilon), 1.0f)));
        break;
      }
      case LossKind::kCategoricalHinge: {  // a per-row value, not a mean over the columns
        double neg;
        total += std::max(0.0, categorical_hinge_margin(p, target + r * cols, cols, &neg));
        break;
      }
      case LossKind::kCosineProximity: {  // -cos(t, p), each l2-normalized
        const float* t = target + r * cols;
        const double nt = l2_norm(t, cols), np = l2_norm(p, cols);
        double dot = 0;
        for (int64_t c = 0; c < cols; ++c) dot += double(t[c]) * p[c];
        total -= dot / (nt * np);
        break;
      }
      case LossKind::kCategoricalCrossentropy: {
        const float* t = target + r * cols;
        if (from_logits) {
          RowLogSumExp lse(p, cols);
          for (int64_t c = 0; c < cols; ++c) total -= double(t[c]) * lse.log_prob(p[c]);
        } else {
          for (int64_t c = 0; c < cols; ++c)
            total -= double(t[c]) * std::log(clip_probability(p[c]));
        }
        break;
      }
      case LossKind::kSparseCategoricalCrossentropy: {
        int64_t k = sparse_label(target[r], cols);
        if (from_logits) total -= RowLogSumExp(p, cols).log_prob(p[k]);
        else total -= std::log(clip_probability(p[k]));
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
    const float* t = loss_is_sparse(kind) ? nullptr : target + r * cols;
    if (is_elementwise(kind)) {
      const float scale = inv_rows / float(cols);
      for (int64_t c = 0; c < cols; ++c) g[c] = scale * elementwise_grad(kind, from_logits, p[c], t[c]);
      continue;
    }
    if (kind == LossKind::kKullbackLeiblerDivergence) {
      for (int64_t c = 0; c < cols; ++c) g[c] = inside(p[c], kEpsilon, 1.0f) ? -t[c] / p[c] * inv_rows : 0.0f;
      continue;
    }
    if (kind == LossKind::kCategoricalHinge) {
      // d/dp_c = -t_c + (1 - t_c) [(1 - t_c) p_c is the row's max] where the margin is > 0.
      // Like TF.js's max gradient, every column that ties for the max gets the whole of it.
      double neg;
      const bool active = categorical_hinge_margin(p, t, cols, &neg) > 0.0;
      for (int64_t c = 0; c < cols; ++c) {
        const float off = 1.0f - t[c];
        g[c] = active ? (-t[c] + (double(off * p[c]) == neg ? off : 0.0f)) * inv_rows : 0.0f;
      }
      continue;
    }
    if (kind == LossKind::kCosineProximity) {
      // d/dp of -(t/|t|).(p/|p|) = -(u - q (q.u)) / |p| with u = t/|t|, q = p/|p|;
      // below TF.js's epsilon |p| is the constant sqrt(eps) and only u/|p| is left.
      const float nt = l2_norm(t, cols), np = l2_norm(p, cols);
      double sq = 0, qu = 0;
      for (int64_t c = 0; c < cols; ++c) {
        sq += double(p[c]) * p[c];
        qu += double(p[c] / np) * (t[c] / nt);
      }
      const float proj = sq >= double(kEpsilon) ? float(qu) : 0.0f;
      for (int64_t c = 0; c < cols; ++c) g[c] = -(t[c] / nt - p[c] / np * proj) / np * inv_rows;
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

const char* metric_name(Metric metric) {
  switch (metric) {
    case Metric::kAccuracy: return "accuracy";
    case Metric::kBinaryAccuracy: return "binaryAccuracy";
    case Metric::kCategoricalAccuracy: return "categoricalAccuracy";
    case Metric::kSparseCategoricalAccuracy: return "sparseCategoricalAccuracy";
    case Metric::kPrecision: return "precision";
    case Metric::kRecall: return "recall";
  }
  return "?";
}

bool metric_from_name(const std::string& name, Metric* out) {
  if (name == "acc") {
    *out = Metric::kAccuracy;
    return true;
  }
  return enum_from_name(name, kNumMetrics, metric_name, out);
}

bool metric_fits_loss(Metric metric, LossKind kind) {
  if (metric == Metric::kAccuracy) return true;
  return loss_is_sparse(kind) == (metric == Metric::kSparseCategoricalAccuracy);
}

void metric_ratio(Metric metric, LossKind kind, const float* pred, const float* target, int64_t rows, int64_t cols,
                  float out[2]) {
  if (metric == Metric::kAccuracy) {
    metric = kind == LossKind::kBinaryCrossentropy ? Metric::kBinaryAccuracy
             : loss_is_sparse(kind)                ? Metric::kSparseCategoricalAccuracy
             : cols == 1                           ? Metric::kBinaryAccuracy
                                                   : Metric::kCategoricalAccuracy;
  }
  double num = 0, den = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = pred + r * cols;
    const float* t = target + r * cols;
    switch (metric) {
      case Metric::kAccuracy:  // resolved above
      case Metric::kBinaryAccuracy: {
        int64_t right = 0;
        for (int64_t c = 0; c < cols; ++c) right += (p[c] > 0.5f) == (t[c] > 0.5f);
        num += double(right) / double(cols);
        den += 1;
        break;
      }
      case Metric::kCategoricalAccuracy:
        num += argmax(p, cols) == argmax(t, cols);
        den += 1;
        break;
      case Metric::kSparseCategoricalAccuracy:
        num += argmax(p, cols) == int64_t(target[r]);
        den += 1;
        break;
      case Metric::kPrecision:
      case Metric::kRecall:
        for (int64_t c = 0; c < cols; ++c) {
          const bool predicted = p[c] > 0.5f, actual = t[c] == 1.0f;
          num += predicted && actual;
          den += metric == Metric::kPrecision ? predicted && (actual || t[c] == 0.0f) : actual;
        }
        break;
    }
  }
  out[0] = float(num);
  out[1] = float(den);
}

}  // namespace kiln
