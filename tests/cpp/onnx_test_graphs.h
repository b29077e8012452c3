// Shared by the tests that build ONNX graphs by hand: adding a node, and, for
// the tests that mutate graphs at random, loading a mutant, running it and
// counting where it stopped (any outcome is fine but a crash; every error
// must say something).
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "onnx/session.h"

namespace kiln {

inline void add_node(OnnxGraph* g, const std::string& name, const std::string& op, std::vector<std::string> in,
                     std::vector<std::string> out, std::vector<OnnxAttribute> attrs = {}) {
  OnnxNode n;
  n.name = name, n.op_type = op, n.inputs = std::move(in), n.outputs = std::move(out), n.attributes = std::move(attrs);
  g->nodes.push_back(std::move(n));
}

struct MutantCounts {
  int load_errors = 0, run_errors = 0, ran = 0;
};

inline void load_and_run_mutant(OnnxModel m, const std::vector<OnnxValue>& feeds, MutantCounts* counts) {
  std::unique_ptr<OnnxSession> s;
  const Status st = OnnxSession::load_model(std::move(m), &s);
  if (!st.ok()) {
    EXPECT_FALSE(st.message().empty());
    ++counts->load_errors;
    return;
  }
  std::vector<OnnxValue> out;
  const Status r = s->run(feeds, &out);
  if (r.ok()) {
    ++counts->ran;
  } else {
    EXPECT_FALSE(r.message().empty());
    ++counts->run_errors;
  }
}

}  // namespace kiln
