// General (grouped) convolution as GEMM over NHWC patches. Row r of the patch
// matrix ("col") is one output pixel, its K = kh * kw * (in_c / groups)
// columns are the taps in filter order, so the filter [kh, kw, cpg, out_c] is
// already the K x out_c right-hand matrix (a group uses a column slice of it).
// A pointwise conv (1x1, stride 1, no padding) needs no col at all: the NHWC
// input IS the patch matrix.
//
// The batch is processed in chunks of output rows (n, oh) so the col buffer
// stays below a budget (4 MiB) whatever the batch; each chunk is one
// multithreaded gemm().
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/conv2d.h"
#include "cpu/gemm.h"

namespace kiln {
namespace {

constexpr int64_t kDefaultColBudget = int64_t(1) << 20;  // floats (4 MiB) per col chunk
int64_t g_col_budget = kDefaultColBudget;
constexpr int64_t kMinTaskFloats = 16 * 1024;  // smallest per-thread share of a copy loop

struct Geo {
  int64_t cpg, opg, k;  // channels per group in / out, taps per output value
  int64_t rows;         // output rows (n, oh) in the whole batch
  int64_t chunk_rows;   // output rows per col chunk
};

Geo geometry(const Conv2DParams& p) {
  Geo g;
  g.cpg = p.in_c / p.groups;
  g.opg = p.out_c / p.groups;
  g.k = p.kernel_h * p.kernel_w * g.cpg;
  g.rows = p.batch * p.out_h;
  g.chunk_rows = std::max<int64_t>(1, std::min(g.rows, g_col_budget / (p.out_w * g.k)));
  return g;
}

bool is_pointwise(const Conv2DParams& p) {
  return p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
         p.pad_left == 0 && p.out_h == p.in_h && p.out_w == p.in_w;
}

int64_t col_floats(const Conv2DParams& p, const Geo& geo) { return scratch_align(geo.chunk_rows * p.out_w * geo.k); }

// The shape of a product for sizing its scratch; `packed`: B comes packed
// by the running micro-kernel.
GemmArgs gemm_shape(int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b, bool packed) {
  static const float kMarker = 0;  // any non-null B: "packed"
  GemmArgs g;
  g.m = m, g.n = n, g.k = k, g.trans_a = trans_a, g.trans_b = trans_b;
  if (packed) g.b_packed = &kMarker, g.b_packed_nr = gemm_active_kernel().nr;
  return g;
}

int64_t min_rows(int64_t floats_per_row) {
  return std::max<int64_t>(1, kMinTaskFloats / std::max<int64_t>(1, floats_per_row));
}

// One tap's channels (src null: padding zeros). Few channels (a first layer
// on gray or RGB images) are copied by a loop: a memcpy call per 1-3 floats
// cost more than the GEMM after it.
inline void copy_tap(float* dst, const float* src, int64_t n) {
  if (n >= 16) {
    if (src)
      std::memcpy(dst, src, size_t(n) * sizeof(float));
    else
      std::memset(dst, 0, size_t(n) * sizeof(float));
    return;
  }
  for (int64_t c = 0; c < n; ++c) dst[c] = src ? src[c] : 0.0f;
}

// Patches of group grp for output rows [r0, r1) into col ((r1 - r0) * out_w x k).
void im2col(const Conv2DParams& p, const Geo& geo, const float* x, int64_t grp, int64_t r0, int64_t r1, float* col) {
  const bool contiguous_taps = geo.cpg == p.in_c && p.dilation_w == 1;
  parallel_range(r1 - r0, min_rows(p.out_w * geo.k), [&](int64_t a, int64_t b) {
    for (int64_t r = r0 + a; r < r0 + b; ++r) {
      const int64_t n = r / p.out_h, oh = r % p.out_h;
      float* dst = col + (r - r0) * p.out_w * geo.k;
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
          const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
          const bool row_ok = ih >= 0 && ih < p.in_h;
          const float* src_row = x + (n * p.in_h + ih) * p.in_w * p.in_c + grp * geo.cpg;
          const int64_t iw0 = ow * p.stride_w - p.pad_left;
          if (contiguous_taps && row_ok && iw0 >= 0 && iw0 + p.kernel_w <= p.in_w) {
            // The whole kernel row is one run of the input row (few channels:
            // the first conv of an RGB model), copied at once.
            copy_tap(dst, src_row + iw0 * p.in_c, p.kernel_w * geo.cpg);
            dst += p.kernel_w * geo.cpg;
            continue;
          }
          for (int64_t kw = 0; kw < p.kernel_w; ++kw, dst += geo.cpg) {
            const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
            copy_tap(dst, row_ok && iw >= 0 && iw < p.in_w ? src_row + iw * p.in_c : nullptr, geo.cpg);
          }
        }
      }
    }
  });
}

