// Depthwise convolution (groups == in_c): output channel o = c * mult + j
// reads input channel c only, so im2col would copy kh * kw values to do one
// multiply each. These direct kernels walk the taps of each pixel with the
// channels innermost (contiguous in NHWC and in the filter).
//
// The forward pass and the data gradient are one register-blocked kernel: a
// block of kPx pixels x kCh channels keeps its sums in SIMD registers across
// a list of tap offsets, and each filter vector loaded serves all kPx pixels.
// Pixels whose taps all fall inside the image (the interior) share one tap
// list per row; border pixels get their own, filtered. The filter gradient
// is the same blocking with kPx filter taps per block.
//
// All of it works per output channel. A multiplier > 1 copies the input rows
// it reads with each channel repeated mult times (x[c] at every c * mult + j),
// which puts them in the output channels' layout; the data gradient sums the
// mult products of each input channel at the end.
//
// Every kernel gathers (each task owns the outputs it writes), so threads
// split rows with no atomics; the filter gradient sums per-thread partials.
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/activation.h"
#include "cpu/conv2d.h"

namespace kiln {
namespace {

constexpr int64_t kMinTaskFlops = 32 * 1024;
// Pixels x channels per register block, measured on a 3x3 56x56x64 layer:
// clang/wasm keeps 3 x 2 v128 sums in registers (about 1.8x over one pixel
// of 16 channels); GCC's SSE code was fastest with 4 x 1 vectors.
#if defined(__wasm_simd128__)
constexpr int kPx = 3, kCh = 8;
#else
constexpr int kPx = 4, kCh = 4;
#endif

// [lo, hi): the t in [0, count) with 0 <= base + t * step < limit (step > 0).
inline void valid_range(int64_t base, int64_t step, int64_t count, int64_t limit, int64_t* lo, int64_t* hi) {
  *lo = base < 0 ? (-base + step - 1) / step : 0;
  *hi = base >= limit ? 0 : std::min(count, (limit - 1 - base) / step + 1);
  if (*hi < *lo) *hi = *lo;
}

int64_t min_rows(int64_t per_row) { return std::max<int64_t>(1, kMinTaskFlops / std::max<int64_t>(1, per_row)); }

// The taps of a pixel as offsets: into the data operand (relative to the
// pixel's own base offset) and into the filter.
struct Taps {
  std::vector<int64_t> a, b;
  void clear() { a.clear(), b.clear(); }
  void add(int64_t da, int64_t db) { a.push_back(da), b.push_back(db); }
};

// For P pixels q and B channels i (all pointers already advanced to the
// block's first channel):
//   y[q * y_step + i] = init[q * init_step + i] (or 0) + sum_t a[a_base + q * a_step + t.a[t] + i] * b[t.b[t] + i]
// init is the bias (init_step 0) or y itself (init_step = y_step: accumulate).
template <int P, int B>
inline void tap_block(const Taps& t, const float* a, int64_t a_base, int64_t a_step, const float* b, const float* init,
                      int64_t init_step, float* y, int64_t y_step) {
  float acc[P][B];
  for (int q = 0; q < P; ++q)
    for (int i = 0; i < B; ++i) acc[q][i] = init ? init[q * init_step + i] : 0.0f;
  const size_t n = t.a.size();
  for (size_t k = 0; k < n; ++k) {
    const float* ap = a + (a_base + t.a[k]);
    const float* bp = b + t.b[k];
    for (int q = 0; q < P; ++q)
      for (int i = 0; i < B; ++i) acc[q][i] += ap[q * a_step + i] * bp[i];
  }
  for (int q = 0; q < P; ++q)
    for (int i = 0; i < B; ++i) y[q * y_step + i] = acc[q][i];
}

// tap_block over all C channels (multiplier 1).
template <int P>
void tap_pixels(const Taps& t, const float* a, int64_t a_base, int64_t a_step, const float* b, const float* init,
                int64_t init_step, int64_t C, float* y, int64_t y_step) {
  // One pixel needs 16 channels (4 vectors) of independent sums to hide the
  // add latency; blocks of several pixels have enough with kCh.
  constexpr int kWidth = P == 1 ? 16 : kCh;
  int64_t c0 = 0;
  auto at = [&](const float* v) { return v ? v + c0 : nullptr; };
  for (; c0 + kWidth <= C; c0 += kWidth)
    tap_block<P, kWidth>(t, a + c0, a_base, a_step, b + c0, at(init), init_step, y + c0, y_step);
  for (; c0 + 4 <= C; c0 += 4) tap_block<P, 4>(t, a + c0, a_base, a_step, b + c0, at(init), init_step, y + c0, y_step);
  for (; c0 < C; ++c0) tap_block<P, 1>(t, a + c0, a_base, a_step, b + c0, at(init), init_step, y + c0, y_step);
}

// The filter gradient's inner loop: for P consecutive kw taps q and all C
// channels, d[q * OC + c] += sum_{k < count} x[k * x_step + q * q_step + c] * g[k * OC + c]
// (k runs over output columns; x and g advance by constant strides).
template <int P>
void filter_taps(const float* x, int64_t x_step, int64_t q_step, const float* g, int64_t count, int64_t C, int64_t OC,
                 float* d) {
  constexpr int kWidth = P == 1 ? 16 : kCh;
  auto block = [&](auto width, int64_t c0) {
    constexpr int B = decltype(width)::value;
    float acc[P][B];
    for (int q = 0; q < P; ++q)
      for (int i = 0; i < B; ++i) acc[q][i] = d[q * OC + c0 + i];
    const float* xp = x + c0;
    const float* gp = g + c0;
    for (int64_t k = 0; k < count; ++k, xp += x_step, gp += OC)
      for (int q = 0; q < P; ++q)
        for (int i = 0; i < B; ++i) acc[q][i] += xp[q * q_step + i] * gp[i];
    for (int q = 0; q < P; ++q)
      for (int i = 0; i < B; ++i) d[q * OC + c0 + i] = acc[q][i];
  };
  int64_t c0 = 0;
  for (; c0 + kWidth <= C; c0 += kWidth) block(std::integral_constant<int, kWidth>(), c0);
  for (; c0 + 4 <= C; c0 += 4) block(std::integral_constant<int, 4>(), c0);
  for (; c0 < C; ++c0) block(std::integral_constant<int, 1>(), c0);
}

// Copies `pixels` pixels of C channels with each value repeated mult times.
void expand_channels(const float* src, int64_t pixels, int64_t C, int64_t mult, float* dst) {
  for (int64_t i = 0; i < pixels * C; ++i)
    for (int64_t j = 0; j < mult; ++j) dst[i * mult + j] = src[i];
}

}  // namespace

void depthwise_forward(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act,
                       float* y) {
  const int64_t C = p.in_c, OC = p.out_c, mult = OC / C;
  const int64_t per_row = p.out_w * OC * p.kernel_h * p.kernel_w;
  // Interior output columns: all kernel_w taps inside the input row.
  int64_t in_lo, in_hi;
  valid_range(-p.pad_left, p.stride_w, p.out_w, p.in_w - (p.kernel_w - 1) * p.dilation_w, &in_lo, &in_hi);
  parallel_range(p.batch * p.out_h, min_rows(per_row), [&](int64_t r0, int64_t r1) {
    Taps full, edge;
    std::vector<float> expanded;  // multiplier > 1: the kernel_h input rows, channels repeated
    if (mult > 1) expanded.resize(size_t(p.kernel_h * p.in_w * OC));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / p.out_h, oh = r % p.out_h;
      const int64_t ih0 = oh * p.stride_h - p.pad_top;
      int64_t kh_lo, kh_hi;
      valid_range(ih0, p.dilation_h, p.kernel_h, p.in_h, &kh_lo, &kh_hi);
      // src holds input rows of OC values per pixel; row_at(kh) is the offset of tap row kh.
      const float* src = x;
      auto row_at = [&](int64_t kh) {
        return mult > 1 ? kh * p.in_w * OC : (n * p.in_h + ih0 + kh * p.dilation_h) * p.in_w * OC;
      };
      if (mult > 1) {
        for (int64_t kh = kh_lo; kh < kh_hi; ++kh)
          expand_channels(x + (n * p.in_h + ih0 + kh * p.dilation_h) * p.in_w * C, p.in_w, C, mult,
                          expanded.data() + row_at(kh));
        src = expanded.data();
      }
      auto make_taps = [&](Taps* t, int64_t kw_lo, int64_t kw_hi) {
        t->clear();
        for (int64_t kh = kh_lo; kh < kh_hi; ++kh)
          for (int64_t kw = kw_lo; kw < kw_hi; ++kw)
            t->add(row_at(kh) + kw * p.dilation_w * OC, (kh * p.kernel_w + kw) * OC);
      };
      make_taps(&full, 0, p.kernel_w);
      float* yrow = y + r * p.out_w * OC;
      for (int64_t ow = 0; ow < p.out_w;) {
        const int64_t iw0 = ow * p.stride_w - p.pad_left;
        float* yp = yrow + ow * OC;
        if (ow >= in_lo && ow + kPx <= in_hi) {
          tap_pixels<kPx>(full, src, iw0 * OC, p.stride_w * OC, w, bias, 0, OC, yp, OC);
          ow += kPx;
          continue;
        }
        const Taps* t = &full;
        if (ow < in_lo || ow >= in_hi) {
          int64_t kw_lo, kw_hi;
          valid_range(iw0, p.dilation_w, p.kernel_w, p.in_w, &kw_lo, &kw_hi);
          make_taps(&edge, kw_lo, kw_hi);
          t = &edge;
        }
        tap_pixels<1>(*t, src, iw0 * OC, 0, w, bias, 0, OC, yp, OC);
        ++ow;
      }
      activation_forward(act, yrow, p.out_w * OC);
    }
  });
}

