// Recurrent kernels (src/cpu/rnn.h): the fast SimpleRNN / LSTM / GRU forward
// and backward-through-time against the plain reference on odd shapes and
// every option; the reference backward against central finite differences;
// both against PyTorch (tests/fixtures/rnn/rnn_torch.txt, written by
// scripts/make_rnn_fixtures.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "cpu/rnn.h"

namespace kiln {
namespace {

using Vec = std::vector<float>;

// max|got - want| / max|want| (absolute when want is all zeros).
double rel_error(const Vec& got, const Vec& want) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - double(want[i])));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  if (std::isnan(diff)) return INFINITY;
  for (float v : got)
    if (!std::isfinite(v)) return INFINITY;
  return scale > 0 ? diff / scale : diff;
}

std::string describe(const RnnParams& p) {
  std::ostringstream s;
  s << rnn_cell_name(p.cell) << " b=" << p.batch << " t=" << p.steps << " in=" << p.input << " u=" << p.units
    << " act=" << activation_name(p.activation) << " ra=" << activation_name(p.recurrent_activation)
    << (p.go_backwards ? " backwards" : "") << (p.reset_after ? " reset_after" : "") << (p.has_bias ? "" : " no-bias");
  return s.str();
}

// Inputs of one problem: x, states, weights and the incoming gradients.
struct Problem {
  RnnParams p;
  Vec x, h0, c0, kernel, recurrent, bias, dy, dh_last, dc_last;

  int64_t bu() const { return p.batch * p.units; }
  bool lstm() const { return p.cell == RnnCell::kLstm; }
};

Vec random_vec(Rng& rng, int64_t n, double scale) {
  Vec v(static_cast<size_t>(n));
  for (float& x : v) x = float((rng.uniform() * 2 - 1) * scale);
  return v;
}

Problem make_problem(const RnnParams& p, uint64_t seed, double weight_scale = 0.6) {
  Rng rng(seed);
  Problem pr;
  pr.p = p;
  pr.x = random_vec(rng, p.batch * p.steps * p.input, 1.5);
  pr.h0 = random_vec(rng, p.batch * p.units, 0.8);
  pr.c0 = random_vec(rng, p.cell == RnnCell::kLstm ? p.batch * p.units : 0, 0.8);
  pr.kernel = random_vec(rng, rnn_kernel_size(p), weight_scale);
  pr.recurrent = random_vec(rng, rnn_recurrent_size(p), weight_scale);
  pr.bias = random_vec(rng, rnn_bias_size(p), 0.4);
  pr.dy = random_vec(rng, p.batch * p.steps * p.units, 1.0);
  pr.dh_last = random_vec(rng, p.batch * p.units, 1.0);
  pr.dc_last = random_vec(rng, p.cell == RnnCell::kLstm ? p.batch * p.units : 0, 1.0);
  return pr;
}

const float* ptr(const Vec& v) { return v.empty() ? nullptr : v.data(); }
float* ptr(Vec& v) { return v.empty() ? nullptr : v.data(); }

struct Outputs {
  Vec y, h_last, c_last;
  Vec dx, dh0, dc0, dkernel, drecurrent, dbias;
};

using ForwardFn = void (*)(const RnnParams&, const float*, const float*, const float*, const float*, const float*,
                           const float*, float*, float*, float*, float*);
using BackwardFn = void (*)(const RnnParams&, const float*, const float*, const float*, const float*, const float*,
                            const float*, const float*, const float*, const float*, const float*, float*, float*,
                            float*, float*, float*, float*, float*);

// The fast kernels without lent scratch (they allocate their own).
void fast_forward(const RnnParams& p, const float* x, const float* h0, const float* c0, const float* k, const float* r,
                  const float* b, float* y, float* h, float* c, float* ws) {
  rnn_forward(p, x, h0, c0, k, r, b, y, h, c, ws);
}
void fast_backward(const RnnParams& p, const float* x, const float* h0, const float* c0, const float* k, const float* r,
                   const float* b, const float* ws, const float* dy, const float* dh, const float* dc, float* dx,
                   float* dh0, float* dc0, float* dk, float* dr, float* db, float* scratch) {
  rnn_backward(p, x, h0, c0, k, r, b, ws, dy, dh, dc, dx, dh0, dc0, dk, dr, db, scratch);
}

