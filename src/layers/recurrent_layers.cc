// SimpleRNN, LSTM and GRU layers: configuration, weights and state; the
// sequence itself runs as one RnnOp (src/ops/rnn_op.h).
#include "layers/recurrent_layers.h"

#include <algorithm>
#include <map>

#include "layers/config.h"
#include "ops/dropout.h"
#include "ops/rnn_op.h"

namespace kiln {

namespace {

class RecurrentLayer : public Layer {
 public:
  RnnAttrs attrs;
  bool return_state = false;
  double dropout = 0;
  bool unit_forget_bias = false;
  Initializer kernel_init = Initializer::kGlorotUniform, recurrent_init = Initializer::kOrthogonal,
              bias_init = Initializer::kZeros;

  const char* class_name() const override { return rnn_cell_name(attrs.cell); }
  MaskMode mask_mode() const override { return MaskMode::kOwn; }
  int num_states() const { return attrs.cell == RnnCell::kLstm ? 2 : 1; }

  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>* weights, std::vector<Shape>* outputs) override {
    if (in.empty() || in[0].size() != 2)
      return error("expects an input of shape [steps, features] (batch excluded)" +
                   (in.empty() ? std::string() : ", got " + shape_to_string(in[0])));
    if (in.size() != 1 && in.size() != size_t(1 + num_states()))
      return error("takes the sequence and optionally its " + std::to_string(num_states()) + " initial state(s), got " +
                   std::to_string(in.size()) + " inputs");
    const int64_t u = attrs.units, g = rnn_gates(attrs.cell), features = in[0][1];
    for (size_t s = 1; s < in.size(); ++s)
      if (in[s] != Shape{u}) return error("an initial state must have shape [" + std::to_string(u) + "], got " + shape_to_string(in[s]));
    if (attrs.stateful && in.size() > 1) return error("a stateful layer keeps its own state: it takes no initial state");
    weights->push_back({"kernel", {features, g * u}, kernel_init, features, g * u, true});
    weights->push_back({"recurrent_kernel", {u, g * u}, recurrent_init, u, g * u, true});
    if (attrs.has_bias) {
      const Shape bias_shape = attrs.reset_after ? Shape{2, g * u} : Shape{g * u};
      WeightSpec bias{"bias", bias_shape, bias_init, features, g * u, true};
      if (unit_forget_bias) {
        const Initializer init = bias_init;
        const Shape shape = bias_shape;
        bias.custom_init = [init, shape, u](float* data, Rng& rng) {
          const int64_t n = shape_numel(shape);
          KILN_RETURN_IF_ERROR(initialize(init, data, shape, n, n, rng));
          std::fill(data + u, data + 2 * u, 1.0f);  // gate blocks i, f, c, o
          return Status();
        };
      }
      weights->push_back(bias);
    }
    outputs->assign(1, attrs.return_sequences ? Shape{in[0][0], u} : Shape{u});
    if (return_state) outputs->insert(outputs->end(), size_t(num_states()), Shape{u});
    return Status();
  }

  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    Graph& g = *ctx.graph;
    int x = in[0];
    if (ctx.training && dropout > 0)  // Keras: one input mask per sequence, shared by every step
      KILN_RETURN_IF_ERROR(g.op(std::make_shared<NoiseOp>(NoiseKind::kDropout, dropout, std::vector<bool>{false, true, false}),
                                {x}, &x));
    std::vector<int> inputs{x};
    inputs.insert(inputs.end(), ctx.weights.begin(), ctx.weights.end());
    RnnAttrs a = attrs;
    const int64_t batch = g.values()[size_t(x)].shape[0];
    if (attrs.stateful) {
      std::vector<float>& state = states_[batch];  // map nodes never move: plans keep pointers
      state.resize(size_t(num_states() * batch * attrs.units), 0.0f);
      for (int s = 0; s < num_states(); ++s) inputs.push_back(ctx.external({batch, attrs.units}, state.data() + s * batch * attrs.units));
      a.has_initial_state = true;
    } else if (in.size() > 1) {
      inputs.insert(inputs.end(), in.begin() + 1, in.end());
      a.has_initial_state = true;
    }
    const int mask = ctx.input_masks.empty() ? -1 : ctx.input_masks[0];
    if (mask >= 0) {
      inputs.push_back(mask);
      a.has_mask = true;
    }
    std::vector<int> results;
    KILN_RETURN_IF_ERROR(g.op(std::make_shared<RnnOp>(a), inputs, &results));
    out->assign(1, results[0]);
    if (return_state) out->insert(out->end(), results.begin() + 1, results.end());
    // TF.js: the sequence output keeps the mask; a last output or a state carries none.
    ctx.output_masks.assign(out->size(), -1);
    if (attrs.return_sequences) ctx.output_masks[0] = mask;
    return Status();
  }

