// Recurrent ONNX operators: RNN, GRU and LSTM with ONNX's layouts (W [dirs,
// gates*hidden, input], R [dirs, gates*hidden, hidden], B [dirs, 2*gates*hidden];
// gate orders iofc for LSTM and zrh for GRU), forward / reverse / bidirectional,
// initial states, sequence_lens, layout 0/1, activations with alpha/beta, clip,
// LSTM peepholes and input_forget, GRU linear_before_reset. float32 with the
// default activations runs on the fast sequence kernels of cpu/rnn.h; the
// rest on a plain reference loop computed in double precision.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/rnn.h"
#include "onnx/dispatch.h"
#include "onnx/op.h"

namespace kiln {

namespace {

struct Activation {
  std::string name;
  double alpha = 0, beta = 0;
  double operator()(double x) const {
    if (name == "Sigmoid") return 1.0 / (1.0 + std::exp(-x));
    if (name == "Tanh") return std::tanh(x);
    if (name == "Relu") return x > 0 ? x : 0.0;
    if (name == "Affine") return alpha * x + beta;
    if (name == "LeakyRelu") return x >= 0 ? x : alpha * x;
    if (name == "ThresholdedRelu") return x > alpha ? x : 0.0;
    if (name == "ScaledTanh") return alpha * std::tanh(beta * x);
    if (name == "HardSigmoid") return std::max(0.0, std::min(1.0, alpha * x + beta));
    if (name == "Elu") return x >= 0 ? x : alpha * (std::exp(x) - 1.0);
    if (name == "Softsign") return x / (1.0 + std::fabs(x));
    if (name == "Softplus") return std::log1p(std::exp(x));
    return x;
  }
};

bool known_activation(const std::string& n, double* alpha, double* beta, int* nparams) {
  *nparams = 0;
  if (n == "Sigmoid" || n == "Tanh" || n == "Relu" || n == "Softsign" || n == "Softplus") return true;
  if (n == "LeakyRelu") { *alpha = 0.01; *nparams = 1; return true; }
  if (n == "ThresholdedRelu" || n == "Elu") { *alpha = 1.0; *nparams = 1; return true; }
  if (n == "Affine") { *alpha = 1.0; *beta = 0.0; *nparams = 2; return true; }
  if (n == "ScaledTanh") { *alpha = 1.0; *beta = 1.0; *nparams = 2; return true; }
  if (n == "HardSigmoid") { *alpha = 0.2; *beta = 0.5; *nparams = 2; return true; }
  return false;
}

enum class Cell { kRnn, kGru, kLstm };

// RNN, GRU and LSTM on cpu/rnn.h's sequence kernels (one GEMM for every
// step's input projection, one or two per step for the recurrence, fused
// vectorized gates): ONNX's weights are re-laid out per call into Keras's
// [input, gates * hidden] with its gate order, each direction runs as its own
// sequence (reverse as go_backwards), and the outputs go back into ONNX's layouts.
struct FastRecurrent {
  Cell cell;
  int64_t seq, batch, isz, hidden, dirs, layout;
  bool lbr, reverse_only;

  // ONNX gate block k of a direction -> Keras block position.
  int64_t keras_block(int64_t k) const {
    if (cell != Cell::kLstm) return k;  // GRU z, r, h and RNN's one block are in Keras's order
    static const int64_t kIofcToIfco[4] = {0, 3, 1, 2};
    return kIofcToIfco[k];
  }

