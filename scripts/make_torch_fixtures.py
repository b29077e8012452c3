#!/usr/bin/python3
"""Writes tests/fixtures/torch_mlp.txt: reference numbers from PyTorch (float32)
for tests/cpp/torch_numerics_test.cc.

Run with a Python that has torch (Debian's /usr/bin/python3 here):
    /usr/bin/python3 scripts/make_torch_fixtures.py

For a few small dense MLPs with seeded random weights and a random batch it
records: the forward outputs, the mean loss, d(mean loss)/d(every weight) from
autograd, and the weights (plus the per-step losses) after 10 steps on that
batch of each optimizer in OPTIMIZERS: SGD, SGD+momentum, SGD+Nesterov, Adam,
AdamW and Adadelta from torch.optim; Adagrad, Adamax and RMSprop (plain,
centered, with momentum, both) written here with torch tensor ops, because
TF.js's formulas (Kiln's) differ from torch.optim's (epsilon inside the sqrt
for Adagrad and RMSprop, outside the max for Adamax, the learning rate inside
RMSprop's momentum buffer, Adamax's inverse-time decay); learning-rate
schedules through torch's LambdaLR with the Keras formulas; Keras gradient
clipping (clip by value, per-tensor norm, global norm) applied by hand before
the step.

Weights use Kiln's (TF.js's) layout and order: per layer the kernel [in, out]
row-major, then the bias [out] (when the layer has one); a layer computes
act(x @ kernel + bias). Loss semantics follow src/train/loss.h:
  * categoricalCrossentropy after a softmax layer is computed from the logits
    (log-softmax), summed over classes, averaged over the batch;
  * categoricalCrossentropy on any other output is -sum t*log(clip(p, 1e-7,
    1-1e-7)), averaged over the batch (no renormalisation of p);
  * sparseCategoricalCrossentropy takes class indices (stored as floats);
  * meanSquaredError is the mean over all elements;
  * the other losses are TF.js's formulas written out with torch ops in
    loss_fn (hinge and squaredHinge take -1/1 labels as given; categoricalHinge
    is per row, not a mean over the columns; logcosh is the plain
    log(cosh(p - y)), which Kiln computes in a stable form).

File format (one record per line, whitespace separated):
    model <name> <input_dim> <batch> <loss> <num_layers> (<units> <activation> <use_bias 0|1>)*
    <name>.<key> <count> <v1> ... <vcount>
Keys: x, y, w<i> (initial weights), out, loss, grad<i>, and for each optimizer
<opt> in OPTIMIZERS: <opt>.w<i> (after 10 steps) and
<opt>.losses (the loss before each step). Floats are written with %.9g, which
round-trips float32 exactly.
"""
import math
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
    # Every other activation and loss (TF.js formulas, see act and loss_fn).
    ("bce_sigmoid", 7, 6, "binaryCrossentropy",
     [(5, "elu", 1), (4, "selu", 1), (3, "sigmoid", 1)], 5),
    ("bce_softmax", 7, 6, "binaryCrossentropy",
     [(5, "gelu", 1), (4, "swish", 1), (3, "softmax", 1)], 6),
    ("mae_mish", 7, 6, "meanAbsoluteError",
     [(5, "mish", 1), (4, "softplus", 1), (3, "softsign", 1)], 7),
    ("huber_relu6", 7, 6, "huberLoss",
     [(5, "relu6", 1), (4, "leakyRelu", 1), (3, "exponential", 1)], 8),
    ("hinge_hard_sigmoid", 7, 6, "hinge",
     [(5, "hardSigmoid", 1), (4, "tanh", 0), (3, "linear", 1)], 9),
    ("kld_log_softmax", 7, 6, "kullbackLeiblerDivergence",
     [(5, "logSoftmax", 1), (4, "relu", 1), (3, "softmax", 1)], 10),
    ("cosine_gelu", 7, 6, "cosineProximity",
     [(5, "gelu", 1), (3, "linear", 1)], 11),
    ("squared_hinge_tanh", 7, 6, "squaredHinge",
     [(5, "relu", 1), (3, "tanh", 1)], 12),
    ("categorical_hinge_linear", 7, 6, "categoricalHinge",
     [(5, "tanh", 1), (4, "elu", 1), (3, "linear", 1)], 13),
    ("logcosh_linear", 7, 6, "logcosh",
     [(5, "swish", 1), (3, "linear", 1)], 14),
    ("msle_softplus", 7, 6, "meanSquaredLogarithmicError",
     [(5, "tanh", 1), (3, "softplus", 1)], 15),
    ("mape_linear", 7, 6, "meanAbsolutePercentageError",
     [(5, "sigmoid", 1), (3, "linear", 1)], 16),
    ("poisson_exponential", 7, 6, "poisson",
     [(5, "tanh", 1), (3, "exponential", 1)], 17),
]

