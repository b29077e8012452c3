// The reference backend: every node it supports runs its plain reference
// kernel (scalar loops, double accumulators, one thread), in memory the plan
// treats as a device's: values reach it and leave it only through upload and
// download copies. It makes the backend seam testable before a GPU exists:
// placement, fallbacks, copies, and every op of every backend against it
// (tests/cpp/backend_ops_test.cc).
#pragma once
#include "backends/backend.h"

namespace kiln {

Backend* reference_backend();

}  // namespace kiln
