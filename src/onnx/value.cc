#include "onnx/value.h"

#include <atomic>

#include "core/float16.h"

namespace kiln {

int64_t onnx_checked_numel(const OnnxShape& shape) { return shape_numel(shape, kOnnxMaxElements); }

namespace {
std::atomic<uint64_t> g_value_byte_limit{UINT64_MAX};
}

void set_onnx_value_byte_limit(uint64_t bytes) { g_value_byte_limit.store(bytes); }

std::string onnx_shape_string(const OnnxShape& shape) { return shape_to_string(shape); }

Status OnnxValue::allocate(DataType type, OnnxShape shape, bool zero, OnnxValue* out) {
  const size_t es = dtype_size(type);
  if (es == 0) return Status::error("tensors of type " + dtype_name(type) + " are not supported");
  const int64_t n = onnx_checked_numel(shape);
  size_t need = 0;
  // +16: SIMD tails may read past the end.
  if (n < 0 || !checked_bytes(n, es, 16, &need))
    return Status::error("shape " + onnx_shape_string(shape) + " is negative or too large for " + dtype_name(type) + " values");
  if (uint64_t(need) > g_value_byte_limit.load(std::memory_order_relaxed))
    return Status::error("a " + dtype_name(type) + " tensor of shape " + onnx_shape_string(shape) + " needs " + std::to_string(need) +
                         " bytes, over the limit of " + std::to_string(g_value_byte_limit.load()) + " set by set_onnx_value_byte_limit");
  std::shared_ptr<ByteBuffer> storage;
  // A planned buffer nobody else holds may be reused (it only ever grows).
  if (out->storage_ && out->storage_.use_count() == 1 && out->storage_->size() >= need) {
    storage = std::move(out->storage_);
    if (zero) std::memset(storage->data(), 0, need);
  } else {
    out->storage_.reset();  // a planned buffer too small is freed before the new one is taken
    storage = ByteBuffer::allocate(need, zero);
    if (!storage)
      return Status::error("out of memory: a " + dtype_name(type) + " tensor of shape " + onnx_shape_string(shape) + " needs " +
                           std::to_string(need) + " bytes");
  }
  OnnxValue v;
  v.type_ = type;
  v.shape_ = std::move(shape);
  v.numel_ = n;
  v.storage_ = std::move(storage);
  *out = std::move(v);
  return Status();
}

Status OnnxValue::make(DataType type, OnnxShape shape, OnnxValue* out) {
  return allocate(type, std::move(shape), true, out);
}

Status OnnxValue::make_uninitialized(DataType type, OnnxShape shape, OnnxValue* out) {
  return allocate(type, std::move(shape), false, out);
}

OnnxValue OnnxValue::sequence(DataType elem_type, std::vector<OnnxValue> items) {
  OnnxValue v;
  v.type_ = elem_type;
  v.kind_ = OnnxValueKind::kSequence;
  v.items_ = std::make_shared<const std::vector<OnnxValue>>(std::move(items));
  return v;
}

OnnxValue OnnxValue::none(DataType elem_type, OnnxValueKind of) {
  OnnxValue v;
  v.type_ = elem_type;
  v.kind_ = OnnxValueKind::kOptional;
  v.none_of_ = of;
  return v;
}

const std::vector<OnnxValue>& OnnxValue::items() const {
  static const std::vector<OnnxValue> kEmpty;
  return items_ ? *items_ : kEmpty;
}

std::string onnx_value_description(const OnnxValue& v) {
  if (v.kind() == OnnxValueKind::kSequence) return "sequence of " + dtype_name(v.type());
  if (v.kind() == OnnxValueKind::kOptional) return "empty optional";
  if (!v.defined()) return "missing value";
  return dtype_name(v.type()) + " tensor";
}

OnnxValue OnnxValue::planned_buffer(std::shared_ptr<ByteBuffer> buffer) {
  OnnxValue v;
  v.storage_ = std::move(buffer);
  return v;
}

Status OnnxValue::from_tensor(const OnnxTensor& t, OnnxValue* out) {
  if (t.data_type == DataType::kString) return Status::error("tensor '" + t.name + "': string tensors are not supported");
  if (t.has_external_data) return Status::error("tensor '" + t.name + "': its external data was not read");
  KILN_RETURN_IF_ERROR(make(t.data_type, t.dims, out));
  if (t.data.size() != out->bytes())
    return Status::error("tensor '" + t.name + "': holds " + std::to_string(t.data.size()) + " bytes, its shape needs " +
                         std::to_string(out->bytes()));
  if (!t.data.empty()) std::memcpy(out->raw(), t.data.data(), t.data.size());
  return Status();
}

Status OnnxValue::from_data_value(const OnnxDataValue& d, OnnxValue* out) {
  switch (d.kind) {
    case OnnxValueKind::kTensor: return from_tensor(d.tensor, out);
    case OnnxValueKind::kOptional:
      if (d.items.empty()) {
        *out = none(DataType::kUndefined, OnnxValueKind::kTensor);
        return Status();
      }
      return from_data_value(d.items[0], out);
    case OnnxValueKind::kSequence: {
      std::vector<OnnxValue> items(d.items.size());
      DataType elem = DataType::kUndefined;
      for (size_t i = 0; i < d.items.size(); ++i) {
        if (d.items[i].kind != OnnxValueKind::kTensor) return Status::error("sequences of non-tensors are not supported");
        KILN_RETURN_IF_ERROR(from_tensor(d.items[i].tensor, &items[i]));
        if (i > 0 && items[i].type() != elem)
          return Status::error("sequence elements mix " + dtype_name(elem) + " and " + dtype_name(items[i].type()));
        elem = items[i].type();
      }
      *out = sequence(elem, std::move(items));
      return Status();
    }
    default: return Status::error("maps and sparse tensors are not supported");
  }
}

OnnxValue OnnxValue::scalar_f32(float v) {
  OnnxValue out;
  make(DataType::kFloat32, {}, &out);
  *out.data<float>() = v;
  return out;
}

OnnxValue OnnxValue::vector_i64(const std::vector<int64_t>& v) {
  OnnxValue out;
  make(DataType::kInt64, {int64_t(v.size())}, &out);
  if (!v.empty()) std::memcpy(out.raw(), v.data(), v.size() * sizeof(int64_t));
  return out;
}

OnnxValue OnnxValue::reshaped(OnnxShape shape) const {
  OnnxValue v = *this;
  v.shape_ = std::move(shape);
  return v;
}

template <typename T>
static Status widen(const OnnxValue& v, std::vector<int64_t>* out) {
  const T* p = v.data<T>();
  KILN_RETURN_IF_ERROR(resize_or_error(out, v.numel(), "an int64 copy of the values"));
  for (int64_t i = 0; i < v.numel(); ++i) (*out)[size_t(i)] = int64_t(p[i]);
  return Status();
}

Status OnnxValue::to_int64s(std::vector<int64_t>* out) const {
  switch (type_) {
    case DataType::kInt64: return widen<int64_t>(*this, out);
    case DataType::kInt32: return widen<int32_t>(*this, out);
    case DataType::kInt16: return widen<int16_t>(*this, out);
    case DataType::kInt8: return widen<int8_t>(*this, out);
    case DataType::kUint8: case DataType::kBool: return widen<uint8_t>(*this, out);
    case DataType::kUint16: return widen<uint16_t>(*this, out);
    case DataType::kUint32: return widen<uint32_t>(*this, out);
    case DataType::kUint64: return widen<uint64_t>(*this, out);
    default: return Status::error("expected an integer tensor, got " + dtype_name(type_));
  }
}

Status OnnxValue::to_doubles(std::vector<double>* out) const {
  KILN_RETURN_IF_ERROR(resize_or_error(out, numel_, "a float64 copy of the values"));
  for (int64_t i = 0; i < numel_; ++i) {
    double d = 0;
    switch (type_) {
      case DataType::kFloat32: d = data<float>()[i]; break;
      case DataType::kFloat64: d = data<double>()[i]; break;
      case DataType::kInt64: d = double(data<int64_t>()[i]); break;
      case DataType::kInt32: d = data<int32_t>()[i]; break;
      case DataType::kInt16: d = data<int16_t>()[i]; break;
      case DataType::kInt8: d = data<int8_t>()[i]; break;
      case DataType::kUint8: case DataType::kBool: d = data<uint8_t>()[i]; break;
      case DataType::kUint16: d = data<uint16_t>()[i]; break;
      case DataType::kUint32: d = data<uint32_t>()[i]; break;
      case DataType::kUint64: d = double(data<uint64_t>()[i]); break;
      case DataType::kFloat16: d = onnx_half_to_float(data<uint16_t>()[i]); break;
      case DataType::kBfloat16: d = onnx_bfloat16_to_float(data<uint16_t>()[i]); break;
      default: break;
    }
    (*out)[size_t(i)] = d;
  }
  return Status();
}

}  // namespace kiln
