// 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3)
// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
// each 2x2 block of outputs comes from a 4x4 input tile with 16 multiplies per
// channel pair instead of 36, i.e. 2.25x fewer multiply-adds than im2col + GEMM.
//
//   U = G g G^T       (filter, 4x4 per input/output channel pair)
//   V = B^T d B       (input tile, 4x4 per channel)
//   M = U . V         (16 independent GEMMs over channels: [tiles x in_c] [in_c x out_c])
//   y = A^T M A       (2x2 outputs per tile)
// with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5;
// .5 -.5 .5; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1].
//
// Tiles are processed in chunks, one per pool task: each task transforms its
// tiles, runs the 16 GEMMs single-threaded (nested gemm() calls run on the
// calling thread) and writes its outputs, so every buffer stays in cache-sized
// per-thread scratch. The transforms are loops over channels, contiguous in
// NHWC, which the compiler vectorizes (SIMD128 in wasm).
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/activation.h"
#include "cpu/conv2d.h"
#include "cpu/gemm.h"

namespace kiln {
namespace {

constexpr int kTile = 4, kOut = 2, kPlanes = kTile * kTile;
// V and M of one chunk together: 4 MiB. The 16 GEMMs only reduce over in_c,
// so they need many rows (tiles) to run near the GEMM's peak; smaller chunks
// measured slower natively and in wasm.
constexpr int64_t kChunkFloats = int64_t(1024) << 10;

// U[16][in_c][out_c] from the filter [3][3][in_c][out_c].
void transform_filter(const Conv2DParams& p, const float* w, float* u) {
  const int64_t n = p.in_c * p.out_c, plane = n;
  parallel_range(n, 4096, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) {
      float g[3][3], gg[4][3];
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) g[r][c] = w[(r * 3 + c) * n + i];
      for (int c = 0; c < 3; ++c) {  // G g
        gg[0][c] = g[0][c];
        gg[1][c] = 0.5f * (g[0][c] + g[1][c] + g[2][c]);
        gg[2][c] = 0.5f * (g[0][c] - g[1][c] + g[2][c]);
        gg[3][c] = g[2][c];
      }
      for (int r = 0; r < 4; ++r) {  // (G g) G^T
        u[(r * 4 + 0) * plane + i] = gg[r][0];
        u[(r * 4 + 1) * plane + i] = 0.5f * (gg[r][0] + gg[r][1] + gg[r][2]);
        u[(r * 4 + 2) * plane + i] = 0.5f * (gg[r][0] - gg[r][1] + gg[r][2]);
        u[(r * 4 + 3) * plane + i] = gg[r][2];
      }
    }
  });
}

struct TileGrid {
  int64_t rows, cols, per_image, total;
};

TileGrid tile_grid(const Conv2DParams& p) {
  TileGrid t;
  t.rows = (p.out_h + kOut - 1) / kOut;
  t.cols = (p.out_w + kOut - 1) / kOut;
  t.per_image = t.rows * t.cols;
  t.total = p.batch * t.per_image;
  return t;
}

// Channels are transformed kBlock at a time through fixed-size arrays, so the
// inner loops have a constant trip count the compiler turns into SIMD (the
// plain per-channel loop over 16 pointers was left scalar in wasm).
constexpr int kBlock = 8;

