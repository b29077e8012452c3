#include "frontends/tf_graph/tf_node.h"

#include <cmath>

namespace kiln {

namespace {

const Json* member(const Json* attr, const char* key) { return attr && attr->is_object() ? attr->find(key) : nullptr; }

// int64 fields come as strings in protobuf's JSON mapping, but numbers are accepted too.
bool json_int(const Json& v, int64_t* out) {
  if (v.is_number()) {
    if (std::floor(v.as_number()) != v.as_number() || std::fabs(v.as_number()) > 9.0e15) return false;
    *out = int64_t(v.as_number());
    return true;
  }
  if (!v.is_string() || v.as_string().empty() || v.as_string().size() > 19) return false;
  const std::string& s = v.as_string();
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  int64_t r = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    r = r * 10 + (s[i] - '0');
  }
  *out = s[0] == '-' ? -r : r;
  return true;
}

}  // namespace

Status TfNode::error(const std::string& what) const { return Status::error("node '" + name + "' (" + op + "): " + what); }

bool TfNode::has(const char* key) const { return member(attr, key) != nullptr; }

Status TfNode::get_int(const char* key, int64_t dflt, int64_t* out) const {
  const Json* a = member(attr, key);
  const Json* v = a ? a->find("i") : nullptr;
  if (!a) {
    *out = dflt;
    return Status();
  }
  if (!v) {
    *out = 0;  // protobuf's JSON omits zero values
    return a->is_object() ? Status() : error(std::string("attribute '") + key + "' is malformed");
  }
  if (!json_int(*v, out)) return error(std::string("attribute '") + key + "' is not an integer");
  return Status();
}

Status TfNode::get_ints(const char* key, std::vector<int64_t>* out) const {
  out->clear();
  const Json* a = member(attr, key);
  if (!a) return Status();
  const Json* list = a->find("list");
  if (!list || !list->is_object()) return error(std::string("attribute '") + key + "' is not a list of integers");
  const Json* items = list->find("i");
  if (!items) return Status();  // the converter writes an empty list as {"list": {}}
  if (!items->is_array()) return error(std::string("attribute '") + key + "' is not a list of integers");
  for (const Json& v : items->items()) {
    int64_t x;
    if (!json_int(v, &x)) return error(std::string("attribute '") + key + "' is not a list of integers");
    out->push_back(x);
  }
  return Status();
}

Status TfNode::get_float(const char* key, float dflt, float* out) const {
  const Json* a = member(attr, key);
  if (!a) {
    *out = dflt;
    return Status();
  }
  const Json* v = a->find("f");
  if (!v) {
    *out = 0;
    return Status();
  }
  if (!v->is_number()) return error(std::string("attribute '") + key + "' is not a number");
  *out = float(v->as_number());
  return Status();
}

Status TfNode::get_bool(const char* key, bool dflt, bool* out) const {
  const Json* a = member(attr, key);
  if (!a) {
    *out = dflt;
    return Status();
  }
  const Json* v = a->find("b");
  *out = v && v->is_bool() && v->as_bool();
  return Status();
}

Status TfNode::get_string(const char* key, const std::string& dflt, std::string* out) const {
  const Json* a = member(attr, key);
  if (!a) {
    *out = dflt;
    return Status();
  }
  const Json* v = a->find("s");
  if (!v) {
    out->clear();
    return Status();
  }
  if (!v->is_string() || !tf_base64_decode(v->as_string(), out)) return error(std::string("attribute '") + key + "' is not base64 text");
  return Status();
}

Status TfNode::get_strings(const char* key, std::vector<std::string>* out) const {
  out->clear();
  const Json* a = member(attr, key);
  if (!a) return Status();
  const Json* list = a->find("list");
  if (!list || !list->is_object()) return error(std::string("attribute '") + key + "' is not a list of strings");
  const Json* items = list->find("s");
  if (!items) return Status();
  if (!items->is_array()) return error(std::string("attribute '") + key + "' is not a list of strings");
  for (const Json& v : items->items()) {
    std::string s;
    if (!v.is_string() || !tf_base64_decode(v.as_string(), &s)) return error(std::string("attribute '") + key + "' is not a list of strings");
    out->push_back(s);
  }
  return Status();
}

Status TfNode::get_type(const char* key, DataType* out) const {
  const Json* a = member(attr, key);
  const Json* v = a ? a->find("type") : nullptr;
  if (!v || !v->is_string()) return error(std::string("attribute '") + key + "' (a type) is missing");
  *out = tf_data_type(v->as_string());
  if (*out == DataType::kUndefined) return error("type " + v->as_string() + " is not supported");
  return Status();
}

Status TfNode::get_shape(const char* key, std::vector<int64_t>* dims, bool* known) const {
  dims->clear();
  *known = false;
  const Json* a = member(attr, key);
  const Json* shape = a ? a->find("shape") : nullptr;
  if (!shape) return Status();
  if (const Json* u = shape->find("unknownRank"); u && u->is_bool() && u->as_bool()) return Status();
  *known = true;
  const Json* dim = shape->find("dim");
  if (!dim) return Status();
  if (!dim->is_array()) return error(std::string("attribute '") + key + "' is not a shape");
  for (const Json& d : dim->items()) {
    const Json* size = d.find("size");
    int64_t x = 0;
    if (size && !json_int(*size, &x)) return error(std::string("attribute '") + key + "' has a malformed dimension");
    dims->push_back(x < 0 ? -1 : x);
  }
  return Status();
}

DataType tf_data_type(const std::string& n) {
  // TF.js's own mapping (its converter's parseDtypeParam): it has float32,
  // int32 and bool only, so a model's tensors have the types TF.js gives them.
  if (n == "DT_FLOAT" || n == "DT_HALF" || n == "DT_DOUBLE") return DataType::kFloat32;
  if (n == "DT_INT32" || n == "DT_INT64" || n == "DT_INT8" || n == "DT_UINT8") return DataType::kInt32;
  if (n == "DT_BOOL") return DataType::kBool;
  return DataType::kUndefined;
}

bool tf_base64_decode(const std::string& in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=') break;
    else return false;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(char((acc >> bits) & 0xff));
    }
  }
  return true;
}

Status tf_parse_node(const Json& json, TfNode* out) {
  const Json* name = json.find("name");
  const Json* op = json.find("op");
  if (!json.is_object() || !name || !name->is_string() || !op || !op->is_string())
    return Status::error("a graph node needs a string name and op");
  out->name = name->as_string();
  out->op = op->as_string();
  out->attr = json.find("attr");
  out->inputs.clear();
  out->control_inputs.clear();
  if (const Json* in = json.find("input")) {
    if (!in->is_array()) return out->error("input must be a list of names");
    for (const Json& i : in->items()) {
      if (!i.is_string()) return out->error("input must be a list of names");
      if (!i.as_string().empty() && i.as_string()[0] == '^') {  // control dependency: order only
        out->control_inputs.push_back(i.as_string().substr(1));
        continue;
      }
      out->inputs.push_back(i.as_string());
    }
  }
  return Status();
}

}  // namespace kiln