// Runs forward, then backward with the problem's incoming gradients. Outputs
// start as NaN so that anything left unwritten fails the comparison.
Outputs run(const Problem& pr, ForwardFn fwd, BackwardFn bwd, bool backward = true) {
  const RnnParams& p = pr.p;
  const size_t bu = size_t(pr.bu());
  Outputs o;
  o.y.assign(size_t(p.batch * p.steps * p.units), NAN);
  o.h_last.assign(bu, NAN);
  o.c_last.assign(pr.lstm() ? bu : 0, NAN);
  Vec ws(size_t(rnn_workspace_floats(p)), NAN);
  fwd(p, pr.x.data(), pr.h0.data(), ptr(pr.c0), pr.kernel.data(), pr.recurrent.data(), ptr(pr.bias), o.y.data(),
      o.h_last.data(), ptr(o.c_last), ws.data());
  if (!backward) return o;
  o.dx.assign(pr.x.size(), NAN);
  o.dh0.assign(bu, NAN);
  o.dc0.assign(pr.lstm() ? bu : 0, NAN);
  o.dkernel.assign(pr.kernel.size(), NAN);
  o.drecurrent.assign(pr.recurrent.size(), NAN);
  o.dbias.assign(pr.bias.size(), NAN);
  Vec scratch(size_t(rnn_backward_scratch_floats(p)), NAN);  // contents must not matter
  bwd(p, pr.x.data(), pr.h0.data(), ptr(pr.c0), pr.kernel.data(), pr.recurrent.data(), ptr(pr.bias), ws.data(),
      pr.dy.data(), pr.dh_last.data(), ptr(pr.dc_last), o.dx.data(), o.dh0.data(), ptr(o.dc0), o.dkernel.data(),
      o.drecurrent.data(), ptr(o.dbias), scratch.data());
  return o;
}


Outputs run_fast(const Problem& pr, bool backward = true) { return run(pr, fast_forward, fast_backward, backward); }
Outputs run_ref(const Problem& pr, bool backward = true) {
  return run(pr, rnn_forward_reference, rnn_backward_reference, backward);
}

// Largest relative error seen by the comparisons below, for the log.
double g_worst = 0;
std::string g_worst_where;

void expect_close(const std::string& what, const Vec& got, const Vec& want, double tol) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double rel = rel_error(got, want);
  if (rel > g_worst) g_worst = rel, g_worst_where = what;
  EXPECT_LE(rel, tol) << what << ": max|got - want| / max|want| = " << rel;
}

void expect_outputs_close(const std::string& what, const Outputs& got, const Outputs& want, double tol,
                          bool backward = true) {
  expect_close(what + " y", got.y, want.y, tol);
  expect_close(what + " h_last", got.h_last, want.h_last, tol);
  expect_close(what + " c_last", got.c_last, want.c_last, tol);
  if (!backward) return;
  expect_close(what + " dx", got.dx, want.dx, tol);
  expect_close(what + " dh0", got.dh0, want.dh0, tol);
  expect_close(what + " dc0", got.dc0, want.dc0, tol);
  expect_close(what + " dkernel", got.dkernel, want.dkernel, tol);
  expect_close(what + " drecurrent", got.drecurrent, want.drecurrent, tol);
  expect_close(what + " dbias", got.dbias, want.dbias, tol);
}

constexpr double kFastTol = 1e-4;

struct CellOption {
  RnnCell cell;
  bool reset_after;
};
const CellOption kCells[] = {
    {RnnCell::kSimple, false}, {RnnCell::kLstm, false}, {RnnCell::kGru, false}, {RnnCell::kGru, true}};

