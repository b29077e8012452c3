#include "core/memory.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace kiln {

bool checked_bytes(int64_t count, size_t element_size, size_t extra, size_t* bytes) {
  if (count < 0) return false;
  const uint64_t max = uint64_t(SIZE_MAX);
  if (element_size != 0 && uint64_t(count) > (max - extra) / element_size) return false;
  *bytes = size_t(uint64_t(count) * element_size + extra);
  return true;
}

void* try_aligned_alloc(size_t bytes, bool zero) {
  void* p = nullptr;
  if (bytes == 0) bytes = 1;
  if (posix_memalign(&p, 64, bytes) != 0) return nullptr;
  if (zero) std::memset(p, 0, bytes);
  return p;
}

bool heap_can_hold(size_t bytes) {
  void* p = try_aligned_alloc(bytes, false);
  std::free(p);
  return p != nullptr;
}

void FreeDeleter::operator()(void* p) const { std::free(p); }

FloatArray try_float_array(int64_t n) {
  size_t bytes = 0;
  if (!checked_bytes(n, sizeof(float), 0, &bytes)) return nullptr;
  return FloatArray(static_cast<float*>(try_aligned_alloc(bytes, false)));
}

std::shared_ptr<ByteBuffer> ByteBuffer::allocate(size_t bytes, bool zero) {
  void* p = try_aligned_alloc(bytes, zero);
  if (!p) return nullptr;
  // The control block is small, but nothrow keeps an exhausted heap an error here too.
  ByteBuffer* b = new (std::nothrow) ByteBuffer(static_cast<uint8_t*>(p), bytes);
  if (!b) {
    std::free(p);
    return nullptr;
  }
  return std::shared_ptr<ByteBuffer>(b);
}

ByteBuffer::~ByteBuffer() { std::free(data_); }

}  // namespace kiln
