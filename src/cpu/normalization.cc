// Fast normalization. Per-element loops run over the contiguous last axis so
// they auto-vectorize (SSE/AVX natively, SIMD128 in wasm).
//  - Column sums (batch-norm statistics, dgamma / dbeta) go through
//    column_reduce: (row chunk x channel block) tiles in parallel, float
//    accumulation over 64-row blocks (vectorizable: no reassociation needed)
//    flushed into double per-tile partials, then the partials of the row
//    chunks are added in a fixed order. The chunking depends only on the
//    shape, so results do not change with the thread count.
//  - Batch-norm statistics take two reads of x: sums of x - x[0] (so float
//    block sums stay small), then squares about the mean (no cancellation
//    when |mean| >> std); a third pass writes y.
//  - Layer norm reduces within a row: parallel over rows, 16 float lanes.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/normalization.h"

namespace kiln {
namespace {

constexpr int64_t kColBlock = 256;  // columns per tile
constexpr int64_t kRowBlock = 64;   // rows summed in float before going to double

inline int64_t min_chunk(int64_t work_per_item) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, work_per_item));
}

// out[k * cols + c] = sum over all rows of quantity k. block(r0, r1, c0, n, acc)
// must add, for rows [r0, r1) and columns [c0, c0 + n), quantity k into
// acc[k][0..n) (float, pre-zeroed, at most kRowBlock rows per call).
template <int K, typename Block>
void column_reduce(int64_t rows, int64_t cols, const Block& block, double* out) {
  const int64_t ncb = (cols + kColBlock - 1) / kColBlock;
  const int64_t min_rows = std::max<int64_t>(kRowBlock, 32768 / std::min(cols, kColBlock));
  const int64_t nrc_wanted = std::min<int64_t>(64, std::max<int64_t>(1, rows / min_rows));
  const int64_t per = (rows + nrc_wanted - 1) / nrc_wanted;
  const int64_t nrc = std::max<int64_t>(1, (rows + per - 1) / std::max<int64_t>(1, per));
  std::vector<double> part(size_t(nrc * K * cols), 0.0);
  parallel_range(nrc * ncb, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> buf(static_cast<size_t>(K * kColBlock));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t rc = t / ncb, c0 = (t % ncb) * kColBlock, n = std::min(kColBlock, cols - c0);
      const int64_t r_end = std::min(rows, (rc + 1) * per);
      float* acc[K];
      for (int k = 0; k < K; ++k) acc[k] = buf.data() + k * kColBlock;
      for (int64_t r0 = rc * per; r0 < r_end; r0 += kRowBlock) {
        std::fill(buf.begin(), buf.end(), 0.0f);
        block(r0, std::min(r_end, r0 + kRowBlock), c0, n, acc);
        for (int k = 0; k < K; ++k) {
          double* __restrict d = part.data() + (rc * K + k) * cols + c0;
          for (int64_t c = 0; c < n; ++c) d[c] += double(acc[k][c]);
        }
      }
    }
  });
  for (int64_t i = 0; i < K * cols; ++i) {
    double s = 0;
    for (int64_t rc = 0; rc < nrc; ++rc) s += part[size_t(rc * K * cols + i)];
    out[i] = s;
  }
}

// Sum of f(i) for i in [0, n) over 16 float lanes (a plain `s += f(i)` would
// not vectorize without -ffast-math), finished in double.
template <typename F>
double row_sum(int64_t n, const F& f) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += f(i + j);
  double s = 0;
  for (; i < n; ++i) s += f(i);
  for (int j = 0; j < 16; ++j) s += acc[j];
  return s;
}

inline float moving_update(float moving, float value, float momentum) {
  return moving - (moving - value) * (1.0f - momentum);
}

// y = ((x - mean_hi) - mean_lo) * scale + beta per channel, parallel over
// rows. mean = mean_hi + mean_lo is the double mean split into two floats:
// x - mean_hi is exact when x is near the mean (Sterbenz), so y keeps full
// precision even when |mean| >> std.
void normalize_rows(int64_t rows, int64_t channels, const float* x, const float* mean_hi, const float* mean_lo,
                    const float* scale, const float* beta, float* y) {
  parallel_range(rows, min_chunk(channels * 4), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * channels;
      float* __restrict yr = y + r * channels;
      if (beta) {
        for (int64_t c = 0; c < channels; ++c) yr[c] = ((xr[c] - mean_hi[c]) - mean_lo[c]) * scale[c] + beta[c];
      } else {
        for (int64_t c = 0; c < channels; ++c) yr[c] = ((xr[c] - mean_hi[c]) - mean_lo[c]) * scale[c];
      }
    }
  });
}

}  // namespace

