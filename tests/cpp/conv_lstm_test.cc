// ConvLSTM2D's kernels (src/cpu/conv_lstm.cc): every gradient against
// central finite differences of loss = sum(y_seq * r) + sum(h_last * rh) +
// sum(c_last * rc), computed in double from the forward pass, on odd shapes
// ('same' and 'valid', strides, dilation, go_backwards, activations whose
// gradient needs the input). The forward is checked against TF.js 4.22 in
// tests/js/conv_lstm.test.mjs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/rng.h"
#include "cpu/conv_lstm.h"

namespace kiln {
namespace {

using Vec = std::vector<float>;

Vec random_vec(Rng& rng, int64_t n, double scale) {
  Vec v(static_cast<size_t>(n));
  for (float& x : v) x = float((rng.uniform() * 2 - 1) * scale);
  return v;
}

struct Case {
  int64_t batch, steps, h, w, c, filters, k, stride, dilation;
  bool same, backwards;
  Activation act, ra;
};

struct Problem {
  ConvLstmParams p;
  Vec x, kernel, recurrent, bias, h0, c0, r, rh, rc;
};

double loss_of(const Problem& pr) {
  const ConvLstmParams& p = pr.p;
  const int64_t state = p.state_floats();
  Vec y(static_cast<size_t>(state * p.steps)), h(static_cast<size_t>(state)), c(static_cast<size_t>(state)), saved(static_cast<size_t>(conv_lstm_saved_floats(p)));
  Vec scratch(size_t(conv_lstm_forward_scratch_floats(p)));
  conv_lstm_forward(p, pr.x.data(), pr.kernel.data(), pr.recurrent.data(), pr.bias.data(), pr.h0.data(), pr.c0.data(), y.data(),
                    h.data(), c.data(), saved.data(), {scratch.data(), int64_t(scratch.size())});
  double l = 0;
  for (size_t i = 0; i < y.size(); ++i) l += double(y[i]) * pr.r[i];
  for (size_t i = 0; i < h.size(); ++i) l += double(h[i]) * pr.rh[i] + double(c[i]) * pr.rc[i];
  return l;
}

TEST(ConvLstmKernels, GradientsMatchFiniteDifferences) {
  const Case cases[] = {
      {2, 3, 5, 4, 2, 3, 3, 1, 1, true, false, Activation::kTanh, Activation::kSigmoid},
      {1, 4, 6, 5, 3, 2, 3, 2, 1, true, true, Activation::kTanh, Activation::kHardSigmoid},
      {2, 2, 5, 6, 2, 2, 2, 1, 2, false, false, Activation::kSwish, Activation::kSigmoid},
      {3, 3, 4, 4, 1, 1, 3, 1, 1, false, true, Activation::kTanh, Activation::kSigmoid},
  };
  uint64_t seed = 7;
  double worst = 0;
  for (const Case& cs : cases) {
    Problem pr;
    ASSERT_TRUE(conv_lstm_params(cs.batch, cs.steps, cs.h, cs.w, cs.c, cs.filters, cs.k, cs.k, cs.stride, cs.stride, cs.dilation,
                                 cs.dilation, cs.same, cs.act, cs.ra, cs.backwards, &pr.p)
                    .ok());
    const ConvLstmParams& p = pr.p;
    Rng rng(seed++);
    const int64_t F = p.filters, state = p.state_floats();
    pr.x = random_vec(rng, p.batch * p.steps * cs.h * cs.w * cs.c, 1.0);
    pr.kernel = random_vec(rng, cs.k * cs.k * cs.c * 4 * F, 0.5);
    pr.recurrent = random_vec(rng, cs.k * cs.k * F * 4 * F, 0.5);
    pr.bias = random_vec(rng, 4 * F, 0.5);
    pr.h0 = random_vec(rng, state, 0.5);
    pr.c0 = random_vec(rng, state, 0.5);
    pr.r = random_vec(rng, state * p.steps, 1.0);
    pr.rh = random_vec(rng, state, 1.0);
    pr.rc = random_vec(rng, state, 1.0);

    Vec y(static_cast<size_t>(state * p.steps)), h(static_cast<size_t>(state)), c(static_cast<size_t>(state)), saved(static_cast<size_t>(conv_lstm_saved_floats(p)));
    Vec fs(size_t(conv_lstm_forward_scratch_floats(p))), bs(size_t(conv_lstm_backward_scratch_floats(p)));
    conv_lstm_forward(p, pr.x.data(), pr.kernel.data(), pr.recurrent.data(), pr.bias.data(), pr.h0.data(), pr.c0.data(), y.data(),
                      h.data(), c.data(), saved.data(), {fs.data(), int64_t(fs.size())});
    Vec dx(pr.x.size(), NAN), dk(pr.kernel.size(), NAN), dr(pr.recurrent.size(), NAN), db(pr.bias.size(), NAN),
        dh0(pr.h0.size(), NAN), dc0(pr.c0.size(), NAN);
    conv_lstm_backward(p, pr.x.data(), pr.kernel.data(), pr.recurrent.data(), pr.h0.data(), pr.c0.data(), saved.data(), pr.r.data(),
                       pr.rh.data(), pr.rc.data(), dx.data(), dk.data(), dr.data(), db.data(), dh0.data(), dc0.data(),
                       {bs.data(), int64_t(bs.size())});
    auto check = [&](const char* name, Vec* param, const Vec& grad) {
      double err = 0, scale = 1e-3;
      for (size_t i = 0; i < param->size(); ++i) {
        const float keep = (*param)[i];
        const double eps = 1e-2;
        (*param)[i] = keep + float(eps);
        const double lp = loss_of(pr);
        (*param)[i] = keep - float(eps);
        const double lm = loss_of(pr);
        (*param)[i] = keep;
        const double fd = (lp - lm) / (2 * eps);
        err = std::max(err, std::fabs(fd - grad[i]));
        scale = std::max(scale, std::fabs(fd));
      }
      worst = std::max(worst, err / scale);
      EXPECT_LE(err / scale, 3e-3) << name << " case " << (seed - 7);
    };
    check("x", &pr.x, dx);
    check("kernel", &pr.kernel, dk);
    check("recurrent", &pr.recurrent, dr);
    check("bias", &pr.bias, db);
    check("h0", &pr.h0, dh0);
    check("c0", &pr.c0, dc0);
  }
  std::printf("[ ConvLstmKernels ] worst finite-difference relative error %.3g\n", worst);
}

TEST(ConvLstmKernels, ParamsRefuseWhatDoesNotFit) {
  ConvLstmParams p;
  EXPECT_FALSE(conv_lstm_params(1, 2, 2, 2, 1, 3, 3, 3, 1, 1, 1, 1, false, Activation::kTanh, Activation::kSigmoid, false, &p).ok());
  EXPECT_FALSE(conv_lstm_params(1, 2, 4, 4, 1, 3, 3, 3, 1, 1, 1, 1, true, Activation::kSoftmax, Activation::kSigmoid, false, &p).ok());
  EXPECT_TRUE(conv_lstm_params(1, 2, 4, 4, 1, 3, 3, 3, 2, 2, 1, 1, true, Activation::kTanh, Activation::kSigmoid, false, &p).ok());
  EXPECT_EQ(p.input_conv.out_h, 2);
}

}  // namespace
}  // namespace kiln
