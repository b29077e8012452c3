// A sequential model of dense layers: owns the parameters and optimizer state
// in one aligned buffer each, compiles (and caches) one execution plan per
// kind of call and batch size, and runs them. Status-based: the wasm C ABI
// and the throwing native API both sit on top of it.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "graph/plan.h"
#include "train/initializer.h"
#include "train/loss.h"
#include "train/optimizer.h"

namespace kiln {

struct DenseLayerSpec {
  int64_t units = 0;
  Activation activation = Activation::kLinear;
  bool use_bias = true;
  Initializer kernel_initializer = Initializer::kGlorotUniform;
  Initializer bias_initializer = Initializer::kZeros;
};

struct TrainingConfig {
  OptimizerConfig optimizer;
  LossKind loss = LossKind::kMeanSquaredError;
};

// Limits that keep a hostile model file or call from asking for absurd memory.
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxUnits = int64_t(1) << 24;
constexpr int64_t kMaxParams = int64_t(1) << 31;

class Model {
 public:
  static Status create(int64_t input_dim, const std::vector<DenseLayerSpec>& layers, uint64_t seed,
                       std::unique_ptr<Model>* out);

  Status compile(const TrainingConfig& config);
  bool compiled() const { return compiled_; }
  const TrainingConfig& training_config() const { return config_; }

  // The metrics train_batch and evaluate report, in order (accuracy alone by default).
  Status set_metrics(const std::vector<Metric>& metrics);
  const std::vector<Metric>& metrics() const { return metrics_; }

  // One optimizer step on rows `rows[0..count)` of x and y (all rows in order
  // when rows is null). loss gets the batch's mean loss, metrics[i] the
  // batch's value of metrics()[i].
  Status train_batch(const float* x, const float* y, const uint32_t* rows, int64_t count, float* loss,
                     float* metrics);
  // Mean loss and the metrics over n samples.
  Status evaluate(const float* x, const float* y, int64_t n, float* loss, float* metrics);
  // out: [n, output_dim].
  Status predict(const float* x, int64_t n, float* out);
  // d mean-loss / d weight for every weight (TF.js order), without updating.
  Status gradients(const float* x, const float* y, int64_t n, float* loss, std::vector<std::vector<float>>* grads);
  // Compiles and runs the plans a training loop and predict() will use.
  Status warmup(int64_t batch_size);

  void shuffle(uint32_t* indices, int64_t n);
  void reseed(uint64_t seed) { rng_.reseed(seed); }

  int64_t input_dim() const { return input_dim_; }
  int64_t output_dim() const { return layers_.back().units; }
  // Floats per sample in the training targets (1 for sparse labels).
  int64_t target_dim() const { return loss_is_sparse(config_.loss) ? 1 : output_dim(); }
  const std::vector<DenseLayerSpec>& layers() const { return layers_; }
  int64_t count_params() const { return total_params_; }
  std::string summary() const;

  // Weight tensors in TF.js order: per layer the kernel [in, out], then the bias.
  size_t num_weights() const { return weights_.size(); }
  const Shape& weight_shape(size_t i) const { return weights_[i].shape; }
  float* weight_data(size_t i) { return params_.get() + weights_[i].offset; }
  Status set_weight(size_t i, const float* data, int64_t n);

  // Optimizer state: slot s of every weight, laid out like the parameters.
  int num_slots() const { return compiled_ ? optimizer_num_slots(config_.optimizer) : 0; }
  float* slot_data(int s, size_t i) { return slots_[size_t(s)].get() + weights_[i].offset; }
  int64_t optimizer_step() const { return step_; }
  void set_optimizer_step(int64_t step) { step_ = step; }

  int64_t plan_arena_bytes() const;

 private:
  enum class PlanKind { kPredict, kEvaluate, kTrain, kGradients };
  struct WeightRef {
    Shape shape;
    int64_t offset;
  };
  struct CompiledPlan {
    std::unique_ptr<Plan> plan;
    int x = -1, target = -1, output = -1, loss = -1;
    std::vector<int> metrics;  // one [2] ratio per metric
    std::vector<int> grads;  // kGradients: one per weight
  };

  Model() = default;
  Status build(PlanKind kind, int64_t batch, CompiledPlan* out);
  Status get_plan(PlanKind kind, int64_t batch, CompiledPlan** out);
  Status check_finite_loss(float loss) const;
  Status feed(CompiledPlan* cp, const float* x, const float* y, const uint32_t* rows, int64_t count);

  int64_t input_dim_ = 0;
  std::vector<DenseLayerSpec> layers_;
  std::vector<WeightRef> weights_;
  int64_t total_params_ = 0;
  std::unique_ptr<float, AlignedFree> params_;
  std::unique_ptr<float, AlignedFree> slots_[kMaxOptimizerSlots];
  TrainingConfig config_;
  std::vector<Metric> metrics_{Metric::kAccuracy};
  bool compiled_ = false;
  int64_t step_ = 0;
  Rng rng_;
  std::map<std::pair<int, int64_t>, CompiledPlan> plans_;
};

// A float buffer of n elements, 64-byte aligned and zeroed; null when out of memory.
float* aligned_floats(int64_t n);

}  // namespace kiln