// dx (group grp's channels) += col2im(col) for output rows [r0, r1). Gathers
// per input row rather than scattering per output pixel, so threads own
// disjoint dx rows and need no atomics.
void col2im_add(const Conv2DParams& p, const Geo& geo, const float* col, int64_t grp, int64_t r0, int64_t r1,
                const int64_t* ow_of, float* dx) {
  const int64_t n0 = r0 / p.out_h, n1 = (r1 - 1) / p.out_h + 1;
  parallel_range((n1 - n0) * p.in_h, min_rows(p.in_w * geo.cpg * p.kernel_h * p.kernel_w), [&](int64_t a, int64_t b) {
    for (int64_t t = a; t < b; ++t) {
      const int64_t n = n0 + t / p.in_h, ih = t % p.in_h;
      float* drow = dx + (n * p.in_h + ih) * p.in_w * p.in_c + grp * geo.cpg;
      for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
        const int64_t num = ih + p.pad_top - kh * p.dilation_h;
        if (num < 0 || num % p.stride_h != 0) continue;
        const int64_t r = n * p.out_h + num / p.stride_h;
        if (num / p.stride_h >= p.out_h || r < r0 || r >= r1) continue;
        const float* crow = col + (r - r0) * p.out_w * geo.k + kh * p.kernel_w * geo.cpg;
        for (int64_t iw = 0; iw < p.in_w; ++iw) {
          float* d = drow + iw * p.in_c;
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t ow = ow_of[iw * p.kernel_w + kw];
            if (ow < 0) continue;
            const float* s = crow + ow * geo.k + kw * geo.cpg;
            for (int64_t c = 0; c < geo.cpg; ++c) d[c] += s[c];
          }
        }
      }
    }
  });
}

// C (+)= A^T B with a long reduction (k) and a small C, as in the filter
// gradient: gemm() parallelises over C's tiles only, which are too few to
// keep the pool busy, so the reduction is split across threads into private
// partial sums instead, then added up.
// Partial sums the split takes for this product (0: no split, a plain gemm()).
int64_t split_parts(const GemmArgs& g, int threads) {
  const int64_t tiles = ((g.m + 95) / 96) * ((g.n + gemm_active_kernel().nr - 1) / gemm_active_kernel().nr);
  const int64_t parts = std::min<int64_t>(threads, g.k / 256);
  return tiles >= threads || parts < 2 || g.m * g.n * parts > (int64_t(4) << 20) ? 0 : parts;
}

// Scratch: the partial sums, then the products' own (the nested ones run one
// per thread, each in its thread's slice). Grows with k, like gemm()'s.
int64_t split_reduction_scratch_floats(const GemmArgs& g, int threads) {
  return split_parts(g, threads) * scratch_align(g.m * g.n) + gemm_scratch_floats(g, threads);
}

