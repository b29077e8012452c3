// Shape ops: reshape, squeeze/expand, concat/pack/unpack, transpose, pad,
// slices, gathers, splits, shape/fill/tile/range, and the identities. They
// work in TF's layout, except Concat and Pad, which stay NCHW between
// convolutions.
#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>

#include "frontends/tf_graph/tf_graph_translator.h"

namespace kiln {

namespace {

const int64_t kEnd = INT64_MAX, kBegin = INT64_MIN;

int64_t nchw_axis(int64_t a) { return a == 0 ? 0 : a == 3 ? 1 : a + 1; }

std::string as_i64(TfGraphTranslator& t, const std::string& onnx, const std::string& base) {
  const std::string out = t.fresh(base);
  t.emit("Cast", {onnx}, {out}, onnx_attrs(onnx_int_attr("to", int64_t(DataType::kInt64))));
  return out;
}

// Identity, StopGradient, Snapshot, IdentityN: the outputs are the inputs, no copy.
Status op_identity(TfGraphTranslator& t, const TfNode& n) {
  for (size_t i = 0; i < std::max<size_t>(1, n.op == "IdentityN" ? n.inputs.size() : 1); ++i) {
    std::string x;
    KILN_RETURN_IF_ERROR(t.input(n, i, &x));
    const bool nchw = t.held_nchw(x);
    t.define(n, int(i), nchw ? t.nchw(x) : t.nhwc(x), nchw, t.rank(x));
  }
  return Status();
}

Status op_no_op(TfGraphTranslator&, const TfNode&) { return Status(); }

Status op_reshape(TfGraphTranslator& t, const TfNode& n) {
  std::string x, s;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  KILN_RETURN_IF_ERROR(t.input(n, 1, &s));
  std::string shape;
  int rank = -1;
  if (t.constant(s)) {
    std::vector<int64_t> dims;
    KILN_RETURN_IF_ERROR(t.const_ints(n, 1, &dims));
    for (int64_t d : dims)
      if (d == 0) return n.error("a zero dimension in the target shape is not supported");
    shape = t.const_i64(n.name + "#shape", dims);
    rank = int(dims.size());
  } else {
    shape = as_i64(t, t.nhwc(s), n.name + "#shape");
  }
  const std::string out = t.fresh(n.name);
  t.emit("Reshape", {t.nhwc(x), shape}, {out});
  t.define(n, 0, out, false, rank);
  return Status();
}

Status op_squeeze(TfGraphTranslator& t, const TfNode& n) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  std::vector<int64_t> axes;
  KILN_RETURN_IF_ERROR(n.get_ints(n.has("squeeze_dims") ? "squeeze_dims" : "axis", &axes));
  const std::string out = t.fresh(n.name);
  std::vector<std::string> in = {t.nhwc(x)};
  if (!axes.empty()) in.push_back(t.const_i64(n.name + "#axes", axes));
  t.emit("Squeeze", std::move(in), {out});
  t.define(n, 0, out, false, axes.empty() || t.rank(x) < 0 ? -1 : t.rank(x) - int(axes.size()));
  return Status();
}

Status op_expand_dims(TfGraphTranslator& t, const TfNode& n) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  std::vector<int64_t> axis;
  KILN_RETURN_IF_ERROR(t.const_ints(n, 1, &axis));
  if (axis.size() != 1) return n.error("the axis must be one integer");
  const std::string out = t.fresh(n.name);
  t.emit("Unsqueeze", {t.nhwc(x), t.const_i64(n.name + "#axes", axis)}, {out});
  t.define(n, 0, out, false, t.rank(x) < 0 ? -1 : t.rank(x) + 1);
  return Status();
}

