// Pooling and normalization kernels: fast paths against the double references
// on odd shapes (1 and 3 threads), references against central finite
// differences of loss = sum(y * r), TF-style padding / params errors, and the
// batch-norm moving statistics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "cpu/normalization.h"
#include "cpu/pool2d.h"

namespace kiln {
namespace {

std::vector<float> randn(size_t n, Rng& rng, float offset = 0.0f) {
  std::vector<float> v(n);
  for (float& x : v) x = offset + float(rng.normal());
  return v;
}

// Distinct values 0.05 apart in random order: finite differences of max
// pooling with step < 0.025 never cross a tie.
std::vector<float> distinct(size_t n, Rng& rng) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.05f * float(i) - 0.025f * float(n);
  for (size_t i = n; i > 1; --i) std::swap(v[i - 1], v[rng.below(uint32_t(i))]);
  return v;
}

// |got - want| <= rtol * (|want| + max(mean |want|, floor)): relative, with the
// array's scale as the floor so near-zero entries of a cancelling sum are
// fair. A sum of n unit-size random terms passes floor = sqrt(n), its natural
// magnitude (with one channel, mean |want| may be far below it).
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rtol, const char* what,
                  double floor = 0) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0;
  for (float w : want) scale += std::fabs(w);
  scale = std::max(floor, want.empty() ? 0 : scale / double(want.size()));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_LE(std::fabs(double(got[i]) - want[i]), rtol * (std::fabs(want[i]) + scale) + 1e-30)
        << what << " at " << i << ": got " << got[i] << " want " << want[i];
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

// Central differences of loss(v) = sum(f(v) * r) w.r.t. every entry of v,
// checked against the analytic gradient.
void check_fd(std::vector<float>* v, const std::vector<float>& analytic, const std::function<double()>& loss,
              float h, double tol, const char* what) {
  ASSERT_EQ(v->size(), analytic.size()) << what;
  for (size_t i = 0; i < v->size(); ++i) {
    const float orig = (*v)[i];
    (*v)[i] = orig + h;
    const double lp = loss();
    (*v)[i] = orig - h;
    const double lm = loss();
    (*v)[i] = orig;
    const double fd = (lp - lm) / (2.0 * double(h));
    ASSERT_NEAR(analytic[i], fd, tol * (1.0 + std::fabs(fd))) << what << " at " << i;
  }
}

struct ThreadsGuard {
  int saved = ThreadPool::global().num_threads();
  ~ThreadsGuard() { ThreadPool::global().resize(saved); }
};

TEST(PoolNormParams, SameAndValidSizes) {
  Pool2DParams p;
  ASSERT_TRUE(pool2d_params(2, 7, 5, 3, 3, 2, 2, 2, true, &p).ok());
  EXPECT_EQ(p.out_h, 4);  // ceil(7 / 2)
  EXPECT_EQ(p.out_w, 3);  // ceil(5 / 2)
  EXPECT_EQ(p.pad_top, 1);   // pad_total = 3 * 2 + 3 - 7 = 2
  EXPECT_EQ(p.pad_left, 0);  // pad_total = 2 * 2 + 2 - 5 = 1: extra column goes right
  ASSERT_TRUE(pool2d_params(2, 7, 5, 3, 3, 2, 2, 2, false, &p).ok());
  EXPECT_EQ(p.out_h, 3);
  EXPECT_EQ(p.out_w, 2);
  EXPECT_EQ(p.pad_top, 0);
  EXPECT_EQ(p.pad_left, 0);
  // Pool larger than the input is fine with 'same' (TF.js: out = ceil(in / s)).
  ASSERT_TRUE(pool2d_params(1, 2, 2, 1, 3, 3, 1, 1, true, &p).ok());
  EXPECT_EQ(p.out_h, 2);
  EXPECT_EQ(p.pad_top, 1);
  ASSERT_TRUE(pool2d_params(0, 4, 4, 1, 2, 2, 2, 2, false, &p).ok());  // empty batch
}

