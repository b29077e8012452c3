// A small JSON reader and writer for model topologies (layer configs), which
// JS hands to the core as text and model files store. Hand-written rather
// than a library: the wasm build has no exceptions (nlohmann/json relies on
// them) and every KiB counts in the browser download. Numbers are doubles;
// object keys keep their order so a saved model reads back identically.
// Shared vocabulary (core): layers, the model, the formats and the ONNX
// importer all read and write it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace kiln {

class Json {
 public:
  enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;
  static Json boolean(bool b);
  static Json number(double d);
  static Json string(std::string s);
  static Json array();
  static Json object();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_bool() const { return type_ == Type::kBool; }

  double as_number() const { return number_; }
  bool as_bool() const { return bool_; }
  const std::string& as_string() const { return string_; }
  const std::vector<Json>& items() const { return items_; }
  const std::vector<std::pair<std::string, Json>>& members() const { return members_; }

  // Object member by key, or null when absent (or not an object).
  const Json* find(const std::string& key) const;
  // Appends (array) or sets (object) and returns *this for chaining.
  Json& push(Json v);
  Json& set(const std::string& key, Json v);

  std::string dump() const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

// Parses `text`; nesting deeper than 64 levels or trailing text is an error.
Status parse_json(const std::string& text, Json* out);

}  // namespace kiln
