// A runtime value of the ONNX importer: usually a tensor (element type, shape
// and bytes). ONNX graphs mix float32 data with int64 shape arithmetic, bool
// masks and other integer types, so values are typed at run time (the
// layer-level core only knows float32). Storage is shared: Identity, Reshape
// and constants hand out the same bytes without copying; kernels that write
// allocate a fresh value. A value may also be a sequence of tensors or an
// empty optional (ONNX's Sequence* and Optional* ops, Loop's carried state);
// an optional that holds something is simply that value. Only the ops flagged
// in their OnnxOpEntry take them; the session refuses them anywhere else.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/memory.h"
#include "core/shape.h"
#include "core/status.h"
#include "io/onnx_model.h"

namespace kiln {

using OnnxShape = Shape;  // core/shape.h: std::vector<int64_t>

// Largest element count one value may hold (2^31: 8 GiB of float32), so a
// hostile shape fails cleanly instead of asking the allocator for petabytes.
constexpr int64_t kOnnxMaxElements = int64_t(1) << 31;

class OnnxValue {
 public:
  OnnxValue() = default;
  // Zero-filled storage for `shape`; an error for absurd sizes, unsupported
  // types, or when the heap is exhausted (never an abort).
  // When *out arrives carrying a planned buffer (see planned_buffer) that is
  // large enough and held by nobody else, that buffer is reused.
  static Status make(DataType type, OnnxShape shape, OnnxValue* out);
  // make() without the zero fill, for kernels that write every element.
  static Status make_uninitialized(DataType type, OnnxShape shape, OnnxValue* out);
  // An undefined value that only carries `buffer` for the kernel's make() to
  // reuse: how the session's static memory plan hands buffers to kernels.
  static OnnxValue planned_buffer(std::shared_ptr<ByteBuffer> buffer);
  // The storage, for the memory plan to check who else holds it.
  const std::shared_ptr<ByteBuffer>& storage() const { return storage_; }
  // Takes a parsed tensor's bytes (strings are not supported as values).
  static Status from_tensor(const OnnxTensor& t, OnnxValue* out);
  // A parsed sequence or optional (tensors inside; sequences of sequences are refused).
  static Status from_data_value(const OnnxDataValue& d, OnnxValue* out);
  // Scalars and 1-D int64 / float values (shape arithmetic, tests).
  static OnnxValue scalar_f32(float v);
  static OnnxValue vector_i64(const std::vector<int64_t>& v);
  // A sequence of tensors of one element type (kUndefined while empty and untyped).
  static OnnxValue sequence(DataType elem_type, std::vector<OnnxValue> items);
  // An optional without a value; `of` says whether it would hold a tensor or a sequence.
  static OnnxValue none(DataType elem_type, OnnxValueKind of);

  // kTensor, kSequence, or kOptional (only for an empty optional).
  OnnxValueKind kind() const { return kind_; }
  bool is_tensor() const { return kind_ == OnnxValueKind::kTensor && type_ != DataType::kUndefined; }
  // A sequence's elements (empty for anything else).
  const std::vector<OnnxValue>& items() const;
  // What an empty optional would hold (kTensor or kSequence).
  OnnxValueKind none_of() const { return none_of_; }

  DataType type() const { return type_; }  // a sequence's or optional's element type
  const OnnxShape& shape() const { return shape_; }
  int64_t rank() const { return int64_t(shape_.size()); }
  int64_t numel() const { return numel_; }
  size_t element_size() const { return dtype_size(type_); }
  size_t bytes() const { return size_t(numel_) * element_size(); }
  bool defined() const { return type_ != DataType::kUndefined || kind_ != OnnxValueKind::kTensor; }

  template <typename T> T* data() { return reinterpret_cast<T*>(storage_->data()); }
  template <typename T> const T* data() const { return reinterpret_cast<const T*>(storage_->data()); }
  void* raw() { return storage_->data(); }
  const void* raw() const { return storage_->data(); }

  // The same bytes under another shape of equal element count (Reshape, Flatten, ...).
  OnnxValue reshaped(OnnxShape shape) const;
  // Integer elements as int64 (int8..uint64, bool): shape tensors, indices, axes.
  Status to_int64s(std::vector<int64_t>* out) const;
  // Numeric elements as doubles (any type but strings) for reference kernels;
  // out of memory is an error. One element: onnx_element_as_double.
  Status to_doubles(std::vector<double>* out) const;

 private:
  static Status allocate(DataType type, OnnxShape shape, bool zero, OnnxValue* out);

  DataType type_ = DataType::kUndefined;
  OnnxValueKind kind_ = OnnxValueKind::kTensor;
  OnnxValueKind none_of_ = OnnxValueKind::kTensor;
  std::shared_ptr<const std::vector<OnnxValue>> items_;  // a sequence's elements
  OnnxShape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<ByteBuffer> storage_;
};

// The most bytes one value may take (default: no limit beyond
// kOnnxMaxElements and the heap). Embedders with a memory budget, and the
// fuzzers, lower it; a value over it is an error naming its shape.
void set_onnx_value_byte_limit(uint64_t bytes);

// "float32 tensor", "sequence of int64", "empty optional": for errors.
std::string onnx_value_description(const OnnxValue& v);
std::string onnx_shape_string(const OnnxShape& shape);
// The product of dims, or -1 when a dim is negative or the product passes kOnnxMaxElements.
int64_t onnx_checked_numel(const OnnxShape& shape);

}  // namespace kiln
