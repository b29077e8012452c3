// Time-major inside: x is transposed to [steps, batch, ...] so that every
// step's images are contiguous for the convolutions; the input convolution
// of all steps, and the weight gradients, are one conv2d call each.
#include "cpu/conv_lstm.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/activation.h"

namespace kiln {

namespace {

struct Sizes {
  int64_t B, T, P, F, G, S;  // batch, steps, positions, filters, 4F, floats of one input image
};
Sizes sizes_of(const ConvLstmParams& p) {
  const Conv2DParams& c = p.input_conv;
  return {p.batch, p.steps, p.positions(), p.filters, 4 * p.filters, c.in_h * c.in_w * c.in_c};
}

// [a, b, n] -> [b, a, n]
void swap_leading(const float* src, int64_t a, int64_t b, int64_t n, float* dst) {
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j) std::memcpy(dst + (j * a + i) * n, src + (i * b + j) * n, size_t(n) * sizeof(float));
}

int64_t time_of(const ConvLstmParams& p, int64_t k) { return p.go_backwards ? p.steps - 1 - k : k; }

Conv2DParams with_batch(Conv2DParams c, int64_t batch) {
  c.batch = batch;
  return c;
}

// Saved arrays: pre-activations Z [T, B, P, 4F], cell states C [T, B, P, F]
// (after the step that read input t), and the h each step started from, HP.
struct Saved {
  int64_t z, c, hp, total;
};
Saved saved_layout(const Sizes& s) {
  Saved v;
  v.z = 0;
  v.c = v.z + s.T * s.B * s.P * s.G;
  v.hp = v.c + s.T * s.B * s.P * s.F;
  v.total = v.hp + s.T * s.B * s.P * s.F;
  return v;
}

// The gate activations of one row (position) of z: i, f, g (the candidate), o.
void gates(const ConvLstmParams& p, const float* z, int64_t F, float* a) {
  std::memcpy(a, z, size_t(4 * F) * sizeof(float));
  activation_forward(p.recurrent_activation, a, 2 * F);
  activation_forward(p.activation, a + 2 * F, F);
  activation_forward(p.recurrent_activation, a + 3 * F, F);
}

int64_t conv_scratch(const ConvLstmParams& p, bool backward) {
  const int t = ThreadPool::global().num_threads();
  const Conv2DParams in = p.input_conv, rec = p.recurrent_conv, all = with_batch(p.recurrent_conv, p.batch * p.steps);
  if (!backward) return std::max(conv2d_forward_scratch_floats(in, t), conv2d_forward_scratch_floats(rec, t));
  return std::max({conv2d_backward_data_scratch_floats(in, t), conv2d_backward_filter_scratch_floats(in, t),
                   conv2d_backward_data_scratch_floats(rec, t), conv2d_backward_filter_scratch_floats(all, t)});
}

}  // namespace

Status conv_lstm_params(int64_t batch, int64_t steps, int64_t h, int64_t w, int64_t c, int64_t filters, int64_t kh, int64_t kw,
                        int64_t sh, int64_t sw, int64_t dh, int64_t dw, bool same_padding, Activation act, Activation ra,
                        bool go_backwards, ConvLstmParams* out) {
  if (activation_is_rowwise(act) || activation_is_rowwise(ra)) return Status::error("ConvLSTM2D: activations must be elementwise");
  if (filters < 1 || steps < 1) return Status::error("ConvLSTM2D: filters and steps must be positive");
  ConvLstmParams p;
  p.batch = batch, p.steps = steps, p.filters = filters;
  p.activation = act, p.recurrent_activation = ra, p.go_backwards = go_backwards;
  KILN_RETURN_IF_ERROR(conv2d_params(batch * steps, h, w, c, 4 * filters, kh, kw, sh, sw, dh, dw, same_padding, 1, &p.input_conv));
  KILN_RETURN_IF_ERROR(conv2d_params(batch, p.input_conv.out_h, p.input_conv.out_w, filters, 4 * filters, kh, kw, 1, 1, 1, 1, true,
                                     1, &p.recurrent_conv));
  *out = p;
  return Status();
}

int64_t conv_lstm_saved_floats(const ConvLstmParams& p) { return saved_layout(sizes_of(p)).total; }