TEST(RnnKernels, Sizes) {
  RnnParams p;
  p.input = 3, p.units = 5;
  p.cell = RnnCell::kSimple;
  EXPECT_EQ(rnn_gates(p.cell), 1);
  EXPECT_EQ(rnn_bias_size(p), 5);
  p.cell = RnnCell::kLstm;
  EXPECT_EQ(rnn_gates(p.cell), 4);
  EXPECT_EQ(rnn_kernel_size(p), 3 * 20);
  EXPECT_EQ(rnn_recurrent_size(p), 5 * 20);
  EXPECT_EQ(rnn_bias_size(p), 20);
  p.cell = RnnCell::kGru;
  EXPECT_EQ(rnn_gates(p.cell), 3);
  EXPECT_EQ(rnn_bias_size(p), 15);
  p.reset_after = true;
  EXPECT_EQ(rnn_bias_size(p), 30);
  p.has_bias = false;
  EXPECT_EQ(rnn_bias_size(p), 0);
  // TF.js defaults.
  RnnParams d;
  EXPECT_EQ(d.activation, Activation::kTanh);
  EXPECT_EQ(d.recurrent_activation, Activation::kHardSigmoid);
  EXPECT_FALSE(d.reset_after);
  EXPECT_FALSE(d.go_backwards);
  EXPECT_TRUE(d.has_bias);
  RnnCell c;
  ASSERT_TRUE(rnn_cell_from_name("GRU", &c));
  EXPECT_EQ(c, RnnCell::kGru);
  EXPECT_FALSE(rnn_cell_from_name("gru", &c));
  EXPECT_STREQ(rnn_cell_name(RnnCell::kSimple), "SimpleRNN");
}

TEST(RnnKernels, CheckParams) {
  RnnParams p;
  p.batch = 2, p.steps = 3, p.input = 4, p.units = 5;
  EXPECT_TRUE(rnn_check_params(p).ok());
  p.recurrent_activation = Activation::kSoftmax;
  EXPECT_FALSE(rnn_check_params(p).ok());
  p.cell = RnnCell::kSimple;  // SimpleRNN has no recurrent activation
  EXPECT_TRUE(rnn_check_params(p).ok());
  p.activation = Activation::kLogSoftmax;
  EXPECT_FALSE(rnn_check_params(p).ok());
  p.activation = Activation::kTanh;
  p.reset_after = true;
  EXPECT_FALSE(rnn_check_params(p).ok());
  p.cell = RnnCell::kGru;
  p.recurrent_activation = Activation::kSigmoid;
  EXPECT_TRUE(rnn_check_params(p).ok());
  p.units = 0;
  EXPECT_FALSE(rnn_check_params(p).ok());
  p.units = 5, p.steps = -1;
  EXPECT_FALSE(rnn_check_params(p).ok());
}

// The grid of the brief: odd shapes, every cell and option.
TEST(RnnKernels, FastMatchesReferenceOnOddShapes) {
  int cases = 0;
  uint64_t seed = 1;
  for (const CellOption& co : kCells)
    for (int64_t batch : {1, 3})
      for (int64_t steps : {1, 5})
        for (int64_t input : {3, 7})
          for (int64_t units : {1, 5, 17})
            for (bool backwards : {false, true})
              for (bool has_bias : {true, false})
                for (Activation ra : {Activation::kSigmoid, Activation::kHardSigmoid}) {
                  if (co.cell == RnnCell::kSimple && ra == Activation::kHardSigmoid) continue;
                  RnnParams p;
                  p.cell = co.cell, p.reset_after = co.reset_after;
                  p.batch = batch, p.steps = steps, p.input = input, p.units = units;
                  p.recurrent_activation = ra;
                  p.go_backwards = backwards, p.has_bias = has_bias;
                  ASSERT_TRUE(rnn_check_params(p).ok()) << describe(p);
                  const Problem pr = make_problem(p, seed++);
                  expect_outputs_close(describe(p), run_fast(pr), run_ref(pr), kFastTol);
                  ++cases;
                  if (HasFailure()) return;
                }
  EXPECT_EQ(cases, 4 * 2 * 2 * 2 * 3 * 2 * 2 * 2 - 2 * 2 * 2 * 3 * 2 * 2);
}

