// The ONNX parser (src/io/onnx_model.h) and its wire reader:
//  * every model.onnx and input/output .pb of the conformance suite (Debian
//    libonnx-testdata) parses;
//  * decoded values match python3-onnx exactly on a sample of them plus files
//    made for what the suite lacks (tests/fixtures/onnx_parse/, written by
//    scripts/make_onnx_parse_fixtures.py in the text form rendered below);
//  * hostile input (truncations, seeded mutations, hand-built bad messages)
//    gives an error or a valid parse, never a crash or a huge allocation;
//  * external data is read through a callback, with bad locations and ranges
//    rejected.
// Every buffer handed to the parser is a heap block of exactly its size, so
// AddressSanitizer sees any over-read.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.h"
#include "io/onnx_model.h"
#include "io/protobuf_reader.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
const char kTestdata[] = "/usr/share/libonnx-testdata/data";
const std::string kFixtures = std::string(KILN_FIXTURE_DIR) + "/onnx_parse";

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Parses from an exactly sized heap copy.
template <typename T>
Status parse_exact(const std::vector<uint8_t>& bytes, Status (*parse)(const uint8_t*, size_t, T*), T* out) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  return parse(copy.get(), bytes.size(), out);
}

// Builds protobuf bytes for hand-made inputs.
struct Pb {
  std::vector<uint8_t> b;
  Pb& varint(uint64_t v) {
    do {
      b.push_back(uint8_t((v & 0x7F) | (v > 0x7F ? 0x80 : 0)));
      v >>= 7;
    } while (v);
    return *this;
  }
  Pb& tag(uint32_t field, int wire) { return varint(uint64_t(field) << 3 | uint64_t(wire)); }
  Pb& num(uint32_t field, uint64_t v) { return tag(field, 0).varint(v); }
  Pb& fixed32(uint32_t field, uint32_t v) {
    tag(field, 5);
    for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
    return *this;
  }
  Pb& bytes(uint32_t field, const std::vector<uint8_t>& v) {
    tag(field, 2).varint(v.size());
    b.insert(b.end(), v.begin(), v.end());
    return *this;
  }
  Pb& str(uint32_t field, const std::string& s) { return bytes(field, std::vector<uint8_t>(s.begin(), s.end())); }
  Pb& msg(uint32_t field, const Pb& m) { return bytes(field, m.b); }
};

// A ModelProto around one graph.
Pb model_of(const Pb& graph) { return Pb().num(1, 8).msg(7, graph); }

::testing::AssertionResult fails_with(const Status& s, const std::string& keyword) {
  if (s.ok()) return ::testing::AssertionFailure() << "parsed, expected an error containing '" << keyword << "'";
  if (s.message().find(keyword) == std::string::npos) {
    return ::testing::AssertionFailure() << "error '" << s.message() << "' lacks '" << keyword << "'";
  }
  return ::testing::AssertionSuccess();
}

// ---- the fixtures' text form (mirrors scripts/make_onnx_parse_fixtures.py) ----

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

std::string hex(uint64_t v, int digits) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%0*llx", digits, (unsigned long long)v);
  return buf;
}

std::string hex_bytes(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += hex(c, 2);
  return in_quotes(out);
}

std::string reference_dtype_name(DataType type) {
  static const char* names[] = {"undefined", "float32", "uint8",     "int8",       "uint16",  "int16",
                                "int32",     "int64",   "string",    "bool",       "float16", "float64",
                                "uint32",    "uint64",  "complex64", "complex128", "bfloat16"};
  int t = int(type);
  return t >= 0 && t < 17 ? names[t] : "dtype" + std::to_string(t);
}

uint64_t element_bits(const OnnxTensor& t, size_t i) {
  size_t width = dtype_size(t.data_type);
  uint64_t bits = 0;
  for (size_t b = 0; b < width; ++b) bits |= uint64_t(t.data[i * width + b]) << (8 * b);
  return bits;
}

double half_to_double(uint64_t h) {
  int exponent = int(h >> 10) & 31;
  double mantissa = double(h & 1023);
  double magnitude = exponent == 0    ? std::ldexp(mantissa, -24)
                     : exponent == 31 ? (mantissa ? NAN : INFINITY)
                                      : std::ldexp(1024 + mantissa, exponent - 25);
  return (h & 0x8000) ? -magnitude : magnitude;
}