TEST(PoolNormParams, ErrorMessages) {
  Pool2DParams p;
  auto msg = [&](Status s) { return s.ok() ? std::string("ok") : s.message(); };
  EXPECT_NE(msg(pool2d_params(1, 2, 5, 1, 3, 3, 1, 1, false, &p)).find("larger than the input 2x5"),
            std::string::npos);
  EXPECT_NE(msg(pool2d_params(1, 4, 4, 1, 2, 2, 0, 1, false, &p)).find("strides must be positive, got 0x1"),
            std::string::npos);
  EXPECT_NE(msg(pool2d_params(1, 4, 4, 1, 0, 2, 1, 1, true, &p)).find("pool size must be positive"),
            std::string::npos);
  EXPECT_NE(msg(pool2d_params(1, 4, 4, 0, 2, 2, 1, 1, true, &p)).find("channels must be positive"),
            std::string::npos);
  EXPECT_NE(msg(pool2d_params(-1, 4, 4, 1, 2, 2, 1, 1, true, &p)).find("batch must be >= 0"), std::string::npos);
}

TEST(PoolNormPool, FastMatchesReference) {
  ThreadsGuard guard;
  Rng rng(11);
  const int64_t hw[][2] = {{7, 5}, {1, 9}, {6, 6}, {3, 11}};
  const int64_t pools[][2] = {{2, 2}, {3, 3}, {3, 2}, {1, 3}};
  int cases = 0;
  for (int threads : {1, 3}) {
    ThreadPool::global().resize(threads);
    for (auto& s : hw)
      for (int64_t channels : {1, 3, 17})
        for (auto& pl : pools)
          for (int64_t stride : {1, 2, 3})
            for (bool same : {true, false})
              for (PoolKind kind : {PoolKind::kMax, PoolKind::kAverage}) {
                const int64_t batch = 1 + (cases % 3);
                const int64_t ph = std::min(pl[0], s[0]), pw = pl[1];
                Pool2DParams p;
                if (!pool2d_params(batch, s[0], s[1], channels, ph, pw, stride, stride, same, &p).ok()) continue;
                ++cases;
                SCOPED_TRACE(std::to_string(s[0]) + "x" + std::to_string(s[1]) + "x" + std::to_string(channels) +
                             " pool " + std::to_string(ph) + "x" + std::to_string(pw) + " stride " +
                             std::to_string(stride) + (same ? " same" : " valid") +
                             (kind == PoolKind::kMax ? " max" : " avg") + " threads " + std::to_string(threads));
                // Rounded values make ties common: first-max selection is exercised.
                std::vector<float> x = randn(size_t(batch * s[0] * s[1] * channels), rng);
                if (cases % 2) for (float& v : x) v = std::round(v * 2.0f);
                const size_t ny = size_t(p.batch * p.out_h * p.out_w * channels);
                std::vector<float> y(ny), y_ref(ny), dy = randn(ny, rng), dx(x.size()), dx_ref(x.size(), 7.0f);
                pool2d_forward(kind, p, x.data(), y.data());
                pool2d_forward_reference(kind, p, x.data(), y_ref.data());
                expect_close(y, y_ref, 1e-5, "forward");
                std::fill(dx.begin(), dx.end(), 7.0f);  // must be overwritten
                pool2d_backward(kind, p, x.data(), y.data(), dy.data(), dx.data());
                pool2d_backward_reference(kind, p, x.data(), y_ref.data(), dy.data(), dx_ref.data());
                expect_close(dx, dx_ref, 1e-5, "backward");
              }
  }
  EXPECT_GT(cases, 300);
}

