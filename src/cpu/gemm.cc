// GEMM driver in the Goto/BLIS style, sized for the small-to-medium matrices
// of browser models (batch 1-256, widths up to a few thousand). Threads take
// (row block, column chunk) tiles in one parallel region; each walks K in
// blocks that keep a packed NR-wide panel of B in L1, packs those panels, and
// runs the micro-kernel over them reading A in place (no A copy: at these
// batch sizes re-packing A per column chunk cost as much as the arithmetic).
// The micro-kernel adds the bias and applies a relu/relu6 clamp as it stores
// a tile's last K block; other activations follow per task, while the tiles
// are still in cache. Up to kFewRows rows skip packing altogether.
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/activation.h"
#include "cpu/gemm.h"
#include "cpu/gemm_kernels.h"

namespace kiln {
namespace {

constexpr int64_t kFewRows = 4;    // at most this many rows skip packing
constexpr int64_t kMcMax = 96;     // rows of C per task
constexpr int kMaxTile = 16 * 32;  // largest mr*nr of any kernel

const GemmMicroKernel* default_kernel() {
#if defined(__wasm_simd128__)
  if (&kGemmKernelWasmRelaxedSimd != nullptr) return &kGemmKernelWasmRelaxedSimd;
  return &kGemmKernelWasmSimd128;
#elif defined(KILN_HAVE_X86_KERNELS)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return &kGemmKernelAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &kGemmKernelAvx2;
  return &kGemmKernelScalar;
#else
  return &kGemmKernelScalar;
#endif
}

const GemmMicroKernel* g_kernel = default_kernel();

inline float elem_a(const GemmArgs& g, int64_t i, int64_t p) {
  return g.trans_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
}
inline float elem_b(const GemmArgs& g, int64_t p, int64_t j) {
  return g.trans_b ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
}

// Rows [m0, m0+mc) x cols [k0, k0+kc) of op(A) into mr-tall panels, zero-padded
// (for the last, partial row panel).
void pack_a(const GemmArgs& g, int64_t m0, int64_t mc, int64_t k0, int64_t kc, int mr, float* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += mr) {
    int64_t rows = std::min<int64_t>(mr, mc - i0);
    // One memset for the padding rows (a per-step zero loop became a memset call per step).
    if (rows < mr) std::memset(out, 0, size_t(kc * mr) * sizeof(float));
    for (int64_t p = 0; p < kc; ++p) {
      for (int r = 0; r < rows; ++r) out[r] = elem_a(g, m0 + i0 + r, k0 + p);
      out += mr;
    }
  }
}

// Panels [p0, p1) of rows [k0, k0+kc) of op(B), nr wide, zero-padded, from `out`.
void pack_b(const GemmArgs& g, int64_t k0, int64_t kc, int64_t p0, int64_t p1, int nr, float* out) {
  for (int64_t panel = p0; panel < p1; ++panel) {
    int64_t j0 = panel * nr;
    int64_t cols = std::min<int64_t>(nr, g.n - j0);
    float* dst = out + (panel - p0) * kc * nr;
    if (!g.trans_b && cols == nr) {
      for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * nr, g.b + (k0 + p) * g.ldb + j0, nr * sizeof(float));
      continue;
    }
    for (int64_t p = 0; p < kc; ++p) {
      for (int c = 0; c < cols; ++c) dst[p * nr + c] = elem_b(g, k0 + p, j0 + c);
      for (int c = int(cols); c < nr; ++c) dst[p * nr + c] = 0.0f;
    }
  }
}

void apply_activation(const GemmArgs& g, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  if (g.act == Activation::kLinear) return;
  // Whole rows of a dense C take the activation in one call: per-row calls
  // cost more than the work when rows are short (1x1 convs with few channels).
  if (c0 == 0 && c1 == g.n && g.ldc == g.n) return activation_forward(g.act, g.c + r0 * g.ldc, (r1 - r0) * g.n);
  for (int64_t i = r0; i < r1; ++i) activation_forward(g.act, g.c + i * g.ldc + c0, c1 - c0);
}

void apply_epilogue(const GemmArgs& g, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  if (g.bias)
    for (int64_t i = r0; i < r1; ++i)
      for (int64_t j = c0; j < c1; ++j) g.c[i * g.ldc + j] += g.bias[j];
  apply_activation(g, r0, r1, c0, c1);
}

// The micro-kernel's store for the tile at column j0: the bias and a relu or
// relu6 clamp are applied as the last K block is stored.
bool kernel_applies_activation(Activation act) {
  return act == Activation::kLinear || act == Activation::kRelu || act == Activation::kRelu6;
}

