// The C ABI the JavaScript layer calls (exported from the wasm module). Each
// fallible function returns 0 / null on failure and leaves the reason in
// kiln_last_error(); nothing here aborts, so the instance stays usable.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "api/model.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "io/model_format.h"

using namespace kiln;

namespace {
std::string g_error;
std::string g_text;
std::vector<uint8_t> g_saved;

int fail(const Status& s) {
  g_error = s.message();
  return 0;
}
}  // namespace

extern "C" {

const char* kiln_last_error() { return g_error.c_str(); }
void kiln_set_threads(int n) { ThreadPool::global().resize(n); }
int kiln_num_threads() { return ThreadPool::global().num_threads(); }
const char* kiln_gemm_kernel() { return gemm_active_kernel().name; }

// Kernel-level access for tests and benchmarks: the GEMM micro-kernels this
// module has, and one product with a named kernel ("reference": the scalar
// triple loop) on caller-owned buffers. Returns 0 for an unknown kernel.
int kiln_gemm_kernel_count() {
  const GemmMicroKernel* all[8];
  return gemm_available_kernels(all, 8);
}
const char* kiln_gemm_kernel_at(int i) {
  const GemmMicroKernel* all[8];
  return i >= 0 && i < gemm_available_kernels(all, 8) ? all[i]->name : "";
}
int kiln_gemm(const char* kernel, int trans_a, int trans_b, int m, int n, int k, const float* a, const float* b,
              const float* bias, float* c, int accumulate, int activation) {
  if (activation < 0 || activation >= kNumActivations || Activation(activation) == Activation::kSoftmax)
    return fail(Status::error("gemm: activation must be elementwise"));
  GemmArgs g;
  g.trans_a = trans_a, g.trans_b = trans_b;
  g.m = m, g.n = n, g.k = k;
  g.a = a, g.lda = trans_a ? m : k;
  g.b = b, g.ldb = trans_b ? k : n;
  g.c = c, g.ldc = n;
  g.accumulate = accumulate != 0;
  g.bias = bias;
  g.act = Activation(activation);
  if (std::strcmp(kernel, "reference") == 0) {
    gemm_reference(g);
    return 1;
  }
  const std::string previous = gemm_active_kernel().name;
  if (!gemm_select_kernel(kernel)) return fail(Status::error(std::string("gemm: no kernel named ") + kernel));
  gemm(g);
  gemm_select_kernel(previous.c_str());
  return 1;
}

// layers: 5 int32 per layer: units, activation, useBias, kernel init, bias init.
Model* kiln_model_create(int input_dim, int num_layers, const int32_t* layers, uint32_t seed) {
  if (num_layers <= 0 || num_layers > kMaxLayers) {
    fail(Status::error("a model needs between 1 and " + std::to_string(kMaxLayers) + " layers"));
    return nullptr;
  }
  std::vector<DenseLayerSpec> specs(static_cast<size_t>(num_layers));
  for (int i = 0; i < num_layers; ++i) {
    const int32_t* l = layers + 5 * i;
    if (l[1] < 0 || l[1] >= kNumActivations || l[3] < 0 || l[3] >= kNumInitializers || l[4] < 0 || l[4] >= kNumInitializers) {
      fail(Status::error("layer " + std::to_string(i) + ": invalid activation or initializer code"));
      return nullptr;
    }
    specs[size_t(i)] = {l[0], Activation(l[1]), l[2] != 0, Initializer(l[3]), Initializer(l[4])};
  }
  std::unique_ptr<Model> m;
  Status s = Model::create(input_dim, specs, seed, &m);
  if (!s.ok()) {
    fail(s);
    return nullptr;
  }
  return m.release();
}

void kiln_model_free(Model* m) { delete m; }

int kiln_model_compile(Model* m, int optimizer, float lr, float momentum, int nesterov, float beta1, float beta2,
                       float epsilon, int loss) {
  if (optimizer < 0 || optimizer > 1) return fail(Status::error("compile: unknown optimizer code"));
  if (loss < 0 || loss >= kNumLossKinds) return fail(Status::error("compile: unknown loss code"));
  TrainingConfig c;
  c.optimizer = {OptimizerKind(optimizer), lr, momentum, nesterov != 0, beta1, beta2, epsilon};
  c.loss = LossKind(loss);
  Status s = m->compile(c);
  return s.ok() ? 1 : fail(s);
}

// out: [loss, accuracy]
int kiln_model_train_batch(Model* m, const float* x, const float* y, const uint32_t* rows, int count, float* out) {
  Status s = m->train_batch(x, y, rows, count, &out[0], &out[1]);
  return s.ok() ? 1 : fail(s);
}

int kiln_model_evaluate(Model* m, const float* x, const float* y, int n, float* out) {
  Status s = m->evaluate(x, y, n, &out[0], &out[1]);
  return s.ok() ? 1 : fail(s);
}

int kiln_model_predict(Model* m, const float* x, int n, float* out) {
  Status s = m->predict(x, n, out);
  return s.ok() ? 1 : fail(s);
}

int kiln_model_warmup(Model* m, int batch) {
  Status s = m->warmup(batch);
  return s.ok() ? 1 : fail(s);
}

void kiln_model_shuffle(Model* m, uint32_t* indices, int n) { m->shuffle(indices, n); }
void kiln_model_reseed(Model* m, uint32_t seed) { m->reseed(seed); }
int kiln_model_input_dim(Model* m) { return int(m->input_dim()); }
int kiln_model_output_dim(Model* m) { return int(m->output_dim()); }
int kiln_model_target_dim(Model* m) { return int(m->target_dim()); }
double kiln_model_count_params(Model* m) { return double(m->count_params()); }
int kiln_model_num_layers(Model* m) { return int(m->layers().size()); }
// 5 int32 per layer, as kiln_model_create takes them.
void kiln_model_layer_info(Model* m, int i, int32_t* out) {
  const DenseLayerSpec& l = m->layers()[size_t(i)];
  out[0] = int32_t(l.units);
  out[1] = int32_t(l.activation);
  out[2] = l.use_bias;
  out[3] = int32_t(l.kernel_initializer);
  out[4] = int32_t(l.bias_initializer);
}
int kiln_model_compiled(Model* m) { return m->compiled(); }
// out: optimizer, loss, nesterov (as floats), lr, momentum, beta1, beta2, epsilon
void kiln_model_training_info(Model* m, float* out) {
  const TrainingConfig& c = m->training_config();
  const float v[8] = {float(c.optimizer.kind), float(c.loss), float(c.optimizer.nesterov), c.optimizer.learning_rate,
                      c.optimizer.momentum, c.optimizer.beta1, c.optimizer.beta2, c.optimizer.epsilon};
  std::memcpy(out, v, sizeof v);
}
int kiln_model_num_weights(Model* m) { return int(m->num_weights()); }
int kiln_model_weight_rank(Model* m, int i) { return int(m->weight_shape(size_t(i)).size()); }
int kiln_model_weight_dim(Model* m, int i, int d) { return int(m->weight_shape(size_t(i))[size_t(d)]); }
float* kiln_model_weight_data(Model* m, int i) { return m->weight_data(size_t(i)); }
int kiln_model_set_weight(Model* m, int i, const float* data, int n) {
  Status s = m->set_weight(size_t(i), data, n);
  return s.ok() ? 1 : fail(s);
}
double kiln_model_arena_bytes(Model* m) { return double(m->plan_arena_bytes()); }

const char* kiln_model_summary(Model* m) {
  g_text = m->summary();
  return g_text.c_str();
}

// Returns a pointer to the file's bytes (valid until the next save); the size
// is kiln_saved_size().
const uint8_t* kiln_model_save(Model* m, int include_optimizer) {
  Status s = encode_model(*m, include_optimizer != 0, &g_saved);
  if (!s.ok()) {
    fail(s);
    return nullptr;
  }
  return g_saved.data();
}
int kiln_saved_size() { return int(g_saved.size()); }

Model* kiln_model_load(const uint8_t* data, int size) {
  std::unique_ptr<Model> m;
  Status s = decode_model(data, size_t(size), &m);
  if (!s.ok()) {
    fail(s);
    return nullptr;
  }
  return m.release();
}

}  // extern "C"
