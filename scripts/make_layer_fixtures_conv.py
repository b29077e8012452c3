#!/usr/bin/python3
"""Writes tests/fixtures/layers_conv/*.txt: PyTorch reference numbers for the
convolution, pooling and normalization layers, read by
tests/cpp/conv_layers_torch_test.cc.

Run with a Python that has torch (Debian's /usr/bin/python3 here):
    /usr/bin/python3 scripts/make_layer_fixtures_conv.py

Inputs are channels-last and weights use TF.js's layouts (Conv2D kernel
[kh, kw, in/groups, filters], DepthwiseConv2D [kh, kw, in, mult], separable
pointwise [1, 1, in*mult, filters], Conv2DTranspose [kh, kw, filters, in]);
they are permuted to torch's layouts here. TF.js semantics written out:
  * 'same' padding: out = ceil(in / stride), total padding
    max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0), the odd one at
    the end; applied with F.pad, not torch's own 'same' (symmetric, stride 1);
  * Conv2DTranspose is the gradient of a conv with the same arguments: output
    in * stride (+ max(k - stride, 0) when 'valid'), cropped by the forward
    conv's leading 'same' padding;
  * max pooling 'same' pads with -inf; average pooling 'same' divides by the
    number of real cells in the window;
  * BatchNormalization in training normalizes with the batch's mean and biased
    variance over all axes but the last and moves the moving statistics:
    moving = moving * momentum + batch * (1 - momentum); at inference it uses
    the moving statistics (not trainable: no gradients);
  * LayerNormalization normalizes each position over the last axis.
Max pooling inputs are a permutation of well-separated values, so every
window's maximum is unique.

File format: see scripts/layer_fixture_io.py.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # importing the helper leaves no scripts/__pycache__
from layer_fixture_io import write_case, write_index

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "layers_conv")
SCRIPT = "scripts/make_layer_fixtures_conv.py"


# --- reference functions (float64, channels last) ----------------------------

def pair(v):
    return list(v) if isinstance(v, (list, tuple)) else [v, v]


def same_pads(size, k, s, d=1):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def pad_hw(x, k, s, d=(1, 1), value=0.0):
    """TF 'same' padding of NHWC x for a k window, strides s and dilation d."""
    ph = same_pads(x.shape[1], k[0], s[0], d[0])
    pw = same_pads(x.shape[2], k[1], s[1], d[1])
    return F.pad(x, (0, 0, pw[0], pw[1], ph[0], ph[1]), value=value)


ACT = {"linear": lambda v: v, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def conv_nhwc(x, w, s, padding, d=(1, 1), groups=1):
    """x NHWC, w torch layout [out, in/groups, kh, kw]."""
    if padding == "same":
        x = pad_hw(x, w.shape[2:], s, d)
    y = F.conv2d(x.permute(0, 3, 1, 2), w, stride=s, dilation=d, groups=groups)
    return y.permute(0, 2, 3, 1)


def conv2d(cfg, rank=2):
    """Conv1D / Conv2D: weights kernel [(kh,) kw, in/groups, filters] (+ bias)."""
    s = pair(cfg.get("strides", 1)) if rank == 2 else [1, cfg.get("strides", 1)]
    d = pair(cfg.get("dilationRate", 1)) if rank == 2 else [1, cfg.get("dilationRate", 1)]

    def fn(x, w):
        xi, k = x[0], w[0]
        if rank == 1:
            xi, k = xi.unsqueeze(1), k.unsqueeze(0)
        y = conv_nhwc(xi, k.permute(3, 2, 0, 1), s, cfg.get("padding", "valid"), d, cfg.get("groups", 1))
        if cfg.get("useBias", True):
            y = y + w[1]
        y = ACT[cfg.get("activation", "linear")](y)
        return y.squeeze(1) if rank == 1 else y
    return fn


def depthwise(x, k, s, padding, d):
    """k: [kh, kw, in, mult] -> output channel c * mult + m."""
    kh, kw, c, m = k.shape
    return conv_nhwc(x, k.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw), s, padding, d, groups=c)


def depthwise_conv2d(cfg):
    def fn(x, w):
        y = depthwise(x[0], w[0], pair(cfg.get("strides", 1)), cfg.get("padding", "valid"), pair(cfg.get("dilationRate", 1)))
        if cfg.get("useBias", True):
            y = y + w[1]
        return ACT[cfg.get("activation", "linear")](y)
    return fn


def separable_conv2d(cfg):
    def fn(x, w):
        y = depthwise(x[0], w[0], pair(cfg.get("strides", 1)), cfg.get("padding", "valid"), pair(cfg.get("dilationRate", 1)))
        y = conv_nhwc(y, w[1].permute(3, 2, 0, 1), [1, 1], "valid")
        if cfg.get("useBias", True):
            y = y + w[2]
        return ACT[cfg.get("activation", "linear")](y)
    return fn


def conv2d_transpose(cfg):
    """kernel [kh, kw, filters, in]; the data gradient of the matching conv."""
    k, s = pair(cfg["kernelSize"]), pair(cfg.get("strides", 1))
    same = cfg.get("padding", "valid") == "same"

    def fn(x, w):
        xi = x[0]
        y = F.conv_transpose2d(xi.permute(0, 3, 1, 2), w[0].permute(3, 2, 0, 1), stride=s).permute(0, 2, 3, 1)
        for axis in (1, 2):
            i = axis - 1
            n_in = xi.shape[axis]
            want = n_in * s[i] + (0 if same else max(k[i] - s[i], 0))
            start = same_pads(want, k[i], s[i])[0] if same else 0
            if y.shape[axis] < start + want:  # rows no window reaches (k < stride): zeros
                pad = [0, 0, 0, 0]
                pad[2 * (2 - axis) + 1] = start + want - y.shape[axis]
                y = F.pad(y, [0, 0] + pad)
            y = y.narrow(axis, start, want)
        if cfg.get("useBias", True):
            y = y + w[1]
        return ACT[cfg.get("activation", "linear")](y)
    return fn


def pool(cfg, kind, rank):
    if rank == 1:
        p = [1, cfg.get("poolSize", 2)]
        st = [1, cfg.get("strides", p[1])]
    else:
        p = pair(cfg.get("poolSize", 2))
        st = pair(cfg.get("strides", p))
    same = cfg.get("padding", "valid") == "same"

    def fn(x, w):
        xi = x[0].unsqueeze(1) if rank == 1 else x[0]
        if kind == "max":
            if same:
                xi = pad_hw(xi, p, st, value=float("-inf"))
            y = F.max_pool2d(xi.permute(0, 3, 1, 2), p, st)
        else:
            ones = torch.ones_like(xi[..., :1])
            if same:
                xi, ones = pad_hw(xi, p, st), pad_hw(ones, p, st)
            total = F.avg_pool2d(xi.permute(0, 3, 1, 2), p, st, divisor_override=1)
            count = F.avg_pool2d(ones.permute(0, 3, 1, 2), p, st, divisor_override=1)
            y = total / count
        y = y.permute(0, 2, 3, 1)
        return y.squeeze(1) if rank == 1 else y
    return fn


def triple(v):
    return list(v) if isinstance(v, (list, tuple)) else [v, v, v]


def pad_dhw(x, k, s, d=(1, 1, 1), value=0.0):
    """TF 'same' padding of NDHWC x."""
    pads = [same_pads(x.shape[1 + i], k[i], s[i], d[i]) for i in range(3)]
    return F.pad(x, (0, 0, pads[2][0], pads[2][1], pads[1][0], pads[1][1], pads[0][0], pads[0][1]), value=value)


def conv3d(cfg):
    """Conv3D: kernel [kd, kh, kw, in, filters] (+ bias)."""
    s, d = triple(cfg.get("strides", 1)), triple(cfg.get("dilationRate", 1))

    def fn(x, w):
        xi = x[0]
        if cfg.get("padding", "valid") == "same":
            xi = pad_dhw(xi, triple(cfg["kernelSize"]), s, d)
        y = F.conv3d(xi.permute(0, 4, 1, 2, 3), w[0].permute(4, 3, 0, 1, 2), stride=s, dilation=d)
        y = y.permute(0, 2, 3, 4, 1)
        if cfg.get("useBias", True):
            y = y + w[1]
        return ACT[cfg.get("activation", "linear")](y)
    return fn


def conv3d_transpose(cfg):
    """Conv3DTranspose: kernel [kd, kh, kw, filters, in]; the data gradient of the matching conv."""
    k, s = triple(cfg["kernelSize"]), triple(cfg.get("strides", 1))
    same = cfg.get("padding", "valid") == "same"

    def fn(x, w):
        xi = x[0]
        y = F.conv_transpose3d(xi.permute(0, 4, 1, 2, 3), w[0].permute(4, 3, 0, 1, 2), stride=s).permute(0, 2, 3, 4, 1)
        for axis in (1, 2, 3):
            i = axis - 1
            want = xi.shape[axis] * s[i] + (0 if same else max(k[i] - s[i], 0))
            start = same_pads(want, k[i], s[i])[0] if same else 0
            if y.shape[axis] < start + want:  # cells no window reaches (k < stride): zeros
                extra = list(y.shape)
                extra[axis] = start + want - y.shape[axis]
                y = torch.cat([y, torch.zeros(extra, dtype=y.dtype)], axis)
            y = y.narrow(axis, start, want)
        if cfg.get("useBias", True):
            y = y + w[1]
        return ACT[cfg.get("activation", "linear")](y)
    return fn


def pool3d(cfg, kind):
    p = triple(cfg.get("poolSize", 2))
    st = triple(cfg.get("strides", p))
    same = cfg.get("padding", "valid") == "same"

    def fn(x, w):
        xi = x[0]
        if kind == "max":
            if same:
                xi = pad_dhw(xi, p, st, value=float("-inf"))
            y = F.max_pool3d(xi.permute(0, 4, 1, 2, 3), p, st)
        else:
            ones = torch.ones_like(xi[..., :1])
            if same:
                xi, ones = pad_dhw(xi, p, st), pad_dhw(ones, p, st)
            total = F.avg_pool3d(xi.permute(0, 4, 1, 2, 3), p, st, divisor_override=1)
            count = F.avg_pool3d(ones.permute(0, 4, 1, 2, 3), p, st, divisor_override=1)
            y = total / count
        return y.permute(0, 2, 3, 4, 1)
    return fn


def global_pool(kind):
    def fn(x, w):
        axes = tuple(range(1, x[0].dim() - 1))
        return x[0].amax(axes) if kind == "max" else x[0].mean(axes)
    return fn


def batch_norm(cfg, training):
    """Weights: [gamma] [beta] moving_mean moving_variance."""
    eps, momentum = cfg.get("epsilon", 1e-3), cfg.get("momentum", 0.99)
    scale, center = cfg.get("scale", True), cfg.get("center", True)

    def fn(x, w):
        gamma = w[0] if scale else None
        beta = w[int(scale)] if center else None
        mi = int(scale) + int(center)
        mm, mv = w[mi], w[mi + 1]
        xi = x[0]
        if training:
            axes = tuple(range(xi.dim() - 1))
            mean = xi.mean(axes)
            var = ((xi - mean) ** 2).mean(axes)
        else:
            mean, var = mm, mv
        y = (xi - mean) / torch.sqrt(var + eps)
        if gamma is not None:
            y = y * gamma
        if beta is not None:
            y = y + beta
        if not training:
            return y
        after = {mi: mm * momentum + mean * (1 - momentum), mi + 1: mv * momentum + var * (1 - momentum)}
        return y, {k: v.detach() for k, v in after.items()}
    return fn


def layer_norm(cfg):
    eps = cfg.get("epsilon", 1e-3)
    scale, center = cfg.get("scale", True), cfg.get("center", True)

    def fn(x, w):
        xi = x[0]
        mean = xi.mean(-1, keepdim=True)
        var = ((xi - mean) ** 2).mean(-1, keepdim=True)
        y = (xi - mean) / torch.sqrt(var + eps)
        if scale:
            y = y * w[0]
        if center:
            y = y + w[int(scale)]
        return y
    return fn


# --- weight shapes (TF.js layouts, build() order) -----------------------------

def conv_weights(cls, cfg, in_shape):
    c = in_shape[-1]
    k = [cfg["kernelSize"]] if cls == "Conv1D" else triple(cfg["kernelSize"]) if "3D" in cls else pair(cfg["kernelSize"])
    bias = cfg.get("useBias", True)
    if cls in ("Conv1D", "Conv2D", "Conv3D"):
        ws = [k + [c // cfg.get("groups", 1), cfg["filters"]]]
        out_c = cfg["filters"]
    elif cls == "DepthwiseConv2D":
        m = cfg.get("depthMultiplier", 1)
        ws, out_c = [k + [c, m]], c * m
    elif cls == "SeparableConv2D":
        m = cfg.get("depthMultiplier", 1)
        ws, out_c = [k + [c, m], [1, 1, c * m, cfg["filters"]]], cfg["filters"]
    else:  # Conv2DTranspose, Conv3DTranspose
        ws, out_c = [k + [cfg["filters"], c]], cfg["filters"]
    return ws + ([[out_c]] if bias else [])


# --- cases --------------------------------------------------------------------
# (name, className, config, batch, input shape (batch excluded)); the reference
# function and the weight shapes follow from the class and config.
CONV = [
    ("conv1d_valid", "Conv1D", {"filters": 4, "kernelSize": 3}, 2, [9, 3]),
    ("conv1d_same_even_kernel", "Conv1D", {"filters": 3, "kernelSize": 4, "padding": "same"}, 3, [7, 2]),
    ("conv1d_strides2_same", "Conv1D", {"filters": 3, "kernelSize": 3, "strides": 2, "padding": "same"}, 2, [8, 3]),
    ("conv1d_strides2_valid", "Conv1D", {"filters": 2, "kernelSize": 3, "strides": 2}, 2, [9, 2]),
    ("conv1d_dilation2_same", "Conv1D", {"filters": 3, "kernelSize": 3, "dilationRate": 2, "padding": "same"}, 2, [9, 3]),
    ("conv1d_groups2_tanh", "Conv1D", {"filters": 6, "kernelSize": 2, "groups": 2, "activation": "tanh"}, 3, [7, 4]),
    ("conv2d_valid", "Conv2D", {"filters": 4, "kernelSize": 3}, 2, [6, 7, 3]),
    ("conv2d_same", "Conv2D", {"filters": 3, "kernelSize": 3, "padding": "same"}, 3, [5, 6, 2]),
    ("conv2d_same_stride2_even", "Conv2D", {"filters": 4, "kernelSize": 3, "strides": 2, "padding": "same"}, 2, [6, 8, 3]),
    ("conv2d_same_stride2_odd", "Conv2D", {"filters": 3, "kernelSize": [4, 2], "strides": 2, "padding": "same"}, 2, [7, 5, 2]),
    ("conv2d_same_strides_2_3", "Conv2D", {"filters": 2, "kernelSize": 3, "strides": [2, 3], "padding": "same"}, 2, [7, 8, 2]),
    ("conv2d_valid_stride2", "Conv2D", {"filters": 3, "kernelSize": 3, "strides": 2}, 2, [8, 7, 3]),
    ("conv2d_dilation2_same", "Conv2D", {"filters": 3, "kernelSize": 3, "dilationRate": 2, "padding": "same"}, 2, [7, 8, 2]),
    ("conv2d_dilation_2_1_valid", "Conv2D", {"filters": 2, "kernelSize": 2, "dilationRate": [2, 1]}, 2, [6, 5, 3]),
    ("conv2d_groups2", "Conv2D", {"filters": 6, "kernelSize": 3, "groups": 2, "padding": "same"}, 2, [5, 6, 4]),
    ("conv2d_kernel_2x3", "Conv2D", {"filters": 3, "kernelSize": [2, 3]}, 3, [5, 6, 3]),
    ("conv2d_no_bias_tanh", "Conv2D", {"filters": 4, "kernelSize": 3, "useBias": False, "activation": "tanh",
                                       "padding": "same"}, 2, [5, 5, 3]),
    ("conv2d_sigmoid", "Conv2D", {"filters": 3, "kernelSize": 2, "activation": "sigmoid"}, 2, [5, 4, 2]),
    ("conv2d_1x1", "Conv2D", {"filters": 5, "kernelSize": 1}, 3, [3, 4, 6]),
    ("depthwise_mult1_same", "DepthwiseConv2D", {"kernelSize": 3, "padding": "same"}, 2, [6, 5, 3]),
    ("depthwise_mult2_valid", "DepthwiseConv2D", {"kernelSize": 3, "depthMultiplier": 2}, 2, [6, 7, 2]),
    ("depthwise_mult2_stride2_same", "DepthwiseConv2D", {"kernelSize": 3, "depthMultiplier": 2, "strides": 2,
                                                         "padding": "same"}, 3, [7, 8, 3]),
    ("depthwise_dilation2_no_bias", "DepthwiseConv2D", {"kernelSize": [2, 3], "dilationRate": 2, "useBias": False,
                                                        "padding": "same", "activation": "tanh"}, 2, [6, 7, 2]),
    ("separable_same", "SeparableConv2D", {"filters": 4, "kernelSize": 3, "padding": "same"}, 2, [6, 5, 3]),
    ("separable_mult2_stride2", "SeparableConv2D", {"filters": 5, "kernelSize": 3, "depthMultiplier": 2, "strides": 2,
                                                    "padding": "same"}, 2, [7, 6, 2]),
    ("separable_valid_no_bias_tanh", "SeparableConv2D", {"filters": 3, "kernelSize": [3, 2], "useBias": False,
                                                         "activation": "tanh"}, 3, [5, 6, 2]),
    ("conv2d_transpose_valid_s2", "Conv2DTranspose", {"filters": 3, "kernelSize": 3, "strides": 2}, 2, [4, 5, 2]),
    ("conv2d_transpose_same_s2", "Conv2DTranspose", {"filters": 3, "kernelSize": 3, "strides": 2, "padding": "same"}, 2,
     [4, 5, 2]),
    ("conv2d_transpose_same_s2_k5x4", "Conv2DTranspose", {"filters": 2, "kernelSize": [5, 4], "strides": 2,
                                                          "padding": "same"}, 2, [3, 4, 3]),
    ("conv2d_transpose_same_s1", "Conv2DTranspose", {"filters": 4, "kernelSize": 3, "padding": "same"}, 2, [5, 4, 3]),
    ("conv2d_transpose_valid_k2x3", "Conv2DTranspose", {"filters": 2, "kernelSize": [2, 3], "activation": "tanh"}, 3,
     [4, 3, 2]),
    ("conv2d_transpose_valid_k2_s3", "Conv2DTranspose", {"filters": 2, "kernelSize": 2, "strides": 3}, 2, [3, 4, 2]),
]

POOL = [
    ("max_pooling1d_default", "MaxPooling1D", {}, 2, [7, 3]),
    ("max_pooling1d_valid_s2", "MaxPooling1D", {"poolSize": 3, "strides": 2}, 2, [9, 3]),
    ("max_pooling1d_same_s2", "MaxPooling1D", {"poolSize": 3, "strides": 2, "padding": "same"}, 3, [8, 2]),
    ("max_pooling2d_default", "MaxPooling2D", {}, 2, [5, 6, 2]),
    ("max_pooling2d_valid", "MaxPooling2D", {"poolSize": [3, 2], "strides": [2, 1]}, 2, [7, 6, 2]),
    ("max_pooling2d_same", "MaxPooling2D", {"poolSize": 3, "strides": 2, "padding": "same"}, 2, [6, 7, 3]),
    ("max_pooling2d_same_s1", "MaxPooling2D", {"poolSize": 2, "strides": 1, "padding": "same"}, 2, [5, 4, 2]),
    ("average_pooling1d_valid", "AveragePooling1D", {"poolSize": 3, "strides": 2}, 2, [9, 3]),
    ("average_pooling1d_same", "AveragePooling1D", {"poolSize": 3, "strides": 2, "padding": "same"}, 3, [8, 2]),
    ("average_pooling2d_default", "AveragePooling2D", {}, 2, [5, 7, 2]),
    ("average_pooling2d_valid", "AveragePooling2D", {"poolSize": [3, 2], "strides": [1, 2]}, 2, [6, 7, 3]),
    ("average_pooling2d_same", "AveragePooling2D", {"poolSize": 3, "strides": 2, "padding": "same"}, 2, [6, 7, 3]),
    ("average_pooling2d_same_s1", "AveragePooling2D", {"poolSize": [2, 3], "strides": 1, "padding": "same"}, 2, [5, 4, 2]),
    ("global_max_pooling1d", "GlobalMaxPooling1D", {}, 3, [6, 4]),
    ("global_max_pooling2d", "GlobalMaxPooling2D", {}, 2, [4, 5, 3]),
    ("global_average_pooling1d", "GlobalAveragePooling1D", {}, 3, [6, 4]),
    ("global_average_pooling2d", "GlobalAveragePooling2D", {}, 2, [4, 5, 3]),
]

# Appended after NORM so that the older cases keep their seeds.
THREE_D = [
    ("conv3d_valid", "Conv3D", {"filters": 3, "kernelSize": 2}, 2, [4, 5, 3, 2]),
    ("conv3d_same_strides_tanh", "Conv3D", {"filters": 2, "kernelSize": [3, 2, 3], "strides": [2, 1, 2],
                                            "padding": "same", "activation": "tanh"}, 2, [5, 4, 5, 3]),
    ("conv3d_dilation2_no_bias", "Conv3D", {"filters": 2, "kernelSize": 2, "dilationRate": [2, 1, 2],
                                            "useBias": False}, 3, [4, 3, 5, 2]),
    ("conv3d_transpose_valid_s2", "Conv3DTranspose", {"filters": 2, "kernelSize": 3, "strides": 2}, 2, [2, 3, 2, 3]),
    ("conv3d_transpose_same_s2", "Conv3DTranspose", {"filters": 3, "kernelSize": [3, 2, 3], "strides": [2, 2, 1],
                                                     "padding": "same"}, 2, [2, 3, 3, 2]),
    ("conv3d_transpose_valid_k1_s2", "Conv3DTranspose", {"filters": 2, "kernelSize": 1, "strides": 2,
                                                         "activation": "sigmoid"}, 2, [2, 2, 3, 2]),
    ("max_pooling3d_default", "MaxPooling3D", {}, 2, [4, 5, 4, 2]),
    ("max_pooling3d_same", "MaxPooling3D", {"poolSize": [3, 2, 3], "strides": [2, 1, 2], "padding": "same"}, 2,
     [5, 4, 5, 3]),
    ("average_pooling3d_valid", "AveragePooling3D", {"poolSize": [2, 3, 2], "strides": 1}, 2, [3, 5, 4, 2]),
    ("average_pooling3d_same", "AveragePooling3D", {"poolSize": 3, "strides": 2, "padding": "same"}, 2, [4, 5, 5, 2]),
]

# (name, className, config, batch, input shape, training)
NORM = [
    ("batch_norm_inference", "BatchNormalization", {}, 3, [5], False),
    ("batch_norm_inference_4d", "BatchNormalization", {"epsilon": 0.01}, 2, [4, 5, 3], False),
    ("batch_norm_inference_no_center", "BatchNormalization", {"center": False}, 3, [2, 4], False),
    ("batch_norm_training", "BatchNormalization", {}, 4, [5], True),
    ("batch_norm_training_4d", "BatchNormalization", {"momentum": 0.5, "epsilon": 0.01}, 2, [3, 4, 3], True),
    ("batch_norm_training_no_scale", "BatchNormalization", {"scale": False, "momentum": 0.8}, 3, [4, 2], True),
    ("layer_norm", "LayerNormalization", {}, 3, [6], None),
    ("layer_norm_3d", "LayerNormalization", {"epsilon": 0.01}, 2, [4, 5], None),
    ("layer_norm_no_center", "LayerNormalization", {"center": False}, 2, [3, 4], None),
    ("layer_norm_no_scale", "LayerNormalization", {"scale": False}, 2, [3, 4], None),
]


def separated_values(shape, g):
    """A random permutation of values 0.05 apart (plus small noise): unique maxima."""
    n = 1
    for d in shape:
        n *= d
    perm = torch.randperm(n, generator=g).float()
    noise = torch.rand(n, generator=g) * 0.01
    return ((perm - n / 2) * 0.05 + noise).reshape(shape)


def norm_weights(cls, cfg, c, g):
    """gamma ~ 1, beta small, moving mean, moving variance in [0.5, 1.5]."""
    ws, trainable = [], []
    if cfg.get("scale", True):
        ws.append(1 + 0.3 * torch.randn([c], generator=g))
        trainable.append(True)
    if cfg.get("center", True):
        ws.append(0.3 * torch.randn([c], generator=g))
        trainable.append(True)
    if cls == "BatchNormalization":
        ws += [0.5 * torch.randn([c], generator=g), 0.5 + torch.rand([c], generator=g)]
        trainable += [False, False]
    return ws, trainable


def main():
    os.makedirs(OUT, exist_ok=True)
    names = []
    cases = [c + (None,) for c in CONV + POOL] + NORM + [c + (None,) for c in THREE_D]
    for i, (name, cls, cfg, batch, in_shape, training) in enumerate(cases):
        g = torch.Generator().manual_seed(2000 + i)
        shape = [batch] + in_shape
        trainable = None
        if "Pooling" in cls:
            x = separated_values(shape, g) if "Max" in cls else torch.randn(shape, generator=g)
            ws = []
            kind = "max" if "Max" in cls else "avg"
            if cls.endswith("3D"):
                fn = pool3d(cfg, kind)
            else:
                fn = global_pool(kind) if cls.startswith("Global") else pool(cfg, kind, int(cls[-2]))
        elif cls in ("BatchNormalization", "LayerNormalization"):
            x = torch.randn(shape, generator=g) * 1.5 + 0.5
            ws, trainable = norm_weights(cls, cfg, in_shape[-1], g)
            fn = batch_norm(cfg, training) if cls == "BatchNormalization" else layer_norm(cfg)
        else:
            x = torch.randn(shape, generator=g)
            ws = [torch.randn(s, generator=g) * 0.5 for s in conv_weights(cls, cfg, in_shape)]
            fn = {"Conv1D": conv2d(cfg, 1), "Conv2D": conv2d(cfg), "DepthwiseConv2D": depthwise_conv2d(cfg),
                  "SeparableConv2D": separable_conv2d(cfg), "Conv2DTranspose": conv2d_transpose(cfg),
                  "Conv3D": conv3d(cfg), "Conv3DTranspose": conv3d_transpose(cfg)}[cls]
        write_case(OUT, SCRIPT, name, cls, cfg, batch, [in_shape], [x], ws, fn, g, trainable=trainable,
                   training=training)
        names.append(name)
    write_index(OUT, names)


if __name__ == "__main__":
    main()
