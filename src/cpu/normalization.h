// Batch and layer normalization kernels on raw float buffers (no graph
// knowledge), following TF.js / Keras:
//   y = gamma * (x - mean) / sqrt(var + eps) + beta,
// with the biased (divide-by-N) variance of tf.moments. gamma / beta may be
// null (Keras scale=false / center=false: gamma = 1, beta = 0).
//
// Each op has a fast path (vectorized over the contiguous last axis,
// multithreaded) and a double-accumulating reference the tests use. Sums
// across rows are split into a fixed number of row chunks that depends only on
// the shape, never on the thread count, so results are deterministic.
#pragma once
#include <cstdint>

namespace kiln {

// ---- Batch normalization, channels last: x viewed as [rows, channels]
// (rows = batch * H * W). All per-channel arrays have `channels` entries.

// Training mode: normalizes with the batch mean / biased variance over rows,
// writes them to save_mean / save_inv_std = 1 / sqrt(var + eps) (for
// backward; either may be null), and updates the moving statistics in place
// exactly as TF.js does: moving -= (moving - batch_stat) * (1 - momentum),
// i.e. moving * momentum + batch_stat * (1 - momentum), with the BIASED batch
// variance, as TF.js feeds tf.moments' variance (no Bessel correction).
// moving_mean / moving_var may be null (no update). rows == 0 does nothing.
void batch_norm_train_forward(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                              float eps, float momentum, float* moving_mean, float* moving_var, float* y,
                              float* save_mean, float* save_inv_std);
void batch_norm_train_forward_reference(int64_t rows, int64_t channels, const float* x, const float* gamma,
                                        const float* beta, float eps, float momentum, float* moving_mean,
                                        float* moving_var, float* y, float* save_mean, float* save_inv_std);

// Inference mode: normalizes with the given (moving) statistics.
void batch_norm_inference_forward(int64_t rows, int64_t channels, const float* x, const float* gamma,
                                  const float* beta, const float* moving_mean, const float* moving_var, float eps,
                                  float* y);
void batch_norm_inference_forward_reference(int64_t rows, int64_t channels, const float* x, const float* gamma,
                                            const float* beta, const float* moving_mean, const float* moving_var,
                                            float eps, float* y);

// Gradient from the mean and inv_std the forward normalized with. Overwrites
// dx, dgamma, dbeta (dgamma / dbeta may be null). With xhat = (x - mean) * inv_std:
//   dbeta = sum dy, dgamma = sum dy * xhat, and
//   batch_statistics (training: the saved mean and inv_std of
//   batch_norm_train_forward, which depend on x):
//     dx = gamma * inv_std * (dy - dbeta / N - xhat * dgamma / N);
//   otherwise (inference mode: the moving statistics, constants):
//     dx = gamma * inv_std * dy.
void batch_norm_backward(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* mean,
                         const float* inv_std, const float* dy, float* dx, float* dgamma, float* dbeta,
                         bool batch_statistics = true);
void batch_norm_backward_reference(int64_t rows, int64_t channels, const float* x, const float* gamma,
                                   const float* mean, const float* inv_std, const float* dy, float* dx,
                                   float* dgamma, float* dbeta, bool batch_statistics = true);

// ---- Layer normalization over the last axis: x [rows, features], gamma /
// beta [features] (TF.js LayerNormalization's default epsilon is 1e-3).
// save_mean / save_inv_std: [rows], either may be null.
void layer_norm_forward(int64_t rows, int64_t features, const float* x, const float* gamma, const float* beta,
                        float eps, float* y, float* save_mean, float* save_inv_std);
void layer_norm_forward_reference(int64_t rows, int64_t features, const float* x, const float* gamma,
                                  const float* beta, float eps, float* y, float* save_mean, float* save_inv_std);

// Overwrites dx, dgamma, dbeta (dgamma / dbeta may be null). Per row, with
// g = dy * gamma and xhat = (x - mean) * inv_std:
//   dx = inv_std * (g - mean(g) - xhat * mean(g * xhat)).
void layer_norm_backward(int64_t rows, int64_t features, const float* x, const float* gamma, const float* save_mean,
                         const float* save_inv_std, const float* dy, float* dx, float* dgamma, float* dbeta);
void layer_norm_backward_reference(int64_t rows, int64_t features, const float* x, const float* gamma,
                                   const float* save_mean, const float* save_inv_std, const float* dy, float* dx,
                                   float* dgamma, float* dbeta);

}  // namespace kiln
