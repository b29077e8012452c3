// Inference-graph pass: an inference BatchNormalization that alone reads a
// convolution's output is folded into that convolution's weights (a
// BatchNormFold node computes them from the current weights each run), and an
// elementwise activation that alone reads the result runs in the
// convolution's epilogue. Saves two passes over the activations per block.
#pragma once
#include <vector>

#include "graph/graph.h"

namespace kiln {

// Rewrites `g` (no gradients in it); `roots` are the values the caller reads.
// Returns how many batch norms were folded.
int fold_batch_norms(Graph& g, const std::vector<int>& roots);

}  // namespace kiln
