// Kernel scratch (src/cpu/scratch.h): every fast kernel works in memory its
// caller lends it, sized by its *_scratch_floats(), and keeps no buffers of
// its own. Each kernel here runs three ways on 1 and 3 threads: with the
// scratch its size function asks for (followed by canary floats that must
// stay untouched), with none (it allocates), and with scratch sized for one
// thread while three run (it must not overrun: it allocates instead). All
// three give the same bits. The recurrent case splits an uneven batch over
// the threads, so products of different shapes run at once in one lent
// region (each thread's slice must not depend on its product's shape).
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "cpu/conv2d.h"
#include "cpu/gemm.h"
#include "cpu/rnn.h"
#include "model_test_utils.h"

namespace kiln {
namespace {

constexpr float kCanary = 12345.678f;
constexpr int64_t kCanaries = 64;

std::vector<float> random_floats(int64_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = 2 * r.uniform() - 1;
  return v;
}

// Runs `kernel(scratch)` (writing into `out`) with lent scratch of `floats`
// (plus canaries), with none, and returns whether all agreed bit for bit.
void expect_same_with_and_without_scratch(int64_t floats, std::vector<float>* out,
                                          const std::function<void(const Scratch&)>& kernel, const char* what) {
  SCOPED_TRACE(what);
  std::vector<float> lent(size_t(floats + kCanaries), kCanary);
  kernel({lent.data(), floats});
  for (int64_t i = floats; i < floats + kCanaries; ++i) ASSERT_EQ(lent[size_t(i)], kCanary) << "wrote past the scratch at " << i;
  const std::vector<float> with = *out;
  std::fill(out->begin(), out->end(), -7.0f);
  kernel({});
  EXPECT_EQ(0, std::memcmp(with.data(), out->data(), with.size() * sizeof(float)));
}

struct ThreadsGuard {
  int original = ThreadPool::global().num_threads();
  ~ThreadsGuard() { ThreadPool::global().resize(original); }
};

TEST(KernelScratch, GemmUsesOnlyItsLentScratch) {
  ThreadsGuard guard;
  const int64_t shapes[][3] = {{5, 7, 3}, {37, 130, 61}, {200, 33, 300}, {96, 256, 512}, {3, 50, 9}};
  for (int threads : {1, 3}) {
    ThreadPool::global().resize(threads);
    for (const auto& s : shapes) {
      for (int t = 0; t < 2; ++t) {
        GemmArgs g;
        g.m = s[0], g.n = s[1], g.k = s[2], g.trans_b = t == 1;
        const std::vector<float> a = random_floats(g.m * g.k, 1), b = random_floats(g.k * g.n, 2);
        std::vector<float> c(size_t(g.m * g.n));
        g.a = a.data(), g.lda = g.k, g.b = b.data(), g.ldb = g.trans_b ? g.k : g.n, g.c = c.data(), g.ldc = g.n;
        expect_same_with_and_without_scratch(gemm_scratch_floats(g, threads), &c, [&](const Scratch& sc) {
          GemmArgs h = g;
          h.scratch = sc;
          gemm(h);
        }, "gemm");
      }
    }
  }
}

TEST(KernelScratch, ConvolutionsUseOnlyTheirLentScratch) {
  ThreadsGuard guard;
  struct Case {
    int64_t batch, h, w, in_c, out_c, k, stride, groups;
  };
  const Case cases[] = {{2, 9, 7, 16, 16, 3, 1, 1},   // Winograd
                        {2, 9, 7, 3, 5, 3, 2, 1},     // im2col, strided
                        {1, 6, 6, 12, 8, 1, 1, 1},    // pointwise
                        {2, 8, 8, 6, 6, 3, 1, 6},     // depthwise
                        {2, 7, 9, 4, 12, 3, 1, 4},    // depthwise, multiplier 3
                        {2, 8, 6, 8, 6, 3, 1, 2}};    // grouped
  for (int threads : {1, 3}) {
    ThreadPool::global().resize(threads);
    for (const Case& c : cases) {
      Conv2DParams p;
      ASSERT_TRUE(conv2d_params(c.batch, c.h, c.w, c.in_c, c.out_c, c.k, c.k, c.stride, c.stride, 1, 1, true, c.groups, &p).ok());
      const std::vector<float> x = random_floats(p.batch * p.in_h * p.in_w * p.in_c, 3);
      const std::vector<float> w = random_floats(p.kernel_h * p.kernel_w * (p.in_c / p.groups) * p.out_c, 4);
      const std::vector<float> dy = random_floats(p.batch * p.out_h * p.out_w * p.out_c, 5);
      std::vector<float> y(dy.size()), dx(x.size()), dw(w.size());
      expect_same_with_and_without_scratch(conv2d_forward_scratch_floats(p, threads), &y, [&](const Scratch& s) {
        conv2d_forward(p, x.data(), w.data(), nullptr, Activation::kRelu, y.data(), s);
      }, "forward");
      expect_same_with_and_without_scratch(conv2d_backward_data_scratch_floats(p, threads), &dx, [&](const Scratch& s) {
        conv2d_backward_data(p, dy.data(), w.data(), dx.data(), s);
      }, "backward data");
      expect_same_with_and_without_scratch(conv2d_backward_filter_scratch_floats(p, threads), &dw, [&](const Scratch& s) {
        conv2d_backward_filter(p, x.data(), dy.data(), dw.data(), s);
      }, "backward filter");
    }
  }
}

TEST(KernelScratch, RecurrentKernelsUseOnlyTheirLentScratch) {
  ThreadsGuard guard;
  for (int threads : {1, 3}) {
    ThreadPool::global().resize(threads);
    for (RnnCell cell : {RnnCell::kLstm, RnnCell::kGru}) {
      RnnParams p;
      p.cell = cell, p.batch = 26, p.steps = 5, p.input = 7, p.units = 9;  // uneven sample blocks per thread
      const int64_t g = rnn_gates(cell) * p.units;
      const std::vector<float> x = random_floats(p.batch * p.steps * p.input, 6), k = random_floats(p.input * g, 7),
                               r = random_floats(p.units * g, 8), b = random_floats(rnn_bias_size(p), 9),
                               dy = random_floats(p.batch * p.steps * p.units, 10);
      std::vector<float> ws(size_t(rnn_workspace_floats(p))), y(size_t(p.batch * p.steps * p.units)),
          h(size_t(p.batch * p.units)), c(h.size()), dx(x.size()), dk(k.size()), scratch(size_t(rnn_backward_scratch_floats(p)));
      expect_same_with_and_without_scratch(rnn_gemm_scratch_floats(p, threads), &y, [&](const Scratch& s) {
        rnn_forward(p, x.data(), nullptr, nullptr, k.data(), r.data(), b.data(), y.data(), h.data(),
                    cell == RnnCell::kLstm ? c.data() : nullptr, ws.data(), s);
      }, "forward");
      expect_same_with_and_without_scratch(rnn_gemm_scratch_floats(p, threads), &dk, [&](const Scratch& s) {
        rnn_backward(p, x.data(), nullptr, nullptr, k.data(), r.data(), b.data(), ws.data(), dy.data(), nullptr, nullptr,
                     dx.data(), nullptr, nullptr, dk.data(), nullptr, nullptr, scratch.data(), s);
      }, "backward");
    }
  }
}

// Scratch sized for one thread, then three threads run: the kernel must not
// overrun it (it takes its own), and computes what it computed before.
TEST(KernelScratch, ScratchSizedForFewerThreadsIsNeverOverrun) {
  ThreadsGuard guard;
  ThreadPool::global().resize(1);
  GemmArgs g;
  g.m = 300, g.n = 200, g.k = 150;
  const int64_t one_thread = gemm_scratch_floats(g, 1);
  const std::vector<float> a = random_floats(g.m * g.k, 11), b = random_floats(g.k * g.n, 12);
  std::vector<float> c1(size_t(g.m * g.n)), c3(c1.size()), lent(size_t(one_thread + kCanaries), kCanary);
  g.a = a.data(), g.lda = g.k, g.b = b.data(), g.ldb = g.n, g.ldc = g.n;
  g.c = c1.data();
  gemm(g);
  ThreadPool::global().resize(3);
  ASSERT_GT(gemm_scratch_floats(g, 3), one_thread);
  g.c = c3.data(), g.scratch = {lent.data(), one_thread};
  gemm(g);
  for (int64_t i = one_thread; i < one_thread + kCanaries; ++i) ASSERT_EQ(lent[size_t(i)], kCanary);
  EXPECT_EQ(c1, c3);
}

// A model's plans hold its kernels' scratch for the thread count they were
// compiled under; another count re-plans them (the arena changes with the
// per-thread slices and how products split) and the predictions stay the same.
TEST(KernelScratch, ModelsReplanWhenTheThreadCountChanges) {
  ThreadsGuard guard;
  std::unique_ptr<Model> m = testing::make_model(
      testing::sequential_topology("[12,12,16]", {R"({"className":"Conv2D","config":{"name":"a","filters":16,"kernelSize":3,"padding":"same"}})",
                                         R"({"className":"Conv2D","config":{"name":"b","filters":8,"kernelSize":3,"strides":2}})",
                                         R"({"className":"Flatten","config":{"name":"f"}})",
                                         R"({"className":"Dense","config":{"name":"d","units":5}})"}),
      LossKind::kMeanSquaredError);
  const int64_t n = 16;
  const std::vector<float> x = random_floats(n * 12 * 12 * 16, 13);
  std::vector<float> y1(size_t(n * 5)), y3(y1.size());
  ThreadPool::global().resize(1);
  ASSERT_TRUE(m->predict(x.data(), n, y1.data()).ok());
  const int64_t one_thread = m->plan_arena_bytes();
  ThreadPool::global().resize(3);
  ASSERT_TRUE(m->predict(x.data(), n, y3.data()).ok());
  EXPECT_NE(m->plan_arena_bytes(), one_thread);
  for (size_t i = 0; i < y1.size(); ++i) EXPECT_NEAR(y1[i], y3[i], 1e-5f * std::max(1.0f, std::fabs(y1[i])));
}

}  // namespace
}  // namespace kiln
