// A model: a graph of layers (sequential or functional, with multiple inputs,
// outputs and shared layers) described by a JSON topology, plus the weights
// and optimizer state, each in one aligned buffer. It compiles (and caches)
// one execution plan per kind of call and batch size, and runs them.
// Status-based: the wasm C ABI and the throwing native API sit on top of it.
//
// Topology JSON (docs/FORMAT.md):
//   {"layers": [{"className": "Dense", "config": {"name": "dense_1", "units": 10, ...}}, ...],
//    "nodes":  [{"layer": 0, "inputs": [[node, output], ...]}, ...],   // applications, in order
//    "inputs": [node, ...], "outputs": [[node, output], ...]}
// Model inputs are nodes of InputLayer layers; a layer applied by several
// nodes shares its weights.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/exclusive_use.h"
#include "core/rng.h"
#include "runtime/plan.h"
#include "layers/layer.h"
#include "train/initializer.h"
#include "train/loss.h"
#include "train/optimizer.h"

namespace kiln {

// A dense layer, for building plain MLPs from C++ (create_dense).
struct DenseLayerSpec {
  int64_t units = 0;
  Activation activation = Activation::kLinear;
  bool use_bias = true;
  Initializer kernel_initializer = Initializer::kGlorotUniform;
  Initializer bias_initializer = Initializer::kZeros;
};

struct TrainingConfig {
  OptimizerConfig optimizer;
  LossKind loss = LossKind::kMeanSquaredError;  // applied to every output; the total is their sum
};

// Limits that keep a hostile model file or call from asking for absurd memory.
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxUnits = int64_t(1) << 24;
constexpr int64_t kMaxParams = int64_t(1) << 31;

class Model {
 public:
  // `max_params` lets a file loader refuse, before allocating, more weights
  // than the file can hold.
  static Status create(const std::string& topology_json, uint64_t seed, std::unique_ptr<Model>* out,
                       int64_t max_params = kMaxParams);
  static Status create_dense(int64_t input_dim, const std::vector<DenseLayerSpec>& layers, uint64_t seed,
                             std::unique_ptr<Model>* out);

  Status compile(const TrainingConfig& config);
  bool compiled() const { return compiled_; }
  const TrainingConfig& training_config() const { return config_; }

  // The metrics train_batch and evaluate report for each output (accuracy by default).
  Status set_metrics(const std::vector<Metric>& metrics);
  const std::vector<Metric>& metrics() const { return metrics_; }
  // Values train_batch/evaluate write: metrics().size() per output, output-major.
  size_t num_metric_values() const { return metrics_.size() * outputs_.size(); }

  // xs: one array per model input, [n, ...input_shape(i)]; ys: one per output,
  // [n, ...target_shape(i)]. train_batch uses rows `rows[0..count)` (all rows in
  // order when null) for one optimizer step; loss gets the batch's mean loss.
  Status train_batch(const std::vector<const float*>& xs, const std::vector<const float*>& ys, const uint32_t* rows,
                     int64_t count, float* loss, float* metrics);
  // `batch_size` (0: the default, 256) bounds the rows run at once, and so the
  // plan's memory; the results differ only by float rounding (metrics are summed as ratios).
  Status evaluate(const std::vector<const float*>& xs, const std::vector<const float*>& ys, int64_t n, float* loss,
                  float* metrics, int64_t batch_size = 0);
  // outs: one array per output, [n, ...output_shape(i)].
  Status predict(const std::vector<const float*>& xs, int64_t n, const std::vector<float*>& outs, int64_t batch_size = 0);
  // d mean-loss / d weight for every weight_trainable() weight (weights() order), without updating.
  Status gradients(const std::vector<const float*>& xs, const std::vector<const float*>& ys, int64_t n, float* loss,
                   std::vector<std::vector<float>>* grads);
  // An eager call (TF.js's model.apply on tensors under tf.grad): runs the
  // forward pass now, writes the outputs, and keeps what its backward pass
  // needs under the id it returns in *call (> 0). `training`: dropout, noise
  // and batch statistics as in fit (the moving statistics move).
  Status call_forward(const std::vector<const float*>& xs, int64_t n, bool training, const std::vector<float*>& outs,
                      int* call);
  // The backward pass of call `call`, given d/d output: writes d/d input into
  // each non-null dxs[i] and d/d weight into each non-null dws[w] (one entry
  // per weight), then frees the call. A weight frozen at the call, or one the
  // outputs do not reach, gets zeros.
  Status call_backward(int call, const std::vector<const float*>& dys, const std::vector<float*>& dxs,
                       const std::vector<float*>& dws);
  // Frees a call whose backward pass will not run.
  void call_release(int call);
  // Single-input, single-output shorthands.
  Status train_batch(const float* x, const float* y, const uint32_t* rows, int64_t count, float* loss, float* metrics) {
    return train_batch(std::vector<const float*>{x}, std::vector<const float*>{y}, rows, count, loss, metrics);
  }
  Status evaluate(const float* x, const float* y, int64_t n, float* loss, float* metrics) {
    return evaluate(std::vector<const float*>{x}, std::vector<const float*>{y}, n, loss, metrics);
  }
  Status predict(const float* x, int64_t n, float* out) { return predict(std::vector<const float*>{x}, n, {out}); }
  Status gradients(const float* x, const float* y, int64_t n, float* loss, std::vector<std::vector<float>>* grads) {
    return gradients(std::vector<const float*>{x}, std::vector<const float*>{y}, n, loss, grads);
  }
  // Compiles and runs the plans a training loop and predict() will use.
  Status warmup(int64_t batch_size);
  // Stateful recurrent layers forget their state.
  void reset_states();