void gemm_split_reduction(const GemmArgs& g, const Scratch& scratch) {
  ThreadPool& pool = ThreadPool::global();
  const int threads = pool.num_threads();
  const int64_t parts = split_parts(g, threads);
  const int64_t part_floats = scratch_align(g.m * g.n), partial_floats = parts * part_floats;
  const int64_t gemm_floats = gemm_scratch_floats(g, threads);
  const ScratchBuffer buffer(scratch, partial_floats + gemm_floats);
  float* const partial = buffer.data();
  GemmArgs whole = g;
  whole.scratch = {buffer.data() + partial_floats, gemm_floats};
  if (!parts) return gemm(whole);
  pool.parallel_for(int(parts), [&](int t) {
    GemmArgs s = whole;
    const int64_t k0 = g.k * t / parts, k1 = g.k * (t + 1) / parts;
    s.k = k1 - k0;
    s.a = g.trans_a ? g.a + k0 * g.lda : g.a + k0;
    s.b = g.trans_b ? g.b + k0 : g.b + k0 * g.ldb;
    s.c = partial + t * part_floats;
    s.ldc = g.n;
    s.accumulate = false;
    gemm(s);  // nested in a pool task: runs on this thread
  });
  parallel_range(g.m, min_rows(g.n * parts), [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) {
      float* c = g.c + i * g.ldc;
      if (!g.accumulate) std::memset(c, 0, size_t(g.n) * sizeof(float));
      for (int64_t t = 0; t < parts; ++t) {
        const float* src = partial + t * part_floats + i * g.n;
        for (int64_t j = 0; j < g.n; ++j) c[j] += src[j];
      }
    }
  });
}

// ow_of[iw * kernel_w + kw]: the output column whose tap kw reads input
// column iw, or -1 (computed once: the divisions would dominate col2im).
std::vector<int64_t> output_columns(const Conv2DParams& p) {
  std::vector<int64_t> t(size_t(p.in_w * p.kernel_w), -1);
  for (int64_t iw = 0; iw < p.in_w; ++iw)
    for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
      const int64_t num = iw + p.pad_left - kw * p.dilation_w;
      if (num >= 0 && num % p.stride_w == 0 && num / p.stride_w < p.out_w)
        t[size_t(iw * p.kernel_w + kw)] = num / p.stride_w;
    }
  return t;
}

// With stride 1 the data gradient is itself a convolution: of dy with the
// filter rotated 180 degrees and its channel axes swapped, padded by
// (k - 1) * dilation - pad. That runs as im2col(dy) + GEMM with K = kh * kw * opg
// (a deep, efficient product) instead of a K = opg product and col2im.
Conv2DParams as_forward(const Conv2DParams& p) {
  Conv2DParams t = p;
  t.in_h = p.out_h, t.in_w = p.out_w, t.in_c = p.out_c;
  t.out_h = p.in_h, t.out_w = p.in_w, t.out_c = p.in_c;
  t.pad_top = (p.kernel_h - 1) * p.dilation_h - p.pad_top;
  t.pad_left = (p.kernel_w - 1) * p.dilation_w - p.pad_left;
  return t;
}

// Scratch: the rotated filter, then the forward convolution's.
int64_t as_forward_scratch_floats(const Conv2DParams& p, int threads) {
  return scratch_align(p.kernel_h * p.kernel_w * (p.in_c / p.groups) * p.out_c) +
         conv2d_forward_dense_scratch_floats(as_forward(p), threads);
}

void backward_data_as_forward(const Conv2DParams& p, const float* dy, const float* w, float* dx, const Scratch& scratch) {
  const int64_t cpg = p.in_c / p.groups, opg = p.out_c / p.groups;
  const Conv2DParams t = as_forward(p);
  const int64_t wt_floats = scratch_align(p.kernel_h * p.kernel_w * cpg * p.out_c);
  const int64_t forward_floats = conv2d_forward_dense_scratch_floats(t, ThreadPool::global().num_threads());
  const ScratchBuffer buffer(scratch, wt_floats + forward_floats);
  float* const wt = buffer.data();
  // wt[kh', kw', o, g * cpg + c] = w[kh - 1 - kh', kw - 1 - kw', c, g * opg + o]
  for (int64_t kh = 0; kh < p.kernel_h; ++kh)
    for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
      const float* src = w + (kh * p.kernel_w + kw) * cpg * p.out_c;
      float* dst = wt + ((p.kernel_h - 1 - kh) * p.kernel_w + (p.kernel_w - 1 - kw)) * opg * p.in_c;
      for (int64_t g = 0; g < p.groups; ++g)
        for (int64_t c = 0; c < cpg; ++c)
          for (int64_t o = 0; o < opg; ++o) dst[o * p.in_c + g * cpg + c] = src[c * p.out_c + g * opg + o];
    }
  conv2d_forward_dense(t, dy, wt, nullptr, Activation::kLinear, dx, {wt + wt_floats, forward_floats});
}

}  // namespace

