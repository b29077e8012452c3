// Allocation that fails with an error instead of aborting. The wasm build has
// no exceptions (core/status.h), so `new` and std::vector abort the instance
// when the heap cannot grow; every allocation a model or file can size goes
// through here instead. Byte counts are checked in size_t, which is 32 bits in
// wasm32: 2^30 floats is 4 GiB and would wrap to a tiny buffer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

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