TEST(PoolNormPool, SemanticsOnSmallExample) {
  // 1x3x3x1, pool 2x2 stride 2 'same': out 2x2, pad_total 1 -> pad bottom/right only.
  Pool2DParams p;
  ASSERT_TRUE(pool2d_params(1, 3, 3, 1, 2, 2, 2, 2, true, &p).ok());
  const std::vector<float> x = {-1, -2, -3, -4, -1, -6, -7, -8, -9};
  std::vector<float> y(4), dx(9);
  pool2d_forward(PoolKind::kMax, p, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{-1, -3, -7, -9}));  // padding never wins, even over negatives
  const std::vector<float> dy = {1, 2, 3, 4};
  pool2d_backward(PoolKind::kMax, p, x.data(), y.data(), dy.data(), dx.data());
  // Window 0 has -1 at (0,0) and (1,1): the first in row-major order wins.
  EXPECT_EQ(dx, (std::vector<float>{1, 0, 2, 0, 0, 0, 3, 0, 4}));
  pool2d_forward(PoolKind::kAverage, p, x.data(), y.data());
  // Border windows divide by their real cell count (2, 2, 1), not 4.
  EXPECT_FLOAT_EQ(y[0], -2.0f);
  EXPECT_FLOAT_EQ(y[1], -4.5f);
  EXPECT_FLOAT_EQ(y[2], -7.5f);
  EXPECT_FLOAT_EQ(y[3], -9.0f);
  pool2d_backward(PoolKind::kAverage, p, x.data(), y.data(), dy.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<float>{0.25f, 0.25f, 1, 0.25f, 0.25f, 1, 1.5f, 1.5f, 4}));
}

TEST(PoolNormPool, ReferenceBackwardMatchesFiniteDifferences) {
  Rng rng(5);
  const int64_t cfg[][7] = {
      // in_h, in_w, c, pool_h, pool_w, stride, same
      {7, 5, 2, 3, 2, 2, 1}, {7, 5, 2, 3, 3, 1, 0}, {5, 6, 3, 2, 2, 3, 1}, {1, 9, 2, 1, 3, 2, 1}};
  for (const auto& c : cfg)
    for (PoolKind kind : {PoolKind::kMax, PoolKind::kAverage}) {
      Pool2DParams p;
      ASSERT_TRUE(pool2d_params(2, c[0], c[1], c[2], c[3], c[4], c[5], c[5], c[6] != 0, &p).ok());
      std::vector<float> x = distinct(size_t(2 * c[0] * c[1] * c[2]), rng);
      const size_t ny = size_t(p.batch * p.out_h * p.out_w * p.channels);
      std::vector<float> y(ny), r = randn(ny, rng), dx(x.size());
      pool2d_forward_reference(kind, p, x.data(), y.data());
      pool2d_backward_reference(kind, p, x.data(), y.data(), r.data(), dx.data());
      auto loss = [&] {
        pool2d_forward_reference(kind, p, x.data(), y.data());
        return dot(y, r);
      };
      check_fd(&x, dx, loss, 1e-2f, 1e-3, kind == PoolKind::kMax ? "max pool" : "avg pool");
    }
}

TEST(PoolNormGlobalPool, FastMatchesReferenceAndFiniteDifferences) {
  ThreadsGuard guard;
  Rng rng(3);
  for (int threads : {1, 3}) {
    ThreadPool::global().resize(threads);
    for (int64_t batch : {1, 3})
      for (int64_t spatial : {1, 7, 35})
        for (int64_t channels : {1, 3, 17, 300})
          for (PoolKind kind : {PoolKind::kMax, PoolKind::kAverage}) {
            std::vector<float> x = randn(size_t(batch * spatial * channels), rng);
            if (channels == 3) for (float& v : x) v = std::round(v);  // ties
            std::vector<float> y(size_t(batch * channels)), y_ref(y.size()), dy = randn(y.size(), rng);
            std::vector<float> dx(x.size(), 7.0f), dx_ref(x.size());
            global_pool_forward(kind, batch, spatial, channels, x.data(), y.data());
            global_pool_forward_reference(kind, batch, spatial, channels, x.data(), y_ref.data());
            expect_close(y, y_ref, 1e-5, "global forward");
            global_pool_backward(kind, batch, spatial, channels, x.data(), y.data(), dy.data(), dx.data());
            global_pool_backward_reference(kind, batch, spatial, channels, x.data(), y.data(), dy.data(),
                                           dx_ref.data());
            expect_close(dx, dx_ref, 1e-5, "global backward");
          }
  }
  for (PoolKind kind : {PoolKind::kMax, PoolKind::kAverage}) {
    std::vector<float> x = distinct(2 * 6 * 3, rng), y(2 * 3), r = randn(6, rng), dx(x.size());
    global_pool_backward_reference(kind, 2, 6, 3, x.data(), nullptr, r.data(), dx.data());
    auto loss = [&] {
      global_pool_forward_reference(kind, 2, 6, 3, x.data(), y.data());
      return dot(y, r);
    };
    check_fd(&x, dx, loss, 1e-2f, 1e-3, "global pool");
  }
}