void conv2d_set_col_budget(int64_t floats) { g_col_budget = floats > 0 ? floats : kDefaultColBudget; }

// Forward: the col chunk, then the product's scratch.
int64_t conv2d_forward_im2col_scratch_floats(const Conv2DParams& p, int threads, bool packed) {
  const Geo geo = geometry(p);
  if (is_pointwise(p)) return gemm_scratch_floats(gemm_shape(p.batch * p.in_h * p.in_w, geo.opg, geo.k, false, false, packed), threads);
  return col_floats(p, geo) + gemm_scratch_floats(gemm_shape(geo.chunk_rows * p.out_w, geo.opg, geo.k, false, false, packed), threads);
}

void conv2d_forward_im2col(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act,
                           float* y, const Conv2DPackedFilter& packed, const Scratch& scratch) {
  const Geo geo = geometry(p);
  const bool pointwise = is_pointwise(p);
  const int threads = ThreadPool::global().num_threads();
  const int64_t col_n = pointwise ? 0 : col_floats(p, geo);
  const int64_t total = conv2d_forward_im2col_scratch_floats(p, threads, packed.data != nullptr);
  const ScratchBuffer buffer(scratch, total);
  float* const col = buffer.data();
  for (int64_t grp = 0; grp < p.groups; ++grp) {
    GemmArgs g;
    g.n = geo.opg, g.k = geo.k;
    if (packed.data) g.b_packed = packed.data, g.b_packed_nr = packed.nr;  // groups == 1
    else g.b = w + grp * geo.opg, g.ldb = p.out_c;
    g.ldc = p.out_c;
    g.bias = bias ? bias + grp * geo.opg : nullptr;
    g.act = act;
    g.scratch = {buffer.data() + col_n, total - col_n};
    if (pointwise) {
      g.m = p.batch * p.in_h * p.in_w;
      g.a = x + grp * geo.cpg, g.lda = p.in_c;
      g.c = y + grp * geo.opg;
      gemm(g);
      continue;
    }
    for (int64_t r0 = 0; r0 < geo.rows; r0 += geo.chunk_rows) {
      const int64_t r1 = std::min(geo.rows, r0 + geo.chunk_rows);
      im2col(p, geo, x, grp, r0, r1, col);
      g.m = (r1 - r0) * p.out_w;
      g.a = col, g.lda = geo.k;
      g.c = y + r0 * p.out_w * p.out_c + grp * geo.opg;
      gemm(g);
    }
  }
}

// Data gradient: pointwise one product; stride 1 a forward convolution;
// otherwise the col chunk, then the product's scratch.
int64_t conv2d_backward_data_im2col_scratch_floats(const Conv2DParams& p, int threads) {
  const Geo geo = geometry(p);
  if (is_pointwise(p)) return gemm_scratch_floats(gemm_shape(p.batch * p.in_h * p.in_w, geo.cpg, geo.opg, false, true, false), threads);
  if (p.stride_h == 1 && p.stride_w == 1) return as_forward_scratch_floats(p, threads);
  return col_floats(p, geo) + gemm_scratch_floats(gemm_shape(geo.chunk_rows * p.out_w, geo.k, geo.opg, false, true, false), threads);
}