// Larger shapes: more than the gemm's few-row path, several unit tiles, long
// sequences, 1 to 4 threads, with the batch split over threads (33 samples)
// or each step's work split (9 samples).
TEST(RnnKernels, FastMatchesReferenceMultithreaded) {
  const int original = ThreadPool::global().num_threads();
  uint64_t seed = 100;
  for (int threads : {1, 2, 4}) {
    ThreadPool::global().resize(threads);
    for (int64_t batch : {9, 33}) {
      for (const CellOption& co : kCells) {
        RnnParams p;
        p.cell = co.cell, p.reset_after = co.reset_after;
        p.batch = batch, p.steps = 12, p.input = 13, p.units = 70;
        p.recurrent_activation = Activation::kSigmoid;
        p.go_backwards = threads != 2;
        const Problem pr = make_problem(p, seed++, 0.25);
        expect_outputs_close(describe(p) + " threads=" + std::to_string(threads), run_fast(pr), run_ref(pr),
                             kFastTol);
      }
    }
  }
  ThreadPool::global().resize(original);
}

// Every elementwise activation, as the activation and as the recurrent one
// (gelu, swish and mish make the forward keep pre-activations).
TEST(RnnKernels, EveryActivationFastMatchesReference) {
  uint64_t seed = 1000;
  for (int ai = 0; ai < kNumActivations; ++ai) {
    const Activation a = Activation(ai);
    if (activation_is_rowwise(a)) continue;
    for (const CellOption& co : kCells) {
      for (int role = 0; role < 2; ++role) {
        if (role == 1 && co.cell == RnnCell::kSimple) continue;
        RnnParams p;
        p.cell = co.cell, p.reset_after = co.reset_after;
        p.batch = 3, p.steps = 4, p.input = 5, p.units = 6;
        p.go_backwards = role == 1;
        if (role == 0) {
          p.activation = a;
          p.recurrent_activation = Activation::kSigmoid;
        } else {
          p.recurrent_activation = a;
        }
        // Unbounded activations grow the state (an LSTM's exp(exp(...)) overflows): small weights.
        const Problem pr = make_problem(p, seed++, a == Activation::kExponential ? 0.1 : 0.3);
        expect_outputs_close(describe(p), run_fast(pr), run_ref(pr), kFastTol);
      }
    }
  }
}

// Forward without a workspace (inference) gives the same outputs; null
// incoming gradients mean zeros; null gradient outputs are skipped.
TEST(RnnKernels, NullBuffers) {
  uint64_t seed = 2000;
  for (const CellOption& co : kCells) {
    RnnParams p;
    p.cell = co.cell, p.reset_after = co.reset_after;
    p.batch = 2, p.steps = 4, p.input = 3, p.units = 5;
    p.go_backwards = true;
    Problem pr = make_problem(p, seed++);
    const bool lstm = pr.lstm();
    const Outputs full = run_fast(pr, false);
    Vec y(full.y.size(), NAN), h(full.h_last.size(), NAN), c(full.c_last.size(), NAN);
    rnn_forward(p, pr.x.data(), pr.h0.data(), ptr(pr.c0), pr.kernel.data(), pr.recurrent.data(), ptr(pr.bias),
                y.data(), h.data(), ptr(c), nullptr);
    EXPECT_EQ(y, full.y) << describe(p);
    EXPECT_EQ(h, full.h_last) << describe(p);
    EXPECT_EQ(c, full.c_last) << describe(p);
    // h_last is the last processed step of y.
    for (int64_t b = 0; b < p.batch; ++b)
      for (int64_t j = 0; j < p.units; ++j)
        EXPECT_EQ(h[size_t(b * p.units + j)], y[size_t((b * p.steps + p.steps - 1) * p.units + j)]);

    // Null h0 / c0 equal zeros; null dh_last / dc_last equal zeros.
    Problem zero = pr;
    std::fill(zero.h0.begin(), zero.h0.end(), 0.0f);
    std::fill(zero.c0.begin(), zero.c0.end(), 0.0f);
    std::fill(zero.dh_last.begin(), zero.dh_last.end(), 0.0f);
    std::fill(zero.dc_last.begin(), zero.dc_last.end(), 0.0f);
    const Outputs want = run_fast(zero);
    Vec ws(size_t(rnn_workspace_floats(p)));
    rnn_forward(p, pr.x.data(), nullptr, nullptr, pr.kernel.data(), pr.recurrent.data(), ptr(pr.bias), y.data(),
                nullptr, nullptr, ws.data());
    EXPECT_EQ(y, want.y) << describe(p);
    Vec dx(pr.x.size(), NAN), dk(pr.kernel.size(), NAN);
    rnn_backward(p, pr.x.data(), nullptr, nullptr, pr.kernel.data(), pr.recurrent.data(), ptr(pr.bias), ws.data(),
                 pr.dy.data(), nullptr, nullptr, dx.data(), nullptr, nullptr, dk.data(), nullptr, nullptr);
    EXPECT_EQ(dx, want.dx) << describe(p);
    EXPECT_EQ(dk, want.dkernel) << describe(p);
    (void)lstm;

    // Null dy_seq: only the final-state gradients flow.
    Problem last_only = pr;
    std::fill(last_only.dy.begin(), last_only.dy.end(), 0.0f);
    const Outputs want2 = run_ref(last_only);
    Outputs got2 = run_fast(last_only);
    Vec dh0(pr.h0.size(), NAN);
    Vec ws2(size_t(rnn_workspace_floats(p)));
    rnn_forward(p, pr.x.data(), pr.h0.data(), ptr(pr.c0), pr.kernel.data(), pr.recurrent.data(), ptr(pr.bias),
                y.data(), nullptr, nullptr, ws2.data());
    rnn_backward(p, pr.x.data(), pr.h0.data(), ptr(pr.c0), pr.kernel.data(), pr.recurrent.data(), ptr(pr.bias),
                 ws2.data(), nullptr, pr.dh_last.data(), ptr(pr.dc_last), nullptr, dh0.data(), nullptr, nullptr,
                 nullptr, nullptr);
    expect_close(describe(p) + " dh0 without dy", dh0, want2.dh0, kFastTol);
    expect_outputs_close(describe(p) + " zero dy", got2, want2, kFastTol);
  }
}

