// MaxPooling1D/2D, AveragePooling1D/2D and the global poolings (TF.js names).
#include "layers/conv_layers.h"
#include "layers/config.h"
#include "ops/pool_op.h"

namespace kiln {

namespace {

class PoolLayer : public Layer {
 public:
  const char* cls = "MaxPooling2D";
  PoolKind kind = PoolKind::kMax;
  int rank = 2;
  bool global = false;
  int64_t ph = 2, pw = 2, sh = 2, sw = 2;
  bool same = false;

  const char* class_name() const override { return cls; }
  OpPtr op() const {
    if (global) return std::make_shared<GlobalPoolOp>(kind);
    return std::make_shared<Pool2DOp>(kind, ph, pw, sh, sw, same);
  }
  Shape as_4d(const Shape& s) const { return rank == 1 ? Shape{s[0], 1, s[1], s[2]} : s; }

  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || int(in[0].size()) != rank + 1)
      return error("expects one input of rank " + std::to_string(rank + 1) + " (without the batch)");
    Shape x{1};
    x.insert(x.end(), in[0].begin(), in[0].end());
    std::vector<Shape> out;
    KILN_RETURN_IF_ERROR(op()->infer({global ? x : as_4d(x)}, &out));
    Shape y(out[0].begin() + 1, out[0].end());
    if (!global && rank == 1) y = {y[1], y[2]};
    *outputs = {y};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    Graph& g = *ctx.graph;
    const Shape s = g.values()[size_t(in[0])].shape;
    int x = in[0];
    if (!global) KILN_RETURN_IF_ERROR(g.reshape(in[0], as_4d(s), &x));
    int y;
    KILN_RETURN_IF_ERROR(g.op(op(), {x}, &y));
    if (!global && rank == 1) {
      const Shape ys = g.values()[size_t(y)].shape;
      KILN_RETURN_IF_ERROR(g.reshape(y, {ys[0], ys[2], ys[3]}, &y));
    }
    *out = {y};
    return Status();
  }
};

Status make_pool(const Json& config, const char* cls, PoolKind kind, int rank, bool global, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<PoolLayer>();
  l->cls = cls;
  l->kind = kind;
  l->rank = rank;
  l->global = global;
  ConfigReader r(config, cls);
  std::string format;
  KILN_RETURN_IF_ERROR(r.get_choice("dataFormat", "channelsLast", {"channelsLast"}, &format));
  if (!global) {
    const size_t n = size_t(rank);
    std::vector<int64_t> pool, strides;
    // TF.js 1-D pooling also accepts poolSize as a number.
    KILN_RETURN_IF_ERROR(r.get_ints("poolSize", n, std::vector<int64_t>(n, 2), &pool, 1));
    KILN_RETURN_IF_ERROR(r.get_ints("strides", n, pool, &strides, 1));
    l->ph = rank == 1 ? 1 : pool[0];
    l->pw = pool[n - 1];
    l->sh = rank == 1 ? 1 : strides[0];
    l->sw = strides[n - 1];
    std::string padding;
    KILN_RETURN_IF_ERROR(r.get_choice("padding", "valid", {"valid", "same"}, &padding));
    l->same = padding == "same";
  }
  *out = std::move(l);
  return Status();
}

}  // namespace

Status make_max_pooling1d(const Json& c, std::unique_ptr<Layer>* o) { return make_pool(c, "MaxPooling1D", PoolKind::kMax, 1, false, o); }
Status make_max_pooling2d(const Json& c, std::unique_ptr<Layer>* o) { return make_pool(c, "MaxPooling2D", PoolKind::kMax, 2, false, o); }
Status make_average_pooling1d(const Json& c, std::unique_ptr<Layer>* o) { return make_pool(c, "AveragePooling1D", PoolKind::kAverage, 1, false, o); }
Status make_average_pooling2d(const Json& c, std::unique_ptr<Layer>* o) { return make_pool(c, "AveragePooling2D", PoolKind::kAverage, 2, false, o); }
Status make_global_max_pooling1d(const Json& c, std::unique_ptr<Layer>* o) { return make_pool(c, "GlobalMaxPooling1D", PoolKind::kMax, 1, true, o); }
Status make_global_max_pooling2d(const Json& c, std::unique_ptr<Layer>* o) { return make_pool(c, "GlobalMaxPooling2D", PoolKind::kMax, 2, true, o); }
Status make_global_average_pooling1d(const Json& c, std::unique_ptr<Layer>* o) { return make_pool(c, "GlobalAveragePooling1D", PoolKind::kAverage, 1, true, o); }
Status make_global_average_pooling2d(const Json& c, std::unique_ptr<Layer>* o) { return make_pool(c, "GlobalAveragePooling2D", PoolKind::kAverage, 2, true, o); }

}  // namespace kiln
