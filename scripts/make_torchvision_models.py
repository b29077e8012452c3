#!/usr/bin/python3
"""Exports torchvision's MobileNetV2, ResNet50, DenseNet121 and InceptionV3,
and Xception (scripts/xception.py: torchvision lacks it; the study's fifth
Keras model) to ONNX (opset 13, dynamic batch) with an input image and PyTorch's output, for
tests/cpp/onnx_torchvision_test.cc. Generated, never committed (about 200 MB).

    /usr/bin/python3 scripts/make_torchvision_models.py OUT_DIR

Weights are torchvision's random initialization (weights=None, seeded). Their
BatchNorm statistics are calibrated on random images (one training-mode pass
with momentum 1, i.e. the batch's own statistics), so activations stay well
scaled; with the default statistics the outputs are degenerate (1e-9 or 1e12).
Writes <name>.onnx, <name>.in.f32 and <name>.out.f32 (raw little-endian float32).
"""
import os
import sys

import torch
import torchvision

MODELS = {"mobilenet_v2": 224, "resnet50": 224, "densenet121": 224, "inception_v3": 299, "xception": 299}


def make(name, size):
    torch.manual_seed(0)
    if name == "inception_v3":
        m = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True)
    elif name == "xception":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from xception import xception
        m = xception()
    else:
        m = getattr(torchvision.models, name)(weights=None)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.momentum = 1.0
    m.train()
    with torch.no_grad():
        m(torch.randn(4, 3, size, size))
    m.eval()
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        y = m(x)
    return m, x, y


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)
    for name, size in MODELS.items():
        path = os.path.join(out, name + ".onnx")
        if os.path.exists(path) and os.path.exists(os.path.join(out, name + ".out.f32")):
            continue
        m, x, y = make(name, size)
        torch.onnx.export(m, x, path + ".tmp", input_names=["input"], output_names=["output"], opset_version=13,
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        x.numpy().astype("float32").tofile(os.path.join(out, name + ".in.f32"))
        y.numpy().astype("float32").tofile(os.path.join(out, name + ".out.f32"))
        os.replace(path + ".tmp", path)  # last: a half-written export is never taken as done
        print("wrote", path)


if __name__ == "__main__":
    main()