std::string element_text(const OnnxTensor& t, size_t i) {
  if (t.data_type == DataType::kString) return hex_bytes(t.strings[i]);
  uint64_t bits = element_bits(t, i);
  switch (t.data_type) {
    case DataType::kFloat32: return hex(bits, 8);
    case DataType::kFloat16:
    case DataType::kBfloat16: return hex(bits, 4);
    case DataType::kFloat64: return hex(bits, 16);
    case DataType::kInt8: return std::to_string(int8_t(bits));
    case DataType::kInt16: return std::to_string(int16_t(bits));
    case DataType::kInt32: return std::to_string(int32_t(bits));
    case DataType::kInt64: return std::to_string(int64_t(bits));
    default: return std::to_string(bits);
  }
}

double element_value(const OnnxTensor& t, size_t i) {
  uint64_t bits = element_bits(t, i);
  float f;
  double d;
  switch (t.data_type) {
    case DataType::kFloat32: {
      uint32_t b32 = uint32_t(bits);
      std::memcpy(&f, &b32, 4);
      return f;
    }
    case DataType::kFloat16: return half_to_double(bits);
    case DataType::kFloat64: std::memcpy(&d, &bits, 8); return d;
    case DataType::kInt8: return int8_t(bits);
    case DataType::kInt16: return int16_t(bits);
    case DataType::kInt32: return int32_t(bits);
    case DataType::kInt64: return double(int64_t(bits));
    default: return double(bits);
  }
}

using Lines = std::vector<std::string>;

std::string values_line(const std::string& head, const OnnxTensor& t, size_t begin, size_t end) {
  std::string line = head;
  for (size_t i = begin; i < end; ++i) line += " " + element_text(t, i);
  return line;
}

void render_tensor(const OnnxTensor& t, const std::string& indent, Lines* out) {
  std::string dims;
  for (size_t i = 0; i < t.dims.size(); ++i) dims += (i ? "," : "") + std::to_string(t.dims[i]);
  out->push_back(indent + "tensor " + in_quotes(t.name) + " " + reference_dtype_name(t.data_type) + " [" + dims + "]");
  size_t n = size_t(t.element_count());
  if (n <= 16) {
    out->push_back(values_line(indent + " values", t, 0, n));
    return;
  }
  out->push_back(indent + " count " + std::to_string(n));
  if (t.data_type != DataType::kString) {
    double sum = element_value(t, 0);  // sequential, as numpy's cumsum
    for (size_t i = 1; i < n; ++i) sum += element_value(t, i);
    uint64_t bits;
    std::memcpy(&bits, &sum, 8);
    out->push_back(indent + " sum " + hex(bits, 16));
  }
  out->push_back(values_line(indent + " first", t, 0, 8));
  out->push_back(values_line(indent + " last", t, n - 8, n));
}

void render_value_info(const std::string& role, const OnnxValueInfo& v, const std::string& indent, Lines* out) {
  static const char* kinds[] = {"unknown", "tensor", "sequence", "map", "optional", "sparse_tensor"};
  std::string line = indent + role + " " + in_quotes(v.name) + " " + kinds[int(v.kind)];
  if (v.kind == OnnxValueKind::kTensor) {
    line += " " + reference_dtype_name(v.elem_type) + " ";
    if (!v.has_shape) {
      line += "?";
    } else {
      line += "[";
      for (size_t i = 0; i < v.shape.size(); ++i) {
        const OnnxDim& d = v.shape[i];
        line += (i ? "," : "") + (d.value >= 0 ? std::to_string(d.value) : d.param.empty() ? "?" : in_quotes(d.param));
      }
      line += "]";
    }
  }
  out->push_back(line);
}

void render_graph(const OnnxGraph& g, const std::string& indent, Lines* out);

std::string float_hex(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return hex(bits, 8);
}

