#!/usr/bin/python3
"""Writes tests/fixtures/layers_recurrent/*.txt: PyTorch reference numbers for
the recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed),
read by tests/cpp/recurrent_layers_torch_test.cc.

Run with a Python that has torch (Debian's /usr/bin/python3 here):
    /usr/bin/python3 scripts/make_layer_fixtures_recurrent.py

The cells are written out here in float64 with TF.js's weight layouts (not
nn.LSTM's): kernel [input, gates * units], recurrent_kernel [units, gates *
units], bias [gates * units], gate blocks in TF.js order:
  * SimpleRNN: h' = act(x W + h U + b);
  * LSTM (i, f, c, o): i, f, o = ra(...), c' = f c + i act(x Wc + h Uc + bc),
    h' = o act(c');
  * GRU (z, r, h), resetAfter false (TF.js): h~ = act(x Wh + bh + (r h) Uh);
    resetAfter true: bias [2, 3 units] (input row, recurrent row) and
    h~ = act(x Wh + bh_in + r (h Uh + bh_rec)); h' = z h + (1 - z) h~.
Defaults: activation tanh, recurrentActivation hardSigmoid = clip(0.2 x + 0.5,
0, 1) (its inputs are checked to stay 0.05 away from the kinks at +-2.5),
zero initial state, output the last h. goBackwards processes the steps in
reverse and, with returnSequences, emits the outputs in processing order.
Bidirectional: the forward layer's weights then the backward layer's (which
has goBackwards flipped); with returnSequences the backward outputs are
reversed in time before merging (concat, sum, ave, mul). TimeDistributed
applies its inner Dense (kernel, bias) to every step.

File format: see scripts/layer_fixture_io.py.
"""
import os
import sys

import torch

sys.dont_write_bytecode = True  # importing the helper leaves no scripts/__pycache__
from layer_fixture_io import write_case, write_index

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "layers_recurrent")
SCRIPT = "scripts/make_layer_fixtures_recurrent.py"
KINK_GAP = 0.05
_hard_sigmoid_inputs = []  # pre-activations seen by hardSigmoid in the current case


def hard_sigmoid(v):
    _hard_sigmoid_inputs.append(v.detach().reshape(-1))
    return torch.clamp(0.2 * v + 0.5, 0.0, 1.0)


ACT = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "hardSigmoid": hard_sigmoid, "linear": lambda v: v}
GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


# --- cells (float64; x [batch, features], state h (and c for LSTM)) -------------

def rnn_weight_shapes(cls, cfg, features):
    u, g = cfg["units"], GATES[cls]
    shapes = [[features, g * u], [u, g * u]]
    if cfg.get("useBias", True):
        shapes.append([2, g * u] if cls == "GRU" and cfg.get("resetAfter", False) else [g * u])
    return shapes


def run_rnn(cls, cfg, x, w):
    """x [batch, steps, features] -> [batch, units] or [batch, steps, units]."""
    u = cfg["units"]
    act = ACT[cfg.get("activation", "tanh")]
    ra = ACT[cfg.get("recurrentActivation", "hardSigmoid")]
    kernel, rec = w[0], w[1]
    bias = w[2] if cfg.get("useBias", True) else None
    reset_after = cls == "GRU" and cfg.get("resetAfter", False)
    b_in = bias[0] if reset_after else bias
    b_rec = bias[1] if reset_after else None
    batch, steps = x.shape[0], x.shape[1]
    h = torch.zeros(batch, u, dtype=x.dtype)
    c = torch.zeros(batch, u, dtype=x.dtype)
    order = range(steps - 1, -1, -1) if cfg.get("goBackwards", False) else range(steps)
    outs = []
    for t in order:
        xw = x[:, t] @ kernel
        if b_in is not None:
            xw = xw + b_in
        if cls == "SimpleRNN":
            h = act(xw + h @ rec)
        elif cls == "LSTM":
            zi, zf, zc, zo = (xw + h @ rec).split(u, dim=1)
            c = ra(zf) * c + ra(zi) * act(zc)
            h = ra(zo) * act(c)
        elif reset_after:
            inner = h @ rec
            if b_rec is not None:
                inner = inner + b_rec
            xz, xr, xh = xw.split(u, dim=1)
            hz, hr, hh = inner.split(u, dim=1)
            z, r = ra(xz + hz), ra(xr + hr)
            h = z * h + (1 - z) * act(xh + r * hh)
        else:
            xz, xr, xh = xw.split(u, dim=1)
            hz, hr = (h @ rec[:, :2 * u]).split(u, dim=1)
            z, r = ra(xz + hz), ra(xr + hr)
            h = z * h + (1 - z) * act(xh + (r * h) @ rec[:, 2 * u:])
        outs.append(h)
    return torch.stack(outs, 1) if cfg.get("returnSequences", False) else outs[-1]


def recurrent(cls, cfg):
    return lambda x, w: run_rnn(cls, cfg, x[0], w)


def bidirectional(cfg):
    inner = cfg["layer"]
    cls, icfg = inner["className"], inner["config"]
    back = dict(icfg, goBackwards=not icfg.get("goBackwards", False))
    n = len(rnn_weight_shapes(cls, icfg, 1))
    mode = cfg.get("mergeMode", "concat")

    def fn(x, w):
        yf = run_rnn(cls, icfg, x[0], w[:n])
        yb = run_rnn(cls, back, x[0], w[n:])
        if icfg.get("returnSequences", False):
            yb = yb.flip(1)  # step t of both lines up with input step t
        return {"concat": lambda: torch.cat([yf, yb], -1), "sum": lambda: yf + yb,
                "ave": lambda: (yf + yb) / 2, "mul": lambda: yf * yb}[mode]()
    return fn