// ConcatV2(values..., axis): NCHW when the inputs are 4-D and one is held NCHW.
Status op_concat(TfGraphTranslator& t, const TfNode& n) {
  if (n.inputs.size() < 2) return n.error("needs values and an axis");
  const size_t count = n.inputs.size() - 1;
  std::vector<int64_t> axis;
  KILN_RETURN_IF_ERROR(t.const_ints(n, count, &axis));
  if (axis.size() != 1) return n.error("the axis must be one integer");
  std::vector<std::string> vals(count);
  bool any_nchw = false, all4 = true;
  for (size_t i = 0; i < count; ++i) {
    KILN_RETURN_IF_ERROR(t.input(n, i, &vals[i]));
    any_nchw |= t.held_nchw(vals[i]);
    all4 &= t.rank(vals[i]) == 4;
  }
  const bool nchw = any_nchw && all4;
  int64_t a = axis[0];
  if (nchw) a = nchw_axis(a < 0 ? a + 4 : a);
  std::vector<std::string> in;
  for (const std::string& v : vals) in.push_back(nchw ? t.nchw(v) : t.nhwc(v));
  const std::string out = t.fresh(nchw ? n.name + "#nchw" : n.name);
  t.emit("Concat", std::move(in), {out}, onnx_attrs(onnx_int_attr("axis", a)));
  t.define(n, 0, out, nchw, t.rank(vals[0]));
  return Status();
}

// Pack: the values stacked along a new axis.
Status op_pack(TfGraphTranslator& t, const TfNode& n) {
  int64_t axis;
  KILN_RETURN_IF_ERROR(n.get_int("axis", 0, &axis));
  std::vector<std::string> parts;
  int rank = -1;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    std::string v;
    KILN_RETURN_IF_ERROR(t.input(n, i, &v));
    rank = t.rank(v) < 0 ? -1 : t.rank(v) + 1;
    const std::string u = t.fresh(n.name + "#u");
    t.emit("Unsqueeze", {t.nhwc(v), t.const_i64(n.name + "#axis", {axis})}, {u});
    parts.push_back(u);
  }
  if (parts.empty()) return n.error("needs at least one value");
  const std::string out = t.fresh(n.name);
  t.emit("Concat", std::move(parts), {out}, onnx_attrs(onnx_int_attr("axis", axis)));
  t.define(n, 0, out, false, rank);
  return Status();
}

// Unpack: `num` slices along an axis, the axis removed.
Status op_unpack(TfGraphTranslator& t, const TfNode& n) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  int64_t axis, num;
  KILN_RETURN_IF_ERROR(n.get_int("axis", 0, &axis));
  KILN_RETURN_IF_ERROR(n.get_int("num", 0, &num));
  if (num < 1 || num > 4096) return n.error("num must be between 1 and 4096");
  std::vector<std::string> pieces;
  for (int64_t k = 0; k < num; ++k) pieces.push_back(t.fresh(n.name + "#piece"));
  t.emit("Split", {t.nhwc(x)}, pieces, onnx_attrs(onnx_int_attr("axis", axis)));
  for (int64_t k = 0; k < num; ++k) {
    const std::string out = t.fresh(TfGraphTranslator::output_name(n, int(k)));
    t.emit("Squeeze", {pieces[size_t(k)], t.const_i64(n.name + "#axes", {axis})}, {out});
    t.define(n, int(k), out, false, t.rank(x) < 0 ? -1 : t.rank(x) - 1);
  }
  return Status();
}

Status op_transpose(TfGraphTranslator& t, const TfNode& n) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  std::vector<int64_t> perm;
  KILN_RETURN_IF_ERROR(t.const_ints(n, 1, &perm));
  const std::string out = t.fresh(n.name);
  t.emit("Transpose", {t.nhwc(x)}, {out}, onnx_attrs(onnx_ints_attr("perm", perm)));
  t.define(n, 0, out, false, int(perm.size()));
  return Status();
}

