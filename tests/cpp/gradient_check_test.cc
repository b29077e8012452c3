// Model::gradients (the autodiff graph) against central finite differences of
// the loss Model::evaluate computes (a different plan), for every activation
// in a hidden and in the output layer and every loss, on odd sizes (batch 1
// and 3, widths 1, 3 and 17).
//
// Finite differences in float32 are noisy, so each weight is checked with two
// step sizes (1e-2: small rounding error, 3e-3: small truncation error) and
// passes if either agrees with the analytic gradient to 3e-4 + 1% of its
// size (the 3e-4 scaled by the loss where that is above 1). A step whose +-h
// interval would cross a kink (a ReLU-like input crossing its corner, an
// absolute error or hinge margin crossing zero, the column that holds
// categoricalHinge's max changing; found with a double-precision forward
// pass) is not used: finite differences are meaningless there. Few weights
// may end up unchecked.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "api/model.h"
#include "core/rng.h"

namespace kiln {
namespace {

constexpr double kSteps[] = {1e-2, 3e-3};
constexpr double kAbsTol = 3e-4, kRelTol = 1e-2;

struct Sizes {
  int64_t batch, input, hidden, output;
};

double activate(Activation act, double z) {
  switch (act) {
    case Activation::kRelu: return std::max(z, 0.0);
    case Activation::kSigmoid: return 1 / (1 + std::exp(-z));
    case Activation::kTanh: return std::tanh(z);
    case Activation::kRelu6: return std::min(std::max(z, 0.0), 6.0);
    case Activation::kElu: return z > 0 ? z : std::expm1(z);
    case Activation::kSelu: return 1.0507009873554805 * (z > 0 ? z : 1.6732632423543772 * std::expm1(z));
    case Activation::kGelu: return 0.5 * z * (1 + std::erf(z / std::sqrt(2.0)));
    case Activation::kSwish: return z / (1 + std::exp(-z));
    case Activation::kMish: return z * std::tanh(std::log1p(std::exp(z)));
    case Activation::kHardSigmoid: return std::min(std::max(0.2 * z + 0.5, 0.0), 1.0);
    case Activation::kSoftplus: return std::log1p(std::exp(z));
    case Activation::kSoftsign: return z / (1 + std::fabs(z));
    case Activation::kExponential: return std::exp(z);
    case Activation::kLeakyRelu: return z > 0 ? z : 0.2 * z;
    default: return z;  // linear; row-wise ones are applied by the caller
  }
}

// Where an activation's derivative jumps.
std::vector<double> kinks(Activation act) {
  switch (act) {
    case Activation::kRelu:
    case Activation::kLeakyRelu:
    case Activation::kSelu: return {0.0};  // selu's slope is 1.05 above 0 and 1.76 below
    case Activation::kRelu6: return {0.0, 6.0};
    case Activation::kHardSigmoid: return {-2.5, 2.5};
    default: return {};
  }
}

// Signed distances to every kink of the model (activation inputs, and the
// loss's own kinks at the output), from a double-precision forward pass: a
// finite-difference step that flips a sign straddles a kink.
std::vector<double> kink_distances(const std::vector<DenseLayerSpec>& layers, int64_t input_dim, LossKind loss,
                                   const std::vector<std::vector<float>>& w, const std::vector<float>& x,
                                   const std::vector<float>& y, int64_t batch) {
  std::vector<double> out;
  std::vector<double> h(x.begin(), x.end());
  int64_t fan_in = input_dim;
  size_t wi = 0;
  for (const DenseLayerSpec& l : layers) {
    const std::vector<float>& k = w[wi++];
    const std::vector<float>* b = l.use_bias ? &w[wi++] : nullptr;
    std::vector<double> z(size_t(batch * l.units));
    for (int64_t r = 0; r < batch; ++r)
      for (int64_t u = 0; u < l.units; ++u) {
        double s = b ? double((*b)[size_t(u)]) : 0.0;
        for (int64_t i = 0; i < fan_in; ++i) s += h[size_t(r * fan_in + i)] * double(k[size_t(i * l.units + u)]);
        z[size_t(r * l.units + u)] = s;
      }
    for (double kink : kinks(l.activation))
      for (double v : z) out.push_back(v - kink);
    for (int64_t r = 0; r < batch; ++r) {
      double* row = z.data() + r * l.units;
      if (activation_is_rowwise(l.activation)) {
        double mx = *std::max_element(row, row + l.units), sum = 0;
        for (int64_t u = 0; u < l.units; ++u) sum += std::exp(row[u] - mx);
        for (int64_t u = 0; u < l.units; ++u)
          row[u] = l.activation == Activation::kSoftmax ? std::exp(row[u] - mx) / sum : row[u] - mx - std::log(sum);
      } else {
        for (int64_t u = 0; u < l.units; ++u) row[u] = activate(l.activation, row[u]);
      }
    }
    h = z;
    fan_in = l.units;
  }
  for (size_t i = 0; i < h.size(); ++i) {
    if (loss == LossKind::kMeanAbsoluteError || loss == LossKind::kMeanAbsolutePercentageError)
      out.push_back(h[i] - y[i]);
    // squaredHinge's first derivative is continuous, its second is not: too
    // rough for these step sizes across the corner.
    if (loss == LossKind::kHinge || loss == LossKind::kSquaredHinge) out.push_back(1 - y[i] * h[i]);
    if (loss == LossKind::kMeanSquaredLogarithmicError) out.push_back(h[i] - 1e-7);
  }
  if (loss == LossKind::kCategoricalHinge) {
    // The margin 1 + max (1 - y) p - sum y p, and which column holds the max.
    const int64_t cols = int64_t(h.size()) / batch;
    for (int64_t r = 0; r < batch; ++r) {
      std::vector<double> neg(static_cast<size_t>(cols));
      double pos = 0;
      for (int64_t c = 0; c < cols; ++c) {
        const size_t i = size_t(r * cols + c);
        neg[size_t(c)] = (1 - double(y[i])) * h[i];
        pos += double(y[i]) * h[i];
      }
      const double mx = *std::max_element(neg.begin(), neg.end());
      out.push_back(1 + mx - pos);
      for (int64_t c = 0; c < cols; ++c) {
        double other = -INFINITY;
        for (int64_t d = 0; d < cols; ++d)
          if (d != c) other = std::max(other, neg[size_t(d)]);
        if (cols > 1) out.push_back(neg[size_t(c)] - other);
      }
    }
  }
  return out;
}

bool same_signs(const std::vector<double>& a, const std::vector<double>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if ((a[i] > 0) != (b[i] > 0)) return false;
  return true;
}

struct CheckStats {
  int64_t checked = 0, skipped = 0;
  double worst = 0;  // largest |fd - g| / (abs + rel |g|) over checked weights
};

// Checks every weight of a model; returns through gtest assertions.
void check_model(const std::string& label, int64_t input_dim, const std::vector<DenseLayerSpec>& layers, LossKind loss,
                 int64_t batch, uint64_t seed, CheckStats* stats) {
  SCOPED_TRACE(label);
  Rng rng(seed);
  std::unique_ptr<Model> m;
  Status st = Model::create_dense(input_dim, layers, seed, &m);
  ASSERT_TRUE(st.ok()) << st.message();
  TrainingConfig config;
  config.loss = loss;
  ASSERT_TRUE(m->compile(config).ok());

  // Weights: uniform, scaled by fan-in so activations stay out of saturation.
  std::vector<std::vector<float>> w(m->num_weights());
  for (size_t i = 0; i < m->num_weights(); ++i) {
    const Shape& s = m->weight_shape(i);
    const double scale = s.size() == 2 ? 1.5 / std::sqrt(double(s[0])) : 0.5;
    w[i].resize(size_t(shape_numel(s)));
    for (float& v : w[i]) v = float((rng.uniform() * 2 - 1) * scale);
    ASSERT_TRUE(m->set_weight(i, w[i].data(), int64_t(w[i].size())).ok());
  }
  const int64_t out = m->output_dim();
  std::vector<float> x(size_t(batch * input_dim)), y(size_t(batch * m->target_dim()));
  for (float& v : x) v = float(rng.uniform() * 2 - 1);
  if (loss == LossKind::kSparseCategoricalCrossentropy) {
    for (float& v : y) v = float(rng.below(uint32_t(out)));
  } else if (loss == LossKind::kCategoricalCrossentropy && layers.back().activation == Activation::kSoftmax) {
    // Soft targets: a distribution per row, scaled so that rows need not sum
    // to 1 (the loss is -sum t log softmax(z) either way).
    for (int64_t r = 0; r < batch; ++r) {
      double sum = 0;
      for (int64_t c = 0; c < out; ++c) sum += (y[size_t(r * out + c)] = float(rng.uniform() + 0.05));
      const double row_sum = seed % 2 ? 1.0 : 0.5 + rng.uniform();
      for (int64_t c = 0; c < out; ++c) y[size_t(r * out + c)] = float(y[size_t(r * out + c)] / sum * row_sum);
    }
  } else if (loss == LossKind::kCategoricalCrossentropy || loss == LossKind::kBinaryCrossentropy ||
             loss == LossKind::kKullbackLeiblerDivergence || loss == LossKind::kCategoricalHinge) {
    for (float& v : y) v = float(rng.uniform());
  } else if (loss == LossKind::kHinge || loss == LossKind::kSquaredHinge ||
             loss == LossKind::kMeanAbsolutePercentageError) {
    for (float& v : y) v = float((rng.below(2) ? 1 : -1) * (0.5 + rng.uniform()));
  } else if (loss == LossKind::kMeanSquaredLogarithmicError) {
    for (float& v : y) v = float(rng.uniform() * 2.5 - 0.5);  // some below epsilon: clipped
  } else if (loss == LossKind::kPoisson) {
    for (float& v : y) v = float(rng.uniform() * 3);
  } else if (loss == LossKind::kMeanAbsoluteError || loss == LossKind::kHuberLoss || loss == LossKind::kLogcosh) {
    for (float& v : y) v = float(rng.uniform() * 4 - 2);  // |error| on both sides of Huber's delta
  } else {
    for (float& v : y) v = float(rng.uniform() * 2 - 1);
  }

  float loss0 = NAN;
  std::vector<std::vector<float>> grads;
  st = m->gradients(x.data(), y.data(), batch, &loss0, &grads);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(grads.size(), w.size());
  float eval_loss = NAN, acc = NAN;
  ASSERT_TRUE(m->evaluate(x.data(), y.data(), batch, &eval_loss, &acc).ok());
  ASSERT_NEAR(eval_loss, loss0, 1e-6 * std::max(1.0f, std::fabs(loss0)));

  const std::vector<double> base_pre = kink_distances(layers, input_dim, loss, w, x, y, batch);
  // Rounding the float32 loss puts noise proportional to its size into the
  // differences (meanAbsolutePercentageError is in percent: ~100).
  const double loss_scale = std::max(1.0, std::fabs(double(loss0)));

  for (size_t i = 0; i < w.size(); ++i) {
    const float* wd = m->weight_data(i);
    // Writes go through a fresh writable view: it tells the model its weights changed.
    auto set = [&](size_t j, float v) { m->mutable_weight_data(i)[j] = v; };
    for (size_t j = 0; j < w[i].size(); ++j) {
      const float orig = wd[j];
      const double g = grads[i][j];
      const double tol = kAbsTol * loss_scale + kRelTol * std::fabs(g);
      double best = INFINITY;
      bool any_valid = false;
      for (double h : kSteps) {
        const float wp = float(orig + h), wm = float(orig - h);
        if (!base_pre.empty()) {
          auto wt = w;
          wt[i][j] = wp;
          bool ok = same_signs(base_pre, kink_distances(layers, input_dim, loss, wt, x, y, batch));
          wt[i][j] = wm;
          ok = ok && same_signs(base_pre, kink_distances(layers, input_dim, loss, wt, x, y, batch));
          if (!ok) continue;
        }
        any_valid = true;
        float lp = NAN, lm = NAN;
        set(j, wp);
        ASSERT_TRUE(m->evaluate(x.data(), y.data(), batch, &lp, &acc).ok());
        set(j, wm);
        ASSERT_TRUE(m->evaluate(x.data(), y.data(), batch, &lm, &acc).ok());
        set(j, orig);
        const double fd = (double(lp) - double(lm)) / (double(wp) - double(wm));
        best = std::min(best, std::fabs(fd - g));
        if (best <= tol) break;
      }
      if (!any_valid) {
        ++stats->skipped;
        continue;
      }
      ++stats->checked;
      stats->worst = std::max(stats->worst, best / tol);
      EXPECT_LE(best, tol) << "weight " << i << " (shape " << shape_to_string(m->weight_shape(i)) << ") element " << j
                           << ": analytic " << g << ", finite differences differ by " << best;
    }
  }
}

struct OutputCase {
  Activation act;
  LossKind loss;
};

TEST(GradientCheck, EveryActivationAndLossOnOddSizes) {
  std::vector<Activation> hidden_acts;
  for (int a = 0; a < kNumActivations; ++a) hidden_acts.push_back(Activation(a));
  const OutputCase outputs[] = {
      {Activation::kSoftmax, LossKind::kCategoricalCrossentropy},        // fused log-softmax
      {Activation::kSigmoid, LossKind::kCategoricalCrossentropy},        // clipped log of probabilities
      {Activation::kSoftmax, LossKind::kSparseCategoricalCrossentropy},  // fused, class indices
      {Activation::kSigmoid, LossKind::kSparseCategoricalCrossentropy},  // clipped, class indices
      {Activation::kLinear, LossKind::kMeanSquaredError},
      {Activation::kRelu, LossKind::kMeanSquaredError},
      {Activation::kSigmoid, LossKind::kMeanSquaredError},
      {Activation::kTanh, LossKind::kMeanSquaredError},
      {Activation::kSoftmax, LossKind::kMeanSquaredError},  // softmax backward on its own
      {Activation::kLogSoftmax, LossKind::kMeanSquaredError},
      {Activation::kGelu, LossKind::kMeanSquaredError},  // gradient from the activation's input
      {Activation::kSigmoid, LossKind::kBinaryCrossentropy},  // fused from the logits
      {Activation::kSoftmax, LossKind::kBinaryCrossentropy},  // clipped probabilities
      {Activation::kLinear, LossKind::kMeanAbsoluteError},
      {Activation::kElu, LossKind::kHuberLoss},
      {Activation::kTanh, LossKind::kHinge},
      {Activation::kSoftmax, LossKind::kKullbackLeiblerDivergence},
      {Activation::kSigmoid, LossKind::kKullbackLeiblerDivergence},
      {Activation::kLinear, LossKind::kCosineProximity},
      {Activation::kSwish, LossKind::kCosineProximity},
      {Activation::kTanh, LossKind::kSquaredHinge},
      {Activation::kLinear, LossKind::kCategoricalHinge},
      {Activation::kSoftmax, LossKind::kCategoricalHinge},
      {Activation::kLinear, LossKind::kLogcosh},
      {Activation::kSoftplus, LossKind::kMeanSquaredLogarithmicError},
      {Activation::kLinear, LossKind::kMeanAbsolutePercentageError},
      {Activation::kExponential, LossKind::kPoisson},
  };
  const Sizes sizes[] = {{1, 3, 1, 3}, {3, 1, 17, 1}, {1, 17, 3, 17}, {3, 3, 3, 3}, {1, 1, 17, 17}, {3, 17, 1, 1}};
  CheckStats stats;
  int k = 0, models = 0;
  for (Activation ha : hidden_acts) {
    for (const OutputCase& oc : outputs) {
      for (int rep = 0; rep < 2; ++rep, ++k) {
        const Sizes& s = sizes[size_t(k) % 6];
        std::vector<DenseLayerSpec> layers(2);
        layers[0].units = s.hidden;
        layers[0].activation = ha;
        layers[0].use_bias = k % 5 != 4;  // now and then a layer without bias
        layers[1].units = s.output;
        layers[1].activation = oc.act;
        const std::string label = std::string(activation_name(ha)) + " -> " + activation_name(oc.act) + " + " +
                                  loss_name(oc.loss) + ", batch " + std::to_string(s.batch) + ", widths " +
                                  std::to_string(s.input) + "/" + std::to_string(s.hidden) + "/" + std::to_string(s.output);
        check_model(label, s.input, layers, oc.loss, s.batch, 1000 + uint64_t(k), &stats);
        ++models;
      }
    }
  }
  std::printf("[ gradchk  ] %d models, %lld weights checked, %lld skipped at kinks, worst error/tolerance %.3g\n",
              models, (long long)stats.checked, (long long)stats.skipped, stats.worst);
  EXPECT_LE(stats.skipped * 50, stats.checked) << "too many weights skipped near kinks";
}

TEST(GradientCheck, DeepMixedModel) {
  // Four layers: gradients flow back through every activation rule in turn.
  std::vector<DenseLayerSpec> layers(4);
  layers[0].units = 17, layers[0].activation = Activation::kTanh;
  layers[1].units = 3, layers[1].activation = Activation::kRelu, layers[1].use_bias = false;
  layers[2].units = 17, layers[2].activation = Activation::kSigmoid;
  layers[3].units = 3, layers[3].activation = Activation::kSoftmax;
  CheckStats stats;
  for (LossKind loss : {LossKind::kCategoricalCrossentropy, LossKind::kSparseCategoricalCrossentropy,
                        LossKind::kMeanSquaredError})
    for (int64_t batch : {1, 3})
      check_model(std::string("deep ") + loss_name(loss) + " batch " + std::to_string(batch), 5, layers, loss, batch,
                  77 + uint64_t(batch), &stats);
  EXPECT_GT(stats.checked, 0);
  EXPECT_LE(stats.skipped * 20, stats.checked);
}

}  // namespace
}  // namespace kiln
