#!/usr/bin/python3
"""Reference numbers for fine-tuning an imported ONNX model (kiln.onnx.loadModel,
tests/cpp/onnx_finetune_test.cc, tests/js/onnx_finetune.test.mjs).

    /usr/bin/python3 scripts/make_finetune_fixtures.py OUT_DIR

A small PyTorch CNN (conv+relu, max pool, a depthwise conv+relu6 with
asymmetric-to-TF padding, a 1x1 conv with a residual add, flatten over a 4x4
map, linear, softmax) is exported to ONNX (opset 13, dynamic batch), then
trained in PyTorch for 10 steps (batches of 8, in order) with:
  * sgd:    SGD lr 0.1;
  * adam:   Adam lr 0.001 (the Keras default), eps 1e-7 (Kiln's and TF.js's default; torch's is 1e-8);
  * frozen: SGD lr 0.1 with the first conv frozen (requires_grad False).
The loss is categorical cross-entropy of the softmax output against one-hot
targets, averaged over the batch (log-softmax of the logits, as Kiln fuses it).

Writes model.onnx, x.f32 ([80, 3, 12, 12] float32), y.f32 ([80, 10] one-hot)
and expected.json: the model's outputs on x[:8] before training, and per run
the loss of each step (before its update) and the final weights, named and
laid out as Kiln's layers hold them (conv kernel [kh, kw, in, out], depthwise
[kh, kw, C, 1], dense kernel [in, out]), which is an independent check of the
importer's layout conversion.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)
        self.pw = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8 * 3 * 3, 10)

    def logits(self, x):
        x = F.relu(self.c1(x))
        x = F.max_pool2d(x, 2)
        x = F.relu6(self.dw(x))
        x = self.pw(x) + x
        return self.fc(torch.flatten(x, 1))

    def forward(self, x):
        return F.softmax(self.logits(x), dim=1)


def kiln_weights(net):
    """The weights as Kiln's layers hold them, by Kiln weight name."""
    w = {}
    w["c1/kernel"] = net.c1.weight.detach().permute(2, 3, 1, 0)
    w["c1/bias"] = net.c1.bias
    w["dw/depthwise_kernel"] = net.dw.weight.detach().permute(2, 3, 0, 1)
    w["dw/bias"] = net.dw.bias
    w["pw/kernel"] = net.pw.weight.detach().permute(2, 3, 1, 0)
    w["pw/bias"] = net.pw.bias
    w["fc/kernel"] = net.fc.weight.detach().t()
    w["fc/bias"] = net.fc.bias
    return {k: v.detach().contiguous().reshape(-1).tolist() for k, v in w.items()}


def train(net, x, y, optimizer, frozen):
    for p in frozen:
        p.requires_grad_(False)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.1) if optimizer == "sgd" else torch.optim.Adam(params, lr=0.001, eps=1e-7)
    losses = []
    for step in range(10):
        xb, yb = x[step * 8:(step + 1) * 8], y[step * 8:(step + 1) * 8]
        loss = -(yb * F.log_softmax(net.logits(xb), dim=1)).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    net = Net()
    x = torch.randn(80, 3, 12, 12)
    labels = torch.randint(0, 10, (80,))
    y = F.one_hot(labels, 10).float()
    net.eval()
    torch.onnx.export(net, x[:8], os.path.join(out, "model.onnx.tmp"), input_names=["image"], output_names=["probs"],
                      opset_version=13, dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}})
    initial = {k: v.clone() for k, v in net.state_dict().items()}
    expected = {"forward": net(x[:8]).detach().reshape(-1).tolist(), "runs": []}
    for name, optimizer, frozen in [("sgd", "sgd", False), ("adam", "adam", False), ("frozen", "sgd", True)]:
        net.load_state_dict(initial)
        for p in net.parameters():
            p.requires_grad_(True)
        losses = train(net, x, y, optimizer, [net.c1.weight, net.c1.bias] if frozen else [])
        expected["runs"].append({"name": name, "optimizer": optimizer, "frozen": ["c1"] if frozen else [],
                                 "losses": losses, "weights": kiln_weights(net)})
    x.numpy().astype("<f4").tofile(os.path.join(out, "x.f32"))
    y.numpy().astype("<f4").tofile(os.path.join(out, "y.f32"))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)
    os.replace(os.path.join(out, "model.onnx.tmp"), os.path.join(out, "model.onnx"))
    print("wrote", out)


if __name__ == "__main__":
    main()
