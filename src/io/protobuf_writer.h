// A minimal writer of the protobuf wire format, the counterpart of
// io/protobuf_reader.h: enough to serialize ONNX models (varints, fixed
// 32-bit floats, length-delimited strings and sub-messages, packed repeated
// fields). Fields are appended in call order; nothing is buffered elsewhere.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

class ProtoWriter {
 public:
  const std::vector<uint8_t>& bytes() const { return buf_; }
  std::vector<uint8_t> take() { return std::move(buf_); }

  // Signed values are written as two's-complement 64-bit varints (int32 and
  // int64 fields, as protobuf does; not zigzag).
  void write_varint(uint32_t field, uint64_t value);
  void write_int64(uint32_t field, int64_t value) { write_varint(field, uint64_t(value)); }
  void write_float(uint32_t field, float value);
  void write_bytes(uint32_t field, const void* data, size_t size);
  void write_string(uint32_t field, const std::string& s) { write_bytes(field, s.data(), s.size()); }
  // A nested message, written by its own writer.
  void write_message(uint32_t field, const ProtoWriter& sub) { write_bytes(field, sub.buf_.data(), sub.buf_.size()); }
  // Packed repeated fields (one length-delimited run); nothing when empty.
  void write_packed_int64(uint32_t field, const std::vector<int64_t>& values);
  void write_packed_float(uint32_t field, const std::vector<float>& values);

 private:
  void raw_varint(uint64_t value);
  void tag(uint32_t field, uint8_t wire) { raw_varint((uint64_t(field) << 3) | wire); }
  std::vector<uint8_t> buf_;
};

}  // namespace kiln