def time_distributed_dense(cfg):
    icfg = cfg["layer"]["config"]

    def fn(x, w):
        y = x[0] @ w[0]
        if icfg.get("useBias", True):
            y = y + w[1]
        return ACT[icfg.get("activation", "linear")](y)
    return fn


def weight_shapes(cls, cfg, features):
    if cls == "Bidirectional":
        inner = cfg["layer"]
        return 2 * rnn_weight_shapes(inner["className"], inner["config"], features)
    if cls == "TimeDistributed":
        icfg = cfg["layer"]["config"]
        return [[features, icfg["units"]]] + ([[icfg["units"]]] if icfg.get("useBias", True) else [])
    return rnn_weight_shapes(cls, cfg, features)


def reference(cls, cfg):
    if cls == "Bidirectional":
        return bidirectional(cfg)
    if cls == "TimeDistributed":
        return time_distributed_dense(cfg)
    return recurrent(cls, cfg)


# --- cases --------------------------------------------------------------------

SIG = {"recurrentActivation": "sigmoid"}


def lstm(**k):
    return {"className": "LSTM", "config": dict({"units": 3}, **SIG, **k)}


def gru(**k):
    return {"className": "GRU", "config": dict({"units": 3}, **SIG, **k)}


# (name, className, config, batch, input shape [steps, features])
CASES = [
    ("simple_rnn", "SimpleRNN", {"units": 4}, 2, [5, 3]),
    ("simple_rnn_sequences", "SimpleRNN", {"units": 3, "returnSequences": True}, 3, [4, 2]),
    ("simple_rnn_backwards_sequences", "SimpleRNN", {"units": 3, "returnSequences": True, "goBackwards": True}, 2, [4, 3]),
    ("lstm", "LSTM", dict({"units": 5}, **SIG), 2, [4, 3]),
    ("lstm_sequences", "LSTM", dict({"units": 5, "returnSequences": True}, **SIG), 2, [4, 3]),
    ("lstm_backwards", "LSTM", dict({"units": 5, "goBackwards": True}, **SIG), 2, [4, 3]),
    ("lstm_backwards_sequences", "LSTM", dict({"units": 5, "goBackwards": True, "returnSequences": True}, **SIG), 3,
     [4, 3]),
    ("lstm_hard_sigmoid_sequences", "LSTM", {"units": 5, "returnSequences": True}, 2, [4, 3]),
    ("lstm_no_bias", "LSTM", dict({"units": 4, "useBias": False}, **SIG), 2, [3, 2]),
    ("gru", "GRU", dict({"units": 4}, **SIG), 2, [5, 3]),
    ("gru_sequences", "GRU", dict({"units": 4, "returnSequences": True}, **SIG), 2, [4, 3]),
    ("gru_reset_after_sequences", "GRU", dict({"units": 4, "resetAfter": True, "returnSequences": True}, **SIG), 2,
     [4, 3]),
    ("gru_reset_after", "GRU", dict({"units": 3, "resetAfter": True}, **SIG), 3, [5, 2]),
    ("gru_hard_sigmoid_backwards", "GRU", {"units": 4, "goBackwards": True}, 2, [5, 3]),
    ("bidirectional_lstm_concat", "Bidirectional", {"layer": lstm(), "mergeMode": "concat"}, 2, [4, 3]),
    ("bidirectional_lstm_concat_sequences", "Bidirectional", {"layer": lstm(returnSequences=True)}, 2, [4, 3]),
    ("bidirectional_lstm_sum_sequences", "Bidirectional", {"layer": lstm(returnSequences=True), "mergeMode": "sum"}, 2,
     [4, 3]),
    ("bidirectional_lstm_mul", "Bidirectional", {"layer": lstm(units=4), "mergeMode": "mul"}, 2, [3, 2]),
    ("bidirectional_gru_ave_sequences", "Bidirectional", {"layer": gru(returnSequences=True), "mergeMode": "ave"}, 2,
     [4, 3]),
    ("bidirectional_gru_mul", "Bidirectional", {"layer": gru(), "mergeMode": "mul"}, 2, [4, 3]),
    ("bidirectional_gru_reset_after_concat", "Bidirectional", {"layer": gru(resetAfter=True), "mergeMode": "concat"}, 2,
     [5, 2]),
    ("bidirectional_lstm_backwards_sum", "Bidirectional", {"layer": lstm(goBackwards=True, returnSequences=True),
                                                           "mergeMode": "sum"}, 2, [4, 2]),
    ("time_distributed_dense", "TimeDistributed", {"layer": {"className": "Dense", "config": {"units": 4}}}, 2, [5, 3]),
    ("time_distributed_dense_tanh_no_bias", "TimeDistributed",
     {"layer": {"className": "Dense", "config": {"units": 3, "activation": "tanh", "useBias": False}}}, 3, [3, 4]),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    names = []
    for i, (name, cls, cfg, batch, in_shape) in enumerate(CASES):
        g = torch.Generator().manual_seed(3000 + i)
        x = torch.randn([batch] + in_shape, generator=g)
        ws = [torch.randn(s, generator=g) * (0.3 if k % 3 == 1 else 0.4)
              for k, s in enumerate(weight_shapes(cls, cfg, in_shape[-1]))]
        del _hard_sigmoid_inputs[:]
        write_case(OUT, SCRIPT, name, cls, cfg, batch, [in_shape], [x], ws, reference(cls, cfg), g)
        if _hard_sigmoid_inputs:
            gap = (torch.cat(_hard_sigmoid_inputs).abs() - 2.5).abs().min().item()
            assert gap > KINK_GAP, "%s: a hardSigmoid input is %.3g from a kink" % (name, gap)
        names.append(name)
    write_index(OUT, names)


if __name__ == "__main__":
    main()
