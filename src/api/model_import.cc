// Models from other formats' front-ends (src/frontends): the translated
// topology is built like any other, then the imported weights replace the
// initial ones, each checked against the shape its layer declares.
#include "api/model_import.h"

namespace kiln {

Status create_imported_model(const LayersImport& in, uint64_t seed, std::unique_ptr<Model>* out) {
  std::unique_ptr<Model> m;
  KILN_RETURN_IF_ERROR(Model::create(in.topology, seed, &m));
  for (const auto& [name, values] : in.weights) {
    size_t w = 0;
    while (w < m->num_weights() && m->weight_name(w) != name) ++w;
    if (w == m->num_weights()) return Status::error("import: the translated model has no weight '" + name + "'");
    KILN_RETURN_IF_ERROR(m->set_weight(w, values.data(), int64_t(values.size())));
  }
  *out = std::move(m);
  return Status();
}

Status import_onnx_model(const uint8_t* data, size_t size, const OnnxImportOptions& options, uint64_t seed,
                         std::unique_ptr<Model>* out) {
  LayersImport translated;
  KILN_RETURN_IF_ERROR(onnx_to_layers(data, size, options, &translated));
  return create_imported_model(translated, seed, out);
}

}  // namespace kiln
