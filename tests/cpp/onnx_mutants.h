// Shared by the tests that mutate ONNX graphs at random: load a mutant, run
// it, and count where it stopped. Any outcome is fine but a crash; every
// error must say something.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "onnx/session.h"

namespace kiln {

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