TEST(RnnKernels, ZeroStepsPassStatesThrough) {
  for (const CellOption& co : kCells) {
    RnnParams p;
    p.cell = co.cell, p.reset_after = co.reset_after;
    p.batch = 2, p.steps = 0, p.input = 3, p.units = 4;
    const Problem pr = make_problem(p, 7);
    for (auto fns : {std::make_pair(ForwardFn(fast_forward), BackwardFn(fast_backward)),
                     std::make_pair(ForwardFn(rnn_forward_reference), BackwardFn(rnn_backward_reference))}) {
      const Outputs o = run(pr, fns.first, fns.second);
      EXPECT_EQ(o.h_last, pr.h0);
      EXPECT_EQ(o.c_last, pr.c0);
      EXPECT_EQ(o.dh0, pr.dh_last);
      EXPECT_EQ(o.dc0, pr.dc_last);
      for (float v : o.dkernel) EXPECT_EQ(v, 0.0f);
      for (float v : o.drecurrent) EXPECT_EQ(v, 0.0f);
      for (float v : o.dbias) EXPECT_EQ(v, 0.0f);
    }
  }
}

// The reference backward against central differences of
// L = sum(y * dy) + sum(h_last * dh_last) + sum(c_last * dc_last).
double loss_of(const Problem& pr) {
  const Outputs o = run_ref(pr, false);
  double l = 0;
  for (size_t i = 0; i < o.y.size(); ++i) l += double(o.y[i]) * pr.dy[i];
  for (size_t i = 0; i < o.h_last.size(); ++i) l += double(o.h_last[i]) * pr.dh_last[i];
  for (size_t i = 0; i < o.c_last.size(); ++i) l += double(o.c_last[i]) * pr.dc_last[i];
  return l;
}

