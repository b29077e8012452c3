// Fast pooling. NHWC keeps channels contiguous, so every inner loop runs over
// c with unit stride and auto-vectorizes (SSE/AVX natively, SIMD128 in wasm);
// the max update is written as `v > m ? v : m`, which maps to maxps / pmax
// and keeps the reference's NaN-never-wins rule. Work is split over output
// rows (forward) or input rows (backward: each task owns the dx rows it
// writes, so overlapping windows need no atomics).
#include <algorithm>
#include <limits>
#include <string>
#include <vector>
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#include "core/thread_pool.h"
#include "cpu/pool2d.h"

namespace kiln {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

inline void window(int64_t o, int64_t stride, int64_t pad, int64_t pool, int64_t in, int64_t* lo, int64_t* hi) {
  const int64_t start = o * stride - pad;
  *lo = std::max<int64_t>(start, 0);
  *hi = std::min<int64_t>(start + pool, in);
}

// Output indices whose windows cover input index i along one axis: [lo, hi).
inline void covering(int64_t i, int64_t stride, int64_t pad, int64_t pool, int64_t out, int64_t* lo, int64_t* hi) {
  const int64_t t = i + pad;  // o covers i iff o * stride <= t < o * stride + pool
  *lo = std::max<int64_t>(t - pool + 1 <= 0 ? 0 : (t - pool + stride) / stride, 0);
  *hi = std::min<int64_t>(t / stride + 1, out);
}

// Enough items per task that a task does ~16K float ops.
inline int64_t min_chunk(int64_t work_per_item) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, work_per_item));
}

std::string dims(int64_t a, int64_t b) { return std::to_string(a) + "x" + std::to_string(b); }

}  // namespace

Status pool2d_params(int64_t batch, int64_t in_h, int64_t in_w, int64_t channels, int64_t pool_h, int64_t pool_w,
                     int64_t stride_h, int64_t stride_w, bool same_padding, Pool2DParams* out) {
  if (batch < 0) return Status::error("pool2d: batch must be >= 0, got " + std::to_string(batch));
  if (in_h < 1 || in_w < 1 || channels < 1)
    return Status::error("pool2d: input height, width and channels must be positive, got " + dims(in_h, in_w) +
                         "x" + std::to_string(channels));
  if (pool_h < 1 || pool_w < 1) return Status::error("pool2d: pool size must be positive, got " + dims(pool_h, pool_w));
  if (stride_h < 1 || stride_w < 1)
    return Status::error("pool2d: strides must be positive, got " + dims(stride_h, stride_w));
  // The fast max backward stores window argmaxes as int32 spatial indices.
  if (in_h * in_w > std::numeric_limits<int32_t>::max())
    return Status::error("pool2d: input " + dims(in_h, in_w) + " has more than 2^31-1 spatial positions");
  Pool2DParams p;
  p.batch = batch, p.in_h = in_h, p.in_w = in_w, p.channels = channels;
  p.pool_h = pool_h, p.pool_w = pool_w, p.stride_h = stride_h, p.stride_w = stride_w;
  if (same_padding) {
    p.out_h = (in_h + stride_h - 1) / stride_h;
    p.out_w = (in_w + stride_w - 1) / stride_w;
    p.pad_top = std::max<int64_t>((p.out_h - 1) * stride_h + pool_h - in_h, 0) / 2;
    p.pad_left = std::max<int64_t>((p.out_w - 1) * stride_w + pool_w - in_w, 0) / 2;
  } else {
    if (pool_h > in_h || pool_w > in_w)
      return Status::error("pool2d: pool size " + dims(pool_h, pool_w) + " is larger than the input " +
                           dims(in_h, in_w) + " with 'valid' padding (the output would be empty)");
    p.out_h = (in_h - pool_h) / stride_h + 1;
    p.out_w = (in_w - pool_w) / stride_w + 1;
  }
  *out = p;
  return Status();
}

void pool2d_forward(PoolKind kind, const Pool2DParams& p, const float* x, float* y) {
  const int64_t C = p.channels;
  parallel_range(p.batch * p.out_h, min_chunk(p.out_w * p.pool_h * p.pool_w * C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / p.out_h, oh = r % p.out_h;
      const float* img = x + b * p.in_h * p.in_w * C;
      int64_t h0, h1;
      window(oh, p.stride_h, p.pad_top, p.pool_h, p.in_h, &h0, &h1);
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        int64_t w0, w1;
        window(ow, p.stride_w, p.pad_left, p.pool_w, p.in_w, &w0, &w1);
        float* __restrict out = y + (r * p.out_w + ow) * C;
        std::fill(out, out + C, kind == PoolKind::kMax ? kNegInf : 0.0f);
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) {
            const float* __restrict in = img + (h * p.in_w + w) * C;
            if (kind == PoolKind::kMax) {
              int64_t c = 0;
#if defined(__wasm_simd128__)
              // clang leaves this loop scalar in wasm (compare + select per element);
              // pmax(out, in) is out < in ? in : out, the same choice, NaN included.
              for (; c + 4 <= C; c += 4) wasm_v128_store(out + c, wasm_f32x4_pmax(wasm_v128_load(out + c), wasm_v128_load(in + c)));
#endif
              for (; c < C; ++c) out[c] = in[c] > out[c] ? in[c] : out[c];
            } else {
              for (int64_t c = 0; c < C; ++c) out[c] += in[c];
            }
          }
        if (kind == PoolKind::kAverage) {
          const float inv = 1.0f / float((h1 - h0) * (w1 - w0));
          for (int64_t c = 0; c < C; ++c) out[c] *= inv;
        }
      }
    }
  });
}

