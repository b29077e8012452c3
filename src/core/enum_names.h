// Looks up an enum by its public name (TF.js spelling), for enums whose
// values run 0..count-1 and that have a name function.
#pragma once
#include <cctype>
#include <string>

namespace kiln {

template <typename Enum>
bool enum_from_name(const std::string& name, int count, const char* (*name_of)(Enum), Enum* out) {
  for (int i = 0; i < count; ++i) {
    if (name == name_of(Enum(i))) {
      *out = Enum(i);
      return true;
    }
  }
  return false;
}

// A name with case and underscores dropped, so TF.js's camel case and
// Keras's snake case compare equal ("leCunNormal", "lecun_normal", "fan_in").
inline std::string folded_name(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '_') out += char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace kiln