GemmTileStore tile_store(const GemmArgs& g, bool accumulate, bool last_k_block, int64_t j0) {
  GemmTileStore s;
  s.accumulate = accumulate;
  if (!last_k_block) return s;
  s.bias = g.bias ? g.bias + j0 : nullptr;
  s.clamp = g.act != Activation::kLinear && kernel_applies_activation(g.act);
  s.lo = 0.0f;
  s.hi = g.act == Activation::kRelu6 ? 6.0f : std::numeric_limits<float>::infinity();
  return s;
}

// One edge tile (fewer than mr rows or nr columns; whole tiles go to the
// kernel straight from gemm()). A full-height tile reads A in place; a partial
// one packs its rows into a zero-padded panel. The kernel writes a full
// mr x nr block into a scratch tile, copied out with the bias and clamp (the
// kernel's bias would read past the last column).
void run_tile(const GemmMicroKernel& kern, const GemmArgs& g, int64_t i0, int64_t k0, int64_t kc, const float* b,
              int64_t j0, int64_t cols, const GemmTileStore& store, float* edge) {
  const int64_t rows = std::min<int64_t>(kern.mr, g.m - i0);
  const float* a;
  int64_t rs, cs;
  if (rows == kern.mr) {
    a = g.trans_a ? g.a + k0 * g.lda + i0 : g.a + i0 * g.lda + k0;
    rs = g.trans_a ? 1 : g.lda;
    cs = g.trans_a ? g.lda : 1;
  } else {
    pack_a(g, i0, rows, k0, kc, kern.mr, edge);
    a = edge, rs = 1, cs = kern.mr;
  }
  float* c = g.c + i0 * g.ldc + j0;
  float tile[kMaxTile];
  if (store.accumulate)
    for (int64_t i = 0; i < rows; ++i) std::memcpy(tile + i * kern.nr, c + i * g.ldc, cols * sizeof(float));
  GemmTileStore plain;
  plain.accumulate = store.accumulate;
  kern.fn(kc, a, rs, cs, b, tile, kern.nr, plain, 1);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) c[i * g.ldc + j] = store.finish(tile[i * kern.nr + j], j);
}

// Few rows (batch-1 inference): packing B would cost as much as the product,
// so stream B's rows directly, four at a time, into each output row.
void gemm_few_rows(const GemmArgs& g) {
  parallel_range(g.n, 256, [&](int64_t j0, int64_t j1) {
    for (int64_t i = 0; i < g.m; ++i) {
      float* c = g.c + i * g.ldc;
      if (!g.accumulate)
        for (int64_t j = j0; j < j1; ++j) c[j] = 0.0f;
      int64_t p = 0;
      for (; p + 4 <= g.k; p += 4) {
        const float a0 = elem_a(g, i, p), a1 = elem_a(g, i, p + 1), a2 = elem_a(g, i, p + 2), a3 = elem_a(g, i, p + 3);
        const float *b0 = g.b + p * g.ldb, *b1 = b0 + g.ldb, *b2 = b1 + g.ldb, *b3 = b2 + g.ldb;
        for (int64_t j = j0; j < j1; ++j) c[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
      }
      for (; p < g.k; ++p) {
        const float a = elem_a(g, i, p);
        const float* b = g.b + p * g.ldb;
        for (int64_t j = j0; j < j1; ++j) c[j] += a * b[j];
      }
    }
    apply_epilogue(g, 0, g.m, j0, j1);
  });
}

// K block: one nr-wide panel of B (kc x nr floats) stays within ~24 KiB of L1.
int64_t k_block(int nr) { return std::max<int64_t>(64, 24 * 1024 / (4 * nr) / 8 * 8); }

// Offset of the (k block at k0, panel) in B packed whole: k blocks of
// n_panels panels of kc x nr floats.
int64_t packed_offset(int64_t k0, int64_t kc, int64_t panel, int64_t n_panels, int nr) {
  return k0 * n_panels * nr + panel * kc * nr;
}

// How one product is cut into tasks: row blocks (whole mr panels) times
// column chunks (whole nr panels).
struct GemmSplit {
  int64_t m_panels, n_panels, m_blocks, n_chunks;
};

GemmSplit gemm_split(int64_t m, int64_t n, int mr, int nr, int threads) {
  GemmSplit s;
  s.n_panels = (n + nr - 1) / nr;
  s.m_panels = (m + mr - 1) / mr;
  // Row blocks of at most kMcMax rows, in whole mr panels.
  s.m_blocks = (s.m_panels + kMcMax / mr - 1) / (kMcMax / mr);
  s.n_chunks = 1;
  if (threads > 1) {
    // Equal row blocks, as many as a multiple of the threads: fixed 96-row
    // blocks left a runt (289 rows, a 17x17 map: 96+96+96+1), so one thread
    // of two did twice the other's work.
    if (s.m_blocks > 1) s.m_blocks = std::min(s.m_panels, (s.m_blocks + threads - 1) / threads * threads);
    // Two tiles a thread, splitting columns (no B repacking) before rows.
    const int64_t want = 2 * threads;
    s.n_chunks = std::max<int64_t>(1, std::min<int64_t>(s.n_panels, (want + s.m_blocks - 1) / s.m_blocks));
    if (s.m_blocks * s.n_chunks < threads)  // too few column panels to go round
      s.m_blocks = std::min(s.m_panels, (threads + s.n_chunks - 1) / s.n_chunks);
  }
  return s;
}

// One thread's scratch: B panels of its widest column chunk for one K block
// (unless B comes packed), then an mr-tall edge panel of A.
// Products this small run on one thread: waking the pool costs more than
// they take (a transformer's per-head attention products; in wasm a wake-up
// is tens of microseconds).
constexpr int64_t kMinParallelMacs = int64_t(1) << 18;
int split_threads(const GemmArgs& g, int threads) { return g.m * g.n * g.k < kMinParallelMacs ? 1 : threads; }

int64_t slice_floats(const GemmArgs& g, const GemmMicroKernel& kern, int threads) {
  const GemmSplit s = gemm_split(g.m, g.n, kern.mr, kern.nr, split_threads(g, threads));
  const int64_t kc = std::min(k_block(kern.nr), g.k), chunk_panels = (s.n_panels + s.n_chunks - 1) / s.n_chunks;
  const bool packed = g.b_packed && g.b_packed_nr == kern.nr;
  return scratch_align(packed ? 0 : kc * chunk_panels * kern.nr) + scratch_align(kc * kern.mr);
}

// B [k, n] row-major from a whole packing made for width nr.
std::vector<float> unpack_b(const GemmArgs& g) {
  const int nr = g.b_packed_nr;
  const int64_t kkc = k_block(nr), n_panels = (g.n + nr - 1) / nr;
  std::vector<float> b(size_t(g.k * g.n));
  for (int64_t p = 0; p < g.k; ++p) {
    const int64_t k0 = p / kkc * kkc, kc = std::min(kkc, g.k - k0);
    for (int64_t j = 0; j < g.n; ++j)
      b[size_t(p * g.n + j)] = g.b_packed[packed_offset(k0, kc, j / nr, n_panels, nr) + (p - k0) * nr + j % nr];
  }
  return b;
}

}  // namespace