  Status run(const OnnxValue& x, const OnnxValue& w, const OnnxValue& r, const OnnxValue* b, const OnnxValue* h0,
             const OnnxValue* c0, std::vector<OnnxValue>* out) const {
    const int64_t G = cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 3 : 4, GH = G * hidden;
    RnnParams p;
    p.cell = cell == Cell::kRnn ? RnnCell::kSimple : cell == Cell::kGru ? RnnCell::kGru : RnnCell::kLstm;
    p.batch = batch, p.steps = seq, p.input = isz, p.units = hidden;
    p.activation = ::kiln::Activation::kTanh, p.recurrent_activation = ::kiln::Activation::kSigmoid;
    p.reset_after = cell == Cell::kGru && lbr;
    p.has_bias = true;
    // x as [batch, steps, input].
    // The input, weights and states in Keras's layout for the Layers kernel.
    std::vector<float> xs, kernel, recurrent, bias, hs, cs, y, h_last, c_last, start_h, start_c;
    for (auto [v, n] : {std::pair{&xs, batch * seq * isz}, {&kernel, isz * GH}, {&recurrent, hidden * GH}, {&bias, rnn_bias_size(p)},
                        {&hs, batch * hidden}, {&cs, batch * hidden}, {&y, batch * seq * hidden}, {&h_last, batch * hidden},
                        {&c_last, batch * hidden}})
      KILN_RETURN_IF_ERROR(resize_or_error(v, n, "working memory"));
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t n = 0; n < batch; ++n)
        std::memcpy(&xs[size_t((n * seq + t) * isz)], x.data<float>() + (layout ? n * seq + t : t * batch + n) * isz,
                    size_t(isz) * sizeof(float));
    auto state = [&](const OnnxValue* v, int64_t d, std::vector<float>* dst) {
      if (!v) return dst->clear();
      dst->resize(size_t(batch * hidden));
      for (int64_t n = 0; n < batch; ++n)
        std::memcpy(&(*dst)[size_t(n * hidden)], v->data<float>() + (layout ? (n * dirs + d) : (d * batch + n)) * hidden,
                    size_t(hidden) * sizeof(float));
    };
    for (int64_t d = 0; d < dirs; ++d) {
      const float* W = w.data<float>() + d * GH * isz;
      const float* R = r.data<float>() + d * GH * hidden;
      const float* B = b ? b->data<float>() + d * 2 * GH : nullptr;
      for (int64_t k = 0; k < G; ++k) {
        const int64_t kb = keras_block(k);
        for (int64_t j = 0; j < hidden; ++j) {
          const int64_t row = k * hidden + j, col = kb * hidden + j;
          for (int64_t i = 0; i < isz; ++i) kernel[size_t(i * GH + col)] = W[row * isz + i];
          for (int64_t i = 0; i < hidden; ++i) recurrent[size_t(i * GH + col)] = R[row * hidden + i];
          if (!B) continue;
          if (p.reset_after) bias[size_t(col)] = B[row], bias[size_t(GH + col)] = B[GH + row];  // input row, recurrent row
          else bias[size_t(col)] = B[row] + B[GH + row];
        }
      }
      state(h0, d, &start_h);
      state(c0, d, &start_c);
      p.go_backwards = reverse_only || d == 1;
      rnn_forward(p, xs.data(), start_h.empty() ? nullptr : start_h.data(), start_c.empty() ? nullptr : start_c.data(),
                  kernel.data(), recurrent.data(), bias.data(), y.data(), h_last.data(), cell == Cell::kLstm ? c_last.data() : nullptr,
                  nullptr);
      // y_seq is in processing order: backwards, step k consumed x[seq - 1 - k].
      if (out->size() > 0 && (*out)[0].defined())
        for (int64_t k = 0; k < seq; ++k) {
          const int64_t t = p.go_backwards ? seq - 1 - k : k;
          for (int64_t n = 0; n < batch; ++n)
            std::memcpy((*out)[0].data<float>() + (layout ? ((n * seq + t) * dirs + d) : ((t * dirs + d) * batch + n)) * hidden,
                        &y[size_t((n * seq + k) * hidden)], size_t(hidden) * sizeof(float));
        }
      for (size_t o = 1; o < out->size() && o < 3; ++o) {
        if (!(*out)[o].defined() || (o == 2 && cell != Cell::kLstm)) continue;
        const std::vector<float>& src = o == 1 ? h_last : c_last;
        for (int64_t n = 0; n < batch; ++n)
          std::memcpy((*out)[o].data<float>() + (layout ? (n * dirs + d) : (d * batch + n)) * hidden, &src[size_t(n * hidden)],
                      size_t(hidden) * sizeof(float));
      }
    }
    return Status();
  }
};

Status recurrent(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, Cell cell) {
  for (size_t i = 0; i < 3; ++i) KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  auto opt = [&](size_t i) -> const OnnxValue* { return i < in.size() && in[i] && in[i]->defined() ? in[i] : nullptr; };
  const OnnxValue &x = *in[0], &w = *in[1], &r = *in[2];
  const OnnxValue *b = opt(3), *seq_lens = opt(4), *h0 = opt(5);
  const OnnxValue* c0 = cell == Cell::kLstm ? opt(6) : nullptr;
  const OnnxValue* peep = cell == Cell::kLstm ? opt(7) : nullptr;
  const int64_t gates = cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 3 : 4;
  const int64_t hidden = ctx.get_int("hidden_size", 0);
  const int64_t layout = ctx.get_int("layout", 0);
  const std::string direction = ctx.get_string("direction", "forward");
  const int64_t dirs = direction == "bidirectional" ? 2 : 1;
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional") return ctx.error("unknown direction '" + direction + "'");
  if (x.rank() != 3 || w.rank() != 3 || r.rank() != 3) return ctx.error("X, W and R must have rank 3");
  if (w.type() != x.type() || r.type() != x.type()) return ctx.error("X, W and R must share a type");
  const int64_t seq = layout ? x.shape()[1] : x.shape()[0], batch = layout ? x.shape()[0] : x.shape()[1], isz = x.shape()[2];
  if (hidden <= 0 || w.shape() != OnnxShape{dirs, gates * hidden, isz} || r.shape() != OnnxShape{dirs, gates * hidden, hidden})
    return ctx.error("W or R shape does not match hidden_size / direction / input size");
  if (b && b->shape() != OnnxShape{dirs, 2 * gates * hidden}) return ctx.error("B has the wrong shape");
  if (peep && peep->shape() != OnnxShape{dirs, 3 * hidden}) return ctx.error("P has the wrong shape");
  const OnnxShape state_shape = layout ? OnnxShape{batch, dirs, hidden} : OnnxShape{dirs, batch, hidden};
  if ((h0 && h0->shape() != state_shape) || (c0 && c0->shape() != state_shape)) return ctx.error("initial state has the wrong shape");
  std::vector<int64_t> lens(size_t(batch), seq);
  if (seq_lens) {
    KILN_RETURN_IF_ERROR(seq_lens->to_int64s(&lens));
    if (int64_t(lens.size()) != batch) return ctx.error("sequence_lens must have batch_size entries");
    for (int64_t& l : lens) l = std::max<int64_t>(0, std::min(l, seq));
  }
  // Activations: per direction, the cell's count of functions.
  const int64_t nact = cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 2 : 3;
  std::vector<std::string> names;
  if (const OnnxAttribute* a = ctx.attr("activations")) names = a->strings;
  if (names.empty()) {
    const char* dflt[3] = {"Sigmoid", "Tanh", "Tanh"};
    for (int64_t d = 0; d < dirs; ++d)
      for (int64_t i = 0; i < nact; ++i) names.push_back(cell == Cell::kRnn ? "Tanh" : dflt[i]);
  }
  if (int64_t(names.size()) != nact * dirs) return ctx.error("activations must list " + std::to_string(nact * dirs) + " functions");
  const std::vector<float> alphas = ctx.get_floats("activation_alpha"), betas = ctx.get_floats("activation_beta");
  std::vector<Activation> acts(names.size());
  size_t ai = 0, bi = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    acts[i].name = names[i];
    int np;
    if (!known_activation(names[i], &acts[i].alpha, &acts[i].beta, &np)) return ctx.error("unsupported activation '" + names[i] + "'");
    if (np >= 1 && ai < alphas.size()) acts[i].alpha = alphas[ai++];
    if (np >= 2 && bi < betas.size()) acts[i].beta = betas[bi++];
  }
  const bool has_clip = ctx.has("clip");
  const double clip = ctx.get_float("clip", 0.0f);
  const bool input_forget = ctx.get_int("input_forget", 0) != 0;
  const bool lbr = ctx.get_int("linear_before_reset", 0) != 0;

