// Reference recurrent kernels: one sample, one step, one element at a time,
// with double accumulators, written straight from the formulas in rnn.h.
// No gemm(), no threads, no workspace: the backward pass reruns the forward
// and keeps every step's values in plain per-step records.
#include <cstring>
#include <vector>

#include "cpu/activation.h"
#include "cpu/rnn.h"

namespace kiln {
namespace {

float act_fwd(Activation a, float v) {
  activation_forward(a, &v, 1);
  return v;
}

// d loss / d pre from d loss / d post.
float act_bwd(Activation a, float pre, float post, float dpost) {
  const float from = activation_grad_needs_input(a) ? pre : post;
  float d = 0;
  activation_backward(a, &from, &dpost, &d, 1);
  return d;
}

// One processed step of one sample.
struct Step {
  std::vector<float> pre, post;  // [G*U] gate pre-activations and activations
  std::vector<float> hp, cp;     // the states it started from
  std::vector<float> c, ac;      // LSTM: c' and act(c')
  std::vector<float> rh;         // GRU reset_after false: r * hp
  std::vector<float> inner;      // GRU reset_after true: hp Uh + bh_rec
  std::vector<float> h;          // output
  bool masked = false;           // step_mask 0: the states carry over
};

struct Ref {
  const RnnParams& p;
  int64_t B, T, I, U, GU;
  bool lstm, gru, ra_after;
  const float *x, *h0, *c0, *K, *R, *bias;

  Ref(const RnnParams& p_, const float* x_, const float* h0_, const float* c0_, const float* k_, const float* r_,
      const float* b_)
      : p(p_), x(x_), h0(h0_), c0(c0_), K(k_), R(r_), bias(p_.has_bias ? b_ : nullptr) {
    B = p.batch, T = p.steps, I = p.input, U = p.units;
    GU = rnn_gates(p.cell) * U;
    lstm = p.cell == RnnCell::kLstm;
    gru = p.cell == RnnCell::kGru;
    ra_after = gru && p.reset_after;
  }

  int64_t time_of(int64_t k) const { return p.go_backwards ? T - 1 - k : k; }
  const float* x_at(int64_t b, int64_t k) const { return x + (b * T + time_of(k)) * I; }
  float b_in(int64_t col) const { return bias ? bias[col] : 0.0f; }
  float b_rec(int64_t col) const { return bias && ra_after ? bias[GU + col] : 0.0f; }
  // sum_i x[i] K[i][col]
  double xk(const float* xt, int64_t col) const {
    double s = 0;
    for (int64_t i = 0; i < I; ++i) s += double(xt[i]) * K[i * GU + col];
    return s;
  }
  // sum_m v[m] R[m][col]
  double vr(const std::vector<float>& v, int64_t col) const {
    double s = 0;
    for (int64_t m = 0; m < U; ++m) s += double(v[size_t(m)]) * R[m * GU + col];
    return s;
  }