// Every gradient in `an` (the reference backward of *pr) against central
// finite differences of loss_of; returns the worst relative error.
double check_reference_gradients(Problem* pr, const Outputs& an, const std::string& what) {
  const double eps = 1e-2;
  double worst = 0;
  auto check = [&](const char* name, Vec* param, const Vec& grad) {
    Vec fd(param->size());
    for (size_t i = 0; i < param->size(); ++i) {
      const float keep = (*param)[i];
      (*param)[i] = keep + float(eps);
      const double lp = loss_of(*pr);
      (*param)[i] = keep - float(eps);
      const double lm = loss_of(*pr);
      (*param)[i] = keep;
      fd[i] = float((lp - lm) / (2 * eps));
    }
    const double rel = rel_error(grad, fd);
    worst = std::max(worst, rel);
    EXPECT_LE(rel, 2e-3) << what << " " << name;
  };
  check("x", &pr->x, an.dx);
  check("h0", &pr->h0, an.dh0);
  check("c0", &pr->c0, an.dc0);
  check("kernel", &pr->kernel, an.dkernel);
  check("recurrent", &pr->recurrent, an.drecurrent);
  check("bias", &pr->bias, an.dbias);
  return worst;
}

TEST(RnnKernels, ReferenceBackwardMatchesFiniteDifferences) {
  struct Acts {
    Activation act, ra;
  };
  const Acts acts[] = {{Activation::kTanh, Activation::kSigmoid},
                       {Activation::kTanh, Activation::kHardSigmoid},
                       {Activation::kSwish, Activation::kGelu},
                       {Activation::kSoftplus, Activation::kTanh}};
  uint64_t seed = 3000;
  double worst = 0;
  for (const CellOption& co : kCells) {
    for (const Acts& a : acts) {
      for (bool backwards : {false, true}) {
        if (co.cell == RnnCell::kSimple && a.ra != Activation::kSigmoid) continue;
        RnnParams p;
        p.cell = co.cell, p.reset_after = co.reset_after;
        p.batch = 2, p.steps = 3, p.input = 3, p.units = 4;
        p.activation = a.act, p.recurrent_activation = a.ra;
        p.go_backwards = backwards;
        Problem pr = make_problem(p, seed++, 0.5);
        worst = std::max(worst, check_reference_gradients(&pr, run_ref(pr), describe(p)));
      }
    }
  }
  std::printf("[ RnnKernels ] worst finite-difference relative error %.3g\n", worst);
}

// TF.js's masking (RnnParams::step_mask): a masked step keeps the state and
// repeats the previous output; fast matches the reference, the reference's
// gradients match finite differences, and masked inputs get no gradient.
TEST(RnnKernels, MaskedStepsKeepTheState) {
  // Samples: masked at the start (pre-padding), at the end (post-padding),
  // in the middle, everywhere.
  const Vec mask = {0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0};
  uint64_t seed = 4000;
  double worst_fd = 0;
  for (const CellOption& co : kCells)
    for (bool backwards : {false, true}) {
      RnnParams p;
      p.cell = co.cell, p.reset_after = co.reset_after;
      p.batch = 4, p.steps = 5, p.input = 3, p.units = 6;
      p.recurrent_activation = Activation::kSigmoid;
      p.go_backwards = backwards;
      p.step_mask = mask.data();
      Problem pr = make_problem(p, seed++, 0.5);
      const Outputs fast = run_fast(pr), ref = run_ref(pr);
      expect_outputs_close(describe(p) + " masked", fast, ref, kFastTol);
      const int64_t T = p.steps, U = p.units, I = p.input;
      for (int64_t b = 0; b < p.batch; ++b)
        for (int64_t k = 0; k < T; ++k) {
          const int64_t t = backwards ? T - 1 - k : k;
          if (mask[size_t(b * T + t)] != 0) continue;
          for (int64_t j = 0; j < U; ++j) {
            const float previous = k == 0 ? pr.h0[size_t(b * U + j)] : fast.y[size_t((b * T + k - 1) * U + j)];
            ASSERT_EQ(fast.y[size_t((b * T + k) * U + j)], previous) << describe(p) << " sample " << b << " step " << k;
          }
          for (int64_t i = 0; i < I; ++i) ASSERT_EQ(fast.dx[size_t((b * T + t) * I + i)], 0.0f);
        }
      // The all-masked sample ends where it started.
      for (int64_t j = 0; j < U; ++j) ASSERT_EQ(fast.h_last[size_t(3 * U + j)], pr.h0[size_t(3 * U + j)]);
      worst_fd = std::max(worst_fd, check_reference_gradients(&pr, ref, describe(p) + " masked"));
      if (HasFailure()) return;
    }
  std::printf("[ RnnKernels ] masked steps: worst finite-difference relative error %.3g\n", worst_fd);
}

