#!/usr/bin/python3
"""Writes ONNX models with control flow and quantization, exported by PyTorch
as real exporters write them, into OUT (default build/zoo), seeded:

  vad.onnx          a voice-activity model in the shape of silero VAD: an If on
                    the int64 sample rate picks the 16 kHz or 8 kHz front end,
                    then a Loop runs a GRU cell over the frames (the state in
                    and out as tensors).
  greedy.onnx       greedy decoding: a while loop whose condition the body
                    computes (stop at token 3 or max_len), int64 tokens
                    appended to a list: Loop, If, SequenceEmpty,
                    SequenceInsert and ConcatFromSequence.
  qdq_cnn.onnx      a CNN quantized statically by torch.ao.quantization
                    (fbgemm) and exported in QDQ form: QuantizeLinear and
                    DequantizeLinear around float Conv, Relu and Gemm.
  cnn_float.onnx    the same CNN before quantization (the float baseline).
  dynquant_mlp.onnx an MLP in onnxruntime's dynamic-quantization form: per
                    batch DynamicQuantizeLinear of the activations, int8
                    weights, MatMulInteger, then the scales applied in float.
                    Weights use 7 bits (onnxruntime's reduce_range): its AVX2
                    uint8 x int8 kernels add pairs of products in saturating
                    int16, so full-range weights give it wrong sums (Kiln's
                    sums are exact either way).

tests/js/onnx_control_flow.test.mjs compares Kiln with onnxruntime-node on
them. Run with Debian's python3-torch:
    /usr/bin/python3 scripts/make_control_flow_models.py [OUT]
"""
import os
import sys
import warnings
from typing import List

import torch
import torch.nn as nn

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "zoo")
warnings.filterwarnings("ignore")


class GruCell(nn.Module):
    """A GRU cell from Linear layers (torch cannot export aten::gru_cell)."""

    def __init__(self, inputs, hidden):
        super().__init__()
        self.x, self.h = nn.Linear(inputs, 3 * hidden), nn.Linear(hidden, 3 * hidden)

    def forward(self, x, h):
        xr, xz, xn = self.x(x).chunk(3, -1)
        hr, hz, hn = self.h(h).chunk(3, -1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        return (1 - z) * torch.tanh(xn + r * hn) + z * h


class Vad(nn.Module):
    def __init__(self):
        super().__init__()
        self.front16k, self.front8k = nn.Conv1d(1, 16, 32, stride=16), nn.Conv1d(1, 16, 16, stride=8)
        self.cell, self.out = GruCell(16, 32), nn.Linear(32, 1)

    def forward(self, audio, state, sr):
        if bool(sr == 16000):
            frames = self.front16k(audio.unsqueeze(1))
        else:
            frames = self.front8k(audio.unsqueeze(1))
        frames = torch.relu(frames).transpose(1, 2)
        for t in range(frames.shape[1]):
            state = self.cell(frames[:, t], state)
        return torch.sigmoid(self.out(state)), state


class Greedy(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed, self.cell, self.head = nn.Embedding(20, 16), GruCell(16, 16), nn.Linear(16, 20)

    def forward(self, h, max_len: int):
        token = torch.zeros(h.shape[0], dtype=torch.long)
        tokens: List[torch.Tensor] = []
        i = 0
        while i < max_len and bool((token != 3).any()):
            h = self.cell(self.embed(token), h)
            token = self.head(h).argmax(-1)
            tokens.append(token)
            i += 1
        return torch.stack(tokens, 1), h


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant, self.dequant = torch.ao.quantization.QuantStub(), torch.ao.quantization.DeQuantStub()
        self.conv1, self.relu1 = nn.Conv2d(3, 32, 3, padding=1), nn.ReLU()
        self.conv2, self.relu2 = nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU()
        self.conv3 = nn.Conv2d(64, 64, 3, stride=2, padding=1)
        self.fc = nn.Linear(64 * 8 * 8, 10)

    def forward(self, x):
        x = self.quant(x)
        x = self.relu2(self.conv2(self.relu1(self.conv1(x))))
        return self.dequant(self.fc(self.conv3(x).flatten(1)))


class DynamicQuantLinear(torch.autograd.Function):
    """Float emulation in torch; exported as onnxruntime's quantize_dynamic writes a MatMul."""

    @staticmethod
    def forward(ctx, x, w_q, w_scale, bias):
        return x @ (w_q.float() * w_scale) + bias

    @staticmethod
    def symbolic(g, x, w_q, w_scale, bias):
        x_q, x_scale, x_zero = g.op("DynamicQuantizeLinear", x, outputs=3)
        acc = g.op("MatMulInteger", x_q, w_q, x_zero, g.op("Constant", value_t=torch.tensor(0, dtype=torch.int8)))
        scale = g.op("Mul", x_scale, w_scale)
        return g.op("Add", g.op("Mul", g.op("Cast", acc, to_i=1), scale), bias)


class DynQuantMlp(nn.Module):
    def __init__(self, sizes=(256, 512, 512, 10)):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        for i, layer in enumerate(self.layers):  # 7-bit weights in int8, one scale per tensor
            w = layer.weight.detach().t().contiguous()
            scale = w.abs().max() / 63
            self.register_buffer(f"w_q{i}", torch.round(w / scale).to(torch.int8))
            self.register_buffer(f"w_s{i}", scale.reshape(()))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = DynamicQuantLinear.apply(x, getattr(self, f"w_q{i}"), getattr(self, f"w_s{i}"), layer.bias.detach())
            if i + 1 < len(self.layers):
                x = torch.relu(x)
        return x


def export(model, args, name, inputs, outputs, dynamic_axes, opset):
    path = os.path.join(OUT, name)
    torch.onnx.export(model, args, path, opset_version=opset, input_names=inputs, output_names=outputs,
                      dynamic_axes=dynamic_axes)
    print("wrote", path)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    export(torch.jit.script(Vad().eval()), (torch.randn(1, 512), torch.zeros(1, 32), torch.tensor(16000)), "vad.onnx",
           ["audio", "state", "sr"], ["prob", "state_out"], {"audio": {0: "batch", 1: "samples"}, "state": {0: "batch"}}, 16)
    export(torch.jit.script(Greedy().eval()), (torch.randn(2, 16), 10), "greedy.onnx", ["h", "max_len"],
           ["tokens", "h_out"], {"h": {0: "batch"}}, 16)

    cnn = Cnn().eval()
    export(cnn, (torch.randn(1, 3, 32, 32),), "cnn_float.onnx", ["image"], ["logits"], {"image": {0: "batch"}}, 13)
    cnn.qconfig = torch.ao.quantization.get_default_qconfig("fbgemm")
    torch.ao.quantization.fuse_modules(cnn, [["conv1", "relu1"], ["conv2", "relu2"]], inplace=True)
    prepared = torch.ao.quantization.prepare(cnn)
    for _ in range(8):  # calibration
        prepared(torch.randn(4, 3, 32, 32))
    export(torch.ao.quantization.convert(prepared), (torch.randn(1, 3, 32, 32),), "qdq_cnn.onnx", ["image"], ["logits"],
           {"image": {0: "batch"}}, 13)

    export(DynQuantMlp().eval(), (torch.randn(4, 256),), "dynquant_mlp.onnx", ["x"], ["y"], {"x": {0: "batch"}}, 13)


if __name__ == "__main__":
    main()