  // Runs the whole sequence: steps[k * B + b].
  std::vector<Step> run() const {
    std::vector<Step> steps(size_t(T * B));
    const Activation act = p.activation, ra = p.recurrent_activation;
    for (int64_t b = 0; b < B; ++b) {
      std::vector<float> h(size_t(U), 0.0f), c(size_t(U), 0.0f);
      if (h0) h.assign(h0 + b * U, h0 + (b + 1) * U);
      if (lstm && c0) c.assign(c0 + b * U, c0 + (b + 1) * U);
      for (int64_t k = 0; k < T; ++k) {
        Step& s = steps[size_t(k * B + b)];
        const float* xt = x_at(b, k);
        s.hp = h, s.cp = c;
        s.pre.assign(size_t(GU), 0.0f);
        s.post.assign(size_t(GU), 0.0f);
        s.h.assign(size_t(U), 0.0f);
        if (!gru) {
          for (int64_t col = 0; col < GU; ++col) {
            s.pre[size_t(col)] = float(xk(xt, col) + vr(s.hp, col) + b_in(col));
            const bool candidate = !lstm || (col >= 2 * U && col < 3 * U);
            s.post[size_t(col)] = act_fwd(candidate ? act : ra, s.pre[size_t(col)]);
          }
          if (!lstm) {
            s.h = s.post;
          } else {
            s.c.assign(size_t(U), 0.0f);
            s.ac.assign(size_t(U), 0.0f);
            for (int64_t j = 0; j < U; ++j) {
              const float i = s.post[size_t(j)], f = s.post[size_t(U + j)], g = s.post[size_t(2 * U + j)],
                          o = s.post[size_t(3 * U + j)];
              s.c[size_t(j)] = float(double(f) * s.cp[size_t(j)] + double(i) * g);
              s.ac[size_t(j)] = act_fwd(act, s.c[size_t(j)]);
              s.h[size_t(j)] = o * s.ac[size_t(j)];
            }
            c = s.c;
          }
        } else {
          for (int64_t col = 0; col < 2 * U; ++col) {
            s.pre[size_t(col)] = float(xk(xt, col) + b_in(col) + vr(s.hp, col) + b_rec(col));
            s.post[size_t(col)] = act_fwd(ra, s.pre[size_t(col)]);
          }
          if (!ra_after) {
            s.rh.assign(size_t(U), 0.0f);
            for (int64_t j = 0; j < U; ++j) s.rh[size_t(j)] = s.post[size_t(U + j)] * s.hp[size_t(j)];
            for (int64_t j = 0; j < U; ++j) {
              const int64_t col = 2 * U + j;
              s.pre[size_t(col)] = float(xk(xt, col) + b_in(col) + vr(s.rh, col));
            }
          } else {
            s.inner.assign(size_t(U), 0.0f);
            for (int64_t j = 0; j < U; ++j) {
              const int64_t col = 2 * U + j;
              s.inner[size_t(j)] = float(vr(s.hp, col) + b_rec(col));
              s.pre[size_t(col)] =
                  float(xk(xt, col) + b_in(col) + double(s.post[size_t(U + j)]) * s.inner[size_t(j)]);
            }
          }
          for (int64_t j = 0; j < U; ++j) {
            const int64_t col = 2 * U + j;
            s.post[size_t(col)] = act_fwd(act, s.pre[size_t(col)]);
            const float z = s.post[size_t(j)];
            s.h[size_t(j)] = float(double(z) * s.hp[size_t(j)] + (1.0 - z) * s.post[size_t(col)]);
          }
        }
        s.masked = p.step_mask && p.step_mask[b * T + time_of(k)] == 0.0f;
        if (s.masked) {
          s.h = s.hp;
          if (lstm) s.c = c = s.cp;
        }
        h = s.h;
      }
    }
    return steps;
  }
};

}  // namespace

void rnn_forward_reference(const RnnParams& p, const float* x, const float* h0, const float* c0,
                           const float* kernel, const float* recurrent, const float* bias, float* y_seq,
                           float* h_last, float* c_last, float* workspace) {
  (void)workspace;
  const Ref ref(p, x, h0, c0, kernel, recurrent, bias);
  const int64_t B = ref.B, T = ref.T, U = ref.U;
  const std::vector<Step> steps = ref.run();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t k = 0; k < T; ++k)
      std::memcpy(y_seq + (b * T + k) * U, steps[size_t(k * B + b)].h.data(), size_t(U) * sizeof(float));
    for (int64_t j = 0; j < U; ++j) {
      if (h_last) h_last[b * U + j] = T > 0 ? steps[size_t((T - 1) * B + b)].h[size_t(j)] : (h0 ? h0[b * U + j] : 0.0f);
      if (ref.lstm && c_last)
        c_last[b * U + j] = T > 0 ? steps[size_t((T - 1) * B + b)].c[size_t(j)] : (c0 ? c0[b * U + j] : 0.0f);
    }
  }
}

