#!/usr/bin/python3
"""Writes tests/fixtures/layers_simple/*.txt: PyTorch reference numbers for the
simple layers (reshaping, merge, advanced activations, Embedding), read by
tests/cpp/simple_layers_test.cc.

Run with a Python that has torch (Debian's /usr/bin/python3 here):
    /usr/bin/python3 scripts/make_layer_fixtures_simple.py

Each case applies one layer (TF.js className and config) to seeded random
float32 inputs and records, computed in float64 from those float32 values:
the output y, a random cotangent r, and the gradients of sum(y * r) with
respect to every differentiable input (dx<i>) and weight (dw<k>). Weights use
Kiln's (TF.js's) layouts: PReLU alpha is shaped like a sample with 1 on shared
axes, Embedding's matrix is [inputDim, outputDim].

TF.js semantics, where PyTorch has no identical op, are written out here:
  * UpSampling2D bilinear is tf.image.resizeBilinear with alignCorners and
    halfPixelCenters false (source row y / size; rows past the end repeat the
    last), not torch's half-pixel interpolate;
  * Dot normalizes with v / sqrt(max(sum v^2, 1e-7)) and contracts one axis of
    each input per sample (TF.js batchDot);
  * ReLU is Keras's relu(x, negativeSlope, maxValue, threshold);
  * Maximum/Minimum inputs and activation inputs are kept at least 0.05 away
    from ties and kinks, so the gradients (and finite differences) are defined.

File format: see scripts/layer_fixture_io.py.
"""
import os
import sys

import torch

sys.dont_write_bytecode = True  # importing the helper leaves no scripts/__pycache__
from layer_fixture_io import write_case, write_index

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "layers_simple")


def away_from(x, points, gap=0.05):
    """Moves elements of x within `gap` of any kink point to 2*gap beyond it."""
    x = x.clone()
    for p in points:
        d = x - p
        near = d.abs() < gap
        x[near] = p + torch.where(d[near] >= 0, 2 * gap, -2 * gap).to(x.dtype)
    return x


def separate(xs, gap=0.05):
    """Makes inputs differ elementwise by at least `gap` (no ties for max/min)."""
    xs = [x.clone() for x in xs]
    for _ in range(100):
        changed = False
        for i in range(len(xs)):
            for j in range(i):
                near = (xs[i] - xs[j]).abs() < gap
                if near.any():
                    xs[i][near] += 3 * gap
                    changed = True
        if not changed:
            return xs
    raise RuntimeError("could not separate inputs")


# --- reference functions (float64 tensors, batch first) ---------------------

def bilinear_tfjs(x, sh, sw):
    """x: [N, H, W, C] -> [N, H*sh, W*sw, C] like tf.image.resizeBilinear(alignCorners=false, halfPixelCenters=false)."""
    n, h, w, c = x.shape

    def taps(size, s):
        o = torch.arange(size * s)
        lo = o // s
        hi = torch.clamp(lo + 1, max=size - 1)
        frac = (o % s).double() / s
        return lo, hi, frac

    ylo, yhi, fy = taps(h, sh)
    xlo, xhi, fx = taps(w, sw)
    top, bot = x[:, ylo], x[:, yhi]
    tl, tr, bl, br = top[:, :, xlo], top[:, :, xhi], bot[:, :, xlo], bot[:, :, xhi]
    fx = fx.view(1, 1, -1, 1)
    fy = fy.view(1, -1, 1, 1)
    t = tl + (tr - tl) * fx
    b = bl + (br - bl) * fx
    return t + (b - t) * fy


def l2n(v, axis):
    return v / torch.sqrt(torch.clamp((v * v).sum(axis, keepdim=True), min=1e-7))


def keras_relu(x, slope=0.0, max_value=None, threshold=0.0):
    if threshold != 0:
        pos = x * (x > threshold).double()
    else:
        pos = torch.relu(x)
    if max_value is not None:
        pos = torch.clamp(pos, 0.0, max_value)
    neg = torch.relu(threshold - x) if slope != 0 else torch.zeros_like(x)
    return pos - slope * neg


def batch_dot(x, y, ax, ay):
    """Contract x's axis ax with y's axis ay per sample: x's other axes, then y's."""
    xm = torch.movedim(x, ax, -1)  # [B, ...xr, K]
    ym = torch.movedim(y, ay, 1)   # [B, K, ...yr]
    b, k = x.shape[0], x.shape[ax]
    xr, yr = xm.shape[1:-1], ym.shape[2:]
    out = torch.bmm(xm.reshape(b, -1, k), ym.reshape(b, k, -1)).reshape(b, *xr, *yr)
    if out.dim() == 1:
        out = out.reshape(b, 1)
    return out


