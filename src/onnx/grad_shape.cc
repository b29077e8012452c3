// Gradients of the shape, slicing and joining ops. The ops that move
// elements around (Slice, Gather, Tile, GatherElements) share one rule: run
// the op itself on a map of element numbers (0, 1, 2, ... in the input's
// shape) to learn where each output element came from, then scatter-add the
// output gradient back to those places. Elements read twice (Gather with
// repeated indices, Tile) get both contributions.
#include "onnx/gradient.h"

namespace kiln {

namespace {

void same_elements(const GradCtx& c, GradientOps& g, Grads* out) { (*out)[0] = g.reshape(c.dy(), c.x().shape()); }

void grad_transpose(const GradCtx& c, GradientOps& g, Grads* out) {
  std::vector<int64_t> perm = c.node.get_ints("perm");
  if (perm.empty())
    for (int64_t a = c.x().rank() - 1; a >= 0; --a) perm.push_back(a);
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] < 0 || perm[i] >= int64_t(perm.size())) return g.fail("perm out of range");
    inverse[size_t(perm[i])] = int64_t(i);
  }
  (*out)[0] = g.transpose(c.dy(), inverse);
}

void grad_expand(const GradCtx& c, GradientOps& g, Grads* out) { (*out)[0] = g.unbroadcast(c.dy(), c.x().shape()); }

// Runs the node's own op on the element numbers of x (its other inputs and
// attributes as they were) and scatter-adds dy to the numbers it gives.
void by_element_map(const GradCtx& c, GradientOps& g, Grads* out) {
  const OnnxValue& in = c.x();
  const OnnxValue zero = OnnxValue::vector_i64({0}).reshaped({});
  const OnnxValue count = OnnxValue::vector_i64({in.numel()}).reshaped({});
  const OnnxValue one = OnnxValue::vector_i64({1}).reshaped({});
  const OnnxValue numbers = g.reshape(g.op("Range", {&zero, &count, &one}), in.shape());
  std::vector<const OnnxValue*> args = {&numbers};
  for (size_t i = 1; i < c.inputs.size(); ++i) args.push_back(c.inputs[i].defined() ? &c.inputs[i] : nullptr);
  const OnnxValue mapped = g.same_op(c.node, args);
  const OnnxValue flat_from = g.reshape(mapped, {mapped.numel()});
  const OnnxValue flat_dy = g.reshape(c.dy(), {c.dy().numel()});
  const OnnxValue zeros = g.zeros_like(g.reshape(in, {in.numel()}));
  const OnnxValue summed = g.op("ScatterElements", {&zeros, &flat_from, &flat_dy}, {attr_int("axis", 0), attr_string("reduction", "add")});
  (*out)[0] = g.reshape(summed, in.shape());
}

void grad_concat(const GradCtx& c, GradientOps& g, Grads* out) {
  const int64_t rank = c.dy().rank();
  int64_t axis = c.node.get_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return g.fail("axis out of range");
  std::vector<int64_t> sizes;
  for (const OnnxValue& v : c.inputs) sizes.push_back(v.shape()[size_t(axis)]);
  const OnnxValue split = g.ints(sizes);
  std::vector<OnnxValue> parts = g.ops("Split", {&c.dy(), &split}, int(sizes.size()), {attr_int("axis", axis)});
  for (size_t i = 0; i < parts.size(); ++i) (*out)[i] = parts[i];
}

void grad_split(const GradCtx& c, GradientOps& g, Grads* out) {
  if (c.output_grads.size() == 1) {
    (*out)[0] = g.reshape(c.dy(), c.x().shape());
    return;
  }
  std::vector<const OnnxValue*> parts;
  for (const OnnxValue& v : c.output_grads) parts.push_back(&v);
  (*out)[0] = g.op("Concat", parts, {attr_int("axis", c.node.get_int("axis", 0))});
}

// Constant-mode Pad with non-negative pads: the gradient is dy cropped back.
void grad_pad(const GradCtx& c, GradientOps& g, Grads* out) {
  if (c.node.get_string("mode", "constant") != "constant") return g.fail("only constant padding is differentiable");
  std::vector<int64_t> pads;
  if (c.inputs.size() < 2 || !c.inputs[1].defined()) return g.fail("pads missing");
  const Status s = c.inputs[1].to_int64s(&pads);
  if (!s.ok()) return g.fail(s.message());
  const int64_t rank = c.x().rank();
  std::vector<int64_t> axes(static_cast<size_t>(rank));
  for (int64_t a = 0; a < rank; ++a) axes[size_t(a)] = a;
  if (c.inputs.size() > 3 && c.inputs[3].defined()) {
    const Status sa = c.inputs[3].to_int64s(&axes);
    if (!sa.ok()) return g.fail(sa.message());
    for (int64_t& a : axes) a = a < 0 ? a + rank : a;
  }
  if (pads.size() != 2 * axes.size()) return g.fail("pads do not match the axes");
  std::vector<int64_t> starts, ends;
  for (size_t i = 0; i < axes.size(); ++i) {
    if (pads[i] < 0 || pads[i + axes.size()] < 0) return g.fail("negative pads (cropping) are not differentiable yet");
    starts.push_back(pads[i]);
    ends.push_back(pads[i] + c.x().shape()[size_t(axes[i])]);
  }
  const OnnxValue st = g.ints(starts), en = g.ints(ends), ax = g.ints(axes);
  (*out)[0] = g.op("Slice", {&c.dy(), &st, &en, &ax});
}

// A running sum's gradient is the running sum of dy the other way: each
// output gathered the inputs before it (exclusive: strictly before).
void grad_cum_sum(const GradCtx& c, GradientOps& g, Grads* out) {
  const bool reverse = c.node.get_int("reverse", 0) != 0;
  (*out)[0] = g.op("CumSum", {&c.dy(), &c.inputs[1]}, {attr_int("exclusive", c.node.get_int("exclusive", 0)), attr_int("reverse", reverse ? 0 : 1)});
}

const OnnxGradientEntry kGradients[] = {
    {"Reshape", same_elements}, {"Flatten", same_elements}, {"Squeeze", same_elements}, {"Unsqueeze", same_elements},
    {"Transpose", grad_transpose}, {"Expand", grad_expand}, {"Slice", by_element_map}, {"Gather", by_element_map},
    {"GatherElements", by_element_map}, {"Tile", by_element_map}, {"Concat", grad_concat}, {"Split", grad_split},
    {"Pad", grad_pad}, {"CumSum", grad_cum_sum},
    // Integer results: nothing to differentiate.
    {"Shape", nullptr}, {"Size", nullptr}, {"Range", nullptr},
    {"OneHot", nullptr}, {"EyeLike", nullptr}, {"RandomUniformLike", nullptr}, {"RandomNormalLike", nullptr},
};

}  // namespace

OnnxGradientTable onnx_shape_gradients() { return {kGradients, sizeof(kGradients) / sizeof(kGradients[0])}; }

}  // namespace kiln
