#include "npy.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace kiln_cli {
namespace {

struct Descr {
  const char* npy;    // descr without the byte-order mark
  const char* kiln;   // Kiln's (the JS API's) dtype name
  size_t size;
};
// bfloat16 has no NumPy type; Kiln writes it as raw uint16 (<u2).
const Descr kDescrs[] = {
    {"f4", "float32", 4}, {"f8", "float64", 8}, {"f2", "float16", 2}, {"i1", "int8", 1},  {"i2", "int16", 2},
    {"i4", "int32", 4},   {"i8", "int64", 8},   {"u1", "uint8", 1},   {"u2", "uint16", 2}, {"u4", "uint32", 4},
    {"u8", "uint64", 8},  {"b1", "bool", 1},
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw kiln::Error(path + ": " + what);
}

// The value of 'key' in the header dict, as written (up to the next top-level comma or brace).
std::string dict_value(const std::string& path, const std::string& header, const std::string& key) {
  const size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) fail(path, "the .npy header has no '" + key + "'");
  size_t i = header.find(':', k);
  if (i == std::string::npos) fail(path, "malformed .npy header");
  ++i;
  while (i < header.size() && header[i] == ' ') ++i;
  size_t j = i;
  int depth = 0;
  for (; j < header.size(); ++j) {
    const char c = header[j];
    if (c == '(' || c == '[') ++depth;
    else if (c == ')' || c == ']') --depth;
    else if ((c == ',' || c == '}') && depth == 0) break;
  }
  return header.substr(i, j - i);
}

std::vector<int64_t> parse_shape(const std::string& path, const std::string& text) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') fail(path, "malformed shape " + text);
  std::vector<int64_t> shape;
  size_t i = 1;
  while (i < text.size() - 1) {
    while (i < text.size() - 1 && (text[i] == ' ' || text[i] == ',')) ++i;
    if (i >= text.size() - 1) break;
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(text.substr(i), &used);
    } catch (const std::exception&) {
      fail(path, "malformed shape " + text);
    }
    if (v < 0) fail(path, "negative dimension in shape " + text);
    shape.push_back(v);
    i += used;
    while (i < text.size() - 1 && text[i] == 'L') ++i;  // Python 2's long suffix
  }
  return shape;
}

}  // namespace

kiln::onnx::Tensor read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, "cannot open");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), {});
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) fail(path, "not a .npy file (no \\x93NUMPY magic)");
  const int major = bytes[6];
  size_t header_len, start;
  if (major == 1) {
    header_len = size_t(bytes[8]) | size_t(bytes[9]) << 8;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(path, "truncated .npy header");
    header_len = size_t(bytes[8]) | size_t(bytes[9]) << 8 | size_t(bytes[10]) << 16 | size_t(bytes[11]) << 24;
    start = 12;
  } else {
    fail(path, ".npy format version " + std::to_string(major) + " is not supported (1, 2 or 3)");
  }
  if (header_len > bytes.size() - start) fail(path, "truncated .npy header");
  const std::string header(bytes.begin() + long(start), bytes.begin() + long(start + header_len));
  std::string descr = dict_value(path, header, "descr");
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"')) fail(path, "unsupported dtype " + descr + " (structured arrays are not tensors)");
  descr = descr.substr(1, descr.size() - 2);
  if (descr.empty() || descr[0] == '>') fail(path, "big-endian dtype " + descr + " is not supported; save it little-endian (astype('<...'))");
  if (descr[0] == '<' || descr[0] == '|' || descr[0] == '=') descr = descr.substr(1);
  const Descr* d = nullptr;
  for (const Descr& c : kDescrs)
    if (descr == c.npy || (descr == "?" && std::string(c.npy) == "b1")) d = &c;
  if (!d) fail(path, "dtype '" + descr + "' is not supported (float16/32/64, int8-64, uint8-64, bool)");
  const std::string order = dict_value(path, header, "fortran_order");
  if (order != "False" && order != "True") fail(path, "malformed fortran_order " + order);
  const std::vector<int64_t> shape = parse_shape(path, dict_value(path, header, "shape"));
  uint64_t count = 1;
  for (const int64_t dim : shape) {
    if (dim != 0 && count > (uint64_t(1) << 40) / uint64_t(dim)) fail(path, "the shape holds too many elements");
    count *= uint64_t(dim);
  }
  const size_t data_start = start + header_len;
  if (bytes.size() - data_start != count * d->size)
    fail(path, "holds " + std::to_string(bytes.size() - data_start) + " bytes of data; its shape and dtype need " +
                   std::to_string(count * d->size));
  const uint8_t* data = bytes.data() + data_start;
  std::vector<uint8_t> c_order;
  if (order == "True" && shape.size() > 1) {  // column-major: element (i0..in) sits at sum(i_k * prod(d_<k))
    c_order.resize(bytes.size() - data_start);
    std::vector<int64_t> index(shape.size(), 0);
    for (uint64_t e = 0; e < count; ++e) {
      uint64_t src = 0, stride = 1;
      for (size_t k = 0; k < shape.size(); ++k) src += uint64_t(index[k]) * stride, stride *= uint64_t(shape[k]);
      std::memcpy(&c_order[e * d->size], data + src * d->size, d->size);
      for (size_t k = shape.size(); k-- > 0;)
        if (++index[k] < shape[k]) break;
        else index[k] = 0;
    }
    data = c_order.data();
  }
  return kiln::onnx::Tensor::from_raw(d->kiln, shape, data);
}

void write_npy(const std::string& path, const kiln::onnx::Tensor& t) {
  const std::string name = t.dtype == "bfloat16" ? "uint16" : t.dtype;
  const Descr* d = nullptr;
  for (const Descr& c : kDescrs)
    if (name == c.kiln) d = &c;
  if (!d) throw kiln::Error("cannot write " + path + ": dtype " + t.dtype + " has no .npy form");
  std::string shape = "(";
  for (size_t i = 0; i < t.shape.size(); ++i) shape += std::to_string(t.shape[i]) + (t.shape.size() == 1 || i + 1 < t.shape.size() ? "," : "");
  shape += ")";
  std::string header = std::string("{'descr': '") + (d->size == 1 ? "|" : "<") + d->npy + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Version 1.0: the magic, version, header length and header padded with
  // spaces and a newline to a multiple of 64 bytes.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  const uint8_t prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, uint8_t(header.size() & 0xff), uint8_t(header.size() >> 8)};
  f.write(reinterpret_cast<const char*>(prefix), 10);
  f.write(header.data(), std::streamsize(header.size()));
  f.write(static_cast<const char*>(t.raw()), std::streamsize(t.raw_bytes()));
  if (!f.flush()) throw kiln::Error("cannot write " + path);
}

}  // namespace kiln_cli