void gemm_reference(const GemmArgs& g) {
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t j = 0; j < g.n; ++j) {
      float sum = 0.0f;
      for (int64_t p = 0; p < g.k; ++p) sum += elem_a(g, i, p) * elem_b(g, p, j);
      float* out = g.c + i * g.ldc + j;
      *out = (g.accumulate ? *out : 0.0f) + sum;
    }
  }
  apply_epilogue(g, 0, g.m, 0, g.n);
}

int64_t gemm_packed_b_floats(int64_t k, int64_t n) {
  const int nr = g_kernel->nr;
  return k * ((n + nr - 1) / nr) * nr;
}

int gemm_pack_b(const float* b, int64_t ldb, int64_t k, int64_t n, float* out) {
  const int nr = g_kernel->nr;
  const int64_t kkc = k_block(nr), n_panels = (n + nr - 1) / nr;
  GemmArgs g;
  g.b = b, g.ldb = ldb, g.k = k, g.n = n;
  for (int64_t k0 = 0; k0 < k; k0 += kkc) {
    const int64_t kc = std::min(kkc, k - k0);
    pack_b(g, k0, kc, 0, n_panels, nr, out + packed_offset(k0, kc, 0, n_panels, nr));
  }
  return nr;
}

void gemm(const GemmArgs& g) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.b_packed && g.b_packed_nr != g_kernel->nr) {
    const std::vector<float> b = unpack_b(g);
    GemmArgs u = g;
    u.b = b.data(), u.ldb = g.n, u.trans_b = false, u.b_packed = nullptr;
    return gemm(u);
  }
  if (g.k <= 0) {
    for (int64_t i = 0; i < g.m && !g.accumulate; ++i) std::memset(g.c + i * g.ldc, 0, g.n * sizeof(float));
    apply_epilogue(g, 0, g.m, 0, g.n);
    return;
  }
  if (g.m <= kFewRows && !g.trans_b && !g.b_packed) return gemm_few_rows(g);
  const GemmMicroKernel& kern = *g_kernel;
  const int mr = kern.mr, nr = kern.nr;
  ThreadPool& pool = ThreadPool::global();
  const int threads = pool.num_threads();
  const int64_t kKc = k_block(nr);
  const GemmSplit split = gemm_split(g.m, g.n, mr, nr, split_threads(g, threads));
  const int64_t n_panels = split.n_panels, m_panels = split.m_panels, m_blocks = split.m_blocks, n_chunks = split.n_chunks;
  // Thread t's slice starts at t * stride. With lent scratch the stride is
  // the lent size over the threads, not this product's need: nested products
  // of different shapes on different threads (recurrent steps, Winograd
  // chunks) share one lent region and must not overlap.
  const int64_t slice = slice_floats(g, kern, threads);
  const bool lent = g.scratch.data && g.scratch.floats >= slice * threads;
  const ScratchBuffer buffer(g.scratch, slice * threads);
  float* const scratch = buffer.data();
  const int64_t stride = lent ? g.scratch.floats / threads / 32 * 32 : slice;

  // One parallel region per product: each task owns a (row block, column
  // chunk) tile and walks K itself, packing its own B panels (A is read in
  // place). B is repacked once per row block: 1/(2*rows) of the arithmetic,
  // far less than the synchronisation a shared packed B would need.
  pool.parallel_for(int(m_blocks * n_chunks), [&](int task) {
    const int64_t block = task / n_chunks;
    const int64_t m0 = m_panels * block / m_blocks * mr;
    const int64_t rows = std::min(m_panels * (block + 1) / m_blocks * mr, g.m) - m0;
    const int64_t chunk = task % n_chunks;
    const int64_t p0 = n_panels * chunk / n_chunks, p1 = n_panels * (chunk + 1) / n_chunks;
    // This thread's slice: B panels, then the edge panel.
    float* const b_pack = scratch + ThreadPool::worker_index() * stride;
    float* const edge = b_pack + slice - scratch_align(std::min(kKc, g.k) * mr);
    for (int64_t k0 = 0; k0 < g.k; k0 += kKc) {
      const int64_t kc = std::min(kKc, g.k - k0);
      const bool acc = g.accumulate || k0 > 0, last = k0 + kc >= g.k;
      if (!g.b_packed) pack_b(g, k0, kc, p0, p1, nr, b_pack);
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t j0 = p * nr, cols = std::min<int64_t>(nr, g.n - j0);
        const float* bp = g.b_packed ? g.b_packed + packed_offset(k0, kc, p, n_panels, nr)
                                     : b_pack + (p - p0) * kc * nr;
        const GemmTileStore store = tile_store(g, acc, last, j0);
        int64_t i0 = m0;
        if (cols == nr) {
          // Whole tiles go to the kernel in one call: with a short K
          // (MobileNetV2's 1x1 convs) per-tile calls cost as much as the tiles.
          const int64_t rs = g.trans_a ? 1 : g.lda, cs = g.trans_a ? g.lda : 1, tiles = rows / mr;
          const float* a = g.trans_a ? g.a + k0 * g.lda + m0 : g.a + m0 * g.lda + k0;
          kern.fn(kc, a, rs, cs, bp, g.c + m0 * g.ldc + j0, g.ldc, store, tiles);
          i0 += tiles * mr;
        }
        for (; i0 < m0 + rows; i0 += mr) run_tile(kern, g, i0, k0, kc, bp, j0, cols, store, edge);
      }
    }
    if (!kernel_applies_activation(g.act)) apply_activation(g, m0, m0 + rows, p0 * nr, std::min<int64_t>(p1 * nr, g.n));
  });
}