TEST(PoolNormBatchNorm, FastMatchesReference) {
  ThreadsGuard guard;
  Rng rng(21);
  for (int threads : {1, 4}) {
    ThreadPool::global().resize(threads);
    for (int64_t rows : {1, 5, 63, 1000, 40000})
      for (int64_t channels : {1, 3, 17, 300})
        for (bool affine : {true, false}) {
          if (rows * channels > 2000000) continue;
          SCOPED_TRACE("rows " + std::to_string(rows) + " channels " + std::to_string(channels));
          const size_t n = size_t(rows * channels), nc = size_t(channels);
          // A large common offset checks the variance is taken about the mean.
          std::vector<float> x = randn(n, rng, rows == 1000 ? 100.0f : 0.5f), dy = randn(n, rng);
          std::vector<float> gamma = randn(nc, rng), beta = randn(nc, rng);
          const float* g = affine ? gamma.data() : nullptr;
          const float* b = affine ? beta.data() : nullptr;
          std::vector<float> mm = randn(nc, rng), mv(nc, 2.0f), mm_ref = mm, mv_ref = mv;
          std::vector<float> y(n), y_ref(n), sm(nc), si(nc), sm_ref(nc), si_ref(nc);
          batch_norm_train_forward(rows, channels, x.data(), g, b, 1e-3f, 0.9f, mm.data(), mv.data(), y.data(),
                                   sm.data(), si.data());
          batch_norm_train_forward_reference(rows, channels, x.data(), g, b, 1e-3f, 0.9f, mm_ref.data(),
                                             mv_ref.data(), y_ref.data(), sm_ref.data(), si_ref.data());
          expect_close(y, y_ref, 1e-5, "train y");
          expect_close(sm, sm_ref, 1e-5, "save_mean");
          expect_close(si, si_ref, 1e-5, "save_inv_std");
          expect_close(mm, mm_ref, 1e-5, "moving_mean");
          expect_close(mv, mv_ref, 1e-5, "moving_var");
          batch_norm_inference_forward(rows, channels, x.data(), g, b, mm.data(), mv.data(), 1e-3f, y.data());
          batch_norm_inference_forward_reference(rows, channels, x.data(), g, b, mm.data(), mv.data(), 1e-3f,
                                                 y_ref.data());
          expect_close(y, y_ref, 1e-5, "inference y");
          std::vector<float> dx(n), dx_ref(n), dg(nc), dg_ref(nc), db(nc), db_ref(nc);
          batch_norm_backward(rows, channels, x.data(), g, sm_ref.data(), si_ref.data(), dy.data(), dx.data(),
                              dg.data(), db.data());
          batch_norm_backward_reference(rows, channels, x.data(), g, sm_ref.data(), si_ref.data(), dy.data(),
                                        dx_ref.data(), dg_ref.data(), db_ref.data());
          expect_close(dx, dx_ref, 1e-5, "dx");
          expect_close(dg, dg_ref, 1e-5, "dgamma", std::sqrt(double(rows)));
          expect_close(db, db_ref, 1e-5, "dbeta", std::sqrt(double(rows)));
        }
  }
}

