// The graph IR as text, one line per value and node, for errors, tests and
// debugging (Model::graph_text):
//   %0 = input "x" float32[32,784]
//   %3 = Gemm(%0, %1, %2) trans_b relu : float32[32,128]
//   Update(%1, %9, %10)
#pragma once
#include <string>

#include "graph/graph.h"

namespace kiln {

std::string value_to_string(const Graph& g, int id);  // "%3: float32[32,128]"
std::string node_to_string(const Graph& g, const Node& n);
std::string graph_to_string(const Graph& g);

}  // namespace kiln
