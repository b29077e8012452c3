// Single-precision GEMM: C = op(A) * op(B) (+ C when accumulate), then
// C += bias (per column) and an elementwise activation, fused while the tile
// is in cache. Row-major. op(X) is X or X^T; the packing routines absorb the
// transpose so one register-tiled micro-kernel serves forward and backward.
#pragma once
#include <cstdint>

#include "core/activation.h"
#include "cpu/scratch.h"

namespace kiln {

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  bool accumulate = false;        // C += op(A) op(B) instead of C =
  const float* bias = nullptr;    // length n, or null
  Activation act = Activation::kLinear;  // elementwise only
  // B packed ahead by gemm_pack_b (inference weights reused by every call):
  // gemm() then skips packing B per call; b and trans_b are ignored.
  const float* b_packed = nullptr;
  int b_packed_nr = 0;  // gemm_pack_b's result
  // gemm_scratch_floats(*this, threads) floats for B panels and edge tiles,
  // one slice per pool thread (ThreadPool::worker_index()), lent by the
  // caller (a plan's arena); less or none: the call allocates its own.
  Scratch scratch;
};

// The scratch gemm() needs for these m, n, k (and b_packed) on `threads`
// threads, whichever micro-kernel runs. It grows with m and k, so a bound
// for the largest product also serves smaller ones.
int64_t gemm_scratch_floats(const GemmArgs& shape, int threads);

// Packing B once: gemm_packed_b_floats(k, n) floats for row-major B [k, n];
// returns the micro-kernel width it packed for (a product run later under a
// different kernel unpacks it first, so results never depend on it).
int64_t gemm_packed_b_floats(int64_t k, int64_t n);
int gemm_pack_b(const float* b, int64_t ldb, int64_t k, int64_t n, float* out);

// Fast path: packed, multithreaded, best micro-kernel for this CPU.
void gemm(const GemmArgs& args);
// Scalar triple loop: the reference every fast path is tested against.
void gemm_reference(const GemmArgs& args);

// A register-tiled micro-kernel: computes an mr x nr tile of C. A is read in
// place: element (i, p) of the tile's rows is a[i * a_rs + p * a_cs], which
// covers row-major A, transposed A and a packed edge panel alike (A is reused
// across all of a task's columns, so packing it would only add copies). B
// comes packed: kc groups of nr values.
//
// The kernel also finishes the tile as it stores it (GemmTileStore): adding
// the old C, the bias of its nr columns and a clamp (relu, relu6), so those
// need no second pass over C.
struct GemmTileStore {
  bool accumulate = false;      // C += product instead of C =
  const float* bias = nullptr;  // nr values added to every row, or null
  bool clamp = false;           // then x < lo ? lo : x, hi < x ? hi : x (NaN stays NaN)
  float lo = 0.0f, hi = 0.0f;

  // Column j's bias and the clamp, one value at a time (the scalar kernel and
  // edge tiles; the vector kernels do the same per register).
  float finish(float x, int64_t j) const {
    if (bias) x += bias[j];
    if (clamp) {
      x = x < lo ? lo : x;
      x = hi < x ? hi : x;
    }
    return x;
  }
};
struct GemmMicroKernel {
  const char* name;
  int mr, nr;
  // `tiles` tiles down one B panel: tile t reads A at a + t * mr * a_rs and
  // writes C at c + t * mr * ldc (one call per column of tiles: with a short
  // K the call itself cost as much as a tile).
  void (*fn)(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, float* c, int64_t ldc,
             const GemmTileStore& store, int64_t tiles);
};

// The kernel gemm() uses now, and every kernel this build can run here
// (tests compare each against the reference).
const GemmMicroKernel& gemm_active_kernel();
int gemm_available_kernels(const GemmMicroKernel** out, int max);
// Forces a kernel by name (tests, benchmarks); false when unavailable.
bool gemm_select_kernel(const char* name);

}  // namespace kiln
