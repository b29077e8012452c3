#!/usr/bin/python3
"""Writes tests/fixtures/rnn/rnn_torch.txt: reference numbers from PyTorch
(float32) for the recurrent kernels (src/cpu/rnn.h), read by
tests/cpp/rnn_kernels_test.cc (RnnKernels.MatchesTorch).

Run with a Python that has torch (Debian's /usr/bin/python3 here):
    /usr/bin/python3 scripts/make_rnn_fixtures.py

Each case runs a whole sequence from given initial states and records the
outputs and the gradients of
    L = sum(y * dy) + sum(h_last * dh_last) [+ sum(c_last * dc_last)]
with respect to x, h0, c0 and the weights, from autograd. Weights are written
in Kiln's (Keras / TF.js) layout:
  * kernel [input, G*units] = torch weight_ih.T, recurrent [units, G*units] =
    weight_hh.T;
  * LSTM gates i, f, c, o (torch's i, f, g, o: same order), bias = b_ih + b_hh;
  * GRU gates z, r, h (torch's r, z, n reordered); with reset_after the bias
    is [2, 3*units] = [b_ih; b_hh] reordered, which is exactly torch.nn.GRU;
  * SimpleRNN bias = b_ih + b_hh.
torch.nn.LSTM / GRU / RNN compute the cases they can (sigmoid recurrent
activation, reset_after GRU). TF.js's GRU (reset_after false: the candidate
uses (r * h) Uh) and the hardSigmoid recurrent activation (TF.js's default,
clip(0.2 x + 0.5, 0, 1)) are written by hand in torch ops below, on Keras
layout weights; that code is first checked against the torch.nn modules.
go_backwards runs the module on x flipped in time: outputs stay in
processing order (as TF.js's rnn() returns them), dx is for the original x.

File format (one record per line, whitespace separated):
    case <name> <cell> <batch> <steps> <input> <units> <activation>
         <recurrent_activation> <go_backwards 0|1> <reset_after 0|1> <has_bias 0|1>
    <name>.<key> <count> <v1> ... <vcount>
Keys: x, h0, c0 (LSTM), kernel, recurrent, bias (empty without bias), dy,
dh_last, dc_last (LSTM) (the loss weights), y, h_last, c_last, dx, dh0, dc0,
dkernel, drecurrent, dbias. Floats use %.9g, which round-trips float32.
"""
import os
import sys

import torch

torch.set_num_threads(1)

# name, cell, batch, steps, input, units, activation, recurrent_activation,
# go_backwards, reset_after, has_bias, seed, how ("torch" or "hand")
CASES = [
    ("lstm", "LSTM", 3, 4, 5, 4, "tanh", "sigmoid", 0, 0, 1, 1, "torch"),
    ("lstm_backwards", "LSTM", 2, 5, 3, 3, "tanh", "sigmoid", 1, 0, 1, 2, "torch"),
    ("lstm_nobias", "LSTM", 2, 3, 4, 5, "tanh", "sigmoid", 0, 0, 0, 3, "torch"),
    ("lstm_long", "LSTM", 2, 12, 3, 3, "tanh", "sigmoid", 0, 0, 1, 4, "torch"),
    ("lstm_hard_sigmoid", "LSTM", 2, 4, 3, 4, "tanh", "hardSigmoid", 0, 0, 1, 5, "hand"),
    ("gru_reset_after", "GRU", 3, 4, 5, 4, "tanh", "sigmoid", 0, 1, 1, 6, "torch"),
    ("gru_reset_after_backwards_nobias", "GRU", 2, 4, 3, 5, "tanh", "sigmoid", 1, 1, 0, 7, "torch"),
    ("gru_reset_after_hard_sigmoid", "GRU", 2, 4, 3, 4, "tanh", "hardSigmoid", 0, 1, 1, 8, "hand"),
    ("gru_tfjs", "GRU", 2, 4, 3, 4, "tanh", "hardSigmoid", 0, 0, 1, 9, "hand"),
    ("gru_tfjs_sigmoid_backwards", "GRU", 2, 5, 4, 3, "tanh", "sigmoid", 1, 0, 1, 10, "hand"),
    ("rnn_tanh", "SimpleRNN", 3, 4, 5, 4, "tanh", "sigmoid", 0, 0, 1, 11, "torch"),
    ("rnn_relu_backwards_nobias", "SimpleRNN", 2, 5, 3, 4, "relu", "sigmoid", 1, 0, 0, 12, "torch"),
]

GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
KINKS = {"relu": [0.0], "hardSigmoid": [-2.5, 2.5]}