// Argmaxes of output row r (= b * out_h + oh) into a[out_w * C]: flat
// spatial index within the image, or -1 when nothing beats -inf. m: C floats.
static void row_argmax(const Pool2DParams& p, const float* x, int64_t r, float* __restrict m,
                       int32_t* __restrict a_row) {
  const int64_t C = p.channels, b = r / p.out_h, oh = r % p.out_h;
  const float* img = x + b * p.in_h * p.in_w * C;
  int64_t h0, h1;
  window(oh, p.stride_h, p.pad_top, p.pool_h, p.in_h, &h0, &h1);
  for (int64_t ow = 0; ow < p.out_w; ++ow) {
    int64_t w0, w1;
    window(ow, p.stride_w, p.pad_left, p.pool_w, p.in_w, &w0, &w1);
    int32_t* __restrict a = a_row + ow * C;
    std::fill(m, m + C, kNegInf);
    std::fill(a, a + C, -1);
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) {
        const float* __restrict in = img + (h * p.in_w + w) * C;
        const int32_t k = int32_t(h * p.in_w + w);
        for (int64_t c = 0; c < C; ++c) {  // branch-free so it vectorizes
          const int32_t gt = -int32_t(in[c] > m[c]);
          m[c] = in[c] > m[c] ? in[c] : m[c];
          a[c] = (k & gt) | (a[c] & ~gt);
        }
      }
  }
}

void pool2d_backward(PoolKind kind, const Pool2DParams& p, const float* x, const float* /*y*/, const float* dy,
                     float* dx) {
  const int64_t C = p.channels, row = p.in_w * C;
  const int64_t argmax_work = min_chunk(p.out_w * p.pool_h * p.pool_w * C);
  if (kind == PoolKind::kMax && p.stride_h >= p.pool_h) {
    // Windows of different output rows never share input rows: zero dx, then
    // each output row scatters into its own rows, no argmax buffer needed.
    parallel_range(p.batch * p.in_h, min_chunk(row), [&](int64_t r0, int64_t r1) {
      std::fill(dx + r0 * row, dx + r1 * row, 0.0f);
    });
    parallel_range(p.batch * p.out_h, argmax_work, [&](int64_t r0, int64_t r1) {
      std::vector<float> best(static_cast<size_t>(C));
      std::vector<int32_t> arg(static_cast<size_t>(p.out_w * C));
      for (int64_t r = r0; r < r1; ++r) {
        row_argmax(p, x, r, best.data(), arg.data());
        float* dimg = dx + (r / p.out_h) * p.in_h * row;
        const float* g = dy + r * p.out_w * C;
        for (int64_t ow = 0; ow < p.out_w; ++ow)
          for (int64_t c = 0; c < C; ++c) {
            const int32_t k = arg[size_t(ow * C + c)];
            if (k >= 0) dimg[int64_t(k) * C + c] += g[ow * C + c];
          }
      }
    });
    return;
  }
  // Overlapping rows: first find every window's argmax, parallel over output
  // rows...
  std::vector<int32_t> arg;
  if (kind == PoolKind::kMax) {
    arg.resize(static_cast<size_t>(p.batch * p.out_h * p.out_w * C));
    parallel_range(p.batch * p.out_h, argmax_work, [&](int64_t r0, int64_t r1) {
      std::vector<float> best(static_cast<size_t>(C));
      for (int64_t r = r0; r < r1; ++r) row_argmax(p, x, r, best.data(), arg.data() + r * p.out_w * C);
    });
  }
  // ...then gather into each input row from the output rows whose windows
  // cover it, in (oh, ow) order like the reference.
  const int64_t per_row = std::max<int64_t>(1, (p.pool_h + p.stride_h - 1) / p.stride_h) * p.out_w * C *
                          (kind == PoolKind::kMax ? 1 : (p.pool_w + p.stride_w - 1) / p.stride_w);
  parallel_range(p.batch * p.in_h, min_chunk(per_row), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / p.in_h, ih = r % p.in_h;
      float* __restrict drow = dx + r * row;
      std::fill(drow, drow + row, 0.0f);
      int64_t oh0, oh1;
      covering(ih, p.stride_h, p.pad_top, p.pool_h, p.out_h, &oh0, &oh1);
      for (int64_t oh = oh0; oh < oh1; ++oh) {
        int64_t h0, h1;
        window(oh, p.stride_h, p.pad_top, p.pool_h, p.in_h, &h0, &h1);
        const int64_t out_row = (b * p.out_h + oh) * p.out_w;
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const float* __restrict g = dy + (out_row + ow) * C;
          if (kind == PoolKind::kMax) {
            // Only argmaxes that fall in this row (index - ih * in_w in
            // [0, in_w)); a miss adds 0 to column 0 instead of branching,
            // as hits are a coin flip the predictor cannot learn.
            const int32_t* a = arg.data() + (out_row + ow) * C;
            const int64_t base = ih * p.in_w;
            for (int64_t c = 0; c < C; ++c) {
              const uint64_t col = uint64_t(int64_t(a[c]) - base);
              const bool hit = col < uint64_t(p.in_w);
              drow[(hit ? int64_t(col) : 0) * C + c] += hit ? g[c] : 0.0f;
            }
            continue;
          }
          int64_t w0, w1;
          window(ow, p.stride_w, p.pad_left, p.pool_w, p.in_w, &w0, &w1);
          const float inv = 1.0f / float((h1 - h0) * (w1 - w0));
          for (int64_t w = w0; w < w1; ++w) {
            float* __restrict d = drow + w * C;
            for (int64_t c = 0; c < C; ++c) d[c] += g[c] * inv;
          }
        }
      }
    }
  });
}