class TfjsRule(torch.optim.Optimizer):
    """TF.js's update rules (src/train/optimizer.h) in torch tensor ops."""

    def __init__(self, params, rule, lr, **hyper):
        super().__init__(params, dict(lr=lr, **hyper))
        self.rule, self.t = rule, 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        for group in self.param_groups:
            for p in group["params"]:
                self.rule(self.t, group, p, p.grad, self.state[p])


def adagrad(t, h, p, g, s):
    a = s.setdefault("a", torch.full_like(p, h["init"]))
    a += g * g
    p -= h["lr"] * g / torch.sqrt(a + h["eps"])


def adamax(t, h, p, g, s):
    m = s.setdefault("m", torch.zeros_like(p))
    u = s.setdefault("u", torch.zeros_like(p))
    m.mul_(h["b1"]).add_((1 - h["b1"]) * g)
    torch.maximum(h["b2"] * u, g.abs(), out=u)
    rate = h["lr"] / (1 + h["decay"] * (t - 1)) / (1 - h["b1"] ** t)
    p -= rate * m / (u + h["eps"])


def rmsprop(t, h, p, g, s):
    ms = s.setdefault("ms", torch.zeros_like(p))
    v = s.setdefault("v", torch.zeros_like(p))
    ms.mul_(h["rho"]).add_((1 - h["rho"]) * g * g)
    denom = ms
    if h["centered"]:
        mg = s.setdefault("mg", torch.zeros_like(p))
        mg.mul_(h["rho"]).add_((1 - h["rho"]) * g)
        denom = ms - mg * mg
    v.mul_(h["momentum"]).add_(h["lr"] * g / torch.sqrt(denom + h["eps"]))
    p -= v


def tfjs_rmsprop(momentum, centered):
    return lambda p: TfjsRule(p, rmsprop, 0.01, rho=0.9, momentum=momentum, centered=centered, eps=1e-7)


class Scheduled:
    """An optimizer whose rate follows a Keras schedule of k = updates done so far."""

    def __init__(self, opt, factor):
        self.opt, self.sched = opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)

    def zero_grad(self):
        self.opt.zero_grad()

    def step(self):
        self.opt.step()
        self.sched.step()


class Clipped:
    """Keras gradient clipping before the step: 'value', 'norm' (per tensor) or 'global'."""

    def __init__(self, opt, how, limit):
        self.opt, self.how, self.limit = opt, how, limit

    def zero_grad(self):
        self.opt.zero_grad()

    @torch.no_grad()
    def step(self):
        grads = [p.grad for g in self.opt.param_groups for p in g["params"]]
        if self.how == "value":
            for g in grads:
                g.clamp_(-self.limit, self.limit)
        elif self.how == "norm":
            for g in grads:
                norm = g.norm()
                if norm > self.limit:
                    g *= self.limit / norm
        else:
            norm = torch.sqrt(sum((g * g).sum() for g in grads))
            if norm > self.limit:
                for g in grads:
                    g *= self.limit / norm
        self.opt.step()