def act(name, z):
    if name == "tanh":
        return torch.tanh(z)
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "hardSigmoid":  # TF.js: clip(0.2 z + 0.5); torch's hardsigmoid is z / 6 + 0.5
        return torch.clamp(0.2 * z + 0.5, 0, 1)
    if name == "relu":
        return torch.relu(z)
    raise ValueError(name)


def by_hand(cell, a, ra, reset_after, x, h0, c0, kernel, recurrent, bias, backwards, pre_log):
    """The Keras / TF.js recurrence in torch ops, Keras layout weights.
    Returns y [b, t, u] in processing order, h_last, c_last. Appends every
    pre-activation that feeds a kinked activation to pre_log."""
    steps = x.shape[1]
    u = recurrent.shape[0]
    h, c = h0, c0
    ys = []
    for k in range(steps):
        xt = x[:, steps - 1 - k if backwards else k]
        if cell == "SimpleRNN":
            pre = xt @ kernel + h @ recurrent + (bias if bias is not None else 0)
            pre_log.append((a, pre))
            h = act(a, pre)
        elif cell == "LSTM":
            pre = xt @ kernel + h @ recurrent + (bias if bias is not None else 0)
            zi, zf, zc, zo = pre.split(u, dim=1)
            pre_log += [(ra, zi), (ra, zf), (a, zc), (ra, zo)]
            c = act(ra, zf) * c + act(ra, zi) * act(a, zc)
            pre_log.append((a, c))
            h = act(ra, zo) * act(a, c)
        else:
            b_in = bias[:3 * u] if bias is not None else 0
            xp = xt @ kernel + b_in
            if reset_after:
                inner = h @ recurrent + (bias[3 * u:] if bias is not None else 0)
                pz = xp[:, :u] + inner[:, :u]
                pr = xp[:, u:2 * u] + inner[:, u:2 * u]
                z, r = act(ra, pz), act(ra, pr)
                ph = xp[:, 2 * u:] + r * inner[:, 2 * u:]
            else:
                rec = h @ recurrent[:, :2 * u]
                pz = xp[:, :u] + rec[:, :u]
                pr = xp[:, u:2 * u] + rec[:, u:]
                z, r = act(ra, pz), act(ra, pr)
                ph = xp[:, 2 * u:] + (r * h) @ recurrent[:, 2 * u:]
            pre_log += [(ra, pz), (ra, pr), (a, ph)]
            h = z * h + (1 - z) * act(a, ph)
        ys.append(h)
    return torch.stack(ys, 1), h, c


def gru_reorder(t, u):
    """torch's r, z, n blocks (first axis) to Keras's z, r, h."""
    return torch.cat([t[u:2 * u], t[:u], t[2 * u:]], 0)


def torch_module(cell, a, inp, u, has_bias):
    if cell == "LSTM":
        return torch.nn.LSTM(inp, u, batch_first=True, bias=bool(has_bias))
    if cell == "GRU":
        return torch.nn.GRU(inp, u, batch_first=True, bias=bool(has_bias))
    return torch.nn.RNN(inp, u, batch_first=True, bias=bool(has_bias), nonlinearity=a)


def keras_weights(cell, m, u, has_bias):
    """(kernel, recurrent, bias) in Keras layout from a torch module's parameters (differentiable)."""
    wi, wh = m.weight_ih_l0, m.weight_hh_l0
    bi = m.bias_ih_l0 if has_bias else None
    bh = m.bias_hh_l0 if has_bias else None
    if cell == "GRU":
        kernel, recurrent = gru_reorder(wi, u).t(), gru_reorder(wh, u).t()
        bias = torch.cat([gru_reorder(bi, u), gru_reorder(bh, u)]) if has_bias else None
    else:
        kernel, recurrent = wi.t(), wh.t()
        bias = bi + bh if has_bias else None
    return kernel, recurrent, bias


def min_kink_distance(pre_log):
    d = float("inf")
    for name, z in pre_log:
        for k in KINKS.get(name, []):
            d = min(d, (z.detach() - k).abs().min().item())
    return d


