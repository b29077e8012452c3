// Fast recurrent kernels: see rnn.h for the semantics.
//
// Every saved per-step array lives in the workspace as [batch * steps, width]
// with row b * steps + t, where t is the INPUT time index of the step (the
// k-th processed step reads x[:, t], t = k, or steps - 1 - k with
// go_backwards). The rows of one step are therefore strided, which gemm()
// takes through lda / ldc, and the arrays line up row for row with x and dx,
// so the input projection, dkernel, drecurrent and dx are each one gemm()
// over all steps, whatever the direction.
//
// Workspace arrays, in order (those not needed are absent):
//   A      [BT, G*U] gate values after their activations (GRU: z, r, h~)
//   Z      [BT, G*U] gate pre-activations, only when an activation's
//                    gradient needs its input (gelu, swish, mish)
//   Hprev  [BT, U]   the state h each step started from
//   LSTM:  Cprev [BT, U] c each step started from; AC [BT, U] act(c');
//          C [BT, U] c' itself, only when act's gradient needs its input
//   GRU, reset_after false: RH [BT, U] r * h_prev (the candidate's
//          recurrent operand)
//   GRU, reset_after true: INNER [BT, U] h_prev Uh + bh_rec
#include "cpu/rnn.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "core/enum_names.h"
#include "core/thread_pool.h"
#include "cpu/activation.h"
#include "cpu/gemm.h"

namespace kiln {

const char* rnn_cell_name(RnnCell cell) {
  switch (cell) {
    case RnnCell::kSimple: return "SimpleRNN";
    case RnnCell::kLstm: return "LSTM";
    case RnnCell::kGru: return "GRU";
  }
  return "?";
}

bool rnn_cell_from_name(const char* name, RnnCell* out) {
  return enum_from_name(std::string(name ? name : ""), kNumRnnCells, rnn_cell_name, out);
}

int rnn_gates(RnnCell cell) {
  switch (cell) {
    case RnnCell::kSimple: return 1;
    case RnnCell::kLstm: return 4;
    case RnnCell::kGru: return 3;
  }
  return 1;
}

int64_t rnn_kernel_size(const RnnParams& p) { return p.input * rnn_gates(p.cell) * p.units; }
int64_t rnn_recurrent_size(const RnnParams& p) { return p.units * rnn_gates(p.cell) * p.units; }

int64_t rnn_bias_size(const RnnParams& p) {
  if (!p.has_bias) return 0;
  const int64_t n = rnn_gates(p.cell) * p.units;
  return p.cell == RnnCell::kGru && p.reset_after ? 2 * n : n;
}

Status rnn_check_params(const RnnParams& p) {
  if (p.cell != RnnCell::kSimple && p.cell != RnnCell::kLstm && p.cell != RnnCell::kGru)
    return Status::error("rnn: unknown cell type " + std::to_string(int(p.cell)));
  if (p.batch < 0 || p.steps < 0) return Status::error("rnn: negative batch or steps");
  if (p.units <= 0) return Status::error("rnn: units must be positive, got " + std::to_string(p.units));
  if (p.input <= 0) return Status::error("rnn: input size must be positive, got " + std::to_string(p.input));
  if (int(p.activation) >= kNumActivations || activation_is_rowwise(p.activation))
    return Status::error(std::string("rnn: activation must be elementwise, not ") + activation_name(p.activation));
  if (p.cell != RnnCell::kSimple &&
      (int(p.recurrent_activation) >= kNumActivations || activation_is_rowwise(p.recurrent_activation)))
    return Status::error(std::string("rnn: recurrent activation must be elementwise, not ") +
                         activation_name(p.recurrent_activation));
  if (p.reset_after && p.cell != RnnCell::kGru) return Status::error("rnn: reset_after is a GRU option");
  return Status();
}

namespace {

// Units per pointwise task: small enough for the per-task scratch on the
// stack, large enough for the activation loops to run long.
constexpr int64_t kTile = 64;
// Gate elements a pointwise task should cover before it is worth a thread.
constexpr int64_t kMinWork = 4096;
// Batch splitting (split_batch): samples per thread at least (the gemm()
// packs the recurrent kernel per call, so a block needs rows to share it),
// and at most this many recurrent-kernel floats (1 MiB: every thread reads
// all of it each step).
constexpr int64_t kMinSplitRows = 8;
constexpr int64_t kMaxSplitWeights = 256 * 1024;

// Sigmoid and tanh dominate the gate loops, and libm's expf / tanhf do not
// vectorize. These do (for SSE, AVX and wasm SIMD128 alike: selects are done
// on integer bits, since GCC will not if-convert float compares under
// -ftrapping-math) and stay within 2 float ulps of libm: Cephes's expf
// polynomial with the exponent put in by bit arithmetic, Cephes's tanhf
// polynomial below |x| = 0.625. NaN stays NaN.
constexpr int32_t kAbsMask = 0x7fffffff, kInfBits = 0x7f800000;
inline float bits_to_float(int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof(f));
  return f;
}
inline int32_t float_to_bits(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof(i));
  return i;
}
// exp(x) for |x| <= 86 (2^n stays a normal float).
inline float exp_core(float x) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = x * 1.44269504088896341f + kMagic;
  const float n = t - kMagic;
  const int32_t ni = float_to_bits(t) - float_to_bits(kMagic);
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;  // x - n ln 2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return bits_to_float(float_to_bits(p) + ni * (1 << 23));
}
// x with |x| clamped to limit (> 0); NaN turns into +-limit (see keep_nan).
inline float clamp_abs(float x, float limit) {
  const int32_t b = float_to_bits(x), mag = b & kAbsMask, lim = float_to_bits(limit);
  return bits_to_float((b & ~kAbsMask) | (mag < lim ? mag : lim));
}
// out, or in where in is NaN.
inline float keep_nan(float in, float out) {
  const int32_t b = float_to_bits(in);
  const int32_t nan = -int32_t((b & kAbsMask) > kInfBits);
  return bits_to_float((b & nan) | (float_to_bits(out) & ~nan));
}