void batch_norm_train_forward(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                              float eps, float momentum, float* moving_mean, float* moving_var, float* y,
                              float* save_mean, float* save_inv_std) {
  if (rows <= 0 || channels <= 0) return;
  std::vector<double> sum(static_cast<size_t>(channels)), m2(static_cast<size_t>(channels));  // sum: x - x[0]
  // Sums of x - x[0]: float block sums of values near 0 stay exact-ish even
  // when |mean| >> std.
  column_reduce<1>(rows, channels, [&](int64_t r0, int64_t r1, int64_t c0, int64_t n, float** acc) {
    float* __restrict a = acc[0];
    const float* __restrict shift = x + c0;
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * channels + c0;
      for (int64_t c = 0; c < n; ++c) a[c] += xr[c] - shift[c];
    }
  }, sum.data());
  const size_t nc = static_cast<size_t>(channels);
  std::vector<float> mean(nc), mean_lo(nc), scale(nc);
  for (int64_t c = 0; c < channels; ++c) {
    sum[size_t(c)] = double(x[c]) + sum[size_t(c)] / double(rows);  // now the mean, in double
    mean[size_t(c)] = float(sum[size_t(c)]);
  }
  column_reduce<1>(rows, channels, [&](int64_t r0, int64_t r1, int64_t c0, int64_t n, float** acc) {
    float* __restrict a = acc[0];
    const float* __restrict m = mean.data() + c0;
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * channels + c0;
      for (int64_t c = 0; c < n; ++c) a[c] += (xr[c] - m[c]) * (xr[c] - m[c]);
    }
  }, m2.data());
  for (int64_t c = 0; c < channels; ++c) {
    const size_t i = size_t(c);
    // Exact identity: the squares were taken about the float-rounded mean.
    const double dm = sum[i] - double(mean[i]);
    mean_lo[i] = float(dm);
    const double var = std::max(0.0, m2[i] / double(rows) - dm * dm);
    const double inv_std = 1.0 / std::sqrt(var + double(eps));
    scale[i] = float(inv_std * (gamma ? gamma[c] : 1.0));
    if (save_mean) save_mean[c] = mean[i];
    if (save_inv_std) save_inv_std[c] = float(inv_std);
    if (moving_mean) moving_mean[c] = moving_update(moving_mean[c], mean[i], momentum);
    if (moving_var) moving_var[c] = moving_update(moving_var[c], float(var), momentum);
  }
  normalize_rows(rows, channels, x, mean.data(), mean_lo.data(), scale.data(), beta, y);
}

void batch_norm_inference_forward(int64_t rows, int64_t channels, const float* x, const float* gamma,
                                  const float* beta, const float* moving_mean, const float* moving_var, float eps,
                                  float* y) {
  std::vector<float> scale(static_cast<size_t>(channels)), zero(static_cast<size_t>(channels), 0.0f);
  for (int64_t c = 0; c < channels; ++c)
    scale[size_t(c)] = float((gamma ? gamma[c] : 1.0) / std::sqrt(double(moving_var[c]) + double(eps)));
  normalize_rows(rows, channels, x, moving_mean, zero.data(), scale.data(), beta, y);
}

void batch_norm_backward(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* save_mean,
                         const float* save_inv_std, const float* dy, float* dx, float* dgamma, float* dbeta,
                         bool batch_statistics) {
  if (channels <= 0) return;
  // sums[0] = sum dy, sums[1] = sum dy * (x - mean).
  std::vector<double> sums(size_t(2 * channels), 0.0);
  if (rows > 0)
    column_reduce<2>(rows, channels, [&](int64_t r0, int64_t r1, int64_t c0, int64_t n, float** acc) {
      float* __restrict a0 = acc[0];
      float* __restrict a1 = acc[1];
      const float* __restrict m = save_mean + c0;
      for (int64_t r = r0; r < r1; ++r) {
        const float* __restrict xr = x + r * channels + c0;
        const float* __restrict dr = dy + r * channels + c0;
        for (int64_t c = 0; c < n; ++c) {
          a0[c] += dr[c];
          a1[c] += dr[c] * (xr[c] - m[c]);
        }
      }
    }, sums.data());
  // dx = k * (dy - q - (x - mean) * p): k = gamma * inv_std, q = dbeta / N,
  // p = inv_std * dgamma / N = inv_std^2 * sum(dy * (x - mean)) / N.
  const size_t nc = static_cast<size_t>(channels);
  std::vector<float> k(nc), p(nc), q(nc);
  for (int64_t c = 0; c < channels; ++c) {
    const size_t i = size_t(c);
    const double inv_std = save_inv_std[c], n = double(std::max<int64_t>(rows, 1));
    k[i] = float((gamma ? gamma[c] : 1.0) * inv_std);
    q[i] = batch_statistics ? float(sums[i] / n) : 0.0f;
    p[i] = batch_statistics ? float(inv_std * inv_std * sums[size_t(channels) + i] / n) : 0.0f;
    if (dbeta) dbeta[c] = float(sums[i]);
    if (dgamma) dgamma[c] = float(sums[size_t(channels) + i] * inv_std);
  }
  parallel_range(rows, min_chunk(channels * 5), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * channels;
      const float* __restrict dr = dy + r * channels;
      float* __restrict out = dx + r * channels;
      for (int64_t c = 0; c < channels; ++c)
        out[c] = k[size_t(c)] * (dr[c] - q[size_t(c)] - (xr[c] - save_mean[c]) * p[size_t(c)]);
    }
  });
}