  void shuffle(uint32_t* indices, int64_t n);
  void reseed(uint64_t seed) { rng_.reseed(seed); }

  const std::string& topology() const { return topology_; }
  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  const Shape& input_shape(size_t i) const;   // batch excluded
  const Shape& output_shape(size_t i) const;  // batch excluded
  // Floats per sample in output i's training targets (one class index per row when sparse).
  int64_t target_numel(size_t i) const;
  // Single-input/output conveniences: features per sample.
  int64_t input_dim() const { return shape_numel(input_shape(0)); }
  int64_t output_dim() const { return shape_numel(output_shape(0)); }
  int64_t target_dim() const { return target_numel(0); }
  // The dense stack, when the model is a plain sequence of Dense layers (the
  // compact version-2 file layout); false otherwise.
  bool dense_specs(std::vector<DenseLayerSpec>* out) const;
  std::vector<DenseLayerSpec> dense_layers() const {
    std::vector<DenseLayerSpec> d;
    dense_specs(&d);
    return d;
  }

  size_t num_layers() const { return layers_.size(); }
  const Layer& layer(size_t i) const { return *layers_[i]; }
  int64_t count_params() const { return total_params_; }
  std::string summary() const;

  // Weight tensors in TF.js order: every trainable weight layer by layer, then
  // the non-trainable ones (batch-norm moving statistics).
  size_t num_weights() const { return weights_.size(); }
  const Shape& weight_shape(size_t i) const { return weights_[i].shape; }
  const std::string& weight_name(size_t i) const { return weights_[i].name; }
  // Whether fitting moves weight i: a trainable weight of a layer that is not frozen.
  bool weight_trainable(size_t i) const { return weights_[i].trainable && layer_trainable_[size_t(weights_[i].layer)]; }
  // Freezes (false) or unfreezes a layer, as Keras's `layer.trainable`: its
  // weights stop moving, and a frozen BatchNormalization runs in inference
  // mode (moving statistics, no updates). Kept in the topology, so saved files
  // keep it; takes effect at the next call (plans are rebuilt).
  Status set_layer_trainable(const std::string& layer, bool trainable);
  bool layer_trainable(size_t l) const { return layer_trainable_[l]; }
  const float* weight_data(size_t i) const { return params_.get() + weights_[i].offset; }
  // A writable view: the weights may change through it, so plans recompute
  // what they derived from them (folded batch norms, packed filters). Write
  // before the next call on the model, or ask again: a view kept across runs
  // and written later goes unseen by plans that already ran.
  float* mutable_weight_data(size_t i) {
    ++weights_version_;
    return params_.get() + weights_[i].offset;
  }
  Status set_weight(size_t i, const float* data, int64_t n);
  // check_arity, then no NaN or Infinity in the first n samples: what fit
  // checks of all its data before the first step.
  Status check_inputs(const std::vector<const float*>& xs, const std::vector<const float*>* ys, int64_t n) const;

  // Optimizer state: slot s of every weight, laid out like the parameters.
  int num_slots() const { return compiled_ ? optimizer_num_slots(config_.optimizer) : 0; }
  float* slot_data(int s, size_t i) { return slots_[size_t(s)].get() + weights_[i].offset; }
  int64_t optimizer_step() const { return step_; }
  void set_optimizer_step(int64_t step) { step_ = step; }

