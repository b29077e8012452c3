// Convolution kernels: the fast paths (im2col + GEMM, pointwise, depthwise)
// against the scalar reference on many odd shapes, single- and
// multi-threaded; the reference gradients against central finite
// differences; the adjoint identities tying forward, data and filter
// gradients together (backward_data is conv2dTranspose's forward); and
// conv2d_params' sizes and errors. A last test prints throughput only.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "cpu/conv2d.h"

namespace kiln {
namespace {

struct Shape {
  int64_t batch, h, w, in_c, out_c, kh, kw, sh, sw, dh, dw;
  bool same;
  int64_t groups;
};

std::string describe(const Shape& s) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "b%lld %lldx%lldx%lld->%lld k%lldx%lld s%lldx%lld d%lldx%lld %s g%lld",
                (long long)s.batch, (long long)s.h, (long long)s.w, (long long)s.in_c, (long long)s.out_c,
                (long long)s.kh, (long long)s.kw, (long long)s.sh, (long long)s.sw, (long long)s.dh, (long long)s.dw,
                s.same ? "same" : "valid", (long long)s.groups);
  return buf;
}

bool make_params(const Shape& s, Conv2DParams* p) {
  return conv2d_params(s.batch, s.h, s.w, s.in_c, s.out_c, s.kh, s.kw, s.sh, s.sw, s.dh, s.dw, s.same, s.groups, p)
      .ok();
}

int64_t x_size(const Conv2DParams& p) { return p.batch * p.in_h * p.in_w * p.in_c; }
int64_t y_size(const Conv2DParams& p) { return p.batch * p.out_h * p.out_w * p.out_c; }
int64_t w_size(const Conv2DParams& p) { return p.kernel_h * p.kernel_w * (p.in_c / p.groups) * p.out_c; }

std::vector<float> random_vec(Rng& rng, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = float(rng.uniform() * 2 - 1);
  return v;
}

// max |got - want| / max |want|: scale-free, so long sums are not penalised.
double rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, scale = 1e-20;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, double(std::fabs(got[i] - want[i])));
    scale = std::max(scale, double(std::fabs(want[i])));
  }
  return diff / scale;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * double(b[i]);
  return s;
}

// Random shapes over the grid the kernels must handle; invalid combinations
// ('valid' padding with an input smaller than the kernel) are skipped.
std::vector<Shape> odd_shapes(int count) {
  const int64_t hw[][2] = {{7, 5}, {5, 7}, {1, 1}, {4, 4}, {9, 6}, {3, 8}, {6, 1}};
  const int64_t ks[] = {1, 2, 3, 5};
  const int64_t ocs[] = {1, 4, 7};
  Rng rng(11);
  std::vector<Shape> out;
  while (int(out.size()) < count) {
    Shape s;
    s.batch = 1 + rng.below(3);
    s.h = hw[rng.below(7)][0], s.w = hw[rng.below(7)][1];
    s.kh = ks[rng.below(4)], s.kw = rng.below(3) ? s.kh : ks[rng.below(4)];
    s.sh = 1 + rng.below(3), s.sw = rng.below(2) ? s.sh : 1 + rng.below(3);
    s.dh = 1 + rng.below(2), s.dw = rng.below(2) ? s.dh : 1 + rng.below(2);
    s.same = rng.below(2);
    switch (rng.below(4)) {
      case 0:  // plain
        s.groups = 1, s.in_c = 1 + 2 * rng.below(3), s.out_c = ocs[rng.below(3)];
        break;
      case 1:  // two groups
        s.groups = 2, s.in_c = 2 * (1 + rng.below(3)), s.out_c = 2 * (1 + rng.below(4));
        break;
      default:  // depthwise, multiplier 1 or 2
        s.in_c = 1 + rng.below(20), s.groups = s.in_c, s.out_c = s.in_c * (1 + rng.below(2));
        break;
    }
    Conv2DParams p;
    if (make_params(s, &p)) out.push_back(s);
  }
  // Fixed cases: pointwise (no im2col), 1x1 strided, depthwise with wide
  // channel blocks, and ones large enough for several col chunks and the
  // split-reduction filter gradient.
  out.push_back({2, 7, 5, 3, 7, 1, 1, 1, 1, 1, 1, true, 1});
  out.push_back({3, 7, 5, 6, 4, 1, 1, 1, 1, 1, 1, false, 2});
  out.push_back({2, 7, 5, 5, 4, 1, 1, 2, 3, 1, 1, true, 1});
  out.push_back({2, 9, 7, 37, 37, 3, 3, 1, 1, 1, 1, true, 37});
  out.push_back({2, 9, 7, 21, 42, 3, 3, 2, 2, 1, 1, true, 21});
  out.push_back({1, 13, 17, 24, 24, 3, 3, 2, 2, 1, 1, true, 24});
  out.push_back({2, 11, 16, 9, 9, 5, 5, 1, 1, 2, 2, true, 9});
  out.push_back({1, 12, 19, 13, 13, 7, 7, 3, 2, 1, 1, false, 13});
  out.push_back({1, 8, 12, 5, 15, 3, 3, 1, 2, 1, 1, false, 5});
  out.push_back({4, 20, 20, 16, 16, 3, 3, 1, 1, 1, 1, true, 16});  // enough rows for per-thread partials
  out.push_back({4, 20, 18, 8, 16, 3, 3, 1, 1, 1, 1, true, 8});
  out.push_back({5, 20, 20, 64, 3, 3, 3, 1, 1, 1, 1, true, 1});
  out.push_back({3, 16, 16, 3, 4, 3, 3, 1, 1, 1, 1, false, 1});
  out.push_back({2, 12, 11, 8, 6, 3, 3, 1, 1, 2, 2, true, 2});
  return out;
}

