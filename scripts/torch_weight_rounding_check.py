#!/usr/bin/python3
"""How much PyTorch's own outputs move when the torchvision test models'
weights are rounded the way `kiln convert --fp16 / --int8` rounds them: the
reference errors in tests/cpp/kiln_graph_format_test.cc.

    /usr/bin/python3 scripts/torch_weight_rounding_check.py [TORCHVISION_DIR]

Rebuilds each model exactly as scripts/make_torchvision_models.py does (same
seeds; checked against its saved output), rounds every Conv/Linear weight of
1024 elements or more to float16, or to symmetric int8 per output channel
(scale = channel max / 127), and prints max |diff| / max |output| against the
unrounded model. The ONNX export folds BatchNorm into the conv weights; per-
channel int8 commutes with that per-channel factor, float16 rounding nearly so.
"""
import copy
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_torchvision_models import MODELS, make  # noqa: E402


def rounded(model, mode):
    model = copy.deepcopy(model)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)) and mod.weight.numel() >= 1024:
                w = mod.weight
                if mode == "fp16":
                    w.copy_(w.half().float())
                    continue
                flat = w.reshape(w.shape[0], -1)
                scale = flat.abs().amax(dim=1, keepdim=True) / 127
                q = torch.where(scale > 0, torch.round(flat / scale).clamp(-127, 127), torch.zeros_like(flat))
                w.copy_((q * scale).reshape(w.shape))
    return model


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def main():
    saved_dir = sys.argv[1] if len(sys.argv) > 1 else "build/torchvision"
    torch.set_num_threads(os.cpu_count() or 1)
    for name, size in MODELS.items():
        m, x, y = make(name, size)
        line = [name]
        saved = os.path.join(saved_dir, name + ".out.f32")
        if os.path.exists(saved):
            line.append("vs saved output %.1e" % rel(torch.from_numpy(np.fromfile(saved, dtype=np.float32)), y.flatten()))
        with torch.no_grad():
            for mode in ("fp16", "int8"):
                yq = rounded(m, mode)(x)
                same = "same" if yq.argmax() == y.argmax() else "differs"
                line.append("%s %.2e (top-1 %s)" % (mode, rel(yq, y), same))
        print(", ".join(line), flush=True)


if __name__ == "__main__":
    main()
