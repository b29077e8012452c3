// Training-time noise: Dropout (and its spatial variants, which are Dropout
// with a noise shape), GaussianNoise, GaussianDropout and AlphaDropout. Layers
// add these ops only when training; at inference they pass the input through.
//
// Each op but GaussianNoise draws a multiplier m shaped like the noise shape
// (the input shape, with size 1 on axes sharing one draw) and saves it as its
// second output, so the backward pass is dx = dy * m (broadcast):
//  * Dropout: m = 1 / (1 - rate) with probability 1 - rate, else 0 (inverted
//    dropout, TF.js's K.dropout);
//  * GaussianDropout: m ~ N(1, sqrt(rate / (1 - rate)));
//  * AlphaDropout (Keras's formula): kept with probability 1 - rate,
//    y = a * x + b where kept and a * alpha' + b where dropped, with
//    alpha' = -1.7580993408473766 (SELU's negative saturation),
//    a = ((1 - rate) * (1 + rate * alpha'^2))^-1/2, b = -a * alpha' * rate;
//    m = a where kept, 0 where dropped. (TF.js's AlphaDropout sets dropped
//    units to -alpha', a sign slip; Kiln follows Keras and the paper.)
// GaussianNoise: y = x + N(0, stddev), dx = dy, nothing saved.
//
// Random numbers come from OpForwardArgs::rng (the model's generator), drawn
// in element order, so a seeded model trains reproducibly. A plan compiled
// without a generator uses a fixed-seed one (the same draws every run).
#pragma once
#include <vector>

#include "graph/op.h"

namespace kiln {

enum class NoiseKind { kDropout, kGaussianNoise, kGaussianDropout, kAlphaDropout };

class NoiseOp : public Op {
 public:
  // `param`: the rate (stddev for GaussianNoise). `shared_axes`: one flag per
  // input axis (batch included), true where the draw is shared; empty means none.
  NoiseOp(NoiseKind kind, double param, std::vector<bool> shared_axes = {})
      : kind_(kind), param_(param), shared_(std::move(shared_axes)) {}
  std::string name() const override;
  bool deterministic() const override { return false; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  Shape noise_shape(const Shape& in) const;
  NoiseKind kind_;
  double param_;
  std::vector<bool> shared_;
};

// AlphaDropout's constants for a rate: the kept scale a, the shift b, and the
// value of a dropped unit, a * alpha' + b.
void alpha_dropout_constants(double rate, float* a, float* b, float* dropped);

}  // namespace kiln