// x transposed, the recurrent product of a step, the new h, then the convolutions' scratch.
int64_t conv_lstm_forward_scratch_floats(const ConvLstmParams& p) {
  const Sizes s = sizes_of(p);
  return s.T * s.B * s.S + s.B * s.P * s.G + s.B * s.P * s.F + conv_scratch(p, false);
}

// x transposed, dZ, dh, dc, dx transposed, then the convolutions' scratch.
int64_t conv_lstm_backward_scratch_floats(const ConvLstmParams& p) {
  const Sizes s = sizes_of(p);
  return 2 * s.T * s.B * s.S + s.T * s.B * s.P * s.G + 2 * s.B * s.P * s.F + conv_scratch(p, true);
}

void conv_lstm_forward(const ConvLstmParams& p, const float* x, const float* kernel, const float* recurrent,
                       const float* bias, const float* h0, const float* c0, float* y_seq, float* h_last, float* c_last,
                       float* saved, const Scratch& scratch) {
  const Sizes s = sizes_of(p);
  const Saved sv = saved_layout(s);
  const int64_t state = s.B * s.P * s.F, step_z = s.B * s.P * s.G;
  float *Z = saved + sv.z, *C = saved + sv.c, *HP = saved + sv.hp;
  float* xt = scratch.data;
  float* zh = xt + s.T * s.B * s.S;
  float* hnew = zh + step_z;
  const Scratch conv = scratch.after(s.T * s.B * s.S + step_z + state);
  swap_leading(x, s.B, s.T, s.S, xt);
  conv2d_forward(p.input_conv, xt, kernel, bias, Activation::kLinear, Z, conv);
  std::vector<float> a(size_t(s.G));
  for (int64_t k = 0; k < s.T; ++k) {
    const int64_t t = time_of(p, k);
    float* hp = HP + t * state;
    if (k == 0) {
      if (h0) std::memcpy(hp, h0, size_t(state) * sizeof(float));
      else std::fill(hp, hp + state, 0.0f);
    } else {
      std::memcpy(hp, hnew, size_t(state) * sizeof(float));
    }
    const float* cp = k == 0 ? c0 : C + time_of(p, k - 1) * state;
    conv2d_forward(p.recurrent_conv, hp, recurrent, nullptr, Activation::kLinear, zh, conv);
    float* zt = Z + t * step_z;
    for (int64_t i = 0; i < step_z; ++i) zt[i] += zh[i];
    float* ct = C + t * state;
    for (int64_t r = 0; r < s.B * s.P; ++r) {
      gates(p, zt + r * s.G, s.F, a.data());
      const float *gi = a.data(), *gf = gi + s.F, *gg = gi + 2 * s.F, *go = gi + 3 * s.F;
      float* c = ct + r * s.F;
      float* h = hnew + r * s.F;
      for (int64_t j = 0; j < s.F; ++j) c[j] = gf[j] * (cp ? cp[r * s.F + j] : 0.0f) + gi[j] * gg[j];
      std::memcpy(h, c, size_t(s.F) * sizeof(float));
      activation_forward(p.activation, h, s.F);
      for (int64_t j = 0; j < s.F; ++j) h[j] *= go[j];
    }
    for (int64_t b = 0; b < s.B; ++b)
      std::memcpy(y_seq + (b * s.T + k) * s.P * s.F, hnew + b * s.P * s.F, size_t(s.P * s.F) * sizeof(float));
  }
  if (h_last) std::memcpy(h_last, hnew, size_t(state) * sizeof(float));
  if (c_last) std::memcpy(c_last, C + time_of(p, s.T - 1) * state, size_t(state) * sizeof(float));
}

