// Every GEMM micro-kernel this CPU can run, through the packed driver, against
// the scalar reference, on odd shapes, with transposes, accumulation, bias and
// activations, single- and multi-threaded.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"

namespace kiln {
namespace {

struct Case {
  int64_t m, n, k;
};

void expect_close(const std::vector<float>& got, const std::vector<float>& want, int64_t k) {
  for (size_t i = 0; i < got.size(); ++i) {
    float tol = 1e-5f * float(k) + 1e-5f * std::fabs(want[i]);
    ASSERT_NEAR(got[i], want[i], tol) << "at " << i;
  }
}

TEST(Gemm, AllKernelsMatchReferenceOnOddShapes) {
  const GemmMicroKernel* kernels[8];
  const int nk = gemm_available_kernels(kernels, 8);
  ASSERT_GE(nk, 1);
  const std::string original = gemm_active_kernel().name;
  const Case cases[] = {{1, 1, 1}, {3, 17, 5}, {17, 3, 255}, {255, 17, 3}, {1000, 10, 17}, {64, 128, 784},
                        {1, 1000, 255}, {33, 65, 1000},
                        // Row blocks split evenly across threads (17x17, 14x14 and 7x7 maps) and
                        // too few column panels for the threads, so rows are split instead.
                        {289, 40, 33}, {196, 64, 9}, {49, 8, 70}, {5, 3, 4}};
  Rng rng(7);
  for (int threads : {1, 2, 3}) {
    ThreadPool::global().resize(threads);
    for (int ki = 0; ki < nk; ++ki) {
      ASSERT_TRUE(gemm_select_kernel(kernels[ki]->name));
      for (const Case& c : cases) {
        for (int variant = 0; variant < 8; ++variant) {
          const bool ta = variant & 1, tb = variant & 2, acc = variant & 4;
          std::vector<float> a(size_t(c.m * c.k)), b(size_t(c.k * c.n)), bias(size_t(c.n)), c0(size_t(c.m * c.n));
          for (auto* v : {&a, &b, &bias, &c0})
            for (float& x : *v) x = float(rng.uniform() * 2 - 1);
          GemmArgs g;
          g.trans_a = ta;
          g.trans_b = tb;
          g.m = c.m, g.n = c.n, g.k = c.k;
          g.a = a.data(), g.lda = ta ? c.m : c.k;
          g.b = b.data(), g.ldb = tb ? c.k : c.n;
          g.ldc = c.n;
          g.accumulate = acc;
          g.bias = variant % 3 == 0 ? bias.data() : nullptr;
          // relu and relu6 are fused into the kernels' stores, tanh runs after them.
          const Activation acts[] = {Activation::kRelu6, Activation::kRelu, Activation::kTanh, Activation::kLinear};
          g.act = acts[variant % 4];
          std::vector<float> want = c0, got = c0;
          g.c = want.data();
          gemm_reference(g);
          g.c = got.data();
          gemm(g);
          SCOPED_TRACE(std::string(kernels[ki]->name) + " m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) +
                       " k=" + std::to_string(c.k) + " variant=" + std::to_string(variant));
          expect_close(got, want, c.k);
        }
      }
    }
  }
  ThreadPool::global().resize(1);
  gemm_select_kernel(original.c_str());
}

// B packed once (gemm_pack_b) gives the reference's product, under the kernel
// it was packed for and, unpacked on the fly, under every other kernel.
TEST(Gemm, PrepackedBMatchesReferenceUnderEveryKernel) {
  const GemmMicroKernel* kernels[8];
  const int nk = gemm_available_kernels(kernels, 8);
  const std::string original = gemm_active_kernel().name;
  const Case cases[] = {{1, 10, 7}, {5, 17, 1000}, {200, 64, 27}, {97, 33, 2000}};
  Rng rng(11);
  for (int packer = 0; packer < nk; ++packer)
    for (const Case& c : cases) {
      ASSERT_TRUE(gemm_select_kernel(kernels[packer]->name));
      std::vector<float> a(size_t(c.m * c.k)), b(size_t(c.k * c.n)), bias(size_t(c.n));
      for (auto* v : {&a, &b, &bias})
        for (float& x : *v) x = float(rng.uniform() * 2 - 1);
      std::vector<float> packed(size_t(gemm_packed_b_floats(c.k, c.n)));
      const int nr = gemm_pack_b(b.data(), c.n, c.k, c.n, packed.data());
      EXPECT_EQ(nr, kernels[packer]->nr);
      GemmArgs g;
      g.m = c.m, g.n = c.n, g.k = c.k;
      g.a = a.data(), g.lda = c.k;
      g.b = b.data(), g.ldb = c.n;
      g.ldc = c.n, g.bias = bias.data(), g.act = Activation::kRelu;
      std::vector<float> want(size_t(c.m * c.n)), got(want.size());
      g.c = want.data();
      gemm_reference(g);
      g.b = nullptr, g.b_packed = packed.data(), g.b_packed_nr = nr, g.c = got.data();
      for (int runner = 0; runner < nk; ++runner) {
        ASSERT_TRUE(gemm_select_kernel(kernels[runner]->name));
        std::fill(got.begin(), got.end(), 0.0f);
        gemm(g);
        SCOPED_TRACE(std::string(kernels[packer]->name) + " -> " + kernels[runner]->name + " m=" + std::to_string(c.m));
        expect_close(got, want, c.k);
      }
    }
  ASSERT_TRUE(gemm_select_kernel(original.c_str()));
}

// The fused clamp keeps a NaN (as PyTorch's relu does) in whole tiles and edge tiles alike.
TEST(Gemm, FusedReluKeepsNaNUnderEveryKernel) {
  const GemmMicroKernel* kernels[8];
  const int nk = gemm_available_kernels(kernels, 8);
  const std::string original = gemm_active_kernel().name;
  const int64_t m = 37, n = 70, k = 9;
  std::vector<float> a(size_t(m * k), 0.5f), b(size_t(k * n), -1.0f), bias(size_t(n), 100.0f);
  a[size_t(36 * k)] = std::nanf("");  // the last row: an edge tile under every kernel
  a[0] = std::nanf("");
  for (Activation act : {Activation::kRelu, Activation::kRelu6}) {
    for (int ki = 0; ki < nk; ++ki) {
      ASSERT_TRUE(gemm_select_kernel(kernels[ki]->name));
      std::vector<float> c(size_t(m * n));
      GemmArgs g;
      g.m = m, g.n = n, g.k = k, g.a = a.data(), g.lda = k, g.b = b.data(), g.ldb = n, g.c = c.data(), g.ldc = n;
      g.bias = bias.data(), g.act = act;
      gemm(g);
      SCOPED_TRACE(kernels[ki]->name);
      for (int64_t j = 0; j < n; ++j) {
        EXPECT_TRUE(std::isnan(c[size_t(j)]));
        EXPECT_TRUE(std::isnan(c[size_t(36 * n + j)]));
        EXPECT_EQ(c[size_t(n + j)], act == Activation::kRelu6 ? 6.0f : 95.5f);
      }
    }
  }
  gemm_select_kernel(original.c_str());
}

TEST(Gemm, ZeroInnerDimensionGivesBiasOnly) {
  std::vector<float> c(6, 5.0f), bias{1, 2, 3};
  GemmArgs g;
  g.m = 2, g.n = 3, g.k = 0, g.c = c.data(), g.ldc = 3, g.bias = bias.data();
  gemm(g);
  EXPECT_EQ(c, (std::vector<float>{1, 2, 3, 1, 2, 3}));
}

}  // namespace
}  // namespace kiln