void sigmoid_fast(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = keep_nan(v, 1.0f / (1.0f + exp_core(clamp_abs(-v, 86.0f))));
  }
}

void tanh_fast(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i], a = std::fabs(v);
    const float big = 1.0f - 2.0f / (exp_core(clamp_abs(2.0f * a, 86.0f)) + 1.0f);
    const float z = v * v;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const float small = p * z * a + a;
    const int32_t lt = -int32_t(float_to_bits(a) < float_to_bits(0.625f));
    const float mag = bits_to_float((float_to_bits(small) & lt) | (float_to_bits(big) & ~lt));
    x[i] = keep_nan(v, std::copysign(mag, v));
  }
}

// activation_forward, with the fast sigmoid and tanh.
void gate_forward(Activation act, float* x, int64_t n) {
  if (act == Activation::kSigmoid) return sigmoid_fast(x, n);
  if (act == Activation::kTanh) return tanh_fast(x, n);
  activation_forward(act, x, n);
}

struct Layout {
  int g = 1;
  int64_t b = 0, t = 0, in = 0, u = 0, gu = 0, bt = 0;
  bool lstm = false, gru = false, reset_after = false;
  bool need_z = false, need_c = false;
  bool act_in = false, ra_in = false;  // gradient from the input (pre-activation)
  int64_t a = 0, z = -1, hprev = 0, cprev = -1, ac = -1, c = -1, rh = -1, inner = -1, total = 0;
};

Layout make_layout(const RnnParams& p) {
  Layout l;
  l.g = rnn_gates(p.cell);
  l.b = p.batch, l.t = p.steps, l.in = p.input, l.u = p.units;
  l.gu = l.g * l.u;
  l.bt = l.b * l.t;
  l.lstm = p.cell == RnnCell::kLstm;
  l.gru = p.cell == RnnCell::kGru;
  l.reset_after = l.gru && p.reset_after;
  l.act_in = activation_grad_needs_input(p.activation);
  l.ra_in = p.cell != RnnCell::kSimple && activation_grad_needs_input(p.recurrent_activation);
  l.need_z = l.act_in || l.ra_in;
  l.need_c = l.lstm && l.act_in;
  int64_t off = 0;
  auto take = [&](int64_t width) {
    const int64_t at = off;
    off += l.bt * width;
    return at;
  };
  l.a = take(l.gu);
  if (l.need_z) l.z = take(l.gu);
  l.hprev = take(l.u);
  if (l.lstm) {
    l.cprev = take(l.u);
    l.ac = take(l.u);
    if (l.need_c) l.c = take(l.u);
  }
  if (l.gru && !l.reset_after) l.rh = take(l.u);
  if (l.reset_after) l.inner = take(l.u);
  l.total = off;
  return l;
}

// Input time index of the k-th processed step (its rows are b * steps + t).
inline int64_t time_of(const RnnParams& p, int64_t k) { return p.go_backwards ? p.steps - 1 - k : k; }

// Runs f(b, j0, j1) over every (sample in [b0, b1), unit tile) in parallel
// (serially when called from inside a pool task).
template <typename F>
void for_tiles(const Layout& l, int64_t b0, int64_t b1, const F& f) {
  const int64_t per_row = (l.u + kTile - 1) / kTile;
  const int64_t width = std::min(l.u, kTile);
  const int64_t min_chunk = std::max<int64_t>(1, kMinWork / (l.g * width));
  parallel_range((b1 - b0) * per_row, min_chunk, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = b0 + i / per_row, j0 = (i % per_row) * kTile;
      f(b, j0, std::min(l.u, j0 + kTile));
    }
  });
}

