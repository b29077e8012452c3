// Errors an op finds while a plan runs (a value out of range, a host layer's
// exception): forward and backward cannot return one, so the op reports it
// here and fills its outputs with zeros; the model checks after each run and
// fails the call (its transaction then undoes a training step).
#pragma once
#include "core/status.h"

namespace kiln {

// Keeps the first error since the last take_op_error() on this thread.
void report_op_error(const Status& s);
// That error, cleared; OK when none was reported.
Status take_op_error();

}  // namespace kiln