int64_t gemm_scratch_floats(const GemmArgs& g, int threads) {
  if (g.m <= 0 || g.n <= 0 || g.k <= 0 || (g.m <= kFewRows && !g.trans_b && !g.b_packed)) return 0;
  // The most any kernel this build can run needs (tests switch kernels).
  const GemmMicroKernel* kernels[8];
  const int count = gemm_available_kernels(kernels, 8);
  int64_t slice = slice_floats(g, *g_kernel, threads);
  for (int i = 0; i < count; ++i) slice = std::max(slice, slice_floats(g, *kernels[i], threads));
  return slice * threads;
}

const GemmMicroKernel& gemm_active_kernel() { return *g_kernel; }

int gemm_available_kernels(const GemmMicroKernel** out, int max) {
  int n = 0;
  auto add = [&](const GemmMicroKernel* k) {
    if (n < max) out[n++] = k;
  };
  add(&kGemmKernelScalar);
#if defined(__wasm_simd128__)
  add(&kGemmKernelWasmSimd128);
  add(&kGemmKernelWasmSimd128Wide);
  if (&kGemmKernelWasmRelaxedSimd != nullptr) add(&kGemmKernelWasmRelaxedSimd);
#endif
#if defined(KILN_HAVE_X86_KERNELS)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) add(&kGemmKernelAvx2);
  if (__builtin_cpu_supports("avx512f")) add(&kGemmKernelAvx512);
#endif
  return n;
}

bool gemm_select_kernel(const char* name) {
  const GemmMicroKernel* all[8];
  int n = gemm_available_kernels(all, 8);
  for (int i = 0; i < n; ++i) {
    if (std::strcmp(all[i]->name, name) == 0) {
      g_kernel = all[i];
      return true;
    }
  }
  return false;
}

}  // namespace kiln
