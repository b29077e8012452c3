// Reading layer configs: typed getters with TF.js argument names and defaults,
// whose errors name the argument and what was wrong.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/activation.h"
#include "core/json.h"
#include "core/shape.h"
#include "train/initializer.h"

namespace kiln {

// The config keys layer factories read while one is alive (innermost wins),
// so make_layer can refuse an argument no factory read instead of ignoring it.
class ConfigKeyLog {
 public:
  ConfigKeyLog() : previous_(current_) { current_ = this; }
  ~ConfigKeyLog() { current_ = previous_; }
  ConfigKeyLog(const ConfigKeyLog&) = delete;
  ConfigKeyLog& operator=(const ConfigKeyLog&) = delete;
  bool read(const std::string& key) const;
  // Notes a key as read (ConfigReader does it for every getter).
  static void note(const char* key);

 private:
  std::vector<std::string> keys_;
  ConfigKeyLog* previous_;
  static thread_local ConfigKeyLog* current_;  // models may be made on several threads at once
};

class ConfigReader {
 public:
  ConfigReader(const Json& config, std::string layer) : config_(config), layer_(std::move(layer)) {}

  Status get_int(const char* key, int64_t dflt, int64_t* out, int64_t min = 0, int64_t max = int64_t(1) << 30) const;
  // A number, or a list of `n` numbers (kernelSize: 3 or [3, 5]).
  Status get_ints(const char* key, size_t n, const std::vector<int64_t>& dflt, std::vector<int64_t>* out,
                  int64_t min = 0) const;
  Status get_float(const char* key, double dflt, double* out) const;
  Status get_bool(const char* key, bool dflt, bool* out) const;
  Status get_string(const char* key, const std::string& dflt, std::string* out) const;
  // One of `allowed`.
  Status get_choice(const char* key, const std::string& dflt, const std::vector<std::string>& allowed, std::string* out) const;
  Status get_activation(const char* key, Activation dflt, Activation* out) const;
  Status get_initializer(const char* key, Initializer dflt, Initializer* out) const;
  // A shape with null allowed nowhere (e.g. targetShape).
  Status get_shape(const char* key, Shape* out) const;
  bool has(const char* key) const;
  // The raw value (or null), noted as read: for arguments the getters do not cover.
  const Json* find(const char* key) const;

 private:
  Status error(const char* key, const std::string& what) const;
  const Json& config_;
  std::string layer_;
};

}  // namespace kiln