void layer_norm_forward(int64_t rows, int64_t features, const float* x, const float* gamma, const float* beta,
                        float eps, float* y, float* save_mean, float* save_inv_std) {
  if (features <= 0) return;
  parallel_range(rows, min_chunk(features * 6), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * features;
      float* __restrict yr = y + r * features;
      const double mean_d = row_sum(features, [&](int64_t f) { return xr[f]; }) / double(features);
      const float mean = float(mean_d);
      const double dm = mean_d - double(mean);  // squares are taken about the rounded mean
      const double var = std::max(
          0.0, row_sum(features, [&](int64_t f) { return (xr[f] - mean) * (xr[f] - mean); }) / double(features) -
                   dm * dm);
      const float inv_std = float(1.0 / std::sqrt(var + double(eps))), lo = float(dm);
      // (x - mean) - lo: the double mean as two floats (see normalize_rows).
      if (gamma && beta) {
        for (int64_t f = 0; f < features; ++f) yr[f] = ((xr[f] - mean) - lo) * inv_std * gamma[f] + beta[f];
      } else {
        for (int64_t f = 0; f < features; ++f)
          yr[f] = ((xr[f] - mean) - lo) * inv_std * (gamma ? gamma[f] : 1.0f) + (beta ? beta[f] : 0.0f);
      }
      if (save_mean) save_mean[r] = mean;
      if (save_inv_std) save_inv_std[r] = inv_std;
    }
  });
}

void layer_norm_backward(int64_t rows, int64_t features, const float* x, const float* gamma, const float* save_mean,
                         const float* save_inv_std, const float* dy, float* dx, float* dgamma, float* dbeta) {
  if (features <= 0) return;
  // dx: row-local, parallel over rows.
  parallel_range(rows, min_chunk(features * 8), [&](int64_t r0, int64_t r1) {
    std::vector<float> g(static_cast<size_t>(features)), xhat(static_cast<size_t>(features));
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * features;
      const float* __restrict dr = dy + r * features;
      float* __restrict out = dx + r * features;
      const float mean = save_mean[r], inv_std = save_inv_std[r];
      float* __restrict gp = g.data();
      float* __restrict xh = xhat.data();
      for (int64_t f = 0; f < features; ++f) {
        gp[f] = gamma ? dr[f] * gamma[f] : dr[f];
        xh[f] = (xr[f] - mean) * inv_std;
      }
      const float mean_g = float(row_sum(features, [&](int64_t f) { return gp[f]; }) / double(features));
      const float mean_gx = float(row_sum(features, [&](int64_t f) { return gp[f] * xh[f]; }) / double(features));
      for (int64_t f = 0; f < features; ++f) out[f] = inv_std * (gp[f] - mean_g - xh[f] * mean_gx);
    }
  });
  if (!dgamma && !dbeta) return;
  // dgamma / dbeta: column sums over rows.
  std::vector<double> sums(size_t(2 * features), 0.0);
  if (rows > 0)
    column_reduce<2>(rows, features, [&](int64_t r0, int64_t r1, int64_t c0, int64_t n, float** acc) {
      float* __restrict a0 = acc[0];
      float* __restrict a1 = acc[1];
      for (int64_t r = r0; r < r1; ++r) {
        const float* __restrict xr = x + r * features + c0;
        const float* __restrict dr = dy + r * features + c0;
        const float mean = save_mean[r], inv_std = save_inv_std[r];
        for (int64_t c = 0; c < n; ++c) {
          a0[c] += dr[c] * ((xr[c] - mean) * inv_std);
          a1[c] += dr[c];
        }
      }
    }, sums.data());
  for (int64_t f = 0; f < features; ++f) {
    if (dgamma) dgamma[f] = float(sums[size_t(f)]);
    if (dbeta) dbeta[f] = float(sums[size_t(features + f)]);
  }
}

}  // namespace kiln
