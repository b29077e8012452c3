// Kiln's native C++ API: build, train, save and load the same models the
// JavaScript API does. Errors are thrown as kiln::Error with a message that
// names what was wrong; a failed call leaves the model as it was.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln {

class Model;

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Threads used by every kernel (the caller included). Default: 1. Waits for
// runs on other threads to end; throws kiln::Error when called from inside a
// run (a fit callback).
void set_num_threads(int threads);
int num_threads();
// The GEMM micro-kernel in use, e.g. "avx512_8x32".
std::string gemm_kernel_name();

// The backend plans compiled from now on prefer: "cpu" (the default, the fast
// kernels) or "reference" (the plain reference kernels, in memory of its own;
// for checking numerics). Nodes the backend lacks fall back to the CPU, and
// Sequential::placement() reports each; with `strict` such a model throws
// instead. Throws kiln::Error for an unknown name.
void set_backend(const std::string& name, bool strict = false);
std::string backend();
std::vector<std::string> backends();

struct DenseOptions {
  int64_t units = 0;
  std::string activation = "linear";  // TF.js names: linear, relu, sigmoid, tanh, softmax, gelu, ... (README)
  bool use_bias = true;
  std::string kernel_initializer = "glorotUniform";  // also glorotNormal, heNormal, heUniform, zeros, ones
  std::string bias_initializer = "zeros";
};

// A learning-rate schedule (Keras semantics, see src/train/optimizer.h).
struct ScheduleOptions {
  std::string kind = "constant";  // or exponentialDecay, piecewiseConstantDecay, cosineDecay
  int64_t decay_steps = 1;        // exponentialDecay, cosineDecay
  float decay_rate = 1;           // exponentialDecay
  bool staircase = false;         // exponentialDecay
  float alpha = 0;                // cosineDecay
  std::vector<int64_t> boundaries;  // piecewiseConstantDecay
  std::vector<float> values;        // piecewiseConstantDecay: boundaries.size() + 1 rates
};

// Defaults are those of TF.js's string names ('adadelta' -> lr 1, rho 0.95, ...).
struct CompileOptions {
  std::string optimizer = "sgd";  // sgd, momentum, adam, adamw, adamax, adagrad, adadelta, rmsprop
  float learning_rate = -1;       // -1: 0.01 sgd/momentum/adagrad, 0.001 adam/adamw/rmsprop, 0.002 adamax, 1 adadelta
  float momentum = 0.9f;          // momentum only; rmsprop uses rmsprop_momentum
  bool nesterov = false;          // momentum only
  float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-7f;  // adam, adamw, adamax; epsilon for every adaptive one
  float weight_decay = 0.004f;          // adamw (Keras default)
  float decay = 0;                      // adamax
  float initial_accumulator_value = 0.1f;  // adagrad
  float rho = -1;                       // adadelta rho / rmsprop decay; -1: 0.95 / 0.9
  float rmsprop_momentum = 0;           // rmsprop
  bool centered = false;                // rmsprop
  float clip_value = 0, clip_norm = 0, global_clipnorm = 0;  // gradient clipping, 0: off (at most one)
  ScheduleOptions schedule;
  std::string loss = "categoricalCrossentropy";  // or any loss TF.js names in the README, e.g. binaryCrossentropy
};

struct EpochLogs {
  int epoch;
  float loss, acc;
  float val_loss = 0, val_acc = 0;  // when validation data is given
};

struct FitOptions {
  int epochs = 1;
  int64_t batch_size = 32;
  bool shuffle = true;
  const float* validation_x = nullptr;  // optional
  const float* validation_y = nullptr;
  int64_t validation_n = 0;
  std::function<void(int64_t batch, float loss, float acc)> on_batch_end;
  std::function<void(const EpochLogs&)> on_epoch_end;
};

