#include "io/kiln_graph_format.h"

#include <cstring>
#include <limits>

#include "io/crc32.h"
#include "io/protobuf_reader.h"
#include "io/weight_quantization.h"

namespace kiln {
namespace {

static_assert(sizeof(float) == 4, "float32 required");
constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'M', 'O', 'D', 'L'};
constexpr size_t kHeaderBytes = 64, kEntryBytes = 32;
constexpr uint64_t kAlign = 64;
constexpr uint32_t kMaxRank = 64;
// onnx.proto field numbers: ModelProto.graph, GraphProto.initializer.
constexpr uint32_t kModelGraph = 7, kGraphInitializer = 5;

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

template <typename T>
void put(std::vector<uint8_t>& b, size_t at, T v) { std::memcpy(b.data() + at, &v, sizeof(T)); }
template <typename T>
T get(const uint8_t* p, size_t at) {
  T v;
  std::memcpy(&v, p + at, sizeof(T));
  return v;
}

Status bad(const std::string& what) { return Status::error("invalid Kiln graph file: " + what); }

bool little_endian() {
  const uint16_t probe = 1;
  uint8_t first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

// ---- the ONNX graph section: the ModelProto without the graph's initializers

void put_varint(uint64_t v, std::vector<uint8_t>* out) {
  for (; v >= 0x80; v >>= 7) out->push_back(uint8_t(v | 0x80));
  out->push_back(uint8_t(v));
}

// Copies every field of a message verbatim, except that fields numbered
// `drop` are left out and a length-delimited field numbered `rewrite` is
// passed through `inner` first (its length varint recomputed); 0 for none.
Status filter_fields(const uint8_t* data, size_t size, uint32_t drop, uint32_t rewrite,
                     Status (*inner)(const uint8_t*, size_t, std::vector<uint8_t>*), std::vector<uint8_t>* out) {
  ProtoReader r(data, size);
  while (!r.done()) {
    ProtoField f;
    KILN_RETURN_IF_ERROR(r.next(&f));
    const size_t start = f.offset;
    if (f.number == rewrite && f.wire == WireType::kLength) {
      const uint8_t* p = nullptr;
      size_t n = 0;
      KILN_RETURN_IF_ERROR(r.read_bytes(f, &p, &n));
      std::vector<uint8_t> filtered;
      KILN_RETURN_IF_ERROR(inner(p, n, &filtered));
      put_varint(uint64_t(rewrite) << 3 | uint64_t(WireType::kLength), out);
      put_varint(filtered.size(), out);
      out->insert(out->end(), filtered.begin(), filtered.end());
      continue;
    }
    KILN_RETURN_IF_ERROR(r.skip(f));
    if (f.number != drop) out->insert(out->end(), data + start, data + r.offset());
  }
  return Status();
}

Status graph_without_initializers(const uint8_t* data, size_t size, std::vector<uint8_t>* out) {
  return filter_fields(data, size, kGraphInitializer, 0, nullptr, out);
}

// ---- tensors

// Table entry: u32 data type, u8 encoding, u8 rank, u16 0, u32 name length,
// u32 0, u64 data offset, u64 stored bytes, i64 dims[rank], name padded to 8.
struct Entry {
  const OnnxTensor* tensor;
  WeightEncoding encoding;
  std::vector<uint8_t> narrow;  // the stored bytes when encoded; else the tensor's own are stored
  uint64_t offset = 0;
  const std::vector<uint8_t>& bytes() const { return encoding == WeightEncoding::kFloat32 ? tensor->data : narrow; }
};

// 64-bit: a hostile name length must not wrap around on wasm32.
uint64_t entry_bytes(uint64_t rank, uint64_t name_length) { return kEntryBytes + 8 * rank + align_up(name_length, 8); }

// int8 channels: axis 0 for rank >= 2, one channel for vectors and scalars.
uint64_t int8_channels(const std::vector<int64_t>& dims) { return dims.size() >= 2 ? uint64_t(dims[0]) : 1; }

std::vector<float> as_floats(const OnnxTensor& t) {
  std::vector<float> x(t.data.size() / 4);
  if (!x.empty()) std::memcpy(x.data(), t.data.data(), t.data.size());
  return x;
}

// Chooses the tensor's storage: the requested narrow form for large float32
// tensors whose values it can represent, else the ONNX bytes unchanged.
Entry encode_tensor(const OnnxTensor& t, WeightEncoding wanted, int64_t min_elements) {
  Entry e{&t, WeightEncoding::kFloat32, {}, 0};
  const int64_t n = t.element_count();
  if (wanted != WeightEncoding::kFloat32 && t.data_type == DataType::kFloat32 && n >= min_elements) {
    const std::vector<float> x = as_floats(t);
    if (wanted == WeightEncoding::kFloat16 && fits_float16(x.data(), x.size())) {
      e.encoding = wanted;
      e.narrow.resize(x.size() * 2);
      std::vector<uint16_t> half(x.size());
      quantize_float16(x.data(), x.size(), half.data());
      std::memcpy(e.narrow.data(), half.data(), e.narrow.size());
      return e;
    }
    if (wanted == WeightEncoding::kInt8 && all_finite(x.data(), x.size())) {
      const uint64_t channels = int8_channels(t.dims);
      e.encoding = wanted;
      std::vector<float> scales(channels);
      e.narrow.resize(size_t(channels * 4 + x.size()));
      quantize_int8(x.data(), channels, x.size() / channels, scales.data(),
                    reinterpret_cast<int8_t*>(e.narrow.data() + channels * 4));
      std::memcpy(e.narrow.data(), scales.data(), channels * 4);
      return e;
    }
  }
  return e;
}

// Widens stored bytes back to the tensor's ONNX bytes (float32 for narrow
// forms), straight into `data` (heap storage, aligned for float).
void decode_tensor_data(const uint8_t* p, const std::vector<int64_t>& dims, uint64_t elements, WeightEncoding enc,
                        uint64_t stored, std::vector<uint8_t>* data) {
  if (enc == WeightEncoding::kFloat32) {
    data->assign(p, p + stored);
    return;
  }
  data->resize(size_t(elements * 4));
  float* out = reinterpret_cast<float*>(data->data());
  if (enc == WeightEncoding::kFloat16) {
    std::vector<uint16_t> half(elements);  // the file's bytes need not be aligned for uint16_t
    if (elements) std::memcpy(half.data(), p, size_t(elements * 2));
    dequantize_float16(half.data(), size_t(elements), out);
  } else {
    const uint64_t channels = int8_channels(dims);
    std::vector<float> scales(channels);
    if (channels) std::memcpy(scales.data(), p, size_t(channels * 4));
    dequantize_int8(reinterpret_cast<const int8_t*>(p + channels * 4), scales.data(), channels,
                    channels ? elements / channels : 0, out);
  }
}

// Walks subgraphs too: a Constant node's value held outside the file would
// be lost, since only initializers move into the Kiln file.
bool has_external_attribute(const OnnxGraph& g) {
  for (const OnnxNode& node : g.nodes)
    for (const OnnxAttribute& a : node.attributes) {
      if (a.t.has_external_data || (a.g && has_external_attribute(*a.g))) return true;
      for (const OnnxTensor& t : a.tensors)
        if (t.has_external_data) return true;
      for (const OnnxGraph& sub : a.graphs)
        if (has_external_attribute(sub)) return true;
    }
  return false;
}

}  // namespace

bool is_kiln_graph(const uint8_t* data, size_t size) {
  return data && size >= 12 && std::memcmp(data, kMagic, 8) == 0 && get<uint32_t>(data, 8) == kKilnGraphVersion;
}

Status encode_kiln_graph(const uint8_t* onnx, size_t size, WeightEncoding encoding, std::vector<uint8_t>* out,
                         const OnnxFileReader* external, int64_t min_quantized_elements) {
  if (!little_endian()) return Status::error("convert: big-endian hosts are not supported");
  if (is_kiln_graph(onnx, size)) return Status::error("convert: the input is already a Kiln graph file (convert the original .onnx)");
  OnnxModel model;
  KILN_RETURN_IF_ERROR(parse_onnx_model(onnx, size, &model));
  if (external) KILN_RETURN_IF_ERROR(resolve_external_data(&model, *external));
  if (has_external_attribute(model.graph)) return Status::error("convert: attribute tensors with external data are not supported");
  std::vector<Entry> entries;
  for (const OnnxTensor& t : model.graph.initializers) {
    if (t.has_external_data) return Status::error("convert: initializer '" + t.name + "' has external data and no file reader was given");
    if (t.data_type == DataType::kString) return Status::error("convert: initializer '" + t.name + "' holds strings, which Kiln graph files do not store");
    if (t.dims.size() > kMaxRank) return Status::error("convert: initializer '" + t.name + "' has more than 64 dimensions");
    entries.push_back(encode_tensor(t, encoding, min_quantized_elements));
  }
  std::vector<uint8_t> graph;
  KILN_RETURN_IF_ERROR(filter_fields(onnx, size, 0, kModelGraph, graph_without_initializers, &graph));

  const uint64_t table = align_up(kHeaderBytes + graph.size(), 8);
  uint64_t at = table;
  for (const Entry& e : entries) at += entry_bytes(e.tensor->dims.size(), e.tensor->name.size());
  const uint64_t data_start = align_up(at, kAlign);
  at = data_start;
  for (Entry& e : entries) {
    e.offset = at;
    at = align_up(at + e.bytes().size(), kAlign);
  }
  out->assign(size_t(at), 0);
  std::vector<uint8_t>& b = *out;
  std::memcpy(b.data(), kMagic, 8);
  put<uint32_t>(b, 8, kKilnGraphVersion);
  put<uint64_t>(b, 16, at);
  put<uint32_t>(b, 28, uint32_t(entries.size()));
  put<uint64_t>(b, 32, graph.size());
  put<uint64_t>(b, 40, table);
  put<uint64_t>(b, 48, data_start);
  std::memcpy(b.data() + kHeaderBytes, graph.data(), graph.size());
  size_t e_at = size_t(table);
  for (const Entry& e : entries) {
    const OnnxTensor& t = *e.tensor;
    put<uint32_t>(b, e_at, uint32_t(t.data_type));
    b[e_at + 4] = uint8_t(e.encoding);
    b[e_at + 5] = uint8_t(t.dims.size());
    put<uint32_t>(b, e_at + 8, uint32_t(t.name.size()));
    put<uint64_t>(b, e_at + 16, e.offset);
    put<uint64_t>(b, e_at + 24, e.bytes().size());
    for (size_t d = 0; d < t.dims.size(); ++d) put<int64_t>(b, e_at + kEntryBytes + 8 * d, t.dims[d]);
    std::memcpy(b.data() + e_at + kEntryBytes + 8 * t.dims.size(), t.name.data(), t.name.size());
    e_at += size_t(entry_bytes(t.dims.size(), t.name.size()));
    if (!e.bytes().empty()) std::memcpy(b.data() + e.offset, e.bytes().data(), e.bytes().size());
  }
  put<uint32_t>(b, 24, crc32(b.data(), b.size()));
  return Status();
}

namespace {

// One table entry at `at` (inside [at, table_end)), checked and decoded; `at` moves past it.
Status read_entry(const uint8_t* p, size_t size, uint64_t* at, uint64_t table_end, uint64_t* previous_end,
                  OnnxTensor* t, KilnGraphTensorInfo* info) {
  if (table_end - *at < kEntryBytes) return bad("runs past the end of the tensor table");
  const size_t e = size_t(*at);
  const uint32_t type = get<uint32_t>(p, e), name_length = get<uint32_t>(p, e + 8);
  const uint8_t enc = p[e + 4], rank = p[e + 5];
  const uint64_t offset = get<uint64_t>(p, e + 16), stored = get<uint64_t>(p, e + 24);
  if (get<uint16_t>(p, e + 6) != 0 || get<uint32_t>(p, e + 12) != 0) return bad("reserved fields are not zero");
  if (rank > kMaxRank) return bad("rank " + std::to_string(rank) + " is over 64");
  if (table_end - *at < entry_bytes(rank, name_length)) return bad("dims or name run past the end of the tensor table");
  t->name.assign(reinterpret_cast<const char*>(p + e + kEntryBytes + 8 * rank), name_length);
  info->name = t->name;
  const std::string name = "tensor '" + t->name + "'";
  *at += entry_bytes(rank, name_length);
  const size_t width = type <= uint32_t(std::numeric_limits<int32_t>::max()) ? dtype_size(DataType(int32_t(type))) : 0;
  if (width == 0)  // strings, complex and unknown types
    return bad(name + " has unsupported data type " + std::to_string(type));
  t->data_type = info->data_type = DataType(int32_t(type));
  if (enc > uint8_t(WeightEncoding::kInt8)) return bad(name + " has unknown encoding " + std::to_string(enc));
  const WeightEncoding encoding = WeightEncoding(enc);
  if (encoding != WeightEncoding::kFloat32 && t->data_type != DataType::kFloat32)
    return bad(name + " is quantized but its data type is not float32");
  // Elements are bounded by the stored bytes checked below (>= 1 byte each).
  uint64_t elements = 1;
  for (uint32_t d = 0; d < rank; ++d) {
    const int64_t dim = get<int64_t>(p, e + kEntryBytes + 8 * d);
    if (dim < 0) return bad(name + " has negative dimension " + std::to_string(dim));
    if (dim && elements > uint64_t(size) / uint64_t(dim)) return bad(name + " has more elements than the file holds");
    elements *= uint64_t(dim);
    t->dims.push_back(dim);
  }
  const uint64_t channels = int8_channels(t->dims);
  const uint64_t expected = encoding == WeightEncoding::kFloat32   ? elements * width
                            : encoding == WeightEncoding::kFloat16 ? elements * 2
                                                                   : channels * 4 + elements;
  if (stored != expected)
    return bad(name + " stores " + std::to_string(stored) + " bytes, its type, shape and encoding make " + std::to_string(expected));
  if (offset % kAlign != 0 || offset < *previous_end || offset > size || stored > size - offset)
    return bad(name + " data out of bounds, misaligned or overlapping the previous tensor");
  *previous_end = offset + stored;
  const uint64_t decoded = encoding == WeightEncoding::kFloat32 ? stored : elements * 4;  // int8 widens 4x
  if (decoded > uint64_t(std::numeric_limits<size_t>::max() / 2)) return bad(name + " is too large for this machine's memory");
  for (uint64_t c = 0; encoding == WeightEncoding::kInt8 && c < channels; ++c) {
    const float scale = get<float>(p, size_t(offset + 4 * c));
    if (!(scale >= 0 && scale <= std::numeric_limits<float>::max()))
      return bad(name + " has int8 scale " + std::to_string(scale) + " for channel " + std::to_string(c));
  }
  info->encoding = encoding;
  info->elements = int64_t(elements);
  info->stored_bytes = stored;
  decode_tensor_data(p + offset, t->dims, elements, encoding, stored, &t->data);
  return Status();
}

}  // namespace

Status decode_kiln_graph(const uint8_t* p, size_t size, OnnxModel* out, std::vector<KilnGraphTensorInfo>* stored) {
  if (!little_endian()) return Status::error("load: big-endian hosts are not supported");
  if (!p || size < kHeaderBytes) return bad("too short for a header (" + std::to_string(size) + " bytes, need 64)");
  if (std::memcmp(p, kMagic, 8) != 0) return bad("wrong magic bytes (not a Kiln file)");
  if (get<uint32_t>(p, 8) != kKilnGraphVersion)
    return bad("format version " + std::to_string(get<uint32_t>(p, 8)) + " is not " + std::to_string(kKilnGraphVersion) +
               " (a Kiln layer model? load it with kiln.loadModel)");
  if (get<uint64_t>(p, 16) != size)
    return bad("the header says " + std::to_string(get<uint64_t>(p, 16)) + " bytes but " + std::to_string(size) +
               " were given (truncated or padded file)");
  const uint8_t zeros[4] = {0, 0, 0, 0};  // the checksum covers the file with its own field zeroed
  if (crc32(p + 28, size - 28, crc32(zeros, 4, crc32(p, 24))) != get<uint32_t>(p, 24))
    return bad("checksum mismatch (the file is corrupted)");
  if (get<uint32_t>(p, 12) != 0) return bad("unknown flags " + std::to_string(get<uint32_t>(p, 12)));
  if (get<uint64_t>(p, 56) != 0) return bad("reserved header field is not zero");
  const uint32_t count = get<uint32_t>(p, 28);
  const uint64_t graph = get<uint64_t>(p, 32), table = get<uint64_t>(p, 40), data_start = get<uint64_t>(p, 48);
  if (graph > size - kHeaderBytes) return bad("ONNX graph section out of bounds");
  if (table != align_up(kHeaderBytes + graph, 8) || table > size) return bad("tensor table offset " + std::to_string(table) + " is not where the graph section ends");
  if (data_start % kAlign != 0 || data_start < table || data_start > size) return bad("data section offset out of bounds or misaligned");
  if (count > (data_start - table) / kEntryBytes) return bad("tensor count " + std::to_string(count) + " does not fit in the tensor table");

  const Status parsed = parse_onnx_model(p + kHeaderBytes, size_t(graph), out);
  if (!parsed.ok()) return bad("ONNX graph section: " + parsed.message());
  if (!out->graph.initializers.empty()) return bad("the ONNX graph section holds initializers (they belong in the tensor table)");
  std::vector<KilnGraphTensorInfo> infos(count);
  out->graph.initializers.resize(count);
  uint64_t at = table, previous_end = data_start;
  for (uint32_t i = 0; i < count; ++i) {
    const Status st = read_entry(p, size, &at, data_start, &previous_end, &out->graph.initializers[i], &infos[i]);
    if (!st.ok()) return Status::error(st.message() + " (tensor table entry " + std::to_string(i) + ")");
  }
  if (align_up(at, kAlign) != data_start) return bad("the tensor table does not end where the data section starts");
  if (stored) *stored = std::move(infos);
  return Status();
}

Status read_onnx_or_kiln_graph(const uint8_t* data, size_t size, OnnxModel* out) {
  return is_kiln_graph(data, size) ? decode_kiln_graph(data, size, out) : parse_onnx_model(data, size, out);
}

}  // namespace kiln