TEST(ConvKernels, FastMatchesReferenceOnOddShapes) {
  const std::vector<Shape> shapes = odd_shapes(220);
  Rng rng(3);
  const Activation acts[] = {Activation::kLinear, Activation::kRelu, Activation::kTanh};
  const int original_threads = ThreadPool::global().num_threads();
  // (threads, im2col budget in floats): a tiny budget forces a chunk per
  // output row, so chunk boundaries are crossed everywhere.
  const int64_t configs[][2] = {{1, 0}, {3, 0}, {3, 50}};
  for (const auto& config : configs) {
    const int threads = int(config[0]);
    ThreadPool::global().resize(threads);
    conv2d_set_col_budget(config[1]);
    for (size_t i = 0; i < shapes.size(); ++i) {
      const Shape& s = shapes[i];
      SCOPED_TRACE(describe(s) + " threads=" + std::to_string(threads) + " budget=" + std::to_string(config[1]));
      Conv2DParams p;
      ASSERT_TRUE(make_params(s, &p));
      const std::vector<float> x = random_vec(rng, x_size(p)), w = random_vec(rng, w_size(p)),
                               bias = random_vec(rng, p.out_c), dy = random_vec(rng, y_size(p));
      const bool with_bias = i % 2 == 0;
      const Activation act = acts[i % 3];
      std::vector<float> want(size_t(y_size(p))), got(want.size(), 99.0f);
      conv2d_forward_reference(p, x.data(), w.data(), with_bias ? bias.data() : nullptr, act, want.data());
      conv2d_forward(p, x.data(), w.data(), with_bias ? bias.data() : nullptr, act, got.data());
      EXPECT_LE(rel_error(got, want), 1e-4) << "forward";

      std::vector<float> dx_want(size_t(x_size(p))), dx_got(dx_want.size(), 99.0f);
      conv2d_backward_data_reference(p, dy.data(), w.data(), dx_want.data());
      conv2d_backward_data(p, dy.data(), w.data(), dx_got.data());
      EXPECT_LE(rel_error(dx_got, dx_want), 1e-4) << "backward data";

      std::vector<float> dw_want(size_t(w_size(p))), dw_got(dw_want.size(), 99.0f);
      conv2d_backward_filter_reference(p, x.data(), dy.data(), dw_want.data());
      conv2d_backward_filter(p, x.data(), dy.data(), dw_got.data());
      EXPECT_LE(rel_error(dw_got, dw_want), 1e-4) << "backward filter";
      if (HasFailure()) break;
    }
    if (HasFailure()) break;
  }
  conv2d_set_col_budget(0);
  ThreadPool::global().resize(original_threads);
}