// B^T d B for `w` (<= kBlock) channels starting at c of the 16 tile rows src.
// kFull (w == kBlock) keeps every copy loop at a constant trip count: with a
// variable one clang emits a memset of the block and a memcpy call per row.
template <bool kFull>
inline void input_block(const float* const (&src)[4][4], int64_t c, int w, float* dst, int64_t plane) {
  const int n = kFull ? kBlock : w;
  float d[4][4][kBlock], b[4][4][kBlock];
  if (!kFull) std::memset(d, 0, sizeof d);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < n; ++k) d[i][j][k] = src[i][j][c + k];
  for (int j = 0; j < 4; ++j)
    for (int k = 0; k < kBlock; ++k) {  // B^T d
      b[0][j][k] = d[0][j][k] - d[2][j][k];
      b[1][j][k] = d[1][j][k] + d[2][j][k];
      b[2][j][k] = d[2][j][k] - d[1][j][k];
      b[3][j][k] = d[1][j][k] - d[3][j][k];
    }
  for (int i = 0; i < 4; ++i) {  // (B^T d) B
    float v[4][kBlock];
    for (int k = 0; k < kBlock; ++k) {
      v[0][k] = b[i][0][k] - b[i][2][k];
      v[1][k] = b[i][1][k] + b[i][2][k];
      v[2][k] = b[i][2][k] - b[i][1][k];
      v[3][k] = b[i][1][k] - b[i][3][k];
    }
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < n; ++k) dst[(i * 4 + j) * plane + c + k] = v[j][k];
  }
}

// V[16][count][in_c] for tiles [first, first + count).
void transform_input(const Conv2DParams& p, const TileGrid& grid, const float* x, int64_t first, int64_t count,
                     const float* zeros, float* v) {
  const int64_t c_n = p.in_c, plane = count * c_n;
  for (int64_t t = 0; t < count; ++t) {
    const int64_t tile = first + t, n = tile / grid.per_image, ty = (tile % grid.per_image) / grid.cols,
                  tx = tile % grid.cols;
    const float* src[4][4];
    for (int i = 0; i < 4; ++i) {
      const int64_t ih = ty * kOut - p.pad_top + i;
      for (int j = 0; j < 4; ++j) {
        const int64_t iw = tx * kOut - p.pad_left + j;
        src[i][j] = (ih >= 0 && ih < p.in_h && iw >= 0 && iw < p.in_w) ? x + ((n * p.in_h + ih) * p.in_w + iw) * c_n : zeros;
      }
    }
    int64_t c = 0;
    for (; c + kBlock <= c_n; c += kBlock) input_block<true>(src, c, kBlock, v + t * c_n, plane);
    if (c < c_n) input_block<false>(src, c, int(c_n - c), v + t * c_n, plane);
  }
}

// A^T M A (+ bias) for `w` (<= kBlock) output channels starting at k; rows of
// dst that are null (past the output's edge) are skipped. kFull as in input_block.
template <bool kFull>
inline void output_block(const float* src, int64_t plane, int64_t k, int w, const float* bias, float* const (&dst)[2][2]) {
  const int n = kFull ? kBlock : w;
  float s[4][4][kBlock], a[2][4][kBlock];
  if (!kFull) std::memset(s, 0, sizeof s);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      for (int q = 0; q < n; ++q) s[i][j][q] = src[(i * 4 + j) * plane + k + q];
  for (int j = 0; j < 4; ++j)
    for (int q = 0; q < kBlock; ++q) {  // A^T M
      a[0][j][q] = s[0][j][q] + s[1][j][q] + s[2][j][q];
      a[1][j][q] = s[1][j][q] - s[2][j][q] - s[3][j][q];
    }
  float b[kBlock];
  for (int q = 0; q < kBlock; ++q) b[q] = bias && q < n ? bias[k + q] : 0.0f;
  for (int i = 0; i < 2; ++i) {  // (A^T M) A
    float y[2][kBlock];
    for (int q = 0; q < kBlock; ++q) {
      y[0][q] = a[i][0][q] + a[i][1][q] + a[i][2][q] + b[q];
      y[1][q] = a[i][1][q] - a[i][2][q] - a[i][3][q] + b[q];
    }
    for (int j = 0; j < 2; ++j)
      if (dst[i][j])
        for (int q = 0; q < n; ++q) dst[i][j][k + q] = y[j][q];
  }
}

