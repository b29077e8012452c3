// The C ABI the JavaScript layer calls (exported from the wasm module). Each
// fallible function returns 0 / null on failure and leaves the reason in
// kiln_last_error(); nothing here aborts, so the instance stays usable.
#include <malloc.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "api/model.h"
#include "core/json.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "io/model_format.h"
#include "layers/layer.h"
#include "wasm/c_api.h"

using namespace kiln;

namespace {
std::string g_error;
std::string g_text;
std::vector<uint8_t> g_saved;
}  // namespace

// Shared with the other c_api_*.cc files (src/wasm/c_api.h).
int kiln::c_api_fail(const Status& s) {
  g_error = s.message();
  return 0;
}

namespace {
int fail(const Status& s) { return c_api_fail(s); }
}  // namespace

extern "C" {

const char* kiln_last_error() { return g_error.c_str(); }
int kiln_set_threads(int n) {
  const Status s = ThreadPool::global().resize(n);
  return s.ok() ? 1 : fail(s);
}
int kiln_num_threads() { return ThreadPool::global().num_threads(); }
// Bytes malloc has handed out and not taken back (kiln.memory()).
double kiln_heap_bytes() { return double(mallinfo().uordblks); }
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
  if (activation < 0 || activation >= kNumActivations || activation_is_rowwise(Activation(activation)))
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

// topology: the model's JSON topology (src/api/model.h).
Model* kiln_model_create(const char* topology, uint32_t seed) {
  std::unique_ptr<Model> m;
  Status s = Model::create(topology, seed, &m);
  if (!s.ok()) {
    fail(s);
    return nullptr;
  }
  return m.release();
}

// The layer classes this build knows, as a JSON list.
const char* kiln_layer_classes() {
  Json list = Json::array();
  for (const std::string& n : layer_class_names()) list.push(Json::string(n));
  g_text = list.dump();
  return g_text.c_str();
}

void kiln_model_free(Model* m) { delete m; }

// The optimizer as flat doubles (js/src/optimizers.ts writes the same layout):
// kind, lr, momentum, nesterov, beta1, beta2, epsilon, weightDecay, decay,
// initialAccumulatorValue, rho, centered, clipValue, clipNorm, globalClipnorm,
// schedule kind, decaySteps, decayRate, staircase, alpha, B, then a piecewise
// schedule's B boundaries and B + 1 values.
constexpr int kOptimizerFields = 21;

// An integer in [lo, hi] (false for NaN and fractions), safe to cast.
static bool whole_in(double v, double lo, double hi) { return v >= lo && v <= hi && v == double(int64_t(v)); }

static Status parse_optimizer(const double* f, int count, OptimizerConfig* out) {
  const double steps = 9e15;  // exact in a double
  bool ok = count >= kOptimizerFields && whole_in(f[0], 0, kNumOptimizerKinds - 1) && whole_in(f[15], 0, kNumScheduleKinds - 1) &&
            whole_in(f[16], -steps, steps) && whole_in(f[20], 0, double(kMaxScheduleBoundaries)) &&
            count == kOptimizerFields + (f[20] > 0 ? 2 * int(f[20]) + 1 : 0);
  for (int i = 0; ok && i < int(f[20]); ++i) ok = whole_in(f[kOptimizerFields + i], -steps, steps);
  if (!ok) return Status::error("malformed optimizer description");
  OptimizerConfig& o = *out;
  o.kind = OptimizerKind(int(f[0]));
  o.learning_rate = float(f[1]);
  o.momentum = float(f[2]);
  o.nesterov = f[3] != 0;
  o.beta1 = float(f[4]);
  o.beta2 = float(f[5]);
  o.epsilon = float(f[6]);
  o.weight_decay = float(f[7]);
  o.decay = float(f[8]);
  o.initial_accumulator = float(f[9]);
  o.rho = float(f[10]);
  o.centered = f[11] != 0;
  o.clip_value = float(f[12]);
  o.clip_norm = float(f[13]);
  o.global_clipnorm = float(f[14]);
  LearningRateSchedule& s = o.schedule;
  s.kind = ScheduleKind(int(f[15]));
  s.decay_steps = int64_t(f[16]);
  s.decay_rate = float(f[17]);
  s.staircase = f[18] != 0;
  s.alpha = float(f[19]);
  const int b = int(f[20]);
  for (int i = 0; i < b; ++i) s.boundaries.push_back(int64_t(f[kOptimizerFields + i]));
  for (int i = 0; b && i <= b; ++i) s.values.push_back(float(f[kOptimizerFields + b + i]));
  return Status();
}

int kiln_model_compile(Model* m, const double* f, int count, int loss) {
  TrainingConfig c;
  Status st = parse_optimizer(f, count, &c.optimizer);
  if (!st.ok()) return fail(Status::error("compile: " + st.message()));
  if (loss < 0 || loss >= kNumLossKinds) return fail(Status::error("compile: unknown loss code"));
  c.loss = LossKind(loss);
  st = m->compile(c);
  return st.ok() ? 1 : fail(st);
}

// The state tensors an optimizer keeps per variable (JS's optimizer.minimize),
// -1 when the description is malformed; and what slot `slot` starts at.
int kiln_optimizer_slots(const double* f, int count) {
  OptimizerConfig o;
  Status s = parse_optimizer(f, count, &o);
  if (s.ok()) s = optimizer_validate(o);
  return s.ok() ? optimizer_num_slots(o) : (fail(Status::error("optimizer: " + s.message())), -1);
}
float kiln_optimizer_slot_initial(const double* f, int count, int slot) {
  OptimizerConfig o;
  return parse_optimizer(f, count, &o).ok() ? optimizer_slot_initial_value(o, slot) : 0.0f;
}

// One optimizer step, as fit() takes it, on n float32 variables: params[i]
// and grads[i] hold sizes[i] floats, slots[i * S + k] its k-th state
// (S = kiln_optimizer_slots). step counts from 1. Clipping (globalClipnorm
// over all n gradients together) and schedules apply as in fit().
int kiln_optimizer_apply(const double* f, int count, double step, int n, float* const* params, const float* const* grads,
                         float* const* slots, const int32_t* sizes) {
  OptimizerConfig o;
  Status s = parse_optimizer(f, count, &o);
  if (s.ok()) s = optimizer_validate(o);
  if (!s.ok()) return fail(Status::error("optimizer: " + s.message()));
  if (n < 0 || !whole_in(step, 1, 9e15)) return fail(Status::error("optimizer: bad variable count or step"));
  std::vector<const float*> gs(grads, grads + n);
  std::vector<int64_t> ns(sizes, sizes + n);
  const float scale = optimizer_global_clip_scale(o, gs, ns);
  const int k = optimizer_num_slots(o);
  for (int i = 0; i < n; ++i) optimizer_update(o, int64_t(step), scale, params[i], grads[i], slots + size_t(i) * size_t(k), sizes[i]);
  return 1;
}

// codes: Metric values (src/train/loss.h), in the order the results report them.
int kiln_model_set_metrics(Model* m, const int32_t* codes, int count) {
  std::vector<Metric> metrics;
  for (int i = 0; i < count; ++i) {
    if (codes[i] < 0 || codes[i] >= kNumMetrics) return fail(Status::error("compile: unknown metric code"));
    metrics.push_back(Metric(codes[i]));
  }
  Status s = m->set_metrics(metrics);
  return s.ok() ? 1 : fail(s);
}

// xs, ys, outs: arrays of pointers, one per model input / output.
static std::vector<const float*> pointers(const float* const* p, size_t n) { return std::vector<const float*>(p, p + n); }

// out: [loss, one value per metric and output]
int kiln_model_train_batch(Model* m, const float* const* xs, const float* const* ys, const uint32_t* rows, int count, float* out) {
  Status s = m->train_batch(pointers(xs, m->num_inputs()), pointers(ys, m->num_outputs()), rows, count, &out[0], out + 1);
  return s.ok() ? 1 : fail(s);
}

// Transactions around calls that train (Model::begin_transaction): JS's fit
// and trainOnBatch begin before their first step and roll back on any error.
int kiln_model_begin(Model* m) {
  Status s = m->begin_transaction();
  return s.ok() ? 1 : fail(s);
}
void kiln_model_rollback(Model* m) { m->rollback(); }
void kiln_model_commit(Model* m) { m->commit(); }

// batch: rows run at once (0: the default).
int kiln_model_evaluate(Model* m, const float* const* xs, const float* const* ys, int n, float* out, int batch) {
  Status s = m->evaluate(pointers(xs, m->num_inputs()), pointers(ys, m->num_outputs()), n, &out[0], out + 1, batch);
  return s.ok() ? 1 : fail(s);
}

int kiln_model_predict(Model* m, const float* const* xs, int n, float* const* outs, int batch) {
  Status s = m->predict(pointers(xs, m->num_inputs()), n, std::vector<float*>(outs, outs + m->num_outputs()), batch);
  return s.ok() ? 1 : fail(s);
}

// An eager call under autograd (Model::call_forward): the call id, or 0 on failure.
int kiln_model_call(Model* m, const float* const* xs, int n, int training, float* const* outs) {
  int call = 0;
  Status s = m->call_forward(pointers(xs, m->num_inputs()), n, training != 0, std::vector<float*>(outs, outs + m->num_outputs()), &call);
  return s.ok() ? call : fail(s);
}

// dys: one per output; dxs: one per input, dws: one per weight (entries may be null).
int kiln_model_call_backward(Model* m, int call, const float* const* dys, float* const* dxs, float* const* dws) {
  Status s = m->call_backward(call, pointers(dys, m->num_outputs()), std::vector<float*>(dxs, dxs + m->num_inputs()),
                              std::vector<float*>(dws, dws + m->num_weights()));
  return s.ok() ? 1 : fail(s);
}

void kiln_model_call_release(Model* m, int call) { m->call_release(call); }

int kiln_model_warmup(Model* m, int batch) {
  Status s = m->warmup(batch);
  return s.ok() ? 1 : fail(s);
}

void kiln_model_shuffle(Model* m, uint32_t* indices, int n) { m->shuffle(indices, n); }
void kiln_model_reseed(Model* m, uint32_t seed) { m->reseed(seed); }
void kiln_model_reset_states(Model* m) { m->reset_states(); }
const char* kiln_model_topology(Model* m) { return m->topology().c_str(); }
int kiln_model_num_inputs(Model* m) { return int(m->num_inputs()); }
int kiln_model_num_outputs(Model* m) { return int(m->num_outputs()); }
// Shapes without the batch dimension.
int kiln_model_input_rank(Model* m, int i) { return int(m->input_shape(size_t(i)).size()); }
int kiln_model_input_dim(Model* m, int i, int d) { return int(m->input_shape(size_t(i))[size_t(d)]); }
int kiln_model_output_rank(Model* m, int i) { return int(m->output_shape(size_t(i)).size()); }
int kiln_model_output_dim(Model* m, int i, int d) { return int(m->output_shape(size_t(i))[size_t(d)]); }
int kiln_model_target_numel(Model* m, int i) { return int(m->target_numel(size_t(i))); }
double kiln_model_count_params(Model* m) { return double(m->count_params()); }
int kiln_model_compiled(Model* m) { return m->compiled(); }
// out: the loss code, then the optimizer in kiln_model_compile's layout;
// returns the number of doubles (at most 2 + kOptimizerFields + 2 * 1024).
int kiln_model_training_info(Model* m, double* out) {
  const TrainingConfig& c = m->training_config();
  const OptimizerConfig& o = c.optimizer;
  const LearningRateSchedule& s = o.schedule;
  std::vector<double> v = {double(c.loss), double(o.kind), o.learning_rate, o.momentum, double(o.nesterov), o.beta1,
                           o.beta2, o.epsilon, o.weight_decay, o.decay, o.initial_accumulator, o.rho, double(o.centered),
                           o.clip_value, o.clip_norm, o.global_clipnorm, double(s.kind), double(s.decay_steps),
                           s.decay_rate, double(s.staircase), s.alpha, double(s.boundaries.size())};
  for (int64_t b : s.boundaries) v.push_back(double(b));
  for (float x : s.values) v.push_back(x);
  std::memcpy(out, v.data(), v.size() * sizeof(double));
  return int(v.size());
}
int kiln_model_num_weights(Model* m) { return int(m->num_weights()); }
int kiln_model_weight_rank(Model* m, int i) { return int(m->weight_shape(size_t(i)).size()); }
int kiln_model_weight_dim(Model* m, int i, int d) { return int(m->weight_shape(size_t(i))[size_t(d)]); }
// For writing weights in place (the model's plans then refresh what they derived from them).
float* kiln_model_weight_data(Model* m, int i) { return m->mutable_weight_data(size_t(i)); }
// For reading them (no refresh).
const float* kiln_model_weight_view(Model* m, int i) { return static_cast<const Model*>(m)->weight_data(size_t(i)); }
const char* kiln_model_weight_name(Model* m, int i) { return m->weight_name(size_t(i)).c_str(); }
int kiln_model_weight_trainable(Model* m, int i) { return m->weight_trainable(size_t(i)); }
int kiln_model_set_weight(Model* m, int i, const float* data, int n) {
  Status s = m->set_weight(size_t(i), data, n);
  return s.ok() ? 1 : fail(s);
}

// kiln.setBackend / getBackend / placement: which backend plans prefer.
int kiln_set_backend(const char* name, int strict) {
  Status s = set_default_backend(name, strict != 0);
  return s.ok() ? 1 : fail(s);
}
const char* kiln_backend() { return default_backend_choice().order.front()->name(); }
const char* kiln_backend_names() {
  Json names = Json::array();
  for (const std::string& n : backend_names()) names.push(Json::string(n));
  g_text = names.dump();
  return g_text.c_str();
}
const char* kiln_model_placement(Model* m) {
  g_text = m->placement().dump();
  return g_text.c_str();
}

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
