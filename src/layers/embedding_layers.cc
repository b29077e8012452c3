#include "layers/embedding_layers.h"

#include "layers/arg_utils.h"
#include "layers/config.h"
#include "ops/embedding.h"
#include "ops/masking.h"

namespace kiln {

namespace {

class Embedding : public Layer {
 public:
  int64_t input_dim = 0, output_dim = 0;
  Initializer init = Initializer::kRandomUniform;
  bool mask_zero = false;  // id 0 is padding: its steps are masked for the recurrent layers after
  const char* class_name() const override { return "Embedding"; }
  MaskMode mask_mode() const override { return MaskMode::kOwn; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>* weights, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].empty()) return error("expects one input of indices of rank >= 1 (batch excluded)");
    weights->push_back({"embeddings", {input_dim, output_dim}, init, input_dim, output_dim, true});
    Shape s = in[0];
    s.push_back(output_dim);
    *outputs = {s};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<EmbeddingOp>(), {in[0], ctx.weights[0]}, &y));
    *out = {y};
    int mask = -1;
    if (mask_zero) KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<NonZeroMaskOp>(), {in[0]}, &mask));
    ctx.output_masks = {mask};
    return Status();
  }
};

}  // namespace

Status make_embedding(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Embedding>();
  ConfigReader r(config, "Embedding");
  if (!r.has("inputDim")) return arg_error("Embedding", "inputDim", "is required (the vocabulary size)");
  if (!r.has("outputDim")) return arg_error("Embedding", "outputDim", "is required (the embedding size)");
  KILN_RETURN_IF_ERROR(r.get_int("inputDim", 0, &l->input_dim, 1, int64_t(1) << 30));
  KILN_RETURN_IF_ERROR(r.get_int("outputDim", 0, &l->output_dim, 1, int64_t(1) << 24));
  KILN_RETURN_IF_ERROR(r.get_initializer("embeddingsInitializer", Initializer::kRandomUniform, &l->init));
  KILN_RETURN_IF_ERROR(r.get_bool("maskZero", false, &l->mask_zero));
  *out = std::move(l);
  return Status();
}

}  // namespace kiln
