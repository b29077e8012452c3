// Shared by the tests that build ONNX graphs by hand: random float
// initializers, adding a node, and, for
// the tests that mutate graphs at random, loading a mutant, running it and
// counting where it stopped (any outcome is fine but a crash; every error
// must say something).
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "onnx/session.h"

namespace kiln {

// A float32 initializer of random values in [lo, hi).
inline OnnxTensor random_float_tensor(const std::string& name, std::vector<int64_t> dims, std::mt19937* rng,
                                      float lo = -0.5f, float hi = 0.5f) {
  OnnxTensor t;
  t.name = name, t.data_type = DataType::kFloat32, t.dims = dims;
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(onnx_checked_numel(dims)));
  for (float& x : v) x = u(*rng);
  t.data.resize(v.size() * 4);
  std::memcpy(t.data.data(), v.data(), t.data.size());
  return t;
}

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