class Sequential {
 public:
  // A model taking `input_dim` features per sample; `seed` drives the
  // initializers and shuffling.
  explicit Sequential(int64_t input_dim, uint64_t seed = 42);
  // A model taking samples of `input_shape` (batch excluded), e.g. {28, 28, 1}
  // for images or {steps, features} for sequences.
  explicit Sequential(std::vector<int64_t> input_shape, uint64_t seed = 42);
  explicit Sequential(std::initializer_list<int64_t> input_shape, uint64_t seed = 42)
      : Sequential(std::vector<int64_t>(input_shape), seed) {}
  ~Sequential();
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;

  Sequential& add_dense(const DenseOptions& options);
  // Any layer the JS API has, by its TF.js class name and its config as JSON
  // text with TF.js argument names (docs/LAYERS.md), e.g.
  //   add("Conv2D", R"({"filters": 8, "kernelSize": 3, "activation": "relu"})")
  //   add("LSTM", R"({"units": 32, "returnSequences": true})")
  // Layers without a "name" get one ("conv2d_1", ...).
  Sequential& add(const std::string& class_name, const std::string& config_json = "{}");
  void compile(const CompileOptions& options);

  // x: [n, ...input shape]; y: [n, ...output shape], or class indices (the
  // output shape without its last axis) for the sparse loss.
  std::vector<EpochLogs> fit(const float* x, const float* y, int64_t n, const FitOptions& options);
  std::pair<float, float> train_on_batch(const float* x, const float* y, int64_t n);
  std::pair<float, float> evaluate(const float* x, const float* y, int64_t n);  // (loss, accuracy)
  std::vector<float> predict(const float* x, int64_t n);
  void warmup(int64_t batch_size = 32);

  int64_t input_dim() const;   // values per sample (the product of the input shape)
  int64_t output_dim() const;  // values per sample of the output
  std::vector<int64_t> output_shape() const;  // batch excluded
  int64_t count_params() const;
  std::string summary() const;
  // Where each compiled plan's steps ran, as JSON: [{"plan", "batchSize",
  // "steps": [{"op", "backend", "node", "fallback"?}], "copies", "fallbacks"}].
  std::string placement() const;
  // The same, one entry per kernel call of every compiled plan.
  struct PlanStep {
    std::string plan;      // "predict", "train", "evaluate"
    int64_t batch_size;
    std::string op, backend;
    bool constant;         // runs once per weight change, not every call
    std::string fallback;  // why it is not on the preferred backend ("" when it is)
  };
  std::vector<PlanStep> plan_steps() const;
  // True once compile() has run, or when the loaded file carried a training configuration.
  bool compiled() const;
  // TF.js order and layouts (e.g. Dense: kernel [in, out], then bias).
  std::vector<std::vector<float>> get_weights() const;
  std::vector<std::vector<int64_t>> weight_shapes() const;
  void set_weights(const std::vector<std::vector<float>>& weights);

  std::vector<uint8_t> save(bool include_optimizer = false) const;
  static Sequential load(const uint8_t* data, size_t size);
  // An ONNX file (a PyTorch export, say) as a trainable model with its weights
  // (kiln.onnx.loadModel in JS; docs/ONNX.md, "Fine-tuning"). Inputs keep the
  // ONNX layout (NCHW images). `input_shapes` (batch excluded) replace the
  // declared ones. Throws kiln::Error naming the operators it cannot translate.
  static Sequential from_onnx(const uint8_t* data, size_t size, const std::vector<std::vector<int64_t>>& input_shapes = {});

  // Keras's layer.trainable: a frozen layer's weights stay as they are when
  // training, and a frozen BatchNormalization uses its moving statistics.
  void set_trainable(const std::string& layer, bool trainable);

 private:
  Sequential();
  void build_if_needed() const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What a model file holds, from its first bytes: a Layers model (Sequential::load),
// a Kiln graph file (`kiln convert`, run by onnx::Session) or anything else
// (an ONNX file, or bytes that onnx::Session::load will judge).
enum class ModelFileKind { kLayers, kGraph, kOther };
ModelFileKind model_file_kind(const uint8_t* data, size_t size);

}  // namespace kiln

#include "kiln/onnx.h"  // kiln::onnx: running ONNX models and exporting to ONNX