// y for tiles [first, first + count) from M[16][count][out_c], plus bias and activation.
void transform_output(const Conv2DParams& p, const TileGrid& grid, const float* m, int64_t first, int64_t count,
                      const float* bias, Activation act, float* y) {
  const int64_t k_n = p.out_c, plane = count * k_n;
  for (int64_t t = 0; t < count; ++t) {
    const int64_t tile = first + t, n = tile / grid.per_image, oh = (tile % grid.per_image) / grid.cols * kOut,
                  ow = tile % grid.cols * kOut;
    float* dst[2][2];
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        dst[i][j] = (oh + i < p.out_h && ow + j < p.out_w) ? y + ((n * p.out_h + oh + i) * p.out_w + ow + j) * k_n : nullptr;
    int64_t k = 0;
    for (; k + kBlock <= k_n; k += kBlock) output_block<true>(m + t * k_n, plane, k, kBlock, bias, dst);
    if (k < k_n) output_block<false>(m + t * k_n, plane, k, int(k_n - k), bias, dst);
    if (act != Activation::kLinear)
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j)
          if (dst[i][j]) activation_forward(act, dst[i][j], k_n);
  }
}

}  // namespace

bool conv2d_winograd_applies(const Conv2DParams& p) {
  // Measured against im2col (batch 16, same channels in and out):
  //  * native (ConvKernels.TimingReport, 2 threads, AVX-512): 1.4x at 8
  //    channels, 1.4-2.1x from 16 to 128;
  //  * wasm SIMD128 (Node, 1 thread): 0.95x at 16, 1.2x at 32, 1.5x at 64
  //    and 128 (its GEMM needs a deeper reduction than in_c to win sooner).
  // Below that im2col's single deep GEMM does it.
#ifdef __wasm__
  constexpr int64_t kMinChannels = 32;
#else
  constexpr int64_t kMinChannels = 8;
#endif
  return p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == 1 && p.stride_w == 1 && p.dilation_h == 1 &&
         p.dilation_w == 1 && p.groups == 1 && p.in_c >= kMinChannels && p.out_c >= kMinChannels;
}

int64_t conv2d_winograd_filter_floats(const Conv2DParams& p) { return kPlanes * p.in_c * p.out_c; }

void conv2d_winograd_filter(const Conv2DParams& p, const float* w, float* u) { transform_filter(p, w, u); }

namespace {

// Tiles in chunks, one pool task each.
struct Chunks {
  int64_t count = 0, max_tiles = 0;  // chunks, and tiles in the largest
};

Chunks chunks_of(const Conv2DParams& p, const TileGrid& grid, int64_t threads) {
  // Chunks sized so V and M (16 floats per tile and channel) stay in cache,
  // and so every thread gets several.
  const int64_t by_cache = std::max<int64_t>(64, kChunkFloats / (kPlanes * (p.in_c + p.out_c)));
  const int64_t by_threads =
      threads == 1 ? grid.total : std::max<int64_t>(8, (grid.total + 4 * threads - 1) / (4 * threads));
  // Chunks are whole micro-kernel rows (a partial row tile is packed and
  // zero-padded in every one of the 16 GEMMs), as equal as that allows, and a
  // multiple of the threads in number: 7 chunks of 28 tiles (DenseNet's 14x14
  // maps) kept one thread of two busy a chunk longer.
  const int64_t mr = gemm_active_kernel().mr;
  const int64_t units = (grid.total + mr - 1) / mr;
  const int64_t wanted = std::min(by_cache, by_threads);
  int64_t chunks = (grid.total + wanted - 1) / wanted;
  if (threads > 1) chunks = (chunks + threads - 1) / threads * threads;
  Chunks c;
  c.count = std::min(chunks, units);
  c.max_tiles = (units + c.count - 1) / c.count * mr;
  return c;
}

// A thread's V and M planes and a row of zeros (padding taps).
int64_t slice_floats(const Conv2DParams& p, const Chunks& c) {
  return scratch_align(kPlanes * c.max_tiles * (p.in_c + p.out_c) + p.in_c);
}

// The 16 products of one chunk, nested in its task: one gemm() scratch
// shared by all tasks (each uses its thread's slice of it).
GemmArgs plane_shape(const Conv2DParams& p, const Chunks& c, bool packed) {
  static const float kMarker = 0;  // any non-null B: "packed"
  GemmArgs g;
  g.m = c.max_tiles, g.n = p.out_c, g.k = p.in_c;
  if (packed) g.b_packed = &kMarker, g.b_packed_nr = gemm_active_kernel().nr;
  return g;
}

// Scratch of the transformed convolution: one slice per thread, then the products'.
int64_t transformed_scratch_floats(const Conv2DParams& p, int threads, bool packed) {
  const TileGrid grid = tile_grid(p);
  if (grid.total == 0) return 0;
  const Chunks c = chunks_of(p, grid, threads);
  return threads * slice_floats(p, c) + gemm_scratch_floats(plane_shape(p, c, packed), threads);
}

}  // namespace