// MirrorPad SYMMETRIC (the edge repeated; ONNX's reflect leaves it out):
// per padded axis, the first and last rows reversed by a step -1 Slice and
// concatenated around the value.
Status symmetric_pad(TfGraphTranslator& t, const TfNode& n, std::string cur, const std::vector<int64_t>& pads, bool nchw) {
  const size_t r = pads.size() / 2;
  for (size_t d = 0; d < r; ++d) {
    const int64_t before = pads[d], after = pads[r + d];
    if (before < 0 || after < 0) return n.error("paddings must not be negative");
    if (!before && !after) continue;
    const std::string tag = n.name + "#sym" + std::to_string(d);
    std::vector<std::string> parts;
    auto reversed = [&](const char* side, int64_t start, int64_t end) {
      const std::string part = t.fresh(tag + side);
      t.emit("Slice", {cur, t.const_i64(part + "#s", {start}), t.const_i64(part + "#e", {end}), t.const_i64(part + "#a", {int64_t(d)}),
                       t.const_i64(part + "#st", {-1})}, {part});
      return part;
    };
    if (before) parts.push_back(reversed("#before", before - 1, std::numeric_limits<int64_t>::min()));
    parts.push_back(cur);
    if (after) parts.push_back(reversed("#after", -1, -after - 1));
    cur = t.fresh(tag);
    t.emit("Concat", std::move(parts), {cur}, onnx_attrs(onnx_int_attr("axis", int64_t(d))));
  }
  const std::string out = t.fresh(nchw ? n.name + "#nchw" : n.name);
  t.emit("Identity", {cur}, {out});
  t.define(n, 0, out, nchw, int(r));
  return Status();
}

// Pad / PadV2 / MirrorPad with constant paddings [rank, 2].
Status op_pad(TfGraphTranslator& t, const TfNode& n) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  std::vector<int64_t> p;
  KILN_RETURN_IF_ERROR(t.const_ints(n, 1, &p));
  if (p.size() % 2) return n.error("paddings must be [rank, 2]");
  const size_t r = p.size() / 2;
  std::string mode = "constant", mirror;
  if (n.op == "MirrorPad") {
    KILN_RETURN_IF_ERROR(n.get_string("mode", "REFLECT", &mirror));
    if (mirror != "REFLECT" && mirror != "SYMMETRIC") return n.error("MirrorPad mode " + mirror + " is not supported (REFLECT, SYMMETRIC)");
    mode = "reflect";
  }
  const bool nchw = t.held_nchw(x) && r == 4;
  std::vector<int64_t> pads(2 * r);
  for (size_t i = 0; i < r; ++i) {
    const size_t d = nchw ? size_t(nchw_axis(int64_t(i))) : i;
    pads[d] = p[2 * i];
    pads[r + d] = p[2 * i + 1];
  }
  if (mirror == "SYMMETRIC") return symmetric_pad(t, n, nchw ? t.nchw(x) : t.nhwc(x), pads, nchw);
  std::vector<std::string> in = {nchw ? t.nchw(x) : t.nhwc(x), t.const_i64(n.name + "#pads", pads)};
  if (n.op == "PadV2") {
    std::string c;
    KILN_RETURN_IF_ERROR(t.input(n, 2, &c));
    in.push_back(t.nhwc(c));
  }
  const std::string out = t.fresh(nchw ? n.name + "#nchw" : n.name);
  t.emit("Pad", std::move(in), {out}, onnx_attrs(onnx_string_attr("mode", mode)));
  t.define(n, 0, out, nchw, int(r));
  return Status();
}

