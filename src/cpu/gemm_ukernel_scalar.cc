// Portable 4x8 micro-kernel: the fallback on CPUs without a vector kernel.
#include "cpu/gemm_kernels.h"

namespace kiln {
namespace {

constexpr int kMr = 4, kNr = 8;

void ukernel_scalar(int64_t kc, const float* a_first, int64_t rs, int64_t cs, const float* b_panel, float* c,
                    int64_t ldc, const GemmTileStore& store, int64_t tiles) {
  // `tiles` row tiles down the same B panel: tile t reads A from a_first + t * kMr * rs.
  for (int64_t t = 0; t < tiles; ++t, c += kMr * ldc) {
    const float* a = a_first + t * kMr * rs;
    const float* b = b_panel;
    float acc[kMr][kNr] = {};
    for (int64_t p = 0; p < kc; ++p) {
      for (int i = 0; i < kMr; ++i) {
        float ai = a[i * rs + p * cs];
        for (int j = 0; j < kNr; ++j) acc[i][j] += ai * b[p * kNr + j];
      }
    }
    for (int i = 0; i < kMr; ++i)
      for (int j = 0; j < kNr; ++j)
        c[i * ldc + j] = store.finish((store.accumulate ? c[i * ldc + j] : 0.0f) + acc[i][j], j);
  }
}

}  // namespace

const GemmMicroKernel kGemmKernelScalar = {"scalar_4x8", kMr, kNr, ukernel_scalar};

}  // namespace kiln