int64_t conv2d_winograd_scratch_floats(const Conv2DParams& p, int threads, bool filter_transformed, bool packed) {
  return (filter_transformed ? 0 : scratch_align(conv2d_winograd_filter_floats(p))) + transformed_scratch_floats(p, threads, packed);
}

void conv2d_forward_winograd(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act,
                             float* y, const Scratch& scratch) {
  if (tile_grid(p).total == 0) return;
  const int64_t u_floats = scratch_align(conv2d_winograd_filter_floats(p));
  const int64_t rest = transformed_scratch_floats(p, ThreadPool::global().num_threads(), false);
  const ScratchBuffer buffer(scratch, u_floats + rest);
  transform_filter(p, w, buffer.data());
  conv2d_forward_winograd_transformed(p, x, buffer.data(), bias, act, y, {}, {buffer.data() + u_floats, rest});
}

void conv2d_forward_winograd_transformed(const Conv2DParams& p, const float* x, const float* u, const float* bias,
                                         Activation act, float* y, const Conv2DPackedFilter& packed,
                                         const Scratch& scratch) {
  const int64_t packed_plane = packed.data ? gemm_packed_b_floats(p.in_c, p.out_c) : 0;
  const TileGrid grid = tile_grid(p);
  if (grid.total == 0) return;
  const int threads = ThreadPool::global().num_threads();
  const Chunks chunks = chunks_of(p, grid, threads);
  const int64_t slice = slice_floats(p, chunks), mr = gemm_active_kernel().mr;
  const int64_t units = (grid.total + mr - 1) / mr;
  const int64_t total = transformed_scratch_floats(p, threads, packed.data != nullptr);
  const ScratchBuffer buffer(scratch, total);
  const Scratch products{buffer.data() + threads * slice, total - threads * slice};
  // One pool task per chunk, claimed dynamically: a static split into one
  // range per thread left whoever finished first idle (a worker woken late,
  // edge tiles, another process on the core).
  ThreadPool::global().parallel_for(int(chunks.count), [&](int c) {
    float* const v = buffer.data() + ThreadPool::worker_index() * slice;
    float* const m = v + kPlanes * chunks.max_tiles * p.in_c;
    float* const zeros = m + kPlanes * chunks.max_tiles * p.out_c;
    std::memset(zeros, 0, size_t(p.in_c) * sizeof(float));
    const int64_t first = units * c / chunks.count * mr;
    const int64_t count = std::min(units * (c + 1) / chunks.count * mr, grid.total) - first;
    transform_input(p, grid, x, first, count, zeros, v);
    for (int xi = 0; xi < kPlanes; ++xi) {
      GemmArgs g;
      g.m = count, g.n = p.out_c, g.k = p.in_c;
      g.a = v + xi * count * p.in_c, g.lda = p.in_c;
      if (packed.data) g.b_packed = packed.data + xi * packed_plane, g.b_packed_nr = packed.nr;
      else g.b = u + xi * p.in_c * p.out_c, g.ldb = p.out_c;
      g.c = m + xi * count * p.out_c, g.ldc = p.out_c;
      g.scratch = products;
      gemm(g);
    }
    transform_output(p, grid, m, first, count, bias, act, y);
  });
}

}  // namespace kiln