// Global pooling: tasks are (image, block of channels) so a small batch with
// many channels still spreads over threads; sums accumulate in double because
// spatial can be large (e.g. 56x56) and the result is a plain mean.
namespace {
constexpr int64_t kChanBlock = 256;
}

void global_pool_forward(PoolKind kind, int64_t batch, int64_t spatial, int64_t channels, const float* x,
                         float* y) {
  const int64_t nblk = (channels + kChanBlock - 1) / kChanBlock;
  parallel_range(batch * nblk, min_chunk(spatial * std::min(channels, kChanBlock)), [&](int64_t t0, int64_t t1) {
    std::vector<double> acc(static_cast<size_t>(kChanBlock));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / nblk, c0 = (t % nblk) * kChanBlock, n = std::min(kChanBlock, channels - c0);
      const float* img = x + b * spatial * channels + c0;
      float* __restrict out = y + b * channels + c0;
      if (kind == PoolKind::kMax) {
        std::fill(out, out + n, kNegInf);
        for (int64_t s = 0; s < spatial; ++s) {
          const float* __restrict in = img + s * channels;
          for (int64_t c = 0; c < n; ++c) out[c] = in[c] > out[c] ? in[c] : out[c];
        }
      } else {
        double* __restrict a = acc.data();
        std::fill(a, a + n, 0.0);
        for (int64_t s = 0; s < spatial; ++s) {
          const float* __restrict in = img + s * channels;
          for (int64_t c = 0; c < n; ++c) a[c] += double(in[c]);
        }
        for (int64_t c = 0; c < n; ++c) out[c] = float(a[c] / double(spatial));
      }
    }
  });
}

void global_pool_backward(PoolKind kind, int64_t batch, int64_t spatial, int64_t channels, const float* x,
                          const float* /*y*/, const float* dy, float* dx) {
  const int64_t nblk = (channels + kChanBlock - 1) / kChanBlock;
  parallel_range(batch * nblk, min_chunk(spatial * std::min(channels, kChanBlock)), [&](int64_t t0, int64_t t1) {
    std::vector<float> best(static_cast<size_t>(kChanBlock));
    std::vector<int32_t> arg(static_cast<size_t>(kChanBlock));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / nblk, c0 = (t % nblk) * kChanBlock, n = std::min(kChanBlock, channels - c0);
      const int64_t off = b * spatial * channels + c0;
      const float* __restrict g = dy + b * channels + c0;
      if (kind == PoolKind::kAverage) {
        const float inv = float(1.0 / double(spatial));
        for (int64_t s = 0; s < spatial; ++s) {
          float* __restrict d = dx + off + s * channels;
          for (int64_t c = 0; c < n; ++c) d[c] = g[c] * inv;
        }
        continue;
      }
      float* __restrict m = best.data();
      int32_t* __restrict a = arg.data();
      std::fill(m, m + n, kNegInf);
      std::fill(a, a + n, -1);
      for (int64_t s = 0; s < spatial; ++s) {
        const float* __restrict in = x + off + s * channels;
        for (int64_t c = 0; c < n; ++c) {
          const int32_t gt = -int32_t(in[c] > m[c]);
          m[c] = in[c] > m[c] ? in[c] : m[c];
          a[c] = (int32_t(s) & gt) | (a[c] & ~gt);
        }
      }
      for (int64_t s = 0; s < spatial; ++s) {
        float* __restrict d = dx + off + s * channels;
        for (int64_t c = 0; c < n; ++c) d[c] = a[c] == int32_t(s) ? g[c] : 0.0f;
      }
    }
  });
}

}  // namespace kiln