// Winograd F(2x2, 3x3) against the reference: odd sizes (partial edge tiles),
// same and valid padding, bias and activations, 1 and 3 threads; through
// conv2d_forward's dispatch and the stride-1 data gradient that reuses it.
TEST(ConvKernels, WinogradMatchesReference) {
  Rng rng(9);
  const int original_threads = ThreadPool::global().num_threads();
  const Shape shapes[] = {
      {1, 5, 7, 16, 16, 3, 3, 1, 1, 1, 1, true, 1},  {2, 9, 6, 16, 24, 3, 3, 1, 1, 1, 1, false, 1},
      {3, 4, 4, 32, 16, 3, 3, 1, 1, 1, 1, true, 1},  {1, 13, 11, 17, 33, 3, 3, 1, 1, 1, 1, true, 1},
      {2, 3, 3, 16, 16, 3, 3, 1, 1, 1, 1, false, 1}, {4, 28, 28, 32, 32, 3, 3, 1, 1, 1, 1, true, 1},
  };
  for (int threads : {1, 3}) {
    ThreadPool::global().resize(threads);
    for (const Shape& s : shapes) {
      SCOPED_TRACE(describe(s) + " threads=" + std::to_string(threads));
      Conv2DParams p;
      ASSERT_TRUE(make_params(s, &p));
      ASSERT_TRUE(conv2d_winograd_applies(p));
      const std::vector<float> x = random_vec(rng, x_size(p)), w = random_vec(rng, w_size(p)),
                               bias = random_vec(rng, p.out_c), dy = random_vec(rng, y_size(p));
      std::vector<float> want(size_t(y_size(p))), got(want.size(), 99.0f), direct(want.size(), 99.0f);
      conv2d_forward_reference(p, x.data(), w.data(), bias.data(), Activation::kTanh, want.data());
      conv2d_forward(p, x.data(), w.data(), bias.data(), Activation::kTanh, got.data());
      conv2d_forward_winograd(p, x.data(), w.data(), bias.data(), Activation::kTanh, direct.data());
      EXPECT_LE(rel_error(got, want), 1e-5);
      EXPECT_EQ(got, direct);  // the dispatch took the Winograd path
      std::vector<float> dx_want(size_t(x_size(p))), dx_got(dx_want.size(), 99.0f);
      conv2d_backward_data_reference(p, dy.data(), w.data(), dx_want.data());
      conv2d_backward_data(p, dy.data(), w.data(), dx_got.data());
      EXPECT_LE(rel_error(dx_got, dx_want), 1e-5) << "backward data";
    }
  }
  Conv2DParams small;
  ASSERT_TRUE(conv2d_params(1, 8, 8, 4, 16, 3, 3, 1, 1, 1, 1, true, 1, &small).ok());
  EXPECT_FALSE(conv2d_winograd_applies(small));  // too few channels to win
  ThreadPool::global().resize(original_threads);
}

// Depthwise shapes also run through the general im2col path: both must agree.
TEST(ConvKernels, DepthwiseMatchesIm2col) {
  Rng rng(5);
  for (const Shape& s : odd_shapes(60)) {
    if (s.groups != s.in_c) continue;
    SCOPED_TRACE(describe(s));
    Conv2DParams p;
    ASSERT_TRUE(make_params(s, &p));
    const std::vector<float> x = random_vec(rng, x_size(p)), w = random_vec(rng, w_size(p)),
                             dy = random_vec(rng, y_size(p));
    std::vector<float> a(size_t(y_size(p))), b(a.size());
    depthwise_forward(p, x.data(), w.data(), nullptr, Activation::kLinear, a.data());
    conv2d_forward_im2col(p, x.data(), w.data(), nullptr, Activation::kLinear, b.data());
    EXPECT_LE(rel_error(a, b), 1e-5);
    std::vector<float> da(size_t(x_size(p))), db(da.size());
    depthwise_backward_data(p, dy.data(), w.data(), da.data());
    conv2d_backward_data_im2col(p, dy.data(), w.data(), db.data());
    EXPECT_LE(rel_error(da, db), 1e-5);
    std::vector<float> fa(size_t(w_size(p))), fb(fa.size());
    depthwise_backward_filter(p, x.data(), dy.data(), fa.data());
    conv2d_backward_filter_im2col(p, x.data(), dy.data(), fb.data());
    EXPECT_LE(rel_error(fa, fb), 1e-5);
  }
}