// Runs the recurrence rec(b0, b1) over the batch. Each step is a gemm() and
// a pointwise pass, each one a parallel region: with enough samples per
// thread and a recurrent kernel that fits a core's cache, whole sample
// blocks go to the threads instead (one region for the whole sequence; the
// gemm() and pointwise calls inside a task run serially). Otherwise one
// block, parallel inside every step.
template <typename F>
void split_batch(const Layout& l, const F& rec) {
  ThreadPool& pool = ThreadPool::global();
  const int64_t threads = pool.num_threads();
  const bool split = threads > 1 && l.b >= kMinSplitRows * threads && l.u * l.gu <= kMaxSplitWeights;
  if (!split) return rec(0, l.b);
  pool.parallel_for(int(threads), [&](int c) { rec(l.b * c / threads, l.b * (c + 1) / threads); });
}

// C = op(A) op(B) (+ C), row-major with explicit leading dimensions.
void mm(const Scratch& scratch, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
        const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate = false, const float* bias = nullptr) {
  GemmArgs g;
  g.scratch = scratch;
  g.trans_a = ta, g.trans_b = tb;
  g.m = m, g.n = n, g.k = k;
  g.a = a, g.lda = lda, g.b = b, g.ldb = ldb, g.c = c, g.ldc = ldc;
  g.accumulate = accumulate;
  g.bias = bias;
  gemm(g);
}

void copy_or_zero(float* dst, const float* src, int64_t n) {
  if (!dst) return;
  if (src)
    std::memcpy(dst, src, size_t(n) * sizeof(float));
  else
    std::memset(dst, 0, size_t(n) * sizeof(float));
}

}  // namespace

int64_t rnn_workspace_floats(const RnnParams& p) { return make_layout(p).total; }

namespace {
// rnn_backward's scratch: offsets of its arrays.
struct BackwardScratch {
  int64_t dg = 0, dxh = 0, dh = 0, dc = 0, drh = 0, ut = 0, total = 0;
};
BackwardScratch make_scratch(const Layout& l) {
  BackwardScratch s;
  int64_t off = 0;
  auto take = [&](int64_t n) {
    const int64_t at = off;
    off += n;
    return at;
  };
  s.dg = take(l.bt * l.gu);                   // gate gradients, rows as in the workspace
  s.dxh = take(l.reset_after ? l.bt * l.u : 0);
  s.dh = take(l.b * l.u);                     // d h of the step being processed
  s.dc = take(l.lstm ? l.b * l.u : 0);
  s.drh = take(l.rh >= 0 ? l.b * l.u : 0);    // d(r * h_prev) of one step
  s.ut = take(l.gu * l.u);                    // recurrent^T
  s.total = off;
  return s;
}
}  // namespace

int64_t rnn_backward_scratch_floats(const RnnParams& p) { return make_scratch(make_layout(p)).total; }

int64_t rnn_gemm_scratch_floats(const RnnParams& p, int threads) {
  const Layout l = make_layout(p);
  // Every product's largest form (gemm() scratch grows with m, n and k):
  // input projection, per-step recurrence, per-step state gradient, dkernel,
  // drecurrent, dx.
  const int64_t shapes[][5] = {{l.bt, l.gu, l.in, 0, 0}, {l.b, l.gu, l.u, 0, 0},    {l.b, l.u, l.gu, 0, 0},
                               {l.in, l.gu, l.bt, 1, 0}, {l.u, l.gu, l.bt, 1, 0}, {l.bt, l.in, l.gu, 0, 1}};
  int64_t most = 0;
  for (const auto& s : shapes) {
    GemmArgs g;
    g.m = s[0], g.n = s[1], g.k = s[2], g.trans_a = s[3] != 0, g.trans_b = s[4] != 0;
    most = std::max(most, gemm_scratch_floats(g, threads));
  }
  return most;
}