void conv2d_backward_data_im2col(const Conv2DParams& p, const float* dy, const float* w, float* dx, const Scratch& scratch) {
  const Geo geo = geometry(p);
  const int threads = ThreadPool::global().num_threads();
  // col = dy_g W_g^T: the filter read transposed, in place.
  GemmArgs g;
  g.trans_b = true;
  g.k = geo.opg;
  g.ldb = p.out_c;
  g.lda = p.out_c;
  if (is_pointwise(p)) {
    const int64_t total = conv2d_backward_data_im2col_scratch_floats(p, threads);
    const ScratchBuffer buffer(scratch, total);
    g.scratch = {buffer.data(), total};
    for (int64_t grp = 0; grp < p.groups; ++grp) {
      g.m = p.batch * p.in_h * p.in_w, g.n = geo.cpg;
      g.a = dy + grp * geo.opg;
      g.b = w + grp * geo.opg;
      g.c = dx + grp * geo.cpg, g.ldc = p.in_c;
      gemm(g);
    }
    return;
  }
  if (p.stride_h == 1 && p.stride_w == 1) return backward_data_as_forward(p, dy, w, dx, scratch);
  const int64_t dx_size = p.batch * p.in_h * p.in_w * p.in_c;
  parallel_range(dx_size, kMinTaskFloats * 4,
                 [&](int64_t a, int64_t b) { std::memset(dx + a, 0, size_t(b - a) * sizeof(float)); });
  const int64_t col_n = col_floats(p, geo), total = conv2d_backward_data_im2col_scratch_floats(p, threads);
  const ScratchBuffer buffer(scratch, total);
  float* const col = buffer.data();
  g.scratch = {buffer.data() + col_n, total - col_n};
  const std::vector<int64_t> ow_of = output_columns(p);
  for (int64_t grp = 0; grp < p.groups; ++grp) {
    for (int64_t r0 = 0; r0 < geo.rows; r0 += geo.chunk_rows) {
      const int64_t r1 = std::min(geo.rows, r0 + geo.chunk_rows);
      g.m = (r1 - r0) * p.out_w, g.n = geo.k;
      g.a = dy + r0 * p.out_w * p.out_c + grp * geo.opg;
      g.b = w + grp * geo.opg;
      g.c = col, g.ldc = geo.k;
      gemm(g);
      col2im_add(p, geo, col, grp, r0, r1, ow_of.data(), dx);
    }
  }
}

// Filter gradient: the col chunk, then the split reduction's scratch for the
// longest product (a whole chunk; pointwise: the whole batch).
int64_t conv2d_backward_filter_im2col_scratch_floats(const Conv2DParams& p, int threads) {
  const Geo geo = geometry(p);
  if (is_pointwise(p) || geo.rows == 0)
    return split_reduction_scratch_floats(gemm_shape(geo.k, geo.opg, p.batch * p.in_h * p.in_w, true, false, false), threads);
  return col_floats(p, geo) +
         split_reduction_scratch_floats(gemm_shape(geo.k, geo.opg, geo.chunk_rows * p.out_w, true, false, false), threads);
}

void conv2d_backward_filter_im2col(const Conv2DParams& p, const float* x, const float* dy, float* dw,
                                   const Scratch& scratch) {
  const Geo geo = geometry(p);
  const bool pointwise = is_pointwise(p);
  const int threads = ThreadPool::global().num_threads();
  const int64_t col_n = pointwise || geo.rows == 0 ? 0 : col_floats(p, geo);
  const int64_t total = conv2d_backward_filter_im2col_scratch_floats(p, threads);
  const ScratchBuffer buffer(scratch, total);
  float* const col = buffer.data();
  const Scratch reduction{buffer.data() + col_n, total - col_n};
  for (int64_t grp = 0; grp < p.groups; ++grp) {
    // dw_g (K x opg) = col^T dy_g, summed over the chunks.
    GemmArgs g;
    g.trans_a = true;
    g.m = geo.k, g.n = geo.opg;
    g.ldb = p.out_c;
    g.c = dw + grp * geo.opg, g.ldc = p.out_c;
    if (pointwise || geo.rows == 0) {  // an empty batch gives k = 0: gemm() zeroes dw
      g.k = p.batch * p.in_h * p.in_w;
      g.a = x + grp * geo.cpg, g.lda = p.in_c;
      g.b = dy + grp * geo.opg;
      gemm_split_reduction(g, reduction);
      continue;
    }
    for (int64_t r0 = 0; r0 < geo.rows; r0 += geo.chunk_rows) {
      const int64_t r1 = std::min(geo.rows, r0 + geo.chunk_rows);
      im2col(p, geo, x, grp, r0, r1, col);
      g.k = (r1 - r0) * p.out_w;
      g.a = col, g.lda = geo.k;
      g.b = dy + r0 * p.out_w * p.out_c + grp * geo.opg;
      g.accumulate = r0 > 0;
      gemm_split_reduction(g, reduction);
    }
  }
}

}  // namespace kiln