  void reset_states() override {
    for (auto& [batch, state] : states_) std::fill(state.begin(), state.end(), 0.0f);
  }

 private:
  // Stateful layers: the states for each batch size a plan was built for.
  mutable std::map<int64_t, std::vector<float>> states_;
};

Status make_recurrent(RnnCell cell, const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<RecurrentLayer>();
  RnnAttrs& a = l->attrs;
  a.cell = cell;
  ConfigReader r(config, rnn_cell_name(cell));
  KILN_RETURN_IF_ERROR(r.get_int("units", 0, &a.units, 1, int64_t(1) << 20));
  if (a.units == 0) return Status::error(std::string(rnn_cell_name(cell)) + ": argument 'units' is required");
  KILN_RETURN_IF_ERROR(r.get_activation("activation", Activation::kTanh, &a.activation));
  if (cell != RnnCell::kSimple)
    KILN_RETURN_IF_ERROR(r.get_activation("recurrentActivation", Activation::kHardSigmoid, &a.recurrent_activation));
  KILN_RETURN_IF_ERROR(r.get_bool("useBias", true, &a.has_bias));
  KILN_RETURN_IF_ERROR(r.get_bool("returnSequences", false, &a.return_sequences));
  KILN_RETURN_IF_ERROR(r.get_bool("returnState", false, &l->return_state));
  KILN_RETURN_IF_ERROR(r.get_bool("goBackwards", false, &a.go_backwards));
  KILN_RETURN_IF_ERROR(r.get_bool("stateful", false, &a.stateful));
  if (cell == RnnCell::kGru) KILN_RETURN_IF_ERROR(r.get_bool("resetAfter", false, &a.reset_after));
  if (cell == RnnCell::kLstm) KILN_RETURN_IF_ERROR(r.get_bool("unitForgetBias", false, &l->unit_forget_bias));
  KILN_RETURN_IF_ERROR(r.get_initializer("kernelInitializer", Initializer::kGlorotNormal, &l->kernel_init));  // TF.js's default
  KILN_RETURN_IF_ERROR(r.get_initializer("recurrentInitializer", Initializer::kOrthogonal, &l->recurrent_init));
  KILN_RETURN_IF_ERROR(r.get_initializer("biasInitializer", Initializer::kZeros, &l->bias_init));
  KILN_RETURN_IF_ERROR(r.get_float("dropout", 0, &l->dropout));
  double recurrent_dropout = 0;
  KILN_RETURN_IF_ERROR(r.get_float("recurrentDropout", 0, &recurrent_dropout));
  if (l->dropout < 0 || l->dropout >= 1)
    return Status::error(std::string(rnn_cell_name(cell)) + ": argument 'dropout' must be in [0, 1)");
  if (recurrent_dropout != 0)
    return Status::error(std::string(rnn_cell_name(cell)) + ": argument 'recurrentDropout' is not supported (use 'dropout', or a Dropout layer between recurrent layers)");
  RnnParams p;
  p.cell = cell;
  p.units = a.units;
  p.input = 1;
  p.activation = a.activation;
  p.recurrent_activation = a.recurrent_activation;
  p.reset_after = a.reset_after;
  const Status st = rnn_check_params(p);
  if (!st.ok()) return Status::error(std::string(rnn_cell_name(cell)) + ": " + st.message());
  *out = std::move(l);
  return Status();
}

}  // namespace

Status make_simple_rnn(const Json& c, std::unique_ptr<Layer>* o) { return make_recurrent(RnnCell::kSimple, c, o); }
Status make_lstm(const Json& c, std::unique_ptr<Layer>* o) { return make_recurrent(RnnCell::kLstm, c, o); }
Status make_gru(const Json& c, std::unique_ptr<Layer>* o) { return make_recurrent(RnnCell::kGru, c, o); }

}  // namespace kiln