void rnn_forward(const RnnParams& p, const float* x, const float* h0, const float* c0, const float* kernel,
                 const float* recurrent, const float* bias, float* y_seq, float* h_last, float* c_last,
                 float* workspace, const Scratch& gs) {
  const Layout l = make_layout(p);
  const int64_t B = l.b, T = l.t, U = l.u, GU = l.gu;
  if (B == 0) return;
  if (T == 0) {
    copy_or_zero(h_last, h0, B * U);
    if (l.lstm) copy_or_zero(c_last, c0, B * U);
    return;
  }
  std::unique_ptr<float[]> own;
  if (!workspace) {
    own.reset(new float[size_t(l.total)]);  // uninitialized: every float is written before it is read
    workspace = own.get();
  }
  float* A = workspace + l.a;
  float* Z = l.need_z ? workspace + l.z : nullptr;
  float* XP = l.need_z ? Z : A;  // input projection, then pre-activations in place
  float* Hp = workspace + l.hprev;
  float* Cp = l.lstm ? workspace + l.cprev : nullptr;
  float* AC = l.lstm ? workspace + l.ac : nullptr;
  float* Cs = l.need_c ? workspace + l.c : nullptr;
  float* RH = l.rh >= 0 ? workspace + l.rh : nullptr;
  float* INNER = l.inner >= 0 ? workspace + l.inner : nullptr;
  const Activation act = p.activation, ra = p.recurrent_activation;

  // Input projection of every step at once. With reset_after, the recurrent
  // bias of z and r joins the input bias; h~'s stays apart (it is gated by r).
  const float* xbias = p.has_bias ? bias : nullptr;
  const float* rbias_h = nullptr;
  std::vector<float> merged;
  if (p.has_bias && l.reset_after) {
    merged.assign(bias, bias + GU);
    for (int64_t j = 0; j < 2 * U; ++j) merged[size_t(j)] += bias[GU + j];
    xbias = merged.data();
    rbias_h = bias + GU + 2 * U;
  }
  mm(gs, false, false, l.bt, GU, l.in, x, l.in, kernel, GU, XP, GU, false, xbias);

  // The states the first step starts from.
  const int64_t t0 = time_of(p, 0);
  for (int64_t b = 0; b < B; ++b) {
    copy_or_zero(Hp + (b * T + t0) * U, h0 ? h0 + b * U : nullptr, U);
    if (l.lstm) copy_or_zero(Cp + (b * T + t0) * U, c0 ? c0 + b * U : nullptr, U);
  }
  std::vector<float> R(size_t(B * GU));  // this step's recurrent product
  std::vector<float> c_end(l.lstm ? size_t(B * U) : 0);
  const int64_t ld_u = T * U;

  // The recurrence for samples [b0, b1).
  auto recur = [&](int64_t b0, int64_t b1) {
    const int64_t nb = b1 - b0;
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = time_of(p, k);
      const bool last = k + 1 == T;
      const int64_t tn = last ? 0 : time_of(p, k + 1);
      const float* hp_t = Hp + (b0 * T + t) * U;  // rows strided by ld_u
      // Where this step's h (and c) go: the next step's start rows.
      auto h_next = [&](int64_t b) -> float* { return last ? nullptr : Hp + (b * T + tn) * U; };
      // Copies the pre-activations of gate blocks [g0, g1) to A when they are kept in Z.
      auto to_a = [&](int64_t r, int g0, int g1, int64_t j0, int64_t n) {
        if (!l.need_z) return;
        for (int g = g0; g < g1; ++g)
          std::memcpy(A + r * GU + g * U + j0, Z + r * GU + g * U + j0, size_t(n) * sizeof(float));
      };
      // Adds sample b's recurrent product to the pre-activations of gate blocks [g0, g1).
      auto add_recurrent = [&](int64_t b, int64_t r, int g0, int g1, int64_t j0, int64_t j1) {
        float* xp = XP + r * GU;
        const float* rr = R.data() + b * GU;
        for (int g = g0; g < g1; ++g)
          for (int64_t j = j0 + g * U; j < j1 + g * U; ++j) xp[j] += rr[j];
      };
      // GRU output h' = z * h + (1 - z) * h~, also the next step's state.
      auto gru_mix = [&](int64_t b, int64_t r, int64_t j0, int64_t j1) {
        const float *a = A + r * GU, *z = a, *hh = a + 2 * U, *hp = Hp + r * U;
        float* y = y_seq + (b * T + k) * U;
        for (int64_t j = j0; j < j1; ++j) y[j] = z[j] * hp[j] + (1.0f - z[j]) * hh[j];
        if (float* hn = h_next(b)) std::memcpy(hn + j0, y + j0, size_t(j1 - j0) * sizeof(float));
      };

      if (p.cell == RnnCell::kSimple) {
        mm(gs, false, false, nb, U, U, hp_t, ld_u, recurrent, GU, R.data() + b0 * GU, GU);
        for_tiles(l, b0, b1, [&](int64_t b, int64_t j0, int64_t j1) {
          const int64_t r = b * T + t, n = j1 - j0;
          add_recurrent(b, r, 0, 1, j0, j1);
          to_a(r, 0, 1, j0, n);
          float* a = A + r * GU;
          gate_forward(act, a + j0, n);
          std::memcpy(y_seq + (b * T + k) * U + j0, a + j0, size_t(n) * sizeof(float));
          if (float* hn = h_next(b)) std::memcpy(hn + j0, a + j0, size_t(n) * sizeof(float));
        });
      } else if (l.lstm) {
        mm(gs, false, false, nb, GU, U, hp_t, ld_u, recurrent, GU, R.data() + b0 * GU, GU);
        for_tiles(l, b0, b1, [&](int64_t b, int64_t j0, int64_t j1) {
          const int64_t r = b * T + t, n = j1 - j0;
          add_recurrent(b, r, 0, 4, j0, j1);
          to_a(r, 0, 4, j0, n);
          float* a = A + r * GU;
          gate_forward(ra, a + j0, n);
          gate_forward(ra, a + U + j0, n);
          gate_forward(act, a + 2 * U + j0, n);
          gate_forward(ra, a + 3 * U + j0, n);
          const float *gi = a, *gf = a + U, *gc = a + 2 * U, *go = a + 3 * U;
          const float* cp = Cp + r * U;
          float* ac = AC + r * U;
          float* cn = last ? c_end.data() + b * U : Cp + (b * T + tn) * U;
          for (int64_t j = j0; j < j1; ++j) {
            const float c = gf[j] * cp[j] + gi[j] * gc[j];
            ac[j] = c;
            cn[j] = c;
          }
          if (Cs) std::memcpy(Cs + r * U + j0, ac + j0, size_t(n) * sizeof(float));
          gate_forward(act, ac + j0, n);
          float* y = y_seq + (b * T + k) * U;
          for (int64_t j = j0; j < j1; ++j) y[j] = go[j] * ac[j];
          if (float* hn = h_next(b)) std::memcpy(hn + j0, y + j0, size_t(n) * sizeof(float));
        });
      } else if (!l.reset_after) {
        // GRU, TF.js form: z and r first, then the candidate from (r * h) Uh.
        mm(gs, false, false, nb, 2 * U, U, hp_t, ld_u, recurrent, GU, R.data() + b0 * GU, GU);
        for_tiles(l, b0, b1, [&](int64_t b, int64_t j0, int64_t j1) {
          const int64_t r = b * T + t, n = j1 - j0;
          add_recurrent(b, r, 0, 2, j0, j1);
          to_a(r, 0, 2, j0, n);
          float* a = A + r * GU;
          gate_forward(ra, a + j0, n);
          gate_forward(ra, a + U + j0, n);
          const float* hp = Hp + r * U;
          float* rh = RH + r * U;
          for (int64_t j = j0; j < j1; ++j) rh[j] = a[U + j] * hp[j];
        });
        mm(gs, false, false, nb, U, U, RH + (b0 * T + t) * U, ld_u, recurrent + 2 * U, GU, R.data() + b0 * GU + 2 * U, GU);
        for_tiles(l, b0, b1, [&](int64_t b, int64_t j0, int64_t j1) {
          const int64_t r = b * T + t, n = j1 - j0;
          add_recurrent(b, r, 2, 3, j0, j1);
          to_a(r, 2, 3, j0, n);
          gate_forward(act, A + r * GU + 2 * U + j0, n);
          gru_mix(b, r, j0, j1);
        });
      } else {
        // GRU, reset_after: one product h [Uz Ur Uh]; r gates h Uh + bh_rec.
        mm(gs, false, false, nb, GU, U, hp_t, ld_u, recurrent, GU, R.data() + b0 * GU, GU);
        for_tiles(l, b0, b1, [&](int64_t b, int64_t j0, int64_t j1) {
          const int64_t r = b * T + t, n = j1 - j0;
          float* xp = XP + r * GU;
          const float* rr = R.data() + b * GU;
          add_recurrent(b, r, 0, 2, j0, j1);
          to_a(r, 0, 2, j0, n);
          float* a = A + r * GU;
          gate_forward(ra, a + j0, n);
          gate_forward(ra, a + U + j0, n);
          float* inner = INNER + r * U;
          for (int64_t j = j0; j < j1; ++j) {
            inner[j] = rr[2 * U + j] + (rbias_h ? rbias_h[j] : 0.0f);
            xp[2 * U + j] += a[U + j] * inner[j];
          }
          to_a(r, 2, 3, j0, n);
          gate_forward(act, a + 2 * U + j0, n);
          gru_mix(b, r, j0, j1);
        });
      }
      // Masked samples keep their state: the step's output and next state are the previous h (and c).
      if (p.step_mask)
        for (int64_t b = b0; b < b1; ++b) {
          if (p.step_mask[b * T + t] != 0.0f) continue;
          const float* hp = Hp + (b * T + t) * U;
          std::memcpy(y_seq + (b * T + k) * U, hp, size_t(U) * sizeof(float));
          if (!last) std::memcpy(Hp + (b * T + tn) * U, hp, size_t(U) * sizeof(float));
          if (l.lstm) std::memcpy(last ? c_end.data() + b * U : Cp + (b * T + tn) * U, Cp + (b * T + t) * U, size_t(U) * sizeof(float));
        }
    }
  };
  split_batch(l, recur);
  if (h_last)
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(h_last + b * U, y_seq + (b * T + T - 1) * U, size_t(U) * sizeof(float));
  if (l.lstm && c_last) std::memcpy(c_last, c_end.data(), size_t(B * U) * sizeof(float));
}

