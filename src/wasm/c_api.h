// What the C ABI's files share: one last-error slot (kiln_last_error()).
#pragma once
#include "core/status.h"

namespace kiln {
// Records `s` as the last error; returns 0 (the ABI's failure value).
int c_api_fail(const Status& s);
}  // namespace kiln
