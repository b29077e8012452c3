// Placement: which backend runs each node of a graph. Each node goes to the
// first backend in the preference order that runs it; a node that writes
// host-owned state (optimizer updates, moving statistics) goes to a backend
// whose memory is the host's. Every node that does not land on the preferred
// backend is a fallback, reported with the reason; with `strict` it is an
// error instead. The plan inserts the copies where values cross backends.
#pragma once
#include <string>
#include <vector>

#include "backends/backend.h"
#include "graph/graph.h"

namespace kiln {

struct BackendChoice {
  std::vector<Backend*> order;  // preferred first; the CPU backend is appended when missing
  bool strict = false;          // refuse to fall back
};

struct NodePlacement {
  Backend* backend = nullptr;
  std::string fallback;  // why the preferred backend does not run it; empty when it does
};

Status place_nodes(const Graph& graph, const BackendChoice& choice, std::vector<NodePlacement>* out);

// The process-wide choice plans are compiled with (kiln.setBackend in JS,
// kiln::set_backend in C++): `name` first, then the CPU for what it lacks.
// Any thread may change it; a plan compiled before keeps its placement, and
// the model re-plans at its next call.
Status set_default_backend(const std::string& name, bool strict);
BackendChoice default_backend_choice();
// Changes with every set_default_backend, so models know to recompile.
uint64_t backend_choice_generation();

// Backends by name ("cpu", "reference"); null for an unknown name.
Backend* find_backend(const std::string& name);
std::vector<std::string> backend_names();

}  // namespace kiln
