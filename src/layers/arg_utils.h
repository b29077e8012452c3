// Reading the config forms ConfigReader does not cover, shared by the simple
// layer families: integer lists with optional null / -1 entries (targetShape,
// noiseShape, dims, sharedAxes, axes) and the (before, after) pairs of the
// padding and cropping layers. Errors read "<Layer>: argument '<key>' ...".
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "layers/config.h"

namespace kiln {

inline Status arg_error(const std::string& layer, const char* key, const std::string& what) {
  return Status::error(layer + ": argument '" + key + "' " + what);
}

inline bool json_is_int(const Json& v) {
  return v.is_number() && std::floor(v.as_number()) == v.as_number() && std::fabs(v.as_number()) <= double(int64_t(1) << 30);
}

// An integer, or a list of integers (a lone number reads as a one-item list
// when `allow_scalar`). `null_value` replaces null entries (kNoNull: refused).
constexpr int64_t kNoNull = std::numeric_limits<int64_t>::min();
inline Status get_int_list(const Json& config, const std::string& layer, const char* key, bool allow_scalar,
                           int64_t null_value, std::vector<int64_t>* out, bool* present = nullptr) {
  ConfigKeyLog::note(key);
  const Json* v = config.find(key);
  out->clear();
  if (present) *present = v && !v->is_null();
  if (!v || v->is_null()) return Status();
  if (allow_scalar && json_is_int(*v)) {
    out->push_back(int64_t(v->as_number()));
    return Status();
  }
  if (!v->is_array()) return arg_error(layer, key, allow_scalar ? "must be an integer or a list of integers" : "must be a list of integers");
  for (const Json& item : v->items()) {
    if (item.is_null() && null_value != kNoNull) {
      out->push_back(null_value);
      continue;
    }
    if (!json_is_int(item)) return arg_error(layer, key, "must hold integers");
    out->push_back(int64_t(item.as_number()));
  }
  return Status();
}

// Padding / cropping amounts for `n` spatial axes as (before, after) pairs:
// an integer (the same on every side), a list of n integers (symmetric per
// axis; for n == 1 a list [before, after]), or a list of n [before, after]
// lists. Absent: `dflt`.
inline Status get_pairs(const Json& config, const std::string& layer, const char* key, size_t n,
                        const std::vector<std::pair<int64_t, int64_t>>& dflt, std::vector<std::pair<int64_t, int64_t>>* out) {
  ConfigKeyLog::note(key);
  const Json* v = config.find(key);
  *out = dflt;
  if (!v || v->is_null()) return Status();
  const std::string forms = n == 1 ? "must be an integer or a list [before, after] of integers >= 0"
                                   : "must be an integer, a list of " + std::to_string(n) + " integers, or a list of " +
                                         std::to_string(n) + " [before, after] lists, all >= 0";
  auto value = [&](const Json& j, int64_t* x) {
    if (!json_is_int(j) || j.as_number() < 0) return false;
    *x = int64_t(j.as_number());
    return true;
  };
  out->assign(n, {0, 0});
  int64_t a = 0, b = 0;
  if (value(*v, &a)) {
    out->assign(n, {a, a});
    return Status();
  }
  if (!v->is_array()) return arg_error(layer, key, forms);
  const auto& items = v->items();
  if (n == 1 && items.size() == 2 && value(items[0], &a) && value(items[1], &b)) {
    (*out)[0] = {a, b};
    return Status();
  }
  if (items.size() != n) return arg_error(layer, key, forms);
  for (size_t i = 0; i < n; ++i) {
    if (value(items[i], &a)) {
      (*out)[i] = {a, a};
    } else if (items[i].is_array() && items[i].items().size() == 2 && value(items[i].items()[0], &a) &&
               value(items[i].items()[1], &b)) {
      (*out)[i] = {a, b};
    } else {
      return arg_error(layer, key, forms);
    }
  }
  return Status();
}

}  // namespace kiln
