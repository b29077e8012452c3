// Depthwise convolution (groups == in_c): output channel o = c * mult + j
// reads input channel c only, so im2col would copy kh * kw values to do one
// multiply each. These direct kernels instead walk the taps of each pixel
// with the channels innermost (contiguous in NHWC and in the filter), in
// fixed-width blocks the compiler keeps in SIMD registers across the taps.
// Channel multiplier 1 (the common case) gets the blocked loops; other
// multipliers a plain loop over (c, j).
//
// Every kernel gathers (each task owns the outputs it writes), so threads
// split rows with no atomics; the filter gradient sums per-thread partials.
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/conv2d.h"

namespace kiln {
namespace {

constexpr int64_t kMinTaskFlops = 32 * 1024;

// Calls fn(B, c0) over [0, c) in blocks of 16, then 4, then 1 channels; B is
// an integral_constant so each width compiles to fixed-size (vector) loops.
template <typename Fn>
inline void channel_blocks(int64_t c, Fn fn) {
  int64_t c0 = 0;
  for (; c0 + 16 <= c; c0 += 16) fn(std::integral_constant<int, 16>(), c0);
  for (; c0 + 4 <= c; c0 += 4) fn(std::integral_constant<int, 4>(), c0);
  for (; c0 < c; ++c0) fn(std::integral_constant<int, 1>(), c0);
}

// [lo, hi): the t in [0, count) with 0 <= base + t * step < limit (step > 0).
inline void valid_range(int64_t base, int64_t step, int64_t count, int64_t limit, int64_t* lo, int64_t* hi) {
  *lo = base < 0 ? (-base + step - 1) / step : 0;
  *hi = base >= limit ? 0 : std::min(count, (limit - 1 - base) / step + 1);
  if (*hi < *lo) *hi = *lo;
}

int64_t min_rows(int64_t per_row) {
  return std::max<int64_t>(1, kMinTaskFlops / std::max<int64_t>(1, per_row));
}

// Input offsets in the taps of one pixel, e.g. the (kh, oh) pairs reaching an
// input row in the data gradient. Small and reused per task.
struct Tap {
  int64_t k, o;
};

}  // namespace

void depthwise_forward(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act,
                       float* y) {
  const int64_t C = p.in_c, OC = p.out_c, mult = OC / C;
  const int64_t per_row = p.out_w * OC * p.kernel_h * p.kernel_w;
  parallel_range(p.batch * p.out_h, min_rows(per_row), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / p.out_h, oh = r % p.out_h;
      const int64_t ih0 = oh * p.stride_h - p.pad_top;
      int64_t kh_lo, kh_hi;
      valid_range(ih0, p.dilation_h, p.kernel_h, p.in_h, &kh_lo, &kh_hi);
      float* yrow = y + r * p.out_w * OC;
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const int64_t iw0 = ow * p.stride_w - p.pad_left;
        int64_t kw_lo, kw_hi;
        valid_range(iw0, p.dilation_w, p.kernel_w, p.in_w, &kw_lo, &kw_hi);
        float* yp = yrow + ow * OC;
        auto tap_x = [&](int64_t kh, int64_t kw) {
          return x + ((n * p.in_h + ih0 + kh * p.dilation_h) * p.in_w + iw0 + kw * p.dilation_w) * C;
        };
        if (mult == 1) {
          channel_blocks(C, [&](auto width, int64_t c0) {
            constexpr int B = decltype(width)::value;
            float acc[B];
            for (int i = 0; i < B; ++i) acc[i] = bias ? bias[c0 + i] : 0.0f;
            for (int64_t kh = kh_lo; kh < kh_hi; ++kh)
              for (int64_t kw = kw_lo; kw < kw_hi; ++kw) {
                const float* xp = tap_x(kh, kw) + c0;
                const float* wp = w + (kh * p.kernel_w + kw) * OC + c0;
                for (int i = 0; i < B; ++i) acc[i] += xp[i] * wp[i];
              }
            for (int i = 0; i < B; ++i) yp[c0 + i] = acc[i];
          });
        } else {
          for (int64_t o = 0; o < OC; ++o) yp[o] = bias ? bias[o] : 0.0f;
          for (int64_t kh = kh_lo; kh < kh_hi; ++kh)
            for (int64_t kw = kw_lo; kw < kw_hi; ++kw) {
              const float* xp = tap_x(kh, kw);
              const float* wp = w + (kh * p.kernel_w + kw) * OC;
              for (int64_t c = 0; c < C; ++c)
                for (int64_t j = 0; j < mult; ++j) yp[c * mult + j] += xp[c] * wp[c * mult + j];
            }
        }
      }
      activation_forward(act, yrow, p.out_w * OC);
    }
  });
}