// dx[ih, iw] gathers dy[oh, ow] * w[kh, kw] over oh * stride_h = ih + pad_top - kh * dilation_h
// (same for w). With stride s, input columns of one phase iw = ph + k * s
// share their kw taps and reach output columns q_kw + k: consecutive such
// pixels form the register blocks (dy step 1 pixel, dx step s pixels).
void depthwise_backward_data(const Conv2DParams& p, const float* dy, const float* w, float* dx) {
  const int64_t C = p.in_c, OC = p.out_c, mult = OC / C;
  const int64_t sw = p.stride_w;
  const int64_t per_row = p.in_w * OC * p.kernel_h * p.kernel_w / (p.stride_h * sw);
  parallel_range(p.batch * p.in_h, min_rows(per_row), [&](int64_t r0, int64_t r1) {
    struct RowTap {
      int64_t kh, oh;
    };
    struct ColTap {
      int64_t kw, q;  // output column q + k for the phase's k-th pixel
    };
    std::vector<RowTap> rows;
    std::vector<ColTap> cols;
    Taps full, edge;
    std::vector<float> prods(mult > 1 ? size_t(kPx * OC) : 0);  // multiplier > 1: per output channel
    // dx of nq pixels: each input channel's sum of its mult products.
    auto finish = [&](int nq, float* dp) {
      for (int q = 0; q < nq; ++q)
        for (int64_t c = 0; c < C; ++c) {
          float s = 0.0f;
          for (int64_t j = 0; j < mult; ++j) s += prods[size_t(q * OC + c * mult + j)];
          dp[q * sw * C + c] = s;
        }
    };
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / p.in_h, ih = r % p.in_h;
      rows.clear();
      for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
        const int64_t num = ih + p.pad_top - kh * p.dilation_h;
        if (num >= 0 && num % p.stride_h == 0 && num / p.stride_h < p.out_h) rows.push_back({kh, num / p.stride_h});
      }
      float* dxrow = dx + r * p.in_w * C;
      for (int64_t ph = 0; ph < std::min(sw, p.in_w); ++ph) {
        cols.clear();
        int64_t k_lo = 0, k_hi = (p.in_w - ph + sw - 1) / sw;  // pixels of this phase; then its interior
        const int64_t k_end = k_hi;
        for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
          const int64_t num = ph + p.pad_left - kw * p.dilation_w;
          if (((num % sw) + sw) % sw != 0) continue;
          const int64_t q = num / sw;  // exact, also when negative
          cols.push_back({kw, q});
          k_lo = std::max(k_lo, -q);
          k_hi = std::min(k_hi, p.out_w - q);
        }
        auto make_taps = [&](Taps* t, int64_t k) {  // k < 0: all column taps (interior)
          t->clear();
          for (const RowTap& rt : rows)
            for (const ColTap& ct : cols)
              if (k < 0 || (ct.q + k >= 0 && ct.q + k < p.out_w))
                t->add(((n * p.out_h + rt.oh) * p.out_w + ct.q) * OC, (rt.kh * p.kernel_w + ct.kw) * OC);
        };
        make_taps(&full, -1);
        for (int64_t k = 0; k < k_end;) {
          float* dp = dxrow + (ph + k * sw) * C;
          if (k >= k_lo && k + kPx <= k_hi) {
            if (mult == 1) {
              tap_pixels<kPx>(full, dy, k * OC, OC, w, nullptr, 0, C, dp, sw * C);
            } else {
              tap_pixels<kPx>(full, dy, k * OC, OC, w, nullptr, 0, OC, prods.data(), OC);
              finish(kPx, dp);
            }
            k += kPx;
            continue;
          }
          const Taps* t = &full;
          if (k < k_lo || k >= k_hi) {
            make_taps(&edge, k);
            t = &edge;
          }
          if (mult == 1) {
            tap_pixels<1>(*t, dy, k * OC, 0, w, nullptr, 0, C, dp, 0);
          } else {
            tap_pixels<1>(*t, dy, k * OC, 0, w, nullptr, 0, OC, prods.data(), 0);
            finish(1, dp);
          }
          ++k;
        }
      }
    }
  });
}