// StridedSlice with constant begin/end/strides: Slice, then Squeeze for
// shrink_axis_mask and Unsqueeze for new_axis_mask; an ellipsis needs a known rank.
Status op_strided_slice(TfGraphTranslator& t, const TfNode& n) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  std::vector<int64_t> b, e, s;
  KILN_RETURN_IF_ERROR(t.const_ints(n, 1, &b));
  KILN_RETURN_IF_ERROR(t.const_ints(n, 2, &e));
  KILN_RETURN_IF_ERROR(t.const_ints(n, 3, &s));
  if (b.size() != e.size() || b.size() != s.size()) return n.error("begin, end and strides must have one length");
  int64_t bm, em, sm, nm, elm;
  KILN_RETURN_IF_ERROR(n.get_int("begin_mask", 0, &bm));
  KILN_RETURN_IF_ERROR(n.get_int("end_mask", 0, &em));
  KILN_RETURN_IF_ERROR(n.get_int("shrink_axis_mask", 0, &sm));
  KILN_RETURN_IF_ERROR(n.get_int("new_axis_mask", 0, &nm));
  KILN_RETURN_IF_ERROR(n.get_int("ellipsis_mask", 0, &elm));
  const int rank = t.rank(x);
  std::vector<int64_t> starts, ends, axes, steps, squeeze, unsqueeze;
  int64_t dim = 0, out_dim = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    const int64_t bit = int64_t(1) << i;
    if (elm & bit) {
      if (rank < 0) return n.error("an ellipsis needs an input of known rank");
      int64_t specified = 0;
      for (size_t j = i + 1; j < b.size(); ++j) specified += (nm >> j & 1) ? 0 : 1;
      const int64_t skip = rank - dim - specified;
      dim += skip;
      out_dim += skip;
      continue;
    }
    if (nm & bit) {
      unsqueeze.push_back(out_dim++);
      continue;
    }
    if (s[i] == 0) return n.error("a stride is zero");
    if (sm & bit) {
      starts.push_back(b[i]);
      ends.push_back(b[i] == -1 ? kEnd : b[i] + 1);
      steps.push_back(1);
      axes.push_back(dim);
      squeeze.push_back(dim);
      ++dim;
      continue;
    }
    starts.push_back((bm & bit) ? (s[i] > 0 ? 0 : kEnd) : b[i]);
    ends.push_back((em & bit) ? (s[i] > 0 ? kEnd : kBegin) : e[i]);
    steps.push_back(s[i]);
    axes.push_back(dim++);
    ++out_dim;
  }
  if (!squeeze.empty() && !unsqueeze.empty()) return n.error("shrink_axis_mask together with new_axis_mask is not supported");
  std::string cur = t.nhwc(x);
  if (!axes.empty()) {
    const std::string sliced = t.fresh(n.name + "#slice");
    t.emit("Slice", {cur, t.const_i64(n.name + "#starts", starts), t.const_i64(n.name + "#ends", ends),
                     t.const_i64(n.name + "#axes", axes), t.const_i64(n.name + "#steps", steps)}, {sliced});
    cur = sliced;
  }
  const std::string out = t.fresh(n.name);
  if (!squeeze.empty()) t.emit("Squeeze", {cur, t.const_i64(n.name + "#squeeze", squeeze)}, {out});
  else if (!unsqueeze.empty()) t.emit("Unsqueeze", {cur, t.const_i64(n.name + "#unsqueeze", unsqueeze)}, {out});
  else t.emit("Identity", {cur}, {out});
  t.define(n, 0, out, false, rank < 0 ? -1 : rank - int(squeeze.size()) + int(unsqueeze.size()));
  return Status();
}

// Slice(x, begin, size): size -1 runs to the end.
Status op_slice(TfGraphTranslator& t, const TfNode& n) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  std::vector<int64_t> b, size;
  KILN_RETURN_IF_ERROR(t.const_ints(n, 1, &b));
  KILN_RETURN_IF_ERROR(t.const_ints(n, 2, &size));
  if (b.size() != size.size()) return n.error("begin and size must have one length");
  std::vector<int64_t> ends, axes;
  for (size_t i = 0; i < b.size(); ++i) {
    ends.push_back(size[i] < 0 ? kEnd : b[i] + size[i]);
    axes.push_back(int64_t(i));
  }
  const std::string out = t.fresh(n.name);
  t.emit("Slice", {t.nhwc(x), t.const_i64(n.name + "#starts", b), t.const_i64(n.name + "#ends", ends),
                   t.const_i64(n.name + "#axes", axes)}, {out});
  t.define(n, 0, out, false, t.rank(x));
  return Status();
}

// Shape: of the NCHW form when that is what exists, its entries put back in TF's order.
Status op_shape(TfGraphTranslator& t, const TfNode& n) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  DataType type = DataType::kInt32;
  if (n.has("out_type")) KILN_RETURN_IF_ERROR(n.get_type("out_type", &type));
  const std::string s = t.fresh(n.name + "#i64");
  std::string shape = s;
  if (t.held_nchw(x)) {
    t.emit("Shape", {t.nchw(x)}, {s});
    shape = t.fresh(n.name + "#nhwc");
    t.emit("Gather", {s, t.const_i64(n.name + "#order", {0, 2, 3, 1})}, {shape}, onnx_attrs(onnx_int_attr("axis", 0)));
  } else {
    t.emit("Shape", {t.nhwc(x)}, {s});
  }
  const std::string out = t.fresh(n.name);
  t.emit("Cast", {shape}, {out}, onnx_attrs(onnx_int_attr("to", int64_t(type))));
  t.define(n, 0, out, false, 1);
  return Status();
}

