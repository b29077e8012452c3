#include "core/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace kiln {

Json Json::boolean(bool b) { Json j; j.type_ = Type::kBool; j.bool_ = b; return j; }
Json Json::number(double d) { Json j; j.type_ = Type::kNumber; j.number_ = d; return j; }
Json Json::string(std::string s) { Json j; j.type_ = Type::kString; j.string_ = std::move(s); return j; }
Json Json::array() { Json j; j.type_ = Type::kArray; return j; }
Json Json::object() { Json j; j.type_ = Type::kObject; return j; }

const Json* Json::find(const std::string& key) const {
  for (const auto& m : members_)
    if (m.first == key) return &m.second;
  return nullptr;
}

Json& Json::push(Json v) {
  items_.push_back(std::move(v));
  return *this;
}

Json& Json::set(const std::string& key, Json v) {
  for (auto& m : members_)
    if (m.first == key) {
      m.second = std::move(v);
      return *this;
    }
  members_.emplace_back(key, std::move(v));
  return *this;
}

static void dump_string(const std::string& s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(char(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      *out += buf;
    } else {
      out->push_back(char(c));
    }
  }
  out->push_back('"');
}

static void dump_value(const Json& j, std::string* out) {
  switch (j.type()) {
    case Json::Type::kNull: *out += "null"; break;
    case Json::Type::kBool: *out += j.as_bool() ? "true" : "false"; break;
    case Json::Type::kNumber: {
      double d = j.as_number();
      if (!std::isfinite(d)) { *out += "null"; break; }
      char buf[32];
      if (d == std::floor(d) && std::fabs(d) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", d);
      else std::snprintf(buf, sizeof buf, "%.17g", d);
      *out += buf;
      break;
    }
    case Json::Type::kString: dump_string(j.as_string(), out); break;
    case Json::Type::kArray: {
      out->push_back('[');
      for (size_t i = 0; i < j.items().size(); ++i) {
        if (i) out->push_back(',');
        dump_value(j.items()[i], out);
      }
      out->push_back(']');
      break;
    }
    case Json::Type::kObject: {
      out->push_back('{');
      for (size_t i = 0; i < j.members().size(); ++i) {
        if (i) out->push_back(',');
        dump_string(j.members()[i].first, out);
        out->push_back(':');
        dump_value(j.members()[i].second, out);
      }
      out->push_back('}');
      break;
    }
  }
}

std::string Json::dump() const {
  std::string s;
  dump_value(*this, &s);
  return s;
}

namespace {

class Parser {
 public:
  explicit Parser(const std::string& t) : text_(t) {}

  Status parse(Json* out) {
    KILN_RETURN_IF_ERROR(value(out, 0));
    skip_space();
    if (pos_ != text_.size()) return error("unexpected text after the end");
    return Status();
  }

 private:
  Status error(const std::string& what) const {
    return Status::error("JSON: " + what + " at offset " + std::to_string(pos_));
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t')) ++pos_;
  }
  bool literal(const char* word) {
    size_t n = std::char_traits<char>::length(word);
    if (text_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }

  Status value(Json* out, int depth) {
    if (depth > 64) return error("nesting too deep");
    skip_space();
    if (pos_ >= text_.size()) return error("unexpected end");
    char c = text_[pos_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      std::string s;
      KILN_RETURN_IF_ERROR(string(&s));
      *out = Json::string(std::move(s));
      return Status();
    }
    if (literal("true")) { *out = Json::boolean(true); return Status(); }
    if (literal("false")) { *out = Json::boolean(false); return Status(); }
    if (literal("null")) { *out = Json(); return Status(); }
    if (c == '-' || (c >= '0' && c <= '9')) {
      const char* start = text_.c_str() + pos_;
      char* end = nullptr;
      double d = std::strtod(start, &end);
      if (end == start) return error("bad number");
      pos_ += size_t(end - start);
      *out = Json::number(d);
      return Status();
    }
    return error(std::string("unexpected character '") + c + "'");
  }

  Status string(std::string* out) {
    ++pos_;  // opening quote
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return Status();
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      switch (e) {
        case '"': case '\\': case '/': out->push_back(e); break;
        case 'n': out->push_back('\n'); break;
        case 't': out->push_back('\t'); break;
        case 'r': out->push_back('\r'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'u': {
          if (pos_ + 4 > text_.size()) return error("bad \\u escape");
          unsigned code = unsigned(std::strtoul(text_.substr(pos_, 4).c_str(), nullptr, 16));
          pos_ += 4;
          // Names and configs are ASCII in practice; encode the BMP as UTF-8.
          if (code < 0x80) out->push_back(char(code));
          else if (code < 0x800) { out->push_back(char(0xC0 | (code >> 6))); out->push_back(char(0x80 | (code & 63))); }
          else { out->push_back(char(0xE0 | (code >> 12))); out->push_back(char(0x80 | ((code >> 6) & 63))); out->push_back(char(0x80 | (code & 63))); }
          break;
        }
        default: return error("bad escape");
      }
    }
    return error("unterminated string");
  }

  Status array(Json* out, int depth) {
    ++pos_;
    *out = Json::array();
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == ']') { ++pos_; return Status(); }
    while (true) {
      Json item;
      KILN_RETURN_IF_ERROR(value(&item, depth + 1));
      out->push(std::move(item));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') { ++pos_; continue; }
      if (pos_ < text_.size() && text_[pos_] == ']') { ++pos_; return Status(); }
      return error("expected ',' or ']'");
    }
  }

  Status object(Json* out, int depth) {
    ++pos_;
    *out = Json::object();
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '}') { ++pos_; return Status(); }
    while (true) {
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != '"') return error("expected a member name");
      std::string key;
      KILN_RETURN_IF_ERROR(string(&key));
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != ':') return error("expected ':'");
      ++pos_;
      Json v;
      KILN_RETURN_IF_ERROR(value(&v, depth + 1));
      out->set(key, std::move(v));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') { ++pos_; continue; }
      if (pos_ < text_.size() && text_[pos_] == '}') { ++pos_; return Status(); }
      return error("expected ',' or '}'");
    }
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

Status parse_json(const std::string& text, Json* out) { return Parser(text).parse(out); }

}  // namespace kiln
