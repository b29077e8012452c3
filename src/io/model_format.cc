#include "io/model_format.h"

#include <cstdlib>
#include <cstring>

#include "io/crc32.h"
#include "io/kiln_graph_format.h"

namespace kiln {
namespace {

static_assert(sizeof(float) == 4, "float32 required");
constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'M', 'O', 'D', 'L'};
constexpr size_t kHeaderBytes = 64, kLayerBytes = 8, kTensorEntryBytes = 32;

// The four dims a tensor-table entry holds: a rank-5 weight (Conv3D's kernel)
// keeps its last two dims multiplied in the fourth (the architecture gives
// the shape; the table only confirms it).
std::vector<uint32_t> table_dims(const Shape& s) {
  std::vector<uint32_t> dims;
  for (size_t d = 0; d < s.size(); ++d) {
    if (d < 4) dims.push_back(uint32_t(s[d]));
    else dims[3] = uint32_t(uint64_t(dims[3]) * uint64_t(s[d]));
  }
  return dims;
}
// The training block: 32 bytes in version 1; 80 in version 2, plus a piecewise
// schedule's boundaries (i64) and values (f32, one more).
constexpr size_t kTrainingV1Bytes = 32, kTrainingV2Bytes = 80;
constexpr uint8_t kTrainNesterov = 1, kTrainCentered = 2, kTrainStaircase = 4;
constexpr uint64_t kAlign = 64;
constexpr uint32_t kFlagTraining = 1, kFlagSlots = 2;
constexpr uint8_t kLayerDense = 1;

bool little_endian() {
  const uint16_t probe = 1;
  uint8_t first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

// Little-endian field writer/reader over a byte vector.
struct Writer {
  std::vector<uint8_t>& b;
  template <typename T>
  void put(size_t at, T v) { std::memcpy(b.data() + at, &v, sizeof(T)); }
};
template <typename T>
T get(const uint8_t* p, size_t at) {
  T v;
  std::memcpy(&v, p + at, sizeof(T));
  return v;
}

struct TensorRef {
  uint8_t role;  // 0 weight, 1 + s: optimizer slot s
  uint32_t index;
};

uint64_t align_up(uint64_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

Status bad(const std::string& what) { return Status::error("invalid Kiln model file: " + what); }

size_t training_bytes(uint32_t version, uint64_t boundaries) {
  if (version == 1) return kTrainingV1Bytes;
  return kTrainingV2Bytes + (boundaries ? size_t(boundaries) * 12 + 4 : 0);
}

void write_training(Writer& w, size_t at, const TrainingConfig& c, int64_t step) {
  const OptimizerConfig& o = c.optimizer;
  const LearningRateSchedule& s = o.schedule;
  w.b[at] = uint8_t(o.kind);
  w.b[at + 1] = uint8_t(c.loss);
  w.b[at + 2] = uint8_t((o.nesterov ? kTrainNesterov : 0) | (o.centered ? kTrainCentered : 0) | (s.staircase ? kTrainStaircase : 0));
  w.b[at + 3] = uint8_t(s.kind);
  const float fields[14] = {o.learning_rate, o.momentum, o.beta1, o.beta2, o.epsilon, o.weight_decay, o.decay,
                            o.initial_accumulator, o.rho, o.clip_value, o.clip_norm, o.global_clipnorm, s.decay_rate, s.alpha};
  for (size_t i = 0; i < 14; ++i) w.put<float>(at + 4 + 4 * i, fields[i]);
  w.put<uint32_t>(at + 60, uint32_t(s.boundaries.size()));
  w.put<int64_t>(at + 64, s.decay_steps);
  w.put<int64_t>(at + 72, step);
  at += kTrainingV2Bytes;
  for (int64_t b : s.boundaries) w.put<int64_t>(at, b), at += 8;
  for (float v : s.values) w.put<float>(at, v), at += 4;
}

// Reads a training block whose size was checked; the values are checked by compile().
Status read_training(uint32_t version, const uint8_t* p, size_t at, TrainingConfig* c, int64_t* step) {
  OptimizerConfig& o = c->optimizer;
  if (p[at] >= (version == 1 ? 2 : kNumOptimizerKinds)) return bad("unknown optimizer " + std::to_string(p[at]));
  if (p[at + 1] >= kNumLossKinds) return bad("unknown loss " + std::to_string(p[at + 1]));
  o.kind = OptimizerKind(p[at]);
  c->loss = LossKind(p[at + 1]);
  o.learning_rate = get<float>(p, at + 4);
  o.momentum = get<float>(p, at + 8);
  o.beta1 = get<float>(p, at + 12);
  o.beta2 = get<float>(p, at + 16);
  o.epsilon = get<float>(p, at + 20);
  if (version == 1) {
    o.nesterov = p[at + 2] != 0;
    *step = get<int64_t>(p, at + 24);
  } else {
    const uint8_t flags = p[at + 2];
    if (flags & ~(kTrainNesterov | kTrainCentered | kTrainStaircase)) return bad("unknown training flags " + std::to_string(flags));
    if (p[at + 3] >= kNumScheduleKinds) return bad("unknown learning-rate schedule " + std::to_string(p[at + 3]));
    o.nesterov = flags & kTrainNesterov;
    o.centered = flags & kTrainCentered;
    LearningRateSchedule& s = o.schedule;
    s.staircase = flags & kTrainStaircase;
    s.kind = ScheduleKind(p[at + 3]);
    float* fields[9] = {&o.weight_decay, &o.decay, &o.initial_accumulator, &o.rho, &o.clip_value,
                        &o.clip_norm, &o.global_clipnorm, &s.decay_rate, &s.alpha};
    for (size_t i = 0; i < 9; ++i) *fields[i] = get<float>(p, at + 24 + 4 * i);
    const uint32_t boundaries = get<uint32_t>(p, at + 60);
    s.decay_steps = get<int64_t>(p, at + 64);
    *step = get<int64_t>(p, at + 72);
    size_t b = at + kTrainingV2Bytes;
    for (uint32_t i = 0; i < boundaries; ++i, b += 8) s.boundaries.push_back(get<int64_t>(p, b));
    for (uint32_t i = 0; boundaries && i <= boundaries; ++i, b += 4) s.values.push_back(get<float>(p, b));
  }
  if (*step < 0) return bad("negative optimizer step");
  return Status();
}

}  // namespace

Status encode_model(Model& m, bool include_optimizer, std::vector<uint8_t>* out) {
  if (!little_endian()) return Status::error("save: big-endian hosts are not supported");
  const bool training = m.compiled();
  const int slots = include_optimizer && training ? m.num_slots() : 0;
  std::vector<TensorRef> tensors;
  for (int role = 0; role <= slots; ++role)
    for (uint32_t i = 0; i < m.num_weights(); ++i) tensors.push_back({uint8_t(role), i});

  // A plain dense stack keeps the compact version-2 layer table (older Kiln
  // reads it); anything else stores its JSON topology (version 3).
  std::vector<DenseLayerSpec> dense;
  const bool v2 = m.dense_specs(&dense);
  const uint32_t version = v2 ? 2 : 3;
  const size_t layers_bytes = v2 ? 8 + kLayerBytes * dense.size() : 8 + (m.topology().size() + 7) / 8 * 8;
  const size_t arch = layers_bytes +
                     (training ? training_bytes(version, m.training_config().optimizer.schedule.boundaries.size()) : 0);
  const uint64_t table = kHeaderBytes + arch;
  uint64_t offset = align_up(table + kTensorEntryBytes * tensors.size());
  const uint64_t data_start = offset;
  std::vector<uint64_t> offsets;
  for (const TensorRef& t : tensors) {
    offsets.push_back(offset);
    offset = align_up(offset + uint64_t(shape_numel(m.weight_shape(t.index))) * 4);
  }
  const uint64_t file_size = offset;
  // Without exceptions (wasm) a failed vector allocation aborts: check first.
  void* probe = file_size <= uint64_t(SIZE_MAX) ? std::malloc(size_t(file_size)) : nullptr;
  if (!probe) return Status::error("save: out of memory for a " + std::to_string(file_size) + "-byte model file");
  std::free(probe);
  out->assign(size_t(file_size), 0);
  Writer w{*out};
  std::memcpy(out->data(), kMagic, 8);
  w.put<uint32_t>(8, version);
  w.put<uint32_t>(12, (training ? kFlagTraining : 0) | (slots ? kFlagSlots : 0));
  w.put<uint64_t>(16, file_size);
  w.put<uint32_t>(28, uint32_t(arch));
  w.put<uint32_t>(32, uint32_t(tensors.size()));
  w.put<uint64_t>(40, table);
  w.put<uint64_t>(48, data_start);
  size_t at = kHeaderBytes;
  if (v2) {
    w.put<uint32_t>(at, uint32_t(m.input_dim()));
    w.put<uint32_t>(at + 4, uint32_t(dense.size()));
    at += 8;
    for (const DenseLayerSpec& l : dense) {
      (*out)[at] = kLayerDense;
      (*out)[at + 1] = uint8_t(l.activation);
      (*out)[at + 2] = l.use_bias ? 1 : 0;
      w.put<uint32_t>(at + 4, uint32_t(l.units));
      at += kLayerBytes;
    }
  } else {
    w.put<uint32_t>(at, uint32_t(m.topology().size()));
    std::memcpy(out->data() + at + 8, m.topology().data(), m.topology().size());
    at += layers_bytes;
  }
  if (training) write_training(w, at, m.training_config(), include_optimizer ? m.optimizer_step() : 0);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const size_t e = size_t(table + i * kTensorEntryBytes);
    const Shape& s = m.weight_shape(tensors[i].index);
    (*out)[e] = tensors[i].role;
    (*out)[e + 1] = uint8_t(s.size());
    w.put<uint32_t>(e + 4, tensors[i].index);
    const std::vector<uint32_t> dims = table_dims(s);
    for (size_t d = 0; d < dims.size(); ++d) w.put<uint32_t>(e + 8 + 4 * d, dims[d]);
    w.put<uint64_t>(e + 24, offsets[i]);
    const float* src = tensors[i].role == 0 ? m.weight_data(tensors[i].index) : m.slot_data(tensors[i].role - 1, tensors[i].index);
    std::memcpy(out->data() + offsets[i], src, size_t(shape_numel(s)) * 4);
  }
  w.put<uint32_t>(24, crc32(out->data(), out->size()));
  return Status();
}

static Status decode_v3(const uint8_t* p, size_t size, uint32_t arch, bool training, bool has_slots, std::unique_ptr<Model>* out);
// The tensor table and data, shared by every version; checks each entry against the model.
static Status read_tensors(const uint8_t* p, size_t size, uint32_t arch, bool training, bool has_slots,
                           const TrainingConfig& config, int64_t step, std::unique_ptr<Model> m, std::unique_ptr<Model>* out);

Status decode_model(const uint8_t* p, size_t size, std::unique_ptr<Model>* out) {
  if (!little_endian()) return Status::error("load: big-endian hosts are not supported");
  if (!p || size < kHeaderBytes) return bad("too short for a header (" + std::to_string(size) + " bytes, need 64)");
  if (std::memcmp(p, kMagic, 8) != 0) return bad("wrong magic bytes (not a Kiln model)");
  const uint32_t version = get<uint32_t>(p, 8);
  if (is_kiln_graph(p, size))
    return bad("format version " + std::to_string(version) + " is an ONNX model (from kiln convert): load it with kiln.onnx.load or OnnxSession");
  if (version < 1 || version > kModelFormatVersion)
    return bad("unsupported format version " + std::to_string(version) + " (this Kiln reads versions 1 to " + std::to_string(kModelFormatVersion) + ")");
  const uint64_t file_size = get<uint64_t>(p, 16);
  if (file_size != size)
    return bad("the header says " + std::to_string(file_size) + " bytes but " + std::to_string(size) + " were given (truncated or padded file)");
  // The checksum covers the file with its own field zeroed: chain the pieces.
  const uint8_t zeros[4] = {0, 0, 0, 0};
  const uint32_t crc = crc32(p + 28, size - 28, crc32(zeros, 4, crc32(p, 24)));
  if (crc != get<uint32_t>(p, 24)) return bad("checksum mismatch (the file is corrupted)");
  const uint32_t flags = get<uint32_t>(p, 12);
  if (flags & ~(kFlagTraining | kFlagSlots)) return bad("unknown flags " + std::to_string(flags));
  const bool training = flags & kFlagTraining, has_slots = flags & kFlagSlots;
  if (has_slots && !training) return bad("optimizer state without a training configuration");
  const uint32_t arch = get<uint32_t>(p, 28);
  if (kHeaderBytes + 8 > size || arch < 8 || arch > size - kHeaderBytes) return bad("architecture section out of bounds");
  if (version == 3) return decode_v3(p, size, arch, training, has_slots, out);
  const uint32_t input_dim = get<uint32_t>(p, kHeaderBytes);
  const uint32_t num_layers = get<uint32_t>(p, kHeaderBytes + 4);
  if (num_layers == 0 || num_layers > kMaxLayers) return bad("layer count " + std::to_string(num_layers) + " out of range");
  const size_t train_at = kHeaderBytes + 8 + kLayerBytes * num_layers;
  uint64_t boundaries = 0;  // read only where it lies inside the architecture section
  if (training && version > 1 && arch >= 8 + kLayerBytes * num_layers + kTrainingV2Bytes) boundaries = get<uint32_t>(p, train_at + 60);
  if (boundaries > kMaxScheduleBoundaries) return bad("schedule boundary count " + std::to_string(boundaries) + " out of range");
  if (arch != 8 + kLayerBytes * num_layers + (training ? training_bytes(version, boundaries) : 0))
    return bad("architecture section size " + std::to_string(arch) + " does not match " + std::to_string(num_layers) + " layers");
  std::vector<DenseLayerSpec> layers(num_layers);
  size_t at = kHeaderBytes + 8;
  for (uint32_t i = 0; i < num_layers; ++i, at += kLayerBytes) {
    if (p[at] != kLayerDense) return bad("layer " + std::to_string(i) + " has unknown type " + std::to_string(p[at]));
    if (p[at + 1] >= kNumActivations) return bad("layer " + std::to_string(i) + " has unknown activation " + std::to_string(p[at + 1]));
    if (p[at + 2] > 1) return bad("layer " + std::to_string(i) + " has an invalid useBias flag");
    layers[i].activation = Activation(p[at + 1]);
    layers[i].use_bias = p[at + 2] == 1;
    layers[i].units = get<uint32_t>(p, at + 4);
    layers[i].kernel_initializer = layers[i].bias_initializer = Initializer::kZeros;  // overwritten below
  }
  TrainingConfig config;
  int64_t step = 0;
  if (training) KILN_RETURN_IF_ERROR(read_training(version, p, at, &config, &step));
  // The weights must fit in the file before anything is allocated for them,
  // so a small hostile file cannot make the loader reserve gigabytes.
  if (input_dim == 0 || input_dim > uint64_t(kMaxUnits)) return bad("input dimension " + std::to_string(input_dim) + " out of range");
  uint64_t declared = 0, fan_in = input_dim;
  for (size_t i = 0; i < layers.size(); ++i) {
    const DenseLayerSpec& l = layers[i];
    const uint64_t units = uint64_t(l.units);
    if (units == 0 || units > uint64_t(kMaxUnits)) return bad("layer " + std::to_string(i) + " units " + std::to_string(units) + " out of range");
    declared += fan_in * units + (l.use_bias ? units : 0);  // < 2^49 per layer: no overflow
    if (declared > size / 4) return bad("the architecture declares more weights than the file holds");
    fan_in = units;
  }
  std::unique_ptr<Model> m;
  Status st = Model::create_dense(input_dim, layers, 0, &m);
  if (!st.ok()) return bad(st.message());
  return read_tensors(p, size, arch, training, has_slots, config, step, std::move(m), out);
}

// Version 3: the architecture is [u32 topology bytes][u32 0][JSON, padded to 8][training block].
static Status decode_v3(const uint8_t* p, size_t size, uint32_t arch, bool training, bool has_slots, std::unique_ptr<Model>* out) {
  const uint64_t json_bytes = get<uint32_t>(p, kHeaderBytes);
  const uint64_t layers_bytes = 8 + (json_bytes + 7) / 8 * 8;
  if (layers_bytes > arch) return bad("topology longer than the architecture section");
  const std::string topology(reinterpret_cast<const char*>(p + kHeaderBytes + 8), size_t(json_bytes));
  TrainingConfig config;
  int64_t step = 0;
  uint64_t boundaries = 0;
  const size_t train_at = size_t(kHeaderBytes + layers_bytes);
  if (training && arch >= layers_bytes + kTrainingV2Bytes) boundaries = get<uint32_t>(p, train_at + 60);
  if (boundaries > kMaxScheduleBoundaries) return bad("schedule boundary count " + std::to_string(boundaries) + " out of range");
  if (arch != layers_bytes + (training ? training_bytes(3, boundaries) : 0)) return bad("architecture section size " + std::to_string(arch) + " does not match its topology");
  if (training) KILN_RETURN_IF_ERROR(read_training(3, p, train_at, &config, &step));
  std::unique_ptr<Model> m;
  // No more weights than the file can hold are allocated.
  Status st = Model::create(topology, 0, &m, int64_t(size / 4));
  if (!st.ok()) return bad(st.message());
  return read_tensors(p, size, arch, training, has_slots, config, step, std::move(m), out);
}

static Status read_tensors(const uint8_t* p, size_t size, uint32_t arch, bool training, bool has_slots,
                           const TrainingConfig& config, int64_t step, std::unique_ptr<Model> m, std::unique_ptr<Model>* out) {
  Status st;
  if (training) {
    st = m->compile(config);
    if (!st.ok()) return bad("training configuration: " + st.message());
    m->set_optimizer_step(step);
  }
  const int slots = has_slots ? m->num_slots() : 0;
  const uint64_t expected = uint64_t(slots + 1) * m->num_weights();
  const uint32_t count = get<uint32_t>(p, 32);
  const uint64_t table = get<uint64_t>(p, 40), data_start = get<uint64_t>(p, 48);
  if (count != expected) return bad("expected " + std::to_string(expected) + " tensors, the table lists " + std::to_string(count));
  if (table != kHeaderBytes + arch || table + uint64_t(count) * kTensorEntryBytes > size) return bad("tensor table out of bounds");
  if (data_start < table + uint64_t(count) * kTensorEntryBytes || data_start > size) return bad("data section out of bounds");
  std::vector<bool> seen(size_t(expected), false);
  uint64_t previous_end = data_start;  // tensors are stored in table order, never overlapping
  for (uint32_t i = 0; i < count; ++i) {
    const size_t e = size_t(table + uint64_t(i) * kTensorEntryBytes);
    const uint8_t role = p[e], ndim = p[e + 1];
    const uint32_t index = get<uint32_t>(p, e + 4);
    const std::string name = "tensor " + std::to_string(i);
    if (role > slots || index >= m->num_weights()) return bad(name + " has an invalid role or weight index");
    const size_t slot_id = size_t(role) * m->num_weights() + index;
    if (seen[slot_id]) return bad(name + " duplicates an earlier tensor");
    seen[slot_id] = true;
    const Shape& shape = m->weight_shape(index);
    if (ndim != shape.size()) return bad(name + " has rank " + std::to_string(ndim) + ", expected " + std::to_string(shape.size()));
    const std::vector<uint32_t> dims = table_dims(shape);
    for (size_t d = 0; d < dims.size(); ++d)
      if (get<uint32_t>(p, e + 8 + 4 * d) != dims[d])
        return bad(name + " does not have the shape " + shape_to_string(shape) + " the architecture implies");
    const uint64_t off = get<uint64_t>(p, e + 24), bytes = uint64_t(shape_numel(shape)) * 4;
    if (off % kAlign != 0 || off < previous_end || off > size || bytes > size - off)
      return bad(name + " data out of bounds, misaligned or overlapping the previous tensor");
    previous_end = off + bytes;
    float* dst = role == 0 ? m->mutable_weight_data(index) : m->slot_data(role - 1, index);
    std::memcpy(dst, p + off, size_t(bytes));
  }
  *out = std::move(m);
  return Status();
}

}  // namespace kiln