  const OnnxShape yshape = layout ? OnnxShape{batch, seq, dirs, hidden} : OnnxShape{seq, dirs, batch, hidden};
  if (out->size() > 0) KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), yshape, &(*out)[0]));
  if (out->size() > 1) KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), state_shape, &(*out)[1]));
  if (cell == Cell::kLstm && out->size() > 2) KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), state_shape, &(*out)[2]));

  // The usual case (float32, default activations, no clip, peepholes,
  // input_forget or ragged lengths) runs on the fast sequence kernels.
  bool full_lengths = true;
  for (int64_t l : lens) full_lengths = full_lengths && l == seq;
  bool default_acts = true;
  for (int64_t d = 0; d < dirs; ++d)
    for (int64_t i = 0; i < nact; ++i)
      default_acts = default_acts && names[size_t(d * nact + i)] == (cell == Cell::kRnn || i > 0 ? "Tanh" : "Sigmoid");
  if (x.type() == DataType::kFloat32 && full_lengths && default_acts && !has_clip && !input_forget && !peep && seq > 0) {
    FastRecurrent f{cell, seq, batch, isz, hidden, dirs, layout, lbr, direction == "reverse"};
    return f.run(x, w, r, b, h0, c0, out);
  }

  const bool ok = onnx_dispatch_float(x.type(), [&](auto zero) {
    using T = decltype(zero);
    auto xat = [&](int64_t t, int64_t bb, int64_t i) { return double(x.data<T>()[(layout ? bb * seq + t : t * batch + bb) * isz + i]); };
    auto sidx = [&](int64_t d, int64_t bb) { return layout ? (bb * dirs + d) * hidden : (d * batch + bb) * hidden; };
    auto yidx = [&](int64_t t, int64_t d, int64_t bb) { return layout ? ((bb * seq + t) * dirs + d) * hidden : ((t * dirs + d) * batch + bb) * hidden; };
    auto clipv = [&](double v) { return has_clip ? std::max(-clip, std::min(clip, v)) : v; };
    for (int64_t d = 0; d < dirs; ++d) {
      const bool reverse = direction == "reverse" || d == 1;
      const T* W = w.data<T>() + d * gates * hidden * isz;
      const T* R = r.data<T>() + d * gates * hidden * hidden;
      const T* B = b ? b->data<T>() + d * 2 * gates * hidden : nullptr;
      const T* P = peep ? peep->data<T>() + d * 3 * hidden : nullptr;
      const Activation* f = &acts[size_t(d * nact)];
      for (int64_t bb = 0; bb < batch; ++bb) {
        std::vector<double> h(size_t(hidden), 0.0), cst(size_t(hidden), 0.0), gx(size_t(gates * hidden)), gh(size_t(gates * hidden));
        if (h0) for (int64_t j = 0; j < hidden; ++j) h[size_t(j)] = double(h0->data<T>()[sidx(d, bb) + j]);
        if (c0) for (int64_t j = 0; j < hidden; ++j) cst[size_t(j)] = double(c0->data<T>()[sidx(d, bb) + j]);
        const int64_t len = lens[size_t(bb)];
        for (int64_t step = 0; step < len; ++step) {
          const int64_t t = reverse ? len - 1 - step : step;
          for (int64_t g = 0; g < gates * hidden; ++g) {
            double ax = B ? double(B[g]) : 0.0, ah = B ? double(B[gates * hidden + g]) : 0.0;
            for (int64_t i = 0; i < isz; ++i) ax += xat(t, bb, i) * double(W[g * isz + i]);
            for (int64_t i = 0; i < hidden; ++i) ah += h[size_t(i)] * double(R[g * hidden + i]);
            gx[size_t(g)] = ax, gh[size_t(g)] = ah;
          }
          std::vector<double> nh(static_cast<size_t>(hidden));
          for (int64_t j = 0; j < hidden; ++j) {
            const size_t J = size_t(j), Hs = size_t(hidden);
            if (cell == Cell::kRnn) {
              nh[J] = f[0](clipv(gx[J] + gh[J]));
            } else if (cell == Cell::kGru) {
              if (!lbr) continue;  // needs r for every unit: computed after this loop
              const double z = f[0](clipv(gx[J] + gh[J]));
              const double rr = f[0](clipv(gx[Hs + J] + gh[Hs + J]));
              const double hh = f[1](clipv(gx[2 * Hs + J] + rr * gh[2 * Hs + J]));
              nh[J] = (1 - z) * hh + z * h[J];
            } else {
              const double ci = P ? double(P[j]) : 0.0, co = P ? double(P[hidden + j]) : 0.0, cf = P ? double(P[2 * hidden + j]) : 0.0;
              const double ig = f[0](clipv(gx[J] + gh[J] + ci * cst[J]));
              double fg = f[0](clipv(gx[2 * Hs + J] + gh[2 * Hs + J] + cf * cst[J]));
              if (input_forget) fg = 1.0 - ig;
              const double cc = f[1](clipv(gx[3 * Hs + J] + gh[3 * Hs + J]));
              const double c = fg * cst[J] + ig * cc;
              const double og = f[0](clipv(gx[Hs + J] + gh[Hs + J] + co * c));
              cst[J] = c;
              nh[J] = og * f[2](c);
            }
          }
          if (cell == Cell::kGru && !lbr) {
            // ht = g(Xt Wh + (rt . Ht-1) Rh + Rbh + Wbh)
            std::vector<double> rh(static_cast<size_t>(hidden));
            for (int64_t j = 0; j < hidden; ++j) rh[size_t(j)] = f[0](clipv(gx[size_t(hidden + j)] + gh[size_t(hidden + j)])) * h[size_t(j)];
            for (int64_t j = 0; j < hidden; ++j) {
              double a = B ? double(B[gates * hidden + 2 * hidden + j]) : 0.0;
              for (int64_t i = 0; i < hidden; ++i) a += rh[size_t(i)] * double(R[(2 * hidden + j) * hidden + i]);
              const double z = f[0](clipv(gx[size_t(j)] + gh[size_t(j)]));
              const double hh = f[1](clipv(gx[size_t(2 * hidden + j)] + a));
              nh[size_t(j)] = (1 - z) * hh + z * h[size_t(j)];
            }
          }
          h = nh;
          if (out->size() > 0 && (*out)[0].defined())
            for (int64_t j = 0; j < hidden; ++j) (*out)[0].data<T>()[yidx(t, d, bb) + j] = T(h[size_t(j)]);
        }
        if (out->size() > 1 && (*out)[1].defined())
          for (int64_t j = 0; j < hidden; ++j) (*out)[1].data<T>()[sidx(d, bb) + j] = T(h[size_t(j)]);
        if (cell == Cell::kLstm && out->size() > 2 && (*out)[2].defined())
          for (int64_t j = 0; j < hidden; ++j) (*out)[2].data<T>()[sidx(d, bb) + j] = T(cst[size_t(j)]);
      }
    }
  });
  if (!ok) return ctx.error("expects float tensors, got " + dtype_name(x.type()));
  return Status();
}

Status op_rnn(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { return recurrent(ctx, in, out, Cell::kRnn); }
Status op_gru(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { return recurrent(ctx, in, out, Cell::kGru); }
Status op_lstm(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { return recurrent(ctx, in, out, Cell::kLstm); }

const OnnxOpEntry kOps[] = {
    {"RNN", op_rnn},
    {"GRU", op_gru},
    {"LSTM", op_lstm},
};

}  // namespace

OnnxOpTable onnx_rnn_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
