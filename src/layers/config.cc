#include "layers/config.h"

#include <cmath>
#include <cstdio>

#include "layers/initializer_config.h"

namespace kiln {

thread_local ConfigKeyLog* ConfigKeyLog::current_ = nullptr;

bool ConfigKeyLog::read(const std::string& key) const {
  for (const std::string& k : keys_)
    if (k == key) return true;
  return false;
}

void ConfigKeyLog::note(const char* key) {
  if (current_ && !current_->read(key)) current_->keys_.push_back(key);
}

const Json* ConfigReader::find(const char* key) const {
  ConfigKeyLog::note(key);
  return config_.find(key);
}

Status ConfigReader::error(const char* key, const std::string& what) const {
  return Status::error(layer_ + ": argument '" + key + "' " + what);
}

bool ConfigReader::has(const char* key) const {
  const Json* v = find(key);
  return v && !v->is_null();
}

static bool is_integer(const Json& v) { return v.is_number() && std::floor(v.as_number()) == v.as_number(); }

// A number as the user wrote it, for errors: integers in int64's range
// exactly, others in %g (casting 1e21 to int64 is undefined).
static std::string number_string(double d) {
  if (std::fabs(d) < 9.0e15 && std::floor(d) == d) return std::to_string(int64_t(d));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

Status ConfigReader::get_int(const char* key, int64_t dflt, int64_t* out, int64_t min, int64_t max) const {
  const Json* v = find(key);
  if (!v || v->is_null()) {
    *out = dflt;
    return Status();
  }
  if (!is_integer(*v)) return error(key, "must be an integer");
  double d = v->as_number();
  if (d < double(min) || d > double(max))
    return error(key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + number_string(d));
  *out = int64_t(d);
  return Status();
}

Status ConfigReader::get_ints(const char* key, size_t n, const std::vector<int64_t>& dflt, std::vector<int64_t>* out,
                              int64_t min) const {
  const Json* v = find(key);
  if (!v || v->is_null()) {
    *out = dflt;
    return Status();
  }
  out->clear();
  if (v->is_number()) {
    if (!is_integer(*v) || v->as_number() < double(min) || v->as_number() > double(int64_t(1) << 30))
      return error(key, "must be an integer >= " + std::to_string(min) + ", got " + number_string(v->as_number()));
    out->assign(n, int64_t(v->as_number()));
    return Status();
  }
  if (!v->is_array() || v->items().size() != n) return error(key, "must be a number or a list of " + std::to_string(n) + " numbers");
  for (const Json& item : v->items()) {
    if (!is_integer(item) || item.as_number() < double(min) || item.as_number() > double(int64_t(1) << 30))
      return error(key, "must hold integers >= " + std::to_string(min));
    out->push_back(int64_t(item.as_number()));
  }
  return Status();
}

Status ConfigReader::get_float(const char* key, double dflt, double* out) const {
  const Json* v = find(key);
  if (!v || v->is_null()) {
    *out = dflt;
    return Status();
  }
  if (!v->is_number() || !std::isfinite(v->as_number())) return error(key, "must be a finite number");
  *out = v->as_number();
  return Status();
}

Status ConfigReader::get_bool(const char* key, bool dflt, bool* out) const {
  const Json* v = find(key);
  if (!v || v->is_null()) {
    *out = dflt;
    return Status();
  }
  if (!v->is_bool()) return error(key, "must be true or false");
  *out = v->as_bool();
  return Status();
}

Status ConfigReader::get_string(const char* key, const std::string& dflt, std::string* out) const {
  const Json* v = find(key);
  if (!v || v->is_null()) {
    *out = dflt;
    return Status();
  }
  if (!v->is_string()) return error(key, "must be a string");
  *out = v->as_string();
  return Status();
}

Status ConfigReader::get_choice(const char* key, const std::string& dflt, const std::vector<std::string>& allowed,
                                std::string* out) const {
  KILN_RETURN_IF_ERROR(get_string(key, dflt, out));
  std::string list;
  for (const std::string& a : allowed) {
    if (a == *out) return Status();
    list += (list.empty() ? "'" : ", '") + a + "'";
  }
  return error(key, "must be one of " + list + ", got '" + *out + "'");
}

Status ConfigReader::get_activation(const char* key, Activation dflt, Activation* out) const {
  std::string s;
  KILN_RETURN_IF_ERROR(get_string(key, activation_name(dflt), &s));
  if (!activation_from_name(s, out)) return error(key, "names an unknown activation '" + s + "'");
  return Status();
}

Status ConfigReader::get_initializer(const char* key, Initializer dflt, Initializer* out) const {
  const Json* v = find(key);
  if (!v || v->is_null()) {
    *out = dflt;
    return Status();
  }
  Status s = initializer_from_json(*v, out);
  return s.ok() ? s : error(key, "is not usable: " + s.message());
}

Status ConfigReader::get_shape(const char* key, Shape* out) const {
  const Json* v = find(key);
  if (!v || !v->is_array()) return error(key, "must be a list of dimensions");
  out->clear();
  for (const Json& d : v->items()) {
    if (!is_integer(d) || d.as_number() < 1 || d.as_number() > double(int64_t(1) << 30))
      return error(key, "must hold positive integers");
    out->push_back(int64_t(d.as_number()));
  }
  return Status();
}

}  // namespace kiln