// dw[kh, kw] = sum over output pixels of x[tap (kh, kw)] * dy, per output
// row and kh: a reduction over output columns with kPx consecutive kw taps
// in registers at once, so each dy vector loaded serves kPx taps. Columns
// whose taps all fall inside the row (the interior) go through the blocked
// loop; the few border columns are added per kw.
namespace {
// Output rows summed into each partial dw, one part per task.
int64_t filter_parts(const Conv2DParams& p, int threads) {
  const int64_t per_row = p.out_w * p.out_c * p.kernel_h * p.kernel_w;
  return std::max<int64_t>(1, std::min<int64_t>(threads, p.batch * p.out_h / min_rows(per_row)));
}
// A multiplier above 1 expands one input row per thread.
int64_t expanded_floats(const Conv2DParams& p) { return p.out_c > p.in_c ? scratch_align(p.in_w * p.out_c) : 0; }
// One part's partial dw, on cache lines of its own.
int64_t part_floats(const Conv2DParams& p) { return scratch_align(p.kernel_h * p.kernel_w * p.out_c); }
}  // namespace

// The partial sums, then one expanded row per thread.
int64_t depthwise_backward_filter_scratch_floats(const Conv2DParams& p, int threads) {
  return filter_parts(p, threads) * part_floats(p) + threads * expanded_floats(p);
}