void conv_lstm_backward(const ConvLstmParams& p, const float* x, const float* kernel, const float* recurrent,
                        const float* h0, const float* c0, const float* saved, const float* dy_seq, const float* dh_last,
                        const float* dc_last, float* dx, float* dkernel, float* drecurrent, float* dbias, float* dh0,
                        float* dc0, const Scratch& scratch) {
  (void)h0;  // its effect is in the saved HP
  const Sizes s = sizes_of(p);
  const Saved sv = saved_layout(s);
  const int64_t state = s.B * s.P * s.F, step_z = s.B * s.P * s.G, rows = s.B * s.P;
  const float *Z = saved + sv.z, *C = saved + sv.c, *HP = saved + sv.hp;
  float* xt = scratch.data;
  float* dZ = xt + s.T * s.B * s.S;
  float* dh = dZ + s.T * step_z;
  float* dc = dh + state;
  float* dxt = dc + state;
  const Scratch conv = scratch.after(2 * s.T * s.B * s.S + s.T * step_z + 2 * state);
  if (dh_last) std::memcpy(dh, dh_last, size_t(state) * sizeof(float));
  else std::fill(dh, dh + state, 0.0f);
  if (dc_last) std::memcpy(dc, dc_last, size_t(state) * sizeof(float));
  else std::fill(dc, dc + state, 0.0f);
  const bool act_in = activation_grad_needs_input(p.activation), ra_in = activation_grad_needs_input(p.recurrent_activation);
  std::vector<float> a(size_t(s.G)), ac(size_t(s.F)), d(size_t(s.F));
  for (int64_t k = s.T - 1; k >= 0; --k) {
    const int64_t t = time_of(p, k);
    if (dy_seq)
      for (int64_t b = 0; b < s.B; ++b) {
        const float* dy = dy_seq + (b * s.T + k) * s.P * s.F;
        for (int64_t i = 0; i < s.P * s.F; ++i) dh[b * s.P * s.F + i] += dy[i];
      }
    const float* cp = k == 0 ? c0 : C + time_of(p, k - 1) * state;
    const float* zt = Z + t * step_z;
    float* dzt = dZ + t * step_z;
    for (int64_t r = 0; r < rows; ++r) {
      const float* z = zt + r * s.G;
      gates(p, z, s.F, a.data());
      const float *gi = a.data(), *gf = gi + s.F, *gg = gi + 2 * s.F, *go = gi + 3 * s.F;
      const float* c = C + t * state + r * s.F;
      std::memcpy(ac.data(), c, size_t(s.F) * sizeof(float));
      activation_forward(p.activation, ac.data(), s.F);
      float* dhr = dh + r * s.F;
      float* dcr = dc + r * s.F;
      float* dz = dzt + r * s.G;
      // do, then dc' = dc + dh * o * act'(c')
      for (int64_t j = 0; j < s.F; ++j) dz[3 * s.F + j] = dhr[j] * ac[j], d[size_t(j)] = dhr[j] * go[j];
      activation_backward(p.activation, act_in ? c : ac.data(), d.data(), d.data(), s.F);
      for (int64_t j = 0; j < s.F; ++j) {
        const float dcv = dcr[j] + d[size_t(j)];
        dz[j] = dcv * gg[j];
        dz[s.F + j] = dcv * (cp ? cp[r * s.F + j] : 0.0f);
        dz[2 * s.F + j] = dcv * gi[j];
        dcr[j] = dcv * gf[j];
      }
      activation_backward(p.recurrent_activation, ra_in ? z : gi, dz, dz, 2 * s.F);
      activation_backward(p.activation, act_in ? z + 2 * s.F : gg, dz + 2 * s.F, dz + 2 * s.F, s.F);
      activation_backward(p.recurrent_activation, ra_in ? z + 3 * s.F : go, dz + 3 * s.F, dz + 3 * s.F, s.F);
    }
    conv2d_backward_data(p.recurrent_conv, dzt, recurrent, dh, conv);
  }
  if (dh0) std::memcpy(dh0, dh, size_t(state) * sizeof(float));
  if (dc0) std::memcpy(dc0, dc, size_t(state) * sizeof(float));
  if (drecurrent) conv2d_backward_filter(with_batch(p.recurrent_conv, s.T * s.B), HP, dZ, drecurrent, conv);
  if (dbias) {
    std::fill(dbias, dbias + s.G, 0.0f);
    for (int64_t r = 0; r < s.T * rows; ++r)
      for (int64_t j = 0; j < s.G; ++j) dbias[j] += dZ[r * s.G + j];
  }
  if (dkernel || dx) swap_leading(x, s.B, s.T, s.S, xt);
  if (dkernel) conv2d_backward_filter(p.input_conv, xt, dZ, dkernel, conv);
  if (dx) {
    conv2d_backward_data(p.input_conv, dZ, kernel, dxt, conv);
    swap_leading(dxt, s.T, s.B, s.S, dx);
  }
}

}  // namespace kiln