void render_attribute(const OnnxAttribute& a, const std::string& indent, Lines* out) {
  static const char* types[] = {"UNDEFINED",      "FLOAT",      "INT",        "STRING",  "TENSOR", "GRAPH",
                                "FLOATS",         "INTS",       "STRINGS",    "TENSORS", "GRAPHS", "SPARSE_TENSOR",
                                "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};
  std::string line = indent + "attr " + in_quotes(a.name) + " " + types[int(a.type)];
  if (!a.ref_attr_name.empty()) line += " ref " + in_quotes(a.ref_attr_name);
  switch (a.type) {
    case OnnxAttributeType::kFloat: line += " " + float_hex(a.f); break;
    case OnnxAttributeType::kInt: line += " " + std::to_string(a.i); break;
    case OnnxAttributeType::kString: line += " " + hex_bytes(a.s); break;
    case OnnxAttributeType::kFloats:
      for (float f : a.floats) line += " " + float_hex(f);
      break;
    case OnnxAttributeType::kInts:
      for (int64_t i : a.ints) line += " " + std::to_string(i);
      break;
    case OnnxAttributeType::kStrings:
      for (const std::string& s : a.strings) line += " " + hex_bytes(s);
      break;
    default: break;
  }
  out->push_back(line);
  if (a.type == OnnxAttributeType::kTensor) render_tensor(a.t, indent + " ", out);
  for (const OnnxTensor& t : a.tensors) render_tensor(t, indent + " ", out);
  if (a.type == OnnxAttributeType::kGraph && a.g) render_graph(*a.g, indent + " ", out);
  for (const OnnxGraph& g : a.graphs) render_graph(g, indent + " ", out);
}

void render_graph(const OnnxGraph& g, const std::string& indent, Lines* out) {
  out->push_back(indent + "graph " + in_quotes(g.name) + " nodes " + std::to_string(g.nodes.size()) + " initializers " +
                 std::to_string(g.initializers.size()));
  for (const OnnxValueInfo& v : g.inputs) render_value_info("input", v, indent + " ", out);
  for (const OnnxValueInfo& v : g.outputs) render_value_info("output", v, indent + " ", out);
  for (const OnnxValueInfo& v : g.value_info) render_value_info("value_info", v, indent + " ", out);
  for (const OnnxTensor& t : g.initializers) render_tensor(t, indent + " ", out);
  for (const OnnxNode& n : g.nodes) {
    std::string line = indent + " node " + in_quotes(n.op_type) + " name " + in_quotes(n.name) + " domain " +
                       in_quotes(n.domain) + " inputs";
    for (const std::string& s : n.inputs) line += " " + in_quotes(s);
    line += " outputs";
    for (const std::string& s : n.outputs) line += " " + in_quotes(s);
    out->push_back(line);
    for (const OnnxAttribute& a : n.attributes) render_attribute(a, indent + "  ", out);
  }
}

void render_model(const OnnxModel& m, Lines* out) {
  out->push_back("model ir_version " + std::to_string(m.ir_version) + " producer " + in_quotes(m.producer_name));
  for (const OnnxOpsetImport& o : m.opset_imports)
    out->push_back("opset " + in_quotes(o.domain) + " " + std::to_string(o.version));
  render_graph(m.graph, "", out);
}

Status read_fixture_file(const std::string& location, std::vector<uint8_t>* bytes) {
  *bytes = read_bytes(kFixtures + "/" + location);
  return bytes->empty() ? Status::error("cannot read " + location) : Status();
}

// ---- the wire reader -------------------------------------------------------

Status read_one_varint(const std::vector<uint8_t>& bytes, uint64_t* v) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
  std::memcpy(copy.get(), bytes.data(), bytes.size());
  ProtoReader r(copy.get(), bytes.size());
  ProtoField f;
  KILN_RETURN_IF_ERROR(r.next(&f));
  return r.read_varint(f, v);
}