// Loss sum(y * r) of the reference forward, in double.
double fd_loss(const Conv2DParams& p, const std::vector<float>& x, const std::vector<float>& w,
               const std::vector<float>& r) {
  std::vector<float> y(size_t(y_size(p)));
  conv2d_forward_reference(p, x.data(), w.data(), nullptr, Activation::kLinear, y.data());
  return dot(y, r);
}

// Central difference of fd_loss in v[i]; the step actually taken (after
// float rounding) is the divisor.
double central_difference(const Conv2DParams& p, std::vector<float>* x, std::vector<float>* w, std::vector<float>* v,
                          size_t i, const std::vector<float>& r) {
  const float orig = (*v)[i];
  const float plus = orig + 1e-2f, minus = orig - 1e-2f;
  (*v)[i] = plus;
  const double lp = fd_loss(p, *x, *w, r);
  (*v)[i] = minus;
  const double lm = fd_loss(p, *x, *w, r);
  (*v)[i] = orig;
  return (lp - lm) / (double(plus) - double(minus));
}

TEST(ConvKernels, ReferenceGradientsMatchFiniteDifferences) {
  const Shape shapes[] = {
      {2, 5, 4, 3, 2, 3, 2, 1, 1, 1, 1, true, 1},  {1, 7, 5, 4, 6, 3, 3, 2, 2, 1, 1, true, 2},
      {1, 6, 7, 3, 3, 2, 3, 1, 2, 2, 1, false, 3}, {2, 5, 5, 2, 4, 3, 3, 2, 1, 1, 2, true, 2},
      {1, 4, 6, 3, 2, 1, 1, 1, 1, 1, 1, false, 1},
  };
  Rng rng(9);
  for (const Shape& s : shapes) {
    SCOPED_TRACE(describe(s));
    Conv2DParams p;
    ASSERT_TRUE(make_params(s, &p));
    std::vector<float> x = random_vec(rng, x_size(p)), w = random_vec(rng, w_size(p)), r = random_vec(rng, y_size(p));
    std::vector<float> dx(x.size()), dw(w.size());
    conv2d_backward_data_reference(p, r.data(), w.data(), dx.data());
    conv2d_backward_filter_reference(p, x.data(), r.data(), dw.data());
    // The loss is linear in each variable, so only rounding separates the two.
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(central_difference(p, &x, &w, &x, i, r), dx[i], 1e-3 + 1e-3 * std::fabs(dx[i])) << "dx " << i;
    for (size_t i = 0; i < w.size(); ++i)
      ASSERT_NEAR(central_difference(p, &x, &w, &w, i, r), dw[i], 1e-3 + 1e-3 * std::fabs(dw[i])) << "dw " << i;
  }
}

// <conv(x, w), r> = <x, backward_data(r, w)> = <w, backward_filter(x, r)>:
// backward_data is the transpose of the linear map x -> conv(x, w), i.e. the
// forward pass of conv2dTranspose, and backward_filter that of w -> conv(x, w).
TEST(ConvKernels, BackwardIsTransposeOfForward) {
  Rng rng(13);
  for (const Shape& s : odd_shapes(80)) {
    SCOPED_TRACE(describe(s));
    Conv2DParams p;
    ASSERT_TRUE(make_params(s, &p));
    const std::vector<float> x = random_vec(rng, x_size(p)), w = random_vec(rng, w_size(p)),
                             r = random_vec(rng, y_size(p));
    std::vector<float> y(r.size()), dx(x.size()), dw(w.size());
    conv2d_forward(p, x.data(), w.data(), nullptr, Activation::kLinear, y.data());
    conv2d_backward_data(p, r.data(), w.data(), dx.data());
    conv2d_backward_filter(p, x.data(), r.data(), dw.data());
    const double yr = dot(y, r), xdx = dot(x, dx), wdw = dot(w, dw);
    const double tol = 1e-4 * (1 + std::sqrt(double(y.size()) * double(w_size(p))));
    EXPECT_NEAR(xdx, yr, tol);
    EXPECT_NEAR(wdw, yr, tol);
  }
}

TEST(ConvKernels, EmptyBatchZeroesFilterGradient) {
  for (int64_t groups : {int64_t(1), int64_t(4)}) {
    Conv2DParams p;
    ASSERT_TRUE(conv2d_params(0, 5, 5, 4, 8, 3, 3, 1, 1, 1, 1, true, groups, &p).ok());
    std::vector<float> dw(size_t(w_size(p)), 7.0f);
    conv2d_backward_filter(p, nullptr, nullptr, dw.data());
    for (float v : dw) ASSERT_EQ(v, 0.0f);
  }
}