# --- cases ------------------------------------------------------------------
# (name, className, config, batch, input shapes (batch excluded), weight shapes, fn(xs, ws) -> y,
#  options: kinks (activation inputs kept away from them), separate (max/min), indices (Embedding))
def cases():
    c = []
    add = lambda *a, **k: c.append((a, k))
    # reshaping
    add("flatten", "Flatten", {}, 2, [[3, 2, 4]], [], lambda x, w: x[0].reshape(2, -1))
    add("flatten_cf", "Flatten", {"dataFormat": "channelsFirst"}, 2, [[3, 2, 4]], [],
        lambda x, w: x[0].permute(0, 2, 3, 1).reshape(2, -1))
    add("reshape", "Reshape", {"targetShape": [4, -1]}, 2, [[2, 3, 4]], [], lambda x, w: x[0].reshape(2, 4, 6))
    add("permute", "Permute", {"dims": [3, 1, 2]}, 2, [[2, 3, 4]], [], lambda x, w: x[0].permute(0, 3, 1, 2))
    add("repeat_vector", "RepeatVector", {"n": 3}, 2, [[5]], [], lambda x, w: x[0].unsqueeze(1).repeat(1, 3, 1))
    add("cropping1d", "Cropping1D", {"cropping": [1, 2]}, 2, [[6, 3]], [], lambda x, w: x[0][:, 1:4, :])
    add("cropping2d", "Cropping2D", {"cropping": [[1, 0], [2, 1]]}, 2, [[5, 6, 2]], [], lambda x, w: x[0][:, 1:5, 2:5, :])
    add("cropping2d_cf", "Cropping2D", {"cropping": [1, 2], "dataFormat": "channelsFirst"}, 2, [[2, 5, 6]], [],
        lambda x, w: x[0][:, :, 1:4, 2:4])
    add("zero_padding1d", "ZeroPadding1D", {"padding": [2, 1]}, 2, [[4, 3]], [],
        lambda x, w: torch.nn.functional.pad(x[0], (0, 0, 2, 1)))
    add("zero_padding2d", "ZeroPadding2D", {"padding": [[1, 2], [0, 1]]}, 2, [[3, 4, 2]], [],
        lambda x, w: torch.nn.functional.pad(x[0], (0, 0, 0, 1, 1, 2)))
    add("zero_padding2d_cf", "ZeroPadding2D", {"padding": 1, "dataFormat": "channelsFirst"}, 2, [[2, 3, 3]], [],
        lambda x, w: torch.nn.functional.pad(x[0], (1, 1, 1, 1)))
    add("up_sampling1d", "UpSampling1D", {"size": 3}, 2, [[4, 2]], [], lambda x, w: x[0].repeat_interleave(3, dim=1))
    add("up_sampling2d", "UpSampling2D", {"size": [2, 3]}, 2, [[3, 2, 2]], [],
        lambda x, w: x[0].repeat_interleave(2, dim=1).repeat_interleave(3, dim=2))
    add("up_sampling2d_cf", "UpSampling2D", {"size": 2, "dataFormat": "channelsFirst"}, 2, [[2, 2, 3]], [],
        lambda x, w: x[0].repeat_interleave(2, dim=2).repeat_interleave(2, dim=3))
    add("up_sampling2d_bilinear", "UpSampling2D", {"size": [2, 3], "interpolation": "bilinear"}, 2, [[3, 4, 2]], [],
        lambda x, w: bilinear_tfjs(x[0], 2, 3))
    add("up_sampling2d_bilinear_cf", "UpSampling2D",
        {"size": [3, 2], "interpolation": "bilinear", "dataFormat": "channelsFirst"}, 2, [[2, 3, 4]], [],
        lambda x, w: bilinear_tfjs(x[0].permute(0, 2, 3, 1), 3, 2).permute(0, 3, 1, 2))
    # merge
    add("add3", "Add", {}, 3, [[3, 4]] * 3, [], lambda x, w: x[0] + x[1] + x[2])
    add("subtract", "Subtract", {}, 2, [[2, 3, 2]] * 2, [], lambda x, w: x[0] - x[1])
    add("multiply3", "Multiply", {}, 3, [[4, 3]] * 3, [], lambda x, w: x[0] * x[1] * x[2])
    add("average", "Average", {}, 3, [[5]] * 2, [], lambda x, w: (x[0] + x[1]) / 2)
    add("maximum3", "Maximum", {}, 3, [[4, 3]] * 3, [], lambda x, w: torch.maximum(torch.maximum(x[0], x[1]), x[2]),
        separate=True)
    add("minimum", "Minimum", {}, 3, [[6]] * 2, [], lambda x, w: torch.minimum(x[0], x[1]), separate=True)
    add("concatenate", "Concatenate", {}, 2, [[3, 2], [3, 4]], [], lambda x, w: torch.cat(x, -1))
    add("concatenate_axis1", "Concatenate", {"axis": 1}, 2, [[2, 4], [3, 4], [1, 4]], [], lambda x, w: torch.cat(x, 1))
    add("dot_2d", "Dot", {"axes": 1}, 3, [[5], [5]], [], lambda x, w: batch_dot(x[0], x[1], 1, 1))
    add("dot_3d_normalize", "Dot", {"axes": [2, 2], "normalize": True}, 2, [[3, 4], [2, 4]], [],
        lambda x, w: batch_dot(l2n(x[0], 2), l2n(x[1], 2), 2, 2))
    add("dot_3d_2d", "Dot", {"axes": [1, 1]}, 2, [[4, 3], [4]], [], lambda x, w: batch_dot(x[0], x[1], 1, 1))
    add("dot_3d_3d", "Dot", {"axes": [-1, 1]}, 2, [[3, 4], [4, 2]], [], lambda x, w: batch_dot(x[0], x[1], 2, 1))
    add("dot_2d_3d_normalize", "Dot", {"axes": [1, 2], "normalize": True}, 2, [[3], [2, 3]], [],
        lambda x, w: batch_dot(l2n(x[0], 1), l2n(x[1], 2), 1, 2))
    # advanced activations
    add("relu", "ReLU", {}, 3, [[4, 5]], [], lambda x, w: keras_relu(x[0]), kinks=[0.0])
    add("relu_params", "ReLU", {"maxValue": 1.2, "negativeSlope": 0.1, "threshold": 0.3}, 3, [[4, 5]], [],
        lambda x, w: keras_relu(x[0], 0.1, 1.2, 0.3), kinks=[0.0, 0.3, 1.2])
    add("relu_negative_threshold", "ReLU", {"negativeSlope": 0.2, "threshold": -0.5}, 3, [[4, 5]], [],
        lambda x, w: keras_relu(x[0], 0.2, None, -0.5), kinks=[-0.5])
    add("relu_max", "ReLU", {"maxValue": 0.8}, 3, [[4, 5]], [], lambda x, w: keras_relu(x[0], 0.0, 0.8), kinks=[0.0, 0.8])
    add("leaky_relu", "LeakyReLU", {}, 3, [[4, 5]], [], lambda x, w: torch.where(x[0] < 0, 0.3 * x[0], x[0]), kinks=[0.0])
    add("leaky_relu_alpha", "LeakyReLU", {"alpha": 0.05}, 3, [[7]], [],
        lambda x, w: torch.where(x[0] < 0, 0.05 * x[0], x[0]), kinks=[0.0])
    add("prelu", "PReLU", {}, 3, [[3, 4]], [[3, 4]], lambda x, w: torch.where(x[0] < 0, w[0] * x[0], x[0]), kinks=[0.0])
    add("prelu_shared", "PReLU", {"sharedAxes": [1, 2]}, 3, [[3, 4, 2]], [[1, 1, 2]],
        lambda x, w: torch.where(x[0] < 0, w[0] * x[0], x[0]), kinks=[0.0])
    add("elu", "ELU", {}, 3, [[4, 5]], [], lambda x, w: torch.where(x[0] > 0, x[0], torch.expm1(x[0])), kinks=[0.0])
    add("elu_alpha", "ELU", {"alpha": 0.5}, 3, [[4, 5]], [],
        lambda x, w: torch.where(x[0] > 0, x[0], 0.5 * torch.expm1(x[0])), kinks=[0.0])
    add("thresholded_relu", "ThresholdedReLU", {"theta": 0.5}, 3, [[4, 5]], [],
        lambda x, w: x[0] * (x[0] > 0.5).double(), kinks=[0.5])
    add("thresholded_relu_default", "ThresholdedReLU", {}, 3, [[4, 5]], [],
        lambda x, w: x[0] * (x[0] > 1.0).double(), kinks=[1.0])
    add("softmax", "Softmax", {}, 3, [[3, 4]], [], lambda x, w: torch.softmax(x[0], -1))
    add("softmax_axis1", "Softmax", {"axis": 1}, 3, [[3, 4]], [], lambda x, w: torch.softmax(x[0], 1))
    add("softmax_axis2_rank4", "Softmax", {"axis": [2]}, 2, [[2, 3, 4]], [], lambda x, w: torch.softmax(x[0], 2))
    # embedding
    add("embedding", "Embedding", {"inputDim": 7, "outputDim": 3}, 3, [[4]], [[7, 3]],
        lambda x, w: w[0][x[0].long()], indices=7)
    add("embedding_2d", "Embedding", {"inputDim": 5, "outputDim": 2, "inputLength": 3}, 2, [[2, 3]], [[5, 2]],
        lambda x, w: w[0][x[0].long()], indices=5)
    return c


def main():
    os.makedirs(OUT, exist_ok=True)
    names = []
    for i, (args, opts) in enumerate(cases()):
        name, cls, config, batch, in_shapes, w_shapes, fn = args
        g = torch.Generator().manual_seed(1000 + i)
        xs = [torch.randn([batch] + s, generator=g, dtype=torch.float32) for s in in_shapes]
        if "indices" in opts:
            xs = [torch.randint(0, opts["indices"], [batch] + s, generator=g).float() for s in in_shapes]
        if "kinks" in opts:
            xs = [away_from(x, opts["kinks"]) for x in xs]
        if opts.get("separate"):
            xs = separate(xs)
        ws = [(torch.rand(s, generator=g, dtype=torch.float32) * 0.8 - 0.4) if cls == "PReLU"
              else torch.randn(s, generator=g, dtype=torch.float32) for s in w_shapes]
        write_case(OUT, "scripts/make_layer_fixtures_simple.py", name, cls, config, batch, in_shapes, xs, ws, fn, g,
                   differentiable="indices" not in opts)
        names.append(name)
    write_index(OUT, names)


if __name__ == "__main__":
    main()