TEST(PoolNormBatchNorm, DeterministicAcrossThreadCounts) {
  ThreadsGuard guard;
  Rng rng(2);
  const int64_t rows = 20000, channels = 19;
  std::vector<float> x = randn(size_t(rows * channels), rng), dy = randn(x.size(), rng);
  std::vector<float> results[2];
  for (int t = 0; t < 2; ++t) {
    ThreadPool::global().resize(t == 0 ? 1 : 5);
    std::vector<float> y(x.size()), sm(channels), si(channels), dx(x.size()), dg(channels), db(channels);
    batch_norm_train_forward(rows, channels, x.data(), nullptr, nullptr, 1e-3f, 0.99f, nullptr, nullptr, y.data(),
                             sm.data(), si.data());
    batch_norm_backward(rows, channels, x.data(), nullptr, sm.data(), si.data(), dy.data(), dx.data(), dg.data(),
                        db.data());
    for (auto* v : {&y, &sm, &si, &dx, &dg, &db}) results[t].insert(results[t].end(), v->begin(), v->end());
  }
  EXPECT_EQ(results[0], results[1]);
}

TEST(PoolNormBatchNorm, MovingStatisticsAndInferenceClosedForm) {
  Rng rng(8);
  const int64_t rows = 37, channels = 5;
  const float momentum = 0.99f, eps = 1e-3f;
  std::vector<float> x = randn(size_t(rows * channels), rng, 3.0f), gamma = randn(5, rng), beta = randn(5, rng);
  for (bool fast : {true, false}) {
    std::vector<float> mm = {0, 0, 0, 0, 0}, mv = {1, 1, 1, 1, 1}, y(x.size()), sm(5), si(5);
    (fast ? batch_norm_train_forward : batch_norm_train_forward_reference)(
        rows, channels, x.data(), gamma.data(), beta.data(), eps, momentum, mm.data(), mv.data(), y.data(),
        sm.data(), si.data());
    for (int64_t c = 0; c < channels; ++c) {
      double mean = 0, var = 0;
      for (int64_t r = 0; r < rows; ++r) mean += x[size_t(r * channels + c)];
      mean /= rows;
      for (int64_t r = 0; r < rows; ++r) var += std::pow(x[size_t(r * channels + c)] - mean, 2);
      var /= rows;  // biased, as tf.moments
      EXPECT_NEAR(sm[size_t(c)], mean, 1e-5 * std::fabs(mean));
      EXPECT_NEAR(si[size_t(c)], 1.0 / std::sqrt(var + eps), 1e-5);
      EXPECT_NEAR(mm[size_t(c)], 0.0 * momentum + mean * (1 - momentum), 1e-6);
      EXPECT_NEAR(mv[size_t(c)], 1.0 * momentum + var * (1 - momentum), 1e-6);
    }
    // Inference with the stats set to known values is the closed form.
    mm = {0.5f, -1, 2, 0, 3};
    mv = {1, 0.25f, 4, 0.01f, 2};
    (fast ? batch_norm_inference_forward : batch_norm_inference_forward_reference)(
        rows, channels, x.data(), gamma.data(), beta.data(), mm.data(), mv.data(), eps, y.data());
    for (int64_t i = 0; i < rows * channels; ++i) {
      const size_t c = size_t(i % channels);
      const double want = gamma[c] * (x[size_t(i)] - mm[c]) / std::sqrt(double(mv[c]) + eps) + beta[c];
      ASSERT_NEAR(y[size_t(i)], want, 1e-5 * (1 + std::fabs(want))) << i;
    }
  }
}

TEST(PoolNormBatchNorm, ReferenceBackwardMatchesFiniteDifferences) {
  Rng rng(4);
  const int64_t rows = 9, channels = 3;
  std::vector<float> x = randn(size_t(rows * channels), rng), gamma = randn(3, rng), beta = randn(3, rng);
  std::vector<float> r = randn(x.size(), rng), y(x.size()), sm(3), si(3), dx(x.size()), dg(3), db(3);
  batch_norm_train_forward_reference(rows, channels, x.data(), gamma.data(), beta.data(), 1e-3f, 0.9f, nullptr,
                                     nullptr, y.data(), sm.data(), si.data());
  batch_norm_backward_reference(rows, channels, x.data(), gamma.data(), sm.data(), si.data(), r.data(), dx.data(),
                                dg.data(), db.data());
  auto loss = [&] {
    batch_norm_train_forward_reference(rows, channels, x.data(), gamma.data(), beta.data(), 1e-3f, 0.9f, nullptr,
                                       nullptr, y.data(), nullptr, nullptr);
    return dot(y, r);
  };
  check_fd(&x, dx, loss, 1e-2f, 2e-3, "bn dx");
  check_fd(&gamma, dg, loss, 1e-2f, 2e-3, "bn dgamma");
  check_fd(&beta, db, loss, 1e-2f, 2e-3, "bn dbeta");
}

