#include "runtime/placement.h"

#include <atomic>
#include <mutex>

#include "backends/cpu/cpu_backend.h"
#include "backends/reference/reference_backend.h"

namespace kiln {

Status place_nodes(const Graph& graph, const BackendChoice& choice, std::vector<NodePlacement>* out) {
  std::vector<Backend*> order = choice.order;
  bool has_cpu = false;
  for (Backend* b : order) has_cpu = has_cpu || b == cpu_backend();
  if (!has_cpu) order.push_back(cpu_backend());
  Backend* preferred = order.front();
  out->clear();
  const auto& nodes = graph.nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    NodePlacement p;
    for (Backend* b : order) {
      std::string why = b->unsupported(n);
      if (why.empty() && writes_host_state(n) && !b->host_memory()) why = "it updates host-owned state in place";
      if (why.empty()) {
        p.backend = b;
        break;
      }
      if (b == preferred) p.fallback = why;
    }
    if (!p.backend) return Status::error("placement: no backend runs node " + std::to_string(i) + " (" + node_op_name(n) + ")");
    if (choice.strict && p.backend != preferred)
      return Status::error(std::string("placement: backend '") + preferred->name() + "' cannot run node " + std::to_string(i) +
                           " (" + node_op_name(n) + "): " + p.fallback + "; strict placement refuses the fallback to '" +
                           p.backend->name() + "'");
    out->push_back(p);
  }
  return Status();
}

namespace {
std::mutex choice_mutex;
BackendChoice& current_choice() {
  static BackendChoice choice{{cpu_backend()}, false};
  return choice;
}
std::atomic<uint64_t> generation{0};
}  // namespace

Status set_default_backend(const std::string& name, bool strict) {
  Backend* b = find_backend(name);
  if (!b) {
    std::string known;
    for (const std::string& n : backend_names()) known += (known.empty() ? "'" : ", '") + n + "'";
    return Status::error("unknown backend '" + name + "' (known: " + known + ")");
  }
  const std::lock_guard<std::mutex> lock(choice_mutex);
  current_choice() = BackendChoice{{b}, strict};
  ++generation;
  return Status();
}

BackendChoice default_backend_choice() {
  const std::lock_guard<std::mutex> lock(choice_mutex);
  return current_choice();
}
uint64_t backend_choice_generation() { return generation; }

Backend* find_backend(const std::string& name) {
  if (name == "cpu") return cpu_backend();
  if (name == "reference") return reference_backend();
  return nullptr;
}

std::vector<std::string> backend_names() { return {"cpu", "reference"}; }

}  // namespace kiln