def exponential(rate, steps, staircase):
    return lambda k: rate ** (k // steps if staircase else k / steps)


def piecewise(boundaries, values):
    return lambda k: values[sum(k > b for b in boundaries)] / values[0]


def cosine(steps, alpha):
    return lambda k: (1 - alpha) * 0.5 * (1 + math.cos(math.pi * min(k, steps) / steps)) + alpha


OPTIMIZERS = [
    ("sgd", lambda p: torch.optim.SGD(p, lr=0.1)),
    ("momentum", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    ("nesterov", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    ("adam", lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-7)),
    ("adamw", lambda p: torch.optim.AdamW(p, lr=0.01, betas=(0.9, 0.999), eps=1e-7, weight_decay=0.1)),
    ("adadelta", lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-7)),
    ("adagrad", lambda p: TfjsRule(p, adagrad, 0.1, init=0.1, eps=1e-7)),
    ("adamax", lambda p: TfjsRule(p, adamax, 0.02, b1=0.9, b2=0.999, eps=1e-7, decay=0.01)),
    ("rmsprop", tfjs_rmsprop(0.0, False)),
    ("rmsprop_centered", tfjs_rmsprop(0.0, True)),
    ("rmsprop_momentum", tfjs_rmsprop(0.9, False)),
    ("rmsprop_centered_momentum", tfjs_rmsprop(0.9, True)),
    ("sgd_exponential", lambda p: Scheduled(torch.optim.SGD(p, lr=0.2), exponential(0.5, 3, False))),
    ("momentum_staircase", lambda p: Scheduled(torch.optim.SGD(p, lr=0.1, momentum=0.9), exponential(0.5, 3, True))),
    ("adam_piecewise", lambda p: Scheduled(torch.optim.Adam(p, lr=0.02, eps=1e-7), piecewise([2, 5], [0.02, 0.01, 0.005]))),
    ("sgd_cosine", lambda p: Scheduled(torch.optim.SGD(p, lr=0.2), cosine(8, 0.1))),
    ("sgd_clip_value", lambda p: Clipped(torch.optim.SGD(p, lr=0.1), "value", 0.05)),
    ("momentum_clip_norm", lambda p: Clipped(torch.optim.SGD(p, lr=0.1, momentum=0.9), "norm", 0.1)),
    ("adam_global_clipnorm", lambda p: Clipped(torch.optim.Adam(p, lr=0.01, eps=1e-7), "global", 0.2)),
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
    if name == "logSoftmax":
        return torch.log_softmax(z, dim=1)
    if name == "relu6":
        return torch.clamp(z, 0, 6)
    if name == "elu":
        return torch.nn.functional.elu(z)
    if name == "selu":
        return torch.selu(z)
    if name == "gelu":  # TF.js 'gelu' is the exact erf form, like torch's default
        return torch.nn.functional.gelu(z)
    if name == "swish":
        return z * torch.sigmoid(z)
    if name == "mish":
        return z * torch.tanh(torch.nn.functional.softplus(z))
    if name == "hardSigmoid":  # TF.js: clip(0.2 z + 0.5); torch's hardsigmoid is z / 6 + 0.5
        return torch.clamp(0.2 * z + 0.5, 0, 1)
    if name == "softplus":
        return torch.nn.functional.softplus(z)
    if name == "softsign":
        return z / (1 + z.abs())
    if name == "exponential":
        return torch.exp(z)
    if name == "leakyRelu":  # tf.leakyRelu's default slope
        return torch.nn.functional.leaky_relu(z, 0.2)
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


def l2_normalize(v):  # TF.js: v / sqrt(max(sum v^2, epsilon))
    return v / torch.sqrt(torch.clamp((v * v).sum(1, keepdim=True), min=EPS))


def loss_fn(loss, layers, out, logits, y):
    if loss == "meanSquaredError":
        return ((out - y) ** 2).mean()
    if loss == "meanAbsoluteError":
        return (out - y).abs().mean()
    if loss == "huberLoss":
        return torch.nn.functional.huber_loss(out, y, delta=1.0)
    if loss == "hinge":
        return torch.clamp(1 - y * out, min=0).mean()
    if loss == "squaredHinge":
        return (torch.clamp(1 - y * out, min=0) ** 2).mean()
    if loss == "categoricalHinge":  # per row, not a mean over the columns
        pos = (y * out).sum(1)
        neg = ((1 - y) * out).amax(1)
        return torch.clamp(1 + neg - pos, min=0).mean()
    if loss == "logcosh":  # the plain formula (Kiln computes it in a stable form)
        return torch.log(torch.cosh(out - y)).mean()
    if loss == "meanSquaredLogarithmicError":
        return ((torch.log(1 + out.clamp(min=EPS)) - torch.log(1 + y.clamp(min=EPS))) ** 2).mean()
    if loss == "meanAbsolutePercentageError":
        return 100 * ((y - out) / y.abs().clamp(min=EPS)).abs().mean()
    if loss == "poisson":
        return (out - y * torch.log(out + EPS)).mean()
    if loss == "kullbackLeiblerDivergence":
        return (y * torch.log(y.clamp(EPS, 1) / out.clamp(EPS, 1))).sum(1).mean()
    if loss == "cosineProximity":
        return -(l2_normalize(y) * l2_normalize(out)).sum(1).mean()
    if loss == "binaryCrossentropy":
        if layers[-1][1] == "sigmoid":
            return torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
        p = out.clamp(EPS, 1 - EPS)
        return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    fused = layers[-1][1] == "softmax"
    if loss == "sparseCategoricalCrossentropy":
        labels = y.long()
        if fused:
            return -torch.log_softmax(logits, dim=1).gather(1, labels[:, None]).mean()
        return -torch.log(out.clamp(EPS, 1 - EPS)).gather(1, labels[:, None]).mean()
    if fused:
        return -(y * torch.log_softmax(logits, dim=1)).sum(1).mean()
    return -(y * torch.log(out.clamp(EPS, 1 - EPS))).sum(1).mean()


def check_no_kinks(loss, layers, pre, out, y):
    """Kiln and torch must take the same branch of every relu and clip: the
    reference is only meaningful away from kinks."""
    kinks = {"relu": [0], "leakyRelu": [0], "relu6": [0, 6], "hardSigmoid": [-2.5, 2.5]}
    for (units, a, bias), z in zip(layers, pre):
        if any((z - k).abs().min().item() < 1e-3 for k in kinks.get(a, [])):
            return False
    last = layers[-1][1]
    clipped = (loss in ("categoricalCrossentropy", "sparseCategoricalCrossentropy") and last != "softmax") or \
        (loss == "binaryCrossentropy" and last != "sigmoid")
    if clipped and (out.min().item() < 1e-4 or out.max().item() > 1 - 1e-4):
        return False
    if loss == "meanAbsoluteError" and (out - y).abs().min().item() < 1e-3:
        return False
    if loss in ("hinge", "squaredHinge") and (1 - y * out).abs().min().item() < 1e-3:
        return False
    if loss == "meanAbsolutePercentageError" and (out - y).abs().min().item() < 1e-3:
        return False
    if loss == "meanSquaredLogarithmicError" and out.min().item() < 1e-3:
        return False
    if loss == "categoricalHinge":  # the margin and the max of (1 - y) * out
        neg = ((1 - y) * out)
        top2 = neg.topk(2, dim=1).values
        if (top2[:, 0] - top2[:, 1]).min().item() < 1e-3:
            return False
        if (1 + neg.amax(1) - (y * out).sum(1)).abs().min().item() < 1e-3:
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
        if loss in ("meanSquaredError", "cosineProximity"):
            y = torch.randn(batch, classes, generator=g)
        elif loss in ("meanAbsoluteError", "huberLoss"):
            y = torch.randn(batch, classes, generator=g) * 2
        elif loss == "binaryCrossentropy":
            y = torch.randint(0, 2, (batch, classes), generator=g).float()
        elif loss == "poisson":  # counts
            y = torch.randint(0, 4, (batch, classes), generator=g).float()
        elif loss == "logcosh":
            y = torch.randn(batch, classes, generator=g) * 2
        elif loss == "meanSquaredLogarithmicError":  # mostly positive; negatives are clipped to epsilon
            y = torch.randn(batch, classes, generator=g) + 1
        elif loss in ("squaredHinge", "meanAbsolutePercentageError"):  # -1/1 labels scaled as for hinge; |y| >= 0.5
            y = (torch.randint(0, 2, (batch, classes), generator=g).float() * 2 - 1) * \
                (0.5 + torch.rand(batch, classes, generator=g))
        elif loss == "categoricalHinge":
            y = torch.nn.functional.one_hot(torch.randint(0, classes, (batch,), generator=g), classes).float()
        elif loss == "hinge":  # -1/1 labels, scaled so that no bias gradient cancels to 0 (Adam would amplify it)
            y = (torch.randint(0, 2, (batch, classes), generator=g).float() * 2 - 1) * \
                (0.5 + torch.rand(batch, classes, generator=g))
        elif loss == "kullbackLeiblerDivergence":
            y = torch.softmax(torch.randn(batch, classes, generator=g) * 2, dim=1)
        elif loss == "sparseCategoricalCrossentropy":
            y = torch.randint(0, classes, (batch,), generator=g).float()
        elif layers[-1][1] == "softmax":
            y = torch.nn.functional.one_hot(torch.randint(0, classes, (batch,), generator=g), classes).float()
        else:  # soft targets for the non-fused cross-entropy
            y = torch.softmax(torch.randn(batch, classes, generator=g) * 2, dim=1)
        rec, ok = {}, True
        w = [t.clone().requires_grad_(True) for t in weights]
        out, logits, pre = forward(layers, w, x)
        ok &= check_no_kinks(loss, layers, pre, out, y)
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
                ok &= check_no_kinks(loss, layers, pre, out, y)
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