// Fill(dims, value): the value broadcast to the shape.
Status op_fill(TfGraphTranslator& t, const TfNode& n) {
  std::string dims, value;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &dims));
  KILN_RETURN_IF_ERROR(t.input(n, 1, &value));
  const std::string out = t.fresh(n.name);
  t.emit("Expand", {t.nhwc(value), as_i64(t, t.nhwc(dims), n.name + "#dims")}, {out});
  t.define(n, 0, out, false, -1);
  return Status();
}

Status op_tile(TfGraphTranslator& t, const TfNode& n) {
  std::string x, m;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  KILN_RETURN_IF_ERROR(t.input(n, 1, &m));
  const std::string out = t.fresh(n.name);
  t.emit("Tile", {t.nhwc(x), as_i64(t, t.nhwc(m), n.name + "#repeats")}, {out});
  t.define(n, 0, out, false, t.rank(x));
  return Status();
}

Status op_gather(TfGraphTranslator& t, const TfNode& n) {
  std::string p, i;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &p));
  KILN_RETURN_IF_ERROR(t.input(n, 1, &i));
  std::vector<int64_t> axis = {0};
  if (n.op == "GatherV2") KILN_RETURN_IF_ERROR(t.const_ints(n, 2, &axis));
  int64_t batch_dims;
  KILN_RETURN_IF_ERROR(n.get_int("batch_dims", 0, &batch_dims));
  if (batch_dims != 0) return n.error("batch_dims is not supported");
  if (axis.size() != 1) return n.error("the axis must be one integer");
  const std::string out = t.fresh(n.name);
  t.emit("Gather", {t.nhwc(p), t.nhwc(i)}, {out}, onnx_attrs(onnx_int_attr("axis", axis[0])));
  t.define(n, 0, out, false, t.rank(p) < 0 || t.rank(i) < 0 ? -1 : t.rank(p) + t.rank(i) - 1);
  return Status();
}

Status op_gather_nd(TfGraphTranslator& t, const TfNode& n) {
  std::string p, i;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &p));
  KILN_RETURN_IF_ERROR(t.input(n, 1, &i));
  const std::string out = t.fresh(n.name);
  t.emit("GatherND", {t.nhwc(p), as_i64(t, t.nhwc(i), n.name + "#indices")}, {out});
  t.define(n, 0, out, false, -1);
  return Status();
}

// Split(axis, value) into num_split equal parts; SplitV(value, sizes, axis).
// SplitV with one size -1 (the rest of the axis, unknown at import): one
// Slice per piece, the pieces before the -1 counted from the start and the
// ones after it from the end.
Status split_with_inferred_size(TfGraphTranslator& t, const TfNode& n, const std::string& x, int64_t axis,
                                const std::vector<int64_t>& sizes) {
  const size_t rest = size_t(std::find(sizes.begin(), sizes.end(), -1) - sizes.begin());
  int64_t head = 0, tail = 0;
  for (size_t k = 0; k < rest; ++k) head += sizes[k];
  for (size_t k = rest + 1; k < sizes.size(); ++k) tail += sizes[k];
  int64_t from_start = 0, from_end = -tail;
  for (size_t k = 0; k < sizes.size(); ++k) {
    int64_t start, end;
    if (k < rest) start = from_start, end = from_start += sizes[k];
    else if (k == rest) start = head, end = tail ? -tail : std::numeric_limits<int64_t>::max();
    else start = from_end, end = (from_end += sizes[k]) == 0 ? std::numeric_limits<int64_t>::max() : from_end;
    const std::string out = t.fresh(TfGraphTranslator::output_name(n, int(k)));
    t.emit("Slice", {t.nhwc(x), t.const_i64(out + "#s", {start}), t.const_i64(out + "#e", {end}), t.const_i64(out + "#a", {axis})}, {out});
    t.define(n, int(k), out, false, t.rank(x));
  }
  return Status();
}

