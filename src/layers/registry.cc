// The table of every layer class make_layer knows. Each family's factories
// are declared in its own header (src/layers/<family>_layers.h).
#include "layers/core_layers.h"

namespace kiln {

namespace {
struct Entry {
  const char* class_name;
  LayerFactory make;
};
const Entry kLayers[] = {
    {"InputLayer", make_input_layer},
    {"Dense", make_dense},
    {"Activation", make_activation_layer},
};
}  // namespace

Status make_layer(const std::string& class_name, const Json& config, std::unique_ptr<Layer>* out) {
  if (!config.is_object()) return Status::error(class_name + ": the config must be an object");
  for (const Entry& e : kLayers) {
    if (class_name != e.class_name) continue;
    KILN_RETURN_IF_ERROR(e.make(config, out));
    const Json* name = config.find("name");
    (*out)->set_name(name && name->is_string() ? name->as_string() : class_name);
    return Status();
  }
  return Status::error("unknown layer class '" + class_name + "'");
}

std::vector<std::string> layer_class_names() {
  std::vector<std::string> names;
  for (const Entry& e : kLayers) names.push_back(e.class_name);
  return names;
}

}  // namespace kiln
