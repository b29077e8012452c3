// A minimal reader of the protobuf wire format, enough to parse ONNX files.
// Hand-written rather than libprotobuf and generated code: those add several
// hundred KiB to the browser download, while ONNX needs only varints, fixed
// 32/64-bit values and length-delimited fields.
//
// Every read is bounds-checked against the current message, and every failure
// returns a Status naming the field number and the byte offset in the file.
// Lengths are checked against the bytes actually present before anything is
// allocated, so a field claiming gigabytes fails at once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace kiln {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLength = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };

// One field's tag: its number, wire type and the file offset of the tag.
struct ProtoField {
  uint32_t number = 0;
  WireType wire = WireType::kVarint;
  size_t offset = 0;
};

class ProtoReader {
 public:
  // Sub-messages nest at most this deep (ONNX graphs nest inside attributes).
  static constexpr int kMaxDepth = 64;

  ProtoReader(const uint8_t* data, size_t size) : ProtoReader(data, size, 0, 0) {}

  bool done() const { return pos_ == size_; }
  // Offset of the next byte, from the start of the file.
  size_t offset() const { return base_ + pos_; }

  // Reads the next tag. Groups (wire types 3, 4) are rejected: ONNX has none.
  Status next(ProtoField* field);
  // Skips the value of a field this parser does not read.
  Status skip(const ProtoField& field);

  // Each checks that the field has the wire type the value needs.
  Status read_varint(const ProtoField& field, uint64_t* value);
  Status read_int64(const ProtoField& field, int64_t* value);
  Status read_float(const ProtoField& field, float* value);
  Status read_bytes(const ProtoField& field, const uint8_t** data, size_t* size);
  Status read_string(const ProtoField& field, std::string* value);
  // A nested message, read by `sub`; fails past kMaxDepth levels.
  Status read_message(const ProtoField& field, ProtoReader* sub);

  // Repeated scalars, packed (one length-delimited run) or not (one value per
  // tag): each call appends what this occurrence of the field holds.
  Status read_repeated_varint(const ProtoField& field, std::vector<uint64_t>* values);
  Status read_repeated_fixed32(const ProtoField& field, std::vector<uint32_t>* values);
  Status read_repeated_fixed64(const ProtoField& field, std::vector<uint64_t>* values);

 private:
  ProtoReader(const uint8_t* data, size_t size, size_t base, int depth)
      : data_(data), size_(size), base_(base), depth_(depth) {}
  Status error(const ProtoField& field, const std::string& what) const;
  Status expect(const ProtoField& field, WireType wire) const;
  Status varint(const ProtoField& field, uint64_t* value);
  Status fixed(const ProtoField& field, size_t width, uint64_t* value);
  Status length(const ProtoField& field, size_t* size);
  template <typename T>
  Status read_repeated_fixed(const ProtoField& field, WireType single, std::vector<T>* values);

  const uint8_t* data_ = nullptr;
  size_t size_ = 0, pos_ = 0;
  size_t base_ = 0;  // file offset of data_[0]
  int depth_ = 0;
};

}  // namespace kiln
