#include "ops/pool_op.h"

namespace kiln {

Status Pool2DOp::params(const Shape& x, Pool2DParams* p) const {
  if (x.size() != 4) return Status::error(name() + ": input must be [batch, height, width, channels], got " + shape_to_string(x));
  return pool2d_params(x[0], x[1], x[2], x[3], ph_, pw_, sh_, sw_, same_, p);
}

Status Pool2DOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1) return Status::error(name() + " takes one input");
  Pool2DParams p;
  KILN_RETURN_IF_ERROR(params(in[0], &p));
  *out = {{p.batch, p.out_h, p.out_w, p.channels}};
  return Status();
}

void Pool2DOp::forward(const OpForwardArgs& a) const { run_forward(a, false); }
void Pool2DOp::forward_reference(const OpForwardArgs& a) const { run_forward(a, true); }
void Pool2DOp::backward(const OpBackwardArgs& a) const { run_backward(a, false); }
void Pool2DOp::backward_reference(const OpBackwardArgs& a) const { run_backward(a, true); }

void Pool2DOp::run_forward(const OpForwardArgs& a, bool reference) const {
  Pool2DParams p;
  params(a.in_shapes[0], &p);
  (reference ? pool2d_forward_reference : pool2d_forward)(kind_, p, a.in[0], a.out[0]);
}

void Pool2DOp::run_backward(const OpBackwardArgs& a, bool reference) const {
  Pool2DParams p;
  params(a.in_shapes[0], &p);
  if (a.din[0]) (reference ? pool2d_backward_reference : pool2d_backward)(kind_, p, a.in[0], a.out[0], a.dout[0], a.din[0]);
}

Status GlobalPoolOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1 || in[0].size() < 3) return Status::error(name() + ": input must be [batch, ...spatial, channels]");
  *out = {{in[0][0], in[0].back()}};
  return Status();
}

void GlobalPoolOp::forward(const OpForwardArgs& a) const { run_forward(a, false); }
void GlobalPoolOp::forward_reference(const OpForwardArgs& a) const { run_forward(a, true); }
void GlobalPoolOp::backward(const OpBackwardArgs& a) const { run_backward(a, false); }
void GlobalPoolOp::backward_reference(const OpBackwardArgs& a) const { run_backward(a, true); }

void GlobalPoolOp::run_forward(const OpForwardArgs& a, bool reference) const {
  const Shape& s = a.in_shapes[0];
  (reference ? global_pool_forward_reference : global_pool_forward)(kind_, s[0], shape_numel(s) / (s[0] * s.back()), s.back(), a.in[0], a.out[0]);
}

void GlobalPoolOp::run_backward(const OpBackwardArgs& a, bool reference) const {
  const Shape& s = a.in_shapes[0];
  if (a.din[0]) (reference ? global_pool_backward_reference : global_pool_backward)(kind_, s[0], shape_numel(s) / (s[0] * s.back()), s.back(), a.in[0], a.out[0], a.dout[0], a.din[0]);
}

}  // namespace kiln