TEST(PoolNormLayerNorm, FastMatchesReference) {
  ThreadsGuard guard;
  Rng rng(31);
  for (int threads : {1, 3}) {
    ThreadPool::global().resize(threads);
    for (int64_t rows : {1, 3, 70, 517})
      for (int64_t features : {1, 3, 17, 64, 1000})
        for (bool affine : {true, false}) {
          SCOPED_TRACE("rows " + std::to_string(rows) + " features " + std::to_string(features));
          const size_t n = size_t(rows * features), nf = size_t(features), nr = size_t(rows);
          std::vector<float> x = randn(n, rng, features == 64 ? 50.0f : 0.0f), dy = randn(n, rng);
          std::vector<float> gamma = randn(nf, rng), beta = randn(nf, rng);
          const float* g = affine ? gamma.data() : nullptr;
          const float* b = affine ? beta.data() : nullptr;
          std::vector<float> y(n), y_ref(n), sm(nr), si(nr), sm_ref(sm), si_ref(si);
          layer_norm_forward(rows, features, x.data(), g, b, 1e-3f, y.data(), sm.data(), si.data());
          layer_norm_forward_reference(rows, features, x.data(), g, b, 1e-3f, y_ref.data(), sm_ref.data(),
                                       si_ref.data());
          expect_close(y, y_ref, 1e-5, "y");
          expect_close(sm, sm_ref, 1e-5, "save_mean");
          expect_close(si, si_ref, 1e-5, "save_inv_std");
          std::vector<float> dx(n), dx_ref(n), dg(nf), dg_ref(nf), db(nf), db_ref(nf);
          layer_norm_backward(rows, features, x.data(), g, sm_ref.data(), si_ref.data(), dy.data(), dx.data(),
                              dg.data(), db.data());
          layer_norm_backward_reference(rows, features, x.data(), g, sm_ref.data(), si_ref.data(), dy.data(),
                                        dx_ref.data(), dg_ref.data(), db_ref.data());
          // features == 1 normalizes to exactly 0: dx is pure rounding noise.
          if (features > 1) expect_close(dx, dx_ref, 1e-5, "dx");
          expect_close(dg, dg_ref, 1e-5, "dgamma", std::sqrt(double(rows)));
          expect_close(db, db_ref, 1e-5, "dbeta", std::sqrt(double(rows)));
        }
  }
}

TEST(PoolNormLayerNorm, ReferenceBackwardMatchesFiniteDifferences) {
  Rng rng(6);
  const int64_t rows = 4, features = 7;
  std::vector<float> x = randn(size_t(rows * features), rng), gamma = randn(7, rng), beta = randn(7, rng);
  std::vector<float> r = randn(x.size(), rng), y(x.size()), sm(4), si(4), dx(x.size()), dg(7), db(7);
  layer_norm_forward_reference(rows, features, x.data(), gamma.data(), beta.data(), 1e-3f, y.data(), sm.data(),
                               si.data());
  layer_norm_backward_reference(rows, features, x.data(), gamma.data(), sm.data(), si.data(), r.data(), dx.data(),
                                dg.data(), db.data());
  auto loss = [&] {
    layer_norm_forward_reference(rows, features, x.data(), gamma.data(), beta.data(), 1e-3f, y.data(), nullptr,
                                 nullptr);
    return dot(y, r);
  };
  check_fd(&x, dx, loss, 1e-2f, 2e-3, "ln dx");
  check_fd(&gamma, dg, loss, 1e-2f, 2e-3, "ln dgamma");
  check_fd(&beta, db, loss, 1e-2f, 2e-3, "ln dbeta");
}

}  // namespace
}  // namespace kiln