TEST(ConvParams, SameAndValidSizes) {
  Conv2DParams p;
  // same: out = ceil(7 / 2) = 4, pad_total = 3 * 2 + 3 - 7 = 2 -> top 1.
  ASSERT_TRUE(conv2d_params(2, 7, 5, 3, 4, 3, 3, 2, 2, 1, 1, true, 1, &p).ok());
  EXPECT_EQ(p.out_h, 4);
  EXPECT_EQ(p.pad_top, 1);
  // width: out = 3, pad_total = 2 * 2 + 3 - 5 = 2 -> left 1.
  EXPECT_EQ(p.out_w, 3);
  EXPECT_EQ(p.pad_left, 1);
  // Even kernel: pad_total 1 goes to the bottom/right (TF), so top/left 0.
  ASSERT_TRUE(conv2d_params(1, 5, 6, 1, 1, 2, 2, 1, 1, 1, 1, true, 1, &p).ok());
  EXPECT_EQ(p.out_h, 5);
  EXPECT_EQ(p.out_w, 6);
  EXPECT_EQ(p.pad_top, 0);
  EXPECT_EQ(p.pad_left, 0);
  // Dilation widens the kernel to 5: same pads 2 on each side.
  ASSERT_TRUE(conv2d_params(1, 9, 9, 1, 1, 3, 3, 1, 1, 2, 2, true, 1, &p).ok());
  EXPECT_EQ(p.out_h, 9);
  EXPECT_EQ(p.pad_top, 2);
  // valid: out = ceil((in - span + 1) / stride).
  ASSERT_TRUE(conv2d_params(1, 7, 8, 6, 4, 3, 2, 2, 3, 1, 2, false, 2, &p).ok());
  EXPECT_EQ(p.out_h, 3);  // (7 - 3) / 2 + 1
  EXPECT_EQ(p.out_w, 2);  // span 3: (8 - 3) / 3 + 1
  EXPECT_EQ(p.pad_top, 0);
  EXPECT_EQ(p.pad_left, 0);
  EXPECT_EQ(p.groups, 2);
  // Same with a stride larger than the kernel: no negative padding.
  ASSERT_TRUE(conv2d_params(1, 8, 8, 1, 1, 1, 1, 3, 3, 1, 1, true, 1, &p).ok());
  EXPECT_EQ(p.out_h, 3);
  EXPECT_EQ(p.pad_top, 0);
}

TEST(ConvParams, RejectsBadArguments) {
  Conv2DParams p;
  auto message = [&](Status st) { return st.ok() ? std::string("ok") : st.message(); };
  EXPECT_NE(message(conv2d_params(-1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, true, 1, &p)).find("batch"), std::string::npos);
  EXPECT_NE(message(conv2d_params(1, 0, 5, 3, 4, 3, 3, 1, 1, 1, 1, true, 1, &p)).find("input height"),
            std::string::npos);
  EXPECT_NE(message(conv2d_params(1, 5, 5, 3, 0, 3, 3, 1, 1, 1, 1, true, 1, &p)).find("filters"), std::string::npos);
  EXPECT_NE(message(conv2d_params(1, 5, 5, 3, 4, 0, 3, 1, 1, 1, 1, true, 1, &p)).find("kernel height"),
            std::string::npos);
  EXPECT_NE(message(conv2d_params(1, 5, 5, 3, 4, 3, 3, 1, 0, 1, 1, true, 1, &p)).find("stride width"),
            std::string::npos);
  EXPECT_NE(message(conv2d_params(1, 5, 5, 3, 4, 3, 3, 1, 1, 0, 1, true, 1, &p)).find("dilation height"),
            std::string::npos);
  EXPECT_NE(message(conv2d_params(1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, true, 0, &p)).find("groups"), std::string::npos);
  EXPECT_NE(message(conv2d_params(1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, true, 2, &p)).find("input channels 3"),
            std::string::npos);
  EXPECT_NE(message(conv2d_params(1, 5, 5, 4, 6, 3, 3, 1, 1, 1, 1, true, 4, &p)).find("filters 6"), std::string::npos);
  // valid: a 3-wide kernel dilated by 2 spans 5 > 4.
  const std::string small = message(conv2d_params(1, 4, 9, 1, 1, 3, 3, 1, 1, 2, 1, false, 1, &p));
  EXPECT_NE(small.find("height 4"), std::string::npos) << small;
  EXPECT_NE(small.find("5"), std::string::npos) << small;
  // The same sizes are fine with 'same' padding.
  EXPECT_TRUE(conv2d_params(1, 4, 9, 1, 1, 3, 3, 1, 1, 2, 1, true, 1, &p).ok());
}

