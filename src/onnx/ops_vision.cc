// Vision ONNX operators: GridSample (2-D; bilinear / nearest / bicubic,
// zeros / border / reflection padding, align_corners), RoiAlign (avg / max,
// half_pixel / output_half_pixel) and NonMaxSuppression. Reference loops in
// double precision with PyTorch's / onnxruntime's conventions.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "onnx/dispatch.h"
#include "onnx/kernel_util.h"
#include "onnx/op.h"

namespace kiln {

namespace {

// The first element of a (scalar) value as a double, 0 when it is empty.
double scalar_of(const OnnxValue& v) { return v.numel() > 0 ? onnx_element_as_double(v, 0) : 0.0; }

const OnnxValue* opt_in(const OnnxInputs& in, size_t i) { return i < in.size() && in[i] && in[i]->defined() ? in[i] : nullptr; }

// ---- GridSample -----------------------------------------------------------------------

double reflect(double x, double twice_low, double twice_high) {
  if (twice_low == twice_high) return 0;
  const double mn = twice_low / 2, span = (twice_high - twice_low) / 2;
  x = std::fabs(x - mn);
  const double extra = std::fmod(x, span);
  const int64_t flips = int64_t(std::floor(x / span));
  return flips % 2 == 0 ? extra + mn : span - extra + mn;
}

Status op_grid_sample(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue &x = *in[0], &grid = *in[1];
  if (x.rank() != 4 || grid.rank() != 4 || grid.shape()[3] != 2 || grid.shape()[0] != x.shape()[0])
    return ctx.error("expects X [N, C, H, W] and Grid [N, H_out, W_out, 2]");
  const std::string mode = ctx.get_string("mode", "bilinear"), pad = ctx.get_string("padding_mode", "zeros");
  const bool align = ctx.get_int("align_corners", 0) != 0;
  if (mode != "bilinear" && mode != "nearest" && mode != "bicubic") return ctx.error("unknown mode '" + mode + "'");
  if (pad != "zeros" && pad != "border" && pad != "reflection") return ctx.error("unknown padding_mode '" + pad + "'");
  const int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3], ho = grid.shape()[1], wo = grid.shape()[2];
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), {n, c, ho, wo}, &(*out)[0]));
  std::vector<double> xv, gv, y;
  KILN_RETURN_IF_ERROR(x.to_doubles(&xv));
  KILN_RETURN_IF_ERROR(grid.to_doubles(&gv));
  KILN_RETURN_IF_ERROR(resize_or_error(&y, n * c * ho * wo, "working memory"));
  auto unnorm = [&](double v, int64_t size) { return align ? (v + 1) / 2 * double(size - 1) : ((v + 1) * double(size) - 1) / 2; };
  auto pad_coord = [&](double v, int64_t size) {
    if (pad == "border") return std::max(0.0, std::min(double(size - 1), v));
    if (pad == "reflection") {
      v = align ? reflect(v, 0, 2.0 * double(size - 1)) : reflect(v, -1, 2.0 * double(size) - 1);
      return std::max(0.0, std::min(double(size - 1), v));
    }
    return v;
  };
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t ci = 0; ci < c; ++ci) {
      const double* plane = &xv[size_t((ni * c + ci) * h * w)];
      // Pixel read: zeros outside, or the padded coordinate for border / reflection (bicubic taps).
      auto px = [&](int64_t yy, int64_t xx) -> double {
        if (pad != "zeros") {
          xx = int64_t(pad_coord(double(xx), w)), yy = int64_t(pad_coord(double(yy), h));
        }
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) return 0.0;
        return plane[yy * w + xx];
      };
      for (int64_t i = 0; i < ho; ++i)
        for (int64_t j = 0; j < wo; ++j) {
          const size_t gi = size_t(((ni * ho + i) * wo + j) * 2);
          // Kept where the integer conversions below are defined: NaN reads as far outside.
          auto bounded = [](double g) { return g == g ? std::min(std::max(g, -1e12), 1e12) : -1e12; };
          double gx = bounded(unnorm(gv[gi], w)), gy = bounded(unnorm(gv[gi + 1], h));
          double v;
          if (mode == "bicubic") {
            const double x0 = std::floor(gx), y0 = std::floor(gy), tx = gx - x0, ty = gy - y0, a = -0.75;
            auto coeffs = [&](double t, double* cf) {
              auto c1 = [&](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };
              auto c2 = [&](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };
              cf[0] = c2(t + 1), cf[1] = c1(t), cf[2] = c1(1 - t), cf[3] = c2(2 - t);
            };
            double cx[4], cy[4];
            coeffs(tx, cx), coeffs(ty, cy);
            v = 0;
            for (int p = 0; p < 4; ++p)
              for (int q = 0; q < 4; ++q) v += cy[p] * cx[q] * px(int64_t(y0) - 1 + p, int64_t(x0) - 1 + q);
          } else {
            gx = pad_coord(gx, w), gy = pad_coord(gy, h);
            if (mode == "nearest") {
              v = px(int64_t(std::nearbyint(gy)), int64_t(std::nearbyint(gx)));
            } else {
              const double x0 = std::floor(gx), y0 = std::floor(gy), lx = gx - x0, ly = gy - y0;
              const int64_t xi = int64_t(x0), yi = int64_t(y0);
              auto raw = [&](int64_t yy, int64_t xx) { return yy < 0 || yy >= h || xx < 0 || xx >= w ? 0.0 : plane[yy * w + xx]; };
              v = (1 - ly) * ((1 - lx) * raw(yi, xi) + lx * raw(yi, xi + 1)) + ly * ((1 - lx) * raw(yi + 1, xi) + lx * raw(yi + 1, xi + 1));
            }
          }
          y[size_t(((ni * c + ci) * ho + i) * wo + j)] = v;
        }
    }
  Status st;
  const bool ok = onnx_dispatch_float(x.type(), [&](auto zero) {
    using T = decltype(zero);
    for (size_t i = 0; i < y.size(); ++i) (*out)[0].data<T>()[i] = T(y[i]);
  });
  if (!ok) return ctx.error("expects a float tensor, got " + dtype_name(x.type()));
  return st;
}

