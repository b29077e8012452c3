#include "ops/dot.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/shape.h"
#include "core/thread_pool.h"

namespace kiln {

namespace {
constexpr double kNormEpsilon = 1e-7;  // TF.js epsilon(), as in its l2Normalize

// An input seen as [B, P, K, Q] around its contracted axis.
struct DotView {
  int64_t p, k, q;
};
DotView dot_view(const Shape& s, int axis) {
  return {dims_product(s, 1, size_t(axis)), s[size_t(axis)], dims_product(s, size_t(axis) + 1, s.size())};
}

// Copies batch item b of an input into rows [P*Q, K] (row i = p * Q + q),
// L2-normalizing each row when asked; norms[i] gets the divisor (or 1) and
// clamped[i] whether the epsilon floor applied.
void gather_rows(const float* x, const DotView& v, int64_t b, bool normalize, float* rows, float* norms, uint8_t* clamped) {
  const float* xb = x + b * v.p * v.k * v.q;
  for (int64_t p = 0; p < v.p; ++p)
    for (int64_t q = 0; q < v.q; ++q) {
      const int64_t i = p * v.q + q;
      float* r = rows + i * v.k;
      for (int64_t k = 0; k < v.k; ++k) r[k] = xb[(p * v.k + k) * v.q + q];
      norms[i] = 1.0f;
      clamped[i] = 0;
      if (!normalize) continue;
      double ss = 0;
      for (int64_t k = 0; k < v.k; ++k) ss += double(r[k]) * double(r[k]);
      clamped[i] = ss < kNormEpsilon ? 1 : 0;
      const float n = float(std::sqrt(std::max(ss, kNormEpsilon)));
      norms[i] = n;
      for (int64_t k = 0; k < v.k; ++k) r[k] /= n;
    }
}

// The gradient through the normalization of rows [P*Q, K] (in place in dr),
// then scattered back into the input's layout.
void scatter_rows(float* dr, const float* rows, const float* norms, const uint8_t* clamped, const DotView& v, int64_t b,
                  bool normalize, float* dx) {
  float* db = dx + b * v.p * v.k * v.q;
  for (int64_t p = 0; p < v.p; ++p)
    for (int64_t q = 0; q < v.q; ++q) {
      const int64_t i = p * v.q + q;
      float* g = dr + i * v.k;
      if (normalize) {
        const float* r = rows + i * v.k;
        double dotp = 0;
        if (!clamped[i])
          for (int64_t k = 0; k < v.k; ++k) dotp += double(g[k]) * double(r[k]);
        for (int64_t k = 0; k < v.k; ++k) g[k] = (g[k] - float(dotp) * r[k]) / norms[i];
      }
      for (int64_t k = 0; k < v.k; ++k) db[(p * v.k + k) * v.q + q] = g[k];
    }
}
}  // namespace

Status DotOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 2) return Status::error("Dot takes two inputs");
  const Shape &x = in[0], &y = in[1];
  if (x.size() < 2 || y.size() < 2 || x[0] != y[0])
    return Status::error("Dot: inputs must be [batch, ...] with the same batch, got " + shape_to_string(x) + " and " + shape_to_string(y));
  if (ax_ < 1 || size_t(ax_) >= x.size() || ay_ < 1 || size_t(ay_) >= y.size())
    return Status::error("Dot: axes out of range for " + shape_to_string(x) + " and " + shape_to_string(y));
  if (x[size_t(ax_)] != y[size_t(ay_)])
    return Status::error("Dot: dimension incompatibility: " + std::to_string(x[size_t(ax_)]) + " (axis " + std::to_string(ax_) +
                         " of " + shape_to_string(x) + ") != " + std::to_string(y[size_t(ay_)]) + " (axis " + std::to_string(ay_) +
                         " of " + shape_to_string(y) + ")");
  Shape s = {x[0]};
  for (size_t d = 1; d < x.size(); ++d)
    if (d != size_t(ax_)) s.push_back(x[d]);
  for (size_t d = 1; d < y.size(); ++d)
    if (d != size_t(ay_)) s.push_back(y[d]);
  if (s.size() == 1) s.push_back(1);
  *out = {s};
  return Status();
}

void DotOp::forward(const OpForwardArgs& a) const {
  const DotView vx = dot_view(a.in_shapes[0], ax_), vy = dot_view(a.in_shapes[1], ay_);
  const int64_t batch = a.in_shapes[0][0], m = vx.p * vx.q, n = vy.p * vy.q, k = vx.k;
  parallel_range(batch, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> xr(static_cast<size_t>(m * k)), yr(static_cast<size_t>(n * k)), nx(static_cast<size_t>(m)), ny(static_cast<size_t>(n));
    std::vector<uint8_t> cx(static_cast<size_t>(m)), cy(static_cast<size_t>(n));
    for (int64_t b = begin; b < end; ++b) {
      gather_rows(a.in[0], vx, b, normalize_, xr.data(), nx.data(), cx.data());
      gather_rows(a.in[1], vy, b, normalize_, yr.data(), ny.data(), cy.data());
      float* o = a.out[0] + b * m * n;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          const float* xi = xr.data() + i * k;
          const float* yj = yr.data() + j * k;
          float s = 0;
          for (int64_t t = 0; t < k; ++t) s += xi[t] * yj[t];
          o[i * n + j] = s;
        }
    }
  });
}

void DotOp::backward(const OpBackwardArgs& a) const {
  const DotView vx = dot_view(a.in_shapes[0], ax_), vy = dot_view(a.in_shapes[1], ay_);
  const int64_t batch = a.in_shapes[0][0], m = vx.p * vx.q, n = vy.p * vy.q, k = vx.k;
  parallel_range(batch, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> xr(static_cast<size_t>(m * k)), yr(static_cast<size_t>(n * k)), nx(static_cast<size_t>(m)), ny(static_cast<size_t>(n)), dxr(static_cast<size_t>(m * k)), dyr(static_cast<size_t>(n * k));
    std::vector<uint8_t> cx(static_cast<size_t>(m)), cy(static_cast<size_t>(n));
    for (int64_t b = begin; b < end; ++b) {
      gather_rows(a.in[0], vx, b, normalize_, xr.data(), nx.data(), cx.data());
      gather_rows(a.in[1], vy, b, normalize_, yr.data(), ny.data(), cy.data());
      const float* g = a.dout[0] + b * m * n;
      if (a.din[0]) {  // dX[i] = sum_j g[i, j] Y[j]
        std::fill(dxr.begin(), dxr.end(), 0.0f);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            const float gij = g[i * n + j];
            const float* yj = yr.data() + j * k;
            float* d = dxr.data() + i * k;
            for (int64_t t = 0; t < k; ++t) d[t] += gij * yj[t];
          }
        scatter_rows(dxr.data(), xr.data(), nx.data(), cx.data(), vx, b, normalize_, a.din[0]);
      }
      if (a.din[1]) {  // dY[j] = sum_i g[i, j] X[i]
        std::fill(dyr.begin(), dyr.end(), 0.0f);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            const float gij = g[i * n + j];
            const float* xi = xr.data() + i * k;
            float* d = dyr.data() + j * k;
            for (int64_t t = 0; t < k; ++t) d[t] += gij * xi[t];
          }
        scatter_rows(dyr.data(), yr.data(), ny.data(), cy.data(), vy, b, normalize_, a.din[1]);
      }
    }
  });
}

}  // namespace kiln
