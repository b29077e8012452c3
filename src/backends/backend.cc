#include "backends/backend.h"

#include <cstdlib>
#include <cstring>

namespace kiln {

Status HostBuffer::allocate(int64_t bytes, std::unique_ptr<BackendBuffer>* out) {
  void* p = nullptr;
  if (bytes > 0 && (uint64_t(bytes) > uint64_t(SIZE_MAX) ||  // wasm32: no wrap-around
                    posix_memalign(&p, 64, size_t(bytes)) != 0))
    return Status::error("out of memory: a buffer of " + std::to_string(bytes) + " bytes");
  if (p) std::memset(p, 0, size_t(bytes));
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