// ---- PyTorch fixtures ----

struct TorchCase {
  std::string name;
  RnnParams p;
  std::map<std::string, Vec> t;
  const Vec& get(const std::string& key) const {
    auto it = t.find(key);
    if (it == t.end()) throw std::runtime_error("rnn fixture " + name + " lacks " + key);
    return it->second;
  }
};

std::vector<TorchCase> load_torch_cases() {
  const std::string path = std::string(KILN_FIXTURE_DIR) + "/rnn/rnn_torch.txt";
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path + " (run scripts/make_rnn_fixtures.py)");
  std::vector<TorchCase> cases;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string head;
    in >> head;
    if (head == "case") {
      TorchCase c;
      std::string cell, act, ra;
      int back = 0, reset_after = 0, bias = 0;
      in >> c.name >> cell >> c.p.batch >> c.p.steps >> c.p.input >> c.p.units >> act >> ra >> back >> reset_after >>
          bias;
      if (!in) throw std::runtime_error("rnn fixture: bad case line: " + line);
      if (!rnn_cell_from_name(cell.c_str(), &c.p.cell)) throw std::runtime_error("rnn fixture: cell " + cell);
      if (!activation_from_name(act, &c.p.activation) || !activation_from_name(ra, &c.p.recurrent_activation))
        throw std::runtime_error("rnn fixture: activation in " + line);
      c.p.go_backwards = back != 0, c.p.reset_after = reset_after != 0, c.p.has_bias = bias != 0;
      cases.push_back(c);
      continue;
    }
    if (cases.empty() || head.compare(0, cases.back().name.size() + 1, cases.back().name + ".") != 0)
      throw std::runtime_error("rnn fixture: record outside its case: " + head);
    size_t count = 0;
    in >> count;
    Vec v(count);
    for (float& x : v) {
      std::string s;
      in >> s;
      x = std::strtof(s.c_str(), nullptr);
    }
    if (!in) throw std::runtime_error("rnn fixture: short record " + head);
    cases.back().t[head.substr(cases.back().name.size() + 1)] = std::move(v);
  }
  return cases;
}

TEST(RnnKernels, MatchesTorch) {
  const std::vector<TorchCase> cases = load_torch_cases();
  ASSERT_GE(cases.size(), 10u);
  g_worst = 0;
  bool seen[kNumRnnCells] = {}, seen_backwards = false, seen_hard = false, seen_ra[2] = {}, seen_nobias = false;
  for (const TorchCase& tc : cases) {
    const RnnParams& p = tc.p;
    ASSERT_TRUE(rnn_check_params(p).ok()) << tc.name;
    seen[int(p.cell)] = true;
    seen_backwards |= p.go_backwards;
    seen_hard |= p.recurrent_activation == Activation::kHardSigmoid;
    if (p.cell == RnnCell::kGru) seen_ra[p.reset_after] = true;
    seen_nobias |= !p.has_bias;
    Problem pr;
    pr.p = p;
    pr.x = tc.get("x"), pr.h0 = tc.get("h0"), pr.kernel = tc.get("kernel"), pr.recurrent = tc.get("recurrent");
    pr.bias = tc.get("bias"), pr.dy = tc.get("dy"), pr.dh_last = tc.get("dh_last");
    if (pr.lstm()) pr.c0 = tc.get("c0"), pr.dc_last = tc.get("dc_last");
    ASSERT_EQ(pr.x.size(), size_t(p.batch * p.steps * p.input)) << tc.name;
    ASSERT_EQ(pr.kernel.size(), size_t(rnn_kernel_size(p))) << tc.name;
    ASSERT_EQ(pr.recurrent.size(), size_t(rnn_recurrent_size(p))) << tc.name;
    ASSERT_EQ(pr.bias.size(), size_t(rnn_bias_size(p))) << tc.name;
    Outputs want;
    want.y = tc.get("y"), want.h_last = tc.get("h_last"), want.dx = tc.get("dx"), want.dh0 = tc.get("dh0");
    want.dkernel = tc.get("dkernel"), want.drecurrent = tc.get("drecurrent"), want.dbias = tc.get("dbias");
    if (pr.lstm()) want.c_last = tc.get("c_last"), want.dc0 = tc.get("dc0");
    expect_outputs_close(tc.name + " fast", run_fast(pr), want, 1e-4);
    expect_outputs_close(tc.name + " reference", run_ref(pr), want, 1e-4);
  }
  std::printf("[ RnnKernels ] %zu torch cases, worst relative error %.3g (%s)\n", cases.size(), g_worst,
              g_worst_where.c_str());
  for (int c = 0; c < kNumRnnCells; ++c) EXPECT_TRUE(seen[c]) << rnn_cell_name(RnnCell(c));
  EXPECT_TRUE(seen_backwards);
  EXPECT_TRUE(seen_hard);
  EXPECT_TRUE(seen_ra[0] && seen_ra[1]);
  EXPECT_TRUE(seen_nobias);
}