// ---- RoiAlign -------------------------------------------------------------------------

Status op_roi_align(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  for (size_t i = 0; i < 3; ++i) KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  const OnnxValue &x = *in[0], &rois = *in[1];
  if (x.rank() != 4 || rois.rank() != 2 || rois.shape()[1] != 4) return ctx.error("expects X [N, C, H, W] and rois [num_rois, 4]");
  std::vector<int64_t> bidx;
  KILN_RETURN_IF_ERROR(in[2]->to_int64s(&bidx));
  const int64_t nr = rois.shape()[0];
  if (int64_t(bidx.size()) != nr) return ctx.error("batch_indices must have num_rois entries");
  const std::string mode = ctx.get_string("mode", "avg");
  const bool half_pixel = ctx.get_string("coordinate_transformation_mode", ctx.opset() >= 16 ? "half_pixel" : "output_half_pixel") == "half_pixel";
  const int64_t oh = ctx.get_int("output_height", 1), ow = ctx.get_int("output_width", 1), sr = ctx.get_int("sampling_ratio", 0);
  const double scale = ctx.get_float("spatial_scale", 1.0f);
  const int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), {nr, c, oh, ow}, &(*out)[0]));
  std::vector<double> xv, rv, y;
  KILN_RETURN_IF_ERROR(x.to_doubles(&xv));
  KILN_RETURN_IF_ERROR(rois.to_doubles(&rv));
  KILN_RETURN_IF_ERROR(resize_or_error(&y, nr * c * oh * ow, "working memory"));
  const double off = half_pixel ? 0.5 : 0.0;
  for (int64_t r = 0; r < nr; ++r) {
    if (bidx[size_t(r)] < 0 || bidx[size_t(r)] >= n) return ctx.error("batch index out of range");
    const double sw = rv[size_t(r * 4)] * scale - off, sh = rv[size_t(r * 4 + 1)] * scale - off;
    const double ew = rv[size_t(r * 4 + 2)] * scale - off, eh = rv[size_t(r * 4 + 3)] * scale - off;
    double rw = ew - sw, rh = eh - sh;
    if (!half_pixel) rw = std::max(rw, 1.0), rh = std::max(rh, 1.0);
    const double bh = rh / double(oh), bw = rw / double(ow);
    const double grid_h = sr > 0 ? double(sr) : std::ceil(rh / double(oh)), grid_w = sr > 0 ? double(sr) : std::ceil(rw / double(ow));
    if (!(grid_h <= 4096 && grid_w <= 4096))  // NaN or huge ROI coordinates
      return ctx.error("ROI " + std::to_string(r) + " needs a sampling grid of " + std::to_string(grid_h) + " x " + std::to_string(grid_w));
    const int64_t gh = int64_t(grid_h), gw = int64_t(grid_w);
    const double count = double(std::max<int64_t>(gh * gw, 1));
    for (int64_t ci = 0; ci < c; ++ci) {
      const double* plane = &xv[size_t((bidx[size_t(r)] * c + ci) * h * w)];
      for (int64_t ph = 0; ph < oh; ++ph)
        for (int64_t pw = 0; pw < ow; ++pw) {
          double acc = 0;
          bool first = true;
          for (int64_t iy = 0; iy < gh; ++iy)
            for (int64_t ix = 0; ix < gw; ++ix) {
              double yy = sh + double(ph) * bh + (double(iy) + 0.5) * bh / double(gh);
              double xx = sw + double(pw) * bw + (double(ix) + 0.5) * bw / double(gw);
              double val = 0;
              if (yy >= -1.0 && yy <= double(h) && xx >= -1.0 && xx <= double(w)) {  // NaN: outside
                yy = std::max(yy, 0.0), xx = std::max(xx, 0.0);
                int64_t yl = int64_t(yy), xl = int64_t(xx), yh, xh;
                if (yl >= h - 1) yh = yl = h - 1, yy = double(yl);
                else yh = yl + 1;
                if (xl >= w - 1) xh = xl = w - 1, xx = double(xl);
                else xh = xl + 1;
                const double ly = yy - double(yl), lx = xx - double(xl), hy = 1 - ly, hx = 1 - lx;
                const double w1 = hy * hx, w2 = hy * lx, w3 = ly * hx, w4 = ly * lx;
                const double v1 = plane[yl * w + xl], v2 = plane[yl * w + xh], v3 = plane[yh * w + xl], v4 = plane[yh * w + xh];
                if (mode == "max") val = std::max(std::max(w1 * v1, w2 * v2), std::max(w3 * v3, w4 * v4));
                else val = w1 * v1 + w2 * v2 + w3 * v3 + w4 * v4;
              }
              if (mode == "max") acc = first ? val : std::max(acc, val);
              else acc += val;
              first = false;
            }
          y[size_t(((r * c + ci) * oh + ph) * ow + pw)] = mode == "max" ? acc : acc / count;
        }
    }
  }
  const bool ok = onnx_dispatch_float(x.type(), [&](auto zero) {
    using T = decltype(zero);
    for (size_t i = 0; i < y.size(); ++i) (*out)[0].data<T>()[i] = T(y[i]);
  });
  if (!ok) return ctx.error("expects a float tensor, got " + dtype_name(x.type()));
  return Status();
}

