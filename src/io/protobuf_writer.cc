#include "io/protobuf_writer.h"

#include <cstring>

namespace kiln {

namespace {
// Wire types (see WireType in io/protobuf_reader.h).
constexpr uint8_t kVarint = 0, kLength = 2, kFixed32 = 5;

void append_le32(std::vector<uint8_t>* buf, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  for (int i = 0; i < 4; ++i) buf->push_back(uint8_t(bits >> (8 * i)));
}
}  // namespace

void ProtoWriter::raw_varint(uint64_t value) {
  while (value >= 0x80) {
    buf_.push_back(uint8_t(value | 0x80));
    value >>= 7;
  }
  buf_.push_back(uint8_t(value));
}

void ProtoWriter::write_varint(uint32_t field, uint64_t value) {
  tag(field, kVarint);
  raw_varint(value);
}

void ProtoWriter::write_float(uint32_t field, float value) {
  tag(field, kFixed32);
  append_le32(&buf_, value);
}

void ProtoWriter::write_bytes(uint32_t field, const void* data, size_t size) {
  tag(field, kLength);
  raw_varint(size);
  const uint8_t* p = static_cast<const uint8_t*>(data);
  buf_.insert(buf_.end(), p, p + size);
}

void ProtoWriter::write_packed_int64(uint32_t field, const std::vector<int64_t>& values) {
  if (values.empty()) return;
  ProtoWriter run;
  for (int64_t v : values) run.raw_varint(uint64_t(v));
  write_message(field, run);
}

void ProtoWriter::write_packed_float(uint32_t field, const std::vector<float>& values) {
  if (values.empty()) return;
  std::vector<uint8_t> run;
  for (float v : values) append_le32(&run, v);
  write_bytes(field, run.data(), run.size());
}

}  // namespace kiln