void rnn_backward(const RnnParams& p, const float* x, const float* h0, const float* c0, const float* kernel,
                  const float* recurrent, const float* bias, const float* workspace, const float* dy_seq,
                  const float* dh_last, const float* dc_last, float* dx, float* dh0, float* dc0, float* dkernel,
                  float* drecurrent, float* dbias, float* scratch, const Scratch& gs) {
  (void)h0, (void)c0, (void)bias;  // their effect is in the workspace
  const Layout l = make_layout(p);
  const int64_t B = l.b, T = l.t, U = l.u, GU = l.gu, BT = l.bt, IN = l.in;
  if (B == 0 || T == 0) {
    if (dkernel) std::memset(dkernel, 0, size_t(IN * GU) * sizeof(float));
    if (drecurrent) std::memset(drecurrent, 0, size_t(U * GU) * sizeof(float));
    if (dbias && p.has_bias) std::memset(dbias, 0, size_t(rnn_bias_size(p)) * sizeof(float));
    copy_or_zero(dh0, dh_last, B * U);
    if (l.lstm) copy_or_zero(dc0, dc_last, B * U);
    return;
  }
  const float* A = workspace + l.a;
  const float* Z = l.need_z ? workspace + l.z : nullptr;
  const float* Hp = workspace + l.hprev;
  const float* Cp = l.lstm ? workspace + l.cprev : nullptr;
  const float* AC = l.lstm ? workspace + l.ac : nullptr;
  const float* Cs = l.need_c ? workspace + l.c : nullptr;
  const float* RH = l.rh >= 0 ? workspace + l.rh : nullptr;
  const float* INNER = l.inner >= 0 ? workspace + l.inner : nullptr;
  const Activation act = p.activation, ra = p.recurrent_activation;
  // Where each activation's gradient is taken from: its output, or its input.
  const float* from_act = l.act_in ? Z : A;
  const float* from_ra = l.ra_in ? Z : A;

  // dG: gradient of each step's gate pre-activations, rows as in the workspace
  // (recurrent side with reset_after: h~'s block holds d(h Uh + bh_rec)).
  std::unique_ptr<float[]> own;
  if (!scratch) {
    own.reset(new float[size_t(rnn_backward_scratch_floats(p))]);  // uninitialized, like a caller's
    scratch = own.get();
  }
  const BackwardScratch sc = make_scratch(l);
  float* dG = scratch + sc.dg;
  float* dXH = l.reset_after ? scratch + sc.dxh : nullptr;  // reset_after: d(x Wh + bh_in)
  float* dh = scratch + sc.dh;
  float* dc = l.lstm ? scratch + sc.dc : nullptr;
  float* dRH = l.rh >= 0 ? scratch + sc.drh : nullptr;
  float* Ut = scratch + sc.ut;
  copy_or_zero(dh, dh_last, B * U);
  if (l.lstm) copy_or_zero(dc, dc_last, B * U);
  // recurrent^T [GU, U], so each step's product packs B with plain copies.
  for (int64_t m = 0; m < U; ++m)
    for (int64_t c = 0; c < GU; ++c) Ut[c * U + m] = recurrent[m * GU + c];
  const int64_t ld_g = T * GU;
  // Masked steps pass the state's gradient through: it is kept aside while the cell runs.
  std::vector<float> carry_h(p.step_mask ? size_t(B * U) : 0), carry_c(p.step_mask && l.lstm ? size_t(B * U) : 0);

  // Back through time for samples [b0, b1).
  auto recur = [&](int64_t b0, int64_t b1) {
    const int64_t nb = b1 - b0;
    for (int64_t k = T - 1; k >= 0; --k) {
      const int64_t t = time_of(p, k);
      // dh + this step's output gradient.
      auto dh_in = [&](int64_t b, int64_t j0, int64_t n, float* out) {
        const float* d = dh + b * U + j0;
        if (dy_seq) {
          const float* dy = dy_seq + (b * T + k) * U + j0;
          for (int64_t j = 0; j < n; ++j) out[j] = d[j] + dy[j];
        } else {
          std::memcpy(out, d, size_t(n) * sizeof(float));
        }
      };
      auto masked = [&](int64_t b) { return p.step_mask && p.step_mask[b * T + t] == 0.0f; };
      for (int64_t b = b0; b < b1; ++b)
        if (masked(b)) {
          dh_in(b, 0, U, carry_h.data() + b * U);
          if (l.lstm) std::memcpy(carry_c.data() + b * U, dc + b * U, size_t(U) * sizeof(float));
        }

      if (p.cell == RnnCell::kSimple) {
        for_tiles(l, b0, b1, [&](int64_t b, int64_t j0, int64_t j1) {
          const int64_t r = b * T + t, n = j1 - j0;
          float* g = dG + r * GU + j0;
          dh_in(b, j0, n, g);
          activation_backward(act, from_act + r * GU + j0, g, g, n);
        });
        mm(gs, false, false, nb, U, U, dG + (b0 * T + t) * GU, ld_g, Ut, U, dh + b0 * U, U);
      } else if (l.lstm) {
        for_tiles(l, b0, b1, [&](int64_t b, int64_t j0, int64_t j1) {
          const int64_t r = b * T + t, n = j1 - j0;
          const float* a = A + r * GU;
          const float *gi = a + j0, *gf = a + U + j0, *gc = a + 2 * U + j0, *go = a + 3 * U + j0;
          const float* cp = Cp + r * U + j0;
          const float* ac = AC + r * U + j0;
          float dhv[kTile], tmp[kTile];
          dh_in(b, j0, n, dhv);
          for (int64_t j = 0; j < n; ++j) tmp[j] = dhv[j] * go[j];
          activation_backward(act, Cs ? Cs + r * U + j0 : ac, tmp, tmp, n);  // dh * o * act'(c')
          float* g = dG + r * GU;
          float *di = g + j0, *df = g + U + j0, *dcc = g + 2 * U + j0, *dout = g + 3 * U + j0;
          float* dcr = dc + b * U + j0;
          for (int64_t j = 0; j < n; ++j) {
            const float dcv = dcr[j] + tmp[j];
            dout[j] = dhv[j] * ac[j];
            di[j] = dcv * gc[j];
            dcc[j] = dcv * gi[j];
            df[j] = dcv * cp[j];
            dcr[j] = dcv * gf[j];
          }
          const float* fr = from_ra + r * GU;
          activation_backward(ra, fr + j0, di, di, n);
          activation_backward(ra, fr + U + j0, df, df, n);
          activation_backward(act, from_act + r * GU + 2 * U + j0, dcc, dcc, n);
          activation_backward(ra, fr + 3 * U + j0, dout, dout, n);
        });
        mm(gs, false, false, nb, U, GU, dG + (b0 * T + t) * GU, ld_g, Ut, U, dh + b0 * U, U);
      } else if (!l.reset_after) {
        for_tiles(l, b0, b1, [&](int64_t b, int64_t j0, int64_t j1) {
          const int64_t r = b * T + t, n = j1 - j0;
          const float* a = A + r * GU;
          const float *z = a + j0, *hh = a + 2 * U + j0, *hp = Hp + r * U + j0;
          float dhv[kTile];
          dh_in(b, j0, n, dhv);
          float* g = dG + r * GU;
          float *dz = g + j0, *dhh = g + 2 * U + j0, *dhr = dh + b * U + j0;
          for (int64_t j = 0; j < n; ++j) {
            dz[j] = dhv[j] * (hp[j] - hh[j]);
            dhh[j] = dhv[j] * (1.0f - z[j]);
            dhr[j] = dhv[j] * z[j];
          }
          activation_backward(ra, from_ra + r * GU + j0, dz, dz, n);
          activation_backward(act, from_act + r * GU + 2 * U + j0, dhh, dhh, n);
        });
        // d(r * h_prev) = dh~ Uh^T, then r's gradient and h_prev's share through r.
        mm(gs, false, false, nb, U, U, dG + (b0 * T + t) * GU + 2 * U, ld_g, Ut + 2 * U * U, U, dRH + b0 * U, U);
        for_tiles(l, b0, b1, [&](int64_t b, int64_t j0, int64_t j1) {
          const int64_t r = b * T + t, n = j1 - j0;
          const float *rg = A + r * GU + U + j0, *hp = Hp + r * U + j0, *drh = dRH + b * U + j0;
          float* dr = dG + r * GU + U + j0;
          float* dhr = dh + b * U + j0;
          for (int64_t j = 0; j < n; ++j) {
            dr[j] = drh[j] * hp[j];
            dhr[j] += drh[j] * rg[j];
          }
          activation_backward(ra, from_ra + r * GU + U + j0, dr, dr, n);
        });
        mm(gs, false, false, nb, U, 2 * U, dG + (b0 * T + t) * GU, ld_g, Ut, U, dh + b0 * U, U, true);
      } else {
        for_tiles(l, b0, b1, [&](int64_t b, int64_t j0, int64_t j1) {
          const int64_t r = b * T + t, n = j1 - j0;
          const float* a = A + r * GU;
          const float *z = a + j0, *rg = a + U + j0, *hh = a + 2 * U + j0, *hp = Hp + r * U + j0;
          const float* inner = INNER + r * U + j0;
          float dhv[kTile];
          dh_in(b, j0, n, dhv);
          float* g = dG + r * GU;
          float *dz = g + j0, *dr = g + U + j0, *dinner = g + 2 * U + j0;
          float* dxh = dXH + r * U + j0;
          float* dhr = dh + b * U + j0;
          for (int64_t j = 0; j < n; ++j) {
            dz[j] = dhv[j] * (hp[j] - hh[j]);
            dxh[j] = dhv[j] * (1.0f - z[j]);
            dhr[j] = dhv[j] * z[j];
          }
          activation_backward(act, from_act + r * GU + 2 * U + j0, dxh, dxh, n);
          for (int64_t j = 0; j < n; ++j) {
            dinner[j] = dxh[j] * rg[j];
            dr[j] = dxh[j] * inner[j];
          }
          activation_backward(ra, from_ra + r * GU + j0, dz, dz, n);
          activation_backward(ra, from_ra + r * GU + U + j0, dr, dr, n);
        });
        mm(gs, false, false, nb, U, GU, dG + (b0 * T + t) * GU, ld_g, Ut, U, dh + b0 * U, U, true);
      }
      for (int64_t b = b0; b < b1; ++b)
        if (masked(b)) {  // no gate gradients; the state's passes through unchanged
          const int64_t r = b * T + t;
          std::memset(dG + r * GU, 0, size_t(GU) * sizeof(float));
          if (dXH) std::memset(dXH + r * U, 0, size_t(U) * sizeof(float));
          std::memcpy(dh + b * U, carry_h.data() + b * U, size_t(U) * sizeof(float));
          if (l.lstm) std::memcpy(dc + b * U, carry_c.data() + b * U, size_t(U) * sizeof(float));
        }
    }
  };
  split_batch(l, recur);
  if (dh0) std::memcpy(dh0, dh, size_t(B * U) * sizeof(float));
  if (l.lstm && dc0) std::memcpy(dc0, dc, size_t(B * U) * sizeof(float));

  // Weight and input gradients: one product over all steps each.
  const float* dg = dG;
  if (dkernel) {
    if (l.reset_after) {
      mm(gs, true, false, IN, 2 * U, BT, x, IN, dg, GU, dkernel, GU);
      mm(gs, true, false, IN, U, BT, x, IN, dXH, U, dkernel + 2 * U, GU);
    } else {
      mm(gs, true, false, IN, GU, BT, x, IN, dg, GU, dkernel, GU);
    }
  }
  if (drecurrent) {
    if (RH) {
      mm(gs, true, false, U, 2 * U, BT, Hp, U, dg, GU, drecurrent, GU);
      mm(gs, true, false, U, U, BT, RH, U, dg + 2 * U, GU, drecurrent + 2 * U, GU);
    } else {
      mm(gs, true, false, U, GU, BT, Hp, U, dg, GU, drecurrent, GU);
    }
  }
  if (dbias && p.has_bias) {
    // Column sums of [BT, width] arrays, split over columns, rows streamed.
    auto col_sums = [&](const float* src, int64_t ld, int64_t width, float* out) {
      parallel_range(width, 64, [&](int64_t c0_, int64_t c1_) {
        std::vector<double> acc(size_t(c1_ - c0_), 0.0);
        for (int64_t r = 0; r < BT; ++r) {
          const float* row = src + r * ld + c0_;
          for (int64_t c = 0; c < c1_ - c0_; ++c) acc[size_t(c)] += row[c];
        }
        for (int64_t c = 0; c < c1_ - c0_; ++c) out[c0_ + c] = float(acc[size_t(c)]);
      });
    };
    if (l.reset_after) {
      col_sums(dg, GU, 2 * U, dbias);              // input row: z, r
      col_sums(dXH, U, U, dbias + 2 * U);   // input row: h~
      col_sums(dg, GU, GU, dbias + GU);            // recurrent row
    } else {
      col_sums(dg, GU, GU, dbias);
    }
  }
  if (dx) {
    if (l.reset_after) {
      mm(gs, false, true, BT, IN, 2 * U, dg, GU, kernel, GU, dx, IN);
      mm(gs, false, true, BT, IN, U, dXH, U, kernel + 2 * U, GU, dx, IN, true);
    } else {
      mm(gs, false, true, BT, IN, GU, dg, GU, kernel, GU, dx, IN);
    }
  }
}

}  // namespace kiln