// ---- NonMaxSuppression ----------------------------------------------------------------

Status op_nms(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue &boxes = *in[0], &scores = *in[1];
  if (boxes.rank() != 3 || boxes.shape()[2] != 4 || scores.rank() != 3 || scores.shape()[0] != boxes.shape()[0] || scores.shape()[2] != boxes.shape()[1])
    return ctx.error("expects boxes [B, N, 4] and scores [B, C, N]");
  int64_t max_out = 0;
  double iou_th = 0, score_th = -std::numeric_limits<double>::infinity();
  bool has_score_th = false;
  if (const OnnxValue* v = opt_in(in, 2)) {
    std::vector<int64_t> m;
    KILN_RETURN_IF_ERROR(v->to_int64s(&m));
    if (!m.empty()) max_out = m[0];
  }
  if (const OnnxValue* v = opt_in(in, 3)) iou_th = scalar_of(*v);
  if (const OnnxValue* v = opt_in(in, 4)) score_th = scalar_of(*v), has_score_th = true;
  const bool center = ctx.get_int("center_point_box", 0) != 0;
  const int64_t nb = boxes.shape()[0], nn = boxes.shape()[1], nc = scores.shape()[1];
  std::vector<double> bv, sv;
  KILN_RETURN_IF_ERROR(boxes.to_doubles(&bv));
  KILN_RETURN_IF_ERROR(scores.to_doubles(&sv));
  // Corners (y1, x1, y2, x2) with y1 <= y2, x1 <= x2.
  auto corners = [&](int64_t b, int64_t i, double* o) {
    const double* p = &bv[size_t((b * nn + i) * 4)];
    if (center) {
      o[1] = p[0] - p[2] / 2, o[3] = p[0] + p[2] / 2, o[0] = p[1] - p[3] / 2, o[2] = p[1] + p[3] / 2;
    } else {
      o[0] = std::min(p[0], p[2]), o[2] = std::max(p[0], p[2]), o[1] = std::min(p[1], p[3]), o[3] = std::max(p[1], p[3]);
    }
  };
  auto iou = [&](int64_t b, int64_t i, int64_t j) {
    double a[4], c[4];
    corners(b, i, a), corners(b, j, c);
    const double area_a = (a[2] - a[0]) * (a[3] - a[1]), area_c = (c[2] - c[0]) * (c[3] - c[1]);
    if (area_a <= 0 || area_c <= 0) return 0.0;
    const double ih = std::max(0.0, std::min(a[2], c[2]) - std::max(a[0], c[0]));
    const double iw = std::max(0.0, std::min(a[3], c[3]) - std::max(a[1], c[1]));
    const double inter = ih * iw;
    return inter / (area_a + area_c - inter);
  };
  std::vector<int64_t> sel;
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t cl = 0; cl < nc; ++cl) {
      const double* s = &sv[size_t((b * nc + cl) * nn)];
      std::vector<int64_t> order;
      for (int64_t i = 0; i < nn; ++i)
        if (!has_score_th || s[i] > score_th) order.push_back(i);
      std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return s[p] > s[q]; });
      std::vector<int64_t> kept;
      for (int64_t i : order) {
        if (int64_t(kept.size()) >= max_out) break;
        bool ok = true;
        for (int64_t k : kept)
          if (iou(b, i, k) > iou_th) { ok = false; break; }
        if (ok) kept.push_back(i);
      }
      for (int64_t k : kept) sel.insert(sel.end(), {b, cl, k});
    }
  KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kInt64, {int64_t(sel.size() / 3), 3}, &(*out)[0]));
  std::copy(sel.begin(), sel.end(), (*out)[0].data<int64_t>());
  return Status();
}

