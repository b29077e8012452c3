// Allocation that fails with an error instead of aborting. The wasm build has
// no exceptions (core/status.h), so `new` and std::vector abort the instance
// when the heap cannot grow; every allocation a model or file can size goes
// through here instead. Byte counts are checked in size_t, which is 32 bits in
// wasm32: 2^30 floats is 4 GiB and would wrap to a tiny buffer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace kiln {

// count * element_size + extra in bytes, or false when count is negative or
// the sum does not fit in size_t.
bool checked_bytes(int64_t count, size_t element_size, size_t extra, size_t* bytes);

// 64-byte aligned bytes (at least 1), zero-filled when `zero`; null when out
// of memory. Freed with std::free.
void* try_aligned_alloc(size_t bytes, bool zero);

// A float array from try_aligned_alloc (uninitialized); null when n is
// negative, its byte count overflows, or the heap is exhausted.
struct FreeDeleter {
  void operator()(void* p) const;
};
using FloatArray = std::unique_ptr<float[], FreeDeleter>;
FloatArray try_float_array(int64_t n);

// Whether the heap can give `bytes` now: they are allocated through
// try_aligned_alloc and freed again, so the allocation that follows at once
// (a std::vector's, which would abort the wasm instance) finds them.
bool heap_can_hold(size_t bytes);

// Reserves room for n elements in `v` for a kernel's working memory sized by
// its values (index tables, double accumulators, copies); an error naming
// `what` and the bytes when n is negative, too large or more than the heap
// can give. For a copy: reserve, then assign the range (one write).
template <typename T>
Status reserve_or_error(std::vector<T>* v, int64_t n, const char* what) {
  size_t bytes = 0;
  if (!checked_bytes(n, sizeof(T), 0, &bytes))
    return Status::error(std::string("out of memory: ") + what + " of " + std::to_string(n) + " elements is too large");
  if (size_t(n) > v->capacity() && !heap_can_hold(bytes))
    return Status::error(std::string("out of memory: ") + what + " of " + std::to_string(n) + " elements needs " +
                         std::to_string(bytes) + " bytes");
  v->reserve(size_t(n));
  return Status();
}

// reserve_or_error, then `v` resized to n elements (new ones set to `fill`).
template <typename T>
Status resize_or_error(std::vector<T>* v, int64_t n, const char* what, const T& fill = T()) {
  KILN_RETURN_IF_ERROR(reserve_or_error(v, n, what));
  v->resize(size_t(n), fill);
  return Status();
}

// A heap block of fixed size, shared by the values that view it (the ONNX
// runtime's tensors). Made only through allocate(), which returns null when
// out of memory.
class ByteBuffer {
 public:
  static std::shared_ptr<ByteBuffer> allocate(size_t bytes, bool zero);
  ~ByteBuffer();
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  ByteBuffer(uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t* data_;
  size_t size_;
};

}  // namespace kiln