  // Transactions for calls that train (fit, trainOnBatch): begin saves what
  // training can change (the weights of unfrozen layers, moving statistics
  // included, their optimizer slots, the step count, the shuffling and dropout
  // state), rollback puts it back, commit ends the transaction. A frozen base
  // is not copied, so fine-tuning a head saves little. The copy's memory is
  // kept for the next call (trainOnBatch loops allocate nothing per step).
  Status begin_transaction();
  bool in_transaction() const { return saved_ && saved_->active; }
  void rollback();
  void commit() {
    if (saved_) saved_->active = false;
  }

  // Held by each call above; callers running several in a row (fit) hold it too.
  const ExclusiveUse& in_use() const { return in_use_; }

  int64_t plan_arena_bytes() const;
  // Where each compiled plan's steps run: [{plan, batchSize, steps, copies,
  // fallbacks}], one entry per plan predict/evaluate/fit compiled so far.
  Json placement() const;

 private:
  // kCall*: an eager call's forward and backward passes (call_forward), with
  // inference or training behaviour.
  enum class PlanKind { kPredict, kEvaluate, kTrain, kGradients, kCallInference, kCallTraining };
  struct WeightRef {
    std::string name;
    Shape shape;
    int64_t offset;
    bool trainable;  // by kind (TF.js order: trainable kinds first); frozen layers are in layer_trainable_
    int layer;
  };
  struct NodeRef {
    int node, output;
  };
  struct LayerNode {
    int layer;
    std::vector<NodeRef> inputs;
    std::vector<Shape> output_shapes;  // batch excluded
  };
  struct CompiledPlan {
    std::unique_ptr<Plan> plan;
    std::vector<int> xs, targets, outputs;
    int loss = -1;
    std::vector<int> metrics;  // one [2] ratio per metric value
    std::vector<int> grads;    // kGradients: one per trainable weight; kCall*: one per grad_weights entry
    std::vector<int> dys, dxs;  // kCall*: d output (late inputs), d input (-1: the outputs do not depend on it)
    std::vector<size_t> grad_weights;  // kCall*: the weights with a gradient
  };
  struct PendingCall {
    PlanKind kind;
    int64_t batch;
    std::unique_ptr<CompiledPlan> cp;
  };

  Model() = default;
  Status parse_topology(const std::string& json, int64_t max_params);
  Status build(PlanKind kind, int64_t batch, CompiledPlan* out);
  Status get_plan(PlanKind kind, int64_t batch, CompiledPlan** out);
  // Runs a plan; an error an op reported while it ran (graph/op_errors.h).
  static Status run_plan(CompiledPlan* cp);
  Status check_finite_loss(float loss) const;
  void feed(CompiledPlan* cp, const std::vector<const float*>& xs, const std::vector<const float*>& ys,
            const uint32_t* rows, int64_t start, int64_t count);
  // One array per input (and per output when ys is given), none null.
  Status check_arity(const std::vector<const float*>& xs, const std::vector<const float*>* ys) const;

  std::string topology_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<std::vector<int>> layer_weights_;  // per layer: indices into weights_
  std::vector<bool> layer_trainable_;            // per layer: its config's `trainable` (Keras)
  std::vector<LayerNode> nodes_;
  std::vector<int> inputs_;  // node indices of the model inputs
  std::vector<NodeRef> outputs_;
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
  uint64_t plans_generation_ = 0;  // backend_choice_generation() the plans were placed under
  int plans_threads_ = 0;          // the pool's thread count their scratch was sized for
  // Bumped whenever the weights may have changed (a writable view handed out,
  // a training step run): the plans' constants version.
  uint64_t weights_version_ = 1;
  ExclusiveUse in_use_;  // one call at a time: a second thread gets an error, not a race
  struct TrainingState {
    std::vector<float> values;
    int64_t step = 0;
    Rng rng;
    bool active = false;  // between begin_transaction and commit / rollback
  };
  std::unique_ptr<TrainingState> saved_;  // begin_transaction's copy
  // Eager calls whose backward pass has not run, by id; and plans of
  // finished ones, kept for the next call of that kind and batch.
  std::map<int, PendingCall> calls_;
  std::map<std::pair<int, int64_t>, std::vector<std::unique_ptr<CompiledPlan>>> idle_call_plans_;
  int next_call_ = 1;
  // Drops every cached plan (the graph, placement or thread count changed).
  void drop_plans();
  // drop_plans() when kiln.setBackend or the thread count changed since they were made.
  void drop_stale_plans();
  // Calls visit(pointer, count) for each range training may change.
  template <class Visit> void for_each_training_range(Visit visit);
};

// A float buffer of n elements, 64-byte aligned and zeroed; null when out of memory.
float* aligned_floats(int64_t n);

}  // namespace kiln