def make(name, cell, batch, steps, inp, u, a, ra, backwards, reset_after, has_bias, seed, how):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    G = GATES[cell]
    lstm = cell == "LSTM"
    for attempt in range(100):
        x = torch.randn(batch, steps, inp, generator=g).requires_grad_(True)
        h0 = (torch.randn(batch, u, generator=g) * 0.5).requires_grad_(True)
        c0 = (torch.randn(batch, u, generator=g) * 0.5).requires_grad_(True) if lstm else None
        dy = torch.randn(batch, steps, u, generator=g)
        dh_last = torch.randn(batch, u, generator=g)
        dc_last = torch.randn(batch, u, generator=g) if lstm else None
        if how == "torch":
            m = torch_module(cell, a, inp, u, has_bias)
            leaves = list(m.parameters())
            kernel, recurrent, bias = keras_weights(cell, m, u, has_bias)
            xs = x.flip(1) if backwards else x
            if lstm:
                y, (hn, cn) = m(xs, (h0[None], c0[None]))
                c_last = cn[0]
            else:
                y, hn = m(xs, h0[None])
                c_last = None
            h_last = hn[0]
            # The hand-written recurrence must agree with torch.nn.
            pre_log = []
            y2, h2, c2 = by_hand(cell, a, ra, reset_after, x, h0, c0, kernel, recurrent, bias, backwards, pre_log)
            assert torch.allclose(y, y2, atol=1e-5), name
            assert torch.allclose(h_last, h2, atol=1e-5), name
            if lstm:
                assert torch.allclose(c_last, c2, atol=1e-5), name
        else:
            kernel = ((torch.rand(inp, G * u, generator=g) * 2 - 1) * 0.6).requires_grad_(True)
            recurrent = ((torch.rand(u, G * u, generator=g) * 2 - 1) * 0.6).requires_grad_(True)
            nb = (6 * u if reset_after else G * u) if has_bias else 0
            bias = ((torch.rand(nb, generator=g) * 2 - 1) * 0.4).requires_grad_(True) if has_bias else None
            leaves = [t for t in (kernel, recurrent, bias) if t is not None]
            pre_log = []
            y, h_last, c_last = by_hand(cell, a, ra, reset_after, x, h0, c0, kernel, recurrent, bias, backwards,
                                        pre_log)
        if min_kink_distance(pre_log) < 1e-3:
            continue  # Kiln and torch must take the same side of every kink
        loss = (y * dy).sum() + (h_last * dh_last).sum()
        if lstm:
            loss = loss + (c_last * dc_last).sum()
        wrt = [x, h0] + ([c0] if lstm else []) + leaves
        grads = torch.autograd.grad(loss, wrt)
        gx, gh0 = grads[0], grads[1]
        gc0 = grads[2] if lstm else None
        # Weight gradients in Keras layout: differentiate through the layout
        # change by re-deriving from the leaves' gradients.
        lg = dict(zip([id(t) for t in leaves], grads[len(wrt) - len(leaves):]))
        if how == "torch":
            dwi, dwh = lg[id(m.weight_ih_l0)], lg[id(m.weight_hh_l0)]
            if cell == "GRU":
                dkernel, drec = gru_reorder(dwi, u).t(), gru_reorder(dwh, u).t()
                dbias = torch.cat([gru_reorder(lg[id(m.bias_ih_l0)], u), gru_reorder(lg[id(m.bias_hh_l0)], u)]) \
                    if has_bias else None
            else:
                dkernel, drec = dwi.t(), dwh.t()
                # b_ih and b_hh enter as their sum: either's gradient is the sum's.
                dbias = lg[id(m.bias_ih_l0)] if has_bias else None
        else:
            dkernel, drec = lg[id(kernel)], lg[id(recurrent)]
            dbias = lg[id(bias)] if has_bias else None
        empty = torch.zeros(0)
        rec = {
            "x": x, "h0": h0, "kernel": kernel, "recurrent": recurrent,
            "bias": bias if has_bias else empty, "dy": dy, "dh_last": dh_last,
            "y": y, "h_last": h_last, "dx": gx, "dh0": gh0, "dkernel": dkernel, "drecurrent": drec,
            "dbias": dbias if has_bias else empty,
        }
        if lstm:
            rec.update({"c0": c0, "dc_last": dc_last, "c_last": c_last, "dc0": gc0})
        return rec
    raise RuntimeError("%s: no draw kept away from the kinks" % name)


def fmt(t):
    v = t.detach().reshape(-1).tolist()
    return "%d %s" % (len(v), " ".join("%.9g" % f for f in v))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "tests", "fixtures", "rnn", "rnn_torch.txt")
    lines = ["# generated by scripts/make_rnn_fixtures.py with torch %s; do not edit" % torch.__version__]
    for (name, cell, batch, steps, inp, u, a, ra, back, reset_after, bias, seed, how) in CASES:
        rec = make(name, cell, batch, steps, inp, u, a, ra, back, reset_after, bias, seed, how)
        lines.append("case %s %s %d %d %d %d %s %s %d %d %d" % (name, cell, batch, steps, inp, u, a, ra, back,
                                                                reset_after, bias))
        for k, t in rec.items():
            lines.append("%s.%s %s" % (name, k, fmt(t)))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)), file=sys.stderr)


if __name__ == "__main__":
    main()