// Seconds of the fastest of five runs after a warm-up (scratch buffers grow):
// the run least disturbed by other load.
template <typename Fn>
double best_seconds(Fn fn) {
  fn();
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// Throughput report (not asserted): GFLOP/s counts 2 flops per multiply-add.
TEST(ConvKernels, TimingReport) {
  const int original_threads = ThreadPool::global().num_threads();
  ThreadPool::global().resize(int(std::thread::hardware_concurrency()));
  struct Bench {
    const char* name;
    Shape s;
  };
  const Bench benches[] = {
      {"3x3 28x28x32->32 b32", {32, 28, 28, 32, 32, 3, 3, 1, 1, 1, 1, true, 1}},
      {"1x1 28x28x64->64 b32", {32, 28, 28, 64, 64, 1, 1, 1, 1, 1, 1, true, 1}},
      {"3x3/2 56x56x16->32 b8", {8, 56, 56, 16, 32, 3, 3, 2, 2, 1, 1, true, 1}},
      {"dw3x3 56x56x64 b8", {8, 56, 56, 64, 64, 3, 3, 1, 1, 1, 1, true, 64}},
  };
  Rng rng(1);
  for (const Bench& b : benches) {
    Conv2DParams p;
    ASSERT_TRUE(make_params(b.s, &p));
    const std::vector<float> x = random_vec(rng, x_size(p)), w = random_vec(rng, w_size(p)),
                             dy = random_vec(rng, y_size(p));
    std::vector<float> y(dy.size()), dx(x.size()), dw(w.size());
    const double flops = 2.0 * double(y_size(p)) * double(p.kernel_h * p.kernel_w * p.in_c / p.groups);
    auto time = [&](auto fn) { return flops / best_seconds(fn) * 1e-9; };
    const double f = time([&] { conv2d_forward(p, x.data(), w.data(), nullptr, Activation::kRelu, y.data()); });
    const double d = time([&] { conv2d_backward_data(p, dy.data(), w.data(), dx.data()); });
    const double g = time([&] { conv2d_backward_filter(p, x.data(), dy.data(), dw.data()); });
    std::printf("[conv timing] %-24s threads=%d  forward %6.1f  data %6.1f  filter %6.1f GFLOP/s\n", b.name,
                ThreadPool::global().num_threads(), f, d, g);
  }
  // Winograd against im2col on 3x3 stride 1 (effective GFLOP/s: direct-conv
  // flops over time), to place conv2d_winograd_applies' channel threshold.
  for (int64_t c : {8, 16, 32, 64, 128}) {
    Conv2DParams p;
    ASSERT_TRUE(conv2d_params(16, 28, 28, c, c, 3, 3, 1, 1, 1, 1, true, 1, &p).ok());
    const std::vector<float> x = random_vec(rng, x_size(p)), w = random_vec(rng, w_size(p));
    std::vector<float> y(size_t(y_size(p)));
    const double flops = 2.0 * double(y_size(p)) * double(9 * c);
    auto best_of = [&](auto fn) { return flops / best_seconds(fn) * 1e-9; };
    const double im2col = best_of([&] { conv2d_forward_im2col(p, x.data(), w.data(), nullptr, Activation::kLinear, y.data()); });
    const double wino = best_of([&] { conv2d_forward_winograd(p, x.data(), w.data(), nullptr, Activation::kLinear, y.data()); });
    std::printf("[conv timing] 3x3 28x28x%-3lld->%-3lld b16 im2col %6.1f  winograd %6.1f GFLOP/s (%.2fx)\n", (long long)c,
                (long long)c, im2col, wino, wino / im2col);
  }
  ThreadPool::global().resize(original_threads);
}

}  // namespace
}  // namespace kiln