TEST(OnnxProtobufReader, Varints) {
  uint64_t v = 0;
  ASSERT_TRUE(read_one_varint(Pb().num(1, 300).b, &v).ok());
  EXPECT_EQ(v, 300u);
  ASSERT_TRUE(read_one_varint(Pb().num(1, ~uint64_t(0)).b, &v).ok());  // 10 bytes
  EXPECT_EQ(v, ~uint64_t(0));
  EXPECT_TRUE(
      fails_with(read_one_varint({0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02}, &v), "overflows"));
  EXPECT_TRUE(
      fails_with(read_one_varint({0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F}, &v), "overflows"));
  EXPECT_TRUE(fails_with(read_one_varint({0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, &v),
                         "longer than 10 bytes"));
  EXPECT_TRUE(fails_with(read_one_varint({0x08, 0x80}, &v), "field 1 at offset 0: varint runs past the end"));
  EXPECT_TRUE(fails_with(read_one_varint({0x0D, 0, 0, 0, 0}, &v), "wire type 5, expected 0"));
}

TEST(OnnxProtobufReader, TagsAndSkipping) {
  auto first_error = [](const std::vector<uint8_t>& bytes) {
    std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
    std::memcpy(copy.get(), bytes.data(), bytes.size());
    ProtoReader r(copy.get(), bytes.size());
    while (!r.done()) {
      ProtoField f;
      Status s = r.next(&f);
      if (s.ok()) s = r.skip(f);
      if (!s.ok()) return s;
    }
    return Status();
  };
  // One field of each wire type, all skipped.
  Pb ok;
  ok.num(1, 5).tag(2, 1);
  for (int i = 0; i < 8; ++i) ok.b.push_back(uint8_t(i));
  ok.str(3, "abc").fixed32(4, 7).num(536870911, 1);
  EXPECT_TRUE(first_error(ok.b).ok());
  EXPECT_TRUE(fails_with(first_error(Pb().tag(5, 3).b), "groups are not supported"));
  EXPECT_TRUE(fails_with(first_error(Pb().tag(5, 4).b), "groups are not supported"));
  EXPECT_TRUE(fails_with(first_error(Pb().tag(5, 6).b), "invalid wire type 6"));
  EXPECT_TRUE(fails_with(first_error(Pb().tag(5, 7).b), "invalid wire type 7"));
  EXPECT_TRUE(fails_with(first_error({0x00, 0x00}), "invalid field number 0"));
  EXPECT_TRUE(fails_with(first_error(Pb().tag(1, 1).b), "8-byte value runs past the end"));
  EXPECT_TRUE(fails_with(first_error(Pb().tag(1, 5).varint(1).b), "4-byte value runs past the end"));
  Pb huge = Pb().num(1, 1);
  huge.tag(9, 2).varint(uint64_t(1) << 40);  // claims a terabyte
  EXPECT_TRUE(fails_with(first_error(huge.b), "field 9 at offset 2: length 1099511627776 runs past the end"));
}

TEST(OnnxProtobufReader, RepeatedScalarsPackedAndNot) {
  Pb m;
  m.num(1, 7).bytes(1, Pb().varint(1).varint(300).varint(~uint64_t(0)).b);  // unpacked, then packed
  m.fixed32(2, 0x3F800000).bytes(2, {0, 0, 0, 0x40, 1, 2, 3, 4});
  m.tag(3, 1);
  for (int i = 0; i < 8; ++i) m.b.push_back(uint8_t(i + 1));
  m.bytes(3, std::vector<uint8_t>(16, 0xAB));
  std::vector<uint64_t> varints, fixed64;
  std::vector<uint32_t> fixed32;
  ProtoReader r(m.b.data(), m.b.size());
  while (!r.done()) {
    ProtoField f;
    ASSERT_TRUE(r.next(&f).ok());
    Status s = f.number == 1   ? r.read_repeated_varint(f, &varints)
               : f.number == 2 ? r.read_repeated_fixed32(f, &fixed32)
                               : r.read_repeated_fixed64(f, &fixed64);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  EXPECT_EQ(varints, (std::vector<uint64_t>{7, 1, 300, ~uint64_t(0)}));
  EXPECT_EQ(fixed32, (std::vector<uint32_t>{0x3F800000, 0x40000000, 0x04030201}));
  EXPECT_EQ(fixed64, (std::vector<uint64_t>{0x0807060504030201ull, 0xABABABABABABABABull, 0xABABABABABABABABull}));

  auto first_error = [](const Pb& p) {
    ProtoReader r(p.b.data(), p.b.size());
    ProtoField f;
    std::vector<uint64_t> v64;
    std::vector<uint32_t> v32;
    Status s = r.next(&f);
    if (s.ok()) s = f.number == 1 ? r.read_repeated_varint(f, &v64) : r.read_repeated_fixed32(f, &v32);
    return s;
  };
  EXPECT_TRUE(fails_with(first_error(Pb().bytes(1, {0x80})), "varint runs past the end"));  // cut inside the run
  EXPECT_TRUE(fails_with(first_error(Pb().bytes(2, {1, 2, 3, 4, 5})), "not a whole number of values"));
  EXPECT_TRUE(fails_with(first_error(Pb().num(2, 1)), "wire type 0, expected 2"));
}

TEST(OnnxProtobufReader, NestingIsLimited) {
  Pb nested = Pb().num(1, 1);
  for (int depth = 0; depth < ProtoReader::kMaxDepth + 1; ++depth) nested = Pb().msg(1, nested);
  std::function<Status(ProtoReader)> descend = [&](ProtoReader r) {
    while (!r.done()) {
      ProtoField f;
      KILN_RETURN_IF_ERROR(r.next(&f));
      if (f.wire != WireType::kLength) return r.skip(f);
      ProtoReader sub(nullptr, 0);
      KILN_RETURN_IF_ERROR(r.read_message(f, &sub));
      KILN_RETURN_IF_ERROR(descend(sub));
    }
    return Status();
  };
  EXPECT_TRUE(fails_with(descend(ProtoReader(nested.b.data(), nested.b.size())), "nested deeper than 64 levels"));
  Pb shallow = Pb().num(1, 1);
  for (int depth = 0; depth < ProtoReader::kMaxDepth; ++depth) shallow = Pb().msg(1, shallow);
  EXPECT_TRUE(descend(ProtoReader(shallow.b.data(), shallow.b.size())).ok());
}

// ---- the conformance suite --------------------------------------------------

TEST(OnnxTestdata, EveryModelAndTensorParses) {
  ASSERT_TRUE(fs::is_directory(kTestdata))
      << kTestdata << " is missing: run scripts/setup.sh (Debian libonnx-testdata)";
  auto start = std::chrono::steady_clock::now();
  std::vector<fs::path> models;
  for (const auto& e : fs::recursive_directory_iterator(kTestdata)) {
    if (e.path().filename() == "model.onnx") models.push_back(e.path());
  }
  std::sort(models.begin(), models.end());
  size_t tensors = 0, bytes = 0, subgraph_models = 0;
  std::map<OnnxValueKind, size_t> skipped;  // files of non-tensor values, by kind
  std::vector<std::string> failures;
  for (const fs::path& path : models) {
    std::vector<uint8_t> file = read_bytes(path.string());
    bytes += file.size();
    OnnxModel model;
    Status s = parse_exact(file, parse_onnx_model, &model);
    if (!s.ok()) {
      failures.push_back(path.string() + ": " + s.message());
      continue;
    }
    bool has_subgraph = false;
    for (const OnnxNode& n : model.graph.nodes) {
      for (const OnnxAttribute& a : n.attributes) has_subgraph = has_subgraph || a.g || !a.graphs.empty();
    }
    subgraph_models += has_subgraph;
    for (const auto& set : fs::directory_iterator(path.parent_path())) {
      if (!set.is_directory()) continue;
      for (const auto& pb : fs::directory_iterator(set.path())) {
        // input_N.pb / output_N.pb hold the model's N-th input / output.
        std::string name = pb.path().filename().string();
        bool is_input = name.rfind("input_", 0) == 0;
        size_t index = std::stoul(name.substr(is_input ? 6 : 7));
        const auto& infos = is_input ? model.graph.inputs : model.graph.outputs;
        if (index >= infos.size()) {
          failures.push_back(pb.path().string() + ": no such model input/output");
          continue;
        }
        // The only exceptions: sequence and optional values are stored as
        // SequenceProto / OptionalProto, which parse_onnx_tensor does not read.
        if (infos[index].kind != OnnxValueKind::kTensor) {
          ++skipped[infos[index].kind];
          continue;
        }
        std::vector<uint8_t> tensor_file = read_bytes(pb.path().string());
        bytes += tensor_file.size();
        OnnxTensor tensor;
        s = parse_exact(tensor_file, parse_onnx_tensor, &tensor);
        // The suite stores bfloat16 values as uint16 tensors (numpy has no bfloat16).
        bool bfloat16_as_uint16 =
            infos[index].elem_type == DataType::kBfloat16 && tensor.data_type == DataType::kUint16;
        if (s.ok() && tensor.data_type != infos[index].elem_type && !bfloat16_as_uint16) {
          s = Status::error("element type " + reference_dtype_name(tensor.data_type) + ", the model's is " +
                            reference_dtype_name(infos[index].elem_type));
        }
        if (!s.ok()) failures.push_back(pb.path().string() + ": " + s.message());
        ++tensors;
      }
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "[ onnx     ] %zu models (%zu with subgraphs), %zu tensors, %.1f MB in %.2f s; not TensorProtos: %zu sequence, "
      "%zu optional\n",
      models.size(), subgraph_models, tensors, bytes / 1e6, seconds, skipped[OnnxValueKind::kSequence],
      skipped[OnnxValueKind::kOptional]);
  EXPECT_EQ(skipped.size(), 2u) << "files of kinds other than sequence and optional were skipped";
  for (size_t i = 0; i < std::min<size_t>(failures.size(), 20); ++i) ADD_FAILURE() << failures[i];
  EXPECT_TRUE(failures.empty()) << failures.size() << " files failed";
  EXPECT_GE(models.size(), 1000u);
  EXPECT_GE(tensors, 3000u);
}

// ---- exact values against python3-onnx ---------------------------------------

TEST(OnnxFixtures, DecodedValuesMatchPythonOnnx) {
  std::vector<fs::path> fixtures;
  for (const auto& e : fs::directory_iterator(kFixtures)) {
    if (e.path().extension() == ".txt") fixtures.push_back(e.path());
  }
  std::sort(fixtures.begin(), fixtures.end());
  ASSERT_GE(fixtures.size(), 40u);
  size_t models = 0, tensors = 0;
  for (const fs::path& path : fixtures) {
    SCOPED_TRACE(path.filename().string());
    std::ifstream f(path);
    std::string head, where, source, line;
    std::getline(f, head);
    std::istringstream(head) >> where >> where >> source;  // "source testdata|local <path>"
    Lines expected, actual;
    while (std::getline(f, line)) expected.push_back(line);
    std::string file = (where == "local" ? kFixtures : std::string(kTestdata)) + "/" + source;
    std::vector<uint8_t> bytes = read_bytes(file);
    ASSERT_FALSE(bytes.empty()) << "cannot read " << file;
    if (source.size() > 5 && source.compare(source.size() - 5, 5, ".onnx") == 0) {
      OnnxModel model;
      Status s = parse_exact(bytes, parse_onnx_model, &model);
      ASSERT_TRUE(s.ok()) << s.message();
      s = resolve_external_data(&model, read_fixture_file);
      ASSERT_TRUE(s.ok()) << s.message();
      render_model(model, &actual);
      ++models;
    } else {
      OnnxTensor tensor;
      Status s = parse_exact(bytes, parse_onnx_tensor, &tensor);
      ASSERT_TRUE(s.ok()) << s.message();
      render_tensor(tensor, "", &actual);
      ++tensors;
    }
    for (size_t i = 0; i < std::max(expected.size(), actual.size()); ++i) {
      std::string want = i < expected.size() ? expected[i] : "(end)", got = i < actual.size() ? actual[i] : "(end)";
      ASSERT_EQ(got, want) << "line " << i + 2;
    }
  }
  std::printf("[ onnx     ] %zu model and %zu tensor fixtures match python3-onnx exactly\n", models, tensors);
}

// ---- hostile input -------------------------------------------------------------

// Tensor bytes decoded from a model, for the bound: typed fields expand at
// most 8x (a one-byte varint becomes an int64), raw_data not at all.
size_t decoded_bytes(const OnnxGraph& g) {
  size_t n = 0;
  auto tensor = [&](const OnnxTensor& t) {
    n += t.data.size();
    for (const std::string& s : t.strings) n += s.size();
  };
  for (const OnnxTensor& t : g.initializers) tensor(t);
  for (const OnnxNode& node : g.nodes) {
    for (const OnnxAttribute& a : node.attributes) {
      tensor(a.t);
      for (const OnnxTensor& t : a.tensors) tensor(t);
      if (a.g) n += decoded_bytes(*a.g);
      for (const OnnxGraph& sub : a.graphs) n += decoded_bytes(sub);
    }
  }
  return n;
}

TEST(OnnxHostile, TruncationsAndMutationsNeverCrash) {
  const std::vector<std::string> models = {
      std::string(kTestdata) + "/node/test_if/model.onnx", std::string(kTestdata) + "/node/test_loop11/model.onnx",
      std::string(kTestdata) + "/node/test_scan9_sum/model.onnx",
      std::string(kTestdata) + "/pytorch-converted/test_Conv2d/model.onnx", kFixtures + "/typed_fields.onnx"};
  const std::string tensor_file =
      std::string(kTestdata) + "/node/test_strnormalizer_export_monday_casesensintive_lower/test_data_set_0/input_0.pb";
  auto start = std::chrono::steady_clock::now();
  size_t runs = 0, accepted = 0;
  // Parses `bytes` as a model (or a tensor), checking the output bound.
  auto attempt = [&](const std::vector<uint8_t>& bytes, bool is_model) {
    ++runs;
    if (is_model) {
      OnnxModel m;
      if (!parse_exact(bytes, parse_onnx_model, &m).ok()) return;
      EXPECT_LE(decoded_bytes(m.graph), 8 * bytes.size());
    } else {
      OnnxTensor t;
      if (!parse_exact(bytes, parse_onnx_tensor, &t).ok()) return;
      EXPECT_LE(t.data.size(), 8 * bytes.size());
    }
    ++accepted;
  };
  Rng rng(2024);
  for (size_t k = 0; k <= models.size(); ++k) {
    bool is_model = k < models.size();
    std::vector<uint8_t> original = read_bytes(is_model ? models[k] : tensor_file);
    ASSERT_FALSE(original.empty());
    for (size_t n = 0; n < original.size(); ++n)
      attempt(std::vector<uint8_t>(original.begin(), original.begin() + n), is_model);
    for (int i = 0; i < 10000; ++i) {
      std::vector<uint8_t> b = original;
      for (int edits = 1 + int(rng.below(4)); edits > 0; --edits) {
        size_t at = rng.below(uint32_t(b.size()));
        switch (rng.below(4)) {
          case 0: b[at] ^= uint8_t(1u << rng.below(8)); break;  // flip a bit
          case 1: b[at] = uint8_t(rng.below(256)); break;
          case 2: b[at] = 0xFF; break;  // grows varints and lengths
          default: b.erase(b.begin() + at); break;
        }
        if (b.empty()) b.push_back(0x0A);
      }
      attempt(b, is_model);
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ onnx     ] %zu truncated or mutated files: %zu parsed, %zu rejected, %.2f s\n", runs, accepted,
              runs - accepted, seconds);
}

Status parse_pb_model(const Pb& p) {
  OnnxModel m;
  return parse_exact(p.b, parse_onnx_model, &m);
}
Status parse_pb_tensor(const Pb& p) {
  OnnxTensor t;
  return parse_exact(p.b, parse_onnx_tensor, &t);
}

TEST(OnnxHostile, BadTensorsNameTheProblem) {
  Pb floats = Pb().num(2, 1).str(8, "w");  // FLOAT tensor "w"
  EXPECT_TRUE(parse_pb_tensor(Pb(floats).num(1, 2).fixed32(4, 0).fixed32(4, 0)).ok());
  EXPECT_TRUE(fails_with(parse_pb_tensor(Pb(floats).num(1, ~uint64_t(0))), "tensor 'w': negative dimension -1"));
  EXPECT_TRUE(
      fails_with(parse_pb_tensor(Pb(floats).num(1, 1ull << 40).num(1, 1ull << 40)), "product of dims overflows"));
  EXPECT_TRUE(fails_with(parse_pb_tensor(Pb(floats).num(1, 1000000000).fixed32(4, 0)),
                         "holds 1 elements but its dims make 1000000000"));
  EXPECT_TRUE(fails_with(parse_pb_tensor(Pb(floats).num(1, 2)), "holds 0 elements but its dims make 2"));
  EXPECT_TRUE(
      fails_with(parse_pb_tensor(Pb(floats).bytes(9, {1, 2, 3, 4, 5})), "raw_data of 5 bytes is not a whole number"));
  EXPECT_TRUE(fails_with(parse_pb_tensor(Pb(floats).num(7, 1)), "int64_data cannot hold data type 1"));
  EXPECT_TRUE(
      fails_with(parse_pb_tensor(Pb(floats).fixed32(4, 0).num(5, 1)), "data in both float_data and int32_data"));
  EXPECT_TRUE(fails_with(parse_pb_tensor(Pb(floats).fixed32(4, 0).bytes(9, {0, 0, 0, 0})), "data in both raw_data"));
  EXPECT_TRUE(fails_with(parse_pb_tensor(Pb().num(2, 8).bytes(9, {1})), "raw_data cannot hold strings"));
  EXPECT_TRUE(fails_with(parse_pb_tensor(Pb().num(2, 14).bytes(9, {})), "data type 14 is not supported"));
  EXPECT_TRUE(fails_with(parse_pb_tensor(Pb(floats).fixed32(8, 0)), "field 8 at offset 5: wire type 5, expected 2"));
  // Lengths claiming gigabytes fail before anything is allocated.
  Pb huge_raw(floats);
  huge_raw.tag(9, 2).varint(uint64_t(4) << 30);
  EXPECT_TRUE(fails_with(parse_pb_tensor(huge_raw), "length 4294967296 runs past the end"));
  Pb huge_packed(floats);
  huge_packed.tag(4, 2).varint(uint64_t(1) << 62);
  EXPECT_TRUE(fails_with(parse_pb_tensor(huge_packed), "runs past the end"));
}

TEST(OnnxHostile, BadModelsNameTheProblem) {
  Pb node = Pb().str(4, "Relu").str(1, "x").str(2, "y");
  EXPECT_TRUE(parse_pb_model(model_of(Pb().msg(1, node))).ok());
  EXPECT_TRUE(fails_with(parse_pb_model(Pb().num(1, 8)), "the model has no graph"));
  EXPECT_TRUE(fails_with(parse_pb_model(model_of(Pb().msg(15, Pb()))), "sparse initializers are not supported"));
  EXPECT_TRUE(fails_with(parse_pb_model(model_of(Pb().msg(1, Pb(node).msg(5, Pb().str(1, "a").msg(22, Pb()))))),
                         "attribute 'a': sparse tensors are not supported"));
  Pb bad_initializer = Pb().msg(5, Pb().num(2, 1).str(8, "w").num(1, 3));
  EXPECT_TRUE(fails_with(parse_pb_model(model_of(bad_initializer)),
                         "invalid ONNX model: ModelProto.graph: GraphProto.initializer: tensor 'w': holds 0 elements"));
  Pb negative_dim = Pb().msg(1, Pb().num(1, ~uint64_t(0)));                    // TensorShapeProto.dim
  Pb input = Pb().str(1, "x").msg(2, Pb().msg(1, Pb().msg(2, negative_dim)));  // ValueInfoProto
  EXPECT_TRUE(fails_with(parse_pb_model(model_of(Pb().msg(11, input))), "negative dim_value"));

  // Graphs nested in attributes: the reader's depth limit stops the recursion.
  Pb graph = Pb().msg(1, node);
  for (int depth = 0; depth < 30; ++depth)
    graph = Pb().msg(1, Pb().str(4, "If").msg(5, Pb().str(1, "g").num(20, 5).msg(6, graph)));
  EXPECT_TRUE(fails_with(parse_pb_model(model_of(graph)), "nested deeper than 64 levels"));

  // One node past the cap: two bytes a node, so about 2 MB.
  Pb many;
  for (size_t i = 0; i <= kOnnxMaxNodes; ++i) many.tag(1, 2).varint(0);
  EXPECT_TRUE(fails_with(parse_pb_model(model_of(many)), "more than 1048576 nodes"));
}

// ---- external data -------------------------------------------------------------

TEST(OnnxExternalData, ResolvedThroughTheCallback) {
  OnnxModel model;
  ASSERT_TRUE(parse_exact(read_bytes(kFixtures + "/external.onnx"), parse_onnx_model, &model).ok());
  ASSERT_EQ(model.graph.initializers.size(), 2u);
  const OnnxTensor& b = model.graph.initializers[1];
  EXPECT_TRUE(b.has_external_data);
  EXPECT_TRUE(b.data.empty());
  EXPECT_EQ(b.external.location, "external.bin");
  EXPECT_EQ(b.external.offset, 48u);
  EXPECT_EQ(b.external.length, 16);

  std::vector<std::string> asked;
  auto counting_reader = [&](const std::string& location, std::vector<uint8_t>* bytes) {
    asked.push_back(location);
    return read_fixture_file(location, bytes);
  };
  ASSERT_TRUE(resolve_external_data(&model, counting_reader).ok());
  EXPECT_EQ(asked, std::vector<std::string>{"external.bin"});  // read once for both tensors
  EXPECT_FALSE(model.graph.initializers[1].has_external_data);
  ASSERT_EQ(model.graph.initializers[1].data.size(), 16u);
  int64_t first;
  std::memcpy(&first, model.graph.initializers[1].data.data(), 8);
  EXPECT_EQ(first, -3);

  auto fresh = [] {
    OnnxModel m;
    EXPECT_TRUE(parse_exact(read_bytes(kFixtures + "/external.onnx"), parse_onnx_model, &m).ok());
    return m;
  };
  OnnxModel past_end = fresh();
  past_end.graph.initializers[1].external.offset = 56;
  EXPECT_TRUE(fails_with(resolve_external_data(&past_end, read_fixture_file),
                         "external data of tensor 'b': bytes 56..72 lie past the end of 'external.bin' (64 bytes)"));
  OnnxModel far = fresh();
  far.graph.initializers[0].external.offset = ~uint64_t(0) - 8;
  EXPECT_TRUE(fails_with(resolve_external_data(&far, read_fixture_file), "lie past the end"));
  for (const char* location : {"../x", "a/../../x", "..\\x", "/etc/passwd", "\\\\server\\x", "C:\\x", ""}) {
    OnnxModel escaping = fresh();
    escaping.graph.initializers[0].external.location = location;
    EXPECT_TRUE(fails_with(resolve_external_data(&escaping, read_fixture_file),
                           "must be a relative path inside the model's folder"))
        << location;
  }
  OnnxModel missing = fresh();
  auto failing_reader = [](const std::string&, std::vector<uint8_t>*) { return Status::error("no such file"); };
  EXPECT_TRUE(fails_with(resolve_external_data(&missing, failing_reader), "external data of tensor 'w': no such file"));

  // Parse-time checks: the length must match the dims, strings are never external.
  Pb external = Pb().num(2, 1).str(8, "e").num(1, 4).num(14, 1);
  auto entry = [](const std::string& key, const std::string& value) { return Pb().str(1, key).str(2, value); };
  EXPECT_TRUE(parse_pb_tensor(Pb(external).msg(13, entry("location", "w.bin")).msg(13, entry("length", "16"))).ok());
  EXPECT_TRUE(
      fails_with(parse_pb_tensor(Pb(external).msg(13, entry("location", "w.bin")).msg(13, entry("length", "12"))),
                 "external data length 12 is not 4 elements of 4 bytes"));
  EXPECT_TRUE(
      fails_with(parse_pb_tensor(Pb(external).msg(13, entry("location", "w.bin")).msg(13, entry("offset", "-1"))),
                 "'-1' is not a byte count"));
  EXPECT_TRUE(fails_with(parse_pb_tensor(external), "external data without a location"));
  EXPECT_TRUE(fails_with(parse_pb_tensor(Pb().num(2, 8).num(14, 1).msg(13, entry("location", "s.bin"))),
                         "string tensors cannot be external"));
}

}  // namespace
}  // namespace kiln