// Not a check: prints the time of a forward + backward (MNIST-row sized),
// single-threaded and with the machine's threads (up to 8).
void time_shape(RnnCell cell, int64_t batch, int64_t steps, int64_t input, int64_t units) {
  RnnParams p;
  p.cell = cell, p.batch = batch, p.steps = steps, p.input = input, p.units = units;
  p.recurrent_activation = Activation::kSigmoid;
  const Problem pr = make_problem(p, 5, 0.1);
  Vec y(size_t(batch * steps * units)), h(size_t(pr.bu())), c(size_t(pr.bu())), ws(size_t(rnn_workspace_floats(p)));
  Vec dx(pr.x.size()), dh0(h.size()), dc0(h.size()), dk(pr.kernel.size()), dr(pr.recurrent.size()),
      db(pr.bias.size()), scratch(size_t(rnn_backward_scratch_floats(p)));
  auto fwd = [&] {
    rnn_forward(p, pr.x.data(), pr.h0.data(), ptr(pr.c0), pr.kernel.data(), pr.recurrent.data(), pr.bias.data(),
                y.data(), h.data(), c.data(), ws.data());
  };
  auto bwd = [&] {
    rnn_backward(p, pr.x.data(), pr.h0.data(), ptr(pr.c0), pr.kernel.data(), pr.recurrent.data(), pr.bias.data(),
                 ws.data(), pr.dy.data(), nullptr, nullptr, dx.data(), dh0.data(), dc0.data(), dk.data(), dr.data(),
                 db.data(), scratch.data());
  };
  fwd(), bwd();  // warm-up
  const int reps = 10;
  double f_ms = 1e30, fb_ms = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fwd();
    auto t1 = std::chrono::steady_clock::now();
    bwd();
    auto t2 = std::chrono::steady_clock::now();
    f_ms = std::min(f_ms, std::chrono::duration<double, std::milli>(t1 - t0).count());
    fb_ms = std::min(fb_ms, std::chrono::duration<double, std::milli>(t2 - t0).count());
  }
  std::printf("[ RnnKernels ] %s batch %lld steps %lld input %lld units %lld, %d thread(s): forward %.2f ms, "
              "forward+backward %.2f ms (best of %d)\n",
              rnn_cell_name(cell), (long long)batch, (long long)steps, (long long)input, (long long)units,
              ThreadPool::global().num_threads(), f_ms, fb_ms, reps);
}

TEST(RnnKernels, Timing) {
  const int original = ThreadPool::global().num_threads();
  const int hw = std::min(8, int(std::max(1u, std::thread::hardware_concurrency())));
  for (int threads : {1, hw}) {
    ThreadPool::global().resize(threads);
    for (RnnCell cell : {RnnCell::kLstm, RnnCell::kGru, RnnCell::kSimple}) time_shape(cell, 32, 28, 28, 128);
    if (hw == 1) break;
  }
  ThreadPool::global().resize(original);
  std::printf("[ RnnKernels ] worst relative error of all comparisons so far %.3g (%s)\n", g_worst,
              g_worst_where.c_str());
}

}  // namespace
}  // namespace kiln