// SoftNonMaxSuppression (Kiln's own eager op, the ops API's
// nonMaxSuppressionWithScore with softNmsSigma > 0; Bodla et al. 2017):
// boxes [n, 4] as [y1, x1, y2, x2] (corners in any order), scores [n], and
// float64 scalars iou_threshold, score_threshold, sigma; attribute
// max_output_size. The best remaining box is kept when no kept box overlaps
// it by iou_threshold or more; each kept box it meets scales its score by
// exp(-iou^2 / (2 sigma)), and a box whose score dropped goes back into the
// queue, out if it reaches score_threshold. Ties go to the lower index.
// Outputs: the kept indices (int32) and their scores (float32), in order.
double corner_iou(const float* a, const float* b) {
  const double ay0 = std::min(a[0], a[2]), ax0 = std::min(a[1], a[3]), ay1 = std::max(a[0], a[2]), ax1 = std::max(a[1], a[3]);
  const double by0 = std::min(b[0], b[2]), bx0 = std::min(b[1], b[3]), by1 = std::max(b[0], b[2]), bx1 = std::max(b[1], b[3]);
  const double area_a = (ay1 - ay0) * (ax1 - ax0), area_b = (by1 - by0) * (bx1 - bx0);
  if (area_a <= 0 || area_b <= 0) return 0.0;
  const double inter = std::max(std::min(ay1, by1) - std::max(ay0, by0), 0.0) * std::max(std::min(ax1, bx1) - std::max(ax0, bx0), 0.0);
  return inter / (area_a + area_b - inter);
}

