// The backend interface: what the plan asks of a device (after ggml's
// ggml_backend and ONNX Runtime's execution providers). A backend says which
// graph nodes it runs, sizes and prepares a kernel for each of its steps, owns
// its buffers and moves bytes to and from the host. The plan (src/runtime)
// places every node on a backend, inserts copies where a value crosses
// backends and calls the prepared kernels in order; nothing above the plan
// sees a backend's memory.
//
// Backends today: "cpu" (src/backends/cpu, the fast kernels of src/cpu) and
// "reference" (src/backends/reference: the plain reference kernels in memory
// of its own, so placement, copies and every op can be tested against it).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace kiln {

// Memory a backend allocated (zero-filled), or host memory it was lent.
class BackendBuffer {
 public:
  virtual ~BackendBuffer() = default;
  virtual int64_t bytes() const = 0;
  // Byte 0 as a host address, for the backend that owns the buffer (and for
  // the plan where that backend's memory is the host's); null on a device.
  virtual char* data() const = 0;
};

// A tensor's place: a buffer and a byte offset into it.
struct TensorAddress {
  BackendBuffer* buffer = nullptr;
  int64_t offset = 0;
  float* host() const { return buffer ? reinterpret_cast<float*>(buffer->data() + offset) : nullptr; }
};

// State the training steps share within one plan: the generator, the
// optimizer and its step counter, and the global-norm clip scale the
// optimizer tick computes for the updates after it.
struct StepContext {
  Rng* rng = nullptr;
  const OptimizerConfig* optimizer = nullptr;
  int64_t* step = nullptr;
  float grad_scale = 1.0f;
  std::vector<const float*> update_grads;  // every update's gradient (host memory)
  std::vector<int64_t> update_sizes;
  // Changes whenever the plan's constant inputs may have (the model bumps it
  // when its weights change); null when the plan has no constants. Kernels
  // that keep data derived from constant inputs (packed filters) refresh it
  // when this differs from the value they saw.
  const uint64_t* constants_version = nullptr;
};

// One plan step as its backend sees it: the node and every buffer resolved.
struct StepBinding {
  const Node* node = nullptr;
  std::vector<TensorAddress> inputs;
  std::vector<Shape> input_shapes;
  // Per input: the same between runs until context->constants_version
  // changes (weights in an inference plan, and what only they determine).
  std::vector<bool> constant_inputs;
  std::vector<TensorAddress> outputs;  // node_outputs() order; a null buffer where a gradient is not wanted
  std::vector<Shape> output_shapes;
  TensorAddress workspace;  // workspace_bytes() bytes in the backend's arena
  int64_t workspace_bytes = 0;
  StepContext* context = nullptr;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void run() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // True when the backend's buffers are host memory the plan may read and
  // write directly (no copies between it and the host).
  virtual bool host_memory() const = 0;
  // Empty when this backend runs `node`; otherwise why not (placement reports it).
  virtual std::string unsupported(const Node& node) const = 0;
  // Scratch bytes the kernel for this step needs (shapes only; addresses come later).
  virtual int64_t workspace_bytes(const Node& node, const std::vector<Shape>& in, const std::vector<Shape>& out) const = 0;
  // A kernel bound to the step's buffers, ready to run any number of times.
  virtual Status prepare(const StepBinding& step, std::unique_ptr<Kernel>* kernel) = 0;
  virtual Status alloc(int64_t bytes, std::unique_ptr<BackendBuffer>* out) = 0;
  virtual void upload(const TensorAddress& dst, const void* src, int64_t bytes) = 0;
  // Starts a copy to host memory; `dst` is valid once synchronize() returns.
  virtual void download_async(const TensorAddress& src, void* dst, int64_t bytes) = 0;
  // Waits for every kernel and copy this backend started.
  virtual void synchronize() = 0;
};

// Host memory: 64-byte aligned and zeroed when owned, or lent by the caller
// (parameters and optimizer slots, which live outside the plan).
class HostBuffer : public BackendBuffer {
 public:
  static Status allocate(int64_t bytes, std::unique_ptr<BackendBuffer>* out);
  static std::unique_ptr<BackendBuffer> borrow(float* data, int64_t bytes);
  ~HostBuffer() override;
  int64_t bytes() const override { return bytes_; }
  char* data() const override { return data_; }

 private:
  HostBuffer(char* data, int64_t bytes, bool owned) : data_(data), bytes_(bytes), owned_(owned) {}
  char* data_;
  int64_t bytes_;
  bool owned_;
};

// True when the node writes state the host owns (parameters, optimizer
// slots, moving statistics, recurrent state): such nodes run where the
// backend's memory is the host's.
bool writes_host_state(const Node& node);
// The node's op for messages and reports: "Gemm", "Conv2D", "Conv2D grad", ...
std::string node_op_name(const Node& node);

}  // namespace kiln
