#!/usr/bin/python3
"""Writes tests/fixtures/torch_mlp.txt: reference numbers from PyTorch (float32)
for tests/cpp/torch_numerics_test.cc.

Run with a Python that has torch (Debian's /usr/bin/python3 here):
    /usr/bin/python3 scripts/make_torch_fixtures.py

For a few small dense MLPs with seeded random weights and a random batch it
records: the forward outputs, the mean loss, d(mean loss)/d(every weight) from
autograd, and the weights (plus the per-step losses) after 10 steps on that
batch of each optimizer: SGD, SGD+momentum, SGD+Nesterov and Adam.

Weights use Kiln's (TF.js's) layout and order: per layer the kernel [in, out]
row-major, then the bias [out] (when the layer has one); a layer computes
act(x @ kernel + bias). Loss semantics follow src/train/loss.h:
  * categoricalCrossentropy after a softmax layer is computed from the logits
    (log-softmax), summed over classes, averaged over the batch;
  * categoricalCrossentropy on any other output is -sum t*log(clip(p, 1e-7,
    1-1e-7)), averaged over the batch (no renormalisation of p);
  * sparseCategoricalCrossentropy takes class indices (stored as floats);
  * meanSquaredError is the mean over all elements.

File format (one record per line, whitespace separated):
    model <name> <input_dim> <batch> <loss> <num_layers> (<units> <activation> <use_bias 0|1>)*
    <name>.<key> <count> <v1> ... <vcount>
Keys: x, y, w<i> (initial weights), out, loss, grad<i>, and for each optimizer
<opt> in sgd, momentum, nesterov, adam: <opt>.w<i> (after 10 steps) and
<opt>.losses (the loss before each step). Floats are written with %.9g, which
round-trips float32 exactly.
"""
import os
import sys

import torch

torch.set_num_threads(1)
EPS = 1e-7
STEPS = 10

CONFIGS = [
    # name, input_dim, batch, loss, [(units, activation, use_bias)], seed
    ("cce_softmax", 7, 6, "categoricalCrossentropy",
     [(5, "relu", 1), (4, "tanh", 1), (3, "softmax", 1)], 1),
    ("mse_sigmoid", 7, 6, "meanSquaredError",
     [(5, "sigmoid", 1), (4, "sigmoid", 0), (3, "linear", 1)], 2),
    ("sparse_softmax", 7, 6, "sparseCategoricalCrossentropy",
     [(5, "tanh", 1), (4, "relu", 1), (3, "softmax", 1)], 3),
    ("cce_sigmoid", 7, 6, "categoricalCrossentropy",
     [(5, "tanh", 1), (3, "sigmoid", 1)], 4),
]

