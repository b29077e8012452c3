#include "graph/op_errors.h"

namespace kiln {

namespace {
Status g_pending;  // plans run one at a time on the calling thread
}  // namespace

void report_op_error(const Status& s) {
  if (!s.ok() && g_pending.ok()) g_pending = s;
}

Status take_op_error() {
  Status s = g_pending;
  g_pending = Status();
  return s;
}

}  // namespace kiln
