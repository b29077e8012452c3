#include "backends/backend.h"

#include <cstdlib>

#include "core/memory.h"

namespace kiln {

Status HostBuffer::allocate(int64_t bytes, std::unique_ptr<BackendBuffer>* out) {
  void* p = nullptr;
  size_t size = 0;
  if (bytes > 0 && (!checked_bytes(bytes, 1, 0, &size) || !(p = try_aligned_alloc(size, true))))
    return Status::error("out of memory: a buffer of " + std::to_string(bytes) + " bytes");
  out->reset(new HostBuffer(static_cast<char*>(p), bytes, true));
  return Status();
}

std::unique_ptr<BackendBuffer> HostBuffer::borrow(float* data, int64_t bytes) {
  return std::unique_ptr<BackendBuffer>(new HostBuffer(reinterpret_cast<char*>(data), bytes, false));
}

HostBuffer::~HostBuffer() {
  if (owned_) std::free(data_);
}

bool writes_host_state(const Node& node) {
  return node.op == OpKind::kUpdate || node.op == OpKind::kOptimizerTick ||
         (node.op == OpKind::kOp && node.impl->has_side_effects());
}

std::string node_op_name(const Node& node) {
  if (node.op == OpKind::kOp) return node.impl->name();
  if (node.op == OpKind::kOpGrad) return node.impl->name() + " grad";
  return op_name(node.op);
}

}  // namespace kiln
