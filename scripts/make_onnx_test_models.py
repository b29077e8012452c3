#!/usr/bin/python3
"""Writes small PyTorch-exported ONNX models with reference outputs, for the
ONNX import tests (tests/js/onnx.test.mjs, tests/cpp/onnx_models_test.cc):
tests/fixtures/onnx_models/<name>.onnx and <name>.json ({"input": [...],
"input_shape": [...], "output": [...], "output_shape": [...]}; float32
values as PyTorch computes them). The batch axis is exported as dynamic.

Run with Debian's python3-torch: /usr/bin/python3 scripts/make_onnx_test_models.py
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "onnx_models")


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4), torch.nn.Softmax(dim=1)), (3, 8)


def cnn():
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 6, 3, padding=1), torch.nn.BatchNorm2d(6), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 4, 3, stride=2, groups=2), torch.nn.Sigmoid(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(4, 3))
    bn = net[1]
    bn.running_mean.uniform_(-0.5, 0.5)  # non-trivial statistics, so BatchNorm really matters
    bn.running_var.uniform_(0.5, 2.0)
    return net, (2, 2, 10, 9)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    for name, make in [("mlp", mlp), ("cnn", cnn)]:
        net, shape = make()
        net.eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = net(x)
        path = os.path.join(OUT, name + ".onnx")
        torch.onnx.export(net, x, path, input_names=["input"], output_names=["output"], opset_version=13,
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump({"input": [float("%.9g" % v) for v in x.flatten().tolist()], "input_shape": list(shape),
                       "output": [float("%.9g" % v) for v in y.flatten().tolist()], "output_shape": list(y.shape)}, f)
        print("wrote", path)


if __name__ == "__main__":
    main()
