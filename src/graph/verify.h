// Checks a graph's invariants before it is planned: every input is defined
// before it is read, every temporary written once, dtypes each node accepts,
// in-place updates on parameters, and each layer-level op's stored output
// shapes equal what its shape inference gives. Passes (src/passes) rewrite
// graphs; the plan runs this after them, so a broken rewrite is an error
// naming the node, not a wrong answer.
#pragma once
#include "core/status.h"
#include "graph/graph.h"

namespace kiln {

Status verify_graph(const Graph& g);

}  // namespace kiln
