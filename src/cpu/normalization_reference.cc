// Scalar normalization references: double accumulation, two-pass variance,
// written for obviousness. The fast paths in normalization.cc are tested
// against them.
#include <cmath>
#include <vector>

#include "cpu/normalization.h"

namespace kiln {
namespace {

// TF.js's moving-average update, in float as TF.js computes it.
inline float moving_update(float moving, float value, float momentum) {
  return moving - (moving - value) * (1.0f - momentum);
}

}  // namespace

void batch_norm_train_forward_reference(int64_t rows, int64_t channels, const float* x, const float* gamma,
                                        const float* beta, float eps, float momentum, float* moving_mean,
                                        float* moving_var, float* y, float* save_mean, float* save_inv_std) {
  if (rows <= 0) return;
  for (int64_t c = 0; c < channels; ++c) {
    double mean = 0, var = 0;
    for (int64_t r = 0; r < rows; ++r) mean += x[r * channels + c];
    mean /= double(rows);
    for (int64_t r = 0; r < rows; ++r) {
      const double d = x[r * channels + c] - mean;
      var += d * d;
    }
    var /= double(rows);
    const double inv_std = 1.0 / std::sqrt(var + double(eps));
    const double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    for (int64_t r = 0; r < rows; ++r) y[r * channels + c] = float((x[r * channels + c] - mean) * inv_std * g + b);
    if (save_mean) save_mean[c] = float(mean);
    if (save_inv_std) save_inv_std[c] = float(inv_std);
    if (moving_mean) moving_mean[c] = moving_update(moving_mean[c], float(mean), momentum);
    if (moving_var) moving_var[c] = moving_update(moving_var[c], float(var), momentum);
  }
}

void batch_norm_inference_forward_reference(int64_t rows, int64_t channels, const float* x, const float* gamma,
                                            const float* beta, const float* moving_mean, const float* moving_var,
                                            float eps, float* y) {
  for (int64_t c = 0; c < channels; ++c) {
    const double inv_std = 1.0 / std::sqrt(double(moving_var[c]) + double(eps));
    const double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    for (int64_t r = 0; r < rows; ++r)
      y[r * channels + c] = float((double(x[r * channels + c]) - moving_mean[c]) * inv_std * g + b);
  }
}

void batch_norm_backward_reference(int64_t rows, int64_t channels, const float* x, const float* gamma,
                                   const float* save_mean, const float* save_inv_std, const float* dy, float* dx,
                                   float* dgamma, float* dbeta, bool batch_statistics) {
  for (int64_t c = 0; c < channels; ++c) {
    const double mean = save_mean[c], inv_std = save_inv_std[c], g = gamma ? gamma[c] : 1.0;
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const double d = dy[r * channels + c];
      sum_dy += d;
      sum_dy_xhat += d * (x[r * channels + c] - mean) * inv_std;
    }
    const double n = double(rows), through = batch_statistics ? 1.0 : 0.0;
    for (int64_t r = 0; r < rows; ++r) {
      const double xhat = (x[r * channels + c] - mean) * inv_std;
      dx[r * channels + c] = float(g * inv_std * (dy[r * channels + c] - through * (sum_dy / n + xhat * sum_dy_xhat / n)));
    }
    if (dgamma) dgamma[c] = float(sum_dy_xhat);
    if (dbeta) dbeta[c] = float(sum_dy);
  }
}

void layer_norm_forward_reference(int64_t rows, int64_t features, const float* x, const float* gamma,
                                  const float* beta, float eps, float* y, float* save_mean, float* save_inv_std) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * features;
    double mean = 0, var = 0;
    for (int64_t f = 0; f < features; ++f) mean += xr[f];
    mean /= double(features);
    for (int64_t f = 0; f < features; ++f) var += (xr[f] - mean) * (xr[f] - mean);
    var /= double(features);
    const double inv_std = 1.0 / std::sqrt(var + double(eps));
    for (int64_t f = 0; f < features; ++f)
      y[r * features + f] = float((xr[f] - mean) * inv_std * (gamma ? gamma[f] : 1.0) + (beta ? beta[f] : 0.0));
    if (save_mean) save_mean[r] = float(mean);
    if (save_inv_std) save_inv_std[r] = float(inv_std);
  }
}

void layer_norm_backward_reference(int64_t rows, int64_t features, const float* x, const float* gamma,
                                   const float* save_mean, const float* save_inv_std, const float* dy, float* dx,
                                   float* dgamma, float* dbeta) {
  std::vector<double> dg(size_t(features), 0.0), db(size_t(features), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * features, *dyr = dy + r * features;
    const double mean = save_mean[r], inv_std = save_inv_std[r];
    double mean_g = 0, mean_g_xhat = 0;
    for (int64_t f = 0; f < features; ++f) {
      const double xhat = (xr[f] - mean) * inv_std, g = dyr[f] * (gamma ? gamma[f] : 1.0);
      mean_g += g;
      mean_g_xhat += g * xhat;
      dg[size_t(f)] += dyr[f] * xhat;
      db[size_t(f)] += dyr[f];
    }
    mean_g /= double(features);
    mean_g_xhat /= double(features);
    for (int64_t f = 0; f < features; ++f) {
      const double xhat = (xr[f] - mean) * inv_std, g = dyr[f] * (gamma ? gamma[f] : 1.0);
      dx[r * features + f] = float(inv_std * (g - mean_g - xhat * mean_g_xhat));
    }
  }
  for (int64_t f = 0; f < features; ++f) {
    if (dgamma) dgamma[f] = float(dg[size_t(f)]);
    if (dbeta) dbeta[f] = float(db[size_t(f)]);
  }
}

}  // namespace kiln