Status op_soft_nms(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  for (size_t i = 0; i < 5; ++i) KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  const OnnxValue &boxes = *in[0], &scores = *in[1];
  if (boxes.type() != DataType::kFloat32 || scores.type() != DataType::kFloat32 || boxes.rank() != 2 || boxes.shape()[1] != 4 ||
      scores.rank() != 1 || scores.shape()[0] != boxes.shape()[0])
    return ctx.error("takes float32 boxes [n, 4] and scores [n]");
  double params[3];
  for (int k = 0; k < 3; ++k) {
    const OnnxValue& v = *in[size_t(2 + k)];
    if (v.type() != DataType::kFloat64 || v.numel() != 1) return ctx.error("iou_threshold, score_threshold and sigma are float64 scalars");
    params[k] = v.data<double>()[0];
  }
  const double iou_threshold = params[0], score_threshold = params[1], sigma = params[2];
  const int64_t max_out = ctx.get_int("max_output_size", 0);
  if (max_out < 0 || !(sigma > 0)) return ctx.error("needs max_output_size >= 0 and sigma > 0");
  const double scale = -0.5 / sigma;
  struct Candidate {
    double score;
    int64_t index, checked;  // kept boxes before `checked` have already scaled the score
  };
  // Best last: a vector kept sorted, popped from the back.
  const auto before = [](const Candidate& a, const Candidate& b) { return a.score != b.score ? a.score < b.score : a.index > b.index; };
  std::vector<Candidate> queue;
  const int64_t n = boxes.shape()[0];
  const float* bx = boxes.data<float>();
  for (int64_t i = 0; i < n; ++i)
    if (double(scores.data<float>()[i]) > score_threshold) queue.push_back({double(scores.data<float>()[i]), i, 0});
  std::stable_sort(queue.begin(), queue.end(), before);
  std::vector<int64_t> kept;
  std::vector<double> kept_scores;
  while (int64_t(kept.size()) < max_out && !queue.empty()) {
    Candidate c = queue.back();
    queue.pop_back();
    const double original = c.score;
    if (original < score_threshold) break;
    bool suppressed = false;
    for (int64_t j = int64_t(kept.size()) - 1; j >= c.checked; --j) {
      const double iou = corner_iou(bx + 4 * c.index, bx + 4 * kept[size_t(j)]);
      if (iou >= iou_threshold) {
        suppressed = true;
        break;
      }
      c.score *= std::exp(scale * iou * iou);
      if (c.score <= score_threshold) break;
    }
    c.checked = int64_t(kept.size());
    if (suppressed) continue;
    if (c.score == original) {
      kept.push_back(c.index);
      kept_scores.push_back(c.score);
    } else if (c.score > score_threshold) {
      queue.insert(std::upper_bound(queue.begin(), queue.end(), c, before), c);
    }
  }
  const int64_t k = int64_t(kept.size());
  KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kInt32, {k}, &(*out)[0]));
  KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kFloat32, {k}, &(*out)[1]));
  for (int64_t i = 0; i < k; ++i) {
    (*out)[0].data<int32_t>()[i] = int32_t(kept[size_t(i)]);
    (*out)[1].data<float>()[i] = float(kept_scores[size_t(i)]);
  }
  return Status();
}

const OnnxOpEntry kKilnOps[] = {{"SoftNonMaxSuppression", op_soft_nms, false}};

const OnnxOpEntry kOps[] = {
    {"GridSample", op_grid_sample},
    {"RoiAlign", op_roi_align},
    {"NonMaxSuppression", op_nms},
};

}  // namespace

OnnxOpTable onnx_vision_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }
OnnxOpTable kiln_vision_ops() { return {kKilnOps, sizeof(kKilnOps) / sizeof(kKilnOps[0])}; }

}  // namespace kiln