void depthwise_backward_data(const Conv2DParams& p, const float* dy, const float* w, float* dx) {
  const int64_t C = p.in_c, OC = p.out_c, mult = OC / C;
  const int64_t per_row = p.in_w * OC * p.kernel_h * p.kernel_w / (p.stride_h * p.stride_w);
  // (kw, ow) taps reaching each input column, computed once: the divisions
  // would otherwise cost more than the arithmetic.
  std::vector<Tap> col_taps;
  std::vector<size_t> col_start(size_t(p.in_w) + 1, 0);
  for (int64_t iw = 0; iw < p.in_w; ++iw) {
    for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
      const int64_t num = iw + p.pad_left - kw * p.dilation_w;
      if (num >= 0 && num % p.stride_w == 0 && num / p.stride_w < p.out_w) col_taps.push_back({kw, num / p.stride_w});
    }
    col_start[size_t(iw) + 1] = col_taps.size();
  }
  parallel_range(p.batch * p.in_h, min_rows(per_row), [&](int64_t r0, int64_t r1) {
    std::vector<Tap> rows;  // (kh, oh) taps reaching the current input row
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / p.in_h, ih = r % p.in_h;
      rows.clear();
      for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
        const int64_t num = ih + p.pad_top - kh * p.dilation_h;
        if (num >= 0 && num % p.stride_h == 0 && num / p.stride_h < p.out_h) rows.push_back({kh, num / p.stride_h});
      }
      for (int64_t iw = 0; iw < p.in_w; ++iw) {
        const Tap* cols_begin = col_taps.data() + col_start[size_t(iw)];
        const Tap* cols_end = col_taps.data() + col_start[size_t(iw) + 1];
        float* dp = dx + (r * p.in_w + iw) * C;
        auto tap_dy = [&](const Tap& th, const Tap& tw) { return dy + ((n * p.out_h + th.o) * p.out_w + tw.o) * OC; };
        auto tap_w = [&](const Tap& th, const Tap& tw) { return w + (th.k * p.kernel_w + tw.k) * OC; };
        if (mult == 1) {
          channel_blocks(C, [&](auto width, int64_t c0) {
            constexpr int B = decltype(width)::value;
            float acc[B] = {};
            for (const Tap& th : rows)
              for (const Tap* tw = cols_begin; tw != cols_end; ++tw) {
                const float* gp = tap_dy(th, *tw) + c0;
                const float* wp = tap_w(th, *tw) + c0;
                for (int i = 0; i < B; ++i) acc[i] += gp[i] * wp[i];
              }
            for (int i = 0; i < B; ++i) dp[c0 + i] = acc[i];
          });
        } else {
          std::memset(dp, 0, size_t(C) * sizeof(float));
          for (const Tap& th : rows)
            for (const Tap* tw = cols_begin; tw != cols_end; ++tw) {
              const float* gp = tap_dy(th, *tw);
              const float* wp = tap_w(th, *tw);
              for (int64_t c = 0; c < C; ++c) {
                float s = 0.0f;
                for (int64_t j = 0; j < mult; ++j) s += gp[c * mult + j] * wp[c * mult + j];
                dp[c] += s;
              }
            }
        }
      }
    }
  });
}

void depthwise_backward_filter(const Conv2DParams& p, const float* x, const float* dy, float* dw) {
  const int64_t C = p.in_c, OC = p.out_c, mult = OC / C;
  const int64_t taps = p.kernel_h * p.kernel_w, wsize = taps * OC;
  const int64_t rows = p.batch * p.out_h;
  const int64_t per_row = p.out_w * OC * taps;
  // Each part sums a contiguous range of output rows into its own partial dw.
  const int64_t parts = std::max<int64_t>(
      1, std::min<int64_t>(ThreadPool::global().num_threads(), rows / min_rows(per_row)));
  std::vector<float> partial(size_t(parts * wsize), 0.0f);
  ThreadPool::global().parallel_for(int(parts), [&](int part) {
    float* acc_w = partial.data() + part * wsize;
    for (int64_t r = rows * part / parts; r < rows * (part + 1) / parts; ++r) {
      const int64_t n = r / p.out_h, oh = r % p.out_h;
      const int64_t ih0 = oh * p.stride_h - p.pad_top;
      int64_t kh_lo, kh_hi;
      valid_range(ih0, p.dilation_h, p.kernel_h, p.in_h, &kh_lo, &kh_hi);
      const float* gyrow = dy + r * p.out_w * OC;
      for (int64_t kh = kh_lo; kh < kh_hi; ++kh) {
        const float* xrow = x + (n * p.in_h + ih0 + kh * p.dilation_h) * p.in_w * C;
        for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
          // Output columns whose tap kw lands inside the input row.
          const int64_t iw_base = kw * p.dilation_w - p.pad_left;
          int64_t ow_lo, ow_hi;
          valid_range(iw_base, p.stride_w, p.out_w, p.in_w, &ow_lo, &ow_hi);
          float* dwp = acc_w + (kh * p.kernel_w + kw) * OC;
          auto px = [&](int64_t ow) { return xrow + (ow * p.stride_w + iw_base) * C; };
          if (mult == 1) {
            channel_blocks(C, [&](auto width, int64_t c0) {
              constexpr int B = decltype(width)::value;
              float acc[B];
              for (int i = 0; i < B; ++i) acc[i] = dwp[c0 + i];
              for (int64_t ow = ow_lo; ow < ow_hi; ++ow) {
                const float* xp = px(ow) + c0;
                const float* gp = gyrow + ow * OC + c0;
                for (int i = 0; i < B; ++i) acc[i] += xp[i] * gp[i];
              }
              for (int i = 0; i < B; ++i) dwp[c0 + i] = acc[i];
            });
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) {
              const float* xp = px(ow);
              const float* gp = gyrow + ow * OC;
              for (int64_t c = 0; c < C; ++c)
                for (int64_t j = 0; j < mult; ++j) dwp[c * mult + j] += xp[c] * gp[c * mult + j];
            }
          }
        }
      }
    }
  });
  parallel_range(wsize, 4096, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) {
      float s = 0.0f;
      for (int64_t t = 0; t < parts; ++t) s += partial[size_t(t * wsize + i)];
      dw[i] = s;
    }
  });
}

}  // namespace kiln