Status op_split(TfGraphTranslator& t, const TfNode& n) {
  const bool v = n.op == "SplitV";
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, v ? 0 : 1, &x));
  std::vector<int64_t> axis, sizes;
  KILN_RETURN_IF_ERROR(t.const_ints(n, v ? 2 : 0, &axis));
  if (axis.size() != 1) return n.error("the axis must be one integer");
  int64_t num;
  KILN_RETURN_IF_ERROR(n.get_int("num_split", 0, &num));
  std::vector<std::string> in = {t.nhwc(x)};
  if (num < 1 || num > 4096) return n.error("num_split must be between 1 and 4096");
  if (v) {
    KILN_RETURN_IF_ERROR(t.const_ints(n, 1, &sizes));
    if (int64_t(sizes.size()) != num) return n.error("size_splits must have num_split entries");
    const int64_t inferred = int64_t(std::count(sizes.begin(), sizes.end(), -1));
    for (int64_t s : sizes)
      if (s < -1) return n.error("split sizes must be -1 or non-negative");
    if (inferred > 1) return n.error("at most one split size may be -1");
    if (inferred) return split_with_inferred_size(t, n, x, axis[0], sizes);
    in.push_back(t.const_i64(n.name + "#sizes", sizes));
  }
  std::vector<std::string> outs;
  for (int64_t k = 0; k < num; ++k) outs.push_back(t.fresh(TfGraphTranslator::output_name(n, int(k))));
  t.emit("Split", std::move(in), outs, onnx_attrs(onnx_int_attr("axis", axis[0])));
  for (int64_t k = 0; k < num; ++k) t.define(n, int(k), outs[size_t(k)], false, t.rank(x));
  return Status();
}

Status op_range(TfGraphTranslator& t, const TfNode& n) {
  std::vector<std::string> in(3);
  for (size_t i = 0; i < 3; ++i) {
    std::string v;
    KILN_RETURN_IF_ERROR(t.input(n, i, &v));
    in[i] = t.nhwc(v);
  }
  const std::string out = t.fresh(n.name);
  t.emit("Range", std::move(in), {out});
  t.define(n, 0, out, false, 1);
  return Status();
}

// Where(condition): the coordinates of the true elements, [count, rank] int32 (as TF.js).
Status op_where(TfGraphTranslator& t, const TfNode& n) {
  std::string x;
  KILN_RETURN_IF_ERROR(t.input(n, 0, &x));
  const std::string nz = t.fresh(n.name + "#nonzero"), coords = t.fresh(n.name + "#i64"), out = t.fresh(n.name);
  t.emit("NonZero", {t.nhwc(x)}, {nz});
  t.emit("Transpose", {nz}, {coords}, onnx_attrs(onnx_ints_attr("perm", {1, 0})));
  t.emit("Cast", {coords}, {out}, onnx_attrs(onnx_int_attr("to", int64_t(DataType::kInt32))));  // TF.js's int32
  t.define(n, 0, out, false, 2);
  return Status();
}

}  // namespace

void add_tf_shape_ops(std::map<std::string, TfOpTranslator>* table) {
  table->insert({
      {"Identity", op_identity}, {"IdentityN", op_identity}, {"StopGradient", op_identity}, {"Snapshot", op_identity},
      {"NoOp", op_no_op}, {"Reshape", op_reshape}, {"Squeeze", op_squeeze}, {"ExpandDims", op_expand_dims},
      {"ConcatV2", op_concat}, {"Pack", op_pack}, {"Unpack", op_unpack}, {"Transpose", op_transpose},
      {"Pad", op_pad}, {"PadV2", op_pad}, {"MirrorPad", op_pad}, {"StridedSlice", op_strided_slice},
      {"Slice", op_slice}, {"Shape", op_shape}, {"Fill", op_fill}, {"Tile", op_tile},
      {"GatherV2", op_gather}, {"Gather", op_gather}, {"GatherNd", op_gather_nd},
      {"Split", op_split}, {"SplitV", op_split}, {"Range", op_range}, {"Where", op_where},
  });
}

}  // namespace kiln
