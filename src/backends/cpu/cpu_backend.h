// The CPU backend: the fast, multithreaded kernels of src/cpu on host memory.
// It runs every node, so placement falls back to it.
#pragma once
#include "backends/backend.h"

namespace kiln {

// The process's one CPU backend (stateless: plans own the buffers).
Backend* cpu_backend();

}  // namespace kiln