OPTIMIZERS = [
    ("sgd", lambda p: torch.optim.SGD(p, lr=0.1)),
    ("momentum", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    ("nesterov", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    ("adam", lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-7)),
]


def act(name, z):
    if name == "linear":
        return z
    if name == "relu":
        return torch.relu(z)
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "softmax":
        return torch.softmax(z, dim=1)
    raise ValueError(name)


def forward(layers, weights, x):
    """Returns (output, logits of the last layer, pre-activations of every layer)."""
    h, w, pre = x, 0, []
    for units, a, bias in layers:
        z = h @ weights[w]
        w += 1
        if bias:
            z = z + weights[w]
            w += 1
        pre.append(z)
        h = act(a, z)
    return h, pre[-1], pre


def loss_fn(loss, layers, out, logits, y):
    if loss == "meanSquaredError":
        return ((out - y) ** 2).mean()
    fused = layers[-1][1] == "softmax"
    if loss == "sparseCategoricalCrossentropy":
        labels = y.long()
        if fused:
            return -torch.log_softmax(logits, dim=1).gather(1, labels[:, None]).mean()
        return -torch.log(out.clamp(EPS, 1 - EPS)).gather(1, labels[:, None]).mean()
    if fused:
        return -(y * torch.log_softmax(logits, dim=1)).sum(1).mean()
    return -(y * torch.log(out.clamp(EPS, 1 - EPS))).sum(1).mean()


def check_no_kinks(loss, layers, pre, out):
    """Kiln and torch must take the same branch of every relu and clip: the
    reference is only meaningful away from kinks."""
    for (units, a, bias), z in zip(layers, pre):
        if a == "relu" and z.abs().min().item() < 1e-3:
            return False
    clipped_ce = loss != "meanSquaredError" and layers[-1][1] != "softmax"
    if clipped_ce and (out.min().item() < 1e-4 or out.max().item() > 1 - 1e-4):
        return False
    return True


def make(name, input_dim, batch, loss, layers, seed):
    g = torch.Generator().manual_seed(seed)
    for attempt in range(100):
        weights, fan_in = [], input_dim
        for units, a, bias in layers:
            limit = (6.0 / (fan_in + units)) ** 0.5
            weights.append((torch.rand(fan_in, units, generator=g) * 2 - 1) * limit)
            if bias:
                weights.append((torch.rand(units, generator=g) * 2 - 1) * 0.3)
            fan_in = units
        x = torch.randn(batch, input_dim, generator=g)
        classes = layers[-1][0]
        if loss == "meanSquaredError":
            y = torch.randn(batch, classes, generator=g)
        elif loss == "sparseCategoricalCrossentropy":
            y = torch.randint(0, classes, (batch,), generator=g).float()
        elif layers[-1][1] == "softmax":
            y = torch.nn.functional.one_hot(torch.randint(0, classes, (batch,), generator=g), classes).float()
        else:  # soft targets for the non-fused cross-entropy
            y = torch.softmax(torch.randn(batch, classes, generator=g) * 2, dim=1)
        rec, ok = {}, True
        w = [t.clone().requires_grad_(True) for t in weights]
        out, logits, pre = forward(layers, w, x)
        ok &= check_no_kinks(loss, layers, pre, out)
        l = loss_fn(loss, layers, out, logits, y)
        grads = torch.autograd.grad(l, w)
        rec["x"], rec["y"] = x, y
        for i, t in enumerate(weights):
            rec["w%d" % i] = t
        rec["out"] = out.detach()
        rec["loss"] = l.detach().reshape(1)
        for i, t in enumerate(grads):
            rec["grad%d" % i] = t
        for opt_name, make_opt in OPTIMIZERS:
            w = [t.clone().requires_grad_(True) for t in weights]
            opt = make_opt(w)
            losses = []
            for _ in range(STEPS):
                opt.zero_grad()
                out, logits, pre = forward(layers, w, x)
                ok &= check_no_kinks(loss, layers, pre, out)
                l = loss_fn(loss, layers, out, logits, y)
                losses.append(l.item())
                l.backward()
                opt.step()
            for i, t in enumerate(w):
                rec["%s.w%d" % (opt_name, i)] = t.detach()
            rec["%s.losses" % opt_name] = torch.tensor(losses, dtype=torch.float32)
        if ok:
            return rec
    raise RuntimeError("no kink-free draw for " + name)


def fmt(t):
    v = t.detach().to(torch.float32).reshape(-1).tolist()
    return "%d %s" % (len(v), " ".join("%.9g" % f for f in v))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "tests", "fixtures", "torch_mlp.txt")
    lines = ["# generated by scripts/make_torch_fixtures.py with torch %s; do not edit" % torch.__version__]
    for name, input_dim, batch, loss, layers, seed in CONFIGS:
        rec = make(name, input_dim, batch, loss, layers, seed)
        lines.append("model %s %d %d %s %d %s" % (name, input_dim, batch, loss, len(layers),
                     " ".join("%d %s %d" % l for l in layers)))
        for k, t in rec.items():
            lines.append("%s.%s %s" % (name, k, fmt(t)))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)), file=sys.stderr)


if __name__ == "__main__":
    main()
