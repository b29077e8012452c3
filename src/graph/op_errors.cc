#include "graph/op_errors.h"

namespace kiln {

namespace {
// One per thread: each thread runs its own models' plans, and an op reports
// on the thread that runs its plan (kernels' worker threads report nothing).
thread_local Status t_pending;
}  // namespace

void report_op_error(const Status& s) {
  if (!s.ok() && t_pending.ok()) t_pending = s;
}

Status take_op_error() {
  Status s = t_pending;
  t_pending = Status();
  return s;
}

}  // namespace kiln
