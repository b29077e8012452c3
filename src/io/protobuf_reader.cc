#include "io/protobuf_reader.h"

#include <cstring>

namespace kiln {

Status ProtoReader::error(const ProtoField& field, const std::string& what) const {
  return Status::error("protobuf field " + std::to_string(field.number) + " at offset " + std::to_string(field.offset) +
                       ": " + what);
}

Status ProtoReader::expect(const ProtoField& field, WireType wire) const {
  if (field.wire == wire) return Status();
  return error(field, "wire type " + std::to_string(int(field.wire)) + ", expected " + std::to_string(int(wire)));
}

// At most 10 bytes; the 10th may only carry bit 63.
Status ProtoReader::varint(const ProtoField& field, uint64_t* value) {
  uint64_t v = 0;
  for (int i = 0;; ++i) {
    if (pos_ == size_) return error(field, "varint runs past the end of the message");
    uint8_t byte = data_[pos_++];
    if (i == 9 && (byte & 0x80)) return error(field, "varint longer than 10 bytes");
    if (i == 9 && byte > 1) return error(field, "varint overflows 64 bits");
    v |= uint64_t(byte & 0x7F) << (7 * i);
    if (!(byte & 0x80)) {
      *value = v;
      return Status();
    }
  }
}

Status ProtoReader::fixed(const ProtoField& field, size_t width, uint64_t* value) {
  if (size_ - pos_ < width) return error(field, std::to_string(width) + "-byte value runs past the end of the message");
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= uint64_t(data_[pos_ + i]) << (8 * i);
  pos_ += width;
  *value = v;
  return Status();
}

Status ProtoReader::length(const ProtoField& field, size_t* size) {
  KILN_RETURN_IF_ERROR(expect(field, WireType::kLength));
  uint64_t n = 0;
  KILN_RETURN_IF_ERROR(varint(field, &n));
  if (n > size_ - pos_) {
    return error(field, "length " + std::to_string(n) + " runs past the end of the message (" +
                            std::to_string(size_ - pos_) + " bytes left)");
  }
  *size = size_t(n);
  return Status();
}

Status ProtoReader::next(ProtoField* field) {
  field->offset = offset();
  field->number = 0;
  uint64_t tag = 0;
  KILN_RETURN_IF_ERROR(varint(*field, &tag));
  uint64_t number = tag >> 3;
  uint32_t wire = uint32_t(tag & 7);
  if (number == 0 || number >= (1u << 29)) return error(*field, "invalid field number " + std::to_string(number));
  field->number = uint32_t(number);
  if (wire == 3 || wire == 4) return error(*field, "groups are not supported");
  if (wire > 5) return error(*field, "invalid wire type " + std::to_string(wire));
  field->wire = WireType(wire);
  return Status();
}

Status ProtoReader::skip(const ProtoField& field) {
  uint64_t ignored = 0;
  size_t n = 0;
  switch (field.wire) {
    case WireType::kVarint: return varint(field, &ignored);
    case WireType::kFixed64: return fixed(field, 8, &ignored);
    case WireType::kFixed32: return fixed(field, 4, &ignored);
    case WireType::kLength:
      KILN_RETURN_IF_ERROR(length(field, &n));
      pos_ += n;
      return Status();
    default: return error(field, "groups are not supported");
  }
}

Status ProtoReader::read_varint(const ProtoField& field, uint64_t* value) {
  KILN_RETURN_IF_ERROR(expect(field, WireType::kVarint));
  return varint(field, value);
}

Status ProtoReader::read_int64(const ProtoField& field, int64_t* value) {
  uint64_t v = 0;
  KILN_RETURN_IF_ERROR(read_varint(field, &v));
  *value = int64_t(v);
  return Status();
}

Status ProtoReader::read_float(const ProtoField& field, float* value) {
  KILN_RETURN_IF_ERROR(expect(field, WireType::kFixed32));
  uint64_t bits = 0;
  KILN_RETURN_IF_ERROR(fixed(field, 4, &bits));
  uint32_t bits32 = uint32_t(bits);
  std::memcpy(value, &bits32, 4);
  return Status();
}

Status ProtoReader::read_bytes(const ProtoField& field, const uint8_t** data, size_t* size) {
  KILN_RETURN_IF_ERROR(length(field, size));
  *data = data_ + pos_;
  pos_ += *size;
  return Status();
}

Status ProtoReader::read_string(const ProtoField& field, std::string* value) {
  const uint8_t* p = nullptr;
  size_t n = 0;
  KILN_RETURN_IF_ERROR(read_bytes(field, &p, &n));
  value->assign(reinterpret_cast<const char*>(p), n);
  return Status();
}

Status ProtoReader::read_message(const ProtoField& field, ProtoReader* sub) {
  if (depth_ >= kMaxDepth) return error(field, "messages nested deeper than " + std::to_string(kMaxDepth) + " levels");
  const uint8_t* p = nullptr;
  size_t n = 0;
  KILN_RETURN_IF_ERROR(read_bytes(field, &p, &n));
  *sub = ProtoReader(p, n, base_ + size_t(p - data_), depth_ + 1);
  return Status();
}

Status ProtoReader::read_repeated_varint(const ProtoField& field, std::vector<uint64_t>* values) {
  uint64_t v = 0;
  if (field.wire == WireType::kVarint) {
    KILN_RETURN_IF_ERROR(varint(field, &v));
    values->push_back(v);
    return Status();
  }
  size_t n = 0;
  KILN_RETURN_IF_ERROR(length(field, &n));
  ProtoReader run(data_ + pos_, n, offset(), depth_);
  pos_ += n;
  while (!run.done()) {
    KILN_RETURN_IF_ERROR(run.varint(field, &v));
    values->push_back(v);
  }
  return Status();
}

// Both fixed widths: one value with wire type `single`, or a packed run whose
// length must be a multiple of the width.
template <typename T>
Status ProtoReader::read_repeated_fixed(const ProtoField& field, WireType single, std::vector<T>* values) {
  uint64_t v = 0;
  if (field.wire == single) {
    KILN_RETURN_IF_ERROR(fixed(field, sizeof(T), &v));
    values->push_back(T(v));
    return Status();
  }
  size_t n = 0;
  KILN_RETURN_IF_ERROR(length(field, &n));
  if (n % sizeof(T))
    return error(field, "packed run of " + std::to_string(n) + " bytes is not a whole number of values");
  values->reserve(values->size() + n / sizeof(T));
  for (size_t i = 0; i < n / sizeof(T); ++i) {
    KILN_RETURN_IF_ERROR(fixed(field, sizeof(T), &v));
    values->push_back(T(v));
  }
  return Status();
}

Status ProtoReader::read_repeated_fixed32(const ProtoField& field, std::vector<uint32_t>* values) {
  return read_repeated_fixed(field, WireType::kFixed32, values);
}

Status ProtoReader::read_repeated_fixed64(const ProtoField& field, std::vector<uint64_t>* values) {
  return read_repeated_fixed(field, WireType::kFixed64, values);
}

}  // namespace kiln
