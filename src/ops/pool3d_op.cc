#include "ops/pool3d_op.h"

namespace kiln {

Status Pool3DOp::params(const Shape& x, Pool3DParams* p) const {
  if (x.size() != 5) return Status::error(name() + ": input must be [batch, depth, height, width, channels], got " + shape_to_string(x));
  return pool3d_params(x[0], &x[1], x[4], pool_, stride_, same_, p);
}

Status Pool3DOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1) return Status::error(name() + " takes one input");
  Pool3DParams p;
  KILN_RETURN_IF_ERROR(params(in[0], &p));
  *out = {{p.batch, p.out[0], p.out[1], p.out[2], p.channels}};
  return Status();
}

void Pool3DOp::forward(const OpForwardArgs& a) const {
  Pool3DParams p;
  params(a.in_shapes[0], &p);
  pool3d_forward(kind_, p, a.in[0], a.out[0]);
}

void Pool3DOp::backward(const OpBackwardArgs& a) const {
  Pool3DParams p;
  params(a.in_shapes[0], &p);
  if (a.din[0]) pool3d_backward(kind_, p, a.in[0], a.dout[0], a.din[0]);
}

}  // namespace kiln