void rnn_backward_reference(const RnnParams& p, const float* x, const float* h0, const float* c0,
                            const float* kernel, const float* recurrent, const float* bias, const float* workspace,
                            const float* dy_seq, const float* dh_last, const float* dc_last, float* dx, float* dh0,
                            float* dc0, float* dkernel, float* drecurrent, float* dbias, float* scratch) {
  (void)workspace, (void)scratch;
  const Ref ref(p, x, h0, c0, kernel, recurrent, bias);
  const int64_t B = ref.B, T = ref.T, I = ref.I, U = ref.U, GU = ref.GU;
  const Activation act = p.activation, ra = p.recurrent_activation;
  const std::vector<Step> steps = ref.run();
  std::vector<double> dK(size_t(I * GU), 0.0), dR(size_t(U * GU), 0.0), db(size_t(rnn_bias_size(p)), 0.0);

  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> dh(size_t(U), 0.0), dc(size_t(U), 0.0);
    for (int64_t j = 0; j < U; ++j) {
      if (dh_last) dh[size_t(j)] = dh_last[b * U + j];
      if (ref.lstm && dc_last) dc[size_t(j)] = dc_last[b * U + j];
    }
    for (int64_t k = T - 1; k >= 0; --k) {
      const Step& s = steps[size_t(k * B + b)];
      std::vector<float> dhv(static_cast<size_t>(U));
      for (int64_t j = 0; j < U; ++j)
        dhv[size_t(j)] = float(dh[size_t(j)] + (dy_seq ? dy_seq[(b * T + k) * U + j] : 0.0f));
      if (s.masked) {  // the output was the previous h: the gradient passes to it, dc unchanged
        for (int64_t j = 0; j < U; ++j) dh[size_t(j)] = dh[size_t(j)] + (dy_seq ? dy_seq[(b * T + k) * U + j] : 0.0f);
        if (dx) std::memset(dx + (b * T + ref.time_of(k)) * I, 0, size_t(I) * sizeof(float));
        continue;
      }
      // gx: gradient of the gate pre-activations (what x K + b_in feeds);
      // gr: of what the recurrent product feeds (differs only for h~ with
      // reset_after, where it is d(h Uh + bh_rec)).
      std::vector<float> gx(size_t(GU), 0.0f);
      std::vector<double> dhp(size_t(U), 0.0);  // direct terms of d h_prev
      auto post = [&](int64_t col) { return s.post[size_t(col)]; };
      auto pre = [&](int64_t col) { return s.pre[size_t(col)]; };
      if (p.cell == RnnCell::kSimple) {
        for (int64_t j = 0; j < U; ++j) gx[size_t(j)] = act_bwd(act, pre(j), post(j), dhv[size_t(j)]);
      } else if (ref.lstm) {
        for (int64_t j = 0; j < U; ++j) {
          const float i = post(j), f = post(U + j), g = post(2 * U + j), o = post(3 * U + j);
          const float dcv = float(dc[size_t(j)] + double(act_bwd(act, s.c[size_t(j)], s.ac[size_t(j)],
                                                                    dhv[size_t(j)] * o)));
          gx[size_t(j)] = act_bwd(ra, pre(j), i, dcv * g);
          gx[size_t(U + j)] = act_bwd(ra, pre(U + j), f, dcv * s.cp[size_t(j)]);
          gx[size_t(2 * U + j)] = act_bwd(act, pre(2 * U + j), g, dcv * i);
          gx[size_t(3 * U + j)] = act_bwd(ra, pre(3 * U + j), o, dhv[size_t(j)] * s.ac[size_t(j)]);
          dc[size_t(j)] = double(dcv) * f;
        }
      } else {
        for (int64_t j = 0; j < U; ++j) {
          const float z = post(j), hh = post(2 * U + j), hp = s.hp[size_t(j)];
          gx[size_t(j)] = act_bwd(ra, pre(j), z, dhv[size_t(j)] * (hp - hh));
          gx[size_t(2 * U + j)] = act_bwd(act, pre(2 * U + j), hh, dhv[size_t(j)] * (1.0f - z));
          dhp[size_t(j)] = double(dhv[size_t(j)]) * z;
        }
        for (int64_t j = 0; j < U; ++j) {
          const float r = post(U + j);
          float dr;
          if (!ref.ra_after) {
            // d(r * h_prev)[j] = sum_c Uh[j][c] dh~[c]
            double drh = 0;
            for (int64_t c = 0; c < U; ++c) drh += double(recurrent[j * GU + 2 * U + c]) * gx[size_t(2 * U + c)];
            dr = float(drh * s.hp[size_t(j)]);
            dhp[size_t(j)] += drh * r;
          } else {
            dr = gx[size_t(2 * U + j)] * s.inner[size_t(j)];
          }
          gx[size_t(U + j)] = act_bwd(ra, pre(U + j), r, dr);
        }
      }
      std::vector<float> gr = gx;
      if (ref.ra_after)
        for (int64_t j = 0; j < U; ++j) gr[size_t(2 * U + j)] = gx[size_t(2 * U + j)] * post(U + j);
      // The candidate block's recurrent operand is r * h_prev without reset_after.
      const bool rh_block = ref.gru && !ref.ra_after;
      const float* xt = ref.x_at(b, k);
      for (int64_t col = 0; col < GU; ++col) {
        for (int64_t i = 0; i < I; ++i) dK[size_t(i * GU + col)] += double(xt[i]) * gx[size_t(col)];
        const bool use_rh = rh_block && col >= 2 * U;
        for (int64_t m = 0; m < U; ++m)
          dR[size_t(m * GU + col)] += double(use_rh ? s.rh[size_t(m)] : s.hp[size_t(m)]) * gr[size_t(col)];
        if (p.has_bias) {
          db[size_t(col)] += gx[size_t(col)];
          if (ref.ra_after) db[size_t(GU + col)] += gr[size_t(col)];
        }
      }
      if (dx) {
        float* dxt = dx + (b * T + ref.time_of(k)) * I;
        for (int64_t i = 0; i < I; ++i) {
          double sum = 0;
          for (int64_t col = 0; col < GU; ++col) sum += double(kernel[i * GU + col]) * gx[size_t(col)];
          dxt[i] = float(sum);
        }
      }
      for (int64_t m = 0; m < U; ++m) {
        double sum = dhp[size_t(m)];
        const int64_t cols = rh_block ? 2 * U : GU;  // h~'s share went through r * h_prev above
        for (int64_t col = 0; col < cols; ++col) sum += double(recurrent[m * GU + col]) * gr[size_t(col)];
        dh[size_t(m)] = sum;
      }
    }
    for (int64_t j = 0; j < U; ++j) {
      if (dh0) dh0[b * U + j] = float(dh[size_t(j)]);
      if (ref.lstm && dc0) dc0[b * U + j] = float(dc[size_t(j)]);
    }
  }
  if (dkernel)
    for (size_t i = 0; i < dK.size(); ++i) dkernel[i] = float(dK[i]);
  if (drecurrent)
    for (size_t i = 0; i < dR.size(); ++i) drecurrent[i] = float(dR[i]);
  if (dbias && p.has_bias)
    for (size_t i = 0; i < db.size(); ++i) dbias[i] = float(db[i]);
}

}  // namespace kiln