void depthwise_backward_filter(const Conv2DParams& p, const float* x, const float* dy, float* dw, const Scratch& scratch) {
  const int64_t C = p.in_c, OC = p.out_c, mult = OC / C;
  const int64_t taps = p.kernel_h * p.kernel_w, wsize = taps * OC;
  const int64_t rows = p.batch * p.out_h;
  const int64_t x_step = p.stride_w * OC, q_step = p.dilation_w * OC;
  int64_t in_lo, in_hi;
  valid_range(-p.pad_left, p.stride_w, p.out_w, p.in_w - (p.kernel_w - 1) * p.dilation_w, &in_lo, &in_hi);
  // Each part sums a contiguous range of output rows into its own partial dw.
  const int threads = ThreadPool::global().num_threads();
  const int64_t parts = filter_parts(p, threads);
  const ScratchBuffer buffer(scratch, depthwise_backward_filter_scratch_floats(p, threads));
  float* const partial = buffer.data();
  const int64_t stride = part_floats(p);
  std::memset(partial, 0, size_t(parts * stride) * sizeof(float));
  ThreadPool::global().parallel_for(int(parts), [&](int part) {
    float* acc_w = partial + part * stride;
    float* const expanded = partial + parts * stride + ThreadPool::worker_index() * expanded_floats(p);
    for (int64_t r = rows * part / parts; r < rows * (part + 1) / parts; ++r) {
      const int64_t n = r / p.out_h, oh = r % p.out_h;
      const int64_t ih0 = oh * p.stride_h - p.pad_top;
      int64_t kh_lo, kh_hi;
      valid_range(ih0, p.dilation_h, p.kernel_h, p.in_h, &kh_lo, &kh_hi);
      const float* grow = dy + r * p.out_w * OC;
      for (int64_t kh = kh_lo; kh < kh_hi; ++kh) {
        // The input row, OC values per pixel.
        const float* xrow = x + (n * p.in_h + ih0 + kh * p.dilation_h) * p.in_w * C;
        if (mult > 1) {
          expand_channels(xrow, p.in_w, C, mult, expanded);
          xrow = expanded;
        }
        // x at output column ow's tap kw (valid only when inside the row).
        auto xat = [&](int64_t ow, int64_t kw) {
          return xrow + (ow * p.stride_w - p.pad_left + kw * p.dilation_w) * OC;
        };
        float* dwk = acc_w + kh * p.kernel_w * OC;  // dw[kh, 0]
        const int64_t inner = in_hi - in_lo;
        int64_t kw = 0;
        if (inner > 0) {
          for (; kw + kPx <= p.kernel_w; kw += kPx)
            filter_taps<kPx>(xat(in_lo, kw), x_step, q_step, grow + in_lo * OC, inner, OC, OC, dwk + kw * OC);
          for (; kw < p.kernel_w; ++kw)
            filter_taps<1>(xat(in_lo, kw), x_step, 0, grow + in_lo * OC, inner, OC, OC, dwk + kw * OC);
        }
        for (kw = 0; kw < p.kernel_w; ++kw) {  // border columns: [lo, in_lo) and [in_hi, hi)
          int64_t lo, hi;
          valid_range(kw * p.dilation_w - p.pad_left, p.stride_w, p.out_w, p.in_w, &lo, &hi);
          const int64_t a1 = std::min(hi, in_lo), b0 = std::max(lo, in_hi);
          if (lo < a1) filter_taps<1>(xat(lo, kw), x_step, 0, grow + lo * OC, a1 - lo, OC, OC, dwk + kw * OC);
          if (b0 < hi) filter_taps<1>(xat(b0, kw), x_step, 0, grow + b0 * OC, hi - b0, OC, OC, dwk + kw * OC);
        }
      }
    }
  });
  parallel_range(wsize, 4096, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) {
      float s = 0.0f;
      for (int64_t t = 0; t < parts; ++t) s += partial[t * stride + i];
      dw[i] = s;
    }
  });
}

}  // namespace kiln
